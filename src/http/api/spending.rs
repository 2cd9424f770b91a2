//! Allowances, spend limits and approvals in the API: where the caller stands
//! (`/me/allowance`), the admins' settings (`/admin/spending`) and the approvals queue
//! (`/approvals`).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::generations::view;
use super::openapi::ErrorBody;
use super::views::{ApprovalView, GenerationView};
use crate::domain::approval::Verdict;
use crate::domain::ids::GenerationId;
use crate::domain::spending::SpendingSettings;
use crate::domain::time::Timestamp;
use crate::http::auth::{ApiAdmin, ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::studio::approvals;
use crate::services::team::spending::{self, DayStanding};

/// Spend today against a daily limit.
#[derive(Serialize, ToSchema)]
pub struct DayView {
    /// The model, for a per-model limit.
    model: Option<String>,
    limit: u64,
    /// Credits held or settled today (released holds do not count).
    spent: u64,
    /// RFC 3339, UTC: the next midnight in the spending zone.
    resets_at: String,
}

impl DayView {
    fn new(model: Option<String>, d: &DayStanding) -> Self {
        DayView { model, limit: d.limit, spent: d.spent, resets_at: d.resets_at.rfc3339() }
    }
}

/// This month's allowance.
#[derive(Serialize, ToSchema)]
pub struct MonthView {
    /// Credits granted each month.
    monthly: u64,
    /// Unused credits that may carry over into the next month.
    rollover_cap: u64,
    /// Credits available now.
    left: i64,
    /// Credits available right after this month's renewal (the allowance until it ran).
    of: i64,
    /// Whether this month's allowance was granted yet.
    granted: bool,
    /// RFC 3339, UTC: the start of next month in the spending zone.
    renews_at: String,
}

/// Where the caller stands this month and today.
#[derive(Serialize, ToSchema)]
pub struct StandingView {
    /// `null` without a monthly allowance.
    allowance: Option<MonthView>,
    /// `null` without a daily limit.
    daily: Option<DayView>,
    /// Today's spend on each model with a daily limit.
    models: Vec<DayView>,
    /// The IANA zone months and days are counted in.
    zone: String,
}

/// The caller's allowance this month and their spend today against their daily limits.
#[utoipa::path(get, operation_id = "me_allowance", path = "/api/v1/me/allowance", tag = "account", responses((status = 200, body = StandingView)))]
pub async fn standing(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let s = spending::standing(&state, &caller.user, Timestamp::now()).await?;
    Ok(HttpResponse::Ok().json(StandingView {
        allowance: s.allowance.map(|a| MonthView {
            monthly: a.monthly,
            rollover_cap: a.rollover_cap,
            left: a.left,
            of: a.of,
            granted: a.granted,
            renews_at: a.renews_at.rfc3339(),
        }),
        daily: s.daily.as_ref().map(|d| DayView::new(None, d)),
        models: s.models.iter().map(|(m, d)| DayView::new(Some(m.clone()), d)).collect(),
        zone: s.zone,
    }))
}

/// Credits granted each month and the carry-over cap.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct AllowanceSchema {
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    monthly: u64,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    rollover_cap: u64,
}

/// A value for each role (`null`: none).
#[derive(Deserialize, Serialize, ToSchema)]
pub struct RoleAllowancesSchema {
    admin: Option<AllowanceSchema>,
    member: Option<AllowanceSchema>,
}

/// An amount for each role (`null`: none).
#[derive(Deserialize, Serialize, ToSchema)]
pub struct RoleAmountsSchema {
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    admin: Option<u64>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    member: Option<u64>,
}

/// The spending rules (the document's shape of what `PUT` takes and both answer).
#[derive(Deserialize, Serialize, ToSchema)]
pub struct SpendingSchema {
    /// The IANA zone months and days are counted in (`UTC`).
    zone: String,
    /// Monthly allowance by role.
    allowance: RoleAllowancesSchema,
    /// Per-person allowances by user id, replacing their role's.
    person_allowance: BTreeMap<String, AllowanceSchema>,
    /// Credits a person may spend a day, by role.
    daily_limit: RoleAmountsSchema,
    /// Per-person daily limits by user id, replacing their role's.
    person_daily_limit: BTreeMap<String, u64>,
    /// Credits a person may spend a day on one model, by model id.
    model_daily_limit: BTreeMap<String, u64>,
    /// A job costing more than this waits for an approver, by role.
    approval_above: RoleAmountsSchema,
    /// The same by model id (the lower of the two applies).
    model_approval_above: BTreeMap<String, u64>,
    /// User ids of the people who may answer approval requests besides the admins.
    approvers: Vec<String>,
    /// Hours an unanswered request waits before it expires (1-2160).
    #[schema(minimum = 1, maximum = 2160)]
    approval_expiry_hours: u32,
}

