//! Deleting a generation for good, in a crash-safe order: (1) one transaction marks it
//! deleted (gone for everyone at once; the search index drops it) and queues it; (2) its
//! media files are removed; (3) one transaction removes its records. A crash between the
//! steps leaves the queue row, and [`resume`] finishes the work at the next start, so no
//! orphan file and no dangling record survives. Ledger entries stay: they are accounts.

use crate::domain::audit::AuditAction;
use crate::domain::generation::Generation;
use crate::domain::ids::GenerationId;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::audit::{self, Context};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

/// Deletes one of `user`'s generations (not while it is still running).
pub async fn delete(state: &AppState, ctx: &Context, user: &User, id: GenerationId) -> ServiceResult<()> {
    let owner = user.id;
    let found = state.store.read(move |tx| store::generations::get(tx, id)).await?;
    let g = found.filter(|g| g.owner == owner && g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation"))?;
    if !g.state.is_terminal() {
        return Err(ServiceError::Conflict("this generation is still running; cancel it first, then delete it"));
    }
    mark(state, ctx, id).await?;
    finish(state, id).await
}

/// Step 1: marks a finished generation deleted and queues the removal of its files and
/// records, in one transaction. Returns `false` when it was already gone or marked.
pub async fn mark(state: &AppState, ctx: &Context, id: GenerationId) -> ServiceResult<bool> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let Some(mut g) = store::generations::get(tx, id)? else { return Ok(false) };
            if g.deleted_at.is_some() {
                return Ok(false);
            }
            if !g.state.is_terminal() {
                return Err(ServiceError::Conflict("this generation is still running; cancel it first, then delete it"));
            }
            g.deleted_at = Some(Timestamp::now());
            store::generations::put(tx, &g)?;
            store::generations::queue_deletion(tx, id)?;
            let detail = format!("{} output file(s) of {}", g.outputs.len(), g.model);
            audit::record(tx, &ctx, AuditAction::GenerationDeleted, Some(id.to_string()), Some(detail))?;
            Ok(true)
        })
        .await
        .inspect(|_| state.store.outbox_written())
}

/// Steps 2 and 3 for a marked generation: its files (outputs and their posters), then its
/// records. Safe to repeat.
pub async fn finish(state: &AppState, id: GenerationId) -> ServiceResult<()> {
    let Some(g) = state.store.read(move |tx| store::generations::get(tx, id)).await? else {
        // already removed; only a stale queue row may remain
        state.store.write(move |tx| store::generations::forget_deletion(tx, id).map_err(ServiceError::from)).await?;
        return Ok(());
    };
    if g.deleted_at.is_none() {
        return Err(ServiceError::Conflict("this generation is not marked for deletion"));
    }
    let files = files_of(state, &g).await?;
    for file in &files {
        state.media.delete(&file.to_string()).await.map_err(|e| ServiceError::Internal(format!("deleting a media file: {e}")))?;
    }
    state
        .store
        .write(move |tx| {
            for file in &files {
                store::assets::remove(tx, *file)?;
            }
            store::generations::remove(tx, &g)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    state.store.outbox_written();
    Ok(())
}

/// The assets a generation owns: its outputs and their posters.
async fn files_of(state: &AppState, g: &Generation) -> ServiceResult<Vec<crate::domain::ids::AssetId>> {
    let outputs = g.outputs.clone();
    let assets = state.store.read(move |tx| outputs.iter().map(|id| store::assets::get(tx, *id)).collect::<Result<Vec<_>, _>>()).await?;
    let mut files = g.outputs.clone();
    files.extend(assets.into_iter().flatten().filter_map(|a| a.poster));
    Ok(files)
}

/// Finishes every deletion a crash interrupted; returns how many.
pub async fn resume(state: &AppState) -> ServiceResult<usize> {
    let pending = state.store.read(store::generations::pending_deletions).await?;
    let count = pending.len();
    for id in pending {
        finish(state, id).await?;
    }
    if count > 0 {
        tracing::info!(count, "finished deletions interrupted by a restart");
    }
    Ok(count)
}
