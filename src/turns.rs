//! CPU-bound work taken in turns: a fair semaphore sized by the machine's cores, so a burst
//! of such work runs a few pieces at a time in arrival order instead of all at once, slowly.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The CPU cores this process may use (1 when unknown).
pub fn cpu_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Turns for one kind of work; clones share them.
#[derive(Debug, Clone)]
pub struct Turns(Arc<Semaphore>);

impl Turns {
    /// `per_core` turns per CPU core.
    pub fn per_core(per_core: usize) -> Turns {
        Turns(Arc::new(Semaphore::new(cpu_cores() * per_core.max(1))))
    }

    /// Waits for a turn (first come, first served); it ends when the permit is dropped.
    pub async fn take(&self) -> OwnedSemaphorePermit {
        // never closed, so acquiring cannot fail; a permit of none would be no turn at all
        match self.0.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => unreachable!("turns are never closed"),
        }
    }
}
