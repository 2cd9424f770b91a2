//! The generation supervisor: starts jobs in order under global and per-connection limits,
//! drives each through the provider, takes custody of outputs, enforces deadlines, and on
//! start resumes whatever a crash interrupted. Every state change goes through the
//! [`lifecycle`](crate::lifecycle); the engine holds narrow handles ([`Parts`]), never the
//! application's whole state.

mod backoff;
pub mod callbacks;
mod custody;
pub mod ends;
mod job;
mod pollers;
pub mod posters;
mod progress;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, watch};

use crate::domain::generation::Reason;
use crate::domain::ids::GenerationId;
use crate::lifecycle::{Change, Lifecycle};
use crate::metrics::Metrics;
use crate::providers::registry::SharedRegistry;
use crate::store::{self, Store};
use crate::vault::keyring::KeyRing;
use crate::vault::media_in_force::MediaInForce;
use crate::workers::{Context, Supervisor, Worker, WorkerResult};
use callbacks::Callbacks;

/// What the engine works with: the lifecycle for every state change, the store for reads,
/// the connections in force, the vault for custody, the metrics and the callback URLs.
pub struct Parts {
    pub lifecycle: Lifecycle,
    pub store: Store,
    pub registry: SharedRegistry,
    pub media: Arc<MediaInForce>,
    pub keyring: Arc<KeyRing>,
    pub metrics: Arc<Metrics>,
    pub callbacks: Callbacks,
}

/// Jobs past Queued that may be in flight at once across all connections.
pub const GLOBAL_IN_FLIGHT: usize = 10_000;

enum Command {
    /// Run a queued generation; `awaited`: its caller waits for its end (see
    /// [`Lifecycle::create_awaited`]), which goes there.
    Start {
        id: GenerationId,
        awaited: Option<tokio::sync::oneshot::Sender<ends::JobEnd>>,
    },
    Cancel(GenerationId),
    Finished(GenerationId),
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
    /// The supervisor's commands; held by the "engine" worker while it runs (and again after
    /// a restart).
    receiver: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Command>>>,
    /// Jobs in flight, kept across a restart of the "engine" worker so none runs twice.
    running: Arc<std::sync::Mutex<HashMap<GenerationId, RunningJob>>>,
    pollers: Arc<pollers::Pollers>,
    /// How long each model's jobs ran upstream lately (when to poll first).
    runtimes: Arc<pollers::Runtimes>,
    progress: Arc<progress::ProgressBoard>,
    /// Awaited jobs' ends not yet claimed by their callers.
    ends: Arc<ends::Ends>,
}

impl Engine {
    pub fn new(parts: Parts) -> Engine {
        let (commands, receiver) = mpsc::unbounded_channel();
        Engine {
            parts: Arc::new(parts),
            commands,
            receiver: Arc::new(tokio::sync::Mutex::new(receiver)),
            running: Arc::default(),
            pollers: Arc::default(),
            runtimes: Arc::default(),
            progress: Arc::default(),
            ends: Arc::default(),
        }
    }

    /// Wakes the job on `connection` whose upstream id is `upstream` for an early poll (a
    /// provider's callback); `false` when no such job is polling.
    pub fn nudge(&self, connection: &str, upstream: &str) -> bool {
        self.pollers.wake(connection, upstream)
    }

    /// Someone is looking at the running job on `connection` with upstream id `upstream`:
    /// polls it now when its last poll is older than half a second (`READ_POLL_GAP`) and the
    /// provider's own wait has passed, so a job is seen done about as soon as the provider is
    /// (without polling upstream more than twice a second, whoever reads).
    pub fn freshen(&self, connection: &str, upstream: &str) -> bool {
        self.pollers.wake_if_due(connection, upstream)
    }

    /// Builds and checks the connections' callback URLs.
    pub fn callbacks(&self) -> &Callbacks {
        &self.parts.callbacks
    }

    /// Where polling jobs note their progress (recorded about once a second).
    fn progress_board(&self) -> Arc<progress::ProgressBoard> {
        self.progress.clone()
    }

    /// How long `model`'s jobs ran upstream lately, once one has finished here.
    fn expected_runtime(&self, model: &str) -> Option<std::time::Duration> {
        self.runtimes.expected(model)
    }

    /// Notes that a job of `model` was done upstream `took` after its submit.
    fn note_runtime(&self, model: &str, took: std::time::Duration) {
        self.runtimes.record(model, took);
    }

    /// Registers a polling job for [`Engine::nudge`] and [`Engine::freshen`].
    fn polling(&self, connection: &str, upstream: &str) -> pollers::PollerGuard {
        self.pollers.register(connection, upstream)
    }

