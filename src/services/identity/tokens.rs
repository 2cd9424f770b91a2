//! Personal API tokens: created with a name and optional expiry, shown once, revocable.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::ApiConfig;
use crate::domain::audit::AuditAction;
use crate::domain::auth::{ApiToken, LAST_SEEN_GRANULARITY, TokenLimits, parse_token_name};
use crate::domain::ids::{TokenId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{Role, User};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, identity::secrets};
use crate::store;

/// The longest expiry a token may be given.
pub const MAX_EXPIRY: Duration = Duration::from_secs(5 * 365 * 86400);

/// Creates a token; the returned secret is shown once and never again. Only an admin (or
/// the operator's command line) may give it limits above the instance's `[api]` defaults.
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
    let defaults = state.config.api.clone();
    state
        .store
        .write(move |tx| {
            if let Some(actor) = ctx.actor_id() {
                let is_admin = store::users::get(tx, actor)?.is_some_and(|a| a.role == Role::Admin);
                if !is_admin {
                    within_defaults(&limits, &defaults)?;
                }
            }
            let owner = store::users::get(tx, user)?.ok_or(ServiceError::NotFound("user"))?;
            store::tokens::insert(tx, &hash, &stored)?;
            audit::record(tx, &ctx, AuditAction::TokenCreated, Some(owner.email.to_string()), Some(format!("token {:?}", stored.name)))?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok((token, secret))
}

/// Refuses limits above the instance's defaults (what members may not give their tokens).
fn within_defaults(limits: &TokenLimits, defaults: &ApiConfig) -> ServiceResult<()> {
    let above = |own: Option<u32>, default: u32| own.is_some_and(|n| n > default);
    let mut refused = Vec::new();
    if above(limits.requests_per_minute, defaults.requests_per_minute) {
        refused.push(format!("{} requests per minute", defaults.requests_per_minute));
    }
    if above(limits.concurrent_jobs, defaults.concurrent_jobs) {
        refused.push(format!("{} unfinished generations at once", defaults.concurrent_jobs));
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(ServiceError::InvalidMessage(format!(
        "a token's limits may be at most the instance's defaults ({}); only an admin may raise them",
        refused.join(" and ")
    )))
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

/// Revokes every usable token of `user` inside the caller's transaction (a password reset);
/// returns how many. Revoked tokens stay listed, marked revoked.
pub fn revoke_all(tx: &redb::WriteTransaction, ctx: &Context, user: &User) -> ServiceResult<usize> {
    let now = Timestamp::now();
    let mut revoked = 0;
    for mut token in store::tokens::list_for_user(tx, user.id)? {
        if token.revoked_at.is_none() {
            token.revoked_at = Some(now);
            store::tokens::update(tx, &token)?;
            revoked += 1;
        }
    }
    if revoked > 0 {
        let detail = if revoked == 1 { "1 token".to_string() } else { format!("{revoked} tokens") };
        audit::record(tx, ctx, AuditAction::TokenRevoked, Some(user.email.to_string()), Some(detail))?;
    }
    Ok(revoked)
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
    let commits = state.store.commits();
    let found = match state.proven_tokens.get(&hash, commits) {
        proven @ Some(_) => proven,
        None => {
            let found = stored(state, hash).await?;
            if let Some(found) = &found {
                state.proven_tokens.put(hash, commits, found.clone());
            }
            found
        }
    };
    let now = Timestamp::now();
    let Some((mut token, user)) = found.filter(|(t, u)| t.is_usable(now) && !u.disabled) else {
        return Ok(None);
    };
    if token.last_used.is_none_or(|t| now >= t.plus(LAST_SEEN_GRANULARITY)) {
        token.last_used = Some(now);
        let touched = token.clone();
        state.store.write(move |tx| store::tokens::update(tx, &touched)).await?;
    }
    Ok(Some((token, user)))
}

/// The token stored under `hash` and its person, as the store has them now.
async fn stored(state: &AppState, hash: [u8; 32]) -> ServiceResult<Option<(ApiToken, User)>> {
    // two point lookups, on this thread
    state.store.read_now(|tx| {
        let Some(token) = store::tokens::find_by_hash(tx, &hash)? else {
            return Ok(None);
        };
        let user = store::users::get(tx, token.user)?;
        Ok(user.map(|u| (token, u)))
    })
}

/// Tokens and their people as the store last gave them, while nothing has been committed
/// since: a run of API requests reads the store once, and any commit (a revocation, a
/// disabled account, a changed role) makes every entry stale at once.
#[derive(Default)]
pub struct ProvenTokens(Mutex<Proven>);

#[derive(Default)]
struct Proven {
    /// The store's commit count the entries were read at.
    commits: u64,
    found: HashMap<[u8; 32], (ApiToken, User)>,
}

/// Entries kept at most; more are a sign of many people at once, and start over.
const PROVEN_AT_MOST: usize = 256;

impl ProvenTokens {
    /// What the store said of `hash`, if it was read at `commits` (the count now).
    pub fn get(&self, hash: &[u8; 32], commits: u64) -> Option<(ApiToken, User)> {
        let proven = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if proven.commits != commits {
            return None;
        }
        proven.found.get(hash).cloned()
    }

    /// Keeps what a read transaction begun at commit count `commits` found for `hash`.
    pub fn put(&self, hash: [u8; 32], commits: u64, found: (ApiToken, User)) {
        let mut proven = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if commits < proven.commits {
            return; // read before the entries there: maybe stale already
        }
        if commits > proven.commits || proven.found.len() >= PROVEN_AT_MOST {
            proven.found.clear();
            proven.commits = commits;
        }
        proven.found.insert(hash, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::{Email, Role};

    fn found(name: &str) -> (ApiToken, User) {
        let user = User::new(Email::parse("ada@example.com").unwrap(), "Ada".into(), Role::Member, String::new());
        let now = Timestamp::now();
        let token = ApiToken {
            id: TokenId::generate(),
            user: user.id,
            name: name.into(),
            created_at: now,
            expires_at: None,
            last_used: None,
            revoked_at: None,
            prefix: "rv_abcd".into(),
            limits: TokenLimits::default(),
        };
        (token, user)
    }

    #[test]
    fn limits_within_the_defaults_pass_and_any_above_is_named() {
        let defaults = ApiConfig { requests_per_minute: 120, concurrent_jobs: 8 };
        let limits = |rpm, jobs| TokenLimits { requests_per_minute: rpm, concurrent_jobs: jobs };
        for ok in [limits(None, None), limits(Some(120), Some(8)), limits(Some(1), None)] {
            assert!(within_defaults(&ok, &defaults).is_ok(), "{ok:?}");
        }
        let refused = within_defaults(&limits(Some(121), Some(9)), &defaults).unwrap_err().to_string();
        assert!(refused.contains("120 requests per minute") && refused.contains("8 unfinished"), "{refused}");
        let refused = within_defaults(&limits(None, Some(1000)), &defaults).unwrap_err().to_string();
        assert!(!refused.contains("requests per minute") && refused.contains("only an admin"), "{refused}");
    }

    #[test]
    fn proven_tokens_hold_only_while_nothing_was_committed() {
        let proven = ProvenTokens::default();
        proven.put([1; 32], 7, found("one"));
        assert_eq!(proven.get(&[1; 32], 7).map(|(t, _)| t.name), Some("one".into()));
        assert!(proven.get(&[2; 32], 7).is_none(), "only what was proved");
        assert!(proven.get(&[1; 32], 8).is_none(), "a commit since makes it stale");
        // a read begun before a newer one's may be stale: it is not kept
        proven.put([2; 32], 9, found("two"));
        proven.put([3; 32], 8, found("three"));
        assert!(proven.get(&[3; 32], 9).is_none());
        assert!(proven.get(&[1; 32], 9).is_none(), "entries of an older count are gone");
        assert_eq!(proven.get(&[2; 32], 9).map(|(t, _)| t.name), Some("two".into()));
    }

    #[test]
    fn proven_tokens_stay_bounded() {
        let proven = ProvenTokens::default();
        for n in 0..(PROVEN_AT_MOST as u32 * 3) {
            let mut hash = [0; 32];
            hash[..4].copy_from_slice(&n.to_le_bytes());
            proven.put(hash, 1, found("many"));
        }
        let kept = proven.0.lock().unwrap().found.len();
        assert!((1..=PROVEN_AT_MOST).contains(&kept), "{kept}");
    }
}
