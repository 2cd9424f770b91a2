//! Notifications: what the instance tells people (by e-mail) and the team (by chat webhook).
//!
//! Use-cases call [`send`] with a [`Notice`] after the change it reports is durable; it is
//! written to the outbox (one row per recipient, so a restart loses nothing) and the
//! "notifications" worker ([`delivery`]) sends it with retries. Sending never fails or slows
//! the use-case that caused it.

pub mod chat;
pub mod delivery;
pub mod email;
pub mod job_ends;
pub mod overview;
pub mod render;
pub mod settings;

use crate::config::ChatEvent;
use crate::domain::audit::ClientInfo;
use crate::domain::auth::{LinkPurpose, OneTimeLink};
use crate::domain::generation::GenState;
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::notify::{Message, Outgoing, Recipient};
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, Role, User};
use crate::services::identity::{links, throttle::Throttle};
use crate::services::privacy::audit::Context;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::vault::sealed;

/// Something worth telling someone. Each variant names who is told and what they need to act.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A job's price needs an approver's yes: tell the approvers (and the team's chat).
    ApprovalAsked { generation: GenerationId, requester: UserId },
    /// An approver approved or declined a job (or the request expired): tell its requester.
    ApprovalAnswered { generation: GenerationId, requester: UserId, approved: bool, note: Option<String> },
    /// A person's monthly allowance was granted.
    AllowanceRenewed { user: UserId, granted: i64 },
    /// An invitation was created for an address: e-mail it the link.
    Invitation { email: Email, url: String, expires_at: Timestamp },
    /// A password-reset link was issued for a person: e-mail it to them.
    PasswordReset { user: UserId, url: String, expires_at: Timestamp },
    /// A job ended: tell its owner when it was long and they asked, and the team's chat when
    /// it failed.
    JobEnded { generation: GenerationId },
}

/// The notifications' shared parts: the sender's wake-up and the "forgot password" limits.
pub struct Notices {
    wake: tokio::sync::Notify,
    forgot: Throttle,
}

/// "Forgot password" requests per address asked for, per hour.
const FORGOT_PER_EMAIL: u32 = 3;
/// "Forgot password" requests per client address, per hour.
const FORGOT_PER_CLIENT: u32 = 10;

impl Default for Notices {
    fn default() -> Self {
        Notices { wake: tokio::sync::Notify::new(), forgot: Throttle::new(FORGOT_PER_EMAIL, FORGOT_PER_CLIENT) }
    }
}

/// Queues `notice` for delivery in the background; returns at once. A failure to queue is
/// logged, never passed on.
pub fn send(state: &AppState, notice: Notice) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(event = notice_name(&notice), "a notification was sent from outside the runtime and is not queued");
        return;
    };
    let state = state.clone();
    runtime.spawn(async move {
        let event = notice_name(&notice);
        if let Err(e) = queue(&state, notice).await {
            tracing::warn!(error = %e, event, "a notification could not be queued");
        }
    });
}

/// Writes `notice` to the outbox, one row per recipient it reaches under the current
/// settings, and wakes the sender; answers how many rows it wrote.
pub async fn queue(state: &AppState, notice: Notice) -> ServiceResult<usize> {
    let rows = recipients(state, notice).await?;
    let count = rows.len();
    if count > 0 {
        state.store.write(move |tx| rows.iter().try_for_each(|row| store::notices::enqueue(tx, row))).await?;
        state.notices.wake.notify_one();
    }
    Ok(count)
}

/// Whether e-mail is set up (`[smtp]`).
pub fn email_enabled(state: &AppState) -> bool {
    state.config.smtp.is_some()
}

fn notice_name(notice: &Notice) -> &'static str {
    match notice {
        Notice::ApprovalAsked { .. } => "approval_asked",
        Notice::ApprovalAnswered { .. } => "approval_answered",
        Notice::AllowanceRenewed { .. } => "allowance_renewed",
        Notice::Invitation { .. } => "invitation",
        Notice::PasswordReset { .. } => "password_reset",
        Notice::JobEnded { .. } => "job_ended",
    }
}

/// The outbox rows of `notice`: e-mails (when `[smtp]` is set) and chat posts (to the chat
/// webhooks that take its event).
async fn recipients(state: &AppState, notice: Notice) -> ServiceResult<Vec<Outgoing>> {
    let now = Timestamp::now();
    let email = email_enabled(state);
    let mut rows = Vec::new();
    let mut chat = |event: ChatEvent, message: &Message, rows: &mut Vec<Outgoing>| {
        for hook in state.config.chat_webhook.iter().filter(|h| h.events.contains(&event)) {
            rows.push(Outgoing::new(Recipient::Chat(hook.name.clone()), message.clone(), now));
        }
    };
    match notice {
        Notice::ApprovalAsked { generation, requester } => {
            let message = Message::ApprovalAsked { generation, requester };
            if email {
                for approver in approvers(state).await? {
                    rows.push(Outgoing::new(Recipient::Person(approver), message.clone(), now));
                }
            }
            chat(ChatEvent::ApprovalAsked, &message, &mut rows);
        }
        Notice::ApprovalAnswered { generation, requester, approved, note } => {
            let message = Message::ApprovalAnswered { generation, approved, note };
            if email {
                rows.push(Outgoing::new(Recipient::Person(requester), message.clone(), now));
            }
            chat(ChatEvent::ApprovalAnswered, &message, &mut rows);
        }
        Notice::AllowanceRenewed { user, granted } if email => {
            rows.push(Outgoing::new(Recipient::Person(user), Message::AllowanceRenewed { granted }, now));
        }
        Notice::Invitation { email: to, url, expires_at } if email => {
            let message = Message::Invitation { sealed_link: seal(state, &url)?, expires_at };
            rows.push(Outgoing::new(Recipient::Address(to.to_string()), message, now));
        }
        Notice::PasswordReset { user, url, expires_at } if email => {
            let message = Message::PasswordReset { sealed_link: seal(state, &url)?, expires_at };
            rows.push(Outgoing::new(Recipient::Person(user), message, now));
        }
        Notice::JobEnded { generation } => job_ended(state, generation, email, &mut rows, &mut chat).await?,
        Notice::AllowanceRenewed { .. } | Notice::Invitation { .. } | Notice::PasswordReset { .. } => {}
    }
    Ok(rows)
}

