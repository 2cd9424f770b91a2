//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};

use crate::state::AppState;
use crate::store::migrations;

/// 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok\n")
}

/// 200 once the store is open, migrations are done and the listener is bound.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "schema": migrations::CURRENT }))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "starting" }))
    }
}
