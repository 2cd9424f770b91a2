//! Outbound webhooks: URLs a person registers to receive signed completion events, the
//! deliveries queued for them with their attempts, the payload, and the retry schedule.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::asset::Asset;
use super::generation::{GenState, Generation};
use super::ids::{DeliveryId, GenerationId, UserId, WebhookId};
use super::time::Timestamp;
use super::user::InvalidInput;

/// How many webhooks one person may register.
pub const MAX_PER_USER: usize = 10;
/// How many deliveries each webhook's log keeps (older finished ones are removed).
pub const LOG_KEEP: usize = 100;
/// A delivery is given up this long after its event, whatever its attempts.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Retry waits as multiples of the configured base (10 s: 10 s, 1 min, 5 min, 30 min, 2 h,
/// 5 h, 10 h; later retries repeat the last).
const RETRY_FACTORS: [u32; 7] = [1, 6, 30, 180, 720, 1800, 3600];

/// A registered URL. Its signing secret is stored sealed to the master key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub owner: UserId,
    pub url: String,
    pub description: String,
    /// The `whsec_…` secret, age-encrypted to the master key.
    pub sealed_secret: Vec<u8>,
    /// The first characters of the secret, so a person can tell secrets apart.
    pub secret_hint: String,
    pub created_at: Timestamp,
}

/// What happened, as the payload's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    GenerationSucceeded,
    GenerationFailed,
    GenerationCancelled,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::GenerationSucceeded => "generation.succeeded",
            EventType::GenerationFailed => "generation.failed",
            EventType::GenerationCancelled => "generation.cancelled",
        }
    }

    /// The event of a generation's terminal state (`None` while it runs).
    pub fn of(state: GenState) -> Option<EventType> {
        match state {
            GenState::Succeeded => Some(EventType::GenerationSucceeded),
            GenState::Failed => Some(EventType::GenerationFailed),
            GenState::Cancelled => Some(EventType::GenerationCancelled),
            _ => None,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    /// Waiting for its next attempt (in the queue).
    Pending,
    /// A 2xx answer arrived.
    Delivered,
    /// Every attempt failed, or it became too old.
    GaveUp,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GaveUp => "failed",
        }
    }
}

/// One try at delivering.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub duration_ms: u64,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why there was no usable answer (refused address, timeout, connection error …).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One event for one webhook: the exact body sent on every attempt, and the attempts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook: WebhookId,
    pub owner: UserId,
    pub event: EventType,
    pub generation: GenerationId,
    pub created_at: Timestamp,
    /// The JSON payload, fixed when the event happened.
    pub body: String,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due, while pending (the queue's key).
    pub next_attempt_at: Option<Timestamp>,
}

impl Delivery {
    /// A new delivery of `event` about `g` for `hook`, due at once.
    pub fn new(hook: &Webhook, g: &Generation, event: EventType, outputs: &[Asset], now: Timestamp) -> Delivery {
        let id = DeliveryId::generate();
        Delivery {
            id,
            webhook: hook.id,
            owner: hook.owner,
            event,
            generation: g.id,
            created_at: now,
            body: payload(id, event, g, outputs, now).to_string(),
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now),
        }
    }

    /// Records an attempt and decides what follows: delivered, given up after `max_attempts`
    /// or [`GIVE_UP_AFTER`], or the next attempt after `wait`.
    pub fn record(&mut self, attempt: Attempt, max_attempts: u32, wait: Duration) {
        let now = attempt.at;
        let delivered = attempt.succeeded();
        self.attempts.push(attempt);
        let next = now.plus(wait);
        self.next_attempt_at = None;
        self.state = if delivered {
            DeliveryState::Delivered
        } else if self.attempts.len() >= max_attempts as usize || next >= self.created_at.plus(GIVE_UP_AFTER) {
            DeliveryState::GaveUp
        } else {
            self.next_attempt_at = Some(next);
            DeliveryState::Pending
        };
    }
}

