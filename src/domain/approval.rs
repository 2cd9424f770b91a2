//! Approval requests: a job priced above its requester's threshold waits for an approver's
//! answer (or its expiry), and the monthly allowance grants recorded once per person and month.

use serde::{Deserialize, Serialize};

use super::ids::{GenerationId, UserId};
use super::time::Timestamp;

/// How an approval request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    Declined,
    /// Nobody answered before it expired.
    Expired,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Declined => "declined",
            Verdict::Expired => "expired",
        }
    }

    /// The catalogue key of its words for people.
    pub fn message_key(self) -> &'static str {
        match self {
            Verdict::Approved => "approval-approved",
            Verdict::Declined => "approval-declined",
            Verdict::Expired => "approval-expired",
        }
    }
}

/// An approver's answer, or the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub verdict: Verdict,
    pub at: Timestamp,
    /// Who answered (`None` for an expiry).
    pub by: Option<UserId>,
    /// Their e-mail as it was then.
    pub by_email: Option<String>,
    pub note: Option<String>,
}

/// One approval request, kept after it is answered (its generation's page shows the answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub generation: GenerationId,
    pub requester: UserId,
    pub asked_at: Timestamp,
    pub expires_at: Timestamp,
    /// The threshold the price was above.
    pub threshold: u64,
    pub answer: Option<Answer>,
}

/// The longest note an approver may write.
pub const MAX_NOTE_CHARS: usize = 1000;

/// A monthly allowance as granted to one person for one month (the renewal's idempotency key
/// is the person and the month).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceGrant {
    pub at: Timestamp,
    /// The month as `yyyymm`.
    pub month: u32,
    /// The allowance that applied.
    pub monthly: u64,
    pub rollover_cap: u64,
    /// What the renewal granted (less than `monthly` when the carry-over was capped).
    pub granted: u64,
    /// The credits available right after the grant: "left of" this for the month.
    pub available_after: i64,
}
