//! Retention: the plan of what would be deleted, and a run on demand.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::format_duration;
use crate::domain::retention::{Counts, RetentionRun};
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::services::privacy::retention;
use crate::services::team::jobs::Job;

/// Counts per class of what a sweep removed or would remove.
#[derive(Serialize, ToSchema)]
pub struct CountsView {
    uploads: u64,
    outputs: u64,
    failed: u64,
    audit: u64,
    client_addresses: u64,
    sessions: u64,
    invitations: u64,
    files: u64,
    orphan_files: u64,
}

impl CountsView {
    fn new(c: &Counts) -> Self {
        CountsView {
            uploads: c.uploads,
            outputs: c.outputs,
            failed: c.failed,
            audit: c.audit,
            client_addresses: c.client_addresses,
            sessions: c.sessions,
            invitations: c.invitations,
            files: c.files,
            orphan_files: c.orphan_files,
        }
    }
}

/// One item the next sweep removes.
#[derive(Serialize, ToSchema)]
pub struct PlanItemView {
    /// `upload`, `output` or `failed`.
    class: String,
    id: String,
    /// The owner's user id.
    owner: String,
    /// When its clock started (RFC 3339).
    since: String,
}

/// One past sweep.
#[derive(Serialize, ToSchema)]
pub struct RunView {
    started_at: String,
    duration_ms: u64,
    /// `schedule`, `cli` or `admin`.
    trigger: String,
    counts: CountsView,
    /// A failure that ended it early.
    error: Option<String>,
}

impl RunView {
    fn new(r: &RetentionRun) -> Self {
        RunView {
            started_at: r.started_at.rfc3339(),
            duration_ms: r.duration_ms,
            trigger: r.trigger.clone(),
            counts: CountsView::new(&r.counts),
            error: r.error.clone(),
        }
    }
}

/// Retention periods (`180d`, `0` for forever) in force.
#[derive(Serialize, ToSchema)]
pub struct PeriodsView {
    uploads: String,
    outputs: String,
    failed: String,
    audit: String,
    client_addresses: String,
}

/// Retention: the periods, the schedule, what the next sweep would remove, and the last runs.
#[derive(Serialize, ToSchema)]
pub struct RetentionView {
    periods: PeriodsView,
    /// A cron expression, seconds first, UTC.
    schedule: String,
    /// When the plan was made for.
    plan_at: String,
    plan_counts: CountsView,
    plan_items: Vec<PlanItemView>,
    runs: Vec<RunView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Rehearse the plan at a later time (RFC 3339); now when absent.
    at: Option<String>,
}

/// Plan items answered at most (the counts cover them all), and runs.
const PLAN_ITEMS: usize = 1000;
const RUNS: usize = 20;

/// The retention periods, schedule, plan of the next sweep and the last runs.
#[utoipa::path(get, operation_id = "admin_instance_retention", path = "/api/v1/admin/retention", tag = "admin", params(PlanQuery),
    responses((status = 200, body = RetentionView), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn retention(req: HttpRequest, _admin: ApiAdmin, query: web::Query<PlanQuery>) -> ApiResult {
    let state = state(&req)?;
    let at = match query.at.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => Timestamp::now(),
        Some(text) => Timestamp::parse_rfc3339(text).ok_or_else(|| AppError::bad_parameter("at", "at must be an RFC 3339 time."))?,
    };
    let plan = retention::plan(&state, at).await?;
    let runs = retention::latest_runs(&state, RUNS).await?;
    let r = &state.config.retention;
    let view = RetentionView {
        periods: PeriodsView {
            uploads: format_duration(r.uploads),
            outputs: format_duration(r.outputs),
            failed: format_duration(r.failed),
            audit: format_duration(r.audit),
            client_addresses: format_duration(r.client_addresses),
        },
        schedule: state.config.schedule.retention.clone(),
        plan_at: plan.at.rfc3339(),
        plan_counts: CountsView::new(&plan.counts),
        plan_items: plan
            .items
            .iter()
            .take(PLAN_ITEMS)
            .map(|i| PlanItemView { class: i.class.to_string(), id: i.id.clone(), owner: i.owner.clone(), since: i.since.rfc3339() })
            .collect(),
        runs: runs.iter().map(RunView::new).collect(),
    };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(view))
}

#[derive(Serialize, ToSchema)]
pub struct Queued {
    /// Always `true`: the sweep runs in the background; `GET /admin/retention` shows its run.
    queued: bool,
}

/// Queues a retention sweep now.
#[utoipa::path(post, operation_id = "admin_instance_run_retention", path = "/api/v1/admin/retention/run", tag = "admin",
    responses(
        (status = 202, body = Queued),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 503, description = "The scheduler is not running (`scheduler.unavailable`)", body = ErrorBody),
    ))]
pub async fn run_retention(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    if !state.jobs.scheduled.enqueue(Job::Retention("admin")) {
        return Err(AppError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "scheduler.unavailable",
            "The scheduler is not running; use `reelvault retention run`.",
        )
        .into());
    }
    Ok(HttpResponse::Accepted().json(Queued { queued: true }))
}
