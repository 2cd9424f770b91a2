//! The reelvault binary: parse the command line and dispatch.

fn main() -> std::process::ExitCode {
    reelvault::cli::main()
}
