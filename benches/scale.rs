//! 10,000 sora-2 jobs in flight at once against a loopback `/v1/videos` fake that finishes
//! each job 60 s after it was created and, until then, answers polls `in_progress` with
//! `openai-poll-after-ms` between 5,000 and 10,000. The real release binary runs with
//! `max_concurrent = 10000` on the connection; the jobs are submitted through the API over a
//! few keep-alive connections, then the server's memory and CPU are sampled every second
//! from /proc while the engine polls:
//!   peak RSS (VmHWM)                                   — target <= 200 MB
//!   average CPU of the polling phase, % of one core     — target <= 25 %
//! and how many jobs succeeded by the end (bounded wait). Prints figures only.
//!
//! `cargo bench --bench scale`   (env: RV_BENCH_JOBS=10000, RV_BENCH_FINISH_SECS=60,
//!   RV_BENCH_POLL_MS=5000-10000, RV_BENCH_TIMEOUT=180, RV_BENCH_SUBMITTERS=4,
//!   RV_BENCH_PROGRESS=1: 0 leaves `progress` out of the in_progress answers)

#[path = "common/mod.rs"]
mod common;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fake_videos::FakeVideos;
use common::studio::{Conn, Studio, cpu_seconds, raise_nofile, video_bytes};
use common::{mib, percentile, proc_mem};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One reading of the server (and of this process, which runs the fake and the client).
#[derive(Clone, Copy)]
struct Sample {
    t: f64,
    rss_kib: u64,
    hwm_kib: u64,
    threads: u64,
    cpu_s: f64,
    bench_cpu_s: f64,
    created: u64,
    polls: u64,
    done: u64,
}

