//! Soak: many people using the studio at once for minutes, with a faulty provider and abuse
//! mixed in. 20 members (made with the CLI, each with credits, an API token and a signed-in
//! session) browse the library, search, submit image generations to a loopback fake of the
//! OpenAI Images API that fails a share of requests (500, 429, no answer at all), follow
//! them, fetch their outputs and upload references; meanwhile abusers read slowly, abandon
//! downloads, send junk bodies, trickle bodies a byte a second and flood the sign-in form.
//! Reports requests served, p50/p99 per endpoint, errors by kind and RSS over time, and checks:
//! no hang, no 5xx from the server (provider faults only ever fail a generation), RSS back
//! within 20 % of idle after the load (idle: at rest after 20 s of ordinary use, so the store's
//! and the index's working sets are in it). The instance trusts loopback as its reverse proxy and
//! the sign-in flood comes "from" addresses of 198.51.100.0/24 in `X-Forwarded-For`, as it
//! would through a proxy; it targets the abuser's own account and made-up ones.
//!
//! `cargo bench --bench soak`
//! env: SOAK_SECS=180 (20 for a quick try), SOAK_MEMBERS=20, RV_BENCH_DIR (work there and keep it)

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::corpus::Rng;
use common::studio::{Conn, Studio, cli, path_of, raise_nofile, sign_in_as};
use common::{mib, percentile, proc_mem};
use fake_upstream::{FakeUpstream, Reply};

const MEMBER_PASSWORD: &str = "soak member password 1";
/// Words the members search for and put in prompts.
const WORDS: [&str; 8] = ["lighthouse", "harbour", "kite", "lantern", "dunes", "forest", "city", "storm"];
/// A request that takes this long counts as a hang.
const HANG: Duration = Duration::from_secs(30);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What every request ended as, by endpoint.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<f64>>,
    /// (endpoint, kind) -> count, kinds: "4xx", "429", "408", "5xx", "timeout", "io".
    errors: BTreeMap<(&'static str, &'static str), u64>,
    /// Generation outcomes: "succeeded", "failed: <code>", …
    outcomes: BTreeMap<String, u64>,
}

