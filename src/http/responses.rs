//! How errors, redirects and pages leave the server: HTML for browsers, JSON `{code,
//! message, details}` under `/api` and `/hooks`, OpenAI's `{error: {message, type, param,
//! code}}` under `/v1`, flash messages across redirects.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::AppError;
use crate::services::ServiceError;

/// Whether a path belongs to a machine-facing API (JSON errors) rather than the pages.
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path.starts_with("/v1/") || path.starts_with("/hooks/")
}

/// Whether a path belongs to the OpenAI-compatible API (OpenAI's error shape; bearer tokens
/// only, so no ambient credential reaches it).
pub fn is_openai_path(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// An error from a page handler: rendered as an HTML page, or a redirect to sign in.
#[derive(Debug)]
pub enum PageError {
    App(AppError),
    SignInRequired { next: String },
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::App(e) => e.fmt(f),
            PageError::SignInRequired { .. } => f.write_str("sign-in required"),
        }
    }
}

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::App(e.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::App(e) => e.status,
            PageError::SignInRequired { .. } => StatusCode::SEE_OTHER,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::App(e) => html_error(e),
            PageError::SignInRequired { next } => {
                let target = crate::urls::Urls::new("").login_then(&utf8_percent_encode(next, NON_ALPHANUMERIC).to_string());
                HttpResponse::SeeOther().insert_header((header::LOCATION, target)).finish()
            }
        }
    }
}

/// An error from an API handler: always JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }
    fn error_response(&self) -> HttpResponse {
        json_error(&self.0)
    }
}

pub type PageResult = Result<HttpResponse, PageError>;
pub type ApiResult = Result<HttpResponse, ApiError>;

/// The JSON error body shared by every API.
pub fn json_error(e: &AppError) -> HttpResponse {
    let mut response = HttpResponse::build(e.status);
    if let Some(wait) = e.retry_after {
        response.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
    }
    response.json(serde_json::json!({ "code": e.code, "message": e.message, "details": e.details }))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: super::pages::layout::Layout,
    error: &'a AppError,
}

impl ErrorPage<'_> {
    /// The page's heading: the status in the page's language.
    fn heading(&self) -> String {
        let key = format!("status-{}", self.error.status.as_u16());
        match STATUS_KEYS.contains(&key.as_str()) {
            true => self.layout.t(&key),
            false => self.error.status.canonical_reason().unwrap_or("Error").to_string(),
        }
    }

    /// What went wrong, in the page's language where the catalogue has it.
    fn message(&self) -> String {
        match translated_key(self.layout.tr.lang, self.error) {
            Some(key) => self.layout.t(key),
            None => self.error.message.clone(),
        }
    }

    /// The service's English detail under a translated message, where it carries specifics.
    fn detail(&self) -> Option<&str> {
        translated_key(self.layout.tr.lang, self.error).filter(|_| carries_specifics(self.error)).map(|_| self.error.message.as_str())
    }
}

/// An error as a form shows it: the service's words in English; in the other languages a
/// translation of the common errors, followed by the English detail where it carries
/// specifics (what a generation costs, which field is wrong).
pub fn error_text(tr: &crate::i18n::Tr, e: &AppError) -> String {
    match translated_key(tr.lang, e) {
        Some(key) if carries_specifics(e) => format!("{} ({})", tr.t(key), e.message),
        Some(key) => tr.t(key),
        None => e.message.clone(),
    }
}

fn carries_specifics(e: &AppError) -> bool {
    matches!(e.code, "credits.insufficient" | "invalid_input" | "bad_request" | "generation.model_disabled" | "invalid_parameter")
}

/// The catalogue's message for `e` in `lang`; `None` in English (the service's own words).
fn translated_key(lang: crate::i18n::Lang, e: &AppError) -> Option<&'static str> {
    if lang == crate::i18n::Lang::En {
        return None;
    }
    ERROR_KEYS.iter().find(|(code, _)| *code == e.code).map(|(_, key)| *key)
}

/// The statuses whose names the catalogues hold.
const STATUS_KEYS: &[&str] = &[
    "status-400",
    "status-401",
    "status-402",
    "status-403",
    "status-404",
    "status-405",
    "status-409",
    "status-413",
    "status-415",
    "status-422",
    "status-429",
    "status-500",
    "status-503",
];

/// The error codes the pages translate, and their messages.
const ERROR_KEYS: &[(&str, &str)] = &[
    ("not_found", "error-not-found"),
    ("credits.insufficient", "error-credits-insufficient"),
    ("generation.model_disabled", "error-model-disabled"),
    ("rate_limited", "error-rate-limited"),
    ("auth.throttled", "error-rate-limited"),
    ("invalid_input", "error-invalid-input"),
    ("invalid_parameter", "error-invalid-input"),
    ("bad_request", "error-invalid-input"),
    ("auth.admin_only", "error-admin-only"),
    ("auth.bad_credentials", "error-bad-credentials"),
    ("auth.password_sign_in_off", "error-password-sign-in-off"),
    ("user.email_taken", "error-email-taken"),
    ("link.invalid", "error-link-invalid"),
    ("internal", "error-internal"),
    ("store.unavailable", "error-busy"),
];

