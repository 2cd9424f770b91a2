//! The lifecycle of a generation: the one place that creates a generation and changes its
//! state, each time with the ledger entry, search-outbox row, webhook deliveries and audit it
//! implies, in one transaction; it publishes each change as a [`GenEvent`] once committed.
//!
//! Changes of many jobs that arrive together commit in one durable transaction (see
//! `group_commit`); each caller still learns its own result, after its write is durable.
//! Below both the engine (which drives jobs) and the services (which create and cancel them):
//! it knows the store and the domain, nothing above.

mod change;
pub mod events;
mod group_commit;

use tokio::sync::broadcast;

pub use change::{Admission, Answering, Change};
pub use events::GenEvent;

use crate::domain::asset::Asset;
use crate::domain::audit::AuditEvent;
use crate::domain::credits::CreditError;
use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{AssetId, GenerationId};
use crate::domain::spending::LimitBroken;
use crate::domain::time::Timestamp;
use crate::store::{self, Commit, Store, StoreError};
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
}

impl Lifecycle {
    pub fn new(store: Store) -> Lifecycle {
        let (events, _) = broadcast::channel(1024);
        Lifecycle { store, group: GroupCommit::default(), events }
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
    /// nothing is charged or released twice.
    pub async fn apply(&self, id: GenerationId, change: Change) -> Result<Generation, LifecycleError> {
        self.write(Op::Apply { id, change, answering: None }).await
    }

    /// Answers the approval request of a generation waiting for one: [`Change::Approved`]
    /// queues it, [`Change::Failed`] ends it (declined or expired) and releases its hold; the
    /// answered request and its audit are written in the same transaction. Refused unless the
    /// generation is still AwaitingApproval, so a request is answered once.
    pub async fn answer(&self, id: GenerationId, change: Change, answering: Answering) -> Result<Generation, LifecycleError> {
        self.write(Op::Apply { id, change, answering: Some(Box::new(answering)) }).await
    }

    /// [`Lifecycle::create`] of a job whose caller holds its request open until the job ends
    /// and learns of it only then (OpenAI's synchronous image calls): stored Submitting at once
    /// (nobody sees it wait in a queue, so it needs no write of its own to leave one), visible
    /// at once (its hold counts against every later write), on disk with the job's end, a
    /// durable write of its own (or the settler's next round, within about a second). A crash
    /// before then leaves no trace of a job nobody was told of and nothing held, or finds it
    /// Submitting, which a restart ends as an interrupted submit, releasing its hold; a sync
    /// answer thus costs one durable transaction from accepted to succeeded.
    /// Checked against `admission`'s limits as [`Lifecycle::create_admitted`] is.
    pub async fn create_awaited(
        &self,
        mut generation: Generation,
        audit: AuditEvent,
        admission: Admission,
    ) -> Result<Generation, LifecycleError> {
        generation.state = GenState::Submitting;
        generation.submitted_at = Some(generation.created_at);
        let admission = Box::new(admission);
        self.write_provisional(Op::Create { generation: Box::new(generation), audit: Box::new(audit), admission }).await
    }

    async fn write(&self, op: Op) -> Result<Generation, LifecycleError> {
        Ok(self.group.write(&self.store, &self.events, op).await?.generation)
    }

    /// Writes `op` in a transaction of its own that is not flushed by itself (see
    /// [`Commit::Advisory`]), then announces it as a group commit does.
    async fn write_provisional(&self, op: Op) -> Result<Generation, LifecycleError> {
        let applied = self.store.write_with(Commit::Advisory, move |tx| change::write(tx, op, Timestamp::now())).await?;
        group_commit::announce(&self.store, &self.events, &applied);
        Ok(applied.generation)
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
