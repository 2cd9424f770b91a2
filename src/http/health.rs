//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::state::AppState;
use crate::store::migrations;

/// How long the readiness probe waits for its store read before it calls the instance wedged.
pub const READY_DEADLINE: Duration = Duration::from_secs(3);

/// 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok\n")
}

/// 200 once the store is open, migrations are done and the listener is bound, and while a
/// store read made as requests make theirs (on this worker, through its blocking pool)
/// answers within [`READY_DEADLINE`]; 503 otherwise. The systemd watchdog pings only while
/// this answers 200 (see [`crate::systemd`]).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if !state.is_ready() {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "starting" }));
    }
    match tokio::time::timeout(READY_DEADLINE, state.store.read(migrations::version_in)).await {
        Ok(Ok(schema)) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "schema": schema })),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the readiness probe cannot read the store");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "store_failed" }))
        }
        Err(_) => {
            tracing::error!(deadline_ms = READY_DEADLINE.as_millis() as u64, "the readiness probe's store read did not answer in time");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "store_unresponsive" }))
        }
    }
}