fn main() {
    let jobs = env_u64("RV_BENCH_JOBS", 10_000);
    let finish = Duration::from_secs(env_u64("RV_BENCH_FINISH_SECS", 60));
    let poll_ms = std::env::var("RV_BENCH_POLL_MS").unwrap_or_else(|_| "5000-10000".into());
    let (lo, hi) = poll_ms.split_once('-').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?))).unwrap_or((5000, 10000));
    let timeout = Duration::from_secs(env_u64("RV_BENCH_TIMEOUT", 180));
    let submitters = env_u64("RV_BENCH_SUBMITTERS", 4).max(1);
    let nofile = raise_nofile();
    println!("jobs {jobs}, each finished {finish:?} after creation, openai-poll-after-ms {lo}..{hi}; open-file limit {nofile}");

    let root = tempfile::tempdir().expect("temp dir");
    let fake = FakeVideos::start(Arc::new(video_bytes(4096, 7)), finish, (lo, hi));
    let progress = env_u64("RV_BENCH_PROGRESS", 1) != 0;
    fake.state.report_progress.store(progress, Relaxed);
    let studio = match Studio::prepare(root.path(), fake.port, jobs as u32, jobs as i64 * 40) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let log = root.path().join("server.log");
    let mut server = studio.spawn(&log);
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        return println!("server did not become ready: {e}");
    }
    let pid = server.pid();
    let idle = proc_mem(pid);
    println!("polls answer in_progress {} a progress figure", if progress { "with" } else { "without" });
    println!("server pid {pid} ready; idle VmRSS {:.1} MiB, {} threads", mib(idle.rss_kib), idle.threads);

    // sample every second until told to stop
    let started = Instant::now();
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, stop, state) = (samples.clone(), stop.clone(), fake.state.clone());
        std::thread::spawn(move || {
            let mut tick = Instant::now();
            while !stop.load(Relaxed) {
                let m = proc_mem(pid);
                let s = Sample {
                    t: started.elapsed().as_secs_f64(),
                    rss_kib: m.rss_kib,
                    hwm_kib: m.hwm_kib,
                    threads: m.threads,
                    cpu_s: cpu_seconds(&pid.to_string()),
                    bench_cpu_s: cpu_seconds("self"),
                    created: state.created.load(Relaxed),
                    polls: state.polls.load(Relaxed),
                    done: state.deletes.load(Relaxed),
                };
                samples.lock().unwrap().push(s);
                tick += Duration::from_secs(1);
                std::thread::sleep(tick.saturating_duration_since(Instant::now()));
            }
        })
    };

    // submit
    let next = Arc::new(AtomicU64::new(0));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let bearer = studio.bearer();
    let threads: Vec<_> = (0..submitters)
        .map(|_| {
            let (next, latencies, refused, bearer, addr) =
                (next.clone(), latencies.clone(), refused.clone(), bearer.clone(), server.addr());
            std::thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let body = br#"{"model":"sora-2","prompt":"a lighthouse in a storm, slow dolly in","params":{"duration":4}}"#;
                let auth = [("Authorization", bearer.as_str()), ("Accept", "application/json")];
                let mut mine = Vec::new();
                while next.fetch_add(1, Relaxed) < jobs && started.elapsed() < timeout {
                    let t0 = Instant::now();
                    match conn.request("POST", "/api/v1/generations", &auth, Some(("application/json", body))) {
                        Ok(r) if r.status == 201 => mine.push(t0.elapsed().as_secs_f64() * 1e3),
                        Ok(r) => {
                            if refused.fetch_add(1, Relaxed) < 3 {
                                println!("POST refused: {} {}", r.status, r.text().chars().take(200).collect::<String>());
                            }
                        }
                        Err(e) => {
                            if refused.fetch_add(1, Relaxed) < 3 {
                                println!("POST failed: {e}");
                            }
                        }
                    }
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let submitted_at = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "submitted {} generations in {submitted_at:.1} s ({:.0}/s) over {submitters} keep-alive connections; \
         POST p50 {:.1} ms, p99 {:.1} ms; refused/failed {}",
        lat.len(),
        lat.len() as f64 / submitted_at,
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        refused.load(Relaxed)
    );

    // wait for the jobs to finish (bounded)
    let accepted = lat.len() as u64;
    while fake.state.deletes.load(Relaxed) < accepted && started.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_millis(1100)); // one more sample
    stop.store(true, Relaxed);
    let _ = sampler.join();
    let samples = samples.lock().unwrap().clone();

    let mut api = Conn::new(server.addr());
    let credits = api
        .request("GET", "/api/v1/credits", &[("Authorization", &bearer)], None)
        .ok()
        .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
        .unwrap_or_default();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).collect();
    let (status, _) = server.stop(Duration::from_secs(30));

    println!(
        "\n| {:>5} | {:>7} | {:>7} | {:>6} | {:>8} | {:>8} | {:>7} | {:>9} | {:>9} |",
        "t s", "created", "polls/s", "done", "RSS MiB", "HWM MiB", "threads", "srv CPU %", "bench CPU%"
    );
    println!("|{:->7}|{:->9}|{:->9}|{:->8}|{:->10}|{:->10}|{:->9}|{:->11}|{:->12}|", "", "", "", "", "", "", "", "", "");
    for (i, s) in samples.iter().enumerate() {
        if i == 0 || (i % 10 != 0 && i + 1 != samples.len()) {
            continue;
        }
        let p = samples[i.saturating_sub(10)];
        let dt = (s.t - p.t).max(1e-9);
        println!(
            "| {:>5.0} | {:>7} | {:>7.0} | {:>6} | {:>8.1} | {:>8.1} | {:>7} | {:>9.1} | {:>10.1} |",
            s.t,
            s.created,
            (s.polls - p.polls) as f64 / dt,
            s.done,
            mib(s.rss_kib),
            mib(s.hwm_kib),
            s.threads,
            (s.cpu_s - p.cpu_s) / dt * 100.0,
            (s.bench_cpu_s - p.bench_cpu_s) / dt * 100.0
        );
    }

    // phases: submitting, polling (all submitted, none due yet), finishing
    let first_due = fake.state.first_created.lock().unwrap().map(|t| (t - started).as_secs_f64() + finish.as_secs_f64());
    let window = |from: f64, to: f64| -> Option<(f64, f64, f64, f64)> {
        let a = samples.iter().find(|s| s.t >= from)?;
        let b = samples.iter().rev().find(|s| s.t <= to)?;
        let dt = b.t - a.t;
        (dt >= 1.0)
            .then(|| (dt, (b.cpu_s - a.cpu_s) / dt * 100.0, (b.polls - a.polls) as f64 / dt, (b.bench_cpu_s - a.bench_cpu_s) / dt * 100.0))
    };
    let end = samples.last().map_or(0.0, |s| s.t);
    let peak = samples.iter().map(|s| s.hwm_kib).max().unwrap_or(0);
    let peak_threads = samples.iter().map(|s| s.threads).max().unwrap_or(0);
    let done = fake.state.deletes.load(Relaxed);
    println!("\nresults (targets: peak RSS <= 200 MB, polling-phase CPU <= 25 % of one core)");
    println!(
        "peak RSS (VmHWM): {:.1} MiB = {:.1} MB; peak threads {peak_threads}; idle before load {:.1} MiB",
        mib(peak),
        peak as f64 * 1024.0 / 1e6,
        mib(idle.rss_kib)
    );
    let phases = [
        ("submitting", 0.0, submitted_at),
        ("polling", submitted_at + 1.0, first_due.unwrap_or(0.0)),
        ("finishing", first_due.unwrap_or(0.0), end),
    ];
    for (name, from, to) in phases {
        match window(from, to) {
            Some((dt, cpu, polls, bench)) => println!(
                "{name:<10} phase {from:>5.1}..{to:>5.1} s ({dt:.0} s): server CPU {cpu:.1} % of one core, {polls:.0} polls/s; bench process (fake + client) {bench:.1} %"
            ),
            None => println!("{name:<10} phase {from:>5.1}..{to:>5.1} s: too short to measure"),
        }
    }
    println!(
        "jobs: {} created upstream, {} outputs fetched, {done} succeeded (upstream copy deleted) of {accepted} accepted, \
         in {end:.0} s; fake: {} polls, {} unexpected requests",
        fake.state.created.load(Relaxed),
        fake.state.contents.load(Relaxed),
        fake.state.polls.load(Relaxed),
        fake.state.bad_requests.load(Relaxed)
    );
    println!("credits after: available {} held {} (granted {})", credits["available"], credits["held"], jobs * 40);
    println!("server log: {} WARN/ERROR lines{}", warnings.len(), warnings.first().map(|l| format!(", first: {l}")).unwrap_or_default());
    // the commonest kinds of warning, by their text without the timestamp and ids
    let mut kinds: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for line in &warnings {
        let text = line.split_once(' ').map_or(*line, |(_, rest)| rest);
        let kind: String =
            text.split_whitespace().filter(|w| !w.contains('=') || w.starts_with("error=")).take(12).collect::<Vec<_>>().join(" ");
        *kinds.entry(kind).or_default() += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by_key(|kind| std::cmp::Reverse(kind.1));
    for (kind, n) in kinds.iter().take(5) {
        println!("    {n:>6} x {kind}");
    }
    println!("server stopped: {}", status.map_or_else(|| "forced (SIGKILL)".to_string(), |s| s.to_string()));
    fake.stop();
}
