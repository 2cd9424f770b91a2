//! A studio set up the way an operator would: an admin, credits and an API token made with
//! the CLI while the service is stopped, a config file whose `openai-videos` connection
//! points at a loopback fake, then `reelvault serve`. Also a keep-alive HTTP/1.1 client,
//! CPU time from /proc, and the benchmark's video bytes.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Response, Server, server_binary};

pub const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "bench-password-long-enough-1";

/// A prepared data dir, its config file and an API token for the admin.
pub struct Studio {
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub token: String,
}

impl Studio {
    /// Creates the admin, grants `credits` and makes a token with the CLI; writes a config
    /// with one `openai-videos` connection ("fake", serving sora-2) at `fake_port`, and API
    /// token limits far above what any bench asks (benches measure the service, not the limiter).
    pub fn prepare(root: &Path, fake_port: u16, max_concurrent: u32, credits: i64) -> Result<Studio, String> {
        let config = format!(
            "[[connection]]\nname = \"fake\"\nkind = \"openai-videos\"\n\
             base_url = \"http://127.0.0.1:{fake_port}/v1\"\napi_key = \"x\"\n\
             allow_private_network = true\nmodels = [\"sora-2\"]\n\
             max_concurrent = {max_concurrent}\ntimeout = \"600s\"\n\n\
             [api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000000\n"
        );
        Studio::prepare_with(root, &config, credits)
    }

    /// As [`Studio::prepare`], with `config` as the whole config file.
    pub fn prepare_with(root: &Path, config_text: &str, credits: i64) -> Result<Studio, String> {
        let data_dir = root.join("data");
        let config = root.join("config.toml");
        std::fs::write(&config, config_text).map_err(|e| format!("writing the config: {e}"))?;
        let dir = data_dir.display().to_string();
        let cfg = config.display().to_string();
        let common = ["--data-dir", dir.as_str(), "--config", cfg.as_str()];
        cli(&[&["user", "add", "--email", EMAIL, "--role", "admin", "--password-stdin"][..], &common].concat(), Some(PASSWORD))?;
        let amount = credits.to_string();
        cli(&[&["credits", "grant", "--email", EMAIL, "--amount", amount.as_str()][..], &common].concat(), None)?;
        let out = cli(&[&["token", "create", "--email", EMAIL][..], &common].concat(), None)?;
        let token = out.lines().next().unwrap_or("").trim().to_string();
        if token.is_empty() {
            return Err(format!("`token create` printed no token: {out:?}"));
        }
        Ok(Studio { data_dir, config, token })
    }

    /// `reelvault serve` on this data dir and config.
    pub fn spawn(&self, log: &Path) -> Server {
        let cfg = self.config.display().to_string();
        Server::spawn(&self.data_dir, log, &[("REELVAULT_CONFIG", cfg.as_str())])
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Signs the admin in through the sign-in form; returns the `Cookie` header value a
    /// signed-in browser sends (`rv_session` and `rv_csrf`).
    pub fn sign_in(&self, addr: SocketAddr) -> Result<String, String> {
        sign_in_as(addr, EMAIL, PASSWORD)
    }
}

/// Signs `email` in through the sign-in form; returns the `Cookie` header value a signed-in
/// browser sends (`rv_session` and `rv_csrf`).
pub fn sign_in_as(addr: SocketAddr, email: &str, password: &str) -> Result<String, String> {
    let page = super::http_request(addr, "GET", "/login", &[], None).map_err(|e| e.to_string())?;
    let (csrf_cookie, token) = super::form_csrf(&page)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &token)
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let origin = format!("http://{addr}");
    let cookie = format!("rv_csrf={csrf_cookie}");
    let headers = [("Origin", origin.as_str()), ("Cookie", cookie.as_str())];
    let posted = super::http_request(addr, "POST", "/login", &headers, Some(("application/x-www-form-urlencoded", body.as_bytes())))
        .map_err(|e| e.to_string())?;
    let session = posted.set_cookie("rv_session").ok_or_else(|| format!("sign-in answered {} without a session", posted.status))?;
    Ok(format!("rv_session={session}; rv_csrf={csrf_cookie}"))
}

/// Runs `reelvault ARGS` to completion (bounded by the command itself), returning stdout.
pub fn cli(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new(server_binary())
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("REELVAULT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning reelvault {}: {e}", args[0]))?;
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        let _ = input.write_all(text.as_bytes());
    }
    drop(input);
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("reelvault {} failed: {}", args[..2].join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Lifts this process's open-file limit to its hard limit (children inherit it).
pub fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
        r.rlim_cur
    }
}

