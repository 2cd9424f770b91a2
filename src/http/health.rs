//! Liveness and readiness probes (the readiness check itself is `services::team::health`).

use actix_web::{HttpResponse, web};

use crate::services::state::AppState;
pub use crate::services::team::health::READY_DEADLINE;
use crate::services::team::health::{self, Readiness};

/// 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok\n")
}

/// 200 while [`health::ready`] says so; 503 with the reason otherwise. The systemd watchdog
/// pings only while this answers 200 (see [`crate::systemd`]).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let status = match health::ready(&state).await {
        Readiness::Ready { schema } => return HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "schema": schema })),
        Readiness::Starting => "starting",
        Readiness::StoreFailed => "store_failed",
        Readiness::StoreUnresponsive => "store_unresponsive",
    };
    HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": status }))
}
