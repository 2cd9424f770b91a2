//! Progress reports, coalesced: polling jobs note their latest progress here, and one
//! advisory write transaction about once a second records every change at once (progress is
//! advisory; one transaction per report would dominate the cost of polling many jobs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::domain::ids::GenerationId;
use crate::lifecycle::Lifecycle;

/// How long reports gather before they are written together.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The latest unrecorded progress of each job.
#[derive(Default)]
pub struct ProgressBoard {
    pending: Mutex<HashMap<GenerationId, u8>>,
    wake: Notify,
}

impl ProgressBoard {
    /// Notes `id`'s latest progress; it is recorded with the next flush.
    pub fn note(&self, id: GenerationId, progress: u8) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(id, progress);
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<(GenerationId, u8)> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).drain().collect()
    }
}

/// Records noted progress, at most once per [`FLUSH_EVERY`], until the task is aborted.
pub async fn flush_loop(board: Arc<ProgressBoard>, lifecycle: Lifecycle) {
    loop {
        board.wake.notified().await;
        tokio::time::sleep(FLUSH_EVERY).await;
        let batch = board.take();
        if batch.is_empty() {
            continue;
        }
        if let Err(e) = lifecycle.progress(batch).await {
            tracing::warn!(error = %e, "recording progress failed; the next report will try again");
        }
    }
}
