//! `/api/v1/credits`: the caller's balance and their ledger, newest first.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::credits::LedgerEntry;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::team::credits;

/// Entries per page unless `limit` says otherwise, and the most.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// Credits available to spend and held by running jobs.
#[derive(Serialize, ToSchema)]
pub struct BalanceView {
    available: i64,
    held: i64,
}

impl BalanceView {
    pub fn new(b: crate::domain::credits::Balance) -> Self {
        BalanceView { available: b.available, held: b.held }
    }
}

/// The caller's balance.
#[utoipa::path(get, operation_id = "credits_balance", path = "/api/v1/credits", tag = "credits", responses((status = 200, body = BalanceView)))]
pub async fn balance(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let b = credits::balance(&state, caller.user.id).await?;
    Ok(HttpResponse::Ok().json(BalanceView::new(b)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Entries per page, 1-200 (50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// One movement of credits.
#[derive(Serialize, ToSchema)]
pub struct LedgerEntryView {
    id: String,
    /// RFC 3339, UTC.
    at: String,
    /// `grant` (an admin), `hold` (a job started), `settle` (its output is stored), `release` (it failed or was cancelled).
    #[schema(value_type = String)]
    kind: &'static str,
    /// The generation that moved the credits, for holds, settlements and releases.
    generation: Option<String>,
    /// Change to the available credits.
    available_delta: i64,
    /// Change to the held credits.
    held_delta: i64,
    note: Option<String>,
}

impl LedgerEntryView {
    fn new(e: &LedgerEntry) -> Self {
        LedgerEntryView {
            id: e.id.to_string(),
            at: e.at.rfc3339(),
            kind: e.kind.as_str(),
            generation: e.generation.map(|g| g.to_string()),
            available_delta: e.available_delta,
            held_delta: e.held_delta,
            note: e.note.clone(),
        }
    }
}

/// A page of the ledger.
#[derive(Serialize, ToSchema)]
pub struct LedgerPage {
    entries: Vec<LedgerEntryView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// The caller's ledger, newest first.
#[utoipa::path(get, operation_id = "credits_ledger", path = "/api/v1/credits/ledger", tag = "credits", params(LedgerQuery), responses((status = 200, body = LedgerPage)))]
pub async fn ledger(req: HttpRequest, caller: ApiCaller, query: web::Query<LedgerQuery>) -> ApiResult {
    let state = state(&req)?;
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| AppError::bad_parameter("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}.")))?,
    };
    let before = match query.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(c.parse().map_err(|_| AppError::bad_parameter("cursor", "cursor must be the next_cursor of a previous page."))?),
    };
    let (entries, next) = credits::ledger(&state, caller.user.id, before, limit).await?;
    let page = LedgerPage { entries: entries.iter().map(LedgerEntryView::new).collect(), next_cursor: next.map(|id| id.to_string()) };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(page))
}
