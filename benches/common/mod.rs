//! Helpers shared by the benchmarks: run the real `reelvault` binary as a separate process
//! on a loopback port, talk plain HTTP/1.1 to it, read its memory from /proc, stop it with
//! SIGTERM. Every loop here is bounded by a deadline.

#![allow(dead_code)]

pub mod corpus;
pub mod fake_images;
pub mod fake_videos;
pub mod records;
pub mod studio;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: `RV_BENCH_BIN` if set, else the one cargo built for this bench
/// (`cargo bench` builds it with the bench profile, which is the release profile).
pub fn server_binary() -> PathBuf {
    let path = std::env::var_os("RV_BENCH_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_reelvault")));
    if !path.is_file() {
        eprintln!(
            "reelvault binary not found at {}.\n\
             Build it first with `cargo build --release`, or run through `cargo bench`, \
             or point RV_BENCH_BIN at it.",
            path.display()
        );
        std::process::exit(2);
    }
    path
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read the port, close.
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// One running server process.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub spawned_at: Instant,
    pub stdout_path: PathBuf,
}

impl Server {
    /// `reelvault serve --data-dir DIR --listen 127.0.0.1:PORT`, stdout to a file (so the
    /// server never blocks on a full pipe), stderr inherited. `RUST_LOG` is removed so the
    /// configured default (`info`) applies unless `extra_env` sets something.
    pub fn spawn(data_dir: &Path, stdout_path: &Path, extra_env: &[(&str, &str)]) -> Server {
        Server::spawn_binary(&server_binary(), data_dir, stdout_path, extra_env)
    }

    /// [`Server::spawn`] of the binary at `bin`.
    pub fn spawn_binary(bin: &Path, data_dir: &Path, stdout_path: &Path, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let stdout = File::create(stdout_path).expect("create stdout file");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("RUST_LOG")
            .env_remove("REELVAULT_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let spawned_at = Instant::now();
        let child = cmd.spawn().expect("spawn reelvault");
        Server { child, port, spawned_at, stdout_path: stdout_path.to_path_buf() }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /readyz` in a tight loop (0.2 ms pause between refused connects) until it
    /// answers 200; returns the time since spawn. Gives up after `limit` or if the process dies.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<Duration, String> {
        let deadline = self.spawned_at + limit;
        let mut attempts = 0u32;
        while Instant::now() < deadline {
            attempts += 1;
            match http_request(self.addr(), "GET", "/readyz", &[], None) {
                Ok(r) if r.status == 200 => return Ok(self.spawned_at.elapsed()),
                Ok(_) | Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        return Err(format!("server exited early: {status}"));
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        Err(format!("not ready after {limit:?} ({attempts} attempts)"))
    }

    /// Waits (bounded) for a line containing `needle` in the server's stdout.
    pub fn wait_stdout_line(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&self.stdout_path)
                && let Some(line) = text.lines().find(|l| l.contains(needle))
            {
                return Some(line.to_string());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// SIGTERM, then wait up to `limit` for exit (SIGKILL after that). Returns the exit
    /// status and how long the shutdown took.
    pub fn stop(mut self, limit: Duration) -> (Option<ExitStatus>, Duration) {
        let started = Instant::now();
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = started + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (Some(status), started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        eprintln!("server pid {} did not stop within {limit:?} of SIGTERM; killing it", self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        (None, started.elapsed())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached when `stop` was not called (a panic): never leave a server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Memory and thread figures of a process, from /proc.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcMem {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
    pub threads: u64,
}

pub fn proc_mem(pid: u32) -> ProcMem {
    let mut m = ProcMem::default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    for line in status.lines() {
        let mut it = line.split_whitespace();
        let (Some(key), Some(value)) = (it.next(), it.next()) else {
            continue;
        };
        let value: u64 = value.parse().unwrap_or(0);
        match key {
            "VmRSS:" => m.rss_kib = value,
            "VmHWM:" => m.hwm_kib = value,
            "RssAnon:" => m.anon_kib = value,
            "RssFile:" => m.file_kib = value,
            "Threads:" => m.threads = value,
            _ => {}
        }
    }
    m
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A response from the tiny client below.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` set by this response.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.header_values("set-cookie").find_map(|v| {
            let first = v.split(';').next()?.trim();
            let (k, val) = first.split_once('=')?;
            (k == name).then(|| val.to_string())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), with 5 s timeouts.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> std::io::Result<Response> {
    let timeout = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.set_nodelay(true)?;
    let mut with_close = vec![("Connection", "close")];
    with_close.extend_from_slice(headers);
    let out = request_bytes(method, path, &addr.to_string(), &with_close, body);
    s.write_all(&out)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let end = find(raw, b"\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("header not utf-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Ok(Response { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or_else(|| bad("chunk size"))?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| bad("chunk size"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).map_err(|_| bad("chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad("short chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Where a bench works: a temporary directory, or `RV_BENCH_DIR` (empty; kept afterwards).
pub enum WorkDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl WorkDir {
    /// `RV_BENCH_DIR` when set, else a new temporary directory.
    pub fn from_env() -> WorkDir {
        match std::env::var_os("RV_BENCH_DIR") {
            Some(dir) => WorkDir::Kept(PathBuf::from(dir)),
            None => WorkDir::Temp(tempfile::tempdir().expect("temp dir")),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            WorkDir::Temp(t) => t.path(),
            WorkDir::Kept(p) => p,
        }
    }
}

/// The `rv_csrf` cookie a form page set and the `csrf_token` its form carries.
pub fn form_csrf(page: &Response) -> Result<(String, String), String> {
    let cookie = page.set_cookie("rv_csrf").ok_or("no rv_csrf cookie")?;
    let html = page.text();
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).ok_or("no csrf_token input")? + marker.len();
    let token = html[at..at + html[at..].find('"').ok_or("unterminated csrf_token")?].to_string();
    Ok((cookie, token))
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Percentile (0..=100) of sorted values, nearest-rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    percentile(&v, 50.0)
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The process's threads grouped by name ("tokio-runtime-w x64, actix-server w x2").
pub fn thread_names(pid: u32) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in dir.flatten() {
            let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            *counts.entry(name.trim().to_string()).or_default() += 1;
        }
    }
    counts.iter().map(|(name, n)| format!("{name} x{n}")).collect::<Vec<_>>().join(", ")
}

/// The bytes of an HTTP/1.1 request with these headers and an optional typed body.
pub fn request_bytes(method: &str, path: &str, host: &str, headers: &[(&str, &str)], body: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some((ctype, bytes)) = body {
        req.push_str(&format!("Content-Type: {ctype}\r\nContent-Length: {}\r\n", bytes.len()));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    if let Some((_, bytes)) = body {
        out.extend_from_slice(bytes);
    }
    out
}
