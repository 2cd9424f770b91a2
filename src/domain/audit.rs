//! The audit trail: who did what, when, from where.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{AuditId, UserId};
use super::time::Timestamp;

/// What happened. New kinds are appended; stored names never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    SetupCompleted,
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
    SessionsRevoked,
    PasswordChanged,
    PasswordResetIssued,
    InvitationCreated,
    InvitationAccepted,
    UserCreated,
    RoleChanged,
    UserDisabled,
    UserEnabled,
    TokenCreated,
    TokenRevoked,
    CreditsGranted,
    ConnectionAdded,
    ConnectionRemoved,
    ConnectionTested,
    ModelRolesChanged,
    ModelPriceChanged,
    ModelOverrideSet,
    ModelOverrideRemoved,
    GenerationDeleted,
    /// A retention sweep ran (its counts in the detail).
    RetentionRun,
    /// A generation was submitted (model and cost in the detail).
    GenerationCreated,
    /// Someone fetched a stored file through a signed link (the asset in the target).
    MediaDownloaded,
    /// A person asked for an export of all their data.
    ExportRequested,
    /// A finished export was downloaded.
    ExportDownloaded,
    /// A person deleted all their content (the account stays).
    ContentDeleted,
    /// An account was deleted (content and key destroyed; ledger kept, anonymised).
    AccountDeleted,
    /// A person corrected their profile (name, email, bio or picture).
    ProfileChanged,
    /// An admin restricted an account: no processing, data kept.
    AccountFrozen,
    /// An admin lifted a restriction.
    AccountUnfrozen,
    /// An admin put a person or an item on legal hold.
    LegalHoldSet,
    /// An admin lifted a legal hold.
    LegalHoldRemoved,
    /// A person's or the instance's data-use preference changed.
    DataUseChanged,
    /// Privacy-relevant configuration changed (retention periods, providers, contact), seen at
    /// start or when an admin adds or removes a connection; what changed in the detail.
    SettingsChanged,
    /// A person registered a webhook URL.
    WebhookCreated,
    /// A person deleted a webhook.
    WebhookDeleted,
    /// An admin installed a catalog file (its name and model count in the detail).
    CatalogImported,
    /// The models connections' APIs list were stored as the discovered catalog layer (the
    /// model count in the detail).
    CatalogDiscovered,
    /// An admin changed, added or reverted a catalog model (the model in the target).
    ModelEdited,
    /// An admin moved what named a retiring model to its successor.
    ModelRemapped,
    /// An admin changed the allowances, spend limits or approval rules.
    SpendingSettingsChanged,
    /// The monthly renewal granted a person their allowance (amount in the detail).
    AllowanceGranted,
    /// A job priced above its requester's threshold was stored waiting for an approver.
    ApprovalAsked,
    /// An approver approved a job (their note in the detail).
    ApprovalApproved,
    /// An approver declined a job, releasing its hold (their note in the detail).
    ApprovalDeclined,
    /// Nobody answered an approval request in time: it expired and its hold was released.
    ApprovalExpired,
    /// A person created a board (its name in the detail).
    BoardCreated,
    /// An editor deleted a board (its generations stay).
    BoardDeleted,
    /// An editor made someone a member of a board (the member and role in the detail).
    BoardMemberAdded,
    /// An editor changed a member's role on a board (the member and role in the detail).
    BoardMemberChanged,
    /// A member left a board or an editor removed them (the member in the detail).
    BoardMemberRemoved,
    /// A person made a share link (its target in the detail).
    ShareCreated,
    /// A share link was revoked by its maker or an admin.
    ShareRevoked,
    /// Someone opened a share link's page (the truncated address in the client).
    ShareViewed,
    /// An admin turned share links on or off for the whole instance.
    SharingSwitched,
    /// A person saved a preset (its name and owner in the detail).
    PresetCreated,
    /// A person deleted a preset.
    PresetDeleted,
    /// A person created a cast member (its name and image count in the detail).
    CastCreated,
    /// A person deleted a cast member.
    CastDeleted,
    /// A person started a batch (its budget and parallelism in the detail).
    BatchStarted,
    /// A person stopped a running batch; rows in flight finish.
    BatchStopped,
    /// A person resumed a stopped batch.
    BatchResumed,
    /// `reelvault media migrate` put another media backend in force (from and to in the detail).
    MediaBackendSwitched,
}

