//! Encrypted media, measured through the real release binary next to reference tools:
//!   (1) streaming: a full GET of a 256 MiB video from `/media/{id}` vs `age -d` of the same
//!       plaintext encrypted with `age -e`, vs nginx serving the plaintext   — target >= 0.8 x age -d
//!   (2) seek: 1 MiB Range requests at random offsets of a 1 GiB video      — target p99 <= 5 ms, flat
//!   (3) ingest: custody of a 256 MiB output from a loopback `/v1/videos` fake vs `age -e`
//!                                                                           — target >= 0.7 x age -e
//! The media gets in the way an operator's would: sora-2 generations against the fake.
//! Prints figures only; never asserts on them.
//!
//! `cargo bench --bench media`   (env: RV_BENCH_MIB=256, RV_BENCH_SEEK_MIB=1024,
//!                                RV_BENCH_TRIALS=3, RV_BENCH_SEEKS=400)

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use common::fake_videos::FakeVideos;
use common::studio::{Conn, Studio, path_of, raise_nofile, timed_get, video_bytes};
use common::{median, mib, percentile, proc_mem};

const MIB: u64 = 1 << 20;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn main() {
    let size = env_u64("RV_BENCH_MIB", 256) * MIB;
    let big = env_u64("RV_BENCH_SEEK_MIB", 1024).min(1024) * MIB; // sora-2's output cap is 1 GiB
    let trials = env_u64("RV_BENCH_TRIALS", 3).max(1) as usize;
    let seeks = env_u64("RV_BENCH_SEEKS", 400).max(10) as usize;
    raise_nofile();
    for tool in ["age", "age-keygen"] {
        if which(tool).is_none() {
            println!("`{tool}` is not on PATH (apt-get install -y age); cannot compare. Stopping.");
            return;
        }
    }
    let root = tempfile::tempdir().expect("temp dir");
    let content = Arc::new(video_bytes(size as usize, 0x5EED));
    let www = root.path().join("www");
    std::fs::create_dir_all(&www).expect("www dir");
    let plain = www.join("video.mp4");
    std::fs::write(&plain, &*content).expect("write plaintext");

    let fake = FakeVideos::start(content.clone(), Duration::ZERO, (50, 50));
    let studio = match Studio::prepare(root.path(), fake.port, 4, 1_000_000) {
        Ok(s) => s,
        Err(e) => return println!("preparing the studio FAILED: {e}"),
    };
    let log = root.path().join("server.log");
    let mut server = studio.spawn(&log);
    if let Err(e) = server.wait_ready(Duration::from_secs(30)) {
        println!("server did not become ready: {e}");
        return;
    }
    let bearer = studio.bearer();
    let mut api = Conn::new(server.addr());
    println!("server pid {} on 127.0.0.1:{}, fake /v1/videos on 127.0.0.1:{}", server.pid(), server.port, fake.port);

    // ---- (3) ingest ----
    let mut ingests = Vec::new();
    for t in 0..trials {
        match generate(&mut api, &bearer, &fake, size) {
            Ok(g) => ingests.push(g),
            Err(e) => {
                println!("generation {t} FAILED: {e}");
                let _ = server.stop(Duration::from_secs(30));
                return;
            }
        }
    }
    let hwm_after_ingest = proc_mem(server.pid()).hwm_kib;
    let key = root.path().join("key.txt");
    let recipient = age_keygen(&key);
    let encrypted = root.path().join("video.mp4.age");
    let mut age_e = Vec::new();
    let mut age_e_sync = Vec::new();
    for _ in 0..trials {
        let _ = std::fs::remove_file(&encrypted);
        let e = time_cmd(Command::new("age").args(["-e", "-r", &recipient, "-o"]).arg(&encrypted).arg(&plain));
        let s = time_cmd(Command::new("sync").arg(&encrypted));
        age_e.push(e);
        age_e_sync.push(e + s);
    }
    let (lib_ingest, lib_read) = library(root.path(), &content, trials);
    let transfer: Vec<f64> = ingests.iter().map(|g| g.transfer_s).collect();
    let custody: Vec<f64> = ingests.iter().map(|g| g.custody_s).collect();
    println!("\n(3) ingest of a {} MiB output, {trials} trials, median (best)", size / MIB);
    table_header();
    let rows = [
        ("app: /content transfer (fake: 1st byte -> all acked)", &transfer),
        ("app: custody (fake: GET /content -> DELETE, incl. fsync)", &custody),
        ("age -e (file -> file)", &age_e),
        ("age -e + sync", &age_e_sync),
        ("library: MediaDir::ingest of in-memory bytes, incl. fsync", &lib_ingest),
    ];
    for (name, secs) in rows {
        row(name, size, secs);
    }
    let ratio = mbps(size, median(&transfer)) / mbps(size, median(&age_e));
    println!("ingest transfer / age -e throughput = {ratio:.2} (target >= 0.70)");
    println!(
        "custody / (age -e + sync) = {:.2}; server VmHWM after ingests {:.1} MiB",
        median(&age_e_sync) / median(&custody),
        mib(hwm_after_ingest)
    );

    // ---- (1) streaming ----
    let media_path = path_of(&ingests[0].url);
    let nginx = Nginx::start(root.path(), &www);
    let mut app_conn = Conn::new(server.addr());
    let mut nginx_conn = nginx.as_ref().map(|n| Conn::new(([127, 0, 0, 1], n.port).into()));
    let (mut app, mut age_d, mut ngx) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..=trials {
        // trial 0 warms caches and connections and is not counted
        let a = timed_get(&mut app_conn, &media_path, &[]);
        let d = time_cmd(Command::new("age").args(["-d", "-i"]).arg(&key).arg(&encrypted));
        let n = nginx_conn.as_mut().map(|c| timed_get(c, "/video.mp4", &[]));
        match a {
            Ok((200, bytes, secs)) if bytes == size => app.push(secs),
            other => println!("app GET trial {t}: unexpected {other:?}"),
        }
        age_d.push(d);
        match n {
            Some(Ok((200, bytes, secs))) if bytes == size => ngx.push(secs),
            None => {}
            other => println!("nginx GET trial {t}: unexpected {other:?}"),
        }
        if t == 0 {
            app.clear();
            age_d.clear();
            ngx.clear();
        }
    }
    println!("\n(1) full GET of the {} MiB video, {trials} trials after a warm-up, median (best)", size / MIB);
    table_header();
    row("app: GET /media/{id} (decrypting)", size, &app);
    row("age -d -i key > /dev/null", size, &age_d);
    row("library: MediaDir::read_range, whole file (no HTTP)", size, &lib_read);
    if nginx.is_some() {
        row("nginx 1 worker, sendfile, plaintext", size, &ngx);
    }
    let app_mbps = mbps(size, median(&app));
    println!("media endpoint / age -d = {:.2} (target >= 0.80)", app_mbps / mbps(size, median(&age_d)));
    if !ngx.is_empty() {
        println!("media endpoint / nginx = {:.2}", app_mbps / mbps(size, median(&ngx)));
    }
    if let Some(n) = nginx {
        n.stop();
    }

    // ---- (2) seek ----
    let big_gen = match generate(&mut api, &bearer, &fake, big) {
        Ok(g) => g,
        Err(e) => {
            println!("the {} MiB generation FAILED: {e}", big / MIB);
            let _ = server.stop(Duration::from_secs(30));
            return;
        }
    };
    println!(
        "\n{} MiB generation: transfer {:.0} MB/s, custody {:.2} s; server VmHWM now {:.1} MiB",
        big / MIB,
        mbps(big, big_gen.transfer_s),
        big_gen.custody_s,
        mib(proc_mem(server.pid()).hwm_kib)
    );
    seek(&mut Conn::new(server.addr()), &path_of(&big_gen.url), big, seeks, &content);

    let lines = std::fs::read_to_string(&log).unwrap_or_default();
    for line in lines.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).take(10) {
        println!("server log: {line}");
    }
    let (status, _) = server.stop(Duration::from_secs(30));
    println!("server stopped: {}", status.map_or_else(|| "forced (SIGKILL)".to_string(), |s| s.to_string()));
    fake.stop();
}

