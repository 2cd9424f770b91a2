//! The indexer worker ("indexer"): owns the only IndexWriter. At start it opens the index and replays the
//! outbox from the commit point (or rebuilds when the index is missing, damaged or of another
//! schema). Then a wake (rows written to the outbox) starts a clock of T seconds (the commit
//! interval: searches see nothing before a commit anyway); when it runs out the indexer drains
//! the outbox in order, upserts each generation once however often it changed meanwhile (a job
//! changes state three to five times in its first second), commits every N documents and at
//! the end with the last applied sequence as the payload, and trims the outbox behind it. A step
//! that fails ends the body with its error; the supervisor starts it again (reopening the index)
//! after a backoff.
//!
//! The writer is made for the first rows after a quiet spell and let go by the next step that
//! finds the outbox empty (at most `POLL` after the last work): an idle appliance keeps none
//! of its threads and its queue of 2.5 MB.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::IndexWriter;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::index::{self, CommitPoint, Live, Paths};
use super::rebuild::{self, Progress};
use super::{ProviderOf, SearchError, Shared, Status};
use crate::config::SearchConfig;
use crate::domain::generation::Generation;
use crate::domain::ids::GenerationId;
use crate::store::{self, Commit, Store};
use crate::workers::{Context, WorkerResult};

/// Outbox rows read per store transaction.
const BATCH: usize = 1000;
/// How often the indexer looks at the outbox without being woken.
const POLL: Duration = Duration::from_secs(5);
/// A backlog longer than this is rebuilt rather than replayed (a rebuild indexes with one
/// commit; a replay commits every `commit_docs`).
const REPLAY_LIMIT: u64 = 100_000;
/// How long the indexer waits after a failure before trying again (the first time).
pub(super) const RETRY: Duration = Duration::from_secs(2);

/// What the rest of the app asks of the indexer.
pub(super) enum Command {
    Reindex { progress: mpsc::UnboundedSender<Progress>, done: oneshot::Sender<Result<Progress, SearchError>> },
}

/// The indexer's state between steps (moved onto the blocking pool for each step).
struct Indexer {
    shared: Arc<Shared>,
    paths: Paths,
    store: Store,
    provider: Arc<ProviderOf>,
    settings: SearchConfig,
    live: Option<Arc<Live>>,
    /// The writer, while there is work (see the module doc).
    writer: Option<IndexWriter>,
    /// The last outbox sequence given to the writer (committed or not).
    applied: u64,
    /// Documents changed since the last commit.
    pending: usize,
    /// When the outbox rows announced since the last step are to be applied (the first wake
    /// after a step sets it a commit interval ahead).
    due: Option<Instant>,
}

