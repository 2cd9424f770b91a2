//! `/api/v1/account/export`: start an export of all the caller's data, and see its state and
//! a freshly signed download link.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::state::AppState;
use crate::services::{ServiceError, privacy::export};

#[derive(Serialize, ToSchema)]
pub struct ExportView<'a> {
    /// `queued`, `running`, `ready` or `failed`.
    #[schema(value_type = String)]
    state: &'static str,
    requested_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    bytes: Option<u64>,
    /// The signed download link, while ready.
    url: Option<String>,
    /// When `url` stops working (fetch the status again for a fresh one).
    url_expires_at: Option<String>,
    /// When the finished export is removed.
    expires_at: Option<String>,
    error: Option<&'a str>,
}

fn view<'a>(state: &AppState, status: &'a export::Status) -> ExportView<'a> {
    let e = &status.export;
    ExportView {
        state: e.state.as_str(),
        requested_at: e.requested_at.rfc3339(),
        started_at: e.started_at.map(|t| t.rfc3339()),
        finished_at: e.finished_at.map(|t| t.rfc3339()),
        bytes: e.bytes,
        url: status.path.as_deref().map(|p| state.urls().absolute(p)),
        url_expires_at: status.path_expires_at.map(|t| t.rfc3339()),
        expires_at: e.expires_at().map(|t| t.rfc3339()),
        error: e.error.as_deref(),
    }
}

/// `POST`: 202 with the new export, or 200 with the one still being written.
#[utoipa::path(post, operation_id = "export_start", path = "/api/v1/account/export", tag = "account", responses(
    (status = 200, description = "An export is still being prepared; no second one is started", body = ExportView),
    (status = 202, description = "A new export is queued", body = ExportView),
    (status = 403, description = "The account is frozen (`account.frozen`)", body = ErrorBody),
))]
pub async fn start(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let (export, started) = export::request(&state, &caller.ctx(), &caller.user).await?;
    let status = export::Status { export, path: None, path_expires_at: None };
    let mut response = if started { HttpResponse::Accepted() } else { HttpResponse::Ok() };
    Ok(response.json(view(&state, &status)))
}

/// `GET`: the latest export, or 404 when none was asked for (or it expired).
#[utoipa::path(get, operation_id = "export_show", path = "/api/v1/account/export", tag = "account", responses(
    (status = 200, body = ExportView),
    (status = 404, description = "No export was asked for, or it expired (`not_found`)", body = ErrorBody),
))]
pub async fn show(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let status = export::latest(&state, caller.user.id).await?.ok_or_else(|| AppError::from(ServiceError::NotFound("export")))?;
    Ok(HttpResponse::Ok().json(view(&state, &status)))
}
