//! Search figures of the real release binary on 1,000,000 generations:
//!   (1) `reelvault reindex` indexing rate                         — target >= 50,000 prompts/s
//!   (2) HTTP search p50/p99 at 16 clients (one-word, two-word and phrase queries)
//!       beside the raw tantivy query time of the same queries     — target p99 <= 10 ms
//!   (3) the library listing (50 items, empty q) at 64 connections: requests/s and p99.
//! The generations (prompts drawn by Zipf's law from a few thousand English words, 8-40 words
//! each) are written straight into the store with the library, before the server starts.
//! Prints figures only; never asserts on them.
//!
//! `cargo bench --bench search`
//! env: RV_BENCH_DOCS=1000000, RV_BENCH_SECS=10, RV_BENCH_WARMUP=2, RV_BENCH_CLIENTS=16,
//!      RV_BENCH_CONNECTIONS=64, RV_BENCH_QUERIES=3000, RV_BENCH_LOADGEN=wrk|builtin,
//!      RV_BENCH_DIR=an empty directory to work in and keep (default: a temporary one)

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::corpus::{Corpus, Rng};
use common::records::{self, Shape};
use common::studio::{Conn, Studio};
use common::{percentile, proc_mem};
use reelvault::domain::catalog::MediaKind;
use reelvault::domain::generation::{GenState, Generation};
use reelvault::domain::ids::UserId;
use reelvault::domain::time::Timestamp;
use reelvault::search::collector::{Plan, SearchCollector};
use reelvault::search::{SearchRequest, TextQuery, Viewer};
use reelvault::store::{Store, StoreError};

