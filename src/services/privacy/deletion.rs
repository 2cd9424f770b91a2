//! Deleting a generation for good, in a crash-safe order: (1) one transaction marks it
//! deleted (gone for everyone at once; the search index drops it) and queues it; (2) its
//! media files are removed; (3) one transaction removes its records. A crash between the
//! steps leaves the queue row, and [`resume`] finishes the work at the next start, so no
//! orphan file and no dangling record survives. Ledger entries stay: they are accounts.
//!
//! A legal hold (on the generation or on its owner) binds every path: step 1 checks it in
//! the transaction that marks, so a hold set a moment earlier is never missed. A person's
//! deletion is refused ([`Holds::Refuse`]); retention and erasure leave held items be
//! ([`Holds::Skip`]).

use std::collections::HashMap;

use crate::domain::audit::AuditAction;
use crate::domain::generation::Generation;
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, StoreError, Tx};

/// How many generations a batch deletion marks or removes in one transaction.
pub const BATCH: usize = 256;

/// What step 1 does with a generation on legal hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Refuses the whole request with [`ServiceError::LegalHold`]: nothing is marked.
    Refuse,
    /// Leaves held generations as they are and marks the rest.
    Skip,
}

/// Deletes one of `user`'s generations (not while it is still running, nor while on hold).
pub async fn delete(state: &AppState, ctx: &Context, user: &User, id: GenerationId) -> ServiceResult<()> {
    let owner = user.id;
    let found = state.store.read(move |tx| store::generations::get(tx, id)).await?;
    let g = found.filter(|g| g.owner == owner && g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation"))?;
    refuse_if_held(&g, user)?;
    if !g.state.is_terminal() {
        return Err(ServiceError::Conflict("this generation is still running; cancel it first, then delete it"));
    }
    mark_many(state, ctx, vec![id], Holds::Refuse).await?;
    finish(state, id).await
}

/// Refuses early when `g` or its `owner` is on legal hold, before anything else is done to
/// it (a cancellation, say). Step 1 checks again in its transaction.
pub fn refuse_if_held(g: &Generation, owner: &User) -> ServiceResult<()> {
    if g.legal_hold || owner.legal_hold { Err(ServiceError::LegalHold(g.id)) } else { Ok(()) }
}

/// Step 1: marks a finished generation deleted and queues the removal of its files and
/// records, in one transaction. Returns `false` when it was already gone or marked; a held
/// one is refused.
pub async fn mark(state: &AppState, ctx: &Context, id: GenerationId) -> ServiceResult<bool> {
    Ok(!mark_many(state, ctx, vec![id], Holds::Refuse).await?.is_empty())
}

/// Step 1 for many finished generations in one transaction (a selection, a retention
/// sweep's or an erasure's batch); returns those it marked (the others were already gone or
/// marked, or held and skipped). A running one, or a held one under [`Holds::Refuse`],
/// refuses the whole batch.
pub async fn mark_many(state: &AppState, ctx: &Context, ids: Vec<GenerationId>, holds: Holds) -> ServiceResult<Vec<GenerationId>> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let now = Timestamp::now();
            let mut marked = Vec::with_capacity(ids.len());
            let mut owners = HeldOwners::default();
            for id in ids {
                let Some(mut g) = store::generations::get(tx, id)? else { continue };
                if g.deleted_at.is_some() {
                    continue;
                }
                if g.legal_hold || owners.held(tx, g.owner)? {
                    match holds {
                        Holds::Refuse => return Err(ServiceError::LegalHold(id)),
                        Holds::Skip => continue,
                    }
                }
                if !g.state.is_terminal() {
                    return Err(ServiceError::Conflict("this generation is still running; cancel it first, then delete it"));
                }
                g.deleted_at = Some(now);
                store::generations::put(tx, &g)?;
                store::generations::queue_deletion(tx, id)?;
                let detail = format!("{} output file(s) of {}", g.outputs.len(), g.model);
                audit::record(tx, &ctx, AuditAction::GenerationDeleted, Some(id.to_string()), Some(detail))?;
                marked.push(id);
            }
            Ok(marked)
        })
        .await
        .inspect(|_| state.store.outbox_written())
}

/// Whether owners are on legal hold, each read from the store once per transaction.
#[derive(Default)]
pub struct HeldOwners(HashMap<UserId, bool>);

impl HeldOwners {
    /// Whether `owner` (an account that no longer exists is not) is on legal hold.
    pub fn held(&mut self, tx: &impl Tx, owner: UserId) -> Result<bool, StoreError> {
        if let Some(held) = self.0.get(&owner) {
            return Ok(*held);
        }
        let held = store::users::get(tx, owner)?.is_some_and(|u| u.legal_hold);
        self.0.insert(owner, held);
        Ok(held)
    }
}

/// Steps 2 and 3 for a marked generation: its files (outputs and their posters), then its
/// records. Safe to repeat.
pub async fn finish(state: &AppState, id: GenerationId) -> ServiceResult<()> {
    finish_many(state, vec![id]).await.map(|_| ())
}

/// Steps 2 and 3 for many marked generations: every file of theirs, then all their records
/// in one transaction. Safe to repeat. Returns how many files it removed.
pub async fn finish_many(state: &AppState, ids: Vec<GenerationId>) -> ServiceResult<u64> {
    let (marked, files, stale) = state
        .store
        .read(move |tx| {
            let (mut marked, mut files, mut stale) = (Vec::new(), Vec::new(), Vec::new());
            for id in ids {
                let Some(g) = store::generations::get(tx, id)? else {
                    // already removed; only a stale queue row may remain
                    stale.push(id);
                    continue;
                };
                if g.deleted_at.is_none() {
                    return Err(ServiceError::Conflict("this generation is not marked for deletion"));
                }
                let outputs = store::assets::get_many(tx, &g.outputs)?;
                files.extend(g.outputs.iter().copied());
                files.extend(outputs.into_iter().filter_map(|a| a.poster));
                marked.push(g);
            }
            Ok::<_, ServiceError>((marked, files, stale))
        })
        .await?;
    let mut removed = 0;
    for file in &files {
        if state.media.delete(&file.to_string()).await.map_err(|e| ServiceError::Internal(format!("deleting a media file: {e}")))? {
            removed += 1;
        }
    }
    state
        .store
        .write(move |tx| {
            for file in &files {
                store::assets::remove(tx, *file)?;
            }
            for g in &marked {
                store::generations::remove(tx, g)?;
            }
            for id in stale {
                store::generations::forget_deletion(tx, id)?;
            }
            Ok::<_, ServiceError>(())
        })
        .await?;
    state.store.outbox_written();
    Ok(removed)
}

/// Finishes every deletion a crash interrupted; returns how many.
pub async fn resume(state: &AppState) -> ServiceResult<usize> {
    let pending = state.store.read(store::generations::pending_deletions).await?;
    let count = pending.len();
    for batch in pending.chunks(BATCH) {
        finish_many(state, batch.to_vec()).await?;
    }
    if count > 0 {
        tracing::info!(count, "finished deletions interrupted by a restart");
    }
    Ok(count)
}
