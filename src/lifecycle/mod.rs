//! The lifecycle of a generation: the one place that creates a generation and changes its
//! state, each time with the ledger entry, search-outbox row, webhook deliveries and audit it
//! implies, in one transaction; it publishes each change as a [`GenEvent`] once committed.
//!
//! Changes of many jobs that arrive together commit in one durable transaction (see
//! `group_commit`); each caller still learns its own result, after its write is durable.
//! Below both the engine (which drives jobs) and the services (which create and cancel them):
//! it knows the store and the domain, nothing above.

mod awaited;
mod change;
pub mod events;
mod group_commit;

use std::sync::Arc;

use tokio::sync::broadcast;

pub use change::{Admission, Answering, Change};
pub use events::GenEvent;

use crate::domain::asset::Asset;
use crate::domain::audit::AuditEvent;
use crate::domain::credits::CreditError;
use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::spending::LimitBroken;
use crate::domain::time::Timestamp;
use crate::store::{self, Commit, Store, StoreError};
use awaited::{Awaited, Pending};
use change::Op;
use group_commit::GroupCommit;

/// Why a lifecycle write was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("generation not found")]
    NotFound,
    #[error("this generation has already ended")]
    AlreadyFinished,
    /// A reference names an upload that is not the owner's (or no longer exists).
    #[error("upload not found")]
    UploadNotFound,
    /// The state machine forbids this change from the generation's present state.
    #[error("a generation cannot go from {from} to {to}")]
    Transition { from: GenState, to: GenState },
    #[error("{0}")]
    Credits(CreditError),
    /// The submit would break a daily spend limit (checked where its credits are held).
    #[error("a daily spend limit of {} credits would be exceeded", .0.limit)]
    Limit(LimitBroken),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A handle to the lifecycle; cheap to clone.
#[derive(Clone)]
pub struct Lifecycle {
    store: Store,
    group: GroupCommit,
    events: broadcast::Sender<GenEvent>,
    awaited: Arc<Awaited>,
}

impl Lifecycle {
    pub fn new(store: Store) -> Lifecycle {
        let (events, _) = broadcast::channel(1024);
        let awaited = Arc::new(Awaited::default());
        Lifecycle { store, group: GroupCommit::new(awaited.clone()), events, awaited }
    }

    /// Stores a new queued generation, holding its credits and recording `audit`, after
    /// checking that each reference is one of the owner's uploads.
    pub async fn create(&self, generation: Generation, audit: AuditEvent) -> Result<Generation, LifecycleError> {
        self.create_admitted(generation, audit, Admission::default()).await
    }

    /// [`Lifecycle::create`] checked against the owner's spend limits in the transaction that
    /// holds its credits (so two submits at once cannot both pass a limit), and, for a job
    /// stored AwaitingApproval, written with its approval request and that request's audit.
    pub async fn create_admitted(
        &self,
        generation: Generation,
        audit: AuditEvent,
        admission: Admission,
    ) -> Result<Generation, LifecycleError> {
        self.write(Op::Create { generation: Box::new(generation), audit: Box::new(audit), admission: Box::new(admission) }).await
    }

    /// Applies one change, with the ledger entry it implies: settle on success, release on
    /// failure or cancellation. Changes to a generation that already ended are refused, so
    /// nothing is charged or released twice. The first change of an awaited job writes it
    /// (see [`Lifecycle::create_awaited`]).
    pub async fn apply(&self, id: GenerationId, change: Change) -> Result<Generation, LifecycleError> {
        match self.awaited.get(id) {
            Some(pending) => self.write(Op::CreateChanged { pending: Box::new(pending), change }).await,
            None => self.write(Op::Apply { id, change, answering: None }).await,
        }
    }

    /// Answers the approval request of a generation waiting for one: [`Change::Approved`]
    /// queues it, [`Change::Failed`] ends it (declined or expired) and releases its hold; the
    /// answered request and its audit are written in the same transaction. Refused unless the
    /// generation is still AwaitingApproval, so a request is answered once.
    pub async fn answer(&self, id: GenerationId, change: Change, answering: Answering) -> Result<Generation, LifecycleError> {
        self.write(Op::Apply { id, change, answering: Some(Box::new(answering)) }).await
    }

    /// [`Lifecycle::create`] of a job whose caller holds its request open until the job ends
    /// and learns of it only then (OpenAI's synchronous image calls). Its references and
    /// credits are checked as for any job, and its cost is reserved in memory at once (every
    /// later hold counts it), but it is written with its first change, in one durable
    /// transaction with its hold: for a synchronous answer, its success. Nobody has been told
    /// of it before then, so a crash in between leaves no trace of it and holds nothing, as
    /// for a request that never arrived. It is answered Submitting: no queue anyone sees.
    /// Checked against `admission`'s limits as [`Lifecycle::create_admitted`] is (an awaited job
    /// never waits for approval: the caller stores one that needs it with `create_admitted`).
    ///
    /// With `hand_over` (the caller is answered with the outputs' bytes), a synchronous answer's
    /// write also records that hand-over: `hand_over` once per output, with the output as its
    /// target and what it is as its detail ([`Asset::download_detail`]), so the caller needs
    /// no write of its own before the bytes go out.
    pub async fn create_awaited(
        &self,
        mut generation: Generation,
        audit: AuditEvent,
        admission: Admission,
        hand_over: Option<AuditEvent>,
    ) -> Result<Generation, LifecycleError> {
        generation.state = GenState::Submitting;
        generation.submitted_at = Some(generation.created_at);
        let awaited = self.awaited.clone();
        self.store
            .decide(move |tx| {
                change::check_create(tx, &generation, &awaited, admission.limits.as_ref())?;
                awaited.insert(Pending { generation: generation.clone(), audit, hand_over });
                Ok(generation)
            })
            .await
    }

