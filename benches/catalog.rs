//! The catalog's figures, through the library (`reelvault::domain::catalog`):
//!   (a) loading the shipped catalog as start-up does (read the embedded TOML files, check
//!       every entry, build the index): target under 20 ms;
//!   (b) building the catalog in force with an imported catalog as large as the shipped one,
//!       a config entry and an admin's edit over it (what an import or an edit checks);
//!   (c) what a submit asks of the catalog: a lookup by id, the parameters resolved and the
//!       price computed, per call.
//! Prints figures only; never asserts on them.
//!
//! `cargo bench --bench catalog`
//! env: RV_BENCH_TRIALS=200 (loads), RV_BENCH_LOOKUPS=1000000

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use reelvault::domain::catalog::{Catalog, Layer, shipped};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50, p99 and max of `trials` runs of `f`, in ms.
fn timed(trials: u64, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut times: Vec<Duration> = (0..trials)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (ms(at(0.5)), ms(at(0.99)), ms(*times.last().expect("at least one trial")))
}

fn main() {
    let trials = env_u64("RV_BENCH_TRIALS", 200).max(1);
    let lookups = env_u64("RV_BENCH_LOOKUPS", 1_000_000).max(1);
    let first = Instant::now();
    let catalog = shipped::load();
    let cold = first.elapsed();
    let files = shipped::files();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    println!("shipped catalog: {} models in {} files ({} KiB of TOML)", catalog.len(), files.len(), bytes / 1024);
    println!("{:<46} {:>9} {:>9} {:>9}", "", "p50 ms", "p99 ms", "max ms");
    println!("{:<46} {:>9.3} {:>9} {:>9}", "(a) first load (cold caches)", ms(cold), "", "");
    let (p50, p99, max) = timed(trials, || {
        black_box(shipped::load());
    });
    println!("{:<46} {p50:>9.3} {p99:>9.3} {max:>9.3}", "(a) load the shipped catalog");

    let export = catalog.to_toml();
    let config = Catalog::parse("config", "[[model]]\nid = \"demo-video\"\nlabel = \"House demo\"\n").expect("config entry");
    let edit = Catalog::parse("edit", "[[model]]\nid = \"demo-image\"\nhidden = true\n").expect("edit entry");
    let (p50, p99, max) = timed(trials, || {
        let imported = Catalog::parse("import", &export).expect("export reads");
        let built = catalog
            .build_from(Layer::Imported, imported)
            .and_then(|c| c.build_from(Layer::Config, config.clone()))
            .and_then(|c| c.build_from(Layer::Edited, edit.clone()))
            .expect("layers build");
        black_box(built);
    });
    println!("{:<46} {p50:>9.3} {p99:>9.3} {max:>9.3}", "(b) shipped + import of all + config + edit");

    let ids: Vec<String> = catalog.models().iter().map(|m| m.id.clone()).collect();
    let start = Instant::now();
    for i in 0..lookups {
        black_box(catalog.model(&ids[i as usize % ids.len()]));
    }
    let per_lookup = start.elapsed().as_nanos() as f64 / lookups as f64;
    let video = catalog.model("demo-video").expect("the demo video model").clone();
    let raw = BTreeMap::from([("duration".to_string(), serde_json::json!(5))]);
    let rounds = lookups / 10;
    let start = Instant::now();
    for _ in 0..rounds {
        let params = video.resolve_params(black_box(&raw), 7).expect("valid");
        black_box(video.price.of(&params));
    }
    let per_price = start.elapsed().as_nanos() as f64 / rounds.max(1) as f64;
    println!("(c) lookup by id: {per_lookup:.0} ns; resolve parameters + price: {per_price:.0} ns (per call)");
}
