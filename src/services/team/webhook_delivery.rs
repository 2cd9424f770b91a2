//! The webhook delivery worker ("webhooks"): one supervised background loop that sends due deliveries from the
//! queue through the guarded outbound client, signs each attempt (Standard Webhooks),
//! records it, and schedules the next with backoff until a 2xx answer or it gives up.
//! A delivery interrupted by a stop stays queued and is sent again after the next start
//! (at least once: receivers dedupe by `webhook-id`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;

use crate::domain::ids::DeliveryId;
use crate::domain::standard_webhooks;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{Attempt, DeliveryState, retry_delay};
use crate::providers::http::{OutboundClient, OutboundPolicy};
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::store;
use crate::vault::sealed;
use crate::workers::{Context, Worker, WorkerResult};

/// Deliveries attempted at once.
const BATCH: usize = 16;
/// The longest the worker sleeps without looking at the queue.
const IDLE: Duration = Duration::from_secs(60);
/// How long shutdown waits for attempts in flight before cutting them off.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// The most of an error message kept in the log.
const ERROR_CHARS: usize = 300;

/// Starts the delivery worker under the app's supervisor; it resumes whatever the queue holds.
pub fn start(state: &AppState) {
    let worker = state.clone();
    state.workers.spawn(Worker::new("webhooks").grace(STOP_GRACE), move |ctx| run(worker.clone(), ctx));
}

/// Sends due deliveries until shutdown; attempts still in flight when the stop's grace ends are
/// cut off (and repeated after the next start).
async fn run(state: AppState, ctx: Context) -> WorkerResult {
    let policy = OutboundPolicy {
        allow_private_network: state.config.webhooks.allow_private_network,
        timeout: state.config.webhooks.timeout,
        connect_timeout: state.config.webhooks.timeout.min(Duration::from_secs(10)),
    };
    let client = OutboundClient::without_redirects(policy).map_err(|e| format!("cannot build the webhook client: {e}"))?;
    let signal = state.store.webhooks_signal();
    while !ctx.is_stopping() {
        ctx.working();
        let now = Timestamp::now();
        let (due, next) = match state.store.read(move |tx| store::webhooks::due(tx, now, BATCH)).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook queue");
                (Vec::new(), Some(now.plus(Duration::from_secs(5))))
            }
        };
        if !due.is_empty() {
            join_all(due.into_iter().map(|id| attempt(&state, &client, id))).await;
            ctx.ran();
            continue;
        }
        ctx.idle();
        let wait = next.map_or(IDLE, |at| Duration::from_millis(u64::try_from(at.millis() - now.millis()).unwrap_or(0)).min(IDLE));
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.stopped() => break,
        }
    }
    Ok(())
}

/// One attempt at one delivery, recorded whatever happens.
async fn attempt(state: &AppState, client: &OutboundClient, id: DeliveryId) {
    if let Err(e) = try_attempt(state, client, id).await {
        tracing::error!(error = %e, delivery = %id, "a webhook delivery could not be recorded");
    }
}

async fn try_attempt(state: &AppState, client: &OutboundClient, id: DeliveryId) -> Result<(), ServiceError> {
    let found = state
        .store
        .read(move |tx| {
            let Some(delivery) = store::webhooks::get_delivery(tx, id)? else { return Ok(None) };
            let hook = store::webhooks::get(tx, delivery.webhook)?;
            Ok::<_, ServiceError>(Some((delivery, hook)))
        })
        .await?;
    let Some((delivery, hook)) = found else { return Ok(()) };
    let started = Instant::now();
    let at = Timestamp::now();
    let outcome = match &hook {
        None => Err("the webhook was deleted".to_string()),
        Some(hook) => send(state, client, &hook.url, &hook.sealed_secret, &delivery.id.to_string(), &delivery.body).await,
    };
    let attempt = Attempt {
        at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        status: outcome.as_ref().ok().copied(),
        error: outcome.err().map(|e| e.chars().take(ERROR_CHARS).collect()),
    };
    if let Some(error) = &attempt.error {
        tracing::info!(delivery = %id, %error, "a webhook delivery attempt failed");
    }
    let config = state.config.webhooks.clone();
    let queued = state
        .store
        .write(move |tx| {
            let Some(mut delivery) = store::webhooks::get_delivery(tx, id)?.filter(|d| d.state == DeliveryState::Pending) else {
                return Ok::<_, ServiceError>(false);
            };
            let previous = delivery.next_attempt_at;
            let retry = u32::try_from(delivery.attempts.len() + 1).unwrap_or(u32::MAX);
            let max = if hook.is_some() { config.max_attempts } else { 1 };
            delivery.record(attempt, max, retry_delay(config.retry_base, retry));
            store::webhooks::put_delivery(tx, &delivery, previous)?;
            Ok(delivery.state == DeliveryState::Pending)
        })
        .await?;
    if queued {
        state.store.webhooks_queued();
    }
    Ok(())
}

/// Posts the signed body; the receiver's status, or why there was none.
async fn send(state: &AppState, client: &OutboundClient, url: &str, sealed_secret: &[u8], id: &str, body: &str) -> Result<u16, String> {
    let url = url::Url::parse(url).map_err(|e| format!("the webhook URL does not parse: {e}"))?;
    let secret = sealed::open(state.keyring.master(), sealed_secret).map_err(|e| e.to_string())?;
    let key = standard_webhooks::secret_key(secret.expose()).ok_or("the webhook's signing secret is malformed")?;
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let request = client
        .post(&url)
        .map_err(|e| crate::services::team::webhooks::refusal_message(&e))?
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", standard_webhooks::sign(&key, id, timestamp, body.as_bytes()))
        .body(body.to_string());
    match request.send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) => Err(crate::services::team::webhooks::refusal_message(&e)),
    }
}
