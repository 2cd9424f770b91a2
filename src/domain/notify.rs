//! Notifications waiting to go out (e-mail or a chat webhook) and people's settings for them.
//! Pure types: the store keeps the outbox, services fill it and a worker empties it.

use serde::{Deserialize, Serialize};

use crate::domain::ids::{GenerationId, NoticeId, UserId};
use crate::domain::time::Timestamp;

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    /// A person with an account: their address and language are looked up when it is sent.
    Person(UserId),
    /// An address without an account yet (an invitation).
    Address(String),
    /// One of the team's chat webhooks, by its name in the config.
    Chat(String),
}

/// What a notification says. Ids only where the rest can be looked up when it is sent;
/// a link's secret is kept sealed to the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// An invitation link (sealed) and when it stops working.
    Invitation { sealed_link: Vec<u8>, expires_at: Timestamp },
    /// A password-reset link (sealed) and when it stops working.
    PasswordReset { sealed_link: Vec<u8>, expires_at: Timestamp },
    /// A job waits for an approver.
    ApprovalAsked { generation: GenerationId, requester: UserId },
    /// An approver answered (or the request expired).
    ApprovalAnswered { generation: GenerationId, approved: bool, note: Option<String> },
    /// A person's monthly allowance was granted.
    AllowanceRenewed { granted: i64 },
    /// A long job ended (succeeded, failed or was cancelled).
    JobFinished { generation: GenerationId },
    /// A job failed (for the team's chat).
    JobFailed { generation: GenerationId },
}

impl Message {
    /// The event name chat bodies and logs use.
    pub fn event(&self) -> &'static str {
        match self {
            Message::Invitation { .. } => "invitation",
            Message::PasswordReset { .. } => "password_reset",
            Message::ApprovalAsked { .. } => "approval_asked",
            Message::ApprovalAnswered { .. } => "approval_answered",
            Message::AllowanceRenewed { .. } => "allowance_renewed",
            Message::JobFinished { .. } => "job_finished",
            Message::JobFailed { .. } => "job_failed",
        }
    }
}

/// One notification in the outbox, with its delivery attempts so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: NoticeId,
    pub recipient: Recipient,
    pub message: Message,
    pub created_at: Timestamp,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// Why the last attempt failed (never a secret).
    pub last_error: Option<String>,
}

impl Outgoing {
    /// A new notification, due at once.
    pub fn new(recipient: Recipient, message: Message, now: Timestamp) -> Outgoing {
        Outgoing { id: NoticeId::generate(), recipient, message, created_at: now, attempts: 0, next_attempt_at: now, last_error: None }
    }
}

/// A person's notification settings (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySettings {
    /// E-mail me when a job that took longer than this many minutes ends.
    pub long_job_minutes: Option<u32>,
}

/// The most minutes the long-job setting takes (a day).
pub const LONG_JOB_MAX_MINUTES: u32 = 24 * 60;

impl NotifySettings {
    /// Whether a job that ran `elapsed_ms` is long enough to be e-mailed about.
    pub fn wants_job(&self, elapsed_ms: i64) -> bool {
        self.long_job_minutes.is_some_and(|minutes| elapsed_ms >= i64::from(minutes) * 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_long_enough_from_the_set_minutes_and_never_when_off() {
        let on = NotifySettings { long_job_minutes: Some(2) };
        assert!(!on.wants_job(119_999));
        assert!(on.wants_job(120_000));
        let zero = NotifySettings { long_job_minutes: Some(0) };
        assert!(zero.wants_job(0));
        assert!(!NotifySettings::default().wants_job(i64::MAX));
    }
}
