//! Signing in and out, and the sessions a person holds.

use crate::domain::preferences::Preferences;
use std::time::Instant;

use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::auth::Session;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, User, claimed_email};
use crate::services::identity::throttle::{RefusalSummary, ThrottledKey};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, identity::secrets};
use crate::store::{self, StoreError};

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
    /// The person's credits available as the session was checked (read in the same
    /// transaction: every page's top bar shows them).
    pub credits: i64,
    /// The person's preferences (read in the same transaction: every page speaks their language).
    pub preferences: Preferences,
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

/// Checks an email and password, with throttling, and starts a session. The attempt is
/// counted before the password is checked; a refusal while throttled is tallied in memory
/// and summarised in one audit row per throttled key and window.
pub async fn sign_in(
    state: &AppState,
    client: &ClientInfo,
    email_text: &str,
    password: &str,
    previous: Option<[u8; 32]>,
) -> ServiceResult<NewSession> {
    let claimed = claimed_email(email_text);
    if !state.config.auth.password_allowed(&claimed) {
        let ctx = Context::anonymous(Some(claimed), client.clone());
        let detail = Some("password sign-in is off (single sign-on only)".to_string());
        state.store.write(move |tx| audit::record(tx, &ctx, AuditAction::SignInFailed, None, detail)).await?;
        return Err(ServiceError::PasswordSignInOff);
    }
    let address = client.address.as_deref();
    let reservation = match state.throttle.reserve(&claimed, address, Instant::now()) {
        Ok(reservation) => reservation,
        Err(refusal) => {
            if let Some(summary) = refusal.summary {
                let client = client.clone();
                state.store.write(move |tx| record_refusals(tx, &summary, client)).await?;
            }
            return Err(ServiceError::Throttled { retry_after: refusal.retry_after });
        }
    };
    let user = match Email::parse(email_text) {
        Ok(email) => state.store.read(move |tx| store::users::find_by_email(tx, &email)).await?,
        Err(_) => None,
    };
    let password_ok = match state.passwords.verify(address, password, user.as_ref().map(|u| u.password_hash.as_str())).await {
        Ok(matches) => matches,
        Err(e @ ServiceError::PasswordChecksBusy { .. }) => {
            state.throttle.release(reservation);
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let user = match user {
        Some(user) if password_ok => user,
        _ => {
            reservation.failed();
            let ctx = Context::anonymous(Some(claimed), client.clone());
            state.store.write(move |tx| audit::record(tx, &ctx, AuditAction::SignInFailed, None, None)).await?;
            return Err(ServiceError::BadCredentials);
        }
    };
    state.throttle.succeeded(reservation);
    if user.disabled {
        return Err(ServiceError::AccountDisabled);
    }
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

/// Writes (or brings up to date) the one audit row that summarises a throttled key's refusals.
fn record_refusals(tx: &redb::WriteTransaction, summary: &RefusalSummary, client: ClientInfo) -> Result<(), StoreError> {
    let (claimed, target) = match &summary.key {
        ThrottledKey::Account(account) => (Some(account.clone()), account.clone()),
        ThrottledKey::Address(address) => (None, format!("address {address}")),
    };
    let ctx = Context::anonymous(claimed, client);
    audit::record_as(tx, summary.row, summary.started, &ctx, AuditAction::SignInThrottled, Some(target), Some(summary.detail()))
}

/// Resolves a session cookie to its person, or `None` when it is unknown, expired or the
/// account is disabled. Expired sessions are removed on sight.
pub async fn authenticate(state: &AppState, secret: &str) -> ServiceResult<Option<ActiveSession>> {
    if !secrets::looks_valid(secret) {
        return Ok(None);
    }
    let hash = secrets::hash(secret);
    // three point lookups, on this thread
    let found = state.store.read_now(|tx| {
        let Some(session) = store::sessions::get(tx, &hash)? else {
            return Ok(None);
        };
        let Some(user) = store::users::get(tx, session.user)? else {
            return Ok(None);
        };
        let credits = store::credits::balance(tx, user.id)?.available;
        let preferences = store::preferences::get(tx, user.id)?;
        Ok::<_, ServiceError>(Some((session, user, credits, preferences)))
    })?;
    let Some((mut session, user, credits, preferences)) = found else {
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
    Ok(Some(ActiveSession { user, session, hash, credits, preferences }))
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