#[derive(Clone)]
struct Shared {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl Shared {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    /// Records one answer (or failure) of `endpoint` that took `seconds`.
    fn record(&self, endpoint: &'static str, result: &std::io::Result<u16>, seconds: f64) {
        let mut tally = self.tally.lock().expect("tally");
        tally.latencies.entry(endpoint).or_default().push(seconds * 1000.0);
        let kind = match result {
            Ok(status) if *status < 400 => return,
            Ok(429) => "429",
            Ok(408) => "408",
            Ok(status) if *status >= 500 => "5xx",
            Ok(_) => "4xx",
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => "timeout",
            Err(_) => "io",
        };
        *tally.errors.entry((endpoint, kind)).or_default() += 1;
    }
}

/// A PNG of `seed`, as the fake provider's answer and the members' uploads.
fn png(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, seed]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// The fake OpenAI Images API: of every 20 requests, 4 answer 500, 2 answer 429, 1 never
/// answers (the connection's 2 s timeout ends it) and the rest return an image.
async fn faulty_provider() -> FakeUpstream {
    use base64::Engine;
    let image = base64::engine::general_purpose::STANDARD.encode(png(7));
    let count = AtomicU64::new(0);
    FakeUpstream::start(move |_| match count.fetch_add(1, Ordering::Relaxed) % 20 {
        0..=3 => Reply::json(500, serde_json::json!({"error": {"message": "upstream broke", "type": "server_error"}})),
        4 | 5 => Reply::json(429, serde_json::json!({"error": {"message": "slow down", "type": "rate_limit"}})).header("retry-after", "1"),
        6 => Reply::hang(),
        _ => Reply::json(200, serde_json::json!({"created": 1, "data": [{"b64_json": image}], "output_format": "png"})),
    })
    .await
}

/// One member: an API token and a signed-in browser's cookie.
struct Member {
    token: String,
    cookie: String,
}

fn make_members(studio: &Studio, count: usize) -> Result<Vec<(String, String)>, String> {
    let (dir, cfg) = (studio.data_dir.display().to_string(), studio.config.display().to_string());
    let common = ["--data-dir", dir.as_str(), "--config", cfg.as_str()];
    (0..count)
        .map(|i| {
            let email = format!("member{i}@example.com");
            cli(
                &[&["user", "add", "--email", &email, "--role", "member", "--password-stdin"][..], &common].concat(),
                Some(MEMBER_PASSWORD),
            )?;
            cli(&[&["credits", "grant", "--email", &email, "--amount", "100000000"][..], &common].concat(), None)?;
            let out = cli(&[&["token", "create", "--email", &email][..], &common].concat(), None)?;
            Ok((email, out.lines().next().unwrap_or("").trim().to_string()))
        })
        .collect()
}

/// A multipart body with one `file` part.
fn multipart(bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "soakboundary7MA4YWxkTrZu0gW";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ref.png\"\r\nContent-Type: image/png\r\n\r\n")
            .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A member's session: browse, search, submit, follow, fetch, upload, with pauses between.
fn member_loop(shared: Shared, member: Member, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut conn = Conn::new(shared.addr);
    let bearer = format!("Bearer {}", member.token);
    let auth = [("Authorization", bearer.as_str())];
    let page = [("Cookie", member.cookie.as_str())];
    let upload = multipart(&png(seed as u8));
    let mut pending: Vec<String> = Vec::new();
    let mut outputs: Vec<String> = Vec::new();
    while shared.running() {
        let roll = rng.below(100);
        let word = WORDS[rng.below(WORDS.len())];
        let started = Instant::now();
        let (endpoint, result): (&'static str, std::io::Result<u16>) = match roll {
            0..=24 => ("GET /library", conn.request("GET", "/library", &page, None).map(|r| r.status)),
            25..=44 => {
                let path = format!("/api/v1/generations?q={word}");
                ("GET /api/v1/generations?q", conn.request("GET", &path, &auth, None).map(|r| r.status))
            }
            45..=59 => {
                let body = format!(r#"{{"model": "gpt-image-2", "prompt": "a {word} at dawn, soak {seed}"}}"#);
                let r = conn.request("POST", "/api/v1/generations", &auth, Some(("application/json", body.as_bytes())));
                if let Ok(r) = &r
                    && r.status == 201
                    && let Some(id) = json_field(&r.text(), "id")
                {
                    pending.push(id);
                }
                ("POST /api/v1/generations", r.map(|r| r.status))
            }
            60..=79 if !pending.is_empty() => {
                let id = pending[rng.below(pending.len())].clone();
                let r = conn.request("GET", &format!("/api/v1/generations/{id}"), &auth, None);
                if let Ok(r) = &r {
                    follow(&shared, &r.text(), &id, &mut pending, &mut outputs);
                }
                ("GET /api/v1/generations/{id}", r.map(|r| r.status))
            }
            80..=89 if !outputs.is_empty() => {
                let path = outputs[rng.below(outputs.len())].clone();
                ("GET /media/{id}", conn.request("GET", &path, &[], None).map(|r| r.status))
            }
            90..=94 => {
                let body = Some((upload.0.as_str(), upload.1.as_slice()));
                ("POST /api/v1/uploads", conn.request("POST", "/api/v1/uploads", &auth, body).map(|r| r.status))
            }
            _ => ("GET /api/v1/me", conn.request("GET", "/api/v1/me", &auth, None).map(|r| r.status)),
        };
        shared.record(endpoint, &result, started.elapsed().as_secs_f64());
        if result.is_err() {
            conn = Conn::new(shared.addr);
        }
        std::thread::sleep(Duration::from_millis(20 + rng.below(60) as u64));
    }
}

/// Notes a generation's end (its state and error code) and its first output's path.
fn follow(shared: &Shared, body: &str, id: &str, pending: &mut Vec<String>, outputs: &mut Vec<String>) {
    let Ok(g) = serde_json::from_str::<serde_json::Value>(body) else { return };
    let state = g["state"].as_str().unwrap_or("");
    if !["succeeded", "failed", "cancelled"].contains(&state) {
        return;
    }
    pending.retain(|p| p != id);
    let outcome = match g["reason"]["code"].as_str() {
        Some(code) => format!("{state}: {code}"),
        None => state.to_string(),
    };
    *shared.tally.lock().expect("tally").outcomes.entry(outcome).or_default() += 1;
    if let Some(url) = g["outputs"][0]["url"].as_str()
        && outputs.len() < 50
    {
        outputs.push(path_of(url));
    }
}

fn json_field(body: &str, name: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body).ok()?[name].as_str().map(str::to_string)
}

/// Opens a connection, sends `request` and reads the answer 64 bytes a second with a small
/// receive buffer, giving up after `patience`: a slow reader, then one that walks away.
fn slow_read(addr: SocketAddr, request: &[u8], patience: Duration) -> std::io::Result<u16> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    set_small_receive_buffer(&stream);
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    (&stream).write_all(request)?;
    let until = Instant::now() + patience;
    let mut head = Vec::new();
    let mut chunk = [0u8; 64];
    while Instant::now() < until {
        let n = (&stream).read(&mut chunk)?;
        if n == 0 {
            break;
        }
        if head.len() < 16 {
            head.extend_from_slice(&chunk[..n]);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let line = String::from_utf8_lossy(&head).into_owned();
    Ok(line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0))
}

fn set_small_receive_buffer(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4096;
    // SAFETY: setsockopt on a socket we own, with a pointer to a local int of the given size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Sends a body of 200 bytes one byte a second; the server should answer 408 well before.
fn trickled_body(addr: SocketAddr, token: &str, limit: Duration) -> std::io::Result<u16> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_millis(900)))?;
    let head = format!(
        "POST /api/v1/generations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    );
    (&stream).write_all(head.as_bytes())?;
    let until = Instant::now() + limit;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    while Instant::now() < until {
        match (&stream).read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if (&stream).write_all(b" ").is_err() {
                    break;
                }
            }
            Err(e) => return Err(e),
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let line = String::from_utf8_lossy(&answer).into_owned();
    match line.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
        Some(status) => Ok(status),
        None => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer to a trickled body")),
    }
}

