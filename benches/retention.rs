//! A retention sweep of the real release binary over a store of 1,000,000 generations of
//! which 10,000 have outlived the outputs period (each with an encrypted-size output file):
//!   (1) the sweep's time                                           — target <= 10 s
//!   (2) the server's peak RSS during the sweep                     — target <= 150 MB
//!   (3) page latency (the signed-in library page) p50/p99 without a sweep and during one.
//! The generations are written straight into the store with the library and indexed with
//! `reelvault reindex` before the server starts. Prints figures only; never asserts on them.
//!
//! `cargo bench --bench retention`
//! env: RV_BENCH_DOCS=1000000, RV_BENCH_EXPIRING=10000, RV_BENCH_FILE_KIB=64,
//!      RV_BENCH_SECS=10 (the baseline window), RV_BENCH_CONNECTIONS=8,
//!      RV_BENCH_DIR=an empty directory to work in and keep (default: a temporary one)

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::corpus::{Corpus, Rng};
use common::records::{self, Shape};
use common::studio::{Conn, Studio};
use common::{percentile, proc_mem};
use reelvault::domain::asset::{Asset, AssetKind};
use reelvault::domain::catalog::MediaKind;
use reelvault::domain::generation::{GenState, Generation};
use reelvault::domain::ids::{AssetId, UserId};
use reelvault::domain::time::Timestamp;
use reelvault::store::{Store, StoreError};

const BATCH: usize = 50_000;
const DAY_MS: i64 = 86_400_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let docs = env_usize("RV_BENCH_DOCS", 1_000_000);
    let expiring = env_usize("RV_BENCH_EXPIRING", 10_000).min(docs);
    let file_kib = env_usize("RV_BENCH_FILE_KIB", 64);
    let secs = env_usize("RV_BENCH_SECS", 10) as u64;
    let connections = env_usize("RV_BENCH_CONNECTIONS", 8);
    common::studio::raise_nofile();
    println!("reelvault retention benchmark: {docs} generations, {expiring} past the outputs period ({file_kib} KiB file each)");
    println!("  binary: {}", common::server_binary().display());
    println!("  NOTE: the load generator and the server share this machine's {} CPU(s).", common::cpus());
    let work = common::WorkDir::from_env();
    let root = work.path();
    let studio = match Studio::prepare(root, 9, 1, 1) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let corpus = match Corpus::new(2_000) {
        Ok(c) => c,
        Err(e) => return println!("cannot build the vocabulary: {e}"),
    };

    let t = Instant::now();
    if let Err(e) = populate(&studio.data_dir, docs, expiring, file_kib, &corpus) {
        return println!("writing the store FAILED: {e}");
    }
    let store_mib = std::fs::metadata(studio.data_dir.join("reelvault.redb")).map_or(0.0, |m| m.len() as f64 / 1048576.0);
    println!(
        "\n(0) store: {docs} generations and {expiring} output files written in {:.1} s ({store_mib:.0} MiB)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let indexed = cli(&studio, &["reindex"]);
    println!("    search index built in {:.1} s ({})", t.elapsed().as_secs_f64(), indexed.lines().last().unwrap_or("").trim());
    let t = Instant::now();
    let plan = cli(&studio, &["retention", "plan"]);
    println!("    `retention plan` (service stopped) in {:.2} s: {}", t.elapsed().as_secs_f64(), plan.lines().next().unwrap_or("").trim());

    let log = root.join("server.log");
    let mut server = studio.spawn(&log);
    if let Err(e) = server.wait_ready(Duration::from_secs(120)) {
        return println!("server did not become ready: {e}");
    }
    let cookie = match studio.sign_in(server.addr()) {
        Ok(c) => c,
        Err(e) => return println!("signing in FAILED: {e}"),
    };
    let pid = server.pid();
    let idle = proc_mem(pid);
    println!("    server ready; idle VmRSS {:.1} MiB", common::mib(idle.rss_kib));

    // (3a) the library page without a sweep
    let baseline = load(server.addr(), &cookie, connections, Arc::new(AtomicBool::new(false)), Some(Duration::from_secs(secs)));

    // (1)(2)(3b) a sweep through the running service, with the same load and RSS sampling
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            let deadline = Instant::now() + Duration::from_secs(600);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                peak = peak.max(proc_mem(pid).rss_kib);
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let loader = {
        let (stop, cookie, addr) = (stop.clone(), cookie.clone(), server.addr());
        std::thread::spawn(move || load(addr, &cookie, connections, stop, None))
    };
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let swept = cli(&studio, &["retention", "run"]);
    let sweep_secs = t.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let during = loader.join().unwrap_or_default();
    let peak_kib = sampler.join().unwrap_or(0);
    let after = proc_mem(pid);

    println!("\n(1) `reelvault retention run` through the running service: {sweep_secs:.2} s (target <= 10 s)");
    for line in swept.lines().take(4) {
        println!("    | {}", line.trim());
    }
    println!(
        "\n(2) server VmRSS: idle {:.1} MiB, peak during the sweep {:.1} MiB (target <= 150 MB = 143 MiB), after {:.1} MiB",
        common::mib(idle.rss_kib),
        common::mib(peak_kib),
        common::mib(after.rss_kib)
    );
    println!("\n(3) GET /library (signed in, 50 cards) at {connections} connections:");
    println!("    {:<26} {:>9} {:>9} {:>9} {:>8} {:>7}", "", "requests", "p50 ms", "p99 ms", "max ms", "non-200");
    for (label, f) in [("without a sweep", &baseline), ("during the sweep", &during)] {
        println!(
            "    {label:<26} {:>9} {:>9.2} {:>9.2} {:>8.1} {:>7}",
            f.latencies.len(),
            percentile(&f.latencies, 0.50),
            percentile(&f.latencies, 0.99),
            f.latencies.last().copied().unwrap_or(0.0),
            f.failures
        );
    }
    let files_left = count_files(&studio.data_dir.join("media"));
    println!("\n    output files left on disk: {files_left} (expected {})", 0);
    let (status, took) = server.stop(Duration::from_secs(30));
    println!("    server stopped ({status:?}) in {:.2} s", took.as_secs_f64());
}

