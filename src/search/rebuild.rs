//! Rebuilding the index from the store: every generation of one read transaction into a new
//! index beside the live one, one commit at the end (at the outbox sequence of that
//! snapshot), then swapped in. Blocking: run it off the async executor.

use std::time::{Duration, Instant};

use super::index::{self, CommitPoint, Live, Paths};
use super::{ProviderOf, SearchError};
use crate::store::{self, Store};

/// How often progress is reported, in documents.
const PROGRESS_EVERY: u64 = 50_000;
/// Indexing memory per rebuild thread (the live writer uses far less).
const REBUILD_HEAP_PER_THREAD: usize = 64_000_000;
/// At most this many indexing threads during a rebuild.
const REBUILD_THREADS: usize = 2;

/// How far a rebuild is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub elapsed: Duration,
}

impl Progress {
    /// Documents per second so far.
    pub fn rate(&self) -> u64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { (self.done as f64 / secs) as u64 } else { 0 }
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "indexed {} of {} generations ({}/s)", self.done, self.total, self.rate())
    }
}

/// A finished rebuild: the new live index and what it holds.
pub struct Rebuilt {
    pub live: Live,
    pub point: CommitPoint,
    pub progress: Progress,
}

/// Rebuilds the index of every (not deleted) generation in `store` and puts it live.
pub fn rebuild(paths: &Paths, store: &Store, provider: &ProviderOf, report: &mut dyn FnMut(Progress)) -> Result<Rebuilt, SearchError> {
    let started = Instant::now();
    paths.sweep();
    let building = index::create(&paths.rebuild)?;
    let threads = crate::turns::cpu_cores().clamp(1, REBUILD_THREADS);
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .memory_budget_per_thread(REBUILD_HEAP_PER_THREAD)
        .num_worker_threads(threads)
        .num_merge_threads(1)
        .build();
    let mut writer = building.index.writer_with_options(options)?;
    let fields = building.fields;
    let (seq, total, done) = store.read_now(|tx| {
        let seq = store::generations::outbox_last(tx)?;
        let total = store::generations::count(tx)?;
        let mut done = 0u64;
        report(Progress { done, total, elapsed: started.elapsed() });
        store::generations::each(tx, |g| {
            if g.deleted_at.is_none() {
                writer.add_document(fields.document(&g, &provider(&g), super::has_sound(tx, &g)?))?;
            }
            done += 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                report(Progress { done, total, elapsed: started.elapsed() });
            }
            Ok::<_, SearchError>(())
        })?;
        Ok::<_, SearchError>((seq, total, done))
    })?;
    let point = CommitPoint::new(seq);
    point.commit(&mut writer)?;
    drop(writer);
    drop(building);
    paths.swap_in_rebuild()?;
    let (live, point) = index::open(&paths.live, seq, false).map_err(|why| SearchError::Io(format!("the rebuilt index: {why}")))?;
    let progress = Progress { done, total: total.max(done), elapsed: started.elapsed() };
    report(progress);
    Ok(Rebuilt { live, point, progress })
}