const BATCH: usize = 100_000;
const VOCABULARY: usize = 5_000;
/// Query words are drawn from this rank on (the head is articles and prepositions).
const QUERY_MIN_RANK: usize = 25;
const MODELS: [(&str, MediaKind); 8] = [
    ("demo-image", MediaKind::Image),
    ("demo-video", MediaKind::Video),
    ("sora-2", MediaKind::Video),
    ("veo-3.1", MediaKind::Video),
    ("veo-3.1-fast", MediaKind::Video),
    ("runway-gen4-turbo", MediaKind::Video),
    ("runway-gen4-image", MediaKind::Image),
    ("gemini-2.5-flash-image", MediaKind::Image),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let docs = env_usize("RV_BENCH_DOCS", 1_000_000);
    let secs = env_usize("RV_BENCH_SECS", 10) as u64;
    let warmup = env_usize("RV_BENCH_WARMUP", 2) as u64;
    let clients = env_usize("RV_BENCH_CLIENTS", 16);
    let connections = env_usize("RV_BENCH_CONNECTIONS", 64);
    let query_count = env_usize("RV_BENCH_QUERIES", 3000);
    common::studio::raise_nofile();
    let corpus = match Corpus::new(VOCABULARY) {
        Ok(c) => c,
        Err(e) => {
            println!("cannot build the vocabulary: {e}");
            return;
        }
    };
    println!("reelvault search benchmark: {docs} generations, {} words of vocabulary", corpus.words.len());
    println!("  binary: {}", common::server_binary().display());
    println!("  NOTE: clients and server share this machine's {} CPU(s).", common::cpus());
    let root = common::WorkDir::from_env();
    let studio = match Studio::prepare(root.path(), 9, 1, 1) {
        Ok(s) => s,
        Err(e) => {
            println!("preparing the studio FAILED: {e}");
            return;
        }
    };

    // 0. the store
    let t = Instant::now();
    let owner = match populate(&studio.data_dir, docs, &corpus) {
        Ok(o) => o,
        Err(e) => {
            println!("writing the store FAILED: {e}");
            return;
        }
    };
    let store_bytes = std::fs::metadata(studio.data_dir.join("reelvault.redb")).map(|m| m.len()).unwrap_or(0);
    println!("\n(0) store: {docs} generations written in {:.1} s ({:.0} MiB)", t.elapsed().as_secs_f64(), store_bytes as f64 / 1048576.0);

    // 1. reindex
    let (reindex_secs, reindex_lines) = reindex(&studio);
    let index_bytes = dir_bytes(&studio.data_dir.join("search/index"));
    println!(
        "\n(1) `reelvault reindex` (service stopped): {docs} prompts in {reindex_secs:.2} s = {:.0} prompts/s",
        docs as f64 / reindex_secs
    );
    for line in reindex_lines.iter().rev().take(2).rev() {
        println!("    | {line}");
    }
    println!("    index on disk: {:.0} MiB", index_bytes as f64 / 1048576.0);

    // 2. HTTP search against the server
    let log = root.path().join("server.log");
    let mut server = studio.spawn(&log);
    if let Err(e) = server.wait_ready(Duration::from_secs(60)) {
        println!("server did not become ready: {e}");
        return;
    }
    let auth = studio.bearer();
    let headers = [("Authorization", auth.as_str())];
    let t = Instant::now();
    let mut conn = Conn::new(server.addr());
    while t.elapsed() < Duration::from_secs(120) {
        if conn.request("GET", "/api/v1/generations?limit=1", &headers, None).is_ok_and(|r| r.status == 200) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("\n    search answered {:.2} s after the server was ready (opening the index, checksums)", t.elapsed().as_secs_f64());
    let queries = queries(&corpus, query_count);
    let paths: Vec<(usize, String)> = queries.iter().map(|(kind, q)| (*kind, format!("/api/v1/generations?q={}", encode(q)))).collect();
    let before = proc_mem(server.pid());
    let mix = load(server.addr(), &auth, &paths, clients, warmup, secs);
    let list_path = "/api/v1/generations?limit=50".to_string();
    let use_wrk = std::env::var("RV_BENCH_LOADGEN").as_deref() != Ok("builtin");
    let mix_paths: Vec<String> = paths.iter().map(|(_, p)| p.clone()).collect();
    let mix_wrk = if use_wrk { wrk(server.port, &auth, &mix_paths, clients, warmup, secs, root.path()) } else { None };
    let listing =
        if use_wrk { wrk(server.port, &auth, std::slice::from_ref(&list_path), connections, warmup, secs, root.path()) } else { None };
    let listing = listing.unwrap_or_else(|| {
        let l = load(server.addr(), &auth, &[(3, list_path.clone())], connections, warmup, secs);
        let mut lat: Vec<f64> = l.samples.iter().map(|s| s.1).collect();
        lat.sort_by(|a, b| a.total_cmp(b));
        Listing {
            generator: "builtin".into(),
            rps: l.samples.len() as f64 / secs as f64,
            p50: percentile(&lat, 50.0),
            p99: percentile(&lat, 99.0),
            errors: l.errors + l.non200,
        }
    });
    let after = proc_mem(server.pid());
    let (_, _) = server.stop(Duration::from_secs(60));

    // raw tantivy on the same index, the server stopped
    let raw = raw_times(&studio.data_dir, &queries, Viewer { user: owner, admin: true });

    println!("\n(2) HTTP search, {clients} connections, {secs} s after {warmup} s warm-up each");
    match &mix_wrk {
        Some(w) => println!(
            "    the whole mix under wrk -t2 (a Lua script takes the next query each request): {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, errors/non-2xx {}",
            w.rps, w.p50, w.p99, w.errors
        ),
        None => println!("    (wrk is not installed: apt-get install -y wrk; only the built-in client below)"),
    }
    println!(
        "    by query kind, built-in client ({clients} threads, one keep-alive connection each); raw = same query in-process, one at a time:"
    );
    println!(
        "| {:<9} | {:>7} | {:>8} | {:>8} | {:>12} | {:>12} | {:>11} | {:>11} | {:>9} |",
        "query", "count", "p50 ms", "p99 ms", "raw p50 ms", "raw p99 ms", "plain p50", "plain p99", "p50 ratio"
    );
    println!("|{:-<11}|{:->9}|{:->10}|{:->10}|{:->14}|{:->14}|{:->13}|{:->13}|{:->11}|", "", "", "", "", "", "", "", "", "");
    for (kind, label) in [(0, "one word"), (1, "two words"), (2, "phrase"), (usize::MAX, "all")] {
        let mut http: Vec<f64> = mix.samples.iter().filter(|s| kind == usize::MAX || s.0 == kind).map(|s| s.1).collect();
        http.sort_by(|a, b| a.total_cmp(b));
        let pick = |v: &[(usize, f64, f64)], which: usize| -> Vec<f64> {
            let mut out: Vec<f64> =
                v.iter().filter(|s| kind == usize::MAX || s.0 == kind).map(|s| if which == 0 { s.1 } else { s.2 }).collect();
            out.sort_by(|a, b| a.total_cmp(b));
            out
        };
        let (ours, plain) = (pick(&raw, 0), pick(&raw, 1));
        println!(
            "| {:<9} | {:>7} | {:>8.2} | {:>8.2} | {:>12.2} | {:>12.2} | {:>11.2} | {:>11.2} | {:>9.1} |",
            label,
            http.len(),
            percentile(&http, 50.0),
            percentile(&http, 99.0),
            percentile(&ours, 50.0),
            percentile(&ours, 99.0),
            percentile(&plain, 50.0),
            percentile(&plain, 99.0),
            percentile(&http, 50.0) / percentile(&ours, 50.0),
        );
    }
    println!("    raw = reelvault's collector (visibility, filters, facets, total, top 50 by date) on the index, no HTTP;");
    println!("    plain = tantivy's own Count + TopDocs by created_at for the same query, no visibility or facets.");
    println!("    {:.0} requests/s over the mix; non-200: {}; errors: {}", mix.samples.len() as f64 / secs as f64, mix.non200, mix.errors);

    println!("\n(3) library listing GET {list_path} at {connections} connections ({})", listing.generator);
    println!("    {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, errors/non-2xx {}", listing.rps, listing.p50, listing.p99, listing.errors);
    println!(
        "\nserver memory: VmRSS {:.0} MiB before the load, {:.0} MiB after (VmHWM {:.0} MiB)",
        common::mib(before.rss_kib),
        common::mib(after.rss_kib),
        common::mib(after.hwm_kib)
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for line in text.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("search index")).take(10) {
        println!("    server log: {line}");
    }
}

/// Writes `docs` finished generations into the studio's store (transactions of [`BATCH`]):
/// 80 % the bench admin's, the rest by nine others, 30 % of theirs shared. Returns the admin.
fn populate(data_dir: &Path, docs: usize, corpus: &Corpus) -> Result<UserId, StoreError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = Store::open(data_dir)?;
        let admin = records::bench_admin(&store).await?;
        let others: Vec<UserId> = (0..9).map(|_| UserId::generate()).collect();
        let start = Timestamp::now().minus(Duration::from_secs(365 * 86_400)).millis();
        let step = (365 * 86_400_000 / docs.max(1) as i64).max(1);
        let mut rng = Rng::new(42);
        let mut written = 0;
        while written < docs {
            let n = BATCH.min(docs - written);
            let batch: Vec<Generation> =
                (written..written + n).map(|i| generation(&mut rng, corpus, admin, &others, start + i as i64 * step)).collect();
            store
                .write(move |tx| {
                    for g in &batch {
                        reelvault::store::generations::put(tx, g)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .await?;
            written += n;
        }
        store.close().await;
        Ok(admin)
    })
}

fn generation(rng: &mut Rng, corpus: &Corpus, admin: UserId, others: &[UserId], created_at: i64) -> Generation {
    let (model, kind) = MODELS[rng.below(MODELS.len())];
    let roll = rng.below(100);
    let (owner, shared) = if roll < 80 { (admin, false) } else { (others[rng.below(others.len())], rng.below(10) < 3) };
    let state = match rng.below(100) {
        0..85 => GenState::Succeeded,
        85..95 => GenState::Failed,
        _ => GenState::Cancelled,
    };
    let negative_prompt = (rng.below(5) == 0).then(|| corpus.prompt(rng, 3, 8));
    let prompt = corpus.prompt(rng, 8, 40);
    records::finished(Shape { owner, model, kind, prompt, negative_prompt, state, at: created_at, kept: rng.below(10) == 0, shared })
}

/// Runs `reelvault reindex` with the service stopped: (seconds, its output lines).
fn reindex(studio: &Studio) -> (f64, Vec<String>) {
    let t = Instant::now();
    let out = Command::new(common::server_binary())
        .args(["reindex", "--data-dir"])
        .arg(&studio.data_dir)
        .arg("--config")
        .arg(&studio.config)
        .env_remove("RUST_LOG")
        .output()
        .expect("run reindex");
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        println!("reindex FAILED: {}", String::from_utf8_lossy(&out.stderr));
    }
    (secs, String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect())
}

