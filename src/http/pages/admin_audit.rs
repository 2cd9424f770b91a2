//! The audit log page for admins, with filters by action, person and date.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::ids::AuditId;
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::auth::{Admin, state};
use crate::http::responses::{PageResult, ok};
use crate::services::audit::{self, AuditFilter};

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
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    who: String,
    /// yyyy-mm-dd, inclusive.
    #[serde(default)]
    from: String,
    /// yyyy-mm-dd, inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

impl AuditPage {
    fn selected(&self, action: &str) -> bool {
        self.query.action == action
    }
}

impl AuditQuery {
    /// The query string of the next page.
    fn next_url(&self, before: AuditId) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &self.action)
            .append_pair("who", &self.who)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .append_pair("before", &before.to_string())
            .finish();
        format!("/admin/audit?{q}")
    }
}

/// Parses a `yyyy-mm-dd` day into its first (or last) millisecond, UTC.
fn parse_day(text: &str, end_of_day: bool) -> Result<Option<Timestamp>, AppError> {
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
    let action = match query.action.trim() {
        "" => None,
        name => Some(AuditAction::parse(name).ok_or_else(|| AppError::bad_request("Unknown action filter."))?),
    };
    let before = match query.before.trim() {
        "" => None,
        id => Some(id.parse::<AuditId>().map_err(|_| AppError::bad_request("Malformed page cursor."))?),
    };
    let filter =
        AuditFilter { action, who: Some(query.who.clone()), from: parse_day(&query.from, false)?, to: parse_day(&query.to, true)?, before };
    let (events, next) = audit::list(&state.store, filter, PAGE_SIZE).await?;
    let next = next.map(|id| query.next_url(id));
    let actions = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    ok(&req, &AuditPage { layout: Layout::new(&req, Some(&admin.0.user)), events, actions, query, next })
}
