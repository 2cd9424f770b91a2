//! Personal API tokens: created with a name and optional expiry, shown once, revocable.

use std::time::Duration;

use super::audit::{self, Context};
use super::{ServiceError, ServiceResult, secrets};
use crate::domain::audit::AuditAction;
use crate::domain::auth::{ApiToken, LAST_SEEN_GRANULARITY, TokenLimits, parse_token_name};
use crate::domain::ids::{TokenId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::state::AppState;
use crate::store;

/// The longest expiry a token may be given.
pub const MAX_EXPIRY: Duration = Duration::from_secs(5 * 365 * 86400);

/// Creates a token; the returned secret is shown once and never again.
pub async fn create(
    state: &AppState,
    ctx: &Context,
    user: UserId,
    name: &str,
    expires_in: Option<Duration>,
    limits: TokenLimits,
) -> ServiceResult<(ApiToken, String)> {
    let name = parse_token_name(name)?;
    if expires_in.is_some_and(|d| d.is_zero() || d > MAX_EXPIRY) {
        return Err(crate::domain::user::InvalidInput("the expiry must be between 1 second and 5 years").into());
    }
    let secret = format!("{}{}", secrets::API_TOKEN_PREFIX, secrets::generate());
    let now = Timestamp::now();
    let token = ApiToken {
        id: TokenId::generate(),
        user,
        name,
        created_at: now,
        expires_at: expires_in.map(|d| now.plus(d)),
        last_used: None,
        revoked_at: None,
        prefix: secret.chars().take(7).collect(),
        limits,
    };
    let (ctx, stored, hash) = (ctx.clone(), token.clone(), secrets::hash(&secret));
    state
        .store
        .write(move |tx| {
            let owner = store::users::get(tx, user)?.ok_or(ServiceError::NotFound("user"))?;
            store::tokens::insert(tx, &hash, &stored)?;
            audit::record(tx, &ctx, AuditAction::TokenCreated, Some(owner.email.to_string()), Some(format!("token {:?}", stored.name)))?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok((token, secret))
}

pub async fn list(state: &AppState, user: UserId) -> ServiceResult<Vec<ApiToken>> {
    Ok(state.store.read(move |tx| store::tokens::list_for_user(tx, user)).await?)
}

/// Revokes one of `user`'s tokens.
pub async fn revoke(state: &AppState, ctx: &Context, user: UserId, id: TokenId) -> ServiceResult<()> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let mut token = store::tokens::get(tx, id)?.filter(|t| t.user == user).ok_or(ServiceError::NotFound("token"))?;
            if token.revoked_at.is_none() {
                token.revoked_at = Some(Timestamp::now());
                store::tokens::update(tx, &token)?;
                audit::record(tx, &ctx, AuditAction::TokenRevoked, None, Some(format!("token {:?}", token.name)))?;
            }
            Ok(())
        })
        .await
}

/// Resolves a bearer secret to its token and person; `None` for anything not usable.
pub async fn authenticate(state: &AppState, bearer: &str) -> ServiceResult<Option<(ApiToken, User)>> {
    let Some(rest) = bearer.strip_prefix(secrets::API_TOKEN_PREFIX) else {
        return Ok(None);
    };
    if !secrets::looks_valid(rest) {
        return Ok(None);
    }
    let hash = secrets::hash(bearer);
    let found = state
        .store
        .read(move |tx| {
            let Some(token) = store::tokens::find_by_hash(tx, &hash)? else {
                return Ok(None);
            };
            let user = store::users::get(tx, token.user)?;
            Ok::<_, ServiceError>(user.map(|u| (token, u)))
        })
        .await?;
    let now = Timestamp::now();
    let Some((mut token, user)) = found.filter(|(t, u)| t.is_usable(now) && !u.disabled) else {
        return Ok(None);
    };
    if token.last_used.is_none_or(|t| now >= t.plus(LAST_SEEN_GRANULARITY)) {
        token.last_used = Some(now);
        let stored = token.clone();
        state.store.write(move |tx| store::tokens::update(tx, &stored)).await?;
    }
    Ok(Some((token, user)))
}
