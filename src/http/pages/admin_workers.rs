//! The "Background work" page for admins: every background worker, its state, when it last
//! ran and why it last failed (`/api/v1/admin/workers` answers the same).

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
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let (workers, bounded) = (state.workers.status(), state.workers.bounded().status());
    ok(&req, &WorkersPage { layout: Layout::new(&req, Some(&admin.0.user)), workers, bounded })
}