    /// Asks the supervisor to run a queued generation.
    pub fn start(&self, id: GenerationId) {
        let _ = self.commands.send(Command::Start { id, awaited: None });
    }

    /// [`Engine::start`] of a generation stored with [`Lifecycle::create_awaited`] (Submitting
    /// already; its success is its first durable write). Its end waits for the caller to
    /// [`Engine::claim_end`] it.
    pub fn start_awaited(&self, id: GenerationId) {
        let _ = self.commands.send(Command::Start { id, awaited: Some(self.ends.open(id)) });
    }

    /// The end of an awaited job (see [`Engine::start_awaited`]), once: the recorded generation
    /// and its outputs' bytes where custody kept them. `None` when there is none to claim (then
    /// read the store); a receiver that closes without an end means the same.
    pub fn claim_end(&self, id: GenerationId) -> Option<tokio::sync::oneshot::Receiver<ends::JobEnd>> {
        self.ends.claim(id)
    }

    /// Asks the supervisor to cancel a running generation.
    pub fn cancel(&self, id: GenerationId) {
        let _ = self.commands.send(Command::Cancel(id));
    }

    /// Starts the engine's workers: "progress", which records polling jobs' progress about
    /// once a second, and "engine", the supervisor, which resumes every unfinished generation
    /// and then serves commands. Stopping "engine" stops every job task; they resume from the
    /// store at the next start.
    pub fn run_under(&self, workers: &Supervisor) {
        let (board, lifecycle) = (self.progress.clone(), self.parts.lifecycle.clone());
        workers.spawn(Worker::new("progress"), move |ctx| progress::flush_loop(board.clone(), lifecycle.clone(), ctx));
        let engine = self.clone();
        workers.spawn(Worker::new("engine").grace(STOP_GRACE), move |ctx| supervise(engine.clone(), ctx));
    }
}

/// How long the engine's stop may take (it only aborts tasks).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

async fn supervise(engine: Engine, ctx: Context) -> WorkerResult {
    let mut commands = engine.receiver.clone().lock_owned().await;
    let global = Arc::new(Semaphore::new(GLOBAL_IN_FLIGHT));
    ctx.working();
    let active =
        engine.parts.store.read(store::generations::active).await.map_err(|e| format!("cannot read unfinished generations: {e}"))?;
    let mut active: Vec<GenerationId> = active.into_iter().map(|g| g.id).collect();
    active.sort();
    active.retain(|id| !engine.jobs().contains_key(id));
    if !active.is_empty() {
        tracing::info!(jobs = active.len(), "resuming unfinished generations");
    }
    for id in active {
        spawn_job(&engine, &global, id, job::Start::Resumed, ends::Ending::new(None));
    }
    ctx.ran();
    tracing::debug!("engine supervisor running");
    loop {
        let command = tokio::select! {
            command = commands.recv() => command,
            () = ctx.stopped() => None,
        };
        let Some(command) = command else { break };
        match command {
            Command::Start { id, awaited } => {
                if !engine.jobs().contains_key(&id) {
                    let start = if awaited.is_some() { job::Start::Awaited } else { job::Start::New };
                    spawn_job(&engine, &global, id, start, ends::Ending::new(awaited));
                }
            }
            Command::Cancel(id) => {
                if let Some(job) = engine.jobs().get(&id) {
                    let _ = job.cancel.send(true);
                }
            }
            Command::Finished(id) => {
                engine.jobs().remove(&id);
            }
        }
        ctx.ran();
    }
    for (_, job) in engine.jobs().drain() {
        job.tasks.iter().for_each(tokio::task::AbortHandle::abort);
    }
    Ok(())
}

impl Engine {
    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<GenerationId, RunningJob>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn spawn_job(engine: &Engine, global: &Arc<Semaphore>, id: GenerationId, start: job::Start, ending: ends::Ending) {
    let (cancel, cancel_rx) = watch::channel(false);
    let worker = tokio::spawn(job::run(engine.clone(), global.clone(), id, start, ending, cancel_rx));
    let worker_abort = worker.abort_handle();
    let finished = engine.clone();
    let watcher = tokio::spawn(async move {
        if let Err(e) = worker.await
            && e.is_panic()
        {
            // the panic boundary: the job ends failed and its hold is released
            tracing::error!(generation = %id, "a generation job panicked");
            let reason = Reason::new("internal", "An internal error stopped this generation; its credits were released.");
            let _ = finished.parts.lifecycle.apply(id, Change::Failed(reason)).await;
        }
        finished.ends.forget(id);
        let _ = finished.commands.send(Command::Finished(id));
    });
    engine.jobs().insert(id, RunningJob { cancel, tasks: [worker_abort, watcher.abort_handle()] });
}