fn table_header() {
    println!("| {:<58} | {:>9} | {:>9} | {:>9} |", "what", "MB/s", "best MB/s", "s");
    println!("|{:-<60}|{:->11}|{:->11}|{:->11}|", "", "", "", "");
}

fn row(name: &str, bytes: u64, secs: &[f64]) {
    if secs.is_empty() {
        return println!("| {name:<58} | {:>9} | {:>9} | {:>9} |", "-", "-", "-");
    }
    let best = secs.iter().copied().fold(f64::INFINITY, f64::min);
    let m = median(secs);
    println!("| {name:<58} | {:>9.0} | {:>9.0} | {:>9.3} |", mbps(bytes, m), mbps(bytes, best), m);
}

/// What one generation's custody looked like.
struct Generated {
    url: String,
    transfer_s: f64,
    custody_s: f64,
}

/// Runs one sora-2 generation whose output is `len` bytes and waits (bounded) for success.
fn generate(api: &mut Conn, bearer: &str, fake: &FakeVideos, len: u64) -> Result<Generated, String> {
    fake.state.next_len.store(len, Relaxed);
    let job = fake.next_job();
    let body = br#"{"model":"sora-2","prompt":"a slow pan over a harbour at dawn","params":{"duration":4}}"#;
    let auth = [("Authorization", bearer), ("Accept", "application/json")];
    let created = api.request("POST", "/api/v1/generations", &auth, Some(("application/json", body))).map_err(|e| e.to_string())?;
    if created.status != 201 {
        return Err(format!("POST /api/v1/generations: {} {}", created.status, created.text()));
    }
    let view: serde_json::Value = serde_json::from_slice(&created.body).map_err(|e| e.to_string())?;
    let id = view["id"].as_str().ok_or("no id")?.to_string();
    let deadline = Instant::now() + Duration::from_secs(600);
    let view = loop {
        std::thread::sleep(Duration::from_millis(50));
        let r = api.request("GET", &format!("/api/v1/generations/{id}"), &auth, None).map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
        match v["state"].as_str() {
            Some("succeeded") => break v,
            Some("failed" | "cancelled") => return Err(format!("generation ended {}: {}", v["state"], v["reason"])),
            _ if Instant::now() > deadline => return Err("no result within 600 s".into()),
            _ => {}
        }
    };
    let url = view["outputs"][0]["url"].as_str().ok_or("no output url")?.to_string();
    if view["outputs"][0]["bytes"].as_u64() != Some(len) {
        return Err(format!("stored {} bytes, expected {len}", view["outputs"][0]["bytes"]));
    }
    let transfer = fake.transfer_of(job).ok_or("the fake saw no /content transfer")?;
    let deleted = fake.deleted_at(job).ok_or("the fake saw no DELETE")?;
    Ok(Generated {
        url,
        transfer_s: (transfer.acked - transfer.first_byte).as_secs_f64(),
        custody_s: (deleted - transfer.requested).as_secs_f64(),
    })
}