/// The allowances, spend limits and approval rules.
#[utoipa::path(get, operation_id = "admin_spending_show", path = "/api/v1/admin/spending", tag = "admin",
    responses(
        (status = 200, body = SpendingSchema),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
    ))]
pub async fn settings(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    Ok(HttpResponse::Ok().json(spending::settings(&state).await?))
}

/// Replaces the allowances, spend limits and approval rules (every field, as `GET` shows them).
#[utoipa::path(put, operation_id = "admin_spending_save", path = "/api/v1/admin/spending", tag = "admin", request_body = SpendingSchema,
    responses(
        (status = 200, body = SpendingSchema),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "An unknown zone or person, or an amount out of range (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn save_settings(req: HttpRequest, admin: ApiAdmin, body: web::Json<SpendingSettings>) -> ApiResult {
    let state = state(&req)?;
    let saved = spending::save_settings(&state, &admin.0.ctx(), &admin.0.user, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// The requester of a waiting job.
#[derive(Serialize, ToSchema)]
pub struct RequesterView {
    id: String,
    email: String,
    name: String,
}

/// One request in the approvals queue.
#[derive(Serialize, ToSchema)]
pub struct PendingView<'a> {
    generation: GenerationView<'a>,
    /// `null` when the account is gone.
    requester: Option<RequesterView>,
    approval: ApprovalView,
}

/// The approval requests waiting for an answer, oldest first (approvers only).
#[utoipa::path(get, operation_id = "approvals_list", path = "/api/v1/approvals", tag = "approvals",
    responses(
        (status = 200, description = "`{\"data\": [request…]}`", body = Object),
        (status = 403, description = "Not an approver (`approval.not_approver`)", body = ErrorBody),
    ))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let waiting = approvals::pending(&state, &caller.user).await?;
    let data: Vec<PendingView> = waiting
        .iter()
        .map(|p| PendingView {
            generation: GenerationView::new(&state, &p.generation, &[]),
            requester: p.requester.as_ref().map(|u| RequesterView {
                id: u.id.to_string(),
                email: u.email.to_string(),
                name: u.name.clone(),
            }),
            approval: ApprovalView::new(&p.approval),
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "data": data })))
}

/// An approver's answer.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// Shown to the requester (at most 1,000 characters).
    #[schema(max_length = 1000)]
    note: Option<String>,
}

/// Approves a waiting job: it is queued and runs; the requester is told.
#[utoipa::path(post, operation_id = "approvals_approve", path = "/api/v1/approvals/{id}/approve", tag = "approvals", request_body = AnswerBody,
    params(("id" = String, Path, description = "The generation's id")),
    responses(
        (status = 200, body = GenerationView),
        (status = 403, description = "Not an approver (`approval.not_approver`), or a member's own request (`approval.own_request`)", body = ErrorBody),
        (status = 404, description = "No such request (`not_found`)", body = ErrorBody),
        (status = 409, description = "Already answered, cancelled or expired (`conflict`)", body = ErrorBody),
        (status = 422, description = "The note is too long (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn approve(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>, body: Option<web::Json<AnswerBody>>) -> ApiResult {
    answer(req, caller, id.into_inner(), body, Verdict::Approved).await
}

/// Declines a waiting job with an optional note: it fails and its hold is released.
#[utoipa::path(post, operation_id = "approvals_decline", path = "/api/v1/approvals/{id}/decline", tag = "approvals", request_body = AnswerBody,
    params(("id" = String, Path, description = "The generation's id")),
    responses(
        (status = 200, body = GenerationView),
        (status = 403, description = "Not an approver (`approval.not_approver`), or a member's own request (`approval.own_request`)", body = ErrorBody),
        (status = 404, description = "No such request (`not_found`)", body = ErrorBody),
        (status = 409, description = "Already answered, cancelled or expired (`conflict`)", body = ErrorBody),
        (status = 422, description = "The note is too long (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn decline(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>, body: Option<web::Json<AnswerBody>>) -> ApiResult {
    answer(req, caller, id.into_inner(), body, Verdict::Declined).await
}

/// Records the caller's answer; the generation as it is then.
async fn answer(req: HttpRequest, caller: ApiCaller, id: GenerationId, body: Option<web::Json<AnswerBody>>, verdict: Verdict) -> ApiResult {
    let state = state(&req)?;
    let note = body.map(|b| b.into_inner()).unwrap_or_default().note;
    let g = approvals::answer(&state, &caller.ctx(), &caller.user, id, verdict, note).await?;
    Ok(HttpResponse::Ok().json(view(&state, &g).await?))
}
