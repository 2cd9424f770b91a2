//! A loopback fake of the OpenAI `/v1/videos` API, run inside the benchmark process on its
//! own one-thread tokio runtime: `POST /v1/videos` creates a job, `GET /v1/videos/{id}`
//! answers `in_progress` (with `progress` and `openai-poll-after-ms`) until the job is
//! `finish_after` old, then `completed`; `GET /v1/videos/{id}/content` streams the job's
//! bytes (a slice of `content`, repeated as needed) and times the transfer; `DELETE`
//! records when the app let go of the job (right after it recorded the success).

#![allow(dead_code)]

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One `/content` transfer as the fake saw it.
#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    pub job: u64,
    pub bytes: u64,
    pub requested: Instant,
    /// Just before the first body byte was written.
    pub first_byte: Instant,
    /// When the kernel reported every body byte acknowledged by the peer (SIOCOUTQ = 0).
    pub acked: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    created: Instant,
    len: u64,
}

pub struct FakeState {
    content: Arc<Vec<u8>>,
    /// Content length of jobs created from now on.
    pub next_len: AtomicU64,
    /// Whether `in_progress` answers carry a growing `progress` (as OpenAI's do).
    pub report_progress: AtomicBool,
    finish_after: Duration,
    poll_after_ms: (u64, u64),
    jobs: Mutex<HashMap<u64, Job>>,
    next_id: AtomicU64,
    pub created: AtomicU64,
    pub polls: AtomicU64,
    pub contents: AtomicU64,
    pub deletes: AtomicU64,
    pub bad_requests: AtomicU64,
    pub transfers: Mutex<Vec<Transfer>>,
    pub deleted_at: Mutex<HashMap<u64, Instant>>,
    pub first_created: Mutex<Option<Instant>>,
}

