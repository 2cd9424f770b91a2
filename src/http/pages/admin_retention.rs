//! The retention page for admins: periods in force, the plan of the next sweep, the last
//! runs with their counts, and "Run now" (which enqueues a sweep; it never runs here).

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::config::format_duration;
use crate::domain::retention::RetentionRun;
use crate::domain::time::Timestamp;
use crate::http::auth::{Admin, state};
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with};
use crate::services::privacy::retention::{self, Plan};
use crate::services::team::jobs::Job;

/// Plan items shown on the page (the counts cover them all).
const ITEMS_SHOWN: usize = 200;
/// Runs shown on the page.
const RUNS_SHOWN: usize = 20;

#[derive(Template)]
#[template(path = "admin/retention.html")]
struct RetentionPage {
    layout: Layout,
    periods: Vec<(&'static str, String)>,
    schedule: String,
    plan: Plan,
    runs: Vec<RetentionRun>,
}

impl RetentionPage {
    fn more_items(&self) -> usize {
        self.plan.items.len().saturating_sub(ITEMS_SHOWN)
    }

    fn shown_items(&self) -> &[retention::PlanItem] {
        &self.plan.items[..self.plan.items.len().min(ITEMS_SHOWN)]
    }
}

/// A period for people: "180d", or "kept forever".
fn shown(d: std::time::Duration) -> String {
    if d.is_zero() { "kept forever".into() } else { format_duration(d) }
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let r = &state.config.retention;
    let periods = vec![
        ("Reference uploads", shown(r.uploads)),
        ("Generated outputs", shown(r.outputs)),
        ("Failed and cancelled generations", shown(r.failed)),
        ("Audit events", shown(r.audit)),
        ("Client addresses in the audit log", shown(r.client_addresses)),
        ("Copies of the store taken before a migration", shown(r.pre_migration_copies)),
    ];
    let plan = retention::plan(&state, Timestamp::now()).await?;
    let runs = retention::latest_runs(&state, RUNS_SHOWN).await?;
    let schedule = state.config.schedule.retention.clone();
    ok(&req, &RetentionPage { layout: Layout::new(&req, Some(&admin.0.user)), periods, schedule, plan, runs })
}

pub async fn run_now(req: HttpRequest, _admin: Admin) -> PageResult {
    let state = state(&req)?;
    let (kind, message) = if state.jobs.scheduled.enqueue(Job::Retention("admin")) {
        (FlashKind::Success, "A retention sweep is queued; reload this page to see its run.")
    } else {
        (FlashKind::Error, "The scheduler is not running; use `reelvault retention run`.")
    };
    Ok(redirect_with(state.urls().admin_retention(), kind, message))
}
