//! One generation's journey: wait for capacity, submit, poll, take custody, finish; with
//! cancellation, retries of transient errors, and the model's deadline as a watchdog.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::Engine;
use super::backoff::{error_delay, poll_delay};
use super::ends::Ending;
use super::{custody, pollers};
use crate::domain::generation::{GenState, Generation, OutputRef, ProviderUsage, Reason, UpstreamHandle};
use crate::domain::ids::GenerationId;
use crate::domain::time::Timestamp;
use crate::lifecycle::{Change, LifecycleError};
use crate::providers::inline::InlineOutputs;
use crate::providers::registry::Connection;
use crate::providers::{ProviderError, ProviderJob, ReferenceFile, SourceJob, UpstreamStatus};
use crate::store;

/// How the drive loop ended early.
enum Stop {
    /// The generation reached a terminal state (or vanished): nothing more to do.
    Done,
    /// It must end failed with this reason.
    Fail(Reason),
    /// The person cancelled it.
    Cancel,
}

impl From<LifecycleError> for Stop {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::AlreadyFinished | LifecycleError::NotFound => Stop::Done,
            other => {
                tracing::error!(error = %other, "recording a generation change failed");
                Stop::Fail(Reason::new("internal", "An internal error stopped this generation; its credits were released."))
            }
        }
    }
}

fn provider_reason(e: &ProviderError) -> Reason {
    Reason::new(e.code(), capitalise(&e.to_string()))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// How a job came to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Just submitted.
    New,
    /// Just submitted by a caller who waits for its end: stored Submitting already (see
    /// [`crate::lifecycle::Lifecycle::create_awaited`]), it goes to the provider once it has
    /// capacity.
    Awaited,
    /// Found unfinished at start-up: a crash or restart interrupted it.
    Resumed,
}

pub(super) async fn run(
    engine: Engine,
    global: Arc<Semaphore>,
    id: GenerationId,
    start: Start,
    mut ending: Ending,
    mut cancel: watch::Receiver<bool>,
) {
    // an awaited job is in memory until its first change writes it
    let found = match engine.parts.lifecycle.awaited(id) {
        Some(g) => Ok(Some(g)),
        None => engine.parts.store.read_now(|tx| store::generations::get(tx, id)),
    };
    let Ok(Some(g)) = found else {
        tracing::warn!(generation = %id, "a job was started for an unknown generation");
        return;
    };
    let _forget = ForgetAwaited(&engine.parts.lifecycle, id);
    tracing::debug!(generation = %id, state = %g.state, ?start, "job started");
    // a job waiting for an approver is started again when it is approved
    if g.state.is_terminal() || g.state == GenState::AwaitingApproval {
        return;
    }
    let Some(connection) = engine.parts.registry.current().connection(&g.connection) else {
        let stop = Stop::Fail(Reason::new("provider.unavailable", format!("The connection {:?} is no longer configured.", g.connection)));
        finish(&engine, id, stop, &mut ending).await;
        return;
    };
    let deadline = tokio::time::Instant::now() + Duration::from_millis((g.deadline_at.millis() - Timestamp::now().millis()).max(0) as u64);
    let outcome = tokio::time::timeout_at(deadline, drive(&engine, &global, &connection, g, start, &mut ending, &mut cancel)).await;
    let stop = match outcome {
        Ok(stop) => stop,
        Err(_) => {
            if let Ok(Some(g)) = engine.parts.store.read(move |tx| store::generations::get(tx, id)).await
                && let Some(handle) = &g.upstream
            {
                let _ = connection.provider.cancel(handle).await;
            }
            Stop::Fail(Reason::new("timeout", "The provider did not finish before the model's deadline; the credits were released."))
        }
    };
    finish(&engine, id, stop, &mut ending).await;
}

/// Forgets an awaited job still in memory when its run ends, however it ends: one whose
/// every write was refused leaves no trace and gives its reservation back.
struct ForgetAwaited<'a>(&'a crate::lifecycle::Lifecycle, GenerationId);

impl Drop for ForgetAwaited<'_> {
    fn drop(&mut self) {
        self.0.forget_awaited(self.1);
    }
}

