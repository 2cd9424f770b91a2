//! Connection-level limits of the HTTP server: how long a client may take to send a request
//! head, how long an idle keep-alive connection is kept, and how many connections are served
//! at once, kept within the process's open-file limit so that files always remain openable.

use std::time::Duration;

/// A request head (request line and headers) must arrive within this of the connection
/// opening; a slower client is answered 408 and disconnected. (Later heads on a kept-alive
/// connection are bounded by `slow_heads`.)
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// An idle keep-alive connection is closed after this.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// A connection being closed is dropped if the client has not finished closing by then.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Open files kept for the store, the search index, media files and outbound connections,
/// whatever the number of clients: one in four of the limit, and at least this many.
const FILES_KEPT: u64 = 256;

/// The most connections a worker serves at once (actix's own default).
const WORKER_CEILING: usize = 25_000;

/// Raises the soft open-file limit to the hard one (systemd starts services with a soft
/// limit of 1024) and returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// How many connections each of `workers` serves at once when `open_files` may be open (each
/// takes two: its socket and the duplicate `slow_heads` watches): the rest wait in the listen
/// queue until one closes, rather than the process running out of descriptors for its files.
pub fn connections_per_worker(open_files: u64, workers: usize) -> usize {
    let kept = (open_files / 4).max(FILES_KEPT);
    let for_clients = (open_files.saturating_sub(kept) / 2).max(workers as u64);
    usize::try_from(for_clients / workers.max(1) as u64).unwrap_or(WORKER_CEILING).clamp(1, WORKER_CEILING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_within_the_open_file_limit() {
        assert_eq!(connections_per_worker(1024, 2), 192);
        assert_eq!(connections_per_worker(1_048_576, 1), WORKER_CEILING);
        assert_eq!(connections_per_worker(20_000, 1), 7_500);
        assert_eq!(connections_per_worker(100, 4), 1, "a tiny limit still serves");
    }
}
