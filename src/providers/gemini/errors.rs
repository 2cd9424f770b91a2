//! Gemini's error answers: `{"error": {"code", "message", "status", "details"}}`, a refused key
//! reported as 400 `API_KEY_INVALID`, and `RetryInfo.retryDelay` waits.

use serde::Deserialize;
use serde_json::Value;

use super::RpcStatus;
use crate::providers::kit::{Class, ErrorAnswer, ErrorReport, ErrorTable};

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: Option<RpcStatus>,
}

/// `RetryInfo.retryDelay` ("27s", "1.5s") in an error's details.
fn retry_delay(details: &[Value]) -> Option<std::time::Duration> {
    details.iter().filter_map(|d| d.get("retryDelay")?.as_str()).find_map(|s| {
        let seconds: f64 = s.trim().trim_end_matches('s').parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0).then(|| std::time::Duration::from_secs_f64(seconds))
    })
}

/// Gemini's error table: a refused key (which Gemini reports as 400 `API_KEY_INVALID`), 429
/// (always a rate limit here: Gemini's 429 text mentions quota even for per-minute limits),
/// then the shared classes by the gRPC status word and the HTTP status.
pub(super) static ERRORS: ErrorTable =
    ErrorTable { read: read_error, codes: &[(KEY_REFUSED, Class::Auth)], statuses: &[(429, Class::RateLimited)] };

/// The code [`read_error`] gives a refused key.
const KEY_REFUSED: &str = "API_KEY_INVALID";

/// Reads `{"error": {"code", "message", "status", "details"}}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let error = serde_json::from_slice::<ErrorEnvelope>(answer.body).ok().and_then(|e| e.error).unwrap_or_default();
    let message = error.message.clone().unwrap_or_default();
    let details = serde_json::to_string(&error.details).unwrap_or_default();
    let key_refused = details.contains(KEY_REFUSED) || message.contains("API key not valid") || message.contains("API key expired");
    let code = if key_refused { KEY_REFUSED.to_string() } else { error.status.clone().unwrap_or_default() };
    ErrorReport { code, message: error.message, wait: retry_delay(&error.details) }
}
