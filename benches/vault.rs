//! Encrypted media figures, through the library (`reelvault::vault::media`):
//!   (a) ingest throughput of a 256 MiB stream (encrypt + SHA-256 + fsync + rename) vs
//!       `age -e` on the same bytes;
//!   (b) full decrypt-read throughput of that file vs `age -d` to /dev/null;
//!   (c) 1 MiB range reads at 200 random offsets of a 1 GiB file: p50 / p99 / max, and the
//!       p99 per offset decile (it should be flat: only the chunks needed are decrypted).
//! Prints figures only; never asserts on them. The `age` columns are skipped, with a note,
//! when the `age` binary is not on PATH (`apt-get install -y age`).
//!
//! `cargo bench --bench vault`
//! env: RV_BENCH_MEDIA_MIB=256, RV_BENCH_RANGE_MIB=1024, RV_BENCH_RANGES=200,
//!      RV_BENCH_TRIALS=3, RV_BENCH_DIR (default: the system temp dir)

use std::process::Command;
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;
use bytes::Bytes;
use futures_util::StreamExt;
use reelvault::vault::media::{MediaDir, MediaError};

const PIECE: usize = 64 * 1024;
const RANGE_LEN: u64 = 1024 * 1024;
const ID_A: &str = "01JZBENCHAAAAAAAAAAAAAAAAA";
const ID_B: &str = "01JZBENCHBBBBBBBBBBBBBBBBB";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Incompressible bytes from xorshift64, fast to make.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `data` as a stream of 64 KiB pieces, `repeat` times over.
fn pieces(data: &Bytes, repeat: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin + Send + use<> {
    let data = data.clone();
    let n = data.len().div_ceil(PIECE);
    futures_util::stream::iter((0..repeat * n).map(move |i| {
        let start = (i % n) * PIECE;
        Ok(data.slice(start..(start + PIECE).min(data.len())))
    }))
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn age_binary() -> bool {
    Command::new("age").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Runs a command and returns its wall time, or None (with a note) when it failed.
fn timed(cmd: &mut Command) -> Option<Duration> {
    let t = Instant::now();
    match cmd.output() {
        Ok(o) if o.status.success() => Some(t.elapsed()),
        Ok(o) => {
            eprintln!("  {cmd:?} failed: {}", String::from_utf8_lossy(&o.stderr).trim());
            None
        }
        Err(e) => {
            eprintln!("  {cmd:?} could not run: {e}");
            None
        }
    }
}

async fn drain(media: &MediaDir, id: &str, identity: &age::x25519::Identity, range: Option<(u64, u64)>) -> Result<u64, MediaError> {
    let (_, mut stream) = media.read_range(id, identity.clone(), range).await?;
    let mut n = 0u64;
    while let Some(piece) = stream.next().await {
        n += piece?.len() as u64;
    }
    Ok(n)
}

/// The library's decrypting reader driven directly: the ceiling for (b).
fn raw_decrypt(path: &std::path::Path, identity: &age::x25519::Identity) -> std::io::Result<u64> {
    use std::io::Read;
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let decryptor = age::Decryptor::new_buffered(file).map_err(std::io::Error::other)?;
    let mut reader = decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)).map_err(std::io::Error::other)?;
    let mut buf = vec![0; PIECE];
    let mut n = 0u64;
    loop {
        match reader.read(&mut buf)? {
            0 => return Ok(n),
            k => n += k as u64,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let media_mib = env_u64("RV_BENCH_MEDIA_MIB", 256);
    let range_mib = env_u64("RV_BENCH_RANGE_MIB", 1024).max(2);
    let ranges = env_u64("RV_BENCH_RANGES", 200).max(10) as usize;
    let trials = env_u64("RV_BENCH_TRIALS", 3).max(1) as usize;
    let base = std::env::var_os("RV_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base)?;
    let media = MediaDir::open(&dir.path().join("media"))?;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;

    let have_age = age_binary();
    println!("vault bench in {}", dir.path().display());
    if !have_age {
        println!("NOTE: `age` is not on PATH: the age columns are skipped (apt-get install -y age)");
    }

    // (a) ingest
    let size = (media_mib * 1024 * 1024) as usize;
    let data = Bytes::from(random_bytes(size, 0x5EED));
    let input = dir.path().join("input.bin");
    std::fs::write(&input, &data)?;
    let identity_file = dir.path().join("identity.txt");
    std::fs::write(&identity_file, format!("{}\n", identity.to_string().expose_secret()))?;
    let age_out = dir.path().join("age-out.age");

    println!("\n(a) ingest {media_mib} MiB, {trials} trials, median (MiB/s)");
    let mut ours = Vec::new();
    for _ in 0..trials {
        let _ = rt.block_on(media.delete(ID_A));
        let t = Instant::now();
        rt.block_on(media.ingest(ID_A, &recipient, pieces(&data, 1), u64::MAX))?;
        ours.push(t.elapsed());
    }
    let ours = median(ours);
    println!("  reelvault ingest (encrypt + sha256 + fsync + rename): {:8.1} MiB/s  ({} ms)", mib_s(size as u64, ours), ms(ours));
    let t = Instant::now();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&data);
    let hash = t.elapsed();
    std::hint::black_box(digest);
    println!("  (of which SHA-256 alone, one thread, in memory:       {:8.1} MiB/s  ({} ms))", mib_s(size as u64, hash), ms(hash));
    if have_age {
        let (mut enc, mut enc_sync) = (Vec::new(), Vec::new());
        for _ in 0..trials {
            let _ = std::fs::remove_file(&age_out);
            let run = timed(Command::new("age").arg("-e").arg("-r").arg(recipient.to_string()).arg("-o").arg(&age_out).arg(&input));
            let sync = timed(Command::new("sync").arg(&age_out));
            if let (Some(run), Some(sync)) = (run, sync) {
                enc.push(run);
                enc_sync.push(run + sync);
            }
        }
        if !enc.is_empty() {
            let (enc, enc_sync) = (median(enc), median(enc_sync));
            println!("  age -e (file to file, no fsync):                      {:8.1} MiB/s  ({} ms)", mib_s(size as u64, enc), ms(enc));
            println!(
                "  age -e, then `sync FILE`:                             {:8.1} MiB/s  ({} ms)",
                mib_s(size as u64, enc_sync),
                ms(enc_sync)
            );
        }
    }

    // (b) full decrypt-read
    println!("\n(b) full decrypt-read of {media_mib} MiB (page cache warm), median (MiB/s)");
    let mut reads = Vec::new();
    for _ in 0..trials {
        let t = Instant::now();
        let n = rt.block_on(drain(&media, ID_A, &identity, None))?;
        reads.push(t.elapsed());
        if n != size as u64 {
            println!("  WARNING: read {n} bytes, expected {size}");
        }
    }
    let reads = median(reads);
    println!("  reelvault read_range(None), stream drained:          {:8.1} MiB/s  ({} ms)", mib_s(size as u64, reads), ms(reads));
    let ours_file = media.path_of(ID_A)?;
    let t = Instant::now();
    let n = raw_decrypt(&ours_file, &identity)?;
    let raw = t.elapsed();
    println!("  (age StreamReader loop, one thread, no async:        {:8.1} MiB/s  ({} ms), {n} bytes)", mib_s(size as u64, raw), ms(raw));
    if have_age {
        let mut dec = Vec::new();
        for _ in 0..trials {
            if let Some(d) = timed(Command::new("age").arg("-d").arg("-i").arg(&identity_file).arg("-o").arg("/dev/null").arg(&ours_file)) {
                dec.push(d);
            }
        }
        if !dec.is_empty() {
            let dec = median(dec);
            println!("  age -d -o /dev/null (same file):                      {:8.1} MiB/s  ({} ms)", mib_s(size as u64, dec), ms(dec));
        }
    }
    let _ = std::fs::remove_file(&age_out);
    let _ = std::fs::remove_file(&input);
    let _ = rt.block_on(media.delete(ID_A));

    // (c) range reads on a big file
    let repeat = (range_mib * 1024 * 1024).div_ceil(size as u64) as usize;
    let big_len = (repeat * size) as u64;
    println!("\n(c) {ranges} reads of 1 MiB at random offsets of a {} MiB file", big_len / (1024 * 1024));
    let t = Instant::now();
    rt.block_on(media.ingest(ID_B, &recipient, pieces(&data, repeat), u64::MAX))?;
    let took = t.elapsed();
    println!("  (ingest of the file: {} ms, {:.1} MiB/s)", ms(took), mib_s(big_len, took));
    drop(data);

    let mut x: u64 = 0xDEC0_DE00_1234_5678;
    let span = big_len - RANGE_LEN;
    let mut samples: Vec<(u64, Duration)> = Vec::with_capacity(ranges);
    for _ in 0..ranges {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let start = x % (span + 1);
        let t = Instant::now();
        let n = rt.block_on(drain(&media, ID_B, &identity, Some((start, start + RANGE_LEN - 1))))?;
        samples.push((start, t.elapsed()));
        if n != RANGE_LEN {
            println!("  WARNING: range at {start} gave {n} bytes");
        }
    }
    let mut all: Vec<Duration> = samples.iter().map(|s| s.1).collect();
    all.sort();
    println!(
        "  all:  p50 {} ms   p99 {} ms   max {} ms   ({:.0} MiB/s at p50)",
        ms(pct(&all, 50.0)),
        ms(pct(&all, 99.0)),
        ms(all[all.len() - 1]),
        mib_s(RANGE_LEN, pct(&all, 50.0))
    );
    println!("  by offset decile (n, p50 ms, p99 ms):");
    for decile in 0..10u64 {
        let lo = span * decile / 10;
        let hi = span * (decile + 1) / 10;
        let mut d: Vec<Duration> =
            samples.iter().filter(|(s, _)| *s >= lo && (*s < hi || (decile == 9 && *s <= hi))).map(|s| s.1).collect();
        d.sort();
        if d.is_empty() {
            println!("    {:>4}-{:>4} MiB: no samples", lo >> 20, hi >> 20);
            continue;
        }
        println!("    {:>4}-{:>4} MiB: n={:<3} p50 {:>6}  p99 {:>6}", lo >> 20, hi >> 20, d.len(), ms(pct(&d, 50.0)), ms(pct(&d, 99.0)));
    }
    let _ = rt.block_on(media.delete(ID_B));
    Ok(())
}
