//! Start-up figures of the real release binary, run as a separate process:
//!   (a) resident memory (VmRSS) after ~1 s idle once ready   — target <= 30 MB
//!   (b) time from spawn (exec) to the first `GET /readyz` 200 — target <= 200 ms
//! each with an empty store and with a store holding 1,000,000 audit events (start-up must
//! not scan tables). Prints figures only; never asserts on them.
//!
//! The binary runs from a copy written past the page cache (O_DIRECT), so its code is read
//! from disk as after a boot: how a just-written file sits in the page cache (the kernel may
//! keep it in large folios and map a whole folio per fault) otherwise moves the file-backed
//! part of VmRSS by several MiB from one build to the next.
//!
//! `cargo bench --bench startup`   (env: RV_BENCH_TRIALS=3, RV_BENCH_RECORDS=1000000)

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, median, mib, proc_mem};
use reelvault::domain::audit::{Actor, AuditAction, AuditEvent, ClientInfo};
use reelvault::domain::ids::{AuditId, UserId};
use reelvault::domain::time::Timestamp;
use reelvault::store::{Store, StoreError};

const READY_LIMIT: Duration = Duration::from_secs(30);
const IDLE_BEFORE_RSS: Duration = Duration::from_secs(1);
const STOP_LIMIT: Duration = Duration::from_secs(30);
const BATCH: usize = 100_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Trial {
    ready: Duration,
    rss_kib: u64,
    anon_kib: u64,
    file_kib: u64,
    threads: u64,
    thread_names: String,
    stop: Duration,
    clean_exit: bool,
}

/// Starts the server `bin` on `data_dir`, measures, stops it.
fn trial(bin: &Path, data_dir: &Path, log: &Path) -> Result<Trial, String> {
    let mut server = Server::spawn_binary(bin, data_dir, log, &[]);
    let ready = match server.wait_ready(READY_LIMIT) {
        Ok(d) => d,
        Err(e) => {
            let _ = server.stop(STOP_LIMIT);
            return Err(e);
        }
    };
    std::thread::sleep(IDLE_BEFORE_RSS);
    let m = proc_mem(server.pid());
    let thread_names = common::thread_names(server.pid());
    let (status, stop) = server.stop(STOP_LIMIT);
    // Surface anything the server warned about (e.g. a store repair at open).
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")) {
        println!("    server log: {line}");
    }
    Ok(Trial {
        ready,
        rss_kib: m.rss_kib,
        anon_kib: m.anon_kib,
        file_kib: m.file_kib,
        threads: m.threads,
        thread_names,
        stop,
        clean_exit: status.is_some_and(|s| s.success()),
    })
}

/// Writes `records` audit events into a new store in `data_dir`, in transactions of
/// `BATCH`, then closes it so the server can take the lock.
fn populate(data_dir: &Path, records: usize) -> Result<(), StoreError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let store = Store::open(data_dir)?;
        let user = UserId::generate();
        let mut written = 0;
        while written < records {
            let n = BATCH.min(records - written);
            store
                .write(move |tx| {
                    for i in 0..n {
                        let event = AuditEvent {
                            id: AuditId::generate(),
                            at: Timestamp::now(),
                            actor: Actor::User { id: user, email: "bench@example.com".into() },
                            action: AuditAction::ALL[(written + i) % AuditAction::ALL.len()],
                            target: Some(format!("item {}", written + i)),
                            client: ClientInfo { address: Some("127.0.0.1".into()), user_agent: Some("reelvault-bench/1".into()) },
                            detail: None,
                        };
                        reelvault::store::audit::append(tx, &event)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .await?;
            written += n;
        }
        store.close().await;
        Ok(())
    })
}

fn run_condition(bin: &Path, label: &str, trials: usize, make_dir: &mut dyn FnMut(usize) -> std::path::PathBuf, logs: &Path) -> Vec<Trial> {
    let mut out = Vec::new();
    for i in 0..trials {
        let dir = make_dir(i);
        let log = logs.join(format!("{}-{i}.log", label.replace(' ', "_")));
        match trial(bin, &dir, &log) {
            Ok(t) => {
                println!(
                    "  {label:<18} trial {}: ready {:>7.1} ms   VmRSS {:>5.1} MiB (anon {:>4.1}, file {:>4.1})   threads {:>2}   SIGTERM->exit {:>5.0} ms{}",
                    i + 1,
                    t.ready.as_secs_f64() * 1e3,
                    mib(t.rss_kib),
                    mib(t.anon_kib),
                    mib(t.file_kib),
                    t.threads,
                    t.stop.as_secs_f64() * 1e3,
                    if t.clean_exit { "" } else { "  (exit NOT clean)" },
                );
                out.push(t);
            }
            Err(e) => println!("  {label:<18} trial {}: FAILED: {e}", i + 1),
        }
    }
    out
}

