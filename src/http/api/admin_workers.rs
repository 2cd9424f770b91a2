//! `GET /api/v1/admin/workers`: the background workers and their health, for admins (the
//! admin page "Background work" shows the same).

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::workers::WorkerStatus;

/// One background worker.
#[derive(Serialize, ToSchema)]
pub struct WorkerView {
    /// `indexer`, `scheduler`, `webhooks`, …
    name: &'static str,
    /// `starting`, `running`, `idle`, `stopping`, `stopped`, `failed` or `restarting`.
    state: &'static str,
    /// When it last started (RFC 3339).
    started_at: Option<String>,
    /// When it last finished a round of work (RFC 3339).
    last_run_at: Option<String>,
    /// Why it last failed.
    last_error: Option<String>,
    /// How often it was started again after failing.
    restarts: u32,
}

impl From<WorkerStatus> for WorkerView {
    fn from(s: WorkerStatus) -> Self {
        WorkerView {
            name: s.name,
            state: s.state.as_str(),
            started_at: s.started_at.map(|t| t.rfc3339()),
            last_run_at: s.last_run_at.map(|t| t.rfc3339()),
            last_error: s.last_error,
            restarts: s.restarts,
        }
    }
}

/// Every background worker, in the order they started.
#[utoipa::path(get, operation_id = "admin_workers_list", path = "/api/v1/admin/workers", tag = "admin",
    responses((status = 200, body = Vec<WorkerView>), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn list(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let workers: Vec<WorkerView> = state.workers.status().into_iter().map(WorkerView::from).collect();
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(workers))
}
