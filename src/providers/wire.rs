//! Pieces every HTTP adapter shares: the outbound client for a connection, joining URLs,
//! tolerant JSON reading, provider hints from headers, and the mapping of HTTP errors and
//! unknown statuses to the normalised classes.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;

use super::http::{OutboundClient, OutboundError, OutboundPolicy, OutboundRequest, capped_stream, read_capped};
use super::{ByteStream, ProviderError, UpstreamStatus};
use crate::config::ConnectionConfig;

/// The largest JSON answer accepted from any provider.
pub const JSON_CAP: u64 = 4 * 1024 * 1024;

/// The SSRF-guarded client for one connection (its timeout and private-network setting).
pub fn client_for(config: &ConnectionConfig) -> Result<OutboundClient, OutboundError> {
    OutboundClient::new(OutboundPolicy {
        allow_private_network: config.allow_private_network,
        timeout: config.timeout,
        ..OutboundPolicy::default()
    })
}

/// `base` joined with a relative `path`.
pub fn join(base: &url::Url, path: &str) -> Result<url::Url, ProviderError> {
    base.join(path).map_err(|e| ProviderError::InvalidInput(format!("bad URL {path:?}: {e}")))
}

/// The normalised class of a failure of the outbound client itself.
pub fn outbound(e: OutboundError) -> ProviderError {
    match e {
        OutboundError::Timeout => ProviderError::Timeout,
        OutboundError::TooLarge { cap } => ProviderError::TooLarge { cap },
        OutboundError::Forbidden { .. } | OutboundError::Blocked { .. } | OutboundError::Scheme { .. } | OutboundError::Region(_) => {
            ProviderError::InvalidInput(e.to_string())
        }
        OutboundError::BadCredential => ProviderError::Auth(e.to_string()),
        OutboundError::Http(m) => ProviderError::Transient(m),
    }
}

/// Sends a request built by the outbound client; `Err` for transport failures only.
pub async fn send(request: Result<OutboundRequest, OutboundError>) -> Result<reqwest::Response, ProviderError> {
    request.map_err(outbound)?.send().await.map_err(outbound)
}

/// Reads a JSON answer tolerantly: unknown fields are ignored by the target type, and an
/// answer that does not parse is a temporary upstream problem (retried a few times).
pub async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ProviderError> {
    let body = read_capped(response, JSON_CAP).await.map_err(outbound)?;
    parse_json(&body)
}

/// [`read_json`] for bytes already read.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::Transient(format!("malformed answer from the provider: {e}")))
}

/// The body of an error answer (capped), for [`classify`].
pub async fn error_body(response: reqwest::Response) -> Bytes {
    read_capped(response, JSON_CAP).await.unwrap_or_default()
}

/// Streams a download, refusing more than `cap` bytes.
pub fn download(response: reqwest::Response, cap: u64) -> ByteStream {
    Box::pin(capped_stream(response, cap).map_err(outbound))
}

/// A header's value as a non-negative number.
pub fn header_number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64)
}

/// The wait a provider asked for: `retry-after-ms`, then `retry-after` in seconds.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    header_number(headers, "retry-after-ms")
        .map(Duration::from_millis)
        .or_else(|| header_number(headers, "retry-after").map(Duration::from_secs))
}

/// Words in a provider's error code or message that mark each class.
const CONTENT_POLICY_WORDS: &[&str] = &["moderation", "content_policy", "content policy", "safety", "nsfw", "sensitive", "blocked"];
const CREDIT_WORDS: &[&str] = &["insufficient_quota", "insufficient credit", "insufficient_credit", "billing", "balance", "quota"];

/// Maps an HTTP error to the normalised classes: the provider's own code or message first
/// (content policy, upstream credit), then the status.
pub fn classify(status: u16, code: &str, message: String, wait: Option<Duration>) -> ProviderError {
    let words = format!("{code} {message}").to_ascii_lowercase();
    let has = |list: &[&str]| list.iter().any(|w| words.contains(w));
    match status {
        429 if !has(CREDIT_WORDS) => ProviderError::RateLimited { retry_after: wait, message },
        400..=499 if has(CREDIT_WORDS) => ProviderError::InsufficientUpstreamCredit(message),
        400..=499 if has(CONTENT_POLICY_WORDS) => ProviderError::ContentPolicy(message),
        401 | 403 => ProviderError::Auth(message),
        402 => ProviderError::InsufficientUpstreamCredit(message),
        404 | 410 => ProviderError::NotFound(message),
        408 | 409 | 425 | 500..=599 => ProviderError::Transient(message),
        _ => ProviderError::InvalidInput(message),
    }
}

/// The class of a job that upstream reports as failed, from its error code or message.
pub fn job_failure(code: &str, message: String) -> ProviderError {
    let words = format!("{code} {message}").to_ascii_lowercase();
    if CONTENT_POLICY_WORDS.iter().any(|w| words.contains(w)) {
        ProviderError::ContentPolicy(message)
    } else if CREDIT_WORDS.iter().any(|w| words.contains(w)) {
        ProviderError::InsufficientUpstreamCredit(message)
    } else {
        ProviderError::InvalidInput(message)
    }
}

/// A status this build does not know: the job keeps running (until its deadline), and the
/// status is logged once per provider and value.
pub fn unknown_status(provider: &str, status: &str, progress: Option<u8>) -> UpstreamStatus {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let key = format!("{provider}:{status}");
    let first = SEEN.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashSet::new).insert(key);
    if first {
        tracing::warn!(provider, status, "unknown job status from the provider; the job keeps waiting until its deadline");
    }
    UpstreamStatus::Pending { progress, poll_after: None }
}

/// A progress fraction or percentage as a whole percentage.
pub fn percent(value: f64) -> u8 {
    let scaled = if value <= 1.0 { value * 100.0 } else { value };
    scaled.clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_provider_words_map_to_the_classes() {
        let c = |status, code: &str, message: &str| classify(status, code, message.into(), None).code();
        assert_eq!(c(401, "", "bad key"), "provider.auth");
        assert_eq!(c(403, "", "forbidden"), "provider.auth");
        assert_eq!(c(400, "", "prompt too long"), "provider.invalid_input");
        assert_eq!(c(422, "", "invalid ratio"), "provider.invalid_input");
        assert_eq!(c(400, "moderation_blocked", "no"), "provider.content_policy");
        assert_eq!(c(429, "insufficient_quota", "pay up"), "provider.insufficient_credit");
        assert_eq!(c(402, "", "payment required"), "provider.insufficient_credit");
        assert_eq!(c(429, "", "slow down"), "provider.rate_limited");
        assert_eq!(c(503, "", "down"), "provider.transient");
        assert_eq!(c(404, "", "gone"), "provider.not_found");
        assert_eq!(c(410, "", "expired"), "provider.not_found");
        let wait = classify(429, "", "slow".into(), Some(Duration::from_secs(7))).retry_after();
        assert_eq!(wait, Some(Duration::from_secs(7)));
    }

    #[test]
    fn percentages_accept_fractions_and_whole_numbers() {
        assert_eq!(percent(0.42), 42);
        assert_eq!(percent(42.0), 42);
        assert_eq!(percent(250.0), 100);
        assert_eq!(percent(-1.0), 0);
    }

    #[test]
    fn an_unknown_status_keeps_the_job_waiting() {
        assert!(matches!(unknown_status("test", "warming_up", Some(3)), UpstreamStatus::Pending { progress: Some(3), .. }));
    }
}
