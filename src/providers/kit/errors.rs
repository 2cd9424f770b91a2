//! Error answers → normalised [`ProviderError`]s: each adapter declares an [`ErrorTable`]
//! (how its error body reads, which codes decide a class); the kit does the rest.

use std::ops::RangeInclusive;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::providers::ProviderError;
use crate::providers::wire;

/// An error answer as the adapter's reader sees it.
#[derive(Debug)]
pub struct ErrorAnswer<'a> {
    pub status: u16,
    pub headers: &'a HeaderMap,
    /// The body, capped at [`wire::JSON_CAP`].
    pub body: &'a [u8],
}

/// What an adapter reads from an error answer.
#[derive(Debug, Default)]
pub struct ErrorReport {
    /// The provider's error code or type (empty when none).
    pub code: String,
    /// The provider's message; `None` or empty falls back to `HTTP <status>`.
    pub message: Option<String>,
    /// A wait the body names, used when no `Retry-After` header came.
    pub wait: Option<Duration>,
}

/// A normalised error class, as a table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Auth,
    InvalidInput,
    Credit,
    ContentPolicy,
    RateLimited,
    Transient,
    NotFound,
}

impl Class {
    /// The error of this class.
    pub fn error(self, message: String, wait: Option<Duration>) -> ProviderError {
        match self {
            Class::Auth => ProviderError::Auth(message),
            Class::InvalidInput => ProviderError::InvalidInput(message),
            Class::Credit => ProviderError::InsufficientUpstreamCredit(message),
            Class::ContentPolicy => ProviderError::ContentPolicy(message),
            Class::RateLimited => ProviderError::RateLimited { retry_after: wait, message },
            Class::Transient => ProviderError::Transient(message),
            Class::NotFound => ProviderError::NotFound(message),
        }
    }
}

/// One provider's error table.
#[derive(Debug)]
pub struct ErrorTable {
    /// Reads the provider's error body.
    pub read: fn(&ErrorAnswer<'_>) -> ErrorReport,
    /// Provider codes that decide the class outright (checked first).
    pub codes: &'static [(&'static str, Class)],
    /// HTTP statuses that decide the class outright (checked next).
    pub statuses: &'static [(u16, Class)],
}

impl ErrorTable {
    /// The class of an error answer: the table's codes, its statuses, then the shared classes
    /// by the provider's words and the status ([`wire::classify`]).
    pub fn map(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
        let report = (self.read)(&ErrorAnswer { status, headers, body });
        let wait = wire::retry_after(headers).or(report.wait);
        let message = report.message.filter(|m| !m.is_empty()).unwrap_or_else(|| format!("HTTP {status}"));
        let by_code = self.codes.iter().find(|(code, _)| *code == report.code).map(|(_, class)| *class);
        let by_status = || self.statuses.iter().find(|(s, _)| *s == status).map(|(_, class)| *class);
        match by_code.or_else(by_status) {
            Some(class) => class.error(message, wait),
            None => wire::classify(status, &report.code, message, wait),
        }
    }

    /// Reads an error answer and maps it.
    pub async fn error_from(&self, response: reqwest::Response) -> ProviderError {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = wire::error_body(response).await;
        self.map(status, &headers, &body)
    }

    /// The response when it succeeded, else its error.
    pub async fn check(&self, response: reqwest::Response) -> Result<reqwest::Response, ProviderError> {
        if response.status().is_success() { Ok(response) } else { Err(self.error_from(response).await) }
    }
}

/// The table of an API that reads its answers itself ([`super::Api::send_raw`]): errors by
/// status alone.
pub static BY_STATUS: ErrorTable = ErrorTable { read: |_| ErrorReport::default(), codes: &[], statuses: &[] };

/// Numeric business codes (Kling's, MiniMax's) by range, and the class each range means.
pub type BusinessCodes = [(RangeInclusive<i64>, Class)];

/// The class of an answer carrying a numeric business `code` (often with HTTP 200): the
/// provider's table first, then the shared classes with a 2xx status read as 400.
pub fn business_error(table: &BusinessCodes, status: u16, code: Option<i64>, message: String, wait: Option<Duration>) -> ProviderError {
    if let Some((_, class)) = code.and_then(|code| table.iter().find(|(range, _)| range.contains(&code))) {
        return class.error(message, wait);
    }
    let code = code.map(|c| c.to_string()).unwrap_or_default();
    let status = if (200..300).contains(&status) { 400 } else { status };
    wire::classify(status, &code, message, wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(answer: &ErrorAnswer<'_>) -> ErrorReport {
        let text = String::from_utf8_lossy(answer.body).to_string();
        ErrorReport { code: text.clone(), message: Some(text), wait: Some(Duration::from_secs(9)) }
    }

    static TABLE: ErrorTable = ErrorTable { read, codes: &[("refused", Class::ContentPolicy)], statuses: &[(418, Class::Transient)] };

    #[test]
    fn codes_then_statuses_then_the_shared_classes() {
        let headers = HeaderMap::new();
        assert_eq!(TABLE.map(400, &headers, b"refused").code(), "provider.content_policy");
        assert_eq!(TABLE.map(418, &headers, b"teapot").code(), "provider.transient");
        assert_eq!(TABLE.map(401, &headers, b"who").code(), "provider.auth");
        assert_eq!(TABLE.map(503, &headers, b"").to_string(), "the provider had a temporary problem: HTTP 503");
    }

    #[test]
    fn business_codes_by_range_then_the_status() {
        let table = [(1000..=1004, Class::Auth)];
        assert_eq!(business_error(&table, 200, Some(1003), "expired".into(), None).code(), "provider.auth");
        assert_eq!(business_error(&table, 200, Some(7), "odd".into(), None).code(), "provider.invalid_input");
        assert_eq!(business_error(&table, 503, None, "down".into(), None).code(), "provider.transient");
    }

    #[test]
    fn the_header_wait_comes_before_the_body_wait() {
        let mut headers = HeaderMap::new();
        assert_eq!(TABLE.map(429, &headers, b"slow").retry_after(), Some(Duration::from_secs(9)));
        headers.insert("retry-after", "2".parse().expect("a header value"));
        assert_eq!(TABLE.map(429, &headers, b"slow").retry_after(), Some(Duration::from_secs(2)));
    }
}
