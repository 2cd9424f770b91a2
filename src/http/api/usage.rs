//! `GET /api/v1/usage`: where the credits went over a range of days, as JSON or (with
//! `format=csv`) as CSV rows of one group. The Usage page reads the same parameters.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiCaller, state};
use crate::http::lang;
use crate::http::responses::ApiResult;
use crate::services::team::usage::{self, DayRange, Group, Scope, Usage};

/// The range, whose usage, and (for CSV) which rows.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// The first day, `2026-01-31`, in the caller's time zone (30 days before `to` when absent).
    pub from: Option<String>,
    /// The last day, inclusive (today when absent). At most 366 days after `from`.
    pub to: Option<String>,
    /// Admins: one person's id (everyone when absent). Members may name only themselves.
    pub person: Option<String>,
    /// CSV rows: `day` (the default), `model`, `provider`, `person` or `failure`.
    pub group: Option<String>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

fn given(o: &Option<String>) -> &str {
    o.as_deref().map(str::trim).unwrap_or("")
}

fn day(parameter: &str, text: &str) -> Result<Option<time::Date>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(Some)
        .map_err(|_| AppError::bad_parameter(parameter, format!("{parameter} must be a day like 2026-01-31.")))
}

impl UsageParams {
    /// The range asked for, in the caller's zone; bad input is a 400 naming the parameter.
    pub fn range(&self, zone: &'static crate::i18n::Zone) -> Result<DayRange, AppError> {
        let recent = DayRange::recent(zone, Timestamp::now());
        let to = day("to", given(&self.to))?.unwrap_or(recent.to);
        let from = day("from", given(&self.from))?.unwrap_or(to - time::Duration::days(usage::DEFAULT_DAYS - 1));
        DayRange::new(from, to, zone).map_err(|message| AppError::bad_parameter("from", message))
    }

    /// The person asked for (400 for a malformed id).
    pub fn person(&self) -> Result<Option<UserId>, AppError> {
        match given(&self.person) {
            "" => Ok(None),
            id => id.parse().map(Some).map_err(|_| AppError::bad_parameter("person", "person must be a user id.")),
        }
    }

    /// The CSV group asked for.
    pub fn group(&self) -> Result<Group, AppError> {
        Group::parse(given(&self.group))
            .ok_or_else(|| AppError::bad_parameter("group", "group must be day, model, provider, person or failure."))
    }

    /// Whether CSV is asked for.
    fn csv(&self) -> Result<bool, AppError> {
        match given(&self.format) {
            "" | "json" => Ok(false),
            "csv" => Ok(true),
            _ => Err(AppError::bad_parameter("format", "format must be json or csv.")),
        }
    }

    /// The report `viewer` may read for these parameters.
    pub async fn report(&self, req: &HttpRequest, viewer: &User) -> Result<Usage, AppError> {
        let state = state(req)?;
        let range = self.range(lang::zone(req))?;
        let scope = usage::scope_for(viewer, self.person()?)?;
        Ok(usage::report(&state, range, scope).await?)
    }
}

/// The CSV download the API and the Usage page both answer with.
pub async fn csv_download(req: &HttpRequest, viewer: &User, params: &UsageParams) -> Result<HttpResponse, AppError> {
    let group = params.group()?;
    let report = params.report(req, viewer).await?;
    let name = format!("reelvault-usage-{}-{}-{}.csv", group.as_str(), report.range.from, report.range.to);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(usage::csv(&report, group)))
}

/// Credits and generations under one key.
#[derive(Serialize, ToSchema)]
pub struct SpentView {
    /// A model id, a provider, or a person's id.
    key: String,
    /// The model's label, the provider, or the person's name and address.
    label: String,
    generations: u64,
    credits: u64,
}

/// Credits spent on one day.
#[derive(Serialize, ToSchema)]
pub struct DayView {
    /// `2026-01-31`, in the caller's time zone.
    day: String,
    credits: u64,
}

/// Failed generations of one provider for one reason.
#[derive(Serialize, ToSchema)]
pub struct FailureView {
    provider: String,
    /// The failure's code (`provider.auth`, `timeout` …).
    reason: String,
    count: u64,
}

/// A model's estimate against what its provider reported (generations with a reported cost).
#[derive(Serialize, ToSchema)]
pub struct EstimateView {
    model: String,
    generations: u64,
    estimate_credits: u64,
    reported_cents: f64,
}

/// Where the credits went.
#[derive(Serialize, ToSchema)]
pub struct UsageView {
    from: String,
    to: String,
    /// The time zone the days are in.
    time_zone: String,
    /// The person shown, or null for everyone.
    person: Option<String>,
    total_credits: u64,
    /// Succeeded generations (the ones charged).
    total_generations: u64,
    /// More generations were created in the range than one report reads: the oldest count.
    partial: bool,
    by_day: Vec<DayView>,
    by_model: Vec<SpentView>,
    by_provider: Vec<SpentView>,
    by_person: Vec<SpentView>,
    failures: Vec<FailureView>,
    estimates: Vec<EstimateView>,
}

impl UsageView {
    fn new(u: &Usage) -> UsageView {
        let spent = |rows: &[usage::Spent]| {
            rows.iter()
                .map(|r| SpentView { key: r.key.clone(), label: r.label.clone(), generations: r.generations, credits: r.credits })
                .collect()
        };
        UsageView {
            from: u.range.from.to_string(),
            to: u.range.to.to_string(),
            time_zone: u.range.zone.name().to_string(),
            person: match u.scope {
                Scope::Everyone => None,
                Scope::Person(p) => Some(p.to_string()),
            },
            total_credits: u.total_credits,
            total_generations: u.total_generations,
            partial: u.partial,
            by_day: u.by_day.iter().map(|(d, c)| DayView { day: d.to_string(), credits: *c }).collect(),
            by_model: spent(&u.by_model),
            by_provider: spent(&u.by_provider),
            by_person: spent(&u.by_person),
            failures: u
                .failures
                .iter()
                .map(|f| FailureView { provider: f.provider.clone(), reason: f.reason.clone(), count: f.count })
                .collect(),
            estimates: u
                .estimates
                .iter()
                .map(|e| EstimateView {
                    model: e.model.clone(),
                    generations: e.generations,
                    estimate_credits: e.estimate_credits,
                    reported_cents: e.reported_cents,
                })
                .collect(),
        }
    }
}

/// Credits spent (succeeded generations) by day, model, provider and person, failures by
/// provider and reason, and estimates against reported costs, over a range of days.
#[utoipa::path(get, operation_id = "usage", path = "/api/v1/usage", tag = "credits", params(UsageParams),
    responses(
        (status = 200, description = "The report (or, with `format=csv`, the CSV rows of `group`)",
            content((UsageView = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A bad parameter (`invalid_parameter`)", body = ErrorBody),
        (status = 403, description = "A member asked for someone else (`auth.admin_only`)", body = ErrorBody),
    ))]
pub async fn show(req: HttpRequest, caller: ApiCaller, query: web::Query<UsageParams>) -> ApiResult {
    let params = query.into_inner();
    params.group()?;
    if params.csv()? {
        return Ok(csv_download(&req, &caller.user, &params).await?);
    }
    let report = params.report(&req, &caller.user).await?;
    Ok(HttpResponse::Ok().json(UsageView::new(&report)))
}