impl AuditAction {
    pub const ALL: [AuditAction; 68] = [
        AuditAction::SetupCompleted,
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignInThrottled,
        AuditAction::SignOut,
        AuditAction::SessionsRevoked,
        AuditAction::PasswordChanged,
        AuditAction::PasswordResetIssued,
        AuditAction::InvitationCreated,
        AuditAction::InvitationAccepted,
        AuditAction::UserCreated,
        AuditAction::RoleChanged,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::CreditsGranted,
        AuditAction::ConnectionAdded,
        AuditAction::ConnectionRemoved,
        AuditAction::ConnectionTested,
        AuditAction::ModelRolesChanged,
        AuditAction::ModelPriceChanged,
        AuditAction::ModelOverrideSet,
        AuditAction::ModelOverrideRemoved,
        AuditAction::GenerationDeleted,
        AuditAction::RetentionRun,
        AuditAction::GenerationCreated,
        AuditAction::MediaDownloaded,
        AuditAction::ExportRequested,
        AuditAction::ExportDownloaded,
        AuditAction::ContentDeleted,
        AuditAction::AccountDeleted,
        AuditAction::ProfileChanged,
        AuditAction::AccountFrozen,
        AuditAction::AccountUnfrozen,
        AuditAction::LegalHoldSet,
        AuditAction::LegalHoldRemoved,
        AuditAction::DataUseChanged,
        AuditAction::SettingsChanged,
        AuditAction::WebhookCreated,
        AuditAction::WebhookDeleted,
        AuditAction::CatalogImported,
        AuditAction::CatalogDiscovered,
        AuditAction::ModelEdited,
        AuditAction::ModelRemapped,
        AuditAction::SpendingSettingsChanged,
        AuditAction::AllowanceGranted,
        AuditAction::ApprovalAsked,
        AuditAction::ApprovalApproved,
        AuditAction::ApprovalDeclined,
        AuditAction::ApprovalExpired,
        AuditAction::BoardCreated,
        AuditAction::BoardDeleted,
        AuditAction::BoardMemberAdded,
        AuditAction::BoardMemberChanged,
        AuditAction::BoardMemberRemoved,
        AuditAction::ShareCreated,
        AuditAction::ShareRevoked,
        AuditAction::ShareViewed,
        AuditAction::SharingSwitched,
        AuditAction::PresetCreated,
        AuditAction::PresetDeleted,
        AuditAction::CastCreated,
        AuditAction::CastDeleted,
        AuditAction::BatchStarted,
        AuditAction::BatchStopped,
        AuditAction::BatchResumed,
        AuditAction::MediaBackendSwitched,
    ];

