//! Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the
//! statuses OpenAI's clients expect. Only translates `AppError`s and failure reasons; it
//! decides nothing about what is refused.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

use crate::domain::generation::{GenState, Generation, Reason};
use crate::error::AppError;

/// An error as an OpenAI client reads it.
#[derive(Debug, Clone)]
pub struct OpenAiError {
    pub status: StatusCode,
    /// OpenAI's `type`: `invalid_request_error`, `insufficient_quota`, `requests`, `server_error`.
    pub kind: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<String>,
    pub retry_after: Option<Duration>,
}

pub type OpenAiResult = Result<HttpResponse, OpenAiError>;

impl OpenAiError {
    /// 400 `invalid_request_error` naming the request field `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).param(param).code("invalid_value")
    }

    /// 400 for a field OpenAI's API does not have either.
    pub fn unknown_parameter(param: &str) -> Self {
        Self::invalid(param, format!("Unknown parameter: '{param}'.")).code("unknown_parameter")
    }

    /// 400 for a required field that is missing.
    pub fn missing(param: &str) -> Self {
        Self::invalid(param, format!("Missing required parameter: '{param}'.")).code("missing_required_parameter")
    }

    /// 404 for a video (or another object) the caller has no such thing as.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request_error", format!("{what} with id '{id}' not found.")).code("not_found")
    }

    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into(), param: None, code: None, retry_after: None }
    }

    pub fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_string());
        self
    }

    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_string());
        self
    }

    /// A synchronous call whose job waits for an approver: answered at once (403
    /// `approval_required`) rather than held open for as long as the approval takes; the job
    /// stays in the approvals queue and appears in the library when it runs.
    pub fn awaiting_approval(g: &Generation) -> Self {
        let message = format!(
            "Generation {} costs {} credits, above your approval threshold: it waits for an approver and will appear in the library when it runs.",
            g.id, g.cost
        );
        Self::new(StatusCode::FORBIDDEN, "invalid_request_error", message).code("approval_required")
    }

    /// Why a generation that ended without output did so: content-policy and input refusals
    /// are the caller's (400), a cancellation is a conflict (409), everything else the
    /// provider's or ours (502, or 504 for a deadline). The message names the generation.
    pub fn of_failed(g: &Generation) -> Self {
        let fallback = Reason::new("failed", "The generation failed.");
        let reason = g.reason.as_ref().unwrap_or(&fallback);
        let message = format!("{} (generation {})", reason.message, g.id);
        let (status, kind, code) = match (g.state, reason.code.as_str()) {
            (GenState::Cancelled, _) => (StatusCode::CONFLICT, "invalid_request_error", "cancelled"),
            (_, "provider.content_policy") => (StatusCode::BAD_REQUEST, "invalid_request_error", "moderation_blocked"),
            (_, "provider.invalid_input" | "reference_missing") => (StatusCode::BAD_REQUEST, "invalid_request_error", reason.code.as_str()),
            (_, "timeout") => (StatusCode::GATEWAY_TIMEOUT, "server_error", "timeout"),
            (_, other) => (StatusCode::BAD_GATEWAY, "server_error", other),
        };
        Self::new(status, kind, message).code(code)
    }
}

impl From<AppError> for OpenAiError {
    fn from(e: AppError) -> Self {
        let param = e.details.as_ref().and_then(|d| d.get("parameter")).and_then(|p| p.as_str()).map(str::to_string);
        let model_rule = e.details.as_ref().and_then(|d| d.get("rule")).is_some_and(|r| r == "model");
        let (status, kind, code) = match (e.status, e.code) {
            // the model's own rules (a required first frame, a duration it does not make):
            // 422 here as on /api/v1, with the field in `param`
            (StatusCode::UNPROCESSABLE_ENTITY, code) if model_rule => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error", code),
            // OpenAI answers an exhausted quota with 429 `insufficient_quota`
            (_, "credits.insufficient") => (StatusCode::TOO_MANY_REQUESTS, "insufficient_quota", "insufficient_quota"),
            (_, "generation.unknown_model") => (StatusCode::NOT_FOUND, "invalid_request_error", "model_not_found"),
            (_, "auth.invalid_token" | "auth.malformed_authorization") => {
                (StatusCode::UNAUTHORIZED, "invalid_request_error", "invalid_api_key")
            }
            (StatusCode::TOO_MANY_REQUESTS, code) => (StatusCode::TOO_MANY_REQUESTS, "requests", code),
            // OpenAI's validation errors are 400s
            (StatusCode::UNPROCESSABLE_ENTITY, code) => (StatusCode::BAD_REQUEST, "invalid_request_error", code),
            (status, code) if status.is_server_error() => (status, "server_error", code),
            (status, code) => (status, "invalid_request_error", code),
        };
        let param = param.or_else(|| (code == "model_not_found").then(|| "model".to_string()));
        OpenAiError { status, kind, message: e.message, param, code: Some(code.to_string()), retry_after: e.retry_after }
    }
}

impl From<crate::services::ServiceError> for OpenAiError {
    fn from(e: crate::services::ServiceError) -> Self {
        AppError::from(e).into()
    }
}

impl std::fmt::Display for OpenAiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.kind)
    }
}

impl ResponseError for OpenAiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(wait) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
        }
        if self.kind == "insufficient_quota" {
            // OpenAI's clients retry 429s unless told not to; more credits take a person
            response.insert_header(("x-should-retry", "false"));
        }
        response.json(serde_json::json!({
            "error": { "message": self.message, "type": self.kind, "param": self.param, "code": self.code }
        }))
    }
}

/// The response for an `AppError` raised on a `/v1` path outside the handlers (bad JSON,
/// unknown routes, methods, media refusals).
pub fn response(e: &AppError) -> HttpResponse {
    OpenAiError::from(e.clone()).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(e: AppError) -> OpenAiError {
        e.into()
    }

    #[test]
    fn app_errors_take_openai_statuses_types_and_codes() {
        let quota = of(AppError::new(StatusCode::PAYMENT_REQUIRED, "credits.insufficient", "Too few credits."));
        assert_eq!(
            (quota.status, quota.kind, quota.code.as_deref()),
            (StatusCode::TOO_MANY_REQUESTS, "insufficient_quota", Some("insufficient_quota"))
        );
        assert_eq!(quota.error_response().headers().get("x-should-retry").unwrap(), "false");
        let model = of(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "generation.unknown_model", "No such model."));
        assert_eq!(
            (model.status, model.param.as_deref(), model.code.as_deref()),
            (StatusCode::NOT_FOUND, Some("model"), Some("model_not_found"))
        );
        let invalid = of(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "Bad."));
        assert_eq!((invalid.status, invalid.kind), (StatusCode::BAD_REQUEST, "invalid_request_error"));
        let param = of(AppError::bad_parameter("limit", "Too many."));
        assert_eq!(param.param.as_deref(), Some("limit"));
        let internal = of(AppError::internal());
        assert_eq!((internal.status, internal.kind), (StatusCode::INTERNAL_SERVER_ERROR, "server_error"));
        let key = of(AppError::new(StatusCode::UNAUTHORIZED, "auth.invalid_token", "Unknown token."));
        assert_eq!((key.status, key.code.as_deref()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
    }
}
