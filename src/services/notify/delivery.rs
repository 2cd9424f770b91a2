//! The "notifications" worker: sends what the outbox holds when it is due (e-mail through
//! `[smtp]`, chat posts to `[[chat_webhook]]`), retries with backoff, and gives a
//! notification up after its last attempt (logged and counted in `/metrics`). A notification
//! cut off by a stop stays queued and goes out after the next start.

use std::time::Duration;

use futures_util::future::join_all;

use super::chat;
use super::email::Mailer;
use super::render::{self, Rendered};
use crate::domain::ids::NoticeId;
use crate::domain::notify::{Outgoing, Recipient};
use crate::domain::preferences::Lang;
use crate::domain::time::Timestamp;
use crate::domain::webhook::retry_delay;
use crate::i18n::{Tr, Zone};
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::store;
use crate::workers::{Context, Worker, WorkerResult};

/// Notifications attempted at once.
const BATCH: usize = 8;
/// The longest the worker sleeps without looking at the outbox.
const IDLE: Duration = Duration::from_secs(60);
/// How long shutdown waits for attempts in flight.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// The most of an error message kept.
const ERROR_CHARS: usize = 300;

/// Starts the worker under the app's supervisor; it resumes whatever the outbox holds.
pub fn start(state: &AppState) {
    let worker = state.clone();
    state.workers.spawn(Worker::new("notifications").grace(STOP_GRACE), move |ctx| run(worker.clone(), ctx));
}

async fn run(state: AppState, ctx: Context) -> WorkerResult {
    let mailer = match &state.config.smtp {
        Some(config) => Some(Mailer::new(config)?),
        None => None,
    };
    while !ctx.is_stopping() {
        ctx.working();
        let now = Timestamp::now();
        let (due, next) = match state.store.read(move |tx| store::notices::due(tx, now, BATCH)).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the notification outbox");
                (Vec::new(), Some(now.plus(Duration::from_secs(5))))
            }
        };
        if !due.is_empty() {
            join_all(due.into_iter().map(|id| attempt(&state, mailer.as_ref(), id))).await;
            ctx.ran();
            continue;
        }
        ctx.idle();
        let wait = next.map_or(IDLE, |at| Duration::from_millis(u64::try_from(at.millis() - now.millis()).unwrap_or(0)).min(IDLE));
        tokio::select! {
            _ = state.notices.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.stopped() => break,
        }
    }
    Ok(())
}

/// One attempt at one notification, recorded whatever happens.
async fn attempt(state: &AppState, mailer: Option<&Mailer>, id: NoticeId) {
    if let Err(e) = try_attempt(state, mailer, id).await {
        tracing::error!(error = %e, notice = %id, "a notification attempt could not be recorded");
    }
}

/// What became of one attempt.
enum Outcome {
    Sent,
    /// Nothing left to send (the person or the generation is gone, e-mail was turned off).
    Dropped(&'static str),
    Failed(String),
}

async fn try_attempt(state: &AppState, mailer: Option<&Mailer>, id: NoticeId) -> Result<(), ServiceError> {
    let Some(notice) = state.store.read(move |tx| store::notices::get(tx, id)).await? else { return Ok(()) };
    let email = !matches!(notice.recipient, Recipient::Chat(_));
    let channel = if email { "email" } else { "chat" };
    let outcome = match deliver(state, mailer, &notice).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Failed(e.to_string()),
    };
    // e-mail follows [smtp]; chat posts retry as webhook deliveries do ([webhooks])
    let (max_attempts, retry_base) = match (&state.config.smtp, email) {
        (Some(smtp), true) => (smtp.max_attempts, smtp.retry_base),
        (None, true) => (1, Duration::from_secs(30)),
        (_, false) => (state.config.webhooks.max_attempts, state.config.webhooks.retry_base),
    };
    let event = notice.message.event();
    let mut next = notice.clone();
    let keep = match &outcome {
        Outcome::Sent => {
            state.metrics.notification(channel, "sent");
            tracing::info!(notice = %id, event, channel, "notification sent");
            false
        }
        Outcome::Dropped(why) => {
            tracing::info!(notice = %id, event, channel, why, "notification dropped");
            false
        }
        Outcome::Failed(error) => {
            next.attempts += 1;
            next.last_error = Some(error.chars().take(ERROR_CHARS).collect());
            if next.attempts >= max_attempts {
                state.metrics.notification(channel, "failed");
                tracing::warn!(notice = %id, event, channel, attempts = next.attempts, %error, "notification given up");
                false
            } else {
                tracing::info!(notice = %id, event, channel, attempt = next.attempts, %error, "notification attempt failed");
                next.next_attempt_at = Timestamp::now().plus(retry_delay(retry_base, next.attempts));
                true
            }
        }
    };
    state
        .store
        .write(move |tx| {
            if store::notices::get(tx, id)?.is_none() {
                return Ok::<_, ServiceError>(());
            }
            if keep {
                store::notices::put(tx, &next, Some(notice.next_attempt_at))?;
            } else {
                store::notices::remove(tx, &notice)?;
            }
            Ok(())
        })
        .await
}

