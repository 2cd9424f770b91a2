//! The instance's background workers: which run, in what order they start (they stop in the
//! reverse order), and the one stop at shutdown.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::task::JoinSet;

use crate::http::slow_heads;
use crate::services::state::AppState;
use crate::services::{notify, privacy::deletion, privacy::erasure, privacy::export, team::webhook_delivery};
use crate::store::SETTLE_EVERY;
use crate::workers::{Worker, WorkerResult};
use crate::{admin_socket, memory, scheduler, systemd};

/// The longest shutdown waits for all the workers together (each may have a shorter grace).
pub const STOP_DEADLINE: Duration = Duration::from_secs(45);

/// How long the systemd watchdog's readiness probe waits for `/readyz`: the probe's own
/// deadline and a margin.
pub const WATCHDOG_PROBE_TIMEOUT: Duration = Duration::from_secs(2).saturating_add(crate::http::health::READY_DEADLINE);
/// How long the admin socket's commands in progress may finish once a stop begins.
const ADMIN_SOCKET_GRACE: Duration = Duration::from_secs(5);
/// How often connections that send their request head too slowly are looked for.
const SLOW_HEADS_EVERY: Duration = Duration::from_secs(1);

/// Starts the "admin-socket" worker: it answers each connection of `listener` on a task of its
/// own, and at a stop takes no more and lets those in progress finish (within its grace).
pub fn start_admin_socket(state: &AppState, listener: UnixListener) {
    let (state, listener) = (state.clone(), Arc::new(listener));
    let worker = Worker::new("admin-socket").grace(ADMIN_SOCKET_GRACE);
    state.clone().workers.spawn(worker, move |ctx| {
        let (state, listener) = (state.clone(), listener.clone());
        async move {
            let mut connections = JoinSet::new();
            ctx.idle();
            loop {
                tokio::select! {
                    accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                        connections.spawn(admin_socket::answer(state.clone(), stream));
                    },
                    Some(_) = connections.join_next() => ctx.ran(),
                    () = ctx.stopped() => break,
                }
            }
            while connections.join_next().await.is_some() {}
            Ok(())
        }
    });
}

/// Stops the admin socket ahead of everything else: a stop takes no more commands.
pub async fn stop_admin_socket(state: &AppState) {
    state.workers.stop("admin-socket", ADMIN_SOCKET_GRACE).await;
}

/// Starts the "slow-heads" worker: once a second it closes the connections that send their
/// request head too slowly, while the server holds `connections`.
pub fn start_slow_heads_sweeper(state: &AppState, connections: Weak<slow_heads::Connections>) {
    state.workers.spawn(Worker::new("slow-heads"), move |ctx| {
        let connections = connections.clone();
        async move {
            ctx.idle();
            while ctx.sleep(SLOW_HEADS_EVERY).await {
                let Some(connections) = connections.upgrade() else { break };
                let stuck = connections.sweep();
                if stuck > 0 {
                    tracing::info!(connections = stuck, "closed connections sending a request head too slowly");
                }
                ctx.ran();
            }
            Ok(())
        }
    });
}

/// Starts the workers every instance runs (tests included): the store settler, the search
/// indexer, webhook delivery, erasures, the scheduler, and the resumption of work a restart
/// interrupted.
pub fn start(state: &AppState) {
    let settler = state.store.settler();
    state.workers.spawn(Worker::new("settler"), move |ctx| {
        let settler = settler.clone();
        async move {
            ctx.idle();
            while ctx.sleep(SETTLE_EVERY).await {
                match settler.settle().await {
                    Ok(true) => ctx.ran(),
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "settling the store failed; the next commit settles it"),
                }
            }
            Ok(())
        }
    });
    state.search.start_indexer(
        &state.workers,
        state.store.clone(),
        crate::services::studio::search::provider_of(state),
        state.config.search.clone(),
    );
    // after the indexer: it stops before it, so the indexer takes the engine's last changes
    state.engine.run_under(&state.workers);
    webhook_delivery::start(state);
    notify::delivery::start(state);
    notify::job_ends::start(state);
    crate::services::studio::batches::runner::start(state);
    erasure::start(state);
    scheduler::start(state);
    let resuming = state.clone();
    state.workers.spawn(Worker::new("resume-deletions"), move |ctx| {
        let state = resuming.clone();
        async move {
            deletion::resume(&state).await.map_err(|e| format!("finishing interrupted deletions failed: {e}"))?;
            erasure::resume(&state).await.map_err(|e| format!("finishing interrupted erasures failed: {e}"))?;
            ctx.ran();
            Ok(())
        }
    });
    let exports = state.clone();
    state.workers.spawn(Worker::new("resume-exports"), move |ctx| {
        let state = exports.clone();
        async move {
            export::resume(&state).await.map_err(|e| format!("resuming interrupted data exports failed: {e}"))?;
            ctx.ran();
            Ok(())
        }
    });
}

/// Starts the workers only a served process runs (not the tests): returning free memory to
/// the system, and the systemd watchdog when systemd watches the process.
pub fn start_host_workers(state: &AppState, listening: std::net::SocketAddr) {
    if memory::TRIMS {
        state.workers.spawn(Worker::new("memory-trim"), |ctx| async move {
            ctx.idle();
            while ctx.sleep(memory::TRIM_EVERY).await {
                tokio::task::spawn_blocking(memory::trim).await.map_err(|e| format!("trimming memory failed: {e}"))?;
                ctx.ran();
            }
            Ok(())
        });
    }
    if let Some(period) = systemd::watchdog_period() {
        let ready_url = systemd::ready_url(listening);
        state.workers.spawn(Worker::new("systemd-watchdog"), move |ctx| {
            let ready_url = ready_url.clone();
            async move {
                ctx.idle();
                let pinged = ctx.clone();
                let ping = move || {
                    systemd::ping_watchdog();
                    pinged.ran();
                };
                tokio::select! {
                    () = systemd::watch(ready_url, period, WATCHDOG_PROBE_TIMEOUT, ping) => {}
                    () = ctx.stopped() => {}
                }
                WorkerResult::Ok(())
            }
        });
    }
}

/// Stops the scheduler (its ticker first) ahead of the engine, as before the workers had a
/// supervisor: no sweep or export starts while the engine winds down.
pub async fn stop_scheduler(state: &AppState) {
    for name in scheduler::WORKERS {
        state.workers.stop(name, STOP_DEADLINE).await;
    }
}

/// Stops the engine's supervisor (every job task with it; they resume at the next start),
/// then its progress recorder, after the scheduler and before the other workers.
pub async fn stop_engine(state: &AppState) {
    for name in ["engine", "progress"] {
        state.workers.stop(name, STOP_DEADLINE).await;
    }
}

/// Stops every worker, the last started first, within [`STOP_DEADLINE`].
pub async fn stop(state: &AppState) {
    let aborted = state.workers.shutdown(STOP_DEADLINE).await;
    if !aborted.is_empty() {
        tracing::warn!(workers = ?aborted, "workers cut off at shutdown; their work continues at the next start");
    }
}