    /// The stable dotted name shown on pages and accepted by filters.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SetupCompleted => "setup.completed",
            AuditAction::SignIn => "auth.sign_in",
            AuditAction::SignInFailed => "auth.sign_in_failed",
            AuditAction::SignInThrottled => "auth.sign_in_throttled",
            AuditAction::SignOut => "auth.sign_out",
            AuditAction::SessionsRevoked => "auth.sessions_revoked",
            AuditAction::PasswordChanged => "user.password_changed",
            AuditAction::PasswordResetIssued => "user.password_reset_issued",
            AuditAction::InvitationCreated => "invitation.created",
            AuditAction::InvitationAccepted => "invitation.accepted",
            AuditAction::UserCreated => "user.created",
            AuditAction::RoleChanged => "user.role_changed",
            AuditAction::UserDisabled => "user.disabled",
            AuditAction::UserEnabled => "user.enabled",
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenRevoked => "token.revoked",
            AuditAction::CreditsGranted => "credits.granted",
            AuditAction::ConnectionAdded => "connection.added",
            AuditAction::ConnectionRemoved => "connection.removed",
            AuditAction::ConnectionTested => "connection.tested",
            AuditAction::ModelRolesChanged => "model.roles_changed",
            AuditAction::ModelPriceChanged => "model.price_changed",
            AuditAction::ModelOverrideSet => "model.override_set",
            AuditAction::ModelOverrideRemoved => "model.override_removed",
            AuditAction::GenerationDeleted => "generation.deleted",
            AuditAction::RetentionRun => "retention.run",
            AuditAction::GenerationCreated => "generation.created",
            AuditAction::MediaDownloaded => "media.downloaded",
            AuditAction::ExportRequested => "export.requested",
            AuditAction::ExportDownloaded => "export.downloaded",
            AuditAction::ContentDeleted => "user.content_deleted",
            AuditAction::AccountDeleted => "user.account_deleted",
            AuditAction::ProfileChanged => "user.profile_changed",
            AuditAction::AccountFrozen => "user.frozen",
            AuditAction::AccountUnfrozen => "user.unfrozen",
            AuditAction::LegalHoldSet => "legal_hold.set",
            AuditAction::LegalHoldRemoved => "legal_hold.removed",
            AuditAction::DataUseChanged => "data_use.changed",
            AuditAction::SettingsChanged => "settings.changed",
            AuditAction::WebhookCreated => "webhook.created",
            AuditAction::WebhookDeleted => "webhook.deleted",
            AuditAction::CatalogImported => "catalog.imported",
            AuditAction::CatalogDiscovered => "catalog.discovered",
            AuditAction::ModelEdited => "model.edited",
            AuditAction::ModelRemapped => "model.remapped",
            AuditAction::SpendingSettingsChanged => "spending.settings_changed",
            AuditAction::AllowanceGranted => "credits.allowance_granted",
            AuditAction::ApprovalAsked => "approval.asked",
            AuditAction::ApprovalApproved => "approval.approved",
            AuditAction::ApprovalDeclined => "approval.declined",
            AuditAction::ApprovalExpired => "approval.expired",
            AuditAction::BoardCreated => "board.created",
            AuditAction::BoardDeleted => "board.deleted",
            AuditAction::BoardMemberAdded => "board.member_added",
            AuditAction::BoardMemberChanged => "board.member_changed",
            AuditAction::BoardMemberRemoved => "board.member_removed",
            AuditAction::ShareCreated => "share.created",
            AuditAction::ShareRevoked => "share.revoked",
            AuditAction::ShareViewed => "share.viewed",
            AuditAction::SharingSwitched => "share.switched",
            AuditAction::PresetCreated => "preset.created",
            AuditAction::PresetDeleted => "preset.deleted",
            AuditAction::CastCreated => "cast.created",
            AuditAction::CastDeleted => "cast.deleted",
            AuditAction::BatchStarted => "batch.started",
            AuditAction::BatchStopped => "batch.stopped",
            AuditAction::BatchResumed => "batch.resumed",
            AuditAction::MediaBackendSwitched => "media.backend_switched",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// A signed-in person (email kept as it was at the time).
    User { id: UserId, email: String },
    /// Someone not signed in, with the email they typed (for failed sign-ins).
    Anonymous { claimed_email: Option<String> },
    /// The command line, on the server itself.
    Cli,
    /// The appliance itself (scheduled retention, finishing an interrupted deletion).
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.clone(),
            Actor::Anonymous { claimed_email: Some(e) } => format!("anonymous ({e})"),
            Actor::Anonymous { claimed_email: None } => "anonymous".into(),
            Actor::Cli => "command line".into(),
            Actor::System => "reelvault".into(),
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// How an erased account is named in the audit log: its bare, random id.
pub fn erased_label(id: UserId) -> String {
    format!("user:{id}")
}

/// One audit event as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditId,
    pub at: Timestamp,
    pub actor: Actor,
    pub action: AuditAction,
    /// What was acted on, in words ("bob@example.com", "token laptop").
    pub target: Option<String>,
    pub client: ClientInfo,
    pub detail: Option<String>,
}