/// Puts the notification into words for its recipient and sends it.
async fn deliver(state: &AppState, mailer: Option<&Mailer>, notice: &Outgoing) -> Result<Outcome, ServiceError> {
    match &notice.recipient {
        Recipient::Chat(name) => {
            let Some(hook) = state.config.chat_webhook.iter().find(|h| &h.name == name) else {
                return Ok(Outcome::Dropped("the chat webhook is no longer configured"));
            };
            let Some(rendered) = render::render(state, Tr::new(Lang::En), &notice.message).await? else {
                return Ok(Outcome::Dropped("what it was about is gone"));
            };
            let body = chat::body(hook.format, notice.message.event(), &rendered);
            Ok(chat::post(hook, &body).await.map_or_else(Outcome::Failed, |()| Outcome::Sent))
        }
        recipient => {
            let Some(mailer) = mailer else { return Ok(Outcome::Dropped("e-mail is not set up")) };
            let Some((address, tr)) = address_of(state, recipient).await? else {
                return Ok(Outcome::Dropped("the person is gone or disabled"));
            };
            let Some(rendered) = render::render(state, tr, &notice.message).await? else {
                return Ok(Outcome::Dropped("what it was about is gone"));
            };
            Ok(send_mail(state, mailer, &address, tr, &rendered).await)
        }
    }
}

async fn send_mail(state: &AppState, mailer: &Mailer, address: &str, tr: Tr, rendered: &Rendered) -> Outcome {
    let text = rendered.text(Some(&render::footer(state, tr)));
    mailer.send(address, &rendered.subject, &text, tr.lang.code()).await.map_or_else(Outcome::Failed, |()| Outcome::Sent)
}

/// The address and translator of an e-mail's recipient: a person's address, language and
/// time zone (English and UTC for an address without an account).
async fn address_of(state: &AppState, recipient: &Recipient) -> Result<Option<(String, Tr)>, ServiceError> {
    match recipient {
        Recipient::Address(address) => Ok(Some((address.clone(), Tr::new(Lang::En)))),
        Recipient::Person(id) => {
            let id = *id;
            let found = state
                .store
                .read(move |tx| {
                    let Some(user) = store::users::get(tx, id)?.filter(|u| !u.disabled) else { return Ok::<_, ServiceError>(None) };
                    let preferences = store::preferences::get(tx, id)?;
                    Ok(Some((user, preferences)))
                })
                .await?;
            Ok(found.map(|(user, preferences)| {
                let zone = preferences.time_zone.as_deref().and_then(Zone::named).unwrap_or_else(Zone::utc);
                (user.email.to_string(), Tr::new(preferences.language.unwrap_or(Lang::En)).in_zone(zone))
            }))
        }
        Recipient::Chat(_) => Ok(None),
    }
}