/// The HTML error page (a bare layout: errors render without touching the store). The error
/// rides along in the response, so that `middleware::error_pages` can render it again with a
/// signed-in person's top bar.
pub fn html_error(e: &AppError) -> HttpResponse {
    let mut response = error_page(e, super::pages::layout::Layout::bare());
    response.extensions_mut().insert(ShownError(e.clone()));
    response
}

/// An error an HTML error page shows.
#[derive(Clone)]
pub struct ShownError(pub AppError);

/// The error page of `e` in `layout`.
pub fn error_page(e: &AppError, layout: super::pages::layout::Layout) -> HttpResponse {
    let page = ErrorPage { layout, error: e };
    let mut response = HttpResponse::build(e.status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(wait) = e.retry_after {
        response.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
    }
    match page.render() {
        Ok(body) => response.content_type("text/html; charset=utf-8").body(body),
        Err(_) => response.content_type("text/plain; charset=utf-8").body(e.message.clone()),
    }
}

/// An error response of the right kind for `path`.
pub fn error_for_path(path: &str, e: &AppError) -> HttpResponse {
    if is_openai_path(path) {
        super::openai::errors::response(e)
    } else if is_api_path(path) {
        json_error(e)
    } else {
        html_error(e)
    }
}

/// Renders a page template with a status; clears a flash that this page has shown.
pub fn render(req: &HttpRequest, status: StatusCode, page: &impl Template) -> PageResult {
    let body = page.render().map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        AppError::internal()
    })?;
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8").insert_header((header::CACHE_CONTROL, "no-store"));
    if req.cookie(FLASH_COOKIE).is_some() {
        response.cookie(expired(FLASH_COOKIE));
    }
    Ok(response.body(body))
}

/// Renders a page that shows a refusal `error`, with its status and, when it has one, its
/// `Retry-After` (a throttled sign-in or request).
pub fn render_refusal(req: &HttpRequest, error: &AppError, page: &impl Template) -> PageResult {
    let mut response = render(req, error.status, page)?;
    if let Some(wait) = error.retry_after
        && let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(response)
}

/// 200 with a page.
pub fn ok(req: &HttpRequest, page: &impl Template) -> PageResult {
    render(req, StatusCode::OK, page)
}

/// The kind of a flash message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

/// A one-shot message shown on the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

impl Flash {
    pub fn is_error(&self) -> bool {
        self.kind == FlashKind::Error
    }
}

const FLASH_COOKIE: &str = "rv_flash";

/// The flash message carried by the request, if any.
pub fn take_flash(req: &HttpRequest) -> Option<Flash> {
    let cookie = req.cookie(FLASH_COOKIE)?;
    let decoded = percent_decode_str(cookie.value()).decode_utf8().ok()?;
    let (kind, message) = decoded.split_once('|')?;
    let kind = if kind == "error" { FlashKind::Error } else { FlashKind::Success };
    Some(Flash { kind, message: message.chars().take(300).collect() })
}

/// 303 to `location` (always a local path).
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_string())).finish()
}

/// 303 to `location` with a flash message for the next page.
pub fn redirect_with(location: &str, kind: FlashKind, message: &str) -> HttpResponse {
    let kind = if kind == FlashKind::Error { "error" } else { "ok" };
    let value = utf8_percent_encode(&format!("{kind}|{message}"), NON_ALPHANUMERIC).to_string();
    let cookie = Cookie::build(FLASH_COOKIE, value).path("/").http_only(true).same_site(SameSite::Lax).finish();
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_string())).cookie(cookie).finish()
}

/// A cookie that removes `name`.
pub fn expired(name: &str) -> Cookie<'static> {
    Cookie::build(name.to_string(), "").path("/").max_age(CookieDuration::ZERO).finish()
}

/// A service error as a page error (helper for `map_err`).
pub fn page_err(e: ServiceError) -> PageError {
    PageError::App(e.into())
}

/// Only local paths are accepted as `next` targets, so sign-in cannot redirect off-site.
/// Anything else (another host, a scheme, a backslash or a control or space character a
/// browser might drop or read as a separator, e.g. `/\t/evil.example`) falls back to `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

/// The longest `next` target kept; longer ones fall back to `/`.
const NEXT_MAX_LEN: usize = 2048;

/// A path on this site: one leading `/` (not `//`), no backslash, no control or whitespace
/// character anywhere, and not absurdly long.
fn is_local_path(target: &str) -> bool {
    target.len() <= NEXT_MAX_LEN
        && target.starts_with('/')
        && !target.starts_with("//")
        && !target.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_translated_status_and_error_is_in_the_catalogues() {
        for lang in crate::i18n::Lang::ALL {
            let tr = crate::i18n::Tr::new(lang);
            for key in STATUS_KEYS.iter().chain(ERROR_KEYS.iter().map(|(_, k)| k)) {
                assert!(tr.has(key), "{key} is missing in {}", lang.code());
            }
        }
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next(Some("/account")), "/account");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/library/\\x")), "/");
        assert_eq!(safe_next(Some("/library?q=a%20b")), "/library?q=a%20b");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
