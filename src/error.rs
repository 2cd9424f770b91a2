//! AppError: the one error type at the edge, with a stable code, a message for people and
//! the HTTP status. Lower layers keep their own small error enums; only this file maps them.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde::Serialize;

use crate::search::SearchError;
use crate::services::ServiceError;
use crate::services::limits::places::Busy;
use crate::store::StoreError;

/// An error as a client sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// Machine-readable particulars (which parameter was wrong, …); `null` when none.
    pub details: Option<serde_json::Value>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None, details: None }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// A request parameter that cannot be used: 400 `invalid_parameter`, naming it.
    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).with_details(serde_json::json!({ "parameter": parameter }))
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address.")
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "auth.required", "Sign in, or send a valid API token as `Authorization: Bearer …`.")
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on the server; the error was logged.")
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Locked => {
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, "store.unavailable", "The store is busy; try again shortly.")
            }
            other => {
                tracing::error!(error = %other, "store error");
                AppError::internal()
            }
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        let message = capitalise(&e.to_string());
        match e {
            ServiceError::Invalid(_) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message),
            ServiceError::BadCredentials => AppError::new(StatusCode::UNAUTHORIZED, "auth.bad_credentials", message),
            ServiceError::Throttled { retry_after } => {
                AppError { retry_after: Some(retry_after), ..AppError::new(StatusCode::TOO_MANY_REQUESTS, "auth.throttled", message) }
            }
            ServiceError::PasswordChecksBusy { this_client } => {
                let status = if this_client { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::SERVICE_UNAVAILABLE };
                AppError { retry_after: Some(Duration::from_secs(1)), ..AppError::new(status, "auth.busy", message) }
            }
            ServiceError::RateLimited { allowed, retry_after, .. } => {
                let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                AppError {
                    retry_after: Some(Duration::from_secs(seconds)),
                    ..AppError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                        .with_details(serde_json::json!({ "limit": allowed, "retry_after": seconds }))
                }
            }
            ServiceError::AccountDisabled => AppError::forbidden("auth.account_disabled", message),
            ServiceError::PasswordSignInOff => AppError::forbidden("auth.password_sign_in_off", message),
            ServiceError::AccountFrozen => AppError::forbidden("account.frozen", message),
            ServiceError::EmailTaken => AppError::new(StatusCode::CONFLICT, "user.email_taken", message),
            ServiceError::NotFound(_) => AppError::new(StatusCode::NOT_FOUND, "not_found", message),
            ServiceError::LinkInvalid => AppError::new(StatusCode::NOT_FOUND, "link.invalid", message),
            ServiceError::AdminOnly => AppError::forbidden("auth.admin_only", message),
            ServiceError::NotEditor => AppError::forbidden("board.not_editor", message),
            ServiceError::SharingOff => AppError::forbidden("share.disabled", message),
            ServiceError::Conflict(_) => AppError::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::InUse(_) => AppError::new(StatusCode::CONFLICT, "in_use", message),
            ServiceError::InvalidMessage(_) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message),
            ServiceError::UnknownModel(_) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "generation.unknown_model", message),
            ServiceError::ModelRule(e) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
                .with_details(serde_json::json!({ "parameter": e.field, "rule": "model" })),
            ServiceError::ModelDisabled { .. } => AppError::forbidden("generation.model_disabled", message),
            ServiceError::Credits(crate::domain::credits::CreditError::Insufficient { .. }) => {
                AppError::new(StatusCode::PAYMENT_REQUIRED, "credits.insufficient", message)
            }
            ServiceError::Credits(_) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "credits.invalid", message),
            ServiceError::SpendLimit(broken) => {
                let code = if broken.model.is_some() { "credits.model_daily_limit" } else { "credits.daily_limit" };
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_details(serde_json::json!({
                    "limit": broken.limit,
                    "spent": broken.spent,
                    "model": broken.model,
                    "resets_at": broken.resets_at.rfc3339(),
                }))
            }
            ServiceError::NotApprover => AppError::forbidden("approval.not_approver", message),
            ServiceError::OwnApproval => AppError::forbidden("approval.own_request", message),
            ServiceError::TooLarge(_) => AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload.too_large", message),
            ServiceError::AlreadyFinished => AppError::new(StatusCode::CONFLICT, "generation.finished", message),
            ServiceError::LegalHold(id) => AppError::new(StatusCode::CONFLICT, "generation.legal_hold", message)
                .with_details(serde_json::json!({ "generation": id.to_string() })),
            ServiceError::Busy { retry_after, .. } => {
                AppError { retry_after: Some(retry_after), ..AppError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message) }
            }
            ServiceError::MediaUnavailable(reason) => {
                tracing::warn!(%reason, "media store unreachable");
                AppError {
                    retry_after: Some(Duration::from_secs(5)),
                    ..AppError::new(StatusCode::SERVICE_UNAVAILABLE, "media.unavailable", message)
                }
            }
            ServiceError::Store(s) => s.into(),
            ServiceError::Search(s) => s.into(),
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                AppError::internal()
            }
        }
    }
}

impl AppError {
    /// No place for another archive: 429 when the person holds their share, 503 when the
    /// instance is full.
    pub fn archives_busy(e: Busy) -> Self {
        let (status, retry_after, message) = match e {
            Busy::Person(n) => {
                (StatusCode::TOO_MANY_REQUESTS, 30, format!("You already have {n} archive(s) being written; wait for one to finish."))
            }
            Busy::Instance => (
                StatusCode::SERVICE_UNAVAILABLE,
                60,
                "The instance is writing as many archives as it may at once; try again in a minute.".to_string(),
            ),
        };
        AppError { retry_after: Some(Duration::from_secs(retry_after)), ..AppError::new(status, "archive.busy", message) }
    }
}

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Invalid { param, message } => AppError::bad_parameter(param, capitalise(&message)),
            SearchError::Unavailable(status) => AppError {
                retry_after: Some(Duration::from_secs(2)),
                ..AppError::new(StatusCode::SERVICE_UNAVAILABLE, "search.unavailable", capitalise(&status.to_string()))
            },
            SearchError::Store(s) => s.into(),
            other => {
                tracing::error!(error = %other, "search error");
                AppError::internal()
            }
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
