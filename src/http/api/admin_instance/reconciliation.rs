//! Estimates against what providers reported, per model, as JSON and as CSV (the admin page
//! `/admin/reconciliation` reads the same parameters and downloads the same CSV).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::pages::admin_audit::parse_day;
use crate::http::responses::ApiResult;
use crate::services::team::reconciliation::{
    self, DEFAULT_DAYS, MAX_DAYS, ModelReconciliation, NOTABLE_DRIFT_PERCENT, Period, Reconciliation,
};

/// The period (and, for CSV, the rows) of a reconciliation.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationParams {
    /// The last this many days, 1-366 (30); not with `from`. (Empty, as the page's form sends
    /// it, is the default.)
    #[param(value_type = Option<i64>, minimum = 1, maximum = 366)]
    pub days: Option<String>,
    /// The first day, `2026-01-31`, inclusive.
    pub from: Option<String>,
    /// The last day, inclusive (today when `from` is given alone).
    pub to: Option<String>,
    /// CSV only: one row per `model` (the default) or per `generation`.
    pub per: Option<String>,
}

impl ReconciliationParams {
    /// The period asked for; bad input is a 400 naming the parameter.
    pub fn period(&self, now: Timestamp) -> Result<Period, AppError> {
        let text = |o: &Option<String>| o.as_deref().unwrap_or("").trim().to_string();
        let (from, to) = (parse_day(&text(&self.from), false)?, parse_day(&text(&self.to), true)?);
        let days = match text(&self.days).as_str() {
            "" => None,
            n => Some(
                n.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_DAYS).contains(n))
                    .ok_or_else(|| AppError::bad_parameter("days", format!("days must be a whole number from 1 to {MAX_DAYS}.")))?,
            ),
        };
        let Some(from) = from else {
            if to.is_some() {
                return Err(AppError::bad_parameter("to", "to needs a from; or ask for the last days with days."));
            }
            return Ok(Period::last_days(days.unwrap_or(DEFAULT_DAYS), now));
        };
        if days.is_some() {
            return Err(AppError::bad_parameter("days", "Give either days or from and to, not both."));
        }
        let to = to.unwrap_or(now);
        if to < from {
            return Err(AppError::bad_parameter("to", "to must not be before from."));
        }
        if to.millis() - from.millis() > i64::from(MAX_DAYS) * 86_400_000 {
            return Err(AppError::bad_parameter("from", format!("A period is at most {MAX_DAYS} days.")));
        }
        Ok(Period { from, to })
    }

    /// Whether the CSV has a row per generation rather than per model.
    fn per_generation(&self) -> Result<bool, AppError> {
        match self.per.as_deref().map(str::trim) {
            None | Some("" | "model") => Ok(false),
            Some("generation") => Ok(true),
            Some(_) => Err(AppError::bad_parameter("per", "per must be model or generation.")),
        }
    }
}

/// One model's estimate against what its provider reported.
#[derive(Serialize, ToSchema)]
pub struct ModelReconciliationView {
    /// The catalog id.
    model: String,
    /// As the newest generation's snapshot names it (empty for older generations).
    label: String,
    provider_kind: String,
    /// Succeeded generations in the period.
    generations: u64,
    /// Those the provider reported anything about.
    reported: u64,
    /// Those whose report states a cost.
    with_cost: u64,
    /// The estimate of every succeeded generation, in credits (1 credit = 1 US cent).
    estimate_credits: u64,
    /// The estimate of the generations whose report states a cost: what `reported_cents` is compared with.
    estimate_credits_with_cost: u64,
    /// What the provider reported it charged, in US cents; `null` when no report states a cost.
    reported_cents: Option<f64>,
    /// (estimate − reported) / reported, in percent; `null` without a reported cost.
    drift_percent: Option<f64>,
    /// Whether |drift| is over `notable_drift_percent`.
    drift_notable: bool,
    /// Reported units per unit, e.g. `{"seconds": 312.5}`.
    units: BTreeMap<String, f64>,
}

impl ModelReconciliationView {
    fn new(m: &ModelReconciliation) -> Self {
        ModelReconciliationView {
            model: m.model.clone(),
            label: m.label.clone(),
            provider_kind: m.provider_kind.clone(),
            generations: m.generations,
            reported: m.reported,
            with_cost: m.with_cost,
            estimate_credits: m.estimate_credits,
            estimate_credits_with_cost: m.estimate_with_cost_credits,
            reported_cents: (m.with_cost > 0).then_some(m.reported_cents),
            drift_percent: m.drift_percent(),
            drift_notable: m.drift_is_notable(),
            units: m.units.clone(),
        }
    }
}

/// Estimates against reports over a period, per model.
#[derive(Serialize, ToSchema)]
pub struct ReconciliationView {
    /// The period's start and end, RFC 3339 (by when generations were created).
    from: String,
    to: String,
    /// More generations were created in the period than one report reads: the oldest are counted.
    partial: bool,
    /// The drift, in percent either way, from which a model is flagged.
    notable_drift_percent: f64,
    models: Vec<ModelReconciliationView>,
}

/// Per model, the estimate of succeeded generations against what the provider reported.
#[utoipa::path(get, operation_id = "admin_instance_reconciliation", path = "/api/v1/admin/reconciliation", tag = "admin",
    params(ReconciliationParams),
    responses((status = 200, body = ReconciliationView), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn reconciliation(req: HttpRequest, _admin: ApiAdmin, query: web::Query<ReconciliationParams>) -> ApiResult {
    let state = state(&req)?;
    let period = query.period(Timestamp::now())?;
    let report = reconciliation::report(&state, period).await?;
    let view = ReconciliationView {
        from: report.period.from.rfc3339(),
        to: report.period.to.rfc3339(),
        partial: report.partial,
        notable_drift_percent: NOTABLE_DRIFT_PERCENT,
        models: report.models.iter().map(ModelReconciliationView::new).collect(),
    };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view))
}

/// The same as CSV: one row per model, or per generation with `per=generation`.
#[utoipa::path(get, operation_id = "admin_instance_reconciliation_csv", path = "/api/v1/admin/reconciliation.csv", tag = "admin",
    params(ReconciliationParams),
    responses((status = 200, description = "RFC 4180 CSV, a header row first; cells a spreadsheet would read as a formula start with `'`",
        content_type = "text/csv", body = String),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn reconciliation_csv(req: HttpRequest, _admin: ApiAdmin, query: web::Query<ReconciliationParams>) -> ApiResult {
    Ok(csv_download(&req, &query).await?)
}

/// The CSV download the API and the admin page both answer with.
pub async fn csv_download(req: &HttpRequest, params: &ReconciliationParams) -> Result<HttpResponse, AppError> {
    let state = state(req)?;
    let period = params.period(Timestamp::now())?;
    let per_generation = params.per_generation()?;
    let report: Reconciliation = reconciliation::report(&state, period).await?;
    let (body, rows) = if per_generation {
        (reconciliation::generations_csv(&report), "generations")
    } else {
        (reconciliation::models_csv(&report), "models")
    };
    let day = |t: Timestamp| t.rfc3339().get(..10).unwrap_or("day").to_string();
    let name = format!("reelvault-reconciliation-{rows}-{}-{}.csv", day(period.from), day(period.to));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