/// Writes the store: the bench admin and nine others own the generations; the first
/// `expiring` finished 200-364 days ago (one output file each), the rest within the last 25
/// days (so neither their outputs nor their failed/cancelled records are due).
fn populate(data_dir: &Path, docs: usize, expiring: usize, file_kib: usize, corpus: &Corpus) -> Result<(), StoreError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = Store::open(data_dir)?;
        let media = reelvault::vault::media::MediaDir::open(&data_dir.join("media")).map_err(|e| StoreError::Codec(e.to_string()))?;
        let admin = records::bench_admin(&store).await?;
        let others: Vec<UserId> = (0..9).map(|_| UserId::generate()).collect();
        let now = Timestamp::now().millis();
        let file = common::studio::video_bytes(file_kib * 1024, 3);
        let mut rng = Rng::new(42);
        let mut written = 0;
        while written < docs {
            let n = BATCH.min(docs - written);
            let mut batch: Vec<(Generation, Option<Asset>)> = Vec::with_capacity(n);
            for i in written..written + n {
                let owner = if rng.below(10) < 8 { admin } else { others[rng.below(others.len())] };
                let old = i < expiring;
                let (state, at) = if old {
                    (GenState::Succeeded, now - (200 + rng.below(165) as i64) * DAY_MS)
                } else {
                    let state = match rng.below(100) {
                        0..85 => GenState::Succeeded,
                        85..95 => GenState::Failed,
                        _ => GenState::Cancelled,
                    };
                    (state, now - rng.below(25 * 86_400) as i64 * 1000)
                };
                let kind = if rng.below(2) == 0 { MediaKind::Image } else { MediaKind::Video };
                let model = if kind == MediaKind::Image { "demo-image" } else { "demo-video" };
                let prompt = corpus.prompt(&mut rng, 8, 40);
                let shape = Shape { owner, model, kind, prompt, negative_prompt: None, state, at, kept: false, shared: false };
                let mut g = records::finished(shape);
                let asset = old.then(|| {
                    let id = AssetId::generate();
                    g.outputs.push(id);
                    Asset {
                        id,
                        owner,
                        kind: AssetKind::Output,
                        content_type: if kind == MediaKind::Image { "image/png" } else { "video/mp4" }.into(),
                        bytes: file.len() as u64,
                        sha256: "0".repeat(64),
                        width: None,
                        height: None,
                        generation: Some(g.id),
                        created_at: g.created_at,
                        poster: None,
                        has_sound: false,
                    }
                });
                if let Some(a) = &asset {
                    let path = media.path_of(&a.id.to_string()).map_err(|e| StoreError::Codec(e.to_string()))?;
                    std::fs::create_dir_all(path.parent().expect("shard dir")).map_err(|e| StoreError::Codec(e.to_string()))?;
                    std::fs::write(&path, &file).map_err(|e| StoreError::Codec(e.to_string()))?;
                }
                batch.push((g, asset));
            }
            store
                .write(move |tx| {
                    for (g, asset) in &batch {
                        if let Some(a) = asset {
                            reelvault::store::assets::put(tx, a)?;
                        }
                        reelvault::store::generations::put(tx, g)?;
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

/// Runs `reelvault ARGS --data-dir … --config …` and returns its standard output.
fn cli(studio: &Studio, args: &[&str]) -> String {
    let out = Command::new(common::server_binary())
        .args(args)
        .arg("--data-dir")
        .arg(&studio.data_dir)
        .arg("--config")
        .arg(&studio.config)
        .env_remove("RUST_LOG")
        .output()
        .expect("run reelvault");
    if !out.status.success() {
        println!("reelvault {} FAILED: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Latencies in ms (sorted) and the count of answers other than 200.
#[derive(Default)]
struct Figures {
    latencies: Vec<f64>,
    failures: usize,
}

/// `GET /library` from `connections` keep-alive connections, until `stop` is set or for
/// `window` (bounded either way by ten minutes).
fn load(addr: std::net::SocketAddr, cookie: &str, connections: usize, stop: Arc<AtomicBool>, window: Option<Duration>) -> Figures {
    let deadline = Instant::now() + window.unwrap_or(Duration::from_secs(600));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (stop, cookie) = (stop.clone(), cookie.to_string());
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let mut f = Figures::default();
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let t = Instant::now();
                    match conn.exchange("GET", "/library", &[("Cookie", cookie.as_str())], None, |_| {}) {
                        Ok((200, _)) => f.latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                        _ => f.failures += 1,
                    }
                }
                f
            })
        })
        .collect();
    let mut all = Figures::default();
    for w in workers {
        let f = w.join().unwrap_or_default();
        all.latencies.extend(f.latencies);
        all.failures += f.failures;
    }
    all.latencies.sort_by(f64::total_cmp);
    all
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()
}
