//! The appliance's own overhead per image: `POST /v1/images/generations` (the OpenAI-compatible
//! endpoint, `demo-image` with the demo provider's delay at 0, so the PNG is made at once)
//! through auth, the per-token limits, the credit hold, the engine, custody (SHA-256, age
//! encryption, fsync, rename), the settle and the search outbox, answered with a signed URL.
//! Images per second and p50/p99 latency at concurrency 1 and 32, side by side.
//!
//! `cargo bench --bench images`
//! env: RV_BENCH_SECS=10, RV_BENCH_WARMUP=2, RV_BENCH_CONCURRENCY="1,32",
//!      RV_BENCH_DIR=an empty directory to work in and keep (default: a temporary one)

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::percentile;
use common::studio::{Conn, Studio};

/// The demo provider alone, answering at once; token limits far above what the bench asks.
const CONFIG: &str = "[[connection]]\nname = \"demo\"\nkind = \"demo\"\ndelay = \"0s\"\nmax_concurrent = 64\n\n\
                      [api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000\n";
const BODY: &str = r#"{"model": "demo-image", "prompt": "a red kite over a grey sea at dawn", "response_format": "url"}"#;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let secs = env_u64("RV_BENCH_SECS", 10);
    let warmup = env_u64("RV_BENCH_WARMUP", 2);
    let levels: Vec<usize> = std::env::var("RV_BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,32".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .filter(|&c| c > 0)
        .collect();
    println!("reelvault image generation overhead: POST /v1/images/generations, demo-image, demo delay 0");
    println!("  binary: {}", common::server_binary().display());
    println!("  NOTE: the load generator and the server share this machine's {} CPU(s).", common::cpus());
    let work = common::WorkDir::from_env();
    let root = work.path();
    let studio = match Studio::prepare_with(root, CONFIG, 1_000_000_000) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let mut server = studio.spawn(&root.join("server.log"));
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        return println!("server did not become ready: {e}");
    }
    let auth = studio.bearer();
    match Conn::new(server.addr()).request(
        "POST",
        "/v1/images/generations",
        &[("Authorization", &auth)],
        Some(("application/json", BODY.as_bytes())),
    ) {
        Ok(r) if r.status == 200 && r.text().contains("/media/") => println!("  first image answered 200 with a signed URL"),
        Ok(r) => return println!("the first request answered {}: {}", r.status, r.text().chars().take(300).collect::<String>()),
        Err(e) => return println!("the first request failed: {e}"),
    }
    println!(
        "\n  {:>11} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "concurrency", "images", "images/s", "p50 ms", "p99 ms", "max ms", "non-200"
    );
    for &c in &levels {
        let _ = run(server.addr(), &auth, c, Duration::from_secs(warmup));
        let t = Instant::now();
        let (mut latencies, failures) = run(server.addr(), &auth, c, Duration::from_secs(secs));
        let elapsed = t.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        println!(
            "  {c:>11} {:>9} {:>9.1} {:>9.2} {:>9.2} {:>8.1} {:>7}",
            latencies.len(),
            latencies.len() as f64 / elapsed,
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(0.0),
            failures
        );
    }
    let mem = common::proc_mem(server.pid());
    println!("\n  server VmRSS after the runs: {:.1} MiB", common::mib(mem.rss_kib));
    let (status, took) = server.stop(Duration::from_secs(30));
    println!("  server stopped ({status:?}) in {:.2} s", took.as_secs_f64());
}

/// `concurrency` keep-alive clients posting one image request after another for `window`:
/// the latencies (ms) of the 200 answers and the count of the others.
fn run(addr: std::net::SocketAddr, auth: &str, concurrency: usize, window: Duration) -> (Vec<f64>, usize) {
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let auth = auth.to_string();
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let (mut latencies, mut failures) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let headers = [("Authorization", auth.as_str())];
                    match conn.exchange("POST", "/v1/images/generations", &headers, Some(("application/json", BODY.as_bytes())), |_| {}) {
                        Ok((200, _)) => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                        _ => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut all = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.join().unwrap_or_default();
        all.0.extend(l);
        all.1 += f;
    }
    all
}
