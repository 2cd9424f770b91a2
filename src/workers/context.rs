//! What a worker's body holds: the stop signal, and where it reports its rounds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{Health, WorkerStatus};
use crate::domain::time::Timestamp;

/// A worker's shared record: its status, and whether a round went well since its last start.
pub(super) struct Record {
    pub(super) status: Mutex<WorkerStatus>,
}

impl Record {
    pub(super) fn update(&self, change: impl FnOnce(&mut WorkerStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(super) fn snapshot(&self) -> WorkerStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Handed to a worker's body at each start: the stop signal and its reports.
#[derive(Clone)]
pub struct Context {
    stop: watch::Receiver<bool>,
    record: Arc<Record>,
}

impl Context {
    pub(super) fn new(stop: watch::Receiver<bool>, record: Arc<Record>) -> Context {
        Context { stop, record }
    }

    /// Whether the worker was asked to stop.
    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once the worker is asked to stop (at once when it already was).
    pub async fn stopped(&self) {
        let mut stop = self.stop.clone();
        // a dropped supervisor counts as a stop
        let _ = stop.wait_for(|stopping| *stopping).await;
    }

    /// Waits `wait`; `false` when a stop was asked first.
    pub async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(wait) => !self.is_stopping(),
            _ = self.stopped() => false,
        }
    }

    /// The worker is doing a round of work.
    pub fn working(&self) {
        self.set(Health::Running);
    }

    /// The worker waits for work.
    pub fn idle(&self) {
        self.set(Health::Idle);
    }

    /// The worker finished a round of work: its last run is now, and it waits for the next.
    pub fn ran(&self) {
        let stopping = self.is_stopping();
        self.record.update(|s| {
            s.last_run_at = Some(Timestamp::now());
            if !stopping {
                s.state = Health::Idle;
            }
        });
    }

    fn set(&self, health: Health) {
        let stopping = self.is_stopping();
        self.record.update(|s| {
            if !stopping {
                s.state = health;
            }
        });
    }
}
