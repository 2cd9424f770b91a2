//! The supervisor: starts each worker's body on its own task, restarts it after a failure,
//! and stops every worker in order at shutdown.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::context::{Context, Record};
use super::{BoundedWork, Health, Worker, WorkerResult, WorkerStatus};
use crate::domain::time::Timestamp;

/// What a worker gets to stop once an earlier one has used the shutdown deadline up.
const LAST_MOMENT: Duration = Duration::from_millis(200);

/// One registered worker.
struct Entry {
    worker: Worker,
    record: Arc<Record>,
    stop: Arc<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Workers {
    /// In the order of registration.
    entries: Vec<Entry>,
    /// Set once shutdown began: nothing new starts.
    closed: bool,
}

/// Owns every background worker; cheap to clone (kept in the app state).
#[derive(Clone, Default)]
pub struct Supervisor {
    workers: Arc<Mutex<Workers>>,
    bounded: BoundedWork,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor::default()
    }

    /// The bounded work (archives, exports, backups) that runs beside the workers.
    pub fn bounded(&self) -> &BoundedWork {
        &self.bounded
    }

    /// Registers `worker` and starts `body` on a task of its own; `body` is called again for
    /// each restart. `false` (and nothing started) when a worker of that name exists or
    /// shutdown has begun. Must run inside a tokio runtime.
    pub fn spawn<F, Fut>(&self, worker: Worker, body: F) -> bool
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = WorkerResult> + Send + 'static,
    {
        let mut workers = self.lock();
        if workers.closed || workers.entries.iter().any(|e| e.worker.name == worker.name) {
            tracing::warn!(worker = worker.name, "a worker was not started: shutdown has begun or the name is taken");
            return false;
        }
        let record = Arc::new(Record {
            status: Mutex::new(WorkerStatus {
                name: worker.name,
                state: Health::Starting,
                started_at: None,
                last_run_at: None,
                last_error: None,
                restarts: 0,
            }),
        });
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(supervise(worker.clone(), record.clone(), stopping, body));
        workers.entries.push(Entry { worker, record, stop: Arc::new(stop), task: Some(task) });
        true
    }

    /// A snapshot of every worker, in the order of registration.
    pub fn status(&self) -> Vec<WorkerStatus> {
        self.lock().entries.iter().map(|e| e.record.snapshot()).collect()
    }

    /// Stops every worker, the last registered first: asks it to stop, then waits for its
    /// task until its own grace or `deadline` (whichever comes first; at least a moment) and
    /// aborts it after that (it is then reported `failed`). Returns the names of the workers
    /// aborted.
    pub async fn shutdown(&self, deadline: Duration) -> Vec<&'static str> {
        let until = Instant::now() + deadline;
        let stopping: Vec<Stopping> = {
            let mut workers = self.lock();
            workers.closed = true;
            workers.entries.iter_mut().rev().map(Stopping::take).collect()
        };
        let mut aborted = Vec::new();
        for worker in stopping {
            let name = worker.worker.name;
            if !worker.stop(until).await {
                aborted.push(name);
            }
        }
        aborted
    }

    /// Stops the worker called `name` ahead of the others (for a stop order of its own), like
    /// [`Supervisor::shutdown`] does; `false` when it had to be aborted.
    pub async fn stop(&self, name: &str, deadline: Duration) -> bool {
        let found = self.lock().entries.iter_mut().find(|e| e.worker.name == name).map(Stopping::take);
        match found {
            Some(worker) => worker.stop(Instant::now() + deadline).await,
            None => true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Workers> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A worker taken out of the registry to be stopped.
struct Stopping {
    worker: Worker,
    record: Arc<Record>,
    stop: Arc<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl Stopping {
    fn take(entry: &mut Entry) -> Stopping {
        Stopping { worker: entry.worker.clone(), record: entry.record.clone(), stop: entry.stop.clone(), task: entry.task.take() }
    }

    /// Asks the worker to stop and joins it by its grace or `until`; `false` when it had to
    /// be aborted.
    async fn stop(self, until: Instant) -> bool {
        let Stopping { worker, record, stop, task } = self;
        let Some(mut task) = task else { return true };
        record.update(|s| {
            if s.state != Health::Stopped {
                s.state = Health::Stopping;
            }
        });
        let _ = stop.send(true);
        let now = Instant::now();
        let own = worker.grace.map_or(until, |grace| now + grace);
        if tokio::time::timeout_at(own.min(until).max(now + LAST_MOMENT), &mut task).await.is_ok() {
            return true;
        }
        task.abort();
        let _ = task.await;
        tracing::warn!(worker = worker.name, "a worker did not stop in time and was aborted; its work continues at the next start");
        record.update(|s| {
            s.state = Health::Failed;
            s.last_error = Some("did not stop in time at shutdown; aborted".into());
        });
        false
    }
}

/// Runs `body` until it returns after a stop (or finishes its work), restarting it with
/// backoff after an error or a panic.
async fn supervise<F, Fut>(worker: Worker, record: Arc<Record>, stop: watch::Receiver<bool>, body: F)
where
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = WorkerResult> + Send + 'static,
{
    let mut backoff = worker.first_backoff;
    loop {
        let started = Timestamp::now();
        record.update(|s| {
            s.started_at = Some(started);
            if s.state != Health::Stopping {
                s.state = Health::Running;
            }
        });
        let context = Context::new(stop.clone(), record.clone());
        let outcome = AssertUnwindSafe(body(context.clone())).catch_unwind().await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(message),
            Err(panic) => Some(format!("panicked: {}", panic_message(&panic))),
        };
        if let Some(message) = &failure {
            tracing::error!(worker = worker.name, error = %message, "a worker failed");
        }
        let stopping = context.is_stopping();
        if failure.is_none() || stopping {
            record.update(|s| {
                s.state = Health::Stopped;
                if failure.is_some() {
                    s.last_error = failure;
                }
            });
            return;
        }
        let ran_since_start = record.snapshot().last_run_at.is_some_and(|at| at >= started);
        if ran_since_start {
            backoff = worker.first_backoff;
        }
        record.update(|s| {
            s.state = Health::Restarting;
            s.last_error = failure;
            s.restarts += 1;
        });
        if !context.sleep(backoff).await {
            record.update(|s| s.state = Health::Stopped);
            return;
        }
        backoff = (backoff * 2).min(worker.max_backoff);
    }
}

/// The message a panic carried, when it was a string.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(String::as_str)).unwrap_or("(no message)")
}
