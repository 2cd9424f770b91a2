//! The appliance's own overhead per image: `POST /v1/images/generations` (the OpenAI-compatible
//! endpoint) through auth, the per-token limits, the credit hold, the engine, custody (SHA-256,
//! age encryption, fsync, rename), the settle and the search outbox, answered with a signed URL.
//! Two providers behind it, each in its own studio: the demo provider with its delay at 0 (the
//! PNG is made at once), and an `openai_images` connection to a loopback fake of the OpenAI
//! Images API that answers at once with a 12 KB PNG. Per provider: images per second, p50/p99
//! latency and the server's CPU time per image at concurrency 1 and 32, and the latency added
//! at concurrency 1 over calling the fake directly.
//!
//! `cargo bench --bench images`
//! env: RV_BENCH_PROVIDER=demo|openai|both (both), RV_BENCH_SECS=10, RV_BENCH_WARMUP=2,
//!      RV_BENCH_CONCURRENCY="1,32", RV_BENCH_DIR=an empty directory to work in and keep
//!      (default: a temporary one), RV_BENCH_OPENAI_MODEL=gpt-image-2 (the catalog model the
//!      openai runs name; an older build's catalog may call it gpt-image-1)

#[path = "common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::percentile;
use common::studio::{Conn, Studio, cpu_seconds};

/// Token limits far above what the bench asks: the bench measures the service, not the limiter.
const API_LIMITS: &str = "[api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000\n";
/// The size of the PNG the fake OpenAI Images API answers with.
const FAKE_PNG_BYTES: usize = 12 * 1024;
/// How long the fake is called directly (at most `RV_BENCH_SECS`), for the added latency.
const DIRECT_SECS: u64 = 3;

/// The provider behind the studio.
#[derive(Clone, Copy, PartialEq)]
enum Provider {
    /// The demo provider with `delay = "0s"`.
    Demo,
    /// An `openai_images` connection to the loopback fake.
    OpenAi,
}

impl Provider {
    /// The providers `RV_BENCH_PROVIDER` (demo, openai or both; default both) asks for.
    fn from_env() -> Vec<Provider> {
        match std::env::var("RV_BENCH_PROVIDER").unwrap_or_default().trim() {
            "demo" => vec![Provider::Demo],
            "openai" => vec![Provider::OpenAi],
            _ => vec![Provider::Demo, Provider::OpenAi],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Provider::Demo => "demo",
            Provider::OpenAi => "openai",
        }
    }

    /// The catalog model the request names.
    fn model(self) -> String {
        match self {
            Provider::Demo => "demo-image".into(),
            Provider::OpenAi => std::env::var("RV_BENCH_OPENAI_MODEL").unwrap_or_else(|_| "gpt-image-2".into()),
        }
    }

    /// The whole config file: this provider as the only connection (`fake`: the fake's
    /// `/v1/` URL, for the openai provider), and the lifted limits.
    fn config(self, fake: Option<&url::Url>) -> String {
        let connection = match self {
            Provider::OpenAi => format!(
                "[[connection]]\nname = \"images\"\nkind = \"openai_images\"\nbase_url = \"{base}\"\napi_key = \"sk-bench\"\n\
                 allow_private_network = true\nmax_concurrent = 64\n",
                base = fake.expect("the openai provider runs with its fake")
            ),
            Provider::Demo => "[[connection]]\nname = \"demo\"\nkind = \"demo\"\ndelay = \"0s\"\nmax_concurrent = 64\n".to_string(),
        };
        format!("{connection}\n{API_LIMITS}")
    }

    /// The request body sent to `/v1/images/generations`.
    fn body(self) -> String {
        serde_json::json!({
            "model": self.model(),
            "prompt": "a red kite over a grey sea at dawn",
            "response_format": "url",
        })
        .to_string()
    }
}

/// What the load is aimed at: an address, the `Authorization` header and the JSON body.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    auth: String,
    body: String,
}

/// The bench's settings from the environment.
struct Settings {
    secs: u64,
    warmup: u64,
    levels: Vec<usize>,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let settings = Settings {
        secs: env_u64("RV_BENCH_SECS", 10),
        warmup: env_u64("RV_BENCH_WARMUP", 2),
        levels: std::env::var("RV_BENCH_CONCURRENCY")
            .unwrap_or_else(|_| "1,32".into())
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .filter(|&c| c > 0)
            .collect(),
    };
    println!("reelvault image generation overhead: POST /v1/images/generations, response_format url");
    println!("  binary: {}", common::server_binary().display());
    println!("  NOTE: the load generator, the fake provider and the server share this machine's {} CPU(s).", common::cpus());
    let work = common::WorkDir::from_env();
    for provider in Provider::from_env() {
        let root = work.path().join(provider.name());
        if let Err(e) = std::fs::create_dir_all(&root) {
            println!("creating {} FAILED: {e}", root.display());
            continue;
        }
        measure(provider, &root, &settings);
    }
}

