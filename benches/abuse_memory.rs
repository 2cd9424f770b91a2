//! The server's memory under upload abuse: peak RSS of the `reelvault` process while 8
//! clients at once send large multipart bodies of junk parts, then decompression bombs, then
//! large images just under the pixel limit, each phase after the last. The server must refuse
//! junk at the first part and bombs from their header, and clean images a few at a time.
//!
//! `cargo bench --bench abuse_memory`
//! env: RV_BENCH_CLIENTS=8, RV_BENCH_ROUNDS=3 (requests per client per phase),
//!      RV_BENCH_DIR=an empty directory to work in and keep (default: a temporary one)

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::studio::Studio;
use common::{mib, proc_mem};

/// The demo provider alone; token limits far above what the bench asks.
const CONFIG: &str = "[[connection]]\nname = \"demo\"\nkind = \"demo\"\ndelay = \"0s\"\n\n\
                      [api]\nrequests_per_minute = 100000000\nconcurrent_jobs = 1000\n";
const BOUNDARY: &str = "rvbenchboundary7f3a";
/// Junk parts per junk body, and the size of each (just under the default `upload_max`).
const JUNK_PARTS: usize = 40;
const JUNK_PART_BYTES: usize = 16 * 1024 * 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// How a request ended, as the client saw it.
#[derive(Debug, Default)]
struct Outcomes {
    by_status: std::collections::BTreeMap<u16, u64>,
    /// The server closed the connection before the whole body was sent, after answering.
    cut_short: u64,
    errors: u64,
}

/// A PNG of `side`² pixels of one colour: `bit16` makes it 16-bit RGBA (8 bytes a pixel
/// decoded), else 1-bit grey. Either compresses to almost nothing.
fn flat_png(side: u32, bit16: bool) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        let row_bytes = if bit16 {
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Sixteen);
            side as usize * 8
        } else {
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            side.div_ceil(8) as usize
        };
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().expect("png");
        let mut stream = writer.stream_writer().expect("png");
        let row = vec![0u8; row_bytes];
        for _ in 0..side {
            stream.write_all(&row).expect("png row");
        }
        stream.finish().expect("png");
        writer.finish().expect("png");
    }
    out
}

/// The pieces of a multipart body: (part name, file bytes, times repeated).
struct Body<'a> {
    parts: Vec<(String, &'a [u8])>,
}

impl Body<'_> {
    fn len(&self) -> usize {
        self.parts.iter().map(|(name, bytes)| head(name).len() + bytes.len() + 2).sum::<usize>() + BOUNDARY.len() + 6
    }
}

fn head(name: &str) -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f.png\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
}

