//! The generation supervisor: starts jobs in order under global and per-connection limits,
//! drives each through the provider, takes custody of outputs, enforces deadlines, and on
//! start resumes whatever a crash interrupted. Every state change goes through the
//! [`lifecycle`](crate::lifecycle); the engine holds narrow handles ([`Parts`]), never the
//! application's whole state.

pub mod backoff;
pub mod callbacks;
pub mod custody;
mod job;
pub mod posters;
pub mod progress;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::domain::generation::Reason;
use crate::domain::ids::GenerationId;
use crate::lifecycle::{Change, Lifecycle};
use crate::metrics::Metrics;
use crate::providers::registry::SharedRegistry;
use crate::store::{self, Store};
use crate::vault::keyring::KeyRing;
use crate::vault::media::MediaDir;
use callbacks::Callbacks;

/// What the engine works with: the lifecycle for every state change, the store for reads,
/// the connections in force, the vault for custody, the metrics and the callback URLs.
pub struct Parts {
    pub lifecycle: Lifecycle,
    pub store: Store,
    pub registry: SharedRegistry,
    pub media: Arc<MediaDir>,
    pub keyring: Arc<KeyRing>,
    pub metrics: Arc<Metrics>,
    pub callbacks: Callbacks,
}

/// Jobs past Queued that may be in flight at once across all connections.
pub const GLOBAL_IN_FLIGHT: usize = 10_000;

enum Command {
    Start(GenerationId),
    Cancel(GenerationId),
    Finished(GenerationId),
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// A running job: its cancel flag and the handles that stop its tasks at shutdown.
struct RunningJob {
    cancel: watch::Sender<bool>,
    tasks: [tokio::task::AbortHandle; 2],
}

/// A handle to the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    parts: Arc<Parts>,
    commands: mpsc::UnboundedSender<Command>,
    receiver: Arc<std::sync::Mutex<Option<mpsc::UnboundedReceiver<Command>>>>,
    nudges: Arc<Nudges>,
    progress: Arc<progress::ProgressBoard>,
}

/// The jobs waiting for their next poll, by connection and upstream id, so a provider's
/// callback can wake the right one early.
#[derive(Default)]
struct Nudges(std::sync::Mutex<HashMap<(String, String), Arc<tokio::sync::Notify>>>);

/// Keeps a job reachable by [`Engine::nudge`] while it polls; unregisters on drop.
pub(crate) struct NudgeGuard {
    nudges: Arc<Nudges>,
    key: (String, String),
    pub(crate) notify: Arc<tokio::sync::Notify>,
}

impl Drop for NudgeGuard {
    fn drop(&mut self) {
        self.nudges.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
    }
}

impl Engine {
    pub fn new(parts: Parts) -> Engine {
        let (commands, receiver) = mpsc::unbounded_channel();
        Engine {
            parts: Arc::new(parts),
            commands,
            receiver: Arc::new(std::sync::Mutex::new(Some(receiver))),
            nudges: Arc::default(),
            progress: Arc::default(),
        }
    }

    /// Wakes the job on `connection` whose upstream id is `upstream` for an early poll;
    /// `false` when no such job is polling.
    pub fn nudge(&self, connection: &str, upstream: &str) -> bool {
        let nudges = self.nudges.0.lock().unwrap_or_else(|p| p.into_inner());
        match nudges.get(&(connection.to_string(), upstream.to_string())) {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        }
    }

    /// Builds and checks the connections' callback URLs.
    pub fn callbacks(&self) -> &Callbacks {
        &self.parts.callbacks
    }

    /// Where polling jobs note their progress (recorded about once a second).
    pub fn progress_board(&self) -> Arc<progress::ProgressBoard> {
        self.progress.clone()
    }

    /// Registers a polling job for [`Engine::nudge`].
    pub(crate) fn polling(&self, connection: &str, upstream: &str) -> NudgeGuard {
        let key = (connection.to_string(), upstream.to_string());
        let notify = Arc::new(tokio::sync::Notify::new());
        self.nudges.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), notify.clone());
        NudgeGuard { nudges: self.nudges.clone(), key, notify }
    }

    /// Asks the supervisor to run a queued generation.
    pub fn start(&self, id: GenerationId) {
        let _ = self.commands.send(Command::Start(id));
    }

    /// Asks the supervisor to cancel a running generation.
    pub fn cancel(&self, id: GenerationId) {
        let _ = self.commands.send(Command::Cancel(id));
    }

    /// Stops every job task (they resume from the store at the next start) and the
    /// supervisor, so the store can close.
    pub async fn shutdown(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Shutdown(done)).is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), wait).await;
        }
    }

    /// Starts the supervisor (once): it resumes every unfinished generation, then serves
    /// commands until the process stops.
    pub fn spawn(&self) -> Option<JoinHandle<()>> {
        let receiver = self.receiver.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(tokio::spawn(supervise(self.clone(), receiver)))
    }
}

async fn supervise(engine: Engine, mut commands: mpsc::UnboundedReceiver<Command>) {
    let global = Arc::new(Semaphore::new(GLOBAL_IN_FLIGHT));
    let mut running: HashMap<GenerationId, RunningJob> = HashMap::new();
    let progress = tokio::spawn(progress::flush_loop(engine.progress.clone(), engine.parts.lifecycle.clone()));
    match engine.parts.store.read(store::generations::active).await {
        Ok(mut active) => {
            active.sort_by_key(|g| g.id);
            if !active.is_empty() {
                tracing::info!(jobs = active.len(), "resuming unfinished generations");
            }
            for g in active {
                spawn_job(&engine, &global, &mut running, g.id, true);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read unfinished generations"),
    }
    tracing::debug!("engine supervisor running");
    while let Some(command) = commands.recv().await {
        match command {
            Command::Start(id) => {
                if !running.contains_key(&id) {
                    spawn_job(&engine, &global, &mut running, id, false);
                }
            }
            Command::Cancel(id) => {
                if let Some(job) = running.get(&id) {
                    let _ = job.cancel.send(true);
                }
            }
            Command::Finished(id) => {
                running.remove(&id);
            }
            Command::Shutdown(done) => {
                for job in running.values() {
                    job.tasks.iter().for_each(tokio::task::AbortHandle::abort);
                }
                progress.abort();
                drop(engine);
                let _ = done.send(());
                return;
            }
        }
    }
}

fn spawn_job(engine: &Engine, global: &Arc<Semaphore>, running: &mut HashMap<GenerationId, RunningJob>, id: GenerationId, resumed: bool) {
    let (cancel, cancel_rx) = watch::channel(false);
    let worker = tokio::spawn(job::run(engine.clone(), global.clone(), id, resumed, cancel_rx));
    let worker_abort = worker.abort_handle();
    let engine = engine.clone();
    let watcher = tokio::spawn(async move {
        if let Err(e) = worker.await
            && e.is_panic()
        {
            // the panic boundary: the job ends failed and its hold is released
            tracing::error!(generation = %id, "a generation job panicked");
            let reason = Reason::new("internal", "An internal error stopped this generation; its credits were released.");
            let _ = engine.parts.lifecycle.apply(id, Change::Failed(reason)).await;
        }
        let _ = engine.commands.send(Command::Finished(id));
    });
    running.insert(id, RunningJob { cancel, tasks: [worker_abort, watcher.abort_handle()] });
}
