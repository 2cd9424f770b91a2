//! Signed-in page throughput of the real release binary, run as a separate process:
//! `GET /account` with a session cookie from 64 concurrent keep-alive connections for a
//! fixed time after a warm-up; prints requests/s, p50/p99 latency and the count of
//! non-200 responses. Targets: >= 5,000 req/s, p99 <= 20 ms, 0 non-200. Prints figures
//! only; never asserts on them.
//!
//! `cargo bench --bench pages`
//! env: RV_BENCH_LOADGEN=wrk|builtin|both (default: wrk when on PATH, else builtin),
//!      RV_BENCH_SECS=10, RV_BENCH_WARMUP=2, RV_BENCH_CONNECTIONS=64

#[path = "common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, http_request, mib, percentile, proc_mem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATH: &str = "/account";
const EMAIL: &str = "bench-admin@example.com";
const PASSWORD: &str = "correct horse battery staple 42";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What one load run measured.
struct Figures {
    generator: String,
    requests: u64,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Non-200 answers the generator itself saw (wrk: only non-2xx/3xx).
    non200_client: u64,
    /// Non-200 answers for the route in the server's own request log, in the window.
    non200_server: Option<u64>,
    errors: u64,
}

fn main() {
    let secs = env_u64("RV_BENCH_SECS", 10).clamp(1, 300);
    let warmup = env_u64("RV_BENCH_WARMUP", 2).clamp(0, 60);
    let conns = env_u64("RV_BENCH_CONNECTIONS", 64).clamp(1, 1024) as usize;
    let wrk = which("wrk");
    let choice = std::env::var("RV_BENCH_LOADGEN").unwrap_or_default();
    let (use_wrk, use_builtin) = match choice.as_str() {
        "wrk" => (true, false),
        "builtin" => (false, true),
        "both" => (true, true),
        _ => (wrk.is_some(), wrk.is_none()),
    };
    let bin = common::server_binary();
    println!("reelvault signed-in page benchmark: GET {PATH}");
    println!("  binary: {}", bin.display());
    println!("  {conns} keep-alive connections, {warmup} s warm-up then {secs} s measured, loopback only");
    println!("  NOTE: client and server share this machine's {} CPU(s); the load generator takes CPU from the server.", common::cpus());
    if use_wrk && wrk.is_none() {
        println!(
            "  wrk is not installed (apt-get install -y wrk); {}",
            if use_builtin { "running the built-in generator only" } else { "falling back to the built-in generator" }
        );
    } else if !use_wrk && choice.is_empty() {
        println!("  wrk not found on PATH; using the built-in tokio generator (apt-get install -y wrk to use wrk)");
    }
    let use_builtin = use_builtin || (use_wrk && wrk.is_none());
    let use_wrk = use_wrk && wrk.is_some();

    let root = tempfile::tempdir().expect("temp dir");
    let data_dir = root.path().join("data");
    let log = root.path().join("server.log");
    let mut server = Server::spawn(&data_dir, &log, &[]);
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        println!("  server did not become ready: {e}");
        let _ = server.stop(Duration::from_secs(30));
        return;
    }
    let cookie = match create_admin(&mut server) {
        Ok(c) => c,
        Err(e) => {
            println!("  creating the admin FAILED: {e}");
            let _ = server.stop(Duration::from_secs(30));
            return;
        }
    };
    let before = proc_mem(server.pid());
    let url = format!("http://127.0.0.1:{}{PATH}", server.port);

    let mut results = Vec::new();
    if use_wrk {
        let wrk = wrk.as_deref().expect("wrk path");
        match run_wrk(wrk, &url, &cookie, conns, warmup, secs, &log) {
            Ok(f) => results.push(f),
            Err(e) => println!("  wrk run FAILED: {e}"),
        }
    }
    if use_builtin {
        if warmup > 0 {
            let _ = run_builtin(server.addr(), &cookie, conns, warmup);
        }
        let offset = file_len(&log);
        let mut f = run_builtin(server.addr(), &cookie, conns, secs);
        f.non200_server = count_server_non200(&log, offset);
        results.push(f);
    }
    let after = proc_mem(server.pid());
    let names_after = common::thread_names(server.pid());
    let (status, _) = server.stop(Duration::from_secs(30));

    println!("\nresults (targets: >= 5000 req/s, p99 <= 20 ms, non-200 = 0)");
    println!(
        "| {:<18} | {:>9} | {:>8} | {:>8} | {:>8} | {:>17} | {:>6} |",
        "load generator", "requests", "req/s", "p50 ms", "p99 ms", "non-200 cli/srv", "errors"
    );
    println!("|{:-<20}|{:->11}|{:->10}|{:->10}|{:->10}|{:->19}|{:->8}|", "", "", "", "", "", "", "");
    for f in &results {
        let srv = f.non200_server.map_or_else(|| "?".to_string(), |n| n.to_string());
        println!(
            "| {:<18} | {:>9} | {:>8.0} | {:>8.2} | {:>8.2} | {:>17} | {:>6} |",
            f.generator,
            f.requests,
            f.requests as f64 / f.secs,
            f.p50_ms,
            f.p99_ms,
            format!("{} / {}", f.non200_client, srv),
            f.errors
        );
    }
    println!(
        "non-200 cli = seen by the generator (wrk counts only non-2xx/3xx); srv = route {PATH} \
         entries with a status other than 200 in the server's own request log."
    );
    println!(
        "server: VmRSS {:.1} MiB (peak so far {:.1}) / {} threads before load, {:.1} MiB (peak {:.1}) / {} threads after; {}",
        mib(before.rss_kib),
        mib(before.hwm_kib),
        before.threads,
        mib(after.rss_kib),
        mib(after.hwm_kib),
        after.threads,
        status.map_or_else(|| "forced (SIGKILL)".to_string(), |s| s.to_string()),
    );
    println!("server threads after load: {names_after}");
}

