//! `GET /api/v1/admin/workers` (the background workers and their health) and
//! `GET /api/v1/admin/media` (where media are kept, with an object store's recent latency and
//! errors), for admins: together, what the admin page "Background work" shows.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::time::Timestamp;
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

/// Where media are kept, and how the object store has been answering.
#[derive(Serialize, ToSchema)]
pub struct MediaBackendView {
    /// `local` (the data directory's disk) or `s3` (an S3-compatible object store).
    #[schema(example = "s3")]
    backend: &'static str,
    /// Recent latency of a call to the object store in milliseconds, weighted towards the
    /// latest calls; `null` on the local disk and before the first call.
    latency_ms: Option<f64>,
    /// Calls to the object store that failed since start-up (always 0 on the local disk).
    errors: u64,
    /// The store's reason for the last failure.
    last_error: Option<String>,
    /// When the last failure happened (RFC 3339).
    last_error_at: Option<String>,
}

/// The media backend: the line of the Background work page that names it.
#[utoipa::path(get, operation_id = "admin_media_backend", path = "/api/v1/admin/media", tag = "admin",
    responses((status = 200, body = MediaBackendView), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn media(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let health = state.media.backend_health();
    let latency_ms = health.latency_ms();
    let (last_error_at, last_error) = health.last_error.map(|(at, reason)| (Timestamp::from_system(at).rfc3339(), reason)).unzip();
    let view = MediaBackendView { backend: health.backend, latency_ms, errors: health.errors, last_error, last_error_at };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(view))
}
