//! The audit log page for admins, with filters by action, person and date, and the same
//! filtered log as a streamed CSV download.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::ids::AuditId;
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::auth::{Admin, state};
use crate::http::responses::{PageResult, ok};
use crate::services::privacy::audit::{self, AuditFilter};
use crate::services::privacy::audit_csv;
use crate::urls::Urls;

/// Events per page.
const PAGE_SIZE: usize = 100;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    events: Vec<AuditEvent>,
    actions: Vec<&'static str>,
    query: AuditQuery,
    next: Option<String>,
    /// The CSV export of what the filters select.
    csv: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) who: String,
    /// yyyy-mm-dd, inclusive.
    #[serde(default)]
    pub(crate) from: String,
    /// yyyy-mm-dd, inclusive.
    #[serde(default)]
    pub(crate) to: String,
    #[serde(default)]
    pub(crate) before: String,
}

impl AuditPage {
    fn selected(&self, action: &str) -> bool {
        self.query.action == action
    }
}

impl AuditQuery {
    /// The filters as a query string, with `before` when given.
    fn query_string(&self, before: Option<AuditId>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("action", &self.action).append_pair("who", &self.who).append_pair("from", &self.from).append_pair("to", &self.to);
        if let Some(before) = before {
            q.append_pair("before", &before.to_string());
        }
        q.finish()
    }

    /// The URL of the next page.
    fn next_url(&self, urls: &Urls, before: AuditId) -> String {
        format!("{}?{}", urls.admin_audit(), self.query_string(Some(before)))
    }

    /// The URL of the CSV export of every event the filters select (all pages).
    fn csv_url(&self, urls: &Urls) -> String {
        format!("{}?{}", urls.admin_audit_csv(), self.query_string(None))
    }

    /// The filters, parsed; bad input is a 400 that says which (also the API's).
    pub(crate) fn filter(&self) -> Result<AuditFilter, AppError> {
        let action = match self.action.trim() {
            "" => None,
            name => Some(AuditAction::parse(name).ok_or_else(|| AppError::bad_request("Unknown action filter."))?),
        };
        let before = match self.before.trim() {
            "" => None,
            id => Some(id.parse::<AuditId>().map_err(|_| AppError::bad_request("Malformed page cursor."))?),
        };
        Ok(AuditFilter { action, who: Some(self.who.clone()), from: parse_day(&self.from, false)?, to: parse_day(&self.to, true)?, before })
    }
}

/// Parses a `yyyy-mm-dd` day into its first (or last) millisecond, UTC.
pub(crate) fn parse_day(text: &str, end_of_day: bool) -> Result<Option<Timestamp>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).map_err(|_| AppError::bad_request("Dates must look like 2026-11-25."))?;
    let start = date.midnight().assume_utc().unix_timestamp() * 1000;
    Ok(Some(Timestamp(if end_of_day { start + 86_400_000 - 1 } else { start })))
}

pub async fn show(req: HttpRequest, admin: Admin, query: web::Query<AuditQuery>) -> PageResult {
    let state = state(&req)?;
    let query = query.into_inner();
    let filter = query.filter()?;
    let (events, next) = audit::list(&state, filter, PAGE_SIZE).await?;
    let layout = Layout::new(&req, Some(&admin.0.user));
    let next = next.map(|id| query.next_url(&layout.urls, id));
    let csv = query.csv_url(&layout.urls);
    let actions = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    ok(&req, &AuditPage { layout, events, actions, query, next, csv })
}

/// `GET /admin/audit.csv`: every event the filters select, newest first, as a CSV download
/// streamed from the store page by page.
pub async fn export_csv(req: HttpRequest, _admin: Admin, query: web::Query<AuditQuery>) -> PageResult {
    let state = state(&req)?;
    let mut filter = query.filter()?;
    filter.before = None;
    let day = Timestamp::now().rfc3339().get(..10).unwrap_or("log").to_string();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"reelvault-audit-{day}.csv\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(audit_csv::stream(&state, filter)))
}