/// Sends one multipart request, streaming the body, and reads the answer's status.
fn send(addr: SocketAddr, auth: &str, path: &str, body: &Body) -> Result<(u16, bool), std::io::Error> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(request.as_bytes())?;
    let mut cut_short = false;
    let sent = (|| {
        for (name, bytes) in &body.parts {
            s.write_all(head(name).as_bytes())?;
            for piece in bytes.chunks(256 * 1024) {
                s.write_all(piece)?;
            }
            s.write_all(b"\r\n")?;
        }
        s.write_all(format!("--{BOUNDARY}--\r\n").as_bytes())
    })();
    if sent.is_err() {
        cut_short = true;
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.len() < 64 * 1024 {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if answer.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    let status = String::from_utf8_lossy(&answer).split_whitespace().nth(1).and_then(|v| v.parse().ok());
    status.map(|s| (s, cut_short)).ok_or_else(|| std::io::Error::other("no answer"))
}

/// Runs `clients` threads of `rounds` requests each while sampling the server's RSS every
/// 5 ms; returns (peak RSS KiB, outcomes, seconds).
fn phase(addr: SocketAddr, pid: u32, auth: &str, clients: usize, rounds: u64, path: &str, body: &Body) -> (u64, Outcomes, f64) {
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(600);
            while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                peak.fetch_max(proc_mem(pid).rss_kib, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let t = Instant::now();
    let outcomes = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Outcomes::default();
                    for _ in 0..rounds {
                        match send(addr, auth, path, body) {
                            Ok((status, cut_short)) => {
                                *mine.by_status.entry(status).or_default() += 1;
                                mine.cut_short += u64::from(cut_short);
                            }
                            Err(_) => mine.errors += 1,
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut all = Outcomes::default();
        for handle in handles {
            let mine = handle.join().expect("client thread");
            for (status, n) in mine.by_status {
                *all.by_status.entry(status).or_default() += n;
            }
            all.cut_short += mine.cut_short;
            all.errors += mine.errors;
        }
        all
    });
    let elapsed = t.elapsed().as_secs_f64();
    // let the server finish what it started before the last sample
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    (peak.load(Ordering::Relaxed).max(proc_mem(pid).rss_kib), outcomes, elapsed)
}

fn main() {
    let clients = env_u64("RV_BENCH_CLIENTS", 8) as usize;
    let rounds = env_u64("RV_BENCH_ROUNDS", 3);
    println!("reelvault memory under upload abuse: {clients} clients at once, {rounds} requests each per phase");
    println!("  binary: {}", common::server_binary().display());
    println!("  NOTE: the clients and the server share this machine's {} CPU(s).", common::cpus());
    let work = common::WorkDir::from_env();
    let root = work.path();
    let studio = match Studio::prepare_with(root, CONFIG, 1_000_000) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let mut server = studio.spawn(&root.join("server.log"));
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        return println!("server did not become ready: {e}");
    }
    let (addr, pid, auth) = (server.addr(), server.pid(), studio.bearer());
    std::thread::sleep(Duration::from_secs(1));
    let idle = proc_mem(pid);
    println!("  idle: RSS {:.1} MiB\n", mib(idle.rss_kib));

    let junk = vec![b'x'; JUNK_PART_BYTES];
    let bomb = flat_png(20_000, false);
    let flat_grey = flat_png(6_000, false);
    let flat_rgba16 = flat_png(6_000, true);
    let junk_parts = |prefix: &str| Body { parts: (0..JUNK_PARTS).map(|n| (format!("{prefix}{n}"), junk.as_slice())).collect() };
    let phases: Vec<(&str, &str, Body)> = vec![
        ("junk parts, 40 x 16 MiB", "/api/v1/uploads", junk_parts("junk")),
        ("junk parts, 40 x 16 MiB", "/api/v1/generations", junk_parts("junk")),
        (
            "expected parts, 4 x 16 MiB junk",
            "/api/v1/generations",
            Body {
                parts: ["reference", "first_frame", "last_frame", "reference"].iter().map(|n| (n.to_string(), junk.as_slice())).collect(),
            },
        ),
        ("bomb 20000x20000 1-bit", "/api/v1/uploads", Body { parts: vec![("file".into(), bomb.as_slice())] }),
        ("flat 6000x6000 1-bit", "/api/v1/uploads", Body { parts: vec![("file".into(), flat_grey.as_slice())] }),
        ("flat 6000x6000 RGBA16", "/api/v1/uploads", Body { parts: vec![("file".into(), flat_rgba16.as_slice())] }),
    ];
    println!("  {:<34} {:<20} {:>10} {:>11} {:>7} {:>8}  answers", "phase", "endpoint", "body MiB", "peak MiB", "secs", "cut");
    for (name, path, body) in &phases {
        let (peak, outcomes, secs) = phase(addr, pid, &auth, clients, rounds, path, body);
        let answers: Vec<String> = outcomes.by_status.iter().map(|(s, n)| format!("{s} x{n}")).collect();
        let errors = if outcomes.errors > 0 { format!(", {} errors", outcomes.errors) } else { String::new() };
        println!(
            "  {name:<34} {path:<20} {:>10.1} {:>11.1} {secs:>7.1} {:>8}  {}{errors}",
            body.len() as f64 / 1048576.0,
            mib(peak),
            outcomes.cut_short,
            answers.join(", ")
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = proc_mem(pid);
    println!("\n  after: RSS {:.1} MiB, peak over the run (VmHWM) {:.1} MiB", mib(after.rss_kib), mib(after.hwm_kib));
    println!("  (cut: requests whose body the server stopped reading before it was all sent)");
    let _ = server.stop(Duration::from_secs(30));
}
