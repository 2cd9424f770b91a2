//! Supervised background work: every loop that runs beside the requests is a worker that one
//! [`Supervisor`] starts, watches, restarts and stops.
//!
//! A worker is a name, a few options ([`Worker`]) and a body: an async function that receives a
//! [`Context`] (the stop signal, and where it reports its rounds of work) and returns when asked
//! to stop. A body that returns an error or panics is started again after a backoff (1 s doubling
//! to 60 s by default, back to 1 s after a round that went well); one that returns `Ok` before a
//! stop was asked has finished its work and stays stopped. [`Supervisor::status`] shows every
//! worker (the admin page "Background work", `/api/v1/admin/workers` and `/metrics` read it);
//! [`Supervisor::shutdown`] stops them in the reverse order of their registration, joins each
//! and aborts (and reports) one that does not stop in time. Nothing is spawned and forgotten.
//!
//! Registering a worker:
//! ```ignore
//! state.workers.spawn(Worker::new("indexer").grace(Duration::from_secs(30)), move |mut ctx| {
//!     let state = state.clone();
//!     async move {
//!         while !ctx.is_stopping() {
//!             ctx.working();
//!             do_one_round(&state).await.map_err(|e| e.to_string())?;
//!             ctx.ran();
//!             if !ctx.sleep(Duration::from_secs(5)).await {
//!                 break;
//!             }
//!         }
//!         Ok(())
//!     }
//! });
//! ```
//! The body is called again at each restart, so what must outlive a restart (a queue's
//! receiver, say) is captured by the closure, not created in it. Register workers in the order
//! they should start (`app::background` does it for the instance): shutdown stops them in the
//! reverse order, so one that feeds another (the engine feeding the indexer's outbox) is
//! registered after it; [`Supervisor::stop`] stops one by name ahead of the others.

mod bounded;
mod context;
mod supervisor;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Serialize;

pub use bounded::{BoundedWork, Running, Tally};
pub use context::Context;
pub use supervisor::Supervisor;

use crate::domain::time::Timestamp;

/// What a worker's body returns: `Err` with a message makes the supervisor restart it.
pub type WorkerResult = Result<(), String>;

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Registered; its body has not run yet.
    Starting,
    /// Doing a round of work.
    Running,
    /// Waiting for work (or for its next round).
    Idle,
    /// Asked to stop; not stopped yet.
    Stopping,
    /// Stopped (at shutdown, or its work is done).
    Stopped,
    /// Did not stop by the shutdown deadline and was aborted.
    Failed,
    /// Its body failed; it starts again after a backoff.
    Restarting,
}

impl Health {
    /// The lower-case name shown on the page, in the API and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Running => "running",
            Health::Idle => "idle",
            Health::Stopping => "stopping",
            Health::Stopped => "stopped",
            Health::Failed => "failed",
            Health::Restarting => "restarting",
        }
    }

    /// Whether the worker is alive and able to work (running or waiting for work).
    pub fn is_up(self) -> bool {
        matches!(self, Health::Starting | Health::Running | Health::Idle)
    }
}

/// A snapshot of one worker, as [`Supervisor::status`] gives it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub name: &'static str,
    pub state: Health,
    /// When its body last started (first start or restart).
    pub started_at: Option<Timestamp>,
    /// When it last finished a round of work.
    pub last_run_at: Option<Timestamp>,
    /// Why its body last failed (kept after a restart, until the next failure replaces it).
    pub last_error: Option<String>,
    /// How often its body was started again after failing.
    pub restarts: u32,
}

/// A worker's name and options.
#[derive(Debug, Clone)]
pub struct Worker {
    name: &'static str,
    grace: Option<Duration>,
    first_backoff: Duration,
    max_backoff: Duration,
}

impl Worker {
    /// A worker called `name` (unique per supervisor), with the default backoff and no grace
    /// limit of its own (shutdown's deadline bounds it).
    pub fn new(name: &'static str) -> Worker {
        Worker { name, grace: None, first_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(60) }
    }

    /// The longest shutdown waits for this worker once it is asked to stop.
    pub fn grace(mut self, grace: Duration) -> Worker {
        self.grace = Some(grace);
        self
    }

    /// The wait before the first restart after a failure, doubling to at most `max`.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Worker {
        self.first_backoff = first;
        self.max_backoff = max.max(first);
        self
    }
}