/// `n` queries, a third each: one word, two words, a quoted two-word phrase taken from a
/// prompt drawn like the stored ones (so such phrases exist). Words are drawn by Zipf's law
/// from rank 25 on: no query word is among the 25 most frequent (articles, prepositions).
fn queries(corpus: &Corpus, n: usize) -> Vec<(usize, String)> {
    let mut rng = Rng::new(7);
    (0..n)
        .map(|i| match i % 3 {
            0 => (0, corpus.word_from(&mut rng, QUERY_MIN_RANK).to_string()),
            1 => (1, format!("{} {}", corpus.word_from(&mut rng, QUERY_MIN_RANK), corpus.word_from(&mut rng, QUERY_MIN_RANK))),
            _ => loop {
                let ranks = corpus.prompt_ranks(&mut rng, 8, 40);
                let pairs: Vec<&[usize]> = ranks.windows(2).filter(|w| w.iter().all(|&r| r >= QUERY_MIN_RANK)).collect();
                if !pairs.is_empty() {
                    let pair = pairs[rng.below(pairs.len())];
                    break (2, format!("\"{} {}\"", corpus.words[pair[0]], corpus.words[pair[1]]));
                }
            },
        })
        .collect()
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a load run saw: (query kind, ms) per request in the measured window.
struct Load {
    samples: Vec<(usize, f64)>,
    non200: u64,
    errors: u64,
}

/// `conns` threads, each one keep-alive connection cycling through `paths` from its own
/// offset: `warmup` seconds unmeasured, then `secs` measured.
fn load(addr: SocketAddr, auth: &str, paths: &[(usize, String)], conns: usize, warmup: u64, secs: u64) -> Load {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(warmup);
    let until = measure_from + Duration::from_secs(secs);
    let results: Vec<Load> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..conns)
            .map(|c| {
                s.spawn(move || {
                    let mut conn = Conn::new(addr);
                    let mut out = Load { samples: Vec::new(), non200: 0, errors: 0 };
                    let mut i = c * paths.len() / conns.max(1);
                    let headers = [("Authorization", auth)];
                    while Instant::now() < until {
                        let (kind, path) = &paths[i % paths.len()];
                        i += 1;
                        let t = Instant::now();
                        let result = conn.exchange("GET", path, &headers, None, |_| {});
                        let ms = t.elapsed().as_secs_f64() * 1e3;
                        if t < measure_from {
                            continue;
                        }
                        match result {
                            Ok((200, _)) => out.samples.push((*kind, ms)),
                            Ok(_) => out.non200 += 1,
                            Err(_) => out.errors += 1,
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Load { samples: Vec::new(), non200: 0, errors: 1 })).collect()
    });
    let mut all = Load { samples: Vec::new(), non200: 0, errors: 0 };
    for r in results {
        all.samples.extend(r.samples);
        all.non200 += r.non200;
        all.errors += r.errors;
    }
    all
}

struct Listing {
    generator: String,
    rps: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

/// `paths` under `wrk` (2 threads), when it is installed: one path, or each request the
/// next of many (a Lua script written into `dir`; each thread starts at its own offset).
fn wrk(port: u16, auth: &str, paths: &[String], conns: usize, warmup: u64, secs: u64, dir: &Path) -> Option<Listing> {
    let (url, script) = match paths {
        [one] => (format!("http://127.0.0.1:{port}{one}"), None),
        many => {
            let script = dir.join("paths.lua");
            let list: Vec<String> = many.iter().map(|p| format!("{p:?}")).collect();
            let lua = format!(
                "paths = {{{}}}\nlocal threads = 0\nsetup = function(thread)\n  threads = threads + 1\n  thread:set(\"counter\", threads * 7919)\nend\n\
                 request = function()\n  counter = counter + 1\n  return wrk.format(nil, paths[(counter % #paths) + 1])\nend\n",
                list.join(",")
            );
            std::fs::write(&script, lua).ok()?;
            (format!("http://127.0.0.1:{port}"), Some(script))
        }
    };
    let header = format!("Authorization: {auth}");
    let run = |d: u64| {
        let mut command = Command::new("wrk");
        command.args(["-t2", &format!("-c{conns}"), &format!("-d{d}s"), "--latency", "-H", &header]);
        if let Some(script) = &script {
            command.arg("-s").arg(script);
        }
        command.arg(&url).output().ok()
    };
    if warmup > 0 {
        run(warmup)?;
    }
    let out = run(secs)?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let value = |prefix: &str| text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()));
    let ms = |v: String| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1e3,
            "s" => n * 1e3,
            _ => n,
        }
    };
    let errors = value("Non-2xx or 3xx responses:").and_then(|v| v.parse().ok()).unwrap_or(0);
    Some(Listing {
        generator: "wrk -t2".into(),
        rps: value("Requests/sec:")?.parse().ok()?,
        p50: ms(value("50%")?),
        p99: ms(value("99%")?),
        errors,
    })
}

