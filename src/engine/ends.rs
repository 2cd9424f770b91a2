//! The end of a job whose caller waits for it (a synchronous image call), handed straight to
//! that caller with the outputs' bytes custody still holds: no wake-up of every waiter on
//! each change, and no reading back and decrypting of what was just stored.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::domain::generation::Generation;
use crate::domain::ids::{AssetId, GenerationId};

/// The most output bytes a job keeps in memory for its waiting caller; beyond that the
/// caller reads the stored files.
pub const FRESH_MAX: u64 = 32 * 1024 * 1024;

/// How an awaited job ended, as recorded (durable), with its outputs' plaintext where it was
/// kept.
pub struct JobEnd {
    pub generation: Generation,
    pub fresh: Vec<(AssetId, Bytes)>,
    /// Whether the write that recorded the end also recorded handing the outputs to the
    /// caller (see [`crate::lifecycle::Lifecycle::create_awaited`]).
    pub handed_over: bool,
}

/// The ends of awaited jobs that their callers have not claimed yet.
#[derive(Default)]
pub(super) struct Ends(Mutex<HashMap<GenerationId, oneshot::Receiver<JobEnd>>>);

impl Ends {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GenerationId, oneshot::Receiver<JobEnd>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the job of `id` sends its end; the caller claims the other side.
    pub(super) fn open(&self, id: GenerationId) -> oneshot::Sender<JobEnd> {
        let (send, receive) = oneshot::channel();
        self.lock().insert(id, receive);
        send
    }

    /// The end of `id`'s job for its caller (once); `None` when it is not an awaited job of
    /// this process or was claimed or forgotten already.
    pub(super) fn claim(&self, id: GenerationId) -> Option<oneshot::Receiver<JobEnd>> {
        self.lock().remove(&id)
    }

    /// Drops an end nobody claimed, once its job is over (the caller went away, or comes late
    /// and reads the store).
    pub(super) fn forget(&self, id: GenerationId) {
        self.lock().remove(&id);
    }
}

/// What a job keeps for its waiting caller until it ends.
pub(super) struct Ending {
    to: Option<oneshot::Sender<JobEnd>>,
    /// Output bytes kept by custody, by asset.
    pub(super) fresh: Vec<(AssetId, Bytes)>,
    /// Whether the recorded end also recorded handing the outputs to the caller.
    pub(super) handed_over: bool,
}

impl Ending {
    pub(super) fn new(to: Option<oneshot::Sender<JobEnd>>) -> Ending {
        Ending { to, fresh: Vec::new(), handed_over: false }
    }

    /// Whether a caller waits (so custody keeps the outputs' bytes for it).
    pub(super) fn awaited(&self) -> bool {
        self.to.is_some()
    }

    /// Hands the recorded end to the caller, once.
    pub(super) fn send(&mut self, generation: Generation) {
        if let Some(to) = self.to.take() {
            let _ = to.send(JobEnd { generation, fresh: std::mem::take(&mut self.fresh), handed_over: self.handed_over });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_is_claimed_once_and_a_forgotten_one_is_gone() {
        let ends = Ends::default();
        let id = GenerationId::generate();
        let _sender = ends.open(id);
        assert!(ends.claim(id).is_some());
        assert!(ends.claim(id).is_none(), "claimed once");
        let other = GenerationId::generate();
        let _sender = ends.open(other);
        ends.forget(other);
        assert!(ends.claim(other).is_none());
    }
}
