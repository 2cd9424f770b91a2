//! A person corrects what the instance holds about them: name, email, bio, profile picture,
//! and their data-use preference. Each change is audited.

use crate::domain::asset::AssetKind;
use crate::domain::audit::AuditAction;
use crate::domain::ids::UserId;
use crate::domain::user::{Email, InvalidInput, User, parse_bio, parse_display_name};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, studio::uploads};
use crate::store;

/// The profile fields as a person submits them.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub bio: Option<String>,
    /// Needed to change the email (it is the sign-in name).
    pub password: Option<String>,
}

/// Applies a profile change; returns the account as stored. Unchanged fields are left alone.
pub async fn update(state: &AppState, ctx: &Context, user: &User, change: ProfileChange) -> ServiceResult<User> {
    let name = change.name.as_deref().map(parse_display_name).transpose()?;
    let bio = change.bio.as_deref().map(parse_bio).transpose()?;
    let email = change.email.as_deref().map(Email::parse).transpose()?.filter(|e| *e != user.email);
    if email.is_some() {
        let password = change.password.as_deref().unwrap_or_default();
        if password.is_empty() {
            return Err(ServiceError::InvalidMessage("enter your current password to change your email".into()));
        }
        if !state.passwords.verify(ctx.client.address.as_deref(), password, Some(&user.password_hash)).await? {
            return Err(InvalidInput("the password is not correct").into());
        }
    }
    let (ctx, id) = (ctx.clone(), user.id);
    state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            let mut changed = Vec::new();
            if let Some(name) = name.filter(|n| *n != user.name) {
                user.name = name;
                changed.push("name");
            }
            if let Some(bio) = bio.filter(|b| *b != user.bio) {
                user.bio = bio;
                changed.push("bio");
            }
            if let Some(email) = email {
                if store::users::email_taken(tx, &email)? {
                    return Err(ServiceError::EmailTaken);
                }
                user.email = email;
                changed.push("email");
            }
            if !changed.is_empty() {
                store::users::put(tx, &user)?;
                audit::record(tx, &ctx, AuditAction::ProfileChanged, Some(user.email.to_string()), Some(changed.join(", ")))?;
            }
            Ok(user)
        })
        .await
}

/// Why a picture cannot be replaced or removed: a legal hold on its owner keeps it.
const HELD_PICTURE: &str = "your account is on legal hold: your picture stays until the hold is lifted";

/// Sets a new profile picture (validated and cleaned like every upload) and removes the
/// old one: record first, then its file.
pub async fn set_picture(state: &AppState, ctx: &Context, user: &User, bytes: Vec<u8>) -> ServiceResult<User> {
    if user.legal_hold && user.avatar.is_some() {
        return Err(ServiceError::Conflict(HELD_PICTURE));
    }
    let asset = uploads::store_image(state, user, bytes, AssetKind::Avatar).await?;
    replace_picture(state, ctx, user.id, Some(asset)).await
}

/// Removes the profile picture.
pub async fn remove_picture(state: &AppState, ctx: &Context, user: &User) -> ServiceResult<User> {
    replace_picture(state, ctx, user.id, None).await
}

async fn replace_picture(state: &AppState, ctx: &Context, id: UserId, new: Option<crate::domain::asset::Asset>) -> ServiceResult<User> {
    let ctx = ctx.clone();
    let (user, old) = state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if let Some(asset) = &new {
                store::assets::put(tx, asset)?;
            }
            if user.legal_hold && user.avatar.is_some() {
                return Err(ServiceError::Conflict(HELD_PICTURE));
            }
            let old = std::mem::replace(&mut user.avatar, new.as_ref().map(|a| a.id));
            if let Some(old) = old {
                store::assets::remove(tx, old)?;
            }
            store::users::put(tx, &user)?;
            let what = if new.is_some() { "picture" } else { "picture removed" };
            audit::record(tx, &ctx, AuditAction::ProfileChanged, Some(user.email.to_string()), Some(what.into()))?;
            Ok::<_, ServiceError>((user, old))
        })
        .await?;
    if let Some(old) = old {
        state.media.delete(&old.to_string()).await.map_err(|e| ServiceError::Internal(format!("removing the old picture: {e}")))?;
    }
    Ok(user)
}

/// A person's own data-use preference: forbid sending their content to providers that may
/// train on it.
pub async fn set_forbid_training(state: &AppState, ctx: &Context, id: UserId, forbid: bool) -> ServiceResult<User> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if user.forbid_training != forbid {
                user.forbid_training = forbid;
                store::users::put(tx, &user)?;
                let detail = if forbid { "forbids providers that may train" } else { "allows every provider" };
                audit::record(tx, &ctx, AuditAction::DataUseChanged, Some(user.email.to_string()), Some(detail.into()))?;
            }
            Ok::<_, ServiceError>(user)
        })
        .await
}

/// The instance-wide data-use setting (admins).
pub async fn set_instance_forbid_training(state: &AppState, ctx: &Context, forbid: bool) -> ServiceResult<()> {
    let ctx = ctx.clone();
    let audit_ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            if store::meta::forbid_training(tx)? != forbid {
                store::meta::set_forbid_training(tx, forbid)?;
                let detail = if forbid { "instance forbids providers that may train" } else { "instance allows every provider" };
                audit::record(tx, &audit_ctx, AuditAction::DataUseChanged, Some("instance".into()), Some(detail.into()))?;
            }
            Ok::<_, ServiceError>(())
        })
        .await?;
    crate::services::privacy::privacy_notice::refresh(state, &ctx).await?;
    Ok(())
}

/// Whether the instance forbids providers that may train on inputs.
pub async fn instance_forbids_training(state: &AppState) -> ServiceResult<bool> {
    Ok(state.store.read(store::meta::forbid_training).await?)
}

/// A signed link (path) to `user`'s profile picture, when they have one.
pub async fn picture_path(state: &AppState, user: &User) -> ServiceResult<Option<String>> {
    let Some(id) = user.avatar else { return Ok(None) };
    let asset = state.store.read(move |tx| store::assets::get(tx, id)).await?;
    Ok(asset.map(|a| crate::services::studio::media::signed_path(state, &a)))
}