/// The event's JSON: `{id, type, created_at, data: {id, model, state, reason, cost, outputs}}`.
pub fn payload(id: DeliveryId, event: EventType, g: &Generation, outputs: &[Asset], now: Timestamp) -> serde_json::Value {
    let outputs: Vec<serde_json::Value> = outputs
        .iter()
        .map(|a| serde_json::json!({ "id": a.id.to_string(), "content_type": a.content_type, "bytes": a.bytes, "sha256": a.sha256 }))
        .collect();
    serde_json::json!({
        "id": id.to_string(),
        "type": event.as_str(),
        "created_at": now.rfc3339(),
        "data": {
            "id": g.id.to_string(),
            "model": g.model,
            "state": g.state.as_str(),
            "reason": g.reason.as_ref().map(|r| serde_json::json!({ "code": r.code, "message": r.message })),
            "cost": g.cost,
            "outputs": outputs,
        }
    })
}

/// The wait before retry number `retry` (1 after the first failure), from the configured
/// base, with ±20 % jitter so many receivers' retries spread out.
pub fn retry_delay(base: Duration, retry: u32) -> Duration {
    let index = (retry.max(1) as usize - 1).min(RETRY_FACTORS.len() - 1);
    let factor = 0.8 + rand::random::<f64>() * 0.4;
    base.saturating_mul(RETRY_FACTORS[index]).mul_f64(factor)
}

/// Checks a webhook URL's shape: http or https, a host, no credentials, at most 2,000 characters.
/// Where it may connect is checked by the outbound client (at registration and each delivery).
pub fn parse_url(text: &str) -> Result<url::Url, InvalidInput> {
    let text = text.trim();
    if text.is_empty() || text.len() > 2000 {
        return Err(InvalidInput("give an http or https URL of at most 2,000 characters"));
    }
    let url = url::Url::parse(text).map_err(|_| InvalidInput("the webhook URL is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(InvalidInput("the webhook URL must start with http:// or https:// and name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidInput("the webhook URL must not carry a user name or password; the signature authenticates"));
    }
    Ok(url)
}

/// Checks a webhook's description (optional, short, plain).
pub fn parse_description(text: &str) -> Result<String, InvalidInput> {
    let text = text.trim();
    if text.chars().count() > 100 || text.chars().any(char::is_control) {
        return Err(InvalidInput("the description must be at most 100 plain characters"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            id: DeliveryId::generate(),
            webhook: WebhookId::generate(),
            owner: UserId::generate(),
            event: EventType::GenerationFailed,
            generation: GenerationId::generate(),
            created_at: Timestamp(0),
            body: "{}".into(),
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(Timestamp(0)),
        }
    }

    fn attempt(at: i64, status: Option<u16>) -> Attempt {
        Attempt { at: Timestamp(at), duration_ms: 1, status, error: None }
    }

    #[test]
    fn retries_grow_from_the_base_with_jitter() {
        let base = Duration::from_secs(10);
        let first = retry_delay(base, 1);
        assert!(first >= Duration::from_secs(8) && first <= Duration::from_secs(12), "{first:?}");
        let fifth = retry_delay(base, 5);
        assert!(fifth >= Duration::from_secs(5760) && fifth <= Duration::from_secs(8640), "about 2 h: {fifth:?}");
        assert!(retry_delay(base, 50) <= Duration::from_secs(43_200), "capped at the last step");
    }

    #[test]
    fn a_delivery_is_delivered_on_2xx_and_given_up_after_its_attempts_or_a_day() {
        let mut d = delivery();
        d.record(attempt(10, Some(500)), 3, Duration::from_secs(1));
        assert_eq!((d.state, d.next_attempt_at), (DeliveryState::Pending, Some(Timestamp(1010))));
        d.record(attempt(1010, Some(204)), 3, Duration::from_secs(1));
        assert_eq!((d.state, d.next_attempt_at), (DeliveryState::Delivered, None));

        let mut d = delivery();
        for n in 0..3 {
            d.record(attempt(n, None), 3, Duration::from_secs(1));
        }
        assert_eq!(d.state, DeliveryState::GaveUp);
        let mut late = delivery();
        late.record(attempt(0, Some(503)), 8, GIVE_UP_AFTER);
        assert_eq!(late.state, DeliveryState::GaveUp, "no retry lands past a day");
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/reelvault?x=1").is_ok());
        for bad in ["", "ftp://example.com/", "https://user:pw@example.com/", "not a url", "file:///etc/passwd"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
