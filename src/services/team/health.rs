//! Readiness: whether the instance has started and its store answers a read in time.

use std::time::Duration;

use crate::services::state::AppState;
use crate::store::migrations;

/// How long the readiness check waits for its store read before it calls the instance wedged.
pub const READY_DEADLINE: Duration = Duration::from_secs(3);

/// What the readiness check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Still starting: the store is opening, migrations run or the listener is not bound.
    Starting,
    /// Serving, at this schema version.
    Ready { schema: u32 },
    /// The store read failed.
    StoreFailed,
    /// The store read did not answer within [`READY_DEADLINE`].
    StoreUnresponsive,
}

/// Ready once the store is open, migrations are done and the listener is bound, and while a
/// store read made as requests make theirs (on this worker, through its blocking pool)
/// answers within [`READY_DEADLINE`].
pub async fn ready(state: &AppState) -> Readiness {
    if !state.is_ready() {
        return Readiness::Starting;
    }
    match tokio::time::timeout(READY_DEADLINE, state.store.read(migrations::version_in)).await {
        Ok(Ok(schema)) => Readiness::Ready { schema },
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the readiness probe cannot read the store");
            Readiness::StoreFailed
        }
        Err(_) => {
            tracing::error!(deadline_ms = READY_DEADLINE.as_millis() as u64, "the readiness probe's store read did not answer in time");
            Readiness::StoreUnresponsive
        }
    }
}
