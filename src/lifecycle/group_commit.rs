//! Group commit: writes that arrive while a commit is under way wait for it, then go to the
//! disk together in one durable transaction; each caller still learns its own result, and
//! only once its write is durable.
//!
//! No task runs while nothing is written: the first writer to find the queue idle leads. It
//! commits what waits (its own write among it) right where it runs, holding its runtime worker
//! for the commit ([`crate::blocking::run_holding_worker`]: one commit at a time, the other
//! workers go on), and if others queued meanwhile hands the lead to a short-lived task that
//! commits batch after batch until the queue is empty. Each batch answers all its writers
//! before its leader goes on, and a leader that is dropped (a closed request) hands the lead
//! on, so no writer is ever stranded.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, oneshot};

use super::awaited::Awaited;
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
    /// Awaited jobs not in the store yet, whose reservations holds count.
    awaited: Arc<Awaited>,
}

/// Hands out the shared queue and resets it if a leader ends abnormally.
#[derive(Clone, Default)]
pub(super) struct GroupCommit(Arc<Mutex<Queue>>);

impl GroupCommit {
    pub(super) fn new(awaited: Arc<Awaited>) -> GroupCommit {
        GroupCommit(Arc::new(Mutex::new(Queue { awaited, ..Queue::default() })))
    }

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
            // the first writer commits what waits (its own write among it) itself, with no
            // task hop, then hands the lead on to a task if others queued meanwhile
            let leader = Leader { queue: self.clone(), store: store.clone(), events: events.clone(), handed_on: false };
            leader.commit_waiting().await;
            leader.hand_on();
        }
        answer.await.unwrap_or(Err(LifecycleError::Store(StoreError::TaskFailed)))
    }
}

/// Holds the lead: commits what waits, and hands the lead on when it is done or dropped.
struct Leader {
    queue: GroupCommit,
    store: Store,
    events: broadcast::Sender<GenEvent>,
    /// Set once the lead was given up or passed on.
    handed_on: bool,
}

impl Drop for Leader {
    fn drop(&mut self) {
        // reached when the leading caller stopped waiting: the batch under way still commits
        // and answers on its own thread; whatever waits behind it gets a leader of its own
        if !self.handed_on {
            self.pass_on();
        }
    }
}

impl Leader {
    /// Commits one batch of what waits (up to [`MAX_BATCH`]): `false` when nothing waited.
    /// The batch answers its writers as soon as it is durable (off a multi-thread runtime it
    /// runs on the blocking pool, and answers even if this future is dropped meanwhile).
    async fn commit_waiting(&self) -> bool {
        let batch = {
            let mut queue = self.queue.lock();
            let take = queue.waiting.len().min(MAX_BATCH);
            queue.waiting.drain(..take).collect::<Vec<_>>()
        };
        if batch.is_empty() {
            return false;
        }
        let (store, events, queue) = (self.store.clone(), self.events.clone(), self.queue.clone());
        let awaited = queue.lock().awaited.clone();
        // a panicking batch drops its senders: its writers see an error
        let _ = crate::blocking::run_holding_worker(move || {
            let (results, commits) = commit(&store, batch, &awaited);
            queue.lock().commits += commits;
            answer(&store, &events, &awaited, results);
        })
        .await;
        true
    }

    /// Gives the lead up when nothing waits, else passes it to a task of its own.
    fn hand_on(mut self) {
        self.pass_on();
    }

    fn pass_on(&mut self) {
        self.handed_on = true;
        let mut queue = self.queue.lock();
        if queue.waiting.is_empty() {
            queue.leading = false;
        } else {
            drop(queue);
            self.spawn_next();
        }
    }

    /// Starts a task that leads until the queue is empty (the lead stays taken meanwhile).
    fn spawn_next(&self) {
        let mut next = Leader { queue: self.queue.clone(), store: self.store.clone(), events: self.events.clone(), handed_on: false };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    while next.commit_waiting().await {}
                    next.hand_on();
                });
            }
            Err(_) => {
                // no runtime any more (it is shutting down): the waiting writes are answered
                // by their dropped senders
                next.handed_on = true;
                let mut queue = self.queue.lock();
                queue.waiting.clear();
                queue.leading = false;
            }
        }
    }
}

/// Tells the indexer and the webhook worker of what a batch wrote, publishes each change and
/// answers each writer.
fn answer(store: &Store, events: &broadcast::Sender<GenEvent>, awaited: &Awaited, results: Answers) {
    for (applied, _) in &results {
        if let Ok(applied) = applied {
            // an awaited job written by this batch is in the store now, its hold with it
            awaited.remove(applied.generation.id);
            announce(store, events, applied);
        }
    }
    for (result, reply) in results {
        let _ = reply.send(result);
    }
}

/// After a committed write: wakes the indexer (every write adds an outbox row) and the webhook
/// worker when it queued deliveries, and publishes the change. Wakes are cheap and coalesce.
fn announce(store: &Store, events: &broadcast::Sender<GenEvent>, applied: &Applied) {
    store.outbox_written();
    if applied.webhooks_queued {
        store.webhooks_queued();
    }
    let _ = events.send(GenEvent::of(&applied.generation));
}

/// Writes a batch in one durable transaction. Refused ops leave nothing behind, so the others
/// commit; if the transaction itself fails, each op is tried again alone, so one write's
/// trouble is never another's. Returns each op's result and how many commits it took.
fn commit(store: &Store, batch: Vec<(Op, Reply)>, awaited: &Awaited) -> (Answers, u64) {
    let now = Timestamp::now();
    let (ops, replies): (Vec<Op>, Vec<Reply>) = batch.into_iter().unzip();
    if ops.len() > 1 {
        let together = store.write_now(Commit::Durable, |tx| {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops.iter().cloned() {
                match change::write(tx, op, now, awaited) {
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
            let result = store.write_now(Commit::Durable, |tx| change::write(tx, op, now, awaited));
            commits += u64::from(result.is_ok());
            result
        })
        .collect::<Vec<_>>();
    (results.into_iter().zip(replies).collect(), commits)
}