fn summary_row(label: &str, trials: &[Trial]) {
    let cell = |v: &[f64]| {
        if v.is_empty() {
            return "n/a".to_string();
        }
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{:.1} ({:.1}-{:.1})", median(v), lo, hi)
    };
    let ready: Vec<f64> = trials.iter().map(|t| t.ready.as_secs_f64() * 1e3).collect();
    let rss: Vec<f64> = trials.iter().map(|t| mib(t.rss_kib)).collect();
    println!("| {label:<16} | {:>22} | {:>22} |", cell(&ready), cell(&rss));
}

fn main() {
    let trials = env_usize("RV_BENCH_TRIALS", 3).max(1);
    let records = env_usize("RV_BENCH_RECORDS", 1_000_000);
    let built = common::server_binary();
    println!("reelvault start-up benchmark");
    println!("  binary: {}", built.display());
    println!("  {} CPUs; {trials} trials per store; RSS read {IDLE_BEFORE_RSS:?} after /readyz first answered 200", common::cpus());
    let root = tempfile::tempdir().expect("temp dir");
    let logs = root.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let bin = root.path().join("reelvault");
    match copy_past_page_cache(&built, &bin) {
        Ok(()) => println!("  run from a copy written with O_DIRECT: its code is read from disk, as after a boot"),
        Err(e) => {
            println!("  cannot write a copy with O_DIRECT ({e}); running a plain copy (page-cache state decides part of VmRSS)");
            std::fs::copy(&built, &bin).expect("copy the binary");
        }
    }

    println!("\nempty store (a fresh data dir per trial: first start, master key created):");
    let fresh = |i: usize| root.path().join(format!("empty-{i}")).join("data");
    let empty = run_condition(
        &bin,
        "empty store",
        trials,
        &mut |i| {
            let dir = fresh(i);
            std::fs::create_dir_all(dir.parent().expect("parent")).expect("mkdir");
            dir
        },
        &logs,
    );

    println!("\nstore with {records} audit events:");
    let big_dir = root.path().join("big").join("data");
    create_private_dir(&big_dir);
    let started = Instant::now();
    if let Err(e) = populate(&big_dir, records) {
        println!("  populating the store FAILED: {e}");
        return;
    }
    let size = std::fs::metadata(big_dir.join(reelvault::store::STORE_FILE)).map(|m| m.len()).unwrap_or(0);
    println!(
        "  populated in {:.1} s ({} transactions of up to {BATCH}); store file {:.1} MiB",
        started.elapsed().as_secs_f64(),
        records.div_ceil(BATCH),
        size as f64 / (1024.0 * 1024.0)
    );
    let label = format!("{records} events");
    let big = run_condition(&bin, &label, trials, &mut |_| big_dir.clone(), &logs);

    println!("\nsummary (median, range over {trials} trials; targets: ready <= 200 ms, idle RSS <= 30 MB)");
    println!("| {:<16} | {:>22} | {:>22} |", "store", "exec->ready ms", "idle VmRSS MiB");
    println!("|{:-<18}|{:->24}|{:->24}|", "", "", "");
    summary_row("empty", &empty);
    summary_row(&label, &big);
    if let Some(t) = big.last().or(empty.last()) {
        println!("threads at idle: {}", t.thread_names);
    }
    println!("(1 MiB = 1.049 MB; the 30 MB target is 28.6 MiB.)");
}

/// Copies the executable `from` to `to` with O_DIRECT, so none of the copy is in the page
/// cache when it first runs.
fn copy_past_page_cache(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::io::{Read, Write};
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    const BLOCK: usize = 1 << 20;
    const ALIGN: usize = 4096;
    let mut source = std::fs::File::open(from)?;
    let len = source.metadata()?.len();
    let mut target = std::fs::OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_DIRECT).open(to)?;
    // O_DIRECT wants an aligned buffer and whole blocks: the last one is padded, then cut
    let mut storage = vec![0u8; BLOCK + ALIGN];
    let start = storage.as_ptr().align_offset(ALIGN);
    let buffer = &mut storage[start..start + BLOCK];
    loop {
        let mut filled = 0;
        while filled < BLOCK {
            match source.read(&mut buffer[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            break;
        }
        let whole = filled.next_multiple_of(ALIGN);
        buffer[filled..whole].fill(0);
        target.write_all(&buffer[..whole])?;
        if filled < BLOCK {
            break;
        }
    }
    target.set_len(len)?;
    target.sync_all()?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))
}

fn create_private_dir(path: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).expect("create data dir");
}