/// Records how a job ended (failure or cancellation), releasing its hold, and tells a
/// waiting caller.
async fn finish(engine: &Engine, id: GenerationId, stop: Stop, ending: &mut Ending) {
    let change = match stop {
        Stop::Done => return,
        Stop::Fail(reason) => {
            engine.parts.metrics.job_failed(&reason.code);
            Change::Failed(reason)
        }
        Stop::Cancel => Change::Cancelled,
    };
    if let Ok(g) = engine.parts.lifecycle.apply(id, change).await {
        ending.send(g);
    }
}

async fn record(engine: &Engine, id: GenerationId, change: Change) -> Result<Generation, Stop> {
    Ok(engine.parts.lifecycle.apply(id, change).await?)
}

/// Waits for global and connection capacity, in arrival order, unless cancelled first.
async fn capacity(
    global: &Arc<Semaphore>,
    connection: &Connection,
    cancel: &mut watch::Receiver<bool>,
) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let permits = async {
        let g = global.clone().acquire_owned().await.ok()?;
        let c = connection.permits.clone().acquire_owned().await.ok()?;
        Some((g, c))
    };
    tokio::select! {
        p = permits => p,
        _ = cancel.wait_for(|c| *c) => None,
    }
}

async fn drive(
    engine: &Engine,
    global: &Arc<Semaphore>,
    connection: &Connection,
    mut g: Generation,
    start: Start,
    ending: &mut Ending,
    cancel: &mut watch::Receiver<bool>,
) -> Stop {
    let Some(_permits) = capacity(global, connection, cancel).await else { return Stop::Done };
    let id = g.id;
    let provider = connection.provider.clone();
    let mut interrupted_submit = start == Start::Resumed && g.state == GenState::Submitting;
    loop {
        let cancelled = *cancel.borrow();
        if g.cancel_requested || cancelled {
            if let Some(handle) = &g.upstream {
                let _ = provider.cancel(handle).await;
            }
            if g.state != GenState::Fetching {
                return Stop::Cancel;
            }
        }
        g = match g.state {
            GenState::Queued => match engine.parts.lifecycle.apply(id, Change::Submitting).await {
                Ok(next) => next,
                Err(e) => return e.into(),
            },
            GenState::Submitting => {
                if std::mem::take(&mut interrupted_submit) && !provider.idempotent_submit() {
                    return Stop::Fail(Reason::new(
                        "interrupted",
                        "The server restarted while sending this job and the provider cannot tell whether it arrived; the credits were released.",
                    ));
                }
                let job = match provider_job(engine, &g).await {
                    Ok(job) => job,
                    Err(reason) => return Stop::Fail(reason),
                };
                // a submit that timed out may have arrived: repeat it only where that is safe
                let retry = |e: &ProviderError| e.is_retryable() && (provider.idempotent_submit() || *e != ProviderError::Timeout);
                let submitted = match with_retries(cancel, connection.config.max_retries, retry, || provider.submit(&job)).await {
                    Ok(s) => s,
                    Err(Some(e)) => return Stop::Fail(provider_reason(&e)),
                    Err(None) => return Stop::Cancel,
                };
                let change = match submitted.status {
                    // outputs held in memory: custody now, and one write from Submitting to
                    // Succeeded (a Fetching write would keep nothing a restart could use)
                    UpstreamStatus::Succeeded { outputs, usage } if !outputs.is_empty() && outputs.iter().all(InlineOutputs::is_inline) => {
                        return Box::pin(answered(engine, connection, g, (submitted.handle, outputs, usage), ending)).await;
                    }
                    UpstreamStatus::Succeeded { outputs, usage } => Change::Fetching { handle: submitted.handle, outputs, usage },
                    UpstreamStatus::Pending { progress, .. } => Change::Running { handle: submitted.handle, progress },
                    UpstreamStatus::Failed(e) => return Stop::Fail(provider_reason(&e)),
                };
                match record(engine, id, change).await {
                    Ok(next) => next,
                    Err(stop) => return stop,
                }
            }
            GenState::Running => match Box::pin(poll_until_done(engine, connection, &g, cancel)).await {
                Ok(next) => next,
                Err(stop) => return stop,
            },
            GenState::Fetching => {
                // boxed: the custody future is large, and every job in flight would carry its size
                let taken = match Box::pin(custody::take(engine, connection, &g, ending)).await {
                    Ok(taken) => taken,
                    Err(reason) => {
                        // the job ends here either way: drop the upstream (or held) copy
                        if let Some(handle) = &g.upstream {
                            let _ = provider.delete_upstream(handle).await;
                        }
                        return Stop::Fail(reason);
                    }
                };
                let change = |taken: custody::Taken| Change::Succeeded { assets: taken.assets, sealed: taken.sealed };
                return succeed(engine, connection, (id, g.upstream.as_ref()), taken, change, ending).await;
            }
            // ended, or waiting for an approver (its approval queues it and starts a new job)
            GenState::Succeeded | GenState::Failed | GenState::Cancelled | GenState::AwaitingApproval => return Stop::Done,
        };
    }
}