/// A job's end: an e-mail to its owner when it ran at least as long as their setting asks, a
/// chat post when it failed.
async fn job_ended(
    state: &AppState,
    id: GenerationId,
    email: bool,
    rows: &mut Vec<Outgoing>,
    chat: &mut impl FnMut(ChatEvent, &Message, &mut Vec<Outgoing>),
) -> ServiceResult<()> {
    let found = state
        .store
        .read(move |tx| {
            let Some(g) = store::generations::get(tx, id)? else { return Ok::<_, ServiceError>(None) };
            let settings = store::notices::settings(tx, g.owner)?;
            Ok(Some((g, settings)))
        })
        .await?;
    let Some((g, settings)) = found else { return Ok(()) };
    if !g.state.is_terminal() {
        return Ok(());
    }
    let ended = g.finished_at.unwrap_or(g.updated_at);
    if email && settings.wants_job(ended.millis() - g.created_at.millis()) {
        rows.push(Outgoing::new(Recipient::Person(g.owner), Message::JobFinished { generation: id }, Timestamp::now()));
    }
    if g.state == GenState::Failed {
        chat(ChatEvent::JobFailed, &Message::JobFailed { generation: id }, rows);
    }
    Ok(())
}

/// The people asked to approve jobs: every admin whose account is enabled.
async fn approvers(state: &AppState) -> ServiceResult<Vec<UserId>> {
    let users = state.store.read(store::users::list).await?;
    Ok(users.into_iter().filter(|u| u.role == Role::Admin && !u.disabled).map(|u| u.id).collect())
}

fn seal(state: &AppState, link: &str) -> ServiceResult<Vec<u8>> {
    sealed::seal(state.keyring.master(), link).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// E-mails an invitation's link to the invited address when e-mail is set up; answers the
/// address it goes to (`None`: no e-mail, the admin passes the link on).
pub async fn email_invitation(state: &AppState, link: &OneTimeLink, secret: &str) -> ServiceResult<Option<String>> {
    let LinkPurpose::Invitation { email, .. } = &link.purpose else { return Ok(None) };
    if !email_enabled(state) {
        return Ok(None);
    }
    let url = state.urls().absolute(&state.urls().invite(secret));
    queue(state, Notice::Invitation { email: email.clone(), url, expires_at: link.expires_at }).await?;
    Ok(Some(email.to_string()))
}

/// E-mails a password-reset link to the account's address when e-mail is set up; answers
/// the address it goes to.
pub async fn email_reset(state: &AppState, user: &User, link: &OneTimeLink, secret: &str) -> ServiceResult<Option<String>> {
    if !email_enabled(state) || user.disabled {
        return Ok(None);
    }
    let url = state.urls().absolute(&state.urls().reset(secret));
    queue(state, Notice::PasswordReset { user: user.id, url, expires_at: link.expires_at }).await?;
    Ok(Some(user.email.to_string()))
}

/// "Forgot password": e-mails a reset link when `email` belongs to an enabled account that
/// may sign in with a password. Answers the same whether or not it does (the work happens in
/// the background); refuses more than a few requests per address and per client an hour.
pub fn forgot_password(state: &AppState, client: &ClientInfo, email: &str) -> ServiceResult<()> {
    let email = email.trim().to_lowercase();
    let reservation = state
        .notices
        .forgot
        .reserve(&email, client.address.as_deref(), std::time::Instant::now())
        .map_err(|refusal| ServiceError::Throttled { retry_after: refusal.retry_after })?;
    reservation.failed();
    let Ok(email) = Email::parse(&email) else { return Ok(()) };
    if !email_enabled(state) || !state.config.auth.password_allowed(email.as_str()) {
        return Ok(());
    }
    let (state, client) = (state.clone(), client.clone());
    tokio::spawn(async move {
        let found = state.store.read({
            let email = email.clone();
            move |tx| store::users::find_by_email(tx, &email)
        });
        let sent = async {
            let Some(user) = found.await?.filter(|u| !u.disabled) else { return Ok::<_, ServiceError>(()) };
            let ctx = Context::anonymous(Some(user.email.to_string()), client);
            let (link, secret) = links::issue_reset(&state, &ctx, &user).await?;
            email_reset(&state, &user, &link, &secret).await?;
            Ok(())
        };
        if let Err(e) = sent.await {
            tracing::warn!(error = %e, "a reset link asked for by e-mail could not be sent");
        }
    });
    Ok(())
}
