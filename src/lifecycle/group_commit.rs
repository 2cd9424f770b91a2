//! Group commit: writes that arrive while a commit is under way wait for it, then go to the
//! disk together in one durable transaction; each caller still learns its own result, and
//! only once its write is durable.
//!
//! No task runs while nothing is written: the first writer to find the queue idle starts a
//! short-lived leader task that commits batch after batch until the queue is empty. The leader
//! is a task of its own, so a caller that stops waiting (a closed request) never strands the
//! others.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, oneshot};

use super::change::{self, Applied, Op};
use super::{GenEvent, LifecycleError};
use crate::domain::time::Timestamp;
use crate::store::{Commit, Store, StoreError};

/// The most writes one transaction takes; the rest wait for the next.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<Applied, LifecycleError>>;
/// Each write's result with where to send it.
type Answers = Vec<(Result<Applied, LifecycleError>, Reply)>;

/// Writes waiting for the next commit, and whether a leader is committing.
#[derive(Default)]
pub(super) struct Queue {
    waiting: Vec<(Op, Reply)>,
    leading: bool,
    /// Durable transactions committed (for the figures and the tests).
    commits: u64,
}

/// Hands out the shared queue and resets it if a leader ends abnormally.
#[derive(Clone, Default)]
pub(super) struct GroupCommit(Arc<Mutex<Queue>>);

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Durable transactions this lifecycle has committed so far.
    pub(super) fn commits(&self) -> u64 {
        self.lock().commits
    }

    /// Queues `op` for the next commit and waits until it is durable (or refused); its change
    /// is published on `events` once committed, whether or not the caller still waits.
    pub(super) async fn write(&self, store: &Store, events: &broadcast::Sender<GenEvent>, op: Op) -> Result<Applied, LifecycleError> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut queue = self.lock();
            queue.waiting.push((op, reply));
            !std::mem::replace(&mut queue.leading, true)
        };
        if lead {
            tokio::spawn(Leader { queue: self.clone(), events: events.clone() }.run(store.clone()));
        }
        answer.await.unwrap_or(Err(LifecycleError::Store(StoreError::TaskFailed)))
    }
}

/// Commits batches until the queue is empty; gives up leadership when it ends, however it ends.
struct Leader {
    queue: GroupCommit,
    events: broadcast::Sender<GenEvent>,
}

impl Drop for Leader {
    fn drop(&mut self) {
        // normally the queue is empty here; after a panic or a runtime shutting down, the
        // waiting writes are answered by their dropped senders and the next writer leads
        let mut queue = self.queue.lock();
        queue.waiting.clear();
        queue.leading = false;
    }
}

impl Leader {
    async fn run(self, store: Store) {
        loop {
            let batch = {
                let mut queue = self.queue.lock();
                if queue.waiting.is_empty() {
                    queue.leading = false;
                    return;
                }
                let take = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..take).collect::<Vec<_>>()
            };
            let store_for_batch = store.clone();
            let Ok((results, commits)) = tokio::task::spawn_blocking(move || commit(&store_for_batch, batch)).await else {
                // the batch panicked: its callers see their senders dropped
                continue;
            };
            self.queue.lock().commits += commits;
            let mut outbox = false;
            let mut webhooks = false;
            for (applied, _) in &results {
                if let Ok(applied) = applied {
                    outbox = true;
                    webhooks |= applied.webhooks_queued;
                    let _ = self.events.send(GenEvent::of(&applied.generation));
                }
            }
            if outbox {
                store.outbox_written();
            }
            if webhooks {
                store.webhooks_queued();
            }
            for (result, reply) in results {
                let _ = reply.send(result);
            }
        }
    }
}

/// Writes a batch in one durable transaction. Refused ops leave nothing behind, so the others
/// commit; if the transaction itself fails, each op is tried again alone, so one write's
/// trouble is never another's. Returns each op's result and how many commits it took.
fn commit(store: &Store, batch: Vec<(Op, Reply)>) -> (Answers, u64) {
    let now = Timestamp::now();
    let (ops, replies): (Vec<Op>, Vec<Reply>) = batch.into_iter().unzip();
    if ops.len() > 1 {
        let together = store.write_now(Commit::Durable, |tx| {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops.iter().cloned() {
                match change::write(tx, op, now) {
                    // part of this op may be written: abort, and try each op alone below
                    Err(LifecycleError::Store(e)) => return Err(e),
                    result => results.push(result),
                }
            }
            Ok(results)
        });
        if let Ok(results) = together {
            return (results.into_iter().zip(replies).collect(), 1);
        }
    }
    let mut commits = 0;
    let results = ops
        .into_iter()
        .map(|op| {
            let result = store.write_now(Commit::Durable, |tx| change::write(tx, op, now));
            commits += u64::from(result.is_ok());
            result
        })
        .collect::<Vec<_>>();
    (results.into_iter().zip(replies).collect(), commits)
}
