//! `POST /hooks/{connection}/{secret}`: providers' job callbacks. The secret in the path is
//! derived from the master key per connection; `services::studio::callbacks` checks it, lets the
//! adapter verify and read the callback, and has the engine poll the job it names.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::AppError;
use crate::http::responses::ApiResult;
use crate::services::state::AppState;
pub use crate::services::studio::callbacks::HOOK_BODY_LIMIT;
use crate::services::studio::callbacks::{self, CallbackError, Received};

pub async fn receive(state: web::Data<AppState>, path: web::Path<(String, String)>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    let (name, secret) = path.into_inner();
    let headers =
        req.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    match callbacks::receive(&state, &name, &secret, headers, body) {
        Ok(Received::Answer(answer)) => Ok(HttpResponse::Ok().json(answer)),
        Ok(Received::Acknowledged { job_found }) => {
            Ok(HttpResponse::Ok().json(serde_json::json!({"received": true, "job_found": job_found})))
        }
        Err(CallbackError::UnknownHook) => Err(AppError::not_found().into()),
        Err(CallbackError::TooLarge) => {
            Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "The callback body is larger than 1 MiB.").into())
        }
        Err(CallbackError::Signature(message)) => {
            Err(AppError::new(StatusCode::UNAUTHORIZED, "hook.signature", format!("The callback's signature does not verify: {message}"))
                .into())
        }
        Err(CallbackError::Unreadable(e)) => Err(AppError::bad_request(format!("The callback could not be read: {e}")).into()),
    }
}
