//! `POST /hooks/{connection}/{secret}`: providers' job callbacks. The secret in the path is
//! derived from the master key per connection; the adapter verifies the provider's own
//! signature where it signs, names the upstream job, and the engine polls that job at once.
//! The callback's body is never trusted for results: polling stays the source of truth.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::http::responses::ApiResult;
use crate::providers::{Callback, ProviderError};
use crate::state::AppState;

/// The largest callback body read.
pub const HOOK_BODY_LIMIT: usize = 1024 * 1024;

pub async fn receive(state: web::Data<AppState>, path: web::Path<(String, String)>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    let (name, secret) = path.into_inner();
    let expected = state.hook_secret(&name);
    let known = state.registry().connection(&name);
    let Some(connection) = known.filter(|_| bool::from(secret.as_bytes().ct_eq(expected.as_bytes()))) else {
        return Err(AppError::not_found().into());
    };
    if body.len() > HOOK_BODY_LIMIT {
        return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "The callback body is larger than 1 MiB.").into());
    }
    let headers =
        req.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let callback = Callback { headers, body };
    if let Some(answer) = connection.provider.callback_answer(&callback) {
        return Ok(HttpResponse::Ok().json(answer));
    }
    match connection.provider.callback(&callback) {
        Ok(Some(upstream)) => {
            let woke = state.engine.nudge(&name, &upstream);
            tracing::debug!(connection = %name, upstream = %upstream, woke, "provider callback");
            Ok(HttpResponse::Ok().json(serde_json::json!({"received": true, "job_found": woke})))
        }
        Ok(None) => Ok(HttpResponse::Ok().json(serde_json::json!({"received": true, "job_found": false}))),
        Err(ProviderError::Auth(message)) => {
            tracing::warn!(connection = %name, %message, "a provider callback failed its signature check");
            Err(AppError::new(StatusCode::UNAUTHORIZED, "hook.signature", format!("The callback's signature does not verify: {message}"))
                .into())
        }
        Err(e) => Err(AppError::bad_request(format!("The callback could not be read: {e}")).into()),
    }
}