/// Each query run in-process on the index, one at a time after a warm-up pass:
/// (kind, ms with reelvault's collector, ms with tantivy's Count + TopDocs by date).
fn raw_times(data_dir: &Path, queries: &[(usize, String)], viewer: Viewer) -> Vec<(usize, f64, f64)> {
    use tantivy::collector::{Count, TopDocs};
    let (live, _) = match reelvault::search::index::open(&data_dir.join("search/index"), u64::MAX, false) {
        Ok(l) => l,
        Err(e) => {
            println!("cannot open the index for the raw timings: {e}");
            return Vec::new();
        }
    };
    let searcher = live.searcher();
    let mut out = Vec::with_capacity(queries.len());
    for pass in 0..2 {
        for (kind, q) in queries {
            let request = SearchRequest { text: TextQuery::parse(q).expect("query"), ..Default::default() };
            let query = request.text.to_query(&live.fields);
            let plan = Plan::new(viewer, &request);
            let t = Instant::now();
            let found =
                searcher.search(&*query, &SearchCollector { plan: &plan, fields: live.fields, views: &live.views }).expect("search");
            let ours = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let plain = searcher
                .search(
                    &*query,
                    &(Count, TopDocs::with_limit(50).order_by_fast_field::<tantivy::DateTime>("created_at", tantivy::Order::Desc)),
                )
                .expect("search");
            let plain_ms = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box((found.total, plain.0));
            if pass == 1 {
                out.push((*kind, ours, plain_ms));
            }
        }
    }
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for (kind, q) in queries.iter().take(300) {
        let request = SearchRequest { text: TextQuery::parse(q).expect("query"), ..Default::default() };
        let n = searcher.search(&*request.text.to_query(&live.fields), &Count).unwrap_or(0);
        *sizes.entry(*kind).or_default() += n;
    }
    for (kind, total) in sizes {
        println!("    mean matches per query, kind {kind}: {}", total / 100);
    }
    out
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}