/// The vault library alone, in this process (a 2-worker tokio runtime like the server's):
/// seconds per ingest of `content` (from memory, in 256 KiB pieces, fsync included) and
/// per whole-file `read_range`.
fn library(root: &Path, content: &Arc<Vec<u8>>, trials: usize) -> (Vec<f64>, Vec<f64>) {
    use futures_util::StreamExt;
    use reelvault::vault::media::MediaDir;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = MediaDir::open(&root.join("library")).expect("media dir");
    let identity = age::x25519::Identity::generate();
    let data = bytes::Bytes::from(content.to_vec());
    let (mut ingest, mut read) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for t in 0..trials {
            let id = format!("01JBENCH0000000000000000{t:02}");
            let pieces: Vec<Result<bytes::Bytes, std::convert::Infallible>> =
                (0..data.len()).step_by(256 * 1024).map(|at| Ok(data.slice(at..(at + 256 * 1024).min(data.len())))).collect();
            let t0 = Instant::now();
            let stored = dir.ingest(&id, &identity.to_public(), futures_util::stream::iter(pieces), u64::MAX).await;
            ingest.push(if stored.is_ok() { t0.elapsed().as_secs_f64() } else { f64::NAN });
            let t0 = Instant::now();
            let mut n = 0u64;
            if let Ok((_, mut stream)) = dir.read_range(&id, identity.clone(), None).await {
                while let Some(Ok(piece)) = stream.next().await {
                    n += piece.len() as u64;
                }
            }
            read.push(if n == data.len() as u64 { t0.elapsed().as_secs_f64() } else { f64::NAN });
            let _ = dir.delete(&id).await;
        }
    });
    (ingest, read)
}

