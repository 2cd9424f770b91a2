//! `GET /metrics`: Prometheus text for an admin (API token or session), or for a scraper at an
//! address listed in `metrics.allow`; nobody else. The counters of `crate::metrics`, then the
//! gauges read now: jobs, credits and stored media (from the store, through services) and the
//! background workers, and the media backend's calls (an object store's latency and errors).

use std::fmt::Write as _;
use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use super::auth::ApiCaller;
use super::client::client_address;
use super::responses::ApiError;
use crate::config::Config;
use crate::domain::user::Role;
use crate::error::AppError;
use crate::metrics::{escape, header};
use crate::services::state::AppState;
use crate::services::{ServiceError, team::figures};
use crate::workers::{Tally, WorkerStatus};

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
    match render(&state).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(text),
        Err(e) => ApiError(AppError::from(e)).error_response(),
    }
}

/// The whole exposition: counters, then gauges read now.
async fn render(state: &AppState) -> Result<String, ServiceError> {
    let figures = figures::read(state).await?;
    let mut out = String::with_capacity(8 * 1024);
    header(&mut out, "reelvault_build_info", "gauge", "The running version");
    let _ = writeln!(out, "reelvault_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    state.metrics.render_counters(&mut out);

    header(&mut out, "reelvault_jobs", "gauge", "Generations not yet finished, by state and provider connection");
    for ((s, kind, connection), n) in &figures.active {
        let _ = writeln!(out, "reelvault_jobs{{state=\"{}\",provider=\"{}\",connection=\"{}\"}} {n}", s, escape(kind), escape(connection));
    }
    header(&mut out, "reelvault_credits", "gauge", "Credits over all accounts: available, and held by running jobs");
    let _ = writeln!(out, "reelvault_credits{{state=\"available\"}} {}", figures.credits_available);
    let _ = writeln!(out, "reelvault_credits{{state=\"held\"}} {}", figures.credits_held);
    header(&mut out, "reelvault_stored_files", "gauge", "Media files in the vault, by kind");
    for kind in ["upload", "output", "poster"] {
        let _ = writeln!(out, "reelvault_stored_files{{kind=\"{kind}\"}} {}", figures.stored.get(kind).map_or(0, |s| s.0));
    }
    header(&mut out, "reelvault_stored_bytes", "gauge", "Media in the vault (plaintext bytes), by kind");
    for kind in ["upload", "output", "poster"] {
        let _ = writeln!(out, "reelvault_stored_bytes{{kind=\"{kind}\"}} {}", figures.stored.get(kind).map_or(0, |s| s.1));
    }
    render_workers(&mut out, &state.workers.status());
    render_bounded(&mut out, &state.workers.bounded().status());
    render_media_backend(&mut out, state);
    Ok(out)
}

/// The media backend in use and, on an object store, its calls: a latency histogram and the
/// errors, by operation.
fn render_media_backend(out: &mut String, state: &AppState) {
    header(out, "reelvault_media_backend_info", "gauge", "Where media are kept: local or s3");
    let _ = writeln!(out, "reelvault_media_backend_info{{backend=\"{}\"}} 1", state.media.backend_name());
    let Some(stats) = state.media.backend_stats() else { return };
    let figures = stats.figures();
    let name = "reelvault_media_backend_request_duration_seconds";
    header(out, name, "histogram", "Calls to the media object store, by operation");
    for f in &figures {
        for (bound, count) in &f.buckets {
            let _ = writeln!(out, "{name}_bucket{{operation=\"{}\",le=\"{bound}\"}} {count}", f.op);
        }
        let _ = writeln!(out, "{name}_bucket{{operation=\"{}\",le=\"+Inf\"}} {}", f.op, f.count);
        let _ = writeln!(out, "{name}_sum{{operation=\"{}\"}} {}", f.op, f.seconds);
        let _ = writeln!(out, "{name}_count{{operation=\"{}\"}} {}", f.op, f.count);
    }
    header(
        out,
        "reelvault_media_backend_errors_total",
        "counter",
        "Calls to the media object store that failed or timed out, by operation",
    );
    for f in &figures {
        let _ = writeln!(out, "reelvault_media_backend_errors_total{{operation=\"{}\"}} {}", f.op, f.errors);
    }
}

/// Bounded work (archives, exports, backups): how many run now and how many have finished.
fn render_bounded(out: &mut String, tallies: &[Tally]) {
    header(out, "reelvault_bounded_work_running", "gauge", "Archives, exports and backups being written now, by kind");
    for t in tallies {
        let _ = writeln!(out, "reelvault_bounded_work_running{{kind=\"{}\"}} {}", escape(t.kind), t.running);
    }
    header(out, "reelvault_bounded_work_finished_total", "counter", "Archives, exports and backups finished since the start, by kind");
    for t in tallies {
        let _ = writeln!(out, "reelvault_bounded_work_finished_total{{kind=\"{}\"}} {}", escape(t.kind), t.finished);
    }
}

/// Per background worker: up or not, restarts, and when it last finished a round of work.
fn render_workers(out: &mut String, workers: &[WorkerStatus]) {
    header(out, "reelvault_worker_up", "gauge", "1 while a background worker runs or waits for work, 0 otherwise");
    for w in workers {
        let _ = writeln!(out, "reelvault_worker_up{{worker=\"{}\"}} {}", escape(w.name), u8::from(w.state.is_up()));
    }
    header(out, "reelvault_worker_restarts_total", "counter", "Times a background worker was started again after failing");
    for w in workers {
        let _ = writeln!(out, "reelvault_worker_restarts_total{{worker=\"{}\"}} {}", escape(w.name), w.restarts);
    }
    header(
        out,
        "reelvault_worker_last_run_timestamp_seconds",
        "gauge",
        "When a background worker last finished a round of work (Unix time)",
    );
    for w in workers {
        let seconds = w.last_run_at.map_or(0.0, |at| at.millis() as f64 / 1000.0);
        let _ = writeln!(out, "reelvault_worker_last_run_timestamp_seconds{{worker=\"{}\"}} {seconds}", escape(w.name));
    }
}
