//! The reelvault binary: parse the command line and dispatch.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    reelvault::cli::main()
}

/// glibc gives busy threads malloc arenas of their own, up to eight per core, and memory freed
/// in one arena is not reused by another: with thousands of jobs in flight that doubled the
/// resident memory. One arena per core keeps it down, before any thread starts. Large buffers
/// (media pieces, uploads, decoded images) get pages of their own, returned when freed: glibc
/// otherwise raises that threshold after the first large free and serves them from the heap,
/// where they leave it fragmented and the process large after a burst. An operator's own
/// `glibc.malloc.*` settings in `GLIBC_TUNABLES` are left as they are.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let cores = reelvault::turns::cpu_cores();
        // SAFETY: mallopt only sets tunables of the allocator; no other thread runs yet.
        unsafe {
            if !tunables.contains("glibc.malloc.arena_max") {
                libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(i32::MAX));
            }
            if !tunables.contains("glibc.malloc.mmap_threshold") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
            }
        }
    }
}
