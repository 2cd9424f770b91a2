//! Link settings that depend on the machine the binary is built for.
//!
//! - **Packed relocations.** A position-independent binary carries a relocation for every
//!   pointer in its read-only data (about 1.3 MB of them here), which the loader reads and applies
//!   at every start, so they stay in memory. Packed as relative relocations (`DT_RELR`,
//!   `-z pack-relative-relocs`) they take 17 KB, and the idle service is about 1.3 MiB smaller.
//!   glibc reads them from 2.36 on, so they are packed only when the glibc the binary is built
//!   against is at least that (building for the machine it runs on, as `cargo build` and the
//!   package do).
//! - **Code order.** The kernel maps a program's code 64 KiB around each page it first runs, so
//!   the few thousand functions a service runs to start and to idle, scattered through 30 MB of
//!   code, kept about 19 MiB of it resident. `link/code-order.txt` lists them (written by
//!   `link/refresh-code-order`), and a release build asks the linker to place them together at
//!   the start of the code: the idle service then holds about 10 MiB less. Only a linker that
//!   takes `--symbol-ordering-file` (LLD, Rust's default on x86-64 Linux) gets the file; names the
//!   binary no longer has (after a toolchain or dependency update) are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/code-order.txt");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if native && var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" && glibc_version() >= Some((2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/code-order.txt");
    if var("PROFILE") == "release" && var("CARGO_CFG_TARGET_OS") == "linux" && order.is_file() {
        let args = [format!("-Wl,--symbol-ordering-file={}", order.display()), "-Wl,--no-warn-symbol-ordering".to_string()];
        if links_with(&args) {
            for arg in args {
                println!("cargo:rustc-link-arg-bins={arg}");
            }
        }
    }
}

/// The version of this machine's glibc (`getconf GNU_LIBC_VERSION` answers `glibc 2.36`).
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf").arg("GNU_LIBC_VERSION").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    Some((major.parse().ok()?, minor.split('.').next()?.parse().ok()?))
}

/// Whether an empty program links with `link_args` for this target, with the build's compiler,
/// its flags (`RUSTFLAGS` and the config's `rustflags`) and a linker set in
/// `CARGO_TARGET_<TRIPLE>_LINKER` (a linker that does not know an option fails the probe).
fn links_with(link_args: &[String]) -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let out_dir = PathBuf::from(var("OUT_DIR"));
    let source = out_dir.join("link_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc.arg("--target").arg(var("TARGET")).arg("--crate-type=bin").arg("-o").arg(out_dir.join("link_probe")).arg(&source);
    rustc.args(var("CARGO_ENCODED_RUSTFLAGS").split('\x1f').filter(|flag| !flag.is_empty()));
    let linker_var = format!("CARGO_TARGET_{}_LINKER", var("TARGET").to_uppercase().replace(['-', '.'], "_"));
    if let Ok(linker) = std::env::var(linker_var) {
        rustc.arg("-C").arg(format!("linker={linker}"));
    }
    for arg in link_args {
        rustc.arg("-C").arg(format!("link-arg={arg}"));
    }
    rustc.output().is_ok_and(|out| out.status.success())
}