/// Runs until the worker is asked to stop (or every handle is gone), then commits pending work.
pub(super) async fn run(
    shared: Arc<Shared>,
    store: Store,
    provider: Arc<ProviderOf>,
    settings: SearchConfig,
    commands: Arc<Mutex<mpsc::UnboundedReceiver<Command>>>,
    ctx: Context,
) -> WorkerResult {
    let mut commands = commands.lock().await;
    let signal = store.outbox_signal();
    let paths = shared.paths.clone();
    let mut ix = Indexer { shared, paths, store, provider, settings, live: None, writer: None, applied: 0, pending: 0, due: None };
    loop {
        let wait = match (&ix.live, ix.due) {
            (None, _) => Duration::ZERO,
            (Some(_), Some(due)) => due.saturating_duration_since(Instant::now()),
            (Some(_), None) => POLL,
        };
        if !wait.is_zero() {
            ctx.idle();
        }
        tokio::select! {
            biased;
            _ = ctx.stopped() => {
                let _ = blocking(ix, |ix| ix.finish()).await;
                return Ok(());
            }
            command = commands.recv() => match command {
                Some(Command::Reindex { progress, done }) => {
                    ctx.working();
                    let (back, result) = blocking(ix, move |ix| ix.reindex(&progress)).await;
                    ix = back;
                    let _ = done.send(result);
                    continue;
                }
                None => {
                    let _ = blocking(ix, |ix| ix.finish()).await;
                    return Ok(());
                }
            },
            _ = signal.notified() => {
                if ix.live.is_some() {
                    let interval = ix.settings.commit_interval;
                    ix.due.get_or_insert_with(|| Instant::now() + interval);
                    continue;
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
        ctx.working();
        let (back, result) = blocking(ix, |ix| ix.step()).await;
        ix = back;
        if let Err(e) = result {
            tracing::error!(error = %e, "search indexer: step failed; retrying");
            return Err(format!("search indexer step failed: {e}"));
        }
        ctx.ran();
    }
}

/// Runs `f` on the blocking pool with the indexer and hands it back.
async fn blocking<T: Send + 'static>(mut ix: Indexer, f: impl FnOnce(&mut Indexer) -> T + Send + 'static) -> (Indexer, T) {
    tokio::task::spawn_blocking(move || {
        let out = f(&mut ix);
        (ix, out)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

impl Indexer {
    /// Opens the index (rebuilding it when it cannot be used) when not open yet, then
    /// applies what the outbox holds and commits it.
    fn step(&mut self) -> Result<(), SearchError> {
        self.due = None;
        if self.live.is_none() {
            self.open()?;
        }
        let applied_before = self.applied;
        loop {
            let applied = self.applied;
            let (rows, generations) = self.store.read_now(|tx| {
                let rows = store::generations::outbox_after(tx, applied, BATCH)?;
                let mut ids: Vec<GenerationId> = rows.iter().map(|(_, id)| *id).collect();
                ids.sort_unstable();
                ids.dedup();
                let found = store::generations::get_many(tx, &ids)?;
                // each with whether its outputs have sound
                let mut generations: Vec<(GenerationId, Option<(Generation, bool)>)> = Vec::with_capacity(ids.len());
                for (id, g) in ids.into_iter().zip(found) {
                    let sound = match &g {
                        Some(g) => super::has_sound(tx, g)?,
                        None => false,
                    };
                    generations.push((id, g.map(|g| (g, sound))));
                }
                Ok::<_, SearchError>((rows, generations))
            })?;
            let Some(&(last, _)) = rows.last() else { break };
            let live = self.live.as_ref().ok_or(SearchError::Unavailable(Status::Opening))?;
            let writer = match &mut self.writer {
                Some(writer) => writer,
                none => none.insert(live.writer()?),
            };
            for (id, g) in &generations {
                writer.delete_term(live.fields.id_term(*id));
                if let Some((g, sound)) = g.as_ref().filter(|(g, _)| g.deleted_at.is_none()) {
                    writer.add_document(live.fields.document(g, &(self.provider)(g), *sound))?;
                }
            }
            self.applied = last;
            self.pending += generations.len();
            if self.pending >= self.settings.commit_docs {
                self.commit()?;
            }
        }
        if self.pending > 0 {
            self.commit()?;
        } else if self.applied == applied_before {
            self.release_writer();
        }
        Ok(())
    }

    /// Lets the writer go once its merges are done (its threads end and its memory is freed).
    fn release_writer(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Err(e) = writer.wait_merging_threads()
        {
            tracing::warn!(error = %e, "search indexer: a merge failed; the next commit merges again");
        }
    }

    /// Commits what the writer holds at the applied sequence, shows it to searches, and
    /// trims the outbox behind it.
    fn commit(&mut self) -> Result<(), SearchError> {
        let live = self.live.as_ref().ok_or(SearchError::Unavailable(Status::Opening))?;
        let writer = self.writer.as_mut().ok_or(SearchError::Unavailable(Status::Opening))?;
        CommitPoint::new(self.applied).commit(writer)?;
        live.reload()?;
        self.shared.committed(self.applied);
        self.pending = 0;
        let applied = self.applied;
        // losing this trim in a crash only replays rows the index already holds
        self.store.write_now(Commit::Advisory, |tx| store::generations::trim_outbox(tx, applied))?;
        Ok(())
    }

    /// Opens the live index and replays the outbox from its commit point, or rebuilds it.
    fn open(&mut self) -> Result<(), SearchError> {
        let store_last = self.store.read_now(store::generations::outbox_last)?;
        self.paths.sweep();
        match index::open(&self.paths.live, store_last, true) {
            Ok((live, point)) if store_last - point.seq <= REPLAY_LIMIT => {
                let backlog = store_last - point.seq;
                tracing::info!(from = point.seq, rows = backlog, "search index opened; replaying the outbox");
                self.install(live, point);
                Ok(())
            }
            Ok((_, point)) => {
                tracing::warn!(rows = store_last - point.seq, "search index: the outbox backlog is long; rebuilding from the store");
                self.rebuild(&mut |_| {}).map(|_| ())
            }
            Err(why) => {
                tracing::warn!(reason = %why, "search index: rebuilding from the store");
                self.rebuild(&mut |_| {}).map(|_| ())
            }
        }
    }

    /// Rebuilds on request; searches keep using the old index until the new one is in place.
    fn reindex(&mut self, progress: &mpsc::UnboundedSender<Progress>) -> Result<Progress, SearchError> {
        self.rebuild(&mut |p| {
            let _ = progress.send(p);
        })
    }

    fn rebuild(&mut self, report: &mut dyn FnMut(Progress)) -> Result<Progress, SearchError> {
        // the old writer holds the live directory's lock; uncommitted work is in the snapshot
        self.writer = None;
        self.live = None;
        self.pending = 0;
        let serving = self.shared.is_serving();
        let shared = self.shared.clone();
        let rebuilt = rebuild::rebuild(&self.paths, &self.store, &*self.provider, &mut |p| {
            if !serving {
                shared.set_status(Status::Rebuilding { done: p.done, total: p.total });
            }
            report(p);
        });
        let rebuilt = match rebuilt {
            Ok(r) => r,
            Err(e) => {
                if !serving {
                    self.shared.set_status(Status::Failed(e.to_string()));
                }
                return Err(e);
            }
        };
        tracing::info!(
            generations = rebuilt.progress.done,
            elapsed_ms = rebuilt.progress.elapsed.as_millis() as u64,
            "search index rebuilt"
        );
        let progress = rebuilt.progress;
        self.install(rebuilt.live, rebuilt.point);
        Ok(progress)
    }

    /// Makes `live` the index searches read and this task writes, from `point` on.
    fn install(&mut self, live: Live, point: CommitPoint) {
        let live = Arc::new(live);
        self.shared.publish(live.clone(), point.seq);
        self.live = Some(live);
        self.applied = point.seq;
        self.pending = 0;
    }

    /// Applies and commits what the outbox holds, then releases the writer (shutdown).
    fn finish(&mut self) {
        if self.live.is_some()
            && let Err(e) = self.step()
        {
            tracing::warn!(error = %e, "search indexer: the last commit failed; the outbox will be replayed at the next start");
        }
        self.release_writer();
        self.live = None;
    }
}
