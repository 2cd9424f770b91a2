//! Batches: a manifest (and a ZIP of references) becomes a draft with its dry run; started
//! with a budget and a parallelism, the "batches" worker ([`runner`]) submits its rows
//! through the normal queue onto a board; stopped, resumed, deleted, exported, erased.

mod dry_run;
pub mod manifest;
pub mod runner;
pub mod zip_files;

use crate::domain::audit::AuditAction;
use crate::domain::batch::{self as rules, Batch, BatchState, RowState};
use crate::domain::ids::{BatchId, BoardId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::studio::boards;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, StoreError, Tx};

pub use dry_run::to_request;

/// A new batch, as the upload form and the API give it.
#[derive(Default)]
pub struct NewBatch {
    pub name: String,
    pub manifest: Vec<u8>,
    /// A ZIP of the reference files rows name.
    pub references: Option<Vec<u8>>,
    /// A board the person edits; else a new one named after the batch is made.
    pub board: Option<BoardId>,
    pub budget: Option<u64>,
    pub parallel: Option<u8>,
}

/// What may change when a batch starts or resumes (`None` keeps it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// A new cap; `Some(None)` removes it.
    pub budget: Option<Option<u64>>,
    pub parallel: Option<u8>,
}

fn check_limits(limits: Limits) -> ServiceResult<()> {
    if let Some(parallel) = limits.parallel
        && !(1..=rules::MAX_PARALLEL).contains(&parallel)
    {
        return Err(ServiceError::InvalidMessage(format!("parallel is from 1 to {}", rules::MAX_PARALLEL)));
    }
    Ok(())
}

fn apply_limits(batch: &mut Batch, limits: Limits) {
    if let Some(budget) = limits.budget {
        batch.budget = budget;
    }
    if let Some(parallel) = limits.parallel {
        batch.parallel = parallel;
    }
}

/// Reads the manifest and the ZIP, checks and prices every row as a submit would, and
/// stores the batch as a draft (with a new board named after it when none is given). A
/// manifest or ZIP that cannot be read is 422; a board the person only views is 403.
pub async fn create(state: &AppState, ctx: &Context, user: &User, new: NewBatch) -> ServiceResult<Batch> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let limits = Limits { budget: Some(new.budget), parallel: Some(new.parallel.unwrap_or(rules::DEFAULT_PARALLEL)) };
    check_limits(limits)?;
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > rules::MAX_NAME_CHARS {
        return Err(ServiceError::InvalidMessage(format!("name the batch (at most {} characters)", rules::MAX_NAME_CHARS)));
    }
    if let Some(board) = new.board
        && !boards::role(state, user, board).await?.can_edit()
    {
        return Err(ServiceError::NotEditor);
    }
    let rows = manifest::parse(&new.manifest)?;
    let files = match new.references {
        Some(zip) => {
            let max_file = state.config.limits.largest_upload();
            tokio::task::spawn_blocking(move || zip_files::read(zip, max_file))
                .await
                .map_err(|e| ServiceError::Internal(format!("reading the references ZIP failed: {e}")))??
        }
        None => Default::default(),
    };
    let mut files = dry_run::ZipFiles::new(files);
    let mut checked = Vec::with_capacity(rows.len());
    for row in rows {
        checked.push(dry_run::check_row(state, user, row, &mut files).await);
    }
    let board = match new.board {
        Some(board) => board,
        None => boards::create_as(state, ctx, user, name.clone(), String::new()).await?.id,
    };
    let now = Timestamp::now();
    let mut batch = Batch {
        id: BatchId::generate(),
        owner: user.id,
        name,
        board,
        state: BatchState::Draft,
        stop_reason: None,
        budget: None,
        parallel: rules::DEFAULT_PARALLEL,
        rows: checked,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
    };
    apply_limits(&mut batch, limits);
    let stored = batch.clone();
    state.store.write(move |tx| store::batches::put(tx, &stored)).await?;
    Ok(batch)
}

/// One of `user`'s batches; another person's is not found.
pub async fn get(state: &AppState, user: &User, id: BatchId) -> ServiceResult<Batch> {
    let owner = user.id;
    state.store.read(move |tx| store::batches::get(tx, id)).await?.filter(|b| b.owner == owner).ok_or(ServiceError::NotFound("batch"))
}

/// `user`'s batches, newest first.
pub async fn list(state: &AppState, user: &User) -> ServiceResult<Vec<Batch>> {
    let owner = user.id;
    Ok(state.store.read(move |tx| store::batches::list_for_owner(tx, owner)).await?)
}