/// Takes the outputs a synchronous API answered with into custody and records the success
/// in one write (see [`Change::Answered`]).
async fn answered(
    engine: &Engine,
    connection: &Connection,
    mut g: Generation,
    (handle, outputs, usage): (UpstreamHandle, Vec<OutputRef>, Option<ProviderUsage>),
    ending: &mut Ending,
) -> Stop {
    // custody reads the outputs and the handle from the generation as a Fetching one holds them
    g.upstream = Some(handle.clone());
    g.pending_outputs = outputs;
    let taken = match custody::take(engine, connection, &g, ending).await {
        Ok(taken) => taken,
        Err(reason) => {
            let _ = connection.provider.delete_upstream(&handle).await;
            return Stop::Fail(reason);
        }
    };
    let answer = handle.clone();
    let change = |taken: custody::Taken| Change::Answered { handle: answer, usage, assets: taken.assets, sealed: taken.sealed };
    // only this job's own write changes it: when the answer is recorded, so is the hand-over
    ending.handed_over = engine.parts.lifecycle.records_hand_over(g.id);
    succeed(engine, connection, (g.id, Some(&handle)), taken, change, ending).await
}

/// Records a success whose files are in custody (the change made of `assets`), tells a
/// waiting caller, then drops the provider's copy; when the record fails, the files it would
/// have named are removed.
async fn succeed(
    engine: &Engine,
    connection: &Connection,
    (id, upstream): (GenerationId, Option<&UpstreamHandle>),
    taken: custody::Taken,
    change: impl FnOnce(custody::Taken) -> Change,
    ending: &mut Ending,
) -> Stop {
    let ids: Vec<String> = taken.assets.iter().map(|a| a.id.to_string()).collect();
    let outputs = taken.assets.clone();
    match record(engine, id, change(taken)).await {
        Ok(g) => {
            ending.send(g);
            // image thumbnails after the success, off the path of whoever waits for it
            tokio::spawn(super::posters::after_success(engine.clone(), outputs));
            if let Some(handle) = upstream
                && let Ok(true) = connection.provider.delete_upstream(handle).await
            {
                engine.parts.lifecycle.record_upstream_deletion(id).await;
            }
            Stop::Done
        }
        Err(stop) => {
            // the custody files were not recorded: remove them
            for asset in ids {
                let _ = engine.parts.media.delete(&asset).await;
            }
            stop
        }
    }
}

/// Polls a running job until it succeeds (-> Fetching), fails, is cancelled or errors out.
async fn poll_until_done(
    engine: &Engine,
    connection: &Connection,
    g: &Generation,
    cancel: &mut watch::Receiver<bool>,
) -> Result<Generation, Stop> {
    let Some(handle) = g.upstream.clone() else {
        return Err(Stop::Fail(Reason::new("internal", "The job has no upstream handle.")));
    };
    let mut attempt = 0u32;
    let mut errors = 0u32;
    let mut delay = poll_delay(0, None).min(Duration::from_millis(500));
    let mut progress = g.progress;
    let guard = engine.polling(&connection.config.name, &handle.id);
    let board = engine.progress_board();
    // the upstream clock: since the submit (a resumed job counts from its stored submit time)
    let submitted =
        g.submitted_at.map_or(Duration::ZERO, |t| Duration::from_millis((Timestamp::now().millis() - t.millis()).max(0) as u64));
    let started = std::time::Instant::now() - submitted;
    let expected = engine.expected_runtime(&g.model);
    loop {
        let delay_now = pollers::next_poll(delay, started.elapsed(), expected);
        let cancelled = tokio::select! {
            _ = tokio::time::sleep(delay_now) => false,
            _ = guard.poller.notify.notified() => false,
            _ = cancel.wait_for(|c| *c) => true,
        };
        if cancelled {
            let _ = connection.provider.cancel(&handle).await;
            return Err(Stop::Cancel);
        }
        let polled = connection.provider.poll(&handle).await;
        let hint = match &polled {
            Ok(UpstreamStatus::Pending { poll_after, .. }) => *poll_after,
            Err(e) => e.retry_after(),
            Ok(_) => None,
        };
        guard.poller.polled(hint);
        match polled {
            Ok(UpstreamStatus::Pending { progress: p, poll_after }) => {
                errors = 0;
                attempt += 1;
                delay = poll_delay(attempt, poll_after);
                if let Some(now) = p.filter(|_| p != progress) {
                    progress = p;
                    board.note(g.id, now);
                }
            }
            Ok(UpstreamStatus::Succeeded { outputs, usage }) => {
                engine.note_runtime(&g.model, started.elapsed());
                return record(engine, g.id, Change::Fetching { handle: handle.clone(), outputs, usage }).await;
            }
            Ok(UpstreamStatus::Failed(e)) => return Err(Stop::Fail(provider_reason(&e))),
            Err(e) if e.is_retryable() && errors < connection.config.max_retries => {
                errors += 1;
                delay = error_delay(errors, e.retry_after());
                tracing::warn!(generation = %g.id, error = %e, "poll failed; retrying");
            }
            Err(e) => return Err(Stop::Fail(provider_reason(&e))),
        }
    }
}

