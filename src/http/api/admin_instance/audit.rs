//! The audit log, filtered and paged.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::audit::{Actor, AuditEvent};
use crate::error::AppError;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::pages::admin_audit::AuditQuery;
use crate::http::responses::ApiResult;
use crate::services::privacy::audit;

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
    let (events, next) = audit::list(&state, filter, limit).await?;
    let page = AuditPage { events: events.iter().map(AuditEventView::new).collect(), next_cursor: next.map(|id| id.to_string()) };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(page))
}
