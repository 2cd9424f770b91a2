//! The HTTP workers' threads, and HTTP clients of each one's own: a call made with one (a read
//! of media from the object store) has its connection's task on that worker, so the response's
//! body goes from socket to socket on one thread.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    /// Whether this thread is an HTTP worker's.
    static ON_HTTP_WORKER: Cell<bool> = const { Cell::new(false) };
    /// This thread's HTTP clients, by the number of the shared client they stand for.
    static CLIENTS: RefCell<Vec<(usize, reqwest::Client)>> = const { RefCell::new(Vec::new()) };
}

/// Numbers the shared clients, to tell their copies on a worker apart.
static CLIENTS_MADE: AtomicUsize = AtomicUsize::new(0);

/// Marks the calling thread as an HTTP worker's. Its runtime (single-threaded) runs as long as
/// the server does. Called on each worker's thread as it starts.
pub fn mark_http_worker() {
    ON_HTTP_WORKER.set(true);
}

/// Whether the caller runs on an HTTP worker's thread.
fn on_http_worker() -> bool {
    ON_HTTP_WORKER.get()
}

/// A number for a new shared client (see [`client_here`]).
pub fn client_number() -> usize {
    CLIENTS_MADE.fetch_add(1, Ordering::Relaxed)
}

/// On an HTTP worker, this thread's own copy of shared client `number` (built by `make` the
/// first time): its connections' tasks run on this thread. `None` on any other thread. A worker
/// keeps its copies as long as it runs: one per shared client it has used (the media store's,
/// and another after a migration opens a new one).
pub fn client_here(number: usize, make: impl FnOnce() -> Option<reqwest::Client>) -> Option<reqwest::Client> {
    if !on_http_worker() {
        return None;
    }
    CLIENTS.with_borrow_mut(|clients| {
        if let Some((_, client)) = clients.iter().find(|(n, _)| *n == number) {
            return Some(client.clone());
        }
        let client = make()?;
        clients.push((number, client.clone()));
        Some(client)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{client_here, client_number, mark_http_worker};

    #[test]
    fn only_an_http_worker_gets_clients_of_its_own_built_once_per_shared_client() {
        // the application installs it before its first client
        let _ = rustls::crypto::ring::default_provider().install_default();
        let built = AtomicUsize::new(0);
        let make = || {
            built.fetch_add(1, Ordering::Relaxed);
            Some(reqwest::Client::new())
        };
        let (first, second) = (client_number(), client_number());
        assert!(client_here(first, make).is_none(), "a thread that is no worker's uses the shared client");
        assert_eq!(built.load(Ordering::Relaxed), 0);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    mark_http_worker();
                    assert!(client_here(first, make).is_some());
                    assert!(client_here(first, make).is_some());
                    assert_eq!(built.load(Ordering::Relaxed), 1, "a worker keeps its copy of a shared client");
                    assert!(client_here(second, make).is_some());
                    assert_eq!(built.load(Ordering::Relaxed), 2, "each shared client has its own copy");
                    assert!(client_here(client_number(), || None).is_none(), "a copy that cannot be built leaves the shared client");
                })
                .join()
                .expect("the worker thread");
        });
        assert!(client_here(first, make).is_none(), "the mark is the worker thread's alone");
    }
}