/// Runs `call`, repeating it after errors `retry` accepts. `Err(None)` means cancelled meanwhile.
async fn with_retries<T, F, Fut>(
    cancel: &mut watch::Receiver<bool>,
    max_retries: u32,
    retry: impl Fn(&ProviderError) -> bool,
    mut call: F,
) -> Result<T, Option<ProviderError>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let mut errors = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if retry(&e) && errors < max_retries => {
                errors += 1;
                let cancelled = tokio::select! {
                    _ = tokio::time::sleep(error_delay(errors, e.retry_after())) => false,
                    _ = cancel.wait_for(|c| *c) => true,
                };
                if cancelled {
                    return Err(None);
                }
            }
            Err(e) => return Err(Some(e)),
        }
    }
}

/// Builds what the provider receives: the prompt, parameters and decrypted references.
async fn provider_job(engine: &Engine, g: &Generation) -> Result<ProviderJob, Reason> {
    let mut references = Vec::new();
    for r in &g.references {
        let upload = r.upload;
        let asset = engine.parts.store.read(move |tx| store::assets::get(tx, upload)).await.ok().flatten();
        let Some(asset) = asset else {
            return Err(Reason::new("reference_missing", "A reference file of this generation was deleted."));
        };
        let bytes = custody::read_all(engine, &asset)
            .await
            .map_err(|e| Reason::new("reference_missing", format!("A reference file could not be read: {e}")))?;
        references.push(ReferenceFile { role: r.role, content_type: asset.content_type.clone(), bytes, tag: r.tag.clone() });
    }
    let registry = engine.parts.registry.current();
    let spec = registry.model(&g.model);
    let output_count = spec.map(|m| m.output_count(&g.params)).unwrap_or(1);
    Ok(ProviderJob {
        generation: g.id,
        model: g.model.clone(),
        upstream_model: g
            .made_with
            .as_ref()
            .map(|w| w.upstream.clone())
            .or_else(|| spec.map(|m| m.upstream.clone()))
            .unwrap_or_else(|| g.model.clone()),
        kind: g.kind,
        prompt: g.prompt.clone(),
        negative_prompt: g.negative_prompt.clone(),
        params: g.params.clone(),
        references,
        output_count,
        callback_url: engine.parts.callbacks.url(&g.connection),
        source: source_job(engine, g).await,
        operation: spec.and_then(|m| m.operation),
    })
}

/// The upstream job behind `g`'s source output, when it ran through the same connection (an
/// API that continues a job by its id accepts no other account's job).
async fn source_job(engine: &Engine, g: &Generation) -> Option<SourceJob> {
    let id = g.source?;
    let source = engine.parts.store.read(move |tx| store::generations::get(tx, id)).await.ok().flatten()?;
    if source.connection != g.connection {
        return None;
    }
    let upstream_model = source.made_with.as_ref().map_or_else(|| source.model.clone(), |w| w.upstream.clone());
    Some(SourceJob { upstream_model, handle: source.upstream? })
}
