//! Credentials other than passwords: browser sessions, API tokens and one-time links.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::audit::ClientInfo;
use super::ids::{LinkId, SessionId, TokenId, UserId};
use super::time::Timestamp;
use super::user::{Email, InvalidInput, Role};

/// A signed-in browser. The secret token is never stored, only its hash (the table key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user: UserId,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    pub client: ClientInfo,
}

/// How a session started with OpenID Connect can be ended at its provider too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcSession {
    /// The `[[oidc]]` provider's name.
    pub provider: String,
    /// The raw ID token the provider issued (sent back as `id_token_hint` at sign-out).
    pub id_token: String,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Signed out after this long without a request.
    pub idle: Duration,
    /// Signed out this long after sign-in, however active.
    pub absolute: Duration,
}

/// How often `last_seen` is written back: idle checks are this coarse, and most requests
/// need no write transaction.
pub const LAST_SEEN_GRANULARITY: Duration = Duration::from_secs(60);

impl Session {
    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, policy: SessionPolicy, now: Timestamp) -> bool {
        now < self.created_at.plus(policy.absolute) && now < self.last_seen.plus(policy.idle)
    }

    /// Whether `last_seen` is stale enough to be worth a write.
    pub fn needs_touch(&self, now: Timestamp) -> bool {
        now >= self.last_seen.plus(LAST_SEEN_GRANULARITY)
    }
}

/// A personal API token. The secret is shown once; only its hash is stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The first characters of the secret, so a person can tell tokens apart.
    pub prefix: String,
    /// Limits of this token in place of the instance's `[api]` defaults.
    pub limits: TokenLimits,
}

/// A token's own request and job limits; `None` takes the instance's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLimits {
    pub requests_per_minute: Option<u32>,
    pub concurrent_jobs: Option<u32>,
}

/// The highest limit a token may be given.
pub const MAX_TOKEN_LIMIT: u32 = 1_000_000;

impl TokenLimits {
    /// Parses the optional fields of the token form or command line (empty: the default).
    pub fn parse(requests_per_minute: &str, concurrent_jobs: &str) -> Result<TokenLimits, InvalidInput> {
        let one = |text: &str, what: InvalidInput| -> Result<Option<u32>, InvalidInput> {
            match text.trim() {
                "" => Ok(None),
                n => n.parse::<u32>().ok().filter(|n| (1..=MAX_TOKEN_LIMIT).contains(n)).map(Some).ok_or(what),
            }
        };
        Ok(TokenLimits {
            requests_per_minute: one(
                requests_per_minute,
                InvalidInput("requests per minute is a whole number from 1 to 1000000, or empty"),
            )?,
            concurrent_jobs: one(concurrent_jobs, InvalidInput("concurrent jobs is a whole number from 1 to 1000000, or empty"))?,
        })
    }
}

impl ApiToken {
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// What a one-time link lets its holder do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LinkPurpose {
    /// Create an account with this email and role.
    Invitation { email: Email, role: Role },
    /// Set a new password for this account.
    PasswordReset { user: UserId },
}

/// An invitation or password-reset link; the secret is only in the URL, its hash is the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneTimeLink {
    pub id: LinkId,
    pub purpose: LinkPurpose,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl OneTimeLink {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// Length of token names.
pub fn parse_token_name(input: &str) -> Result<String, super::user::InvalidInput> {
    let name = input.trim();
    if name.is_empty() {
        return Err(super::user::InvalidInput("give the token a name, like \"laptop script\""));
    }
    if name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(super::user::InvalidInput("the token name must be at most 60 plain characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created: i64, seen: i64) -> Session {
        Session {
            id: SessionId::generate(),
            user: UserId::generate(),
            created_at: Timestamp(created),
            last_seen: Timestamp(seen),
            client: ClientInfo::default(),
        }
    }

    #[test]
    fn sessions_end_on_idle_or_absolute_timeout() {
        let policy = SessionPolicy { idle: Duration::from_secs(10), absolute: Duration::from_secs(100) };
        assert!(session(0, 0).is_live(policy, Timestamp(9_000)));
        assert!(!session(0, 0).is_live(policy, Timestamp(10_000)), "idle");
        assert!(session(0, 95_000).is_live(policy, Timestamp(99_000)));
        assert!(!session(0, 95_000).is_live(policy, Timestamp(100_000)), "absolute");
    }
}
