//! Share links: a read-only view of one generation or one board for people without an account,
//! with its expiry, optional password and what it shows.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ids::{BoardId, GenerationId, ShareId, UserId};
use super::time::Timestamp;

/// How long a link works when the sharer does not say.
pub const DEFAULT_DAYS: u16 = 7;
/// The longest a link may work.
pub const MAX_DAYS: u16 = 90;
/// The longest password a link may have (it is hashed; this bounds the hashing work).
pub const MAX_PASSWORD_LEN: usize = 256;
/// The shortest password a link may have.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The most live links one person may have at a time.
pub const MAX_LIVE_PER_PERSON: usize = 500;

/// What a link shows.
/// Externally tagged (`{"generation": "<id>"}`), as the store's encoding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareTarget {
    Generation(GenerationId),
    Board(BoardId),
}

impl ShareTarget {
    /// The wire name of its kind.
    pub fn kind(self) -> &'static str {
        match self {
            ShareTarget::Generation(_) => "generation",
            ShareTarget::Board(_) => "board",
        }
    }

    /// The target as the audit log names it (`generation:<id>`, `board:<id>`).
    pub fn label(self) -> String {
        match self {
            ShareTarget::Generation(id) => format!("generation:{id}"),
            ShareTarget::Board(id) => format!("board:{id}"),
        }
    }
}

/// One share link as stored. The secret in its URL is kept only as a SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLink {
    pub id: ShareId,
    pub target: ShareTarget,
    /// Who made it (they and admins see and revoke it).
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it, if someone did.
    pub revoked_by: Option<UserId>,
    /// The argon2 hash of its password, when it has one.
    pub password_hash: Option<String>,
    /// Whether viewers may save the files (a download button, `download=1` links).
    pub allow_download: bool,
    /// Whether the page shows the prompt beside each output.
    pub show_prompt: bool,
    /// How many times the page was opened (each one is also in the audit log).
    pub views: u64,
    pub last_viewed_at: Option<Timestamp>,
}

/// Whether a link can be opened now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Live,
    Expired,
    Revoked,
}

impl ShareLink {
    pub fn liveness(&self, now: Timestamp) -> Liveness {
        if self.revoked_at.is_some() {
            Liveness::Revoked
        } else if now >= self.expires_at {
            Liveness::Expired
        } else {
            Liveness::Live
        }
    }

    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// What a sharer asks for when making a link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareRequest {
    /// Days until it expires (`None`: [`DEFAULT_DAYS`]).
    pub days: Option<u16>,
    pub password: Option<String>,
    pub allow_download: bool,
    pub show_prompt: bool,
}

/// Why a share request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRuleError {
    #[error("A link works for 1 to {MAX_DAYS} days.")]
    Days,
    #[error("A link's password has {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters.")]
    Password,
}

impl ShareRequest {
    /// The expiry of a link made at `now`, checking the rules.
    pub fn expires_at(&self, now: Timestamp) -> Result<Timestamp, ShareRuleError> {
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ShareRuleError::Days);
        }
        Ok(now.plus(Duration::from_secs(u64::from(days) * 86_400)))
    }

    /// The password to hash, if any (an empty one means none), checking its length.
    pub fn password(&self) -> Result<Option<&str>, ShareRuleError> {
        match self.password.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(None),
            Some(p) if (MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&p.chars().count()) => Ok(Some(p)),
            Some(_) => Err(ShareRuleError::Password),
        }
    }
}

/// The instance-wide switch an admin sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingSettings {
    /// When off, no link can be made and every existing link answers as disabled (they work
    /// again when it is turned back on, unless expired or revoked).
    pub enabled: bool,
}

impl Default for SharingSettings {
    fn default() -> Self {
        SharingSettings { enabled: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires_at: Timestamp) -> ShareLink {
        ShareLink {
            id: ShareId::generate(),
            target: ShareTarget::Generation(GenerationId::generate()),
            created_by: UserId::generate(),
            created_at: Timestamp(0),
            expires_at,
            revoked_at: None,
            revoked_by: None,
            password_hash: None,
            allow_download: false,
            show_prompt: false,
            views: 0,
            last_viewed_at: None,
        }
    }

    #[test]
    fn a_link_expires_after_seven_days_unless_told_and_never_after_ninety() {
        let now = Timestamp(1_000);
        let day = 86_400_000;
        assert_eq!(ShareRequest::default().expires_at(now), Ok(Timestamp(1_000 + 7 * day)));
        let ninety = ShareRequest { days: Some(90), ..Default::default() };
        assert_eq!(ninety.expires_at(now), Ok(Timestamp(1_000 + 90 * day)));
        for bad in [0, 91, u16::MAX] {
            let request = ShareRequest { days: Some(bad), ..Default::default() };
            assert_eq!(request.expires_at(now), Err(ShareRuleError::Days), "{bad} days");
        }
    }

    #[test]
    fn an_empty_password_is_none_and_a_short_one_is_refused() {
        let with = |p: &str| ShareRequest { password: Some(p.into()), ..Default::default() };
        assert_eq!(with("").password(), Ok(None));
        assert_eq!(with("short").password(), Err(ShareRuleError::Password));
        assert_eq!(with("long enough").password(), Ok(Some("long enough")));
        assert_eq!(with(&"x".repeat(MAX_PASSWORD_LEN + 1)).password(), Err(ShareRuleError::Password));
    }

    #[test]
    fn revoked_wins_over_expired_and_expiry_is_exclusive() {
        let mut l = link(Timestamp(100));
        assert_eq!(l.liveness(Timestamp(99)), Liveness::Live);
        assert_eq!(l.liveness(Timestamp(100)), Liveness::Expired);
        l.revoked_at = Some(Timestamp(50));
        assert_eq!(l.liveness(Timestamp(60)), Liveness::Revoked);
    }

    #[test]
    fn a_target_names_its_kind() {
        let id = GenerationId::generate();
        let json = serde_json::to_value(ShareTarget::Generation(id)).unwrap();
        assert_eq!(json["generation"], id.to_string());
        assert_eq!(ShareTarget::Generation(id).label(), format!("generation:{id}"));
    }
}
