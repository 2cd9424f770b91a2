//! Share links: making, listing and revoking read-only links for people without an account,
//! and the admin's instance-wide switch. What a link shows is in [`view`].

pub mod view;

use crate::domain::audit::AuditAction;
use crate::domain::generation::GenState;
use crate::domain::ids::ShareId;
use crate::domain::share::{Liveness, MAX_LIVE_PER_PERSON, ShareLink, ShareRequest, ShareRuleError, ShareTarget, SharingSettings};
use crate::domain::time::Timestamp;
use crate::domain::user::{Role, User};
use crate::services::identity::secrets;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// The most links the admin list shows.
pub const ADMIN_LIST_LIMIT: usize = 1_000;

/// A link just made, with the secret of its URL (shown once; only its hash is kept).
#[derive(Debug, Clone)]
pub struct MadeLink {
    pub link: ShareLink,
    /// The path of the shared page (`/s/<secret>`).
    pub path: String,
}

impl From<ShareRuleError> for ServiceError {
    fn from(e: ShareRuleError) -> Self {
        ServiceError::InvalidMessage(e.to_string())
    }
}

/// Whether share links are on for the instance.
pub fn settings(state: &AppState) -> ServiceResult<SharingSettings> {
    Ok(state.store.read_now(store::shares::settings)?)
}

/// Turns share links on or off for everyone (admins only), audited.
pub async fn set_enabled(state: &AppState, ctx: &Context, admin: &User, enabled: bool) -> ServiceResult<SharingSettings> {
    if admin.role != Role::Admin {
        return Err(ServiceError::AdminOnly);
    }
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let settings = SharingSettings { enabled };
            if store::shares::settings(tx)? != settings {
                store::shares::put_settings(tx, &settings)?;
                let detail = if enabled { "share links turned on" } else { "share links turned off" };
                audit::record(tx, &ctx, AuditAction::SharingSwitched, None, Some(detail.into()))?;
            }
            Ok::<_, ServiceError>(settings)
        })
        .await
}

/// Checks that `user` may share `target`: their own finished generation, or a board they edit.
async fn check_shareable(state: &AppState, user: &User, target: ShareTarget) -> ServiceResult<()> {
    match target {
        ShareTarget::Generation(id) => {
            let g = state.store.read_now(|tx| store::generations::get(tx, id))?;
            let g = g.filter(|g| g.owner == user.id && g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation"))?;
            if g.state != GenState::Succeeded || g.outputs.is_empty() {
                return Err(ServiceError::InvalidMessage(
                    "Only a generation that succeeded can be shared: there is nothing to show yet.".into(),
                ));
            }
            Ok(())
        }
        ShareTarget::Board(board) => view::board_role_for_sharing(state, user, board).await,
    }
}

/// Makes a link to `target` for `user`, audited; the path with its secret is returned once.
pub async fn create(state: &AppState, ctx: &Context, user: &User, target: ShareTarget, request: ShareRequest) -> ServiceResult<MadeLink> {
    if !settings(state)?.enabled {
        return Err(ServiceError::SharingOff);
    }
    let now = Timestamp::now();
    let expires_at = request.expires_at(now)?;
    let password = request.password()?;
    check_shareable(state, user, target).await?;
    let password_hash = match password {
        Some(p) => Some(state.passwords.hash(ctx.client.address.as_deref(), p).await?),
        None => None,
    };
    let secret = secrets::generate();
    let hash = secrets::hash(&secret);
    let link = ShareLink {
        id: ShareId::generate(),
        target,
        created_by: user.id,
        created_at: now,
        expires_at,
        revoked_at: None,
        revoked_by: None,
        password_hash,
        allow_download: request.allow_download,
        show_prompt: request.show_prompt,
        views: 0,
        last_viewed_at: None,
    };
    let (ctx, stored, maker) = (ctx.clone(), link.clone(), user.id);
    state
        .store
        .write(move |tx| {
            let live = store::shares::made_by(tx, maker)?.iter().filter(|l| l.liveness(now) == Liveness::Live).count();
            if live >= MAX_LIVE_PER_PERSON {
                return Err(ServiceError::InvalidMessage(format!(
                    "You already have {MAX_LIVE_PER_PERSON} live share links; revoke some first."
                )));
            }
            store::shares::insert(tx, &stored, &hash)?;
            let detail = format!("{}; expires {}", stored.target.label(), stored.expires_at.rfc3339());
            audit::record(tx, &ctx, AuditAction::ShareCreated, Some(stored.id.to_string()), Some(detail))?;
            Ok(())
        })
        .await?;
    Ok(MadeLink { path: state.urls().shared(&secret), link })
}

/// The links `user` made, newest first.
pub async fn mine(state: &AppState, user: &User) -> ServiceResult<Vec<ShareLink>> {
    let maker = user.id;
    Ok(state.store.read(move |tx| store::shares::made_by(tx, maker)).await?)
}

/// Every link on the instance, newest first (admins only).
pub async fn all(state: &AppState, admin: &User) -> ServiceResult<Vec<ShareLink>> {
    if admin.role != Role::Admin {
        return Err(ServiceError::AdminOnly);
    }
    Ok(state.store.read(|tx| store::shares::all(tx, ADMIN_LIST_LIMIT)).await?)
}

/// One link, for its maker or an admin.
pub async fn get(state: &AppState, user: &User, id: ShareId) -> ServiceResult<ShareLink> {
    let link = state.store.read(move |tx| store::shares::get(tx, id)).await?;
    link.filter(|l| l.created_by == user.id || user.role == Role::Admin).ok_or(ServiceError::NotFound("share link"))
}

/// Revokes a link at once (its maker or an admin), audited; revoking twice changes nothing.
pub async fn revoke(state: &AppState, ctx: &Context, user: &User, id: ShareId) -> ServiceResult<ShareLink> {
    let (ctx, by, admin) = (ctx.clone(), user.id, user.role == Role::Admin);
    state
        .store
        .write(move |tx| {
            let mut link =
                store::shares::get(tx, id)?.filter(|l| l.created_by == by || admin).ok_or(ServiceError::NotFound("share link"))?;
            if link.revoked_at.is_none() {
                link.revoked_at = Some(Timestamp::now());
                link.revoked_by = Some(by);
                store::shares::put(tx, &link)?;
                audit::record(tx, &ctx, AuditAction::ShareRevoked, Some(link.id.to_string()), Some(link.target.label()))?;
            }
            Ok::<_, ServiceError>(link)
        })
        .await
}