/// `n` 1 MiB Range requests, n/10 at random offsets inside each tenth of the file, in
/// shuffled order, one at a time on a keep-alive connection; every body is checked.
fn seek(conn: &mut Conn, path: &str, len: u64, n: usize, content: &[u8]) {
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let span = len - MIB;
    let mut offsets: Vec<(usize, u64)> = (0..n).map(|i| (i % 10, (i % 10) as u64 * span / 10 + next() % (span / 10))).collect();
    for i in (1..offsets.len()).rev() {
        offsets.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    for &(_, o) in offsets.iter().take(10) {
        let _ = conn.request("GET", path, &[("Range", &format!("bytes={o}-{}", o + MIB - 1))], None); // warm-up
    }
    let mut by_decile: Vec<Vec<f64>> = vec![Vec::new(); 10];
    let (mut bad, mut body) = (0, Vec::with_capacity(MIB as usize));
    for &(decile, o) in &offsets {
        body.clear();
        let range = format!("bytes={o}-{}", o + MIB - 1);
        let t0 = Instant::now();
        let r = conn.exchange("GET", path, &[("Range", &range)], None, |b| body.extend_from_slice(b));
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let ok = matches!(r, Ok((206, _)))
            && body.len() as u64 == MIB
            && body.iter().enumerate().step_by(4093).all(|(i, &b)| b == content[((o + i as u64) % content.len() as u64) as usize]);
        if ok {
            by_decile[decile].push(ms);
        } else {
            bad += 1;
        }
    }
    let mut all: Vec<f64> = by_decile.concat();
    all.sort_by(|a, b| a.total_cmp(b));
    println!("\n(2) seek: {n} x 1 MiB Range GETs of the {} MiB video (target p99 <= 5 ms, flat across offsets)", len / MIB);
    println!(
        "all: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; wrong/failed answers: {bad}",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0)
    );
    println!("| {:<19} | {:>4} | {:>7} | {:>7} | {:>7} |", "offset decile (MiB)", "n", "p50 ms", "p99 ms", "max ms");
    println!("|{:-<21}|{:->6}|{:->9}|{:->9}|{:->9}|", "", "", "", "", "");
    for (d, v) in by_decile.iter_mut().enumerate() {
        v.sort_by(|a, b| a.total_cmp(b));
        let label = format!("{}-{}", d as u64 * span / 10 / MIB, (d as u64 + 1) * span / 10 / MIB);
        let (p50, p99, max) = (percentile(v, 50.0), percentile(v, 99.0), percentile(v, 100.0));
        println!("| {label:<19} | {:>4} | {p50:>7.2} | {p99:>7.2} | {max:>7.2} |", v.len());
    }
}

/// Runs a command to completion with stdout discarded; returns seconds (NaN on failure).
fn time_cmd(cmd: &mut Command) -> f64 {
    let t0 = Instant::now();
    match cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output() {
        Ok(out) if out.status.success() => t0.elapsed().as_secs_f64(),
        Ok(out) => {
            println!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            f64::NAN
        }
        Err(e) => {
            println!("{cmd:?}: {e}");
            f64::NAN
        }
    }
}

/// `age-keygen -o key`; returns the recipient.
fn age_keygen(key: &Path) -> String {
    let _ = Command::new("age-keygen").arg("-o").arg(key).stderr(Stdio::null()).status();
    let out = Command::new("age-keygen").arg("-y").arg(key).output().expect("age-keygen -y");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn which(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file())
}

/// nginx in the foreground (`daemon off; master_process off`), one process we stop by pid.
struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(root: &Path, www: &Path) -> Option<Nginx> {
        let Some(bin) = which("nginx").or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file())) else {
            println!("nginx is not installed (apt-get install -y nginx); skipping that comparison");
            return None;
        };
        let dir = root.join("nginx");
        std::fs::create_dir_all(&dir).ok()?;
        let port = common::free_port();
        let d = dir.display();
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 { "user root;" } else { "" };
        let conf = format!(
            "daemon off; master_process off; {user} worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{ access_log off; sendfile on; default_type application/octet-stream;\n\
               client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
               server {{ listen 127.0.0.1:{port}; root {}; }} }}\n",
            www.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).ok()?;
        let child = Command::new(bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let n = Nginx { child, port };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if common::http_request(([127, 0, 0, 1], port).into(), "HEAD", "/video.mp4", &[], None).is_ok_and(|r| r.status == 200) {
                return Some(n);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!("nginx did not answer on 127.0.0.1:{port}; skipping that comparison");
        n.stop();
        None
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: kill(2) on our own, not yet reaped child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.terminate();
    }
}