impl AuditEvent {
    /// Forgets an erased person in this event: where they acted (signed in, or claiming one
    /// of their `emails` when not), their e-mail becomes [`erased_label`] and their client
    /// address and user agent go; any of their `emails` in the target or detail becomes
    /// the label too. Returns whether anything changed.
    pub fn forget_person(&mut self, person: UserId, emails: &[String]) -> bool {
        let label = erased_label(person);
        let mut changed = false;
        let acted = match &mut self.actor {
            Actor::User { id, email } if *id == person => {
                changed |= *email != label;
                *email = label.clone();
                true
            }
            Actor::Anonymous { claimed_email: Some(claimed) } if emails.iter().any(|e| e.eq_ignore_ascii_case(claimed.trim())) => {
                *claimed = label.clone();
                changed = true;
                true
            }
            _ => false,
        };
        if acted && self.client != ClientInfo::default() {
            self.client = ClientInfo::default();
            changed = true;
        }
        for text in [&mut self.target, &mut self.detail].into_iter().flatten() {
            for email in emails {
                if let Some(replaced) = replace_ignoring_case(text, email, &label) {
                    *text = replaced;
                    changed = true;
                }
            }
        }
        changed
    }
}

/// `text` with every whole occurrence of the address `needle` (ASCII case ignored; not part
/// of a longer address such as `tom@…` for `om@…`) replaced by `with`, or `None` when it
/// has none.
fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> Option<String> {
    if needle.is_empty() {
        return None;
    }
    let (haystack, needle) = (text.to_ascii_lowercase(), needle.to_ascii_lowercase());
    let bytes = haystack.as_bytes();
    let continues_local = |b: u8| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b);
    let continues_domain = |at: usize| match bytes.get(at) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'-' => true,
        Some(b'.') => bytes.get(at + 1).is_some_and(u8::is_ascii_alphanumeric),
        _ => false,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in haystack.match_indices(&needle) {
        let whole = (at == 0 || !continues_local(bytes[at - 1])) && !continues_domain(at + needle.len());
        if !whole || at < rest {
            continue;
        }
        out.push_str(&text[rest..at]);
        out.push_str(with);
        rest = at + needle.len();
    }
    if rest == 0 {
        return None;
    }
    out.push_str(&text[rest..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: Actor, target: Option<&str>, detail: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: AuditId::generate(),
            at: Timestamp::now(),
            actor,
            action: AuditAction::SignIn,
            target: target.map(str::to_string),
            client: ClientInfo { address: Some("203.0.113.9".into()), user_agent: Some("Firefox".into()) },
            detail: detail.map(str::to_string),
        }
    }

    #[test]
    fn an_erased_person_is_only_their_id_where_they_acted_and_where_they_were_named() {
        let (person, other) = (UserId::generate(), UserId::generate());
        let emails = vec!["mo@example.com".to_string(), "old@example.com".to_string()];
        let label = erased_label(person);

        let mut acted = event(Actor::User { id: person, email: "old@example.com".into() }, None, None);
        assert!(acted.forget_person(person, &emails));
        assert_eq!(acted.actor, Actor::User { id: person, email: label.clone() });
        assert_eq!(acted.client, ClientInfo::default());

        let mut claimed = event(Actor::Anonymous { claimed_email: Some(" MO@example.com".into()) }, None, None);
        assert!(claimed.forget_person(person, &emails));
        assert_eq!(claimed.actor, Actor::Anonymous { claimed_email: Some(label.clone()) });
        assert_eq!(claimed.client, ClientInfo::default());

        let mut named =
            event(Actor::User { id: other, email: "admin@example.com".into() }, Some("Mo@Example.com"), Some("was old@example.com"));
        assert!(named.forget_person(person, &emails));
        assert_eq!(named.target.as_deref(), Some(label.as_str()));
        assert_eq!(named.detail, Some(format!("was {label}")));
        assert_eq!(named.client.address.as_deref(), Some("203.0.113.9"), "the admin's own address stays");

        let mut unrelated = event(Actor::User { id: other, email: "admin@example.com".into() }, Some("limo@example.com.au"), None);
        assert!(!unrelated.forget_person(person, &emails));
        assert!(!acted.forget_person(person, &emails), "forgetting twice changes nothing");
    }
}
