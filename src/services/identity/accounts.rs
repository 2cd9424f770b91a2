//! Accounts: creating people, roles, disabling, passwords and profile names.

use redb::WriteTransaction;

use crate::domain::audit::AuditAction;
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, Role, User, check_new_password, parse_display_name};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Tx};

/// What is needed to create an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Checks the raw inputs for a new account and hashes its password; `from` is the client
/// address asking (`None` for the command line).
pub async fn prepare(state: &AppState, from: Option<&str>, email: &str, name: &str, role: Role, password: &str) -> ServiceResult<NewUser> {
    let email = Email::parse(email)?;
    let name = parse_display_name(name)?;
    let password_hash = state.passwords.hash(from, check_new_password(password)?).await?;
    Ok(NewUser { email, name, role, password_hash })
}

/// Inserts a prepared account inside the caller's transaction.
pub fn insert(tx: &WriteTransaction, ctx: &Context, new: NewUser) -> ServiceResult<User> {
    if store::users::email_taken(tx, &new.email)? {
        return Err(ServiceError::EmailTaken);
    }
    let user = User::new(new.email, new.name, new.role, new.password_hash);
    store::users::put(tx, &user)?;
    if user.role == Role::Admin && !store::meta::setup_complete(tx)? {
        // an admin made another way (the command line) makes the setup link unnecessary
        store::meta::mark_setup_complete(tx)?;
    }
    audit::record(tx, ctx, AuditAction::UserCreated, Some(user.email.to_string()), Some(format!("role {}", user.role)))?;
    Ok(user)
}

/// Creates an account (admin UI and command line).
pub async fn create(state: &AppState, ctx: &Context, email: &str, name: &str, role: Role, password: &str) -> ServiceResult<User> {
    let new = prepare(state, ctx.client.address.as_deref(), email, name, role, password).await?;
    let ctx = ctx.clone();
    state.store.write(move |tx| insert(tx, &ctx, new)).await
}

/// Whether the first admin still has to be created (the setup link is still open).
pub async fn setup_pending(state: &AppState) -> ServiceResult<bool> {
    Ok(!state.store.read(store::meta::setup_complete).await?)
}

pub async fn get(state: &AppState, id: UserId) -> ServiceResult<User> {
    state.store.read(move |tx| store::users::get(tx, id)).await?.ok_or(ServiceError::NotFound("user"))
}

pub async fn find_by_email(state: &AppState, email: &str) -> ServiceResult<User> {
    let email = Email::parse(email)?;
    state.store.read(move |tx| store::users::find_by_email(tx, &email)).await?.ok_or(ServiceError::NotFound("user"))
}

pub async fn list(state: &AppState) -> ServiceResult<Vec<User>> {
    Ok(state.store.read(store::users::list).await?)
}

/// Refuses a change that would leave no enabled admin (a role set by a provider claim too).
pub fn ensure_another_admin(tx: &impl Tx, changing: UserId) -> ServiceResult<()> {
    let others = store::users::list(tx)?.into_iter().filter(|u| u.id != changing && u.role == Role::Admin && !u.disabled).count();
    if others == 0 {
        return Err(ServiceError::Conflict("this is the last enabled admin; make someone else an admin first"));
    }
    Ok(())
}

pub async fn set_role(state: &AppState, ctx: &Context, id: UserId, role: Role) -> ServiceResult<User> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if user.role == role {
                return Ok(user);
            }
            if user.role == Role::Admin {
                ensure_another_admin(tx, id)?;
            }
            let detail = format!("from {} to {}", user.role, role);
            user.role = role;
            store::users::put(tx, &user)?;
            audit::record(tx, &ctx, AuditAction::RoleChanged, Some(user.email.to_string()), Some(detail))?;
            Ok(user)
        })
        .await
}

/// Disables or re-enables an account. Disabling signs it out everywhere; its tokens stop
/// working while it is disabled.
pub async fn set_disabled(state: &AppState, ctx: &Context, id: UserId, disabled: bool) -> ServiceResult<User> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if user.disabled == disabled {
                return Ok(user);
            }
            if disabled && user.role == Role::Admin {
                ensure_another_admin(tx, id)?;
            }
            user.disabled = disabled;
            store::users::put(tx, &user)?;
            if disabled {
                store::sessions::remove_all_for_user(tx, id)?;
            }
            let action = if disabled { AuditAction::UserDisabled } else { AuditAction::UserEnabled };
            audit::record(tx, &ctx, action, Some(user.email.to_string()), None)?;
            Ok(user)
        })
        .await
}

/// Sets a new password (already checked and hashed) and signs the account out everywhere
/// except, optionally, one session.
pub fn store_new_password(
    tx: &WriteTransaction,
    ctx: &Context,
    id: UserId,
    password_hash: String,
    keep_session: Option<[u8; 32]>,
) -> ServiceResult<User> {
    let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
    user.password_hash = password_hash;
    user.password_changed_at = Timestamp::now();
    store::users::put(tx, &user)?;
    for (hash, _) in store::sessions::list_for_user(tx, id)? {
        if Some(hash) != keep_session {
            store::sessions::remove(tx, &hash)?;
        }
    }
    audit::record(tx, ctx, AuditAction::PasswordChanged, Some(user.email.to_string()), None)?;
    Ok(user)
}

/// A signed-in person changes their own password, proving the current one.
pub async fn change_password(
    state: &AppState,
    ctx: &Context,
    user: &User,
    current: &str,
    new: &str,
    keep_session: Option<[u8; 32]>,
) -> ServiceResult<()> {
    let from = ctx.client.address.as_deref();
    if !state.passwords.verify(from, current, Some(&user.password_hash)).await? {
        return Err(ServiceError::BadCredentials);
    }
    let hash = state.passwords.hash(from, check_new_password(new)?).await?;
    let (ctx, id) = (ctx.clone(), user.id);
    state.store.write(move |tx| store_new_password(tx, &ctx, id, hash, keep_session).map(|_| ())).await
}
