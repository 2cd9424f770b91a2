//! `/api/v1/admin/…` for the instance: provider connections, model policy and prices, the
//! data-use setting, retention (plan and run) and the audit log. Admins only; thin over the
//! services the admin pages use.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi::ErrorBody;
use crate::config::format_duration;
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::ids::UserId;
use crate::domain::retention::{Counts, RetentionRun};
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::auth::{ApiAdmin, state};
use crate::http::pages::admin_audit::AuditQuery;
use crate::http::responses::ApiResult;
use crate::services::connections::{self, ConnectionRow, NewConnection, Source};
use crate::services::jobs::Job;
use crate::services::model_policy::{self, PolicyRow, RowChange};
use crate::services::{ServiceError, audit, profile, retention};

// ---- connections ----

/// A provider connection (keys never shown: `key` is `••••` and the last four characters).
#[derive(Serialize, ToSchema)]
pub struct ConnectionView {
    name: String,
    /// The adapter: `openai_images`, `kling`, `demo`, …
    kind: String,
    base_url: Option<String>,
    key: String,
    max_concurrent: u32,
    allow_private_network: bool,
    /// The catalog models it serves.
    #[schema(value_type = Vec<String>)]
    models: Vec<&'static str>,
    /// `config` (config.toml, read-only here) or `admin` (added here or in the UI).
    #[schema(value_type = String)]
    source: &'static str,
}

