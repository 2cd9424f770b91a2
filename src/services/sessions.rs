//! Signing in and out, and the sessions a person holds.

use std::time::Instant;

use super::audit::{self, Context};
use super::{ServiceError, ServiceResult, secrets};
use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::auth::Session;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, User};
use crate::state::AppState;
use crate::store;

/// A fresh session: the secret goes into the cookie and nowhere else.
pub struct NewSession {
    pub secret: String,
    pub user: User,
}

/// An authenticated browser session.
#[derive(Clone)]
pub struct ActiveSession {
    pub user: User,
    pub session: Session,
    pub hash: [u8; 32],
}

/// Starts a session for `user` inside the caller's transaction, replacing `previous`
/// (a new token at every sign-in).
pub fn start(tx: &redb::WriteTransaction, user: &User, client: &ClientInfo, previous: Option<[u8; 32]>) -> ServiceResult<String> {
    if let Some(old) = previous {
        store::sessions::remove(tx, &old)?;
    }
    let secret = secrets::generate();
    let now = Timestamp::now();
    let session = Session { id: SessionId::generate(), user: user.id, created_at: now, last_seen: now, client: client.clone() };
    store::sessions::put(tx, &secrets::hash(&secret), &session)?;
    Ok(secret)
}

/// Checks an email and password, with throttling, and starts a session.
pub async fn sign_in(
    state: &AppState,
    client: &ClientInfo,
    email_text: &str,
    password: &str,
    previous: Option<[u8; 32]>,
) -> ServiceResult<NewSession> {
    let claimed = email_text.trim().to_lowercase();
    let address = client.address.clone();
    let ctx = Context::anonymous(Some(claimed.clone()), client.clone());
    if let Err(retry_after) = state.throttle.check(&claimed, address.as_deref(), Instant::now()) {
        let ctx = ctx.clone();
        state.store.write(move |tx| audit::record(tx, &ctx, AuditAction::SignInThrottled, None, None)).await?;
        return Err(ServiceError::Throttled { retry_after });
    }
    let user = match Email::parse(email_text) {
        Ok(email) => state.store.read(move |tx| store::users::find_by_email(tx, &email)).await?,
        Err(_) => None,
    };
    let password_ok = state.passwords.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let user = match user {
        Some(user) if password_ok => user,
        _ => {
            state.throttle.record_failure(&claimed, address.as_deref(), Instant::now());
            state.store.write(move |tx| audit::record(tx, &ctx, AuditAction::SignInFailed, None, None)).await?;
            return Err(ServiceError::BadCredentials);
        }
    };
    if user.disabled {
        return Err(ServiceError::AccountDisabled);
    }
    state.throttle.clear_account(&claimed);
    let ctx = Context::user(user.id, user.email.as_str(), client.clone());
    let client = client.clone();
    let for_tx = user.clone();
    let secret = state
        .store
        .write(move |tx| {
            let secret = start(tx, &for_tx, &client, previous)?;
            audit::record(tx, &ctx, AuditAction::SignIn, None, None)?;
            Ok::<_, ServiceError>(secret)
        })
        .await?;
    Ok(NewSession { secret, user })
}

/// Resolves a session cookie to its person, or `None` when it is unknown, expired or the
/// account is disabled. Expired sessions are removed on sight.
pub async fn authenticate(state: &AppState, secret: &str) -> ServiceResult<Option<ActiveSession>> {
    if !secrets::looks_valid(secret) {
        return Ok(None);
    }
    let hash = secrets::hash(secret);
    let found = state
        .store
        .read(move |tx| {
            let Some(session) = store::sessions::get(tx, &hash)? else {
                return Ok(None);
            };
            let user = store::users::get(tx, session.user)?;
            Ok::<_, ServiceError>(user.map(|u| (session, u)))
        })
        .await?;
    let Some((mut session, user)) = found else {
        return Ok(None);
    };
    let now = Timestamp::now();
    if !session.is_live(state.session_policy(), now) || user.disabled {
        state.store.write(move |tx| store::sessions::remove(tx, &hash).map(|_| ())).await?;
        return Ok(None);
    }
    if session.needs_touch(now) {
        session.last_seen = now;
        let touched = session.clone();
        state.store.write(move |tx| store::sessions::put(tx, &hash, &touched)).await?;
    }
    Ok(Some(ActiveSession { user, session, hash }))
}

pub async fn sign_out(state: &AppState, ctx: &Context, hash: [u8; 32]) -> ServiceResult<()> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            store::sessions::remove(tx, &hash)?;
            audit::record(tx, &ctx, AuditAction::SignOut, None, None)?;
            Ok(())
        })
        .await
}

pub async fn list(state: &AppState, user: UserId) -> ServiceResult<Vec<Session>> {
    let rows = state.store.read(move |tx| store::sessions::list_for_user(tx, user)).await?;
    Ok(rows.into_iter().map(|(_, s)| s).collect())
}

/// Ends one of the person's own sessions.
pub async fn revoke(state: &AppState, ctx: &Context, user: UserId, id: SessionId) -> ServiceResult<()> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            if !store::sessions::remove_by_id(tx, user, id)? {
                return Err(ServiceError::NotFound("session"));
            }
            audit::record(tx, &ctx, AuditAction::SessionsRevoked, Some("1 session".into()), None)?;
            Ok(())
        })
        .await
}

/// "Sign out everywhere": ends every session of the person, this one included.
pub async fn revoke_all(state: &AppState, ctx: &Context, user: UserId) -> ServiceResult<usize> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let n = store::sessions::remove_all_for_user(tx, user)?;
            audit::record(tx, &ctx, AuditAction::SessionsRevoked, Some(format!("{n} sessions")), None)?;
            Ok(n)
        })
        .await
}
