//! Notifications: what the instance tells people (by e-mail) and the team (by chat webhook).
//!
//! Use-cases call [`send`] with a [`Notice`] after the change it reports is durable; delivery
//! happens in the background and never fails the use-case that caused it.

use crate::domain::ids::{GenerationId, UserId};
use crate::services::state::AppState;

/// Something worth telling someone. Each variant names who is told and what they need to act.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A job's price needs an approver's yes: tell the approvers (and the team's chat).
    ApprovalAsked { generation: GenerationId, requester: UserId },
    /// An approver approved or declined a job (or the request expired): tell its requester.
    ApprovalAnswered { generation: GenerationId, requester: UserId, approved: bool, note: Option<String> },
    /// A person's monthly allowance was granted.
    AllowanceRenewed { user: UserId, granted: i64 },
}

/// Queues `notice` for delivery. Nothing is delivered until e-mail or chat webhooks are set up.
pub fn send(state: &AppState, notice: Notice) {
    let _ = (state, notice);
}
