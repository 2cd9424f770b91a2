//! The reelvault binary: parse the command line and dispatch.

/// mimalloc: per-thread heaps without the lock contention glibc's shared arenas showed under
/// concurrent searches, and freed memory returned to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    refuse_transparent_huge_pages();
    reelvault::cli::main()
}

/// mimalloc asks for transparent huge pages, which the kernel then fills in the background to
/// 2 MiB each: a server idle after a burst of searches grew by tens of MiB that way. Huge
/// pages gain this workload nothing, so the process opts out.
fn refuse_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
