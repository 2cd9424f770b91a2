//! The "batches" worker: keeps every running batch going. Each round it records the end of
//! rows in flight (from the store, woken by the lifecycle's events and re-checked every
//! second), then submits the next rows through [`generations::submit`] onto the batch's
//! board, at most `parallel` in flight and never past the budget. Its state is all in the
//! store, so a restart carries on where it was.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};

use crate::domain::audit::AuditAction;
use crate::domain::batch::{Batch, BatchRow, BatchState, RowState, StopReason};
use crate::domain::generation::GenState;
use crate::domain::ids::{BatchId, GenerationId};
use crate::domain::time::Timestamp;
use crate::lifecycle::GenEvent;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::studio::generations;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::workers::{Context as WorkerContext, Worker, WorkerResult};

/// How often running batches are looked at even when no event came.
const RECHECK: Duration = Duration::from_secs(1);
/// How long the worker sleeps when no batch runs (a start wakes it sooner).
const IDLE: Duration = Duration::from_secs(5);

/// Wakes the runners at once (a batch started or resumed). Only a hint: they look every
/// few seconds anyway.
static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Asks the runner to look at the batches now.
pub fn wake() {
    WAKE.notify_waiters();
}

/// Starts the worker under the app's supervisor.
pub fn start(state: &AppState) {
    let worker = state.clone();
    state.workers.spawn(Worker::new("batches").grace(Duration::from_secs(2)), move |ctx| run(worker.clone(), ctx));
}

async fn run(state: AppState, ctx: WorkerContext) -> WorkerResult {
    let mut events = state.lifecycle.subscribe();
    while !ctx.is_stopping() {
        let woken = WAKE.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let active = state.store.read(store::batches::active).await.map_err(|e| format!("cannot read the running batches: {e}"))?;
        if !active.is_empty() {
            ctx.working();
            for id in &active {
                if let Err(e) = advance(&state, *id).await {
                    tracing::warn!(error = %e, batch = %id, "a batch could not be advanced; it is tried again");
                }
            }
            ctx.ran();
        }
        ctx.idle();
        let wait = if active.is_empty() { IDLE } else { RECHECK };
        tokio::select! {
            _ = woken => {}
            _ = a_job_ended(&mut events) => {}
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.stopped() => break,
        }
    }
    Ok(())
}

