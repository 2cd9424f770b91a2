//! The "Background work" page for admins: every background worker, its state, when it last
//! ran and why it last failed (`/api/v1/admin/workers` answers the same), and where media are
//! kept, with an object store's recent latency and errors.

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
    let stats = state.media.backend_stats();
    let stats = stats.as_deref();
    let media = MediaBackendLine {
        backend: state.media.backend_name(),
        latency_ms: stats.and_then(|s| s.recent_latency()).map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
        errors: stats.map_or(0, |s| s.errors()),
        last_error: stats.and_then(|s| s.last_error()).map(|(_, message)| message),
    };
    ok(&req, &WorkersPage { layout: Layout::new(&req, Some(&admin.0.user)), workers, bounded, media })
}