impl ConnectionView {
    fn new(row: ConnectionRow) -> Self {
        ConnectionView {
            name: row.name,
            kind: row.kind,
            base_url: row.base_url,
            key: row.key,
            max_concurrent: row.max_concurrent,
            allow_private_network: row.allow_private_network,
            models: row.models,
            source: match row.source {
                Source::Config => "config",
                Source::Admin => "admin",
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionList {
    connections: Vec<ConnectionView>,
}

async fn connection_list(req: &HttpRequest) -> Result<ConnectionList, AppError> {
    let state = state(req)?;
    Ok(ConnectionList { connections: connections::list(&state).await?.into_iter().map(ConnectionView::new).collect() })
}

/// The connections in force: config.toml's, then those admins added.
#[utoipa::path(get, operation_id = "admin_instance_connections", path = "/api/v1/admin/connections", tag = "admin",
    responses((status = 200, body = ConnectionList), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn connections(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    Ok(HttpResponse::Ok().json(connection_list(&req).await?))
}

/// A new connection. Keys are stored sealed to the master key and never shown again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnectionBody {
    /// Letters, digits, `-` and `_`.
    name: String,
    /// `openai_images`, `openai_videos`, `gemini`, `runway`, `kling`, `minimax`, `luma`, `luma_agents`, `bfl`,
    /// `replicate`, `fal`, `stability` or `comfyui`.
    kind: String,
    /// The provider's default when absent (or a gateway, Azure, a self-hosted server).
    base_url: Option<String>,
    api_key: Option<String>,
    /// Kling's access key.
    access_key: Option<String>,
    /// Kling's secret key.
    secret_key: Option<String>,
    /// Jobs at once (4).
    max_concurrent: Option<u32>,
    /// Allow loopback and private addresses (a self-hosted ComfyUI).
    #[serde(default)]
    allow_private_network: bool,
    /// Limit the connection to these catalog models (all of its kind when absent).
    #[serde(default)]
    models: Vec<String>,
}

/// Adds a connection and puts it in force; answers with the connections.
#[utoipa::path(post, operation_id = "admin_instance_add_connection", path = "/api/v1/admin/connections", tag = "admin", request_body = NewConnectionBody,
    responses(
        (status = 201, body = ConnectionList),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "The name is taken (`conflict`)", body = ErrorBody),
        (status = 422, description = "A bad name, kind, URL, key or model (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn add_connection(req: HttpRequest, admin: ApiAdmin, body: web::Json<NewConnectionBody>) -> ApiResult {
    let state = state(&req)?;
    let b = body.into_inner();
    let new = NewConnection {
        name: b.name,
        kind: b.kind,
        base_url: b.base_url.unwrap_or_default(),
        api_key: b.api_key.unwrap_or_default(),
        access_key: b.access_key.unwrap_or_default(),
        secret_key: b.secret_key.unwrap_or_default(),
        max_concurrent: b.max_concurrent,
        allow_private_network: b.allow_private_network,
        models: b.models.join(","),
    };
    connections::add(&state, &admin.0.ctx(), new).await?;
    Ok(HttpResponse::Created().json(connection_list(&req).await?))
}

/// Removes a connection added by an admin (config.toml's cannot be removed here).
#[utoipa::path(delete, operation_id = "admin_instance_remove_connection", path = "/api/v1/admin/connections/{name}", tag = "admin",
    params(("name" = String, Path, description = "The connection's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "It comes from config.toml (`conflict`)", body = ErrorBody),
    ))]
pub async fn remove_connection(req: HttpRequest, admin: ApiAdmin, name: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    connections::remove(&state, &admin.0.ctx(), &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What the provider said to a test call.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    /// Whether the provider accepted the key.
    ok: bool,
    message: String,
}

/// Calls the provider's cheapest authenticated endpoint with the connection's key.
#[utoipa::path(post, operation_id = "admin_instance_test_connection", path = "/api/v1/admin/connections/{name}/test", tag = "admin",
    params(("name" = String, Path, description = "The connection's name")),
    responses((status = 200, body = TestResult), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn test_connection(req: HttpRequest, admin: ApiAdmin, name: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    let result = match connections::test(&state, &admin.0.ctx(), &name).await? {
        Ok(said) => TestResult { ok: true, message: said },
        Err(problem) => TestResult { ok: false, message: problem },
    };
    Ok(HttpResponse::Ok().json(result))
}

// ---- model policy ----

/// A person's override of a model's role setting.
#[derive(Serialize, ToSchema)]
pub struct OverrideView {
    user: String,
    email: String,
    /// `allow` or `deny`.
    #[schema(value_type = String)]
    access: &'static str,
}

/// A model's policy: who may use it, and its price.
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    model: String,
    label: String,
    provider: String,
    /// The connection that serves it.
    connection: Option<String>,
    /// Why no connection serves it, when none does.
    unserved: Option<String>,
    enabled_for_admins: bool,
    enabled_for_members: bool,
    /// The admin's price override (credits per image or per second); `null`: the catalog's.
    credits: Option<u64>,
    /// The effective price.
    #[schema(value_type = super::models::PriceDoc)]
    price: crate::domain::catalog::Price,
    overrides: Vec<OverrideView>,
}

impl PolicyView {
    fn new(row: PolicyRow) -> Self {
        PolicyView {
            model: row.spec.id.to_string(),
            label: row.spec.label.to_string(),
            provider: row.spec.provider.to_string(),
            connection: row.connection,
            unserved: row.unserved,
            enabled_for_admins: row.policy.enabled_for_admins,
            enabled_for_members: row.policy.enabled_for_members,
            credits: row.policy.credits,
            price: row.price,
            overrides: row
                .people
                .into_iter()
                .map(|p| OverrideView { user: p.user.to_string(), email: p.email, access: p.access.as_str() })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PolicyList {
    models: Vec<PolicyView>,
}

/// The policy of `id`, as it now is.
async fn policy(req: &HttpRequest, id: &str) -> Result<PolicyView, AppError> {
    let state = state(req)?;
    let row = model_policy::rows(&state).await?.into_iter().find(|r| r.spec.id == id).ok_or(ServiceError::NotFound("model"))?;
    Ok(PolicyView::new(row))
}

/// Every catalog model with its policy.
#[utoipa::path(get, operation_id = "admin_instance_model_policies", path = "/api/v1/admin/models", tag = "admin",
    responses((status = 200, body = PolicyList), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn model_policies(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let models = model_policy::rows(&state).await?.into_iter().map(PolicyView::new).collect();
    Ok(HttpResponse::Ok().json(PolicyList { models }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    enabled_for_admins: bool,
    enabled_for_members: bool,
    /// Credits per image or per second, at most 100000; `null` or absent for the catalog price.
    #[schema(maximum = 100_000)]
    credits: Option<u64>,
}

/// Sets which roles may use a model and its price (each change audited).
#[utoipa::path(put, operation_id = "admin_instance_save_model_policy", path = "/api/v1/admin/models/{id}", tag = "admin", request_body = PolicyChange,
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 200, body = PolicyView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "A price out of range (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn save_model_policy(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>, body: web::Json<PolicyChange>) -> ApiResult {
    let state = state(&req)?;
    let change = RowChange {
        enabled_for_admins: body.enabled_for_admins,
        enabled_for_members: body.enabled_for_members,
        credits: body.credits.map(|c| c.to_string()).unwrap_or_default(),
    };
    model_policy::save(&state, &admin.0.ctx(), &id, change).await?;
    Ok(HttpResponse::Ok().json(policy(&req, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// The account's email.
    email: String,
    /// `allow` or `deny`.
    #[schema(example = "deny")]
    access: String,
}

/// Allows or denies a model to one person, whatever their role's setting.
#[utoipa::path(put, operation_id = "admin_instance_set_model_override", path = "/api/v1/admin/models/{id}/overrides", tag = "admin", request_body = OverrideBody,
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 200, body = PolicyView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "A bad access or an unknown email (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn set_model_override(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>, body: web::Json<OverrideBody>) -> ApiResult {
    let state = state(&req)?;
    model_policy::set_override(&state, &admin.0.ctx(), &id, &body.email, &body.access).await?;
    Ok(HttpResponse::Ok().json(policy(&req, &id).await?))
}

/// Removes a person's override: their role's setting applies again.
#[utoipa::path(delete, operation_id = "admin_instance_remove_model_override", path = "/api/v1/admin/models/{id}/overrides/{user}", tag = "admin",
    params(("id" = String, Path, description = "The catalog model id"), ("user" = String, Path, description = "The user's id")),
    responses((status = 200, body = PolicyView), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn remove_model_override(req: HttpRequest, admin: ApiAdmin, path: web::Path<(String, String)>) -> ApiResult {
    let state = state(&req)?;
    let (id, user) = path.into_inner();
    let user: UserId = user.parse().map_err(|_| AppError::not_found())?;
    model_policy::remove_override(&state, &admin.0.ctx(), &id, user).await?;
    Ok(HttpResponse::Ok().json(policy(&req, &id).await?))
}

// ---- data use ----

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataUse {
    /// No one's content goes to providers that may train on it; their models are hidden.
    forbid_training: bool,
}

/// The instance-wide data-use setting.
#[utoipa::path(get, operation_id = "admin_instance_data_use", path = "/api/v1/admin/data-use", tag = "admin",
    responses((status = 200, body = DataUse), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn data_use(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    Ok(HttpResponse::Ok().json(DataUse { forbid_training: profile::instance_forbids_training(&state).await? }))
}

/// Sets the instance-wide data-use setting (audited; the privacy notice follows it).
#[utoipa::path(put, operation_id = "admin_instance_set_data_use", path = "/api/v1/admin/data-use", tag = "admin", request_body = DataUse,
    responses((status = 200, body = DataUse), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn set_data_use(req: HttpRequest, admin: ApiAdmin, body: web::Json<DataUse>) -> ApiResult {
    let state = state(&req)?;
    profile::set_instance_forbid_training(&state, &admin.0.ctx(), body.forbid_training).await?;
    Ok(HttpResponse::Ok().json(DataUse { forbid_training: body.forbid_training }))
}

// ---- retention ----

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

// ---- audit ----

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// One action, e.g. `user.created`.
    action: Option<String>,
    /// Text in the actor's or target's name or email.
    who: Option<String>,
    /// A day, `2026-01-31`, inclusive.
    from: Option<String>,
    /// A day, inclusive.
    to: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Events per page, 1-500 (100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// One audit event.
#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    id: String,
    /// RFC 3339, UTC.
    at: String,
    /// Who acted, in words (an email, `anonymous`, `command line`, `reelvault`).
    actor: String,
    /// The acting account's id, when a person acted.
    actor_id: Option<String>,
    #[schema(value_type = String)]
    action: &'static str,
    target: Option<String>,
    client_address: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

impl AuditEventView {
    fn new(e: &AuditEvent) -> Self {
        AuditEventView {
            id: e.id.to_string(),
            at: e.at.rfc3339(),
            actor: e.actor.label(),
            actor_id: match &e.actor {
                Actor::User { id, .. } => Some(id.to_string()),
                _ => None,
            },
            action: e.action.as_str(),
            target: e.target.clone(),
            client_address: e.client.address.clone(),
            user_agent: e.client.user_agent.clone(),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    events: Vec<AuditEventView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// The audit log, newest first, filtered.
#[utoipa::path(get, operation_id = "admin_instance_audit", path = "/api/v1/admin/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn audit(req: HttpRequest, _admin: ApiAdmin, query: web::Query<AuditParams>) -> ApiResult {
    let state = state(&req)?;
    let q = query.into_inner();
    let limit = match q.limit {
        None => 100,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| AppError::bad_parameter("limit", "limit must be a whole number from 1 to 500."))?,
    };
    let filter = AuditQuery {
        action: q.action.unwrap_or_default(),
        who: q.who.unwrap_or_default(),
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        before: q.cursor.unwrap_or_default(),
    }
    .filter()?;
    let (events, next) = audit::list(&state.store, filter, limit).await?;
    let page = AuditPage { events: events.iter().map(AuditEventView::new).collect(), next_cursor: next.map(|id| id.to_string()) };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(page))
}