pub struct FakeVideos {
    pub port: u16,
    pub state: Arc<FakeState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeVideos {
    /// Starts the fake on 127.0.0.1 (a free port).
    pub fn start(content: Arc<Vec<u8>>, finish_after: Duration, poll_after_ms: (u64, u64)) -> FakeVideos {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let state = Arc::new(FakeState {
            next_len: AtomicU64::new(content.len() as u64),
            report_progress: AtomicBool::new(true),
            content,
            finish_after,
            poll_after_ms,
            jobs: Mutex::default(),
            next_id: AtomicU64::new(1),
            created: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            contents: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
            bad_requests: AtomicU64::new(0),
            transfers: Mutex::default(),
            deleted_at: Mutex::default(),
            first_created: Mutex::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("fake-videos".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("fake runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    tokio::select! {
                        _ = accept_loop(listener, shared) => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("spawn fake thread");
        FakeVideos { port, state, stop: Some(stop), thread: Some(thread) }
    }

    /// The job id the next `POST /v1/videos` will get.
    pub fn next_job(&self) -> u64 {
        self.state.next_id.load(Relaxed)
    }

    pub fn transfer_of(&self, job: u64) -> Option<Transfer> {
        self.state.transfers.lock().unwrap().iter().find(|t| t.job == job).copied()
    }

    pub fn deleted_at(&self, job: u64) -> Option<Instant> {
        self.state.deleted_at.lock().unwrap().get(&job).copied()
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeVideos {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<FakeState>) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(connection(s, state.clone()));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn connection(mut s: TcpStream, state: Arc<FakeState>) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        let Ok(Some((method, path, end))) = read_request(&mut s, &mut buf).await else { return };
        buf.drain(..end);
        if respond(&mut s, &state, &method, &path).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head and body) into `buf`; returns method, path and where it ends.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<(String, String, usize)>> {
    let head_end = loop {
        if let Some(i) = super::find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 || more(s, buf).await? == 0 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or("").to_uppercase(), words.next().unwrap_or("").to_string());
    let header = |name: &str| head.split("\r\n").find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    let mut end = head_end;
    if let Some(len) = header("content-length:").and_then(|v| v.parse::<usize>().ok()) {
        end += len;
        while buf.len() < end {
            if more(s, buf).await? == 0 {
                return Ok(None);
            }
        }
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        loop {
            // chunk-size line, then data and CRLF; size 0 ends the body (no trailers expected)
            let line_end = loop {
                if let Some(i) = super::find(&buf[end..], b"\r\n") {
                    break end + i;
                }
                if more(s, buf).await? == 0 {
                    return Ok(None);
                }
            };
            let size_text = String::from_utf8_lossy(&buf[end..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
            end = line_end + 2 + size + 2;
            while buf.len() < end {
                if more(s, buf).await? == 0 {
                    return Ok(None);
                }
            }
            if size == 0 {
                break;
            }
        }
    }
    Ok(Some((method, path, end)))
}

async fn respond(s: &mut TcpStream, state: &FakeState, method: &str, path: &str) -> std::io::Result<()> {
    let rest = path.strip_prefix("/v1/videos").unwrap_or("!");
    let job_of = |p: &str| p.trim_start_matches("/video_").parse::<u64>().ok();
    match (method, rest) {
        ("POST", "") => {
            let id = state.next_id.fetch_add(1, Relaxed);
            let now = Instant::now();
            state.first_created.lock().unwrap().get_or_insert(now);
            state.jobs.lock().unwrap().insert(id, Job { created: now, len: state.next_len.load(Relaxed) });
            state.created.fetch_add(1, Relaxed);
            let body = format!(r#"{{"id":"video_{id}","object":"video","model":"sora-2","status":"queued","progress":0}}"#);
            json(s, 200, &body, Some(poll_after(state, id))).await
        }
        ("GET", p) if p.ends_with("/content") => {
            let job = job_of(p.trim_end_matches("/content")).and_then(|id| Some((id, *state.jobs.lock().unwrap().get(&id)?)));
            let Some((id, job)) = job else { return json(s, 404, r#"{"error":{"code":"not_found"}}"#, None).await };
            state.contents.fetch_add(1, Relaxed);
            content(s, state, id, job.len).await
        }
        ("GET", p) => {
            let Some(id) = job_of(p) else { return json(s, 404, r#"{"error":{"code":"not_found"}}"#, None).await };
            let Some(job) = state.jobs.lock().unwrap().get(&id).copied() else {
                return json(s, 404, r#"{"error":{"code":"not_found"}}"#, None).await;
            };
            state.polls.fetch_add(1, Relaxed);
            let age = job.created.elapsed();
            if age >= state.finish_after {
                let body = format!(r#"{{"id":"video_{id}","object":"video","status":"completed","progress":100}}"#);
                json(s, 200, &body, None).await
            } else {
                let progress = if state.report_progress.load(Relaxed) {
                    format!(r#","progress":{}"#, (age.as_secs_f64() / state.finish_after.as_secs_f64() * 100.0) as u32)
                } else {
                    String::new()
                };
                let body = format!(r#"{{"id":"video_{id}","object":"video","status":"in_progress"{progress}}}"#);
                json(s, 200, &body, Some(poll_after(state, id))).await
            }
        }
        ("DELETE", p) => {
            let id = job_of(p).unwrap_or(0);
            state.deleted_at.lock().unwrap().insert(id, Instant::now());
            state.deletes.fetch_add(1, Relaxed);
            json(s, 200, &format!(r#"{{"id":"video_{id}","object":"video.deleted","deleted":true}}"#), None).await
        }
        _ => {
            state.bad_requests.fetch_add(1, Relaxed);
            json(s, 404, r#"{"error":{"code":"not_found"}}"#, None).await
        }
    }
}

async fn more(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.reserve(16 * 1024);
    s.read_buf(buf).await
}

/// A value in the configured `openai-poll-after-ms` range, spread by job and poll count.
fn poll_after(state: &FakeState, id: u64) -> u64 {
    let (lo, hi) = state.poll_after_ms;
    let n = id.wrapping_mul(2654435761).wrapping_add(state.polls.load(Relaxed).wrapping_mul(40503));
    lo + n % (hi - lo + 1)
}

async fn json(s: &mut TcpStream, status: u16, body: &str, poll_after_ms: Option<u64>) -> std::io::Result<()> {
    let hint = poll_after_ms.map(|ms| format!("openai-poll-after-ms: {ms}\r\n")).unwrap_or_default();
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let head =
        format!("HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n{hint}content-length: {}\r\n\r\n{body}", body.len());
    s.write_all(head.as_bytes()).await
}

/// Streams `len` bytes of the content (repeated as needed) in 256 KiB writes, then waits
/// (bounded, 10 s) until the peer acknowledged all of it.
async fn content(s: &mut TcpStream, state: &FakeState, job: u64, len: u64) -> std::io::Result<()> {
    let requested = Instant::now();
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: {len}\r\n\r\n");
    s.write_all(head.as_bytes()).await?;
    let first_byte = Instant::now();
    let data = &state.content;
    let mut sent = 0u64;
    while sent < len {
        let at = (sent % data.len() as u64) as usize;
        let n = (256 * 1024).min(data.len() - at).min((len - sent) as usize);
        s.write_all(&data[at..at + n]).await?;
        sent += n as u64;
    }
    if len >= 1 << 20 {
        let fd = s.as_raw_fd();
        let limit = Instant::now() + Duration::from_secs(10);
        while unacked(fd) > 0 && Instant::now() < limit {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
    let acked = Instant::now();
    state.transfers.lock().unwrap().push(Transfer { job, bytes: len, requested, first_byte, acked });
    Ok(())
}

/// Bytes written to the socket but not yet acknowledged by the peer (Linux SIOCOUTQ).
fn unacked(fd: i32) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: ioctl(TIOCOUTQ) on an open socket fd, writing one int.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    if rc == 0 { n } else { 0 }
}