/// Returns when some generation ends (or events were missed).
async fn a_job_ended(events: &mut broadcast::Receiver<GenEvent>) {
    loop {
        match events.recv().await {
            Ok(e) if e.state.is_terminal() => return,
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// One round of one batch: record ended rows, submit what fits, store the outcome.
pub async fn advance(state: &AppState, id: BatchId) -> ServiceResult<()> {
    let Some(batch) = state.store.read(move |tx| store::batches::get(tx, id)).await? else { return Ok(()) };
    let owner = batch.owner;
    let Some(user) = state.store.read(move |tx| store::users::get(tx, owner)).await? else { return Ok(()) };
    let mut changed: Vec<(usize, BatchRow)> = Vec::new();
    let mut in_flight = 0;
    for (i, row) in batch.rows.iter().enumerate().filter(|(_, r)| r.state == RowState::Submitted) {
        match row_end(state, row).await? {
            Some(ended) => changed.push((i, ended)),
            None => in_flight += 1,
        }
    }
    let mut stop = None;
    if batch.state == BatchState::Running {
        stop = submit_next(state, &user, &batch, in_flight, &mut changed).await;
    }
    let ended_any = !changed.is_empty();
    if !ended_any && stop.is_none() && !batch.all_over() {
        return Ok(());
    }
    state
        .store
        .write(move |tx| {
            let Some(mut fresh) = store::batches::get(tx, id)? else { return Ok::<_, ServiceError>(()) };
            for (i, row) in changed {
                if let Some(slot) = fresh.rows.get_mut(i) {
                    *slot = row;
                }
            }
            if let Some(reason) = stop
                && fresh.state == BatchState::Running
            {
                fresh.state = BatchState::Stopped;
                fresh.stop_reason = Some(reason);
                let detail = format!("reason {}", reason.as_str());
                audit::record(tx, &Context::system(), AuditAction::BatchStopped, Some(fresh.id.to_string()), Some(detail))?;
            }
            finish_if_done(&mut fresh);
            fresh.updated_at = Timestamp::now();
            store::batches::put(tx, &fresh)?;
            Ok(())
        })
        .await
}

/// Stores these rows of a batch as they are now (its other rows and its state as stored).
async fn record(state: &AppState, id: BatchId, rows: Vec<(usize, BatchRow)>) -> ServiceResult<()> {
    state
        .store
        .write(move |tx| {
            if let Some(mut batch) = store::batches::get(tx, id)? {
                for (index, row) in rows {
                    if let Some(slot) = batch.rows.get_mut(index) {
                        *slot = row;
                    }
                }
                store::batches::put(tx, &batch)?;
            }
            Ok::<_, ServiceError>(())
        })
        .await
}

/// A started batch whose every row ended is finished.
fn finish_if_done(batch: &mut Batch) {
    if matches!(batch.state, BatchState::Running | BatchState::Stopped) && batch.all_over() {
        batch.state = BatchState::Finished;
        batch.stop_reason = None;
        batch.finished_at = Some(Timestamp::now());
    }
}

/// The row as it ended, when its generation did (`None`: still in flight).
async fn row_end(state: &AppState, row: &BatchRow) -> ServiceResult<Option<BatchRow>> {
    let Some(id) = row.generation else { return Ok(None) };
    let generation = state.store.read(move |tx| store::generations::get(tx, id)).await?;
    let mut ended = row.clone();
    match generation {
        Some(g) if g.deleted_at.is_none() && !g.state.is_terminal() => return Ok(None),
        Some(g) if g.deleted_at.is_none() && g.state == GenState::Succeeded => {
            ended.state = RowState::Succeeded;
            ended.cost = Some(g.cost);
        }
        Some(g) if g.deleted_at.is_none() => {
            ended.state = RowState::Failed;
            ended.cost = Some(0);
            ended.error = Some(g.reason.map_or_else(|| g.state.as_str().to_string(), |r| r.message));
        }
        _ => {
            ended.state = RowState::Failed;
            ended.error = Some("its generation was deleted".into());
        }
    }
    Ok(Some(ended))
}

/// Submits pending rows while fewer than `parallel` are in flight and the next one's price
/// fits in the budget; returns why the batch must stop, if it must.
async fn submit_next(
    state: &AppState,
    user: &crate::domain::user::User,
    batch: &Batch,
    mut in_flight: usize,
    changed: &mut Vec<(usize, BatchRow)>,
) -> Option<StopReason> {
    let ctx = Context::user(user.id, user.email.as_str(), Default::default());
    let mut committed = batch.committed();
    for (i, row) in batch.rows.iter().enumerate().filter(|(_, r)| r.state == RowState::Pending) {
        if in_flight >= usize::from(batch.parallel) {
            return None;
        }
        let Some(request) = &row.request else { continue };
        if batch.budget.is_some_and(|budget| committed + row.price > budget) {
            return Some(StopReason::Budget);
        }
        // a stop (or a deletion) since this round began ends it before the next submit
        let id = batch.id;
        if !matches!(state.store.read_now(|tx| store::batches::get(tx, id)), Ok(Some(b)) if b.state == BatchState::Running) {
            return None;
        }
        let mut next = row.clone();
        // the row's generation id is recorded before its submit, which a crash in between then
        // repeats under the same id: a row is submitted at most once
        let id = match row.generation {
            Some(id) => id,
            None => {
                let id = GenerationId::generate();
                next.generation = Some(id);
                let mut recorded = changed.clone();
                recorded.push((i, next.clone()));
                if record(state, batch.id, recorded).await.is_err() {
                    return None;
                }
                id
            }
        };
        let new = generations::NewGeneration { board: Some(batch.board), id: Some(id), ..super::to_request(request) };
        match generations::submit(state, &ctx, user, new).await {
            Ok(g) => {
                next.state = RowState::Submitted;
                next.generation = Some(g.id);
                next.error = None;
                in_flight += 1;
                committed += row.price;
                changed.push((i, next));
                // recorded at once (with the ends seen before it), so a crash before the round's
                // end does not submit it again
                if let Err(e) = record(state, batch.id, changed.clone()).await {
                    tracing::warn!(error = %e, batch = %batch.id, "a submitted row could not be recorded yet");
                }
            }
            Err(e @ (ServiceError::Credits(_) | ServiceError::SpendLimit(_) | ServiceError::AccountFrozen)) => {
                next.generation = None;
                next.error = Some(e.to_string());
                changed.push((i, next));
                return Some(StopReason::Credits);
            }
            Err(e @ (ServiceError::NotFound("board") | ServiceError::NotEditor)) => {
                next.generation = None;
                next.error = Some(e.to_string());
                changed.push((i, next));
                return Some(StopReason::Board);
            }
            // busy for now: the next round tries again
            Err(ServiceError::RateLimited { .. } | ServiceError::Busy { .. } | ServiceError::Store(_) | ServiceError::Internal(_)) => {
                return None;
            }
            Err(e) => {
                next.state = RowState::Failed;
                next.generation = None;
                next.error = Some(e.to_string());
                changed.push((i, next));
            }
        }
    }
    None
}