/// Changes one of `user`'s batches in one transaction with its audit record (when given).
async fn change<F>(state: &AppState, ctx: &Context, user: &User, id: BatchId, action: Option<AuditAction>, f: F) -> ServiceResult<Batch>
where
    F: FnOnce(&mut Batch) -> ServiceResult<()> + Send + 'static,
{
    let (owner, ctx) = (user.id, ctx.clone());
    let batch = state
        .store
        .write(move |tx| {
            let mut batch = store::batches::get(tx, id)?.filter(|b| b.owner == owner).ok_or(ServiceError::NotFound("batch"))?;
            f(&mut batch)?;
            batch.updated_at = Timestamp::now();
            store::batches::put(tx, &batch)?;
            if let Some(action) = action {
                let detail = format!("budget {}, parallel {}", batch.budget.map_or("none".into(), |b| b.to_string()), batch.parallel);
                audit::record(tx, &ctx, action, Some(batch.id.to_string()), Some(detail))?;
            }
            Ok::<_, ServiceError>(batch)
        })
        .await?;
    runner::wake();
    Ok(batch)
}

/// Starts a draft: rows are submitted until every valid one ran, or the next one's price
/// would take the submitted rows' total past the budget (the batch then stops, `budget`).
pub async fn start(state: &AppState, ctx: &Context, user: &User, id: BatchId, limits: Limits) -> ServiceResult<Batch> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    check_limits(limits)?;
    change(state, ctx, user, id, Some(AuditAction::BatchStarted), move |batch| {
        if batch.state != BatchState::Draft {
            return Err(ServiceError::Conflict("this batch has already started"));
        }
        if batch.count(RowState::Pending) == 0 {
            return Err(ServiceError::Conflict("this batch has no valid rows to run"));
        }
        apply_limits(batch, limits);
        batch.state = BatchState::Running;
        batch.started_at = Some(Timestamp::now());
        Ok(())
    })
    .await
}

/// Stops a running batch: nothing new is submitted; rows in flight finish.
pub async fn stop(state: &AppState, ctx: &Context, user: &User, id: BatchId) -> ServiceResult<Batch> {
    change(state, ctx, user, id, Some(AuditAction::BatchStopped), |batch| {
        if batch.state != BatchState::Running {
            return Err(ServiceError::Conflict("only a running batch can be stopped"));
        }
        batch.state = BatchState::Stopped;
        batch.stop_reason = Some(rules::StopReason::Asked);
        Ok(())
    })
    .await
}

/// Resumes a stopped batch (optionally with a new budget or parallelism).
pub async fn resume(state: &AppState, ctx: &Context, user: &User, id: BatchId, limits: Limits) -> ServiceResult<Batch> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    check_limits(limits)?;
    change(state, ctx, user, id, Some(AuditAction::BatchResumed), move |batch| {
        if batch.state != BatchState::Stopped {
            return Err(ServiceError::Conflict("only a stopped batch can be resumed"));
        }
        apply_limits(batch, limits);
        batch.state = BatchState::Running;
        batch.stop_reason = None;
        Ok(())
    })
    .await
}

/// Deletes a draft, a finished batch or a stopped one with nothing in flight; its
/// generations and board stay.
pub async fn delete(state: &AppState, user: &User, id: BatchId) -> ServiceResult<()> {
    let owner = user.id;
    state
        .store
        .write(move |tx| {
            let batch = store::batches::get(tx, id)?.filter(|b| b.owner == owner).ok_or(ServiceError::NotFound("batch"))?;
            if batch.state == BatchState::Running || batch.in_flight() > 0 {
                return Err(ServiceError::Conflict("stop the batch and let its rows in flight finish before deleting it"));
            }
            store::batches::remove(tx, &batch)?;
            Ok(())
        })
        .await
}

/// `person`'s batches as their data export lists them.
pub fn export_records(tx: &impl Tx, person: UserId) -> Result<Vec<serde_json::Value>, StoreError> {
    Ok(store::batches::list_for_owner(tx, person)?
        .iter()
        .map(|b| {
            serde_json::json!({
                "id": b.id.to_string(),
                "name": b.name,
                "board": b.board.to_string(),
                "state": b.state.as_str(),
                "stop_reason": b.stop_reason.map(|r| r.as_str()),
                "budget": b.budget,
                "parallel": b.parallel,
                "total": b.total(),
                "created_at": b.created_at.rfc3339(),
                "rows": b.rows.iter().map(|r| serde_json::json!({
                    "number": r.number,
                    "state": r.state.as_str(),
                    "model": r.request.as_ref().map(|q| q.model.clone()),
                    "prompt": r.request.as_ref().map(|q| q.prompt.clone()),
                    "price": r.price,
                    "error": r.error,
                    "generation": r.generation.map(|g| g.to_string()),
                    "cost": r.cost,
                })).collect::<Vec<_>>(),
            })
        })
        .collect())
}
