//! An admin's restrictions on an account or an item: a freeze (nothing of the person's is
//! processed; their data is kept) and legal holds (nothing they cover is deleted: not by
//! retention, its owner or an erasure). Lifting a hold lets a waiting erasure finish.

use crate::domain::audit::AuditAction;
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, privacy::erasure, studio::generations};
use crate::store;

/// Freezes or unfreezes an account. Freezing cancels its queued and running jobs (their
/// holds are released); while frozen, nothing new is accepted for processing.
pub async fn set_frozen(state: &AppState, ctx: &Context, id: UserId, frozen: bool) -> ServiceResult<User> {
    let ctx = ctx.clone();
    let user = state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if user.frozen != frozen {
                user.frozen = frozen;
                store::users::put(tx, &user)?;
                let action = if frozen { AuditAction::AccountFrozen } else { AuditAction::AccountUnfrozen };
                audit::record(tx, &ctx, action, Some(user.email.to_string()), None)?;
            }
            Ok::<_, ServiceError>(user)
        })
        .await?;
    if frozen {
        let owner = user.id;
        let active = state.store.read(store::generations::active).await?;
        for g in active.into_iter().filter(|g| g.owner == owner && g.state.is_cancellable() && !g.cancel_requested) {
            match generations::cancel(state, &user, g.id).await {
                Ok(_) | Err(ServiceError::Conflict(_) | ServiceError::AlreadyFinished | ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(user)
}

/// Refuses processing for a frozen account.
pub fn ensure_not_frozen(user: &User) -> ServiceResult<()> {
    if user.frozen { Err(ServiceError::AccountFrozen) } else { Ok(()) }
}

/// Puts a person (everything of theirs) on legal hold, or lifts it; lifting it lets an
/// erasure of theirs that waited for it finish.
pub async fn set_user_hold(state: &AppState, ctx: &Context, id: UserId, hold: bool) -> ServiceResult<User> {
    let ctx = ctx.clone();
    let user = state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if user.legal_hold != hold {
                user.legal_hold = hold;
                store::users::put(tx, &user)?;
                let action = if hold { AuditAction::LegalHoldSet } else { AuditAction::LegalHoldRemoved };
                audit::record(tx, &ctx, action, Some(user.email.to_string()), Some("every item of the person".into()))?;
            }
            Ok::<_, ServiceError>(user)
        })
        .await?;
    if !hold {
        erasure::resume_for(state, id);
    }
    Ok(user)
}

/// Puts one generation (any owner's) on legal hold, or lifts it; lifting it lets an
/// erasure of its owner's that waited for it finish.
pub async fn set_generation_hold(state: &AppState, ctx: &Context, id: GenerationId, hold: bool) -> ServiceResult<()> {
    let ctx = ctx.clone();
    let owner = state
        .store
        .write(move |tx| {
            let mut g = store::generations::get(tx, id)?.filter(|g| g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation"))?;
            if g.legal_hold != hold {
                g.legal_hold = hold;
                g.updated_at = Timestamp::now();
                store::generations::put(tx, &g)?;
                let action = if hold { AuditAction::LegalHoldSet } else { AuditAction::LegalHoldRemoved };
                audit::record(tx, &ctx, action, Some(id.to_string()), Some(format!("generation of {}", g.model)))?;
            }
            Ok::<_, ServiceError>(g.owner)
        })
        .await?;
    state.store.outbox_written();
    if !hold {
        erasure::resume_for(state, owner);
    }
    Ok(())
}
