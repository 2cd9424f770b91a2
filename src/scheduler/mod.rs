//! The internal scheduler: cron expressions from `[schedule]` decide when periodic work is
//! enqueued; one worker task does the work, one job at a time, never inside a request.
//! Requests and the admin socket enqueue too ([`Scheduler::enqueue`]), data exports among
//! them. At shutdown the ticker stops and the worker finishes its job (or is cut off after a
//! grace period; an export is cut off at once): every job is crash-safe, the next run
//! finishes it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use crate::services::{export, retention};
use crate::state::AppState;

/// How long shutdown waits for a job in progress.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Work the scheduler runs.
#[derive(Debug, Clone)]
pub enum Job {
    /// A retention sweep (with the orphan-file GC); the string names what asked for it.
    Retention(&'static str),
    /// Writing a person's queued data export.
    Export(UserId),
}

/// The handle kept in the app state.
#[derive(Clone)]
pub struct Scheduler {
    jobs: mpsc::UnboundedSender<Job>,
    receiver: Arc<Mutex<Option<mpsc::UnboundedReceiver<Job>>>>,
    stop: Arc<watch::Sender<bool>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    pub fn new() -> Scheduler {
        let (jobs, receiver) = mpsc::unbounded_channel();
        Scheduler { jobs, receiver: Arc::new(Mutex::new(Some(receiver))), stop: Arc::new(watch::channel(false).0), tasks: Arc::default() }
    }

    /// Queues a job for the worker; `false` when the scheduler is not running.
    pub fn enqueue(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok() && self.receiver.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Starts the ticker and the worker (once).
    pub fn spawn(&self, state: AppState) {
        let Some(receiver) = self.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.push(tokio::spawn(work(state.clone(), receiver, self.stop.subscribe())));
        if let Some(schedule) = state.config.schedule.retention_schedule() {
            tasks.push(tokio::spawn(tick(schedule, self.jobs.clone(), self.stop.subscribe())));
        }
    }

    /// Stops the ticker and lets the worker finish its job.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for mut task in tasks {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                tracing::warn!("a scheduled job did not finish in time; the next run completes it");
                task.abort();
            }
        }
    }
}

/// Sleeps until each time the schedule names, then enqueues a sweep.
async fn tick(schedule: cron::Schedule, jobs: mpsc::UnboundedSender<Job>, mut stop: watch::Receiver<bool>) {
    while let Some(next) = schedule.upcoming(chrono::Utc).next() {
        let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {
                if jobs.send(Job::Retention("schedule")).is_err() {
                    return;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Runs queued jobs one at a time until shutdown.
async fn work(state: AppState, mut jobs: mpsc::UnboundedReceiver<Job>, mut stop: watch::Receiver<bool>) {
    loop {
        let job = tokio::select! {
            job = jobs.recv() => match job { Some(job) => job, None => return },
            _ = stop.changed() => return,
        };
        match job {
            Job::Retention(trigger) => {
                if let Err(e) = retention::run(&state, trigger, Timestamp::now()).await {
                    tracing::error!(error = %e, trigger, "retention sweep failed; the next run continues it");
                }
            }
            // An export may take long: shutdown does not wait for it (it starts again at the next start).
            Job::Export(owner) => tokio::select! {
                outcome = export::run(&state, owner) => if let Err(e) = outcome {
                    tracing::error!(error = %e, user = %owner, "an export failed");
                },
                _ = stop.changed() => {
                    tracing::info!(user = %owner, "an export was stopped by the shutdown; it starts again at the next start");
                    return;
                }
            },
        }
    }
}
