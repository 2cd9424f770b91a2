//! Short blocking work (a store transaction) from async code, with the fewest thread hand-offs
//! on the caller's path.

use std::panic::{AssertUnwindSafe, catch_unwind};

use tokio::runtime::{Handle, RuntimeFlavor};

/// Whether the caller runs on a worker of a multi-thread runtime.
fn on_multi_thread_worker() -> bool {
    Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

/// Runs `work`, which blocks briefly (a store transaction: microseconds to an fsync), and
/// answers its result; `None` when it panicked. On a worker of a multi-thread runtime it runs
/// in place, and the worker's other tasks move to another thread meanwhile
/// (`block_in_place`): the caller goes on without waking a blocking-pool thread and being
/// woken back, two context switches on its path. Elsewhere (a request's single-threaded
/// worker, a test's runtime) it runs on the blocking pool.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    if on_multi_thread_worker() {
        catch_unwind(AssertUnwindSafe(|| tokio::task::block_in_place(work))).ok()
    } else {
        tokio::task::spawn_blocking(work).await.ok()
    }
}

/// [`run`] for the one piece of blocking work that is never done twice at a time (the group
/// commit's durable transaction): on a worker of a multi-thread runtime it runs right there,
/// holding the worker, whose other tasks the other workers take meanwhile. Handing the
/// worker's place to another thread for each commit, as [`run`] does, cost about 0.2 ms per
/// synchronous image in thread switches (measured with `benches/peers`); one commit at a time
/// leaves the other workers free.
pub async fn run_holding_worker<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    if on_multi_thread_worker() { catch_unwind(AssertUnwindSafe(work)).ok() } else { tokio::task::spawn_blocking(work).await.ok() }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_worker_it_runs_in_place_and_a_panic_answers_none() {
        let here = std::thread::current().id();
        assert_eq!(super::run(move || std::thread::current().id() == here).await, Some(true));
        assert_eq!(super::run_holding_worker(move || std::thread::current().id() == here).await, Some(true));
        assert_eq!(super::run(|| -> u8 { panic!("a failing transaction") }).await, None);
        assert_eq!(super::run_holding_worker(|| -> u8 { panic!("a failing transaction") }).await, None);
    }

    #[tokio::test]
    async fn on_a_single_threaded_runtime_it_runs_on_the_blocking_pool() {
        let here = std::thread::current().id();
        assert_eq!(super::run(move || std::thread::current().id() == here).await, Some(false));
        assert_eq!(super::run_holding_worker(move || std::thread::current().id() == here).await, Some(false));
        assert_eq!(super::run(|| -> u8 { panic!("a failing transaction") }).await, None);
    }
}
