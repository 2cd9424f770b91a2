//! The reelvault binary: parse the command line and dispatch.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    reelvault::cli::main()
}

/// glibc gives busy threads malloc arenas of their own, up to eight per core, and memory freed
/// in one arena is not reused by another: with thousands of jobs in flight that doubled the
/// resident memory. One arena per core keeps it down, before any thread starts. An operator's
/// own `glibc.malloc.arena_max` in `GLIBC_TUNABLES` is left as it is.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc.arena_max")) {
            return;
        }
        let cores = reelvault::turns::cpu_cores();
        // SAFETY: mallopt only sets a tunable of the allocator; no other thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(i32::MAX));
        }
    }
}
