//! Bulk actions on a selection of one's own generations (keep, delete); every id is
//! checked before anything changes, so a selection with a stranger's id, a running
//! generation or one on legal hold changes nothing.

use crate::domain::generation::Generation;
use crate::domain::ids::GenerationId;
use crate::domain::user::User;
use crate::services::privacy::audit::Context;
use crate::services::state::AppState;
use crate::services::studio::generations::{self, Flags};
use crate::services::{ServiceError, ServiceResult, privacy::deletion};
use crate::store;

/// The most generations one bulk action takes.
pub const MAX_SELECTION: usize = 500;

/// `ids`, each one of `user`'s generations (not deleted), in order; refuses an empty or
/// oversized selection and any id that is not theirs.
pub async fn selection(state: &AppState, user: &User, ids: Vec<GenerationId>) -> ServiceResult<Vec<Generation>> {
    if ids.is_empty() {
        return Err(ServiceError::InvalidMessage("select at least one generation".into()));
    }
    if ids.len() > MAX_SELECTION {
        return Err(ServiceError::InvalidMessage(format!("select at most {MAX_SELECTION} generations at a time")));
    }
    let owner = user.id;
    let found = state.store.read(move |tx| store::generations::get_many(tx, &ids)).await?;
    found
        .into_iter()
        .map(|g| g.filter(|g| g.owner == owner && g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation")))
        .collect()
}

/// Keeps (or stops keeping) every selected generation.
pub async fn keep(state: &AppState, user: &User, ids: Vec<GenerationId>, kept: bool) -> ServiceResult<usize> {
    let chosen = selection(state, user, ids).await?;
    for g in &chosen {
        generations::set_flags(state, user, g.id, Flags { kept: Some(kept), shared: None }).await?;
    }
    Ok(chosen.len())
}

/// Deletes every selected generation, or none: the whole selection is refused when one is
/// still running or on legal hold (all are marked in one transaction, which checks holds).
pub async fn delete(state: &AppState, ctx: &Context, user: &User, ids: Vec<GenerationId>) -> ServiceResult<usize> {
    let chosen = selection(state, user, ids).await?;
    chosen.iter().try_for_each(|g| deletion::refuse_if_held(g, user))?;
    if chosen.iter().any(|g| !g.state.is_terminal()) {
        return Err(ServiceError::Conflict("a selected generation is still running; cancel it first, then delete it"));
    }
    let ids: Vec<GenerationId> = chosen.iter().map(|g| g.id).collect();
    let marked = deletion::mark_many(state, ctx, ids, deletion::Holds::Refuse).await?;
    deletion::finish_many(state, marked).await?;
    Ok(chosen.len())
}
