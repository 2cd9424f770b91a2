//! `GET /api/v1/me`: who the caller is.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::auth::ApiCaller;
use crate::http::responses::ApiResult;

#[derive(Serialize, ToSchema)]
pub struct Me<'a> {
    id: String,
    email: &'a str,
    name: &'a str,
    /// `admin` or `member`.
    role: &'a str,
    /// RFC 3339, UTC.
    created_at: String,
}

/// Who the caller is.
#[utoipa::path(get, operation_id = "me_show", path = "/api/v1/me", tag = "account", responses((status = 200, body = Me)))]
pub async fn show(caller: ApiCaller) -> ApiResult {
    let u = &caller.user;
    Ok(HttpResponse::Ok().json(Me {
        id: u.id.to_string(),
        email: u.email.as_str(),
        name: &u.name,
        role: u.role.as_str(),
        created_at: u.created_at.rfc3339(),
    }))
}