fn which(name: &str) -> Option<String> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()).map(|p| p.display().to_string())
}

/// Completes first-run setup through the setup link the server printed, returning the
/// `Cookie` header value a signed-in browser would send (`rv_session` and `rv_csrf`).
fn create_admin(server: &mut Server) -> Result<String, String> {
    let line = server.wait_stdout_line("/setup/", Duration::from_secs(10)).ok_or("no setup link on the server's stdout")?;
    let start = line.find("/setup/").ok_or("no setup path")?;
    let path = line[start..].split_whitespace().next().unwrap_or("").to_string();
    let addr = server.addr();
    let page = http_request(addr, "GET", &path, &[], None).map_err(|e| e.to_string())?;
    if page.status != 200 {
        return Err(format!("GET setup page: status {}", page.status));
    }
    let (csrf_cookie, token) = common::form_csrf(&page)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &token)
        .append_pair("email", EMAIL)
        .append_pair("name", "Bench Admin")
        .append_pair("password", PASSWORD)
        .append_pair("confirm", PASSWORD)
        .finish();
    let origin = format!("http://127.0.0.1:{}", server.port);
    let cookie = format!("rv_csrf={csrf_cookie}");
    let posted = http_request(
        addr,
        "POST",
        &path,
        &[("Origin", &origin), ("Cookie", &cookie)],
        Some(("application/x-www-form-urlencoded", body.as_bytes())),
    )
    .map_err(|e| e.to_string())?;
    if posted.status != 303 {
        return Err(format!("POST setup: status {} {}", posted.status, posted.text().chars().take(300).collect::<String>()));
    }
    let session = posted.set_cookie("rv_session").ok_or("no rv_session cookie")?;
    let cookie = format!("rv_session={session}; rv_csrf={csrf_cookie}");
    let check = http_request(addr, "GET", PATH, &[("Cookie", &cookie)], None).map_err(|e| e.to_string())?;
    if check.status != 200 || !check.text().contains(EMAIL) {
        return Err(format!("GET {PATH} as the new admin: status {}", check.status));
    }
    println!("  admin created via the setup link; GET {PATH} answers 200 ({} bytes)", check.body.len());
    Ok(cookie)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Counts request-log lines for `PATH` whose status is not 200, from byte `offset` on.
/// Returns None when the log has no line for the route at all (e.g. the log level hides
/// request lines).
fn count_server_non200(log: &Path, offset: u64) -> Option<u64> {
    let text = std::fs::read(log).ok()?;
    let text = String::from_utf8_lossy(&text[(offset as usize).min(text.len())..]).into_owned();
    let route = format!("route={PATH} ");
    let mut seen = 0u64;
    let mut bad = 0u64;
    for line in text.lines().filter(|l| l.contains(&route)) {
        seen += 1;
        if !line.contains(" status=200 ") {
            bad += 1;
        }
    }
    (seen > 0).then_some(bad)
}