/// The abusers, each on its own thread until the load ends.
fn abuse_loops(shared: &Shared, token: &str, cookie: &str) -> Vec<std::thread::JoinHandle<()>> {
    let mut threads = Vec::new();
    // slow readers of the library page and of the API docs, walking away after 10 s
    for (i, path) in ["/library", "/api/docs", "/library", "/api/docs"].into_iter().enumerate() {
        let (shared, cookie) = (shared.clone(), cookie.to_string());
        threads.push(std::thread::spawn(move || {
            let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\r\n", shared.addr).into_bytes();
            std::thread::sleep(Duration::from_millis(250 * i as u64));
            while shared.running() {
                let started = Instant::now();
                let result = slow_read(shared.addr, &request, Duration::from_secs(10));
                shared.record("abuse: slow reader", &result, started.elapsed().as_secs_f64());
            }
        }));
    }
    // junk bodies: not JSON, a broken multipart, a form of garbage
    {
        let (shared, bearer) = (shared.clone(), format!("Bearer {token}"));
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::new(99);
            let mut conn = Conn::new(shared.addr);
            while shared.running() {
                let junk: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
                let auth = [("Authorization", bearer.as_str())];
                let (endpoint, path, ctype) = match rng.below(3) {
                    0 => ("abuse: junk JSON", "/api/v1/generations", "application/json"),
                    1 => ("abuse: junk multipart", "/api/v1/uploads", "multipart/form-data; boundary=xyz"),
                    _ => ("abuse: junk OpenAI JSON", "/v1/images/generations", "application/json"),
                };
                let started = Instant::now();
                let result = conn.request("POST", path, &auth, Some((ctype, &junk))).map(|r| r.status);
                shared.record(endpoint, &result, started.elapsed().as_secs_f64());
                if result.is_err() {
                    conn = Conn::new(shared.addr);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    // bodies trickled a byte a second, four at a time
    for _ in 0..4 {
        let (shared, token) = (shared.clone(), token.to_string());
        threads.push(std::thread::spawn(move || {
            while shared.running() {
                let started = Instant::now();
                let result = trickled_body(shared.addr, &token, Duration::from_secs(60));
                shared.record("abuse: trickled body", &result, started.elapsed().as_secs_f64());
            }
        }));
    }
    // a flood of failed sign-ins for real and made-up accounts
    {
        let shared = shared.clone();
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::new(7);
            let mut conn = Conn::new(shared.addr);
            let Ok(page) = common::http_request(shared.addr, "GET", "/login", &[], None) else { return };
            let Ok((csrf_cookie, csrf_token)) = common::form_csrf(&page) else { return };
            let (cookie, origin) = (format!("rv_csrf={csrf_cookie}"), format!("http://{}", shared.addr));
            while shared.running() {
                // the abuser's own account or made-up ones, from addresses of a documentation range
                let email = match rng.below(4) {
                    0 => "member0@example.com".to_string(),
                    n => format!("nobody{}-{n}@example.com", rng.below(1000)),
                };
                let address = format!("198.51.100.{}", 1 + rng.below(250));
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("csrf_token", &csrf_token)
                    .append_pair("email", &email)
                    .append_pair("password", "not the password")
                    .finish();
                let headers = [("Cookie", cookie.as_str()), ("Origin", origin.as_str()), ("X-Forwarded-For", address.as_str())];
                let started = Instant::now();
                let form = Some(("application/x-www-form-urlencoded", body.as_bytes()));
                let result = conn.request("POST", "/login", &headers, form).map(|r| r.status);
                shared.record("abuse: failed sign-in", &result, started.elapsed().as_secs_f64());
                if result.is_err() {
                    conn = Conn::new(shared.addr);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }));
    }
    threads
}

/// RSS and threads every second until `stop`; (seconds since start, RSS KiB, threads).
fn sample_memory(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(f64, u64, u64)>> {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let m = proc_mem(pid);
            samples.push((t0.elapsed().as_secs_f64(), m.rss_kib, m.threads));
            std::thread::sleep(Duration::from_secs(1));
        }
        samples
    })
}

