//! Start-up figures of the real release binary, run as a separate process:
//!   (a) resident memory (VmRSS) after ~1 s idle once ready   — target <= 30 MB
//!   (b) time from spawn (exec) to the first `GET /readyz` 200 — target <= 200 ms
//! each with an empty store and with a store holding 1,000,000 audit events (start-up must
//! not scan tables). Prints figures only; never asserts on them.
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

/// Starts the server on `data_dir`, measures, stops it.
fn trial(data_dir: &Path, log: &Path) -> Result<Trial, String> {
    let mut server = Server::spawn(data_dir, log, &[]);
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

fn run_condition(label: &str, trials: usize, make_dir: &mut dyn FnMut(usize) -> std::path::PathBuf, logs: &Path) -> Vec<Trial> {
    let mut out = Vec::new();
    for i in 0..trials {
        let dir = make_dir(i);
        let log = logs.join(format!("{}-{i}.log", label.replace(' ', "_")));
        match trial(&dir, &log) {
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
    let bin = common::server_binary();
    println!("reelvault start-up benchmark");
    println!("  binary: {}", bin.display());
    println!("  {} CPUs; {trials} trials per store; RSS read {IDLE_BEFORE_RSS:?} after /readyz first answered 200", common::cpus());
    let root = tempfile::tempdir().expect("temp dir");
    let logs = root.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");

    println!("\nempty store (a fresh data dir per trial: first start, master key created):");
    let fresh = |i: usize| root.path().join(format!("empty-{i}")).join("data");
    let empty = run_condition(
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
    let big = run_condition(&label, trials, &mut |_| big_dir.clone(), &logs);

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

fn create_private_dir(path: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).expect("create data dir");
}
