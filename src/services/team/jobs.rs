//! Work handed to background workers: the scheduler's jobs (retention sweeps, data exports)
//! and erasures. Requests and services enqueue here; the workers that consume the queues are
//! started at start-up (`crate::scheduler`, [`crate::services::privacy::erasure::start`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, mpsc};

use crate::domain::ids::UserId;

/// Work the scheduler runs, one job at a time.
#[derive(Debug, Clone)]
pub enum Job {
    /// A retention sweep (with the orphan-file GC); the string names what asked for it.
    Retention(&'static str),
    /// Writing a person's queued data export.
    Export(UserId),
    /// A refresh of the models connections' APIs list (capability discovery); the string
    /// names what asked for it.
    Discover(&'static str),
    /// Granting this month's allowances to whoever has not had theirs (idempotent).
    RenewAllowances,
    /// Expiring the approval requests nobody answered in time, releasing their holds.
    ExpireApprovals,
}

/// The queues of the app state; cheap to clone.
#[derive(Clone, Default)]
pub struct Jobs {
    /// The scheduler's jobs.
    pub scheduled: Queue<Job>,
    /// People whose queued erasure should run now.
    pub erasures: Queue<UserId>,
}

/// An unbounded queue with one consumer, which may restart without losing what is queued.
pub struct Queue<T> {
    sender: mpsc::UnboundedSender<T>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<T>>>,
    consumed: Arc<AtomicBool>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue { sender: self.sender.clone(), receiver: self.receiver.clone(), consumed: self.consumed.clone() }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Queue { sender, receiver: Arc::new(Mutex::new(receiver)), consumed: Arc::default() }
    }
}

impl<T> Queue<T> {
    /// Queues `item`; `false` when no worker consumes the queue yet (it waits for one).
    pub fn enqueue(&self, item: T) -> bool {
        self.sender.send(item).is_ok() && self.consumed.load(Ordering::SeqCst)
    }

    /// The consuming end, for the one worker that takes the queue (`None` after the first call).
    pub fn consumer(&self) -> Option<Consumer<T>> {
        (!self.consumed.swap(true, Ordering::SeqCst)).then(|| Consumer { receiver: self.receiver.clone() })
    }
}

/// The consuming end of a [`Queue`]; it survives its worker's restarts.
pub struct Consumer<T> {
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<T>>>,
}

impl<T> Clone for Consumer<T> {
    fn clone(&self) -> Self {
        Consumer { receiver: self.receiver.clone() }
    }
}

impl<T> Consumer<T> {
    /// The next queued item, waiting for one.
    pub async fn next(&self) -> Option<T> {
        self.receiver.lock().await.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_queue_accepts_work_once_a_consumer_takes_it() {
        let queue = Queue::<u32>::default();
        assert!(!queue.enqueue(1), "nobody consumes the queue yet");
        let consumer = queue.consumer().expect("the first consumer");
        assert!(queue.consumer().is_none(), "one consumer only");
        assert!(queue.enqueue(2));
        let consumer = consumer.clone();
        assert_eq!((consumer.next().await, consumer.next().await), (Some(1), Some(2)), "what waited comes first");
    }
}
