//! Memory freed after a burst goes back to the system. glibc keeps the pages of freed
//! allocations in its arenas for reuse, so after a burst of requests the process stays as large
//! as at its peak; every [`TRIM_EVERY`] the "memory-trim" worker asks glibc to return the free
//! pages ([`trim`], `malloc_trim`), which takes a few milliseconds and holds no request up.

use std::time::Duration;

/// How often free pages are returned.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Whether the allocator is glibc's, whose free pages [`trim`] returns (elsewhere it does nothing).
pub const TRIMS: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// Returns the free pages of glibc's heaps to the system (blocking for a few milliseconds; a
/// no-op where the allocator is not glibc's).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of glibc's own heaps to the system
    unsafe {
        libc::malloc_trim(0);
    }
}
