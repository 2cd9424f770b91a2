//! Jobs whose caller holds its request open until they end (OpenAI's synchronous image
//! calls), kept in memory from their acceptance to their first change: their credits are
//! reserved here, and every write that holds or removes credits counts these reservations.
//!
//! Nobody has been told of such a job, so writing it at once would keep no promise a crash
//! could break: it reaches the store with its first change (for a synchronous answer, its
//! success), in one durable transaction with its hold, instead of two writes of every page.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::domain::audit::AuditEvent;
use crate::domain::generation::Generation;
use crate::domain::ids::{GenerationId, UserId};

/// A job accepted but not yet written: what its first write stores.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub generation: Generation,
    pub audit: AuditEvent,
    /// When the caller is answered with the outputs' bytes: the audit of that hand-over, less
    /// its target and detail, written once per output with a synchronous answer.
    pub hand_over: Option<AuditEvent>,
}

/// The awaited jobs of this process that are not in the store yet.
#[derive(Default)]
pub(super) struct Awaited(Mutex<HashMap<GenerationId, Pending>>);

impl Awaited {
    fn lock(&self) -> MutexGuard<'_, HashMap<GenerationId, Pending>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `pending` until its first write. Call only while holding the store's writer (see
    /// [`crate::store::Store::decide`]), after checking that its owner's credits cover it and
    /// every other reservation.
    pub(super) fn insert(&self, pending: Pending) {
        self.lock().insert(pending.generation.id, pending);
    }

    /// The job of `id`, while it is not in the store.
    pub(super) fn get(&self, id: GenerationId) -> Option<Pending> {
        self.lock().get(&id).cloned()
    }

    pub(super) fn contains(&self, id: GenerationId) -> bool {
        self.lock().contains_key(&id)
    }

    /// Whether the job of `id` is not in the store yet and its first write, if a synchronous
    /// answer, records the hand-over of its outputs.
    pub(super) fn hands_over(&self, id: GenerationId) -> bool {
        self.lock().get(&id).is_some_and(|p| p.hand_over.is_some())
    }

    /// Forgets the job of `id`: it is in the store now, or it ended without a trace.
    pub(super) fn remove(&self, id: GenerationId) {
        self.lock().remove(&id);
    }

    /// Credits reserved by `owner`'s jobs that are not in the store yet.
    pub(super) fn reserved_by(&self, owner: UserId) -> u64 {
        self.lock().values().filter(|p| p.generation.owner == owner).map(|p| p.generation.cost).sum()
    }

    /// Credits reserved by `owner`'s jobs of `model` that are not in the store yet.
    pub(super) fn reserved_on(&self, owner: UserId, model: &str) -> u64 {
        self.lock().values().filter(|p| p.generation.owner == owner && p.generation.model == model).map(|p| p.generation.cost).sum()
    }
}