/// Whether the server answers a page, an API call and a sign-in form within [`HANG`].
fn still_answers(addr: SocketAddr, member: &Member) -> Result<(), String> {
    let t0 = Instant::now();
    let mut conn = Conn::new(addr);
    let bearer = format!("Bearer {}", member.token);
    for (path, headers) in [("/api/v1/me", [("Authorization", bearer.as_str())]), ("/library", [("Cookie", member.cookie.as_str())])] {
        let r = conn.request("GET", path, &headers, None).map_err(|e| format!("{path}: {e}"))?;
        if r.status != 200 {
            return Err(format!("{path} answered {}", r.status));
        }
    }
    sign_in_as(addr, "member1@example.com", MEMBER_PASSWORD)?;
    if t0.elapsed() > HANG {
        return Err(format!("answering took {:?}", t0.elapsed()));
    }
    Ok(())
}

/// The ordinary use before idle memory is measured.
const WARMUP: Duration = Duration::from_secs(20);

fn main() {
    let secs = env_u64("SOAK_SECS", 180);
    let member_count = env_u64("SOAK_MEMBERS", 20).max(2) as usize;
    println!("reelvault soak: {member_count} members for {secs} s, a faulty provider, abuse mixed in");
    println!("  binary: {}", common::server_binary().display());
    println!("  NOTE: the load, the fake provider and the server share this machine's {} CPU(s).", common::cpus());
    raise_nofile();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let fake = runtime.block_on(faulty_provider());
    // the load comes from loopback as through a reverse proxy: each abuser names its own address
    let config = format!(
        "trusted_proxies = [\"127.0.0.1\"]\n\n[[connection]]\nname = \"images\"\nkind = \"openai_images\"\nbase_url = \"{}\"\napi_key = \"sk-soak\"\n\
         allow_private_network = true\nmax_concurrent = 16\ntimeout = \"2s\"\nmax_retries = 1\n\n\
         [api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000\n",
        fake.at("v1")
    );
    let work = common::WorkDir::from_env();
    let root = work.path();
    let studio = match Studio::prepare_with(root, &config, 1_000_000_000) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let made = match make_members(&studio, member_count) {
        Ok(m) => m,
        Err(e) => return println!("making the members FAILED: {e}"),
    };
    let mut server = studio.spawn(&root.join("server.log"));
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        return println!("server did not become ready: {e}");
    }
    let addr = server.addr();
    let members: Vec<Member> = match made
        .into_iter()
        .map(|(email, token)| sign_in_as(addr, &email, MEMBER_PASSWORD).map(|cookie| Member { token, cookie }))
        .collect()
    {
        Ok(m) => m,
        Err(e) => return println!("signing the members in FAILED: {e}"),
    };
    let idle = at_rest_after_use(addr, &members, server.pid());
    println!(
        "  idle: VmRSS {:.1} MiB (anonymous {:.1}, file-backed {:.1}), {} threads",
        mib(idle.rss_kib),
        mib(idle.anon_kib),
        mib(idle.file_kib),
        idle.threads
    );

    let shared = Shared { tally: Arc::default(), stop: Arc::default(), addr };
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = sample_memory(server.pid(), sampling.clone());
    let load_started = Instant::now();
    let (abuser, rest) = members.split_first().expect("two members at least");
    let mut threads = abuse_loops(&shared, &abuser.token, &abuser.cookie);
    for (i, member) in rest.iter().enumerate() {
        let (shared, member) = (shared.clone(), Member { token: member.token.clone(), cookie: member.cookie.clone() });
        threads.push(std::thread::spawn(move || member_loop(shared, member, 1000 + i as u64)));
    }
    std::thread::sleep(Duration::from_secs(secs));
    shared.stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    let answering = still_answers(addr, &members[1]);

    // memory after the load: wait (at most 60 s) for it to come back near idle
    let settle_until = Instant::now() + Duration::from_secs(60);
    let mut after = proc_mem(server.pid());
    while after.rss_kib as f64 > idle.rss_kib as f64 * 1.2 && Instant::now() < settle_until {
        std::thread::sleep(Duration::from_secs(2));
        after = proc_mem(server.pid());
    }
    sampling.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
    let (warns, errors) = (log.matches(" WARN ").count(), log.matches(" ERROR ").count());
    let _ = server.stop(Duration::from_secs(30));
    // the same instance, restarted on the data the load left, used and rested as before: what
    // the service needs at rest with that data (the store's and the index's working sets grow
    // with it); memory the load itself left behind would show above this
    let mut again = studio.spawn(&root.join("server-again.log"));
    let idle_with_data = match again.wait_ready(Duration::from_secs(30)) {
        Ok(_) => Some(at_rest_after_use(again.addr(), &members, again.pid())),
        Err(e) => {
            println!("  the restarted server did not become ready: {e}");
            None
        }
    };
    let _ = again.stop(Duration::from_secs(30));
    runtime.block_on(fake.stop());

    let tally = shared.tally.lock().expect("tally");
    let served: usize = tally.latencies.values().map(Vec::len).sum();
    println!("\n  {served} requests in {load_secs:.0} s ({:.0}/s)", served as f64 / load_secs);
    println!("\n  {:<34} {:>8} {:>9} {:>9} {:>9}", "endpoint", "requests", "p50 ms", "p99 ms", "max ms");
    for (endpoint, latencies) in &tally.latencies {
        let mut sorted = latencies.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  {endpoint:<34} {:>8} {:>9.1} {:>9.1} {:>9.1}",
            sorted.len(),
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0),
            sorted.last().copied().unwrap_or(0.0)
        );
    }
    println!("\n  answers other than success, by endpoint and kind:");
    for ((endpoint, kind), n) in &tally.errors {
        println!("  {endpoint:<34} {kind:>8} {n:>8}");
    }
    println!("\n  generation outcomes (provider faults end here, never as a 5xx):");
    for (outcome, n) in &tally.outcomes {
        println!("  {outcome:<50} {n:>6}");
    }
    println!("\n  RSS over time (every 10th sample):");
    println!("  {:>6} {:>9} {:>8}", "s", "RSS MiB", "threads");
    for (t, rss, threads) in samples.iter().step_by(10) {
        println!("  {t:>6.0} {:>9.1} {threads:>8}", mib(*rss));
    }
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "  idle {:.1} MiB, peak {:.1} MiB, after the load {:.1} MiB (anonymous {:.1}, file-backed {:.1}); \
         server log: {warns} WARN, {errors} ERROR",
        mib(idle.rss_kib),
        mib(peak),
        mib(after.rss_kib),
        mib(after.anon_kib),
        mib(after.file_kib)
    );

    let server_errors: u64 = tally.errors.iter().filter(|((_, kind), _)| *kind == "5xx").map(|(_, n)| n).sum();
    let hangs: u64 = tally.errors.iter().filter(|((_, kind), _)| *kind == "timeout").map(|(_, n)| n).sum();
    let back = after.rss_kib as f64 <= idle.rss_kib as f64 * 1.2;
    println!("\n  checks:");
    println!("  {} no hang: {hangs} requests timed out; afterwards {:?}", pass(hangs == 0 && answering.is_ok()), answering);
    println!("  {} no 5xx from the server: {server_errors}", pass(server_errors == 0));
    println!("  {} RSS back within 20 % of idle: {:.1} MiB vs {:.1} MiB", pass(back), mib(after.rss_kib), mib(idle.rss_kib));
    if let Some(rested) = idle_with_data {
        let back = after.rss_kib as f64 <= rested.rss_kib as f64 * 1.2;
        println!(
            "  {} RSS back within 20 % of the instance at rest on the load's data (restarted, used, rested): {:.1} MiB vs {:.1} MiB \
             (anonymous {:.1})",
            pass(back),
            mib(after.rss_kib),
            mib(rested.rss_kib),
            mib(rested.anon_kib)
        );
    }
}

/// Ordinary use by every member for [`WARMUP`] (no abuse, nothing counted), then 15 s of rest
/// (past one memory trim): the service's memory at rest, with its working sets warm.
fn at_rest_after_use(addr: SocketAddr, members: &[Member], pid: u32) -> common::ProcMem {
    let warmup = Shared { tally: Arc::default(), stop: Arc::default(), addr };
    let warming: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (shared, member) = (warmup.clone(), Member { token: m.token.clone(), cookie: m.cookie.clone() });
            std::thread::spawn(move || member_loop(shared, member, i as u64))
        })
        .collect();
    std::thread::sleep(WARMUP);
    warmup.stop.store(true, Ordering::Relaxed);
    for t in warming {
        let _ = t.join();
    }
    std::thread::sleep(Duration::from_secs(15));
    proc_mem(pid)
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}