    /// An awaited job that is not in the store yet (see [`Lifecycle::create_awaited`]).
    pub fn awaited(&self, id: GenerationId) -> Option<Generation> {
        self.awaited.get(id).map(|p| p.generation)
    }

    /// Whether the first write of the awaited job `id`, if its synchronous answer, records the
    /// hand-over of its outputs to the caller (see [`Lifecycle::create_awaited`]). Only the
    /// job's own writes change this.
    pub fn records_hand_over(&self, id: GenerationId) -> bool {
        self.awaited.hands_over(id)
    }

    /// Whether `id` is an awaited job still only in memory (it is unfinished).
    pub fn is_awaited(&self, id: GenerationId) -> bool {
        self.awaited.contains(id)
    }

    /// Forgets an awaited job that ended without being written (its first write was
    /// refused): nothing of it is kept, and its reservation is given back.
    pub fn forget_awaited(&self, id: GenerationId) {
        self.awaited.remove(id);
    }

    /// Credits `owner`'s awaited jobs reserve: not available to anything else meanwhile.
    /// Read it inside a write transaction, where no reservation can be added.
    pub fn reserved_by(&self, owner: UserId) -> u64 {
        self.awaited.reserved_by(owner)
    }

    async fn write(&self, op: Op) -> Result<Generation, LifecycleError> {
        Ok(self.group.write(&self.store, &self.events, op).await?.generation)
    }

    /// Records the latest progress of many running jobs in one advisory transaction (progress
    /// is advisory: a crash may lose the last report); jobs that moved on meanwhile are left
    /// alone. Publishes and returns the updated ones.
    pub async fn progress(&self, batch: Vec<(GenerationId, u8)>) -> Result<Vec<Generation>, LifecycleError> {
        let updated = self
            .store
            .write_with(Commit::Advisory, move |tx| {
                let now = Timestamp::now();
                let mut updated = Vec::with_capacity(batch.len());
                for (id, progress) in batch {
                    let Some(mut g) = store::generations::get(tx, id)? else { continue };
                    if g.state != GenState::Running || g.progress == Some(progress) {
                        continue;
                    }
                    g.progress = Some(progress);
                    g.updated_at = now;
                    store::generations::put_progress(tx, &g)?;
                    updated.push(g);
                }
                Ok::<_, StoreError>(updated)
            })
            .await?;
        updated.iter().for_each(|g| self.publish(g));
        Ok(updated)
    }

    /// Records when the provider's copy of a finished generation was deleted through its API
    /// ("deleted upstream at …" on its page). Best effort: a failure is only logged.
    pub async fn record_upstream_deletion(&self, id: GenerationId) {
        let written = self
            .store
            .write(move |tx| {
                if let Some(mut g) = store::generations::get(tx, id)?.filter(|g| g.upstream_deleted_at.is_none()) {
                    g.upstream_deleted_at = Some(Timestamp::now());
                    store::generations::put(tx, &g)?;
                }
                Ok::<_, StoreError>(())
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, generation = %id, "could not record the upstream deletion");
        }
    }

    /// Links posters made after a generation succeeded to their outputs (`(output, poster)`)
    /// and stores them, in one transaction; answers the posters it did not record (the
    /// generation or the output is gone or being deleted), whose files the caller removes.
    pub async fn attach_posters(&self, id: GenerationId, posters: Vec<(AssetId, Asset)>) -> Vec<AssetId> {
        let all: Vec<AssetId> = posters.iter().map(|(_, p)| p.id).collect();
        let written = self
            .store
            .write(move |tx| {
                let live = store::generations::get(tx, id)?.is_some_and(|g| g.deleted_at.is_none() && g.state == GenState::Succeeded);
                let mut left = Vec::new();
                for (output, poster) in posters {
                    match store::assets::get(tx, output)?.filter(|a| live && a.generation == Some(id) && a.poster.is_none()) {
                        Some(mut asset) => {
                            asset.poster = Some(poster.id);
                            store::assets::put(tx, &asset)?;
                            store::assets::put(tx, &poster)?;
                        }
                        None => left.push(poster.id),
                    }
                }
                Ok::<_, StoreError>(left)
            })
            .await;
        written.unwrap_or_else(|e| {
            tracing::warn!(error = %e, generation = %id, "could not record the posters");
            all
        })
    }

    /// Live changes of every generation, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<GenEvent> {
        self.events.subscribe()
    }

    fn publish(&self, g: &Generation) {
        let _ = self.events.send(GenEvent::of(g));
    }

    /// Durable transactions the lifecycle has committed (fewer than its writes under load).
    pub fn commits(&self) -> u64 {
        self.group.commits()
    }
}

#[cfg(test)]
mod tests;
