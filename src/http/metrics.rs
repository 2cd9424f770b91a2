//! `GET /metrics`: Prometheus text for an admin (API token or session), or for a scraper on
//! this machine (a loopback peer whose request no proxy forwarded).

use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use super::auth::ApiCaller;
use super::responses::ApiError;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::services::ServiceError;
use crate::state::AppState;

/// Headers a reverse proxy adds: their presence means the loopback peer is a proxy
/// relaying someone else, who must then authenticate.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

fn from_this_machine(req: &HttpRequest) -> bool {
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback() || a.ip().to_canonical().is_loopback());
    loopback && !forwarded(req.headers())
}

fn forwarded(headers: &HeaderMap) -> bool {
    FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h))
}

pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !from_this_machine(&req) {
        match ApiCaller::extract(&req).await {
            Ok(caller) if caller.user.role == Role::Admin => {}
            Ok(_) => return ApiError(AppError::from(ServiceError::AdminOnly)).error_response(),
            Err(e) => return e.error_response(),
        }
    }
    match crate::metrics::render(&state).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(text),
        Err(e) => ApiError(AppError::from(e)).error_response(),
    }
}
