//! Memory freed after a burst goes back to the system. glibc keeps the pages of freed
//! allocations in its arenas for reuse, so after a burst of requests the process stays as large
//! as at its peak; every [`TRIM_EVERY`] a thread of its own asks glibc to return the free
//! pages (`malloc_trim`), which takes a few milliseconds and holds no request up.

use std::time::Duration;

/// How often free pages are returned.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Starts the trimming thread (a no-op where the allocator is not glibc's); it runs until the
/// process ends.
pub fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::thread::Builder::new().name("memory-trim".into()).spawn(|| {
            loop {
                std::thread::sleep(TRIM_EVERY);
                // SAFETY: malloc_trim only returns free pages of glibc's own heaps to the system
                unsafe {
                    libc::malloc_trim(0);
                }
            }
        });
        if let Err(e) = started {
            tracing::warn!(error = %e, "the memory trimming thread could not start; memory freed after bursts stays with the process");
        }
    }
}
