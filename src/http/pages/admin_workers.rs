//! The "Background work" page for admins: every background worker, its state, when it last
//! ran and why it last failed (`/api/v1/admin/workers` answers the same), and where media are
//! kept, with an object store's recent latency and errors (`/api/v1/admin/media`).

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::http::auth::{Admin, state};
use crate::http::responses::{PageResult, ok};
use crate::workers::{Tally, WorkerStatus};

#[derive(Template)]
#[template(path = "admin/workers.html")]
struct WorkersPage {
    layout: Layout,
    workers: Vec<WorkerStatus>,
    /// Archives, exports and backups: how many run now and have run.
    bounded: Vec<Tally>,
    media: MediaBackendLine,
}

/// The media backend as the page shows it.
struct MediaBackendLine {
    backend: &'static str,
    /// Recent latency of a call to the object store, in milliseconds (one decimal).
    latency_ms: Option<String>,
    errors: u64,
    last_error: Option<String>,
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let (workers, bounded) = (state.workers.status(), state.workers.bounded().status());
    let health = state.media.backend_health();
    let media = MediaBackendLine {
        backend: health.backend,
        latency_ms: health.latency_ms().map(|ms| format!("{ms:.1}")),
        errors: health.errors,
        last_error: health.last_error.map(|(_, message)| message),
    };
    ok(&req, &WorkersPage { layout: Layout::new(&req, Some(&admin.0.user)), workers, bounded, media })
}