fn run_wrk(wrk: &str, url: &str, cookie: &str, conns: usize, warmup: u64, secs: u64, log: &Path) -> Result<Figures, String> {
    let header = format!("Cookie: {cookie}");
    let threads = "1"; // one client thread: leaves the most CPU to the server on 2 cores
    if warmup > 0 {
        let out = Command::new(wrk)
            .args(["-t", threads, "-c", &conns.to_string(), "-d", &format!("{warmup}s")])
            .args(["-H", &header, url])
            .output()
            .map_err(|e| format!("running wrk: {e}"))?;
        if !out.status.success() {
            return Err(format!("wrk warm-up: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    let offset = file_len(log);
    let out = Command::new(wrk)
        .args(["-t", threads, "-c", &conns.to_string(), "-d", &format!("{secs}s")])
        .args(["--timeout", "5s", "--latency", "-H", &header, url])
        .output()
        .map_err(|e| format!("running wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("wrk: {}{}", text, String::from_utf8_lossy(&out.stderr)));
    }
    let parse = || -> Option<Figures> {
        let mut f = Figures {
            generator: format!("wrk -t{threads}"),
            requests: 0,
            secs: secs as f64,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            non200_client: 0,
            non200_server: None,
            errors: 0,
        };
        for line in text.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["50%", v] => f.p50_ms = wrk_ms(v)?,
                ["99%", v] => f.p99_ms = wrk_ms(v)?,
                [n, "requests", "in", t, ..] => {
                    f.requests = n.parse().ok()?;
                    f.secs = wrk_ms(t.trim_end_matches(','))? / 1e3;
                }
                ["Non-2xx", "or", "3xx", "responses:", n] => f.non200_client = n.parse().ok()?,
                ["Socket", "errors:", rest @ ..] => {
                    f.errors = rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum();
                }
                _ => {}
            }
        }
        Some(f)
    };
    let mut f = parse().ok_or_else(|| format!("cannot parse wrk output:\n{text}"))?;
    f.non200_server = count_server_non200(log, offset);
    Ok(f)
}

/// "4.21ms" / "812.00us" / "1.02s" / "10.00s" -> milliseconds.
fn wrk_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60e3)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().ok().map(|x| x * scale)
}

/// The built-in generator: `conns` tasks on one current-thread tokio runtime (one client
/// thread, like `wrk -t1`), each with its own keep-alive connection sending one request at
/// a time, for `secs` seconds.
fn run_builtin(addr: SocketAddr, cookie: &str, conns: usize, secs: u64) -> Figures {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let request =
        format!("GET {PATH} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: reelvault-bench\r\nAccept: text/html\r\nCookie: {cookie}\r\n\r\n");
    let measure_from = Instant::now();
    let end = measure_from + Duration::from_secs(secs);
    let results = runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let request = request.clone();
            tasks.push(tokio::spawn(connection_loop(addr, request, measure_from, end)));
        }
        let mut all = Vec::new();
        for t in tasks {
            if let Ok(r) = t.await {
                all.push(r);
            }
        }
        all
    });
    let elapsed = end.saturating_duration_since(measure_from).as_secs_f64();
    let mut latencies: Vec<f64> = Vec::new();
    let mut non200 = 0;
    let mut errors = 0;
    for r in results {
        latencies.extend(r.latencies_us.iter().map(|&us| us as f64 / 1e3));
        non200 += r.non200;
        errors += r.errors;
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    Figures {
        generator: "built-in (tokio)".into(),
        requests: latencies.len() as u64 + non200,
        secs: elapsed,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        non200_client: non200,
        non200_server: None,
        errors,
    }
}

#[derive(Default)]
struct ConnResult {
    latencies_us: Vec<u32>,
    non200: u64,
    errors: u64,
}

async fn connection_loop(addr: SocketAddr, request: String, measure_from: Instant, end: Instant) -> ConnResult {
    let mut r = ConnResult::default();
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut stream: Option<tokio::net::TcpStream> = None;
    while Instant::now() < end {
        if stream.is_none() {
            match tokio::time::timeout(REQUEST_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                _ => {
                    r.errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = stream.as_mut().expect("connected");
        let t0 = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, one_request(s, request.as_bytes(), &mut buf)).await;
        let took = t0.elapsed();
        match outcome {
            Ok(Ok((status, keep_alive))) => {
                if t0 >= measure_from {
                    if status == 200 {
                        r.latencies_us.push(took.as_micros().min(u32::MAX as u128) as u32);
                    } else {
                        r.non200 += 1;
                    }
                }
                if !keep_alive {
                    stream = None;
                }
            }
            _ => {
                if t0 >= measure_from {
                    r.errors += 1;
                }
                stream = None;
            }
        }
    }
    r
}

/// Sends one request and reads one whole response; returns (status, keep-alive).
async fn one_request(s: &mut tokio::net::TcpStream, request: &[u8], buf: &mut Vec<u8>) -> std::io::Result<(u16, bool)> {
    s.write_all(request).await?;
    buf.clear();
    let eof = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed");
    let header_end = loop {
        if let Some(i) = common::find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if read_more(s, buf).await? == 0 {
            return Err(eof());
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 =
        head.split_whitespace().nth(1).and_then(|v| v.parse().ok()).ok_or_else(|| std::io::Error::other("bad status line"))?;
    let keep_alive = !head.contains("\r\nconnection: close");
    if let Some(len) = head.split("\r\n").find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok()) {
        while buf.len() < header_end + len {
            if read_more(s, buf).await? == 0 {
                return Err(eof());
            }
        }
    } else if head.contains("\r\ntransfer-encoding: chunked") {
        // Good enough for a benchmark: read until the terminating zero-size chunk.
        while !buf[header_end..].ends_with(b"0\r\n\r\n") {
            if read_more(s, buf).await? == 0 {
                return Err(eof());
            }
        }
    } else {
        return Ok((status, false));
    }
    Ok((status, keep_alive))
}

async fn read_more(s: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}