/// utime + stime of a process in seconds (`/proc/PID/stat`; "self" for this process).
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| f.get(i)?.parse::<u64>().ok()).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / hz as f64
}

/// `n` bytes that look like encoded video (incompressible): splitmix64 of a seed.
pub fn video_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut state = seed;
    for word in out.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        word.copy_from_slice(&z.to_le_bytes()[..word.len()]);
    }
    out
}

/// The path and query of an absolute URL (`http://host:port/media/..?..` -> `/media/..?..`).
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.find('/').map_or_else(|| "/".to_string(), |i| after_scheme[i..].to_string())
}

/// One keep-alive HTTP/1.1 connection (reconnects when the server closed it), 60 s timeouts.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// The read buffer, kept across requests (allocating 256 KiB per request costs the client).
    chunk: Vec<u8>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn { addr, stream: None, buf: Vec::with_capacity(1 << 20), chunk: vec![0u8; 256 * 1024] }
    }

    /// One request; the whole body is kept.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> std::io::Result<Response> {
        let mut kept = Vec::new();
        let (status, headers) = self.exchange(method, path, headers, body, |b| kept.extend_from_slice(b))?;
        Ok(Response { status, headers, body: kept })
    }

    /// One request whose body is handed to `sink` piece by piece (not kept).
    pub fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        mut sink: impl FnMut(&[u8]),
    ) -> std::io::Result<(u16, Vec<(String, String)>)> {
        let out = super::request_bytes(method, path, &self.addr.to_string(), headers, body);
        // A kept-alive connection the server has closed meanwhile fails before any answer
        // byte arrives; then (only then) the request is sent again on a new connection.
        for attempt in 0..2 {
            let reused = self.stream.is_some();
            if !reused {
                let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
                s.set_read_timeout(Some(Duration::from_secs(60)))?;
                s.set_write_timeout(Some(Duration::from_secs(60)))?;
                s.set_nodelay(true)?;
                self.stream = Some(s);
            }
            let mut answered = false;
            let result = self.exchange_on_stream(&out, &mut answered, &mut sink);
            if result.is_err() {
                self.stream = None;
                if reused && !answered && attempt == 0 {
                    continue;
                }
            }
            return result;
        }
        unreachable!("the second attempt returns")
    }

    fn exchange_on_stream(
        &mut self,
        request: &[u8],
        answered: &mut bool,
        sink: &mut impl FnMut(&[u8]),
    ) -> std::io::Result<(u16, Vec<(String, String)>)> {
        let s = self.stream.as_mut().expect("connected");
        s.write_all(request)?;
        let buf = &mut self.buf;
        let chunk = &mut self.chunk;
        buf.clear();
        let eof = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed");
        let head_end = loop {
            if let Some(i) = super::find(buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = s.read(chunk)?;
            if n == 0 {
                return Err(eof());
            }
            *answered = true;
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
        let headers: Vec<(String, String)> =
            lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
        let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_ascii_lowercase());
        let close = get("connection").is_some_and(|v| v == "close");
        if let Some(len) = get("content-length").and_then(|v| v.parse::<u64>().ok()) {
            let have = (buf.len() - head_end) as u64;
            sink(&buf[head_end..head_end + have.min(len) as usize]);
            let mut left = len - have.min(len);
            while left > 0 {
                let want = (chunk.len() as u64).min(left) as usize;
                let n = s.read(&mut chunk[..want])?;
                if n == 0 {
                    return Err(eof());
                }
                sink(&chunk[..n]);
                left -= n as u64;
            }
        } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            // small API bodies only: read to the terminating chunk, then decode
            while !buf[head_end..].ends_with(b"0\r\n\r\n") {
                let n = s.read(chunk)?;
                if n == 0 {
                    return Err(eof());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let raw = [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".as_slice(), &buf[head_end..]].concat();
            sink(&super::parse_response(&raw)?.body);
        }
        if close {
            self.stream = None;
        }
        Ok((status, headers))
    }
}

/// Times one full GET whose body is discarded: (status, body bytes, seconds).
pub fn timed_get(conn: &mut Conn, path: &str, headers: &[(&str, &str)]) -> std::io::Result<(u16, u64, f64)> {
    let t0 = Instant::now();
    let mut bytes = 0u64;
    let (status, _) = conn.exchange("GET", path, headers, None, |b| bytes += b.len() as u64)?;
    Ok((status, bytes, t0.elapsed().as_secs_f64()))
}
