//! `GET /metrics`: Prometheus text for an admin (API token or session), or for a scraper at an
//! address listed in `metrics.allow`; nobody else.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use super::auth::ApiCaller;
use super::client::client_address;
use super::responses::ApiError;
use crate::config::Config;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::services::ServiceError;
use crate::state::AppState;

/// Headers a reverse proxy adds: from a peer that is not a trusted proxy they mean the peer
/// relays someone else, whose address is unknown, so the request must authenticate.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// Whether the request comes from an address `metrics.allow` lists: the peer, or behind a
/// trusted proxy the client its `X-Forwarded-For` names. A request relayed any other way
/// (an untrusted peer, or only `Forwarded` / `X-Real-IP`) has no address that counts.
fn from_allowed_address(req: &HttpRequest, config: &Config) -> bool {
    if config.metrics.allow.is_empty() {
        return false;
    }
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else { return false };
    let relayed = FORWARDING_HEADERS.iter().any(|h| req.headers().contains_key(*h));
    let established = config.trusted_proxies.contains(&peer) && req.headers().contains_key("x-forwarded-for");
    if relayed && !established {
        return false;
    }
    let Some(client) = client_address(req, &config.trusted_proxies) else { return false };
    config.metrics.allow.iter().any(|allowed| same_address(*allowed, client))
}

/// `::ffff:127.0.0.1` is `127.0.0.1`.
fn same_address(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The metrics, or 401 (no credential), 403 (not an admin).
pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !from_allowed_address(&req, &state.config) {
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