/// One studio with `provider` as its only connection: the table at each concurrency, the
/// added latency at concurrency 1 and the server's CPU time per image.
fn measure(provider: Provider, root: &Path, settings: &Settings) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let fake = (provider == Provider::OpenAi).then(|| {
        let png = common::fake_images::noise_png(FAKE_PNG_BYTES, 19);
        println!("\n[openai] an openai_images connection to a loopback fake answering at once with a {} B PNG", png.len());
        runtime.block_on(common::fake_images::start(&png))
    });
    if fake.is_none() {
        println!("\n[demo] the demo provider, delay 0");
    }
    let config = provider.config(fake.as_ref().map(|f| f.at("v1")).as_ref());
    let studio = match Studio::prepare_with(root, &config, 1_000_000_000) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let mut server = studio.spawn(&root.join("server.log"));
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        return println!("server did not become ready: {e}");
    }
    let target = Target { addr: server.addr(), auth: studio.bearer(), body: provider.body() };
    match Conn::new(target.addr).request(
        "POST",
        "/v1/images/generations",
        &[("Authorization", &target.auth)],
        Some(("application/json", target.body.as_bytes())),
    ) {
        Ok(r) if r.status == 200 && r.text().contains("/media/") => {
            println!("  first image ({}) answered 200 with a signed URL", provider.model())
        }
        Ok(r) => return println!("the first request answered {}: {}", r.status, r.text().chars().take(300).collect::<String>()),
        Err(e) => return println!("the first request failed: {e}"),
    }
    println!(
        "\n  {:>11} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>12}",
        "concurrency", "images", "images/s", "p50 ms", "p99 ms", "max ms", "non-200", "cpu ms/image"
    );
    let pid = server.pid().to_string();
    let mut p50_at_one = None;
    for &c in &settings.levels {
        let _ = run(&target, c, Duration::from_secs(settings.warmup));
        let cpu_before = cpu_seconds(&pid);
        let t = Instant::now();
        let (mut latencies, failures) = run(&target, c, Duration::from_secs(settings.secs));
        let elapsed = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds(&pid) - cpu_before;
        latencies.sort_by(f64::total_cmp);
        let p50 = percentile(&latencies, 50.0);
        if c == 1 {
            p50_at_one = Some(p50);
        }
        println!(
            "  {c:>11} {:>9} {:>9.1} {:>9.2} {:>9.2} {:>8.1} {:>7} {:>12.2}",
            latencies.len(),
            latencies.len() as f64 / elapsed,
            p50,
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0),
            failures.len(),
            cpu * 1000.0 / latencies.len().max(1) as f64
        );
        if !failures.is_empty() {
            let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
            failures.iter().for_each(|f| *kinds.entry(f.as_str()).or_default() += 1);
            println!("  {:>11} non-200: {kinds:?}", "");
        }
    }
    match (p50_at_one, &fake) {
        (None, _) => println!("\n  added latency: concurrency 1 was not measured"),
        (Some(p50), None) => println!("\n  added latency at concurrency 1: {p50:.2} ms p50 (no upstream: all of it is the studio's)"),
        (Some(p50), Some(fake)) => {
            let port = fake.url.port().expect("the fake's port");
            let direct =
                Target { addr: SocketAddr::from(([127, 0, 0, 1], port)), auth: "Bearer sk-bench".into(), body: target.body.clone() };
            let _ = run(&direct, 1, Duration::from_secs(settings.warmup));
            let (mut latencies, failures) = run(&direct, 1, Duration::from_secs(DIRECT_SECS.min(settings.secs)));
            latencies.sort_by(f64::total_cmp);
            let direct_p50 = percentile(&latencies, 50.0);
            println!(
                "\n  added latency at concurrency 1: {:.2} ms p50 ({p50:.2} ms through the studio - {direct_p50:.2} ms directly to the fake, \
                 {} direct requests, {} non-200)",
                p50 - direct_p50,
                latencies.len(),
                failures.len()
            );
        }
    }
    let mem = common::proc_mem(server.pid());
    println!("  server VmRSS after the runs: {:.1} MiB", common::mib(mem.rss_kib));
    let (status, took) = server.stop(Duration::from_secs(30));
    println!("  server stopped ({status:?}) in {:.2} s", took.as_secs_f64());
    if let Some(fake) = fake {
        runtime.block_on(fake.stop());
    }
}

/// `concurrency` keep-alive clients posting one image request after another to `target` for
/// `window`: the latencies (ms) of the 200 answers and what went wrong with the others.
fn run(target: &Target, concurrency: usize, window: Duration) -> (Vec<f64>, Vec<String>) {
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::new(target.addr);
                let (mut latencies, mut failures) = (Vec::new(), Vec::new());
                let headers = [("Authorization", target.auth.as_str())];
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let body = Some(("application/json", target.body.as_bytes()));
                    match conn.exchange("POST", "/v1/images/generations", &headers, body, |_| {}) {
                        Ok((200, _)) => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                        Ok((status, _)) => failures.push(format!("HTTP {status}")),
                        Err(e) => failures.push(e.to_string()),
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut all = (Vec::new(), Vec::new());
    for w in workers {
        let (l, f) = w.join().unwrap_or_default();
        all.0.extend(l);
        all.1.extend(f);
    }
    all
}
