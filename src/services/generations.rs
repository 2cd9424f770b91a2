//! Generations: submit (validate, price, hold credits), read, cancel, and `apply`, the one
//! place where a generation's state and its credits change, together, in one transaction.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::broadcast;

use super::audit::{self, Context};
use super::{ServiceError, ServiceResult, models};
use crate::domain::asset::{Asset, AssetKind};
use crate::domain::audit::AuditAction;
use crate::domain::catalog::{MediaKind, ReferenceRole};
use crate::domain::credits::{CreditError, EntryKind};
use crate::domain::generation::{GenState, Generation, OutputRef, Reason, Reference, UpstreamHandle};
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{InvalidInput, User};
/// A published change of a generation (live pages subscribe to them).
pub use crate::engine::events::GenEvent;
use crate::state::AppState;
use crate::store::{self, Commit, Store};

/// A request to generate, as the API and the form give it.
#[derive(Debug, Clone, Default)]
pub struct NewGeneration {
    pub model: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub params: BTreeMap<String, serde_json::Value>,
    /// The images the model starts from, by role (parsed where the request arrives).
    pub references: Vec<(ReferenceRole, AssetId)>,
}

/// Why a submit was refused, beyond the common service errors.
fn invalid(message: String) -> ServiceError {
    ServiceError::InvalidMessage(message)
}

/// Validates, prices and queues a generation, holding its credits; nothing is sent
/// upstream until the engine picks it up. Models the person may not use (no connection,
/// or an admin's policy) are refused with the reason; the price is the effective one.
/// The submission is audited (`generation.created`) in the same transaction as the hold.
pub async fn submit(state: &AppState, ctx: &Context, user: &User, request: NewGeneration) -> ServiceResult<Generation> {
    super::restriction::ensure_not_frozen(user)?;
    let offer = models::offer(state, user, &request.model).await?;
    offer.check()?;
    let registry = state.registry();
    let model = &offer.spec;
    let connection = registry
        .connection_for(model.id)
        .ok_or_else(|| ServiceError::ModelDisabled { model: model.id.to_string(), reason: "no connection serves it any more".into() })?;
    let prompt = request.prompt.trim().to_string();
    if prompt.is_empty() {
        return Err(InvalidInput("write a prompt").into());
    }
    if prompt.chars().count() > model.max_prompt_chars {
        return Err(invalid(format!("the prompt is longer than {} characters", model.max_prompt_chars)));
    }
    let negative_prompt = request.negative_prompt.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if negative_prompt.is_some() && !model.negative_prompt {
        return Err(invalid(format!("{} does not take a negative prompt", model.id)));
    }
    if negative_prompt.as_ref().is_some_and(|n| n.chars().count() > model.max_prompt_chars) {
        return Err(invalid(format!("the negative prompt is longer than {} characters", model.max_prompt_chars)));
    }
    let random_seed = i64::from(rand::random::<u32>());
    let params = model.resolve_params(&request.params, random_seed).map_err(|e| invalid(e.0))?;
    let mut references = Vec::new();
    for &(role, upload) in &request.references {
        if !model.takes(role) {
            return Err(invalid(format!("{} does not take a {} image", model.id, role.as_str())));
        }
        if references.iter().any(|r: &Reference| r.role == role) {
            return Err(invalid(format!("only one {} image may be attached", role.as_str())));
        }
        references.push(Reference { role, upload });
    }
    let cost = model.price_of(offer.price, &params);
    let now = Timestamp::now();
    let generation = Generation {
        id: GenerationId::generate(),
        owner: user.id,
        model: model.id.to_string(),
        kind: model.kind,
        connection: connection.config.name.clone(),
        prompt,
        negative_prompt,
        params,
        references,
        state: GenState::Queued,
        reason: None,
        progress: None,
        cost,
        created_at: now,
        updated_at: now,
        submitted_at: None,
        finished_at: None,
        deadline_at: now.plus(connection.config.deadline.unwrap_or(model.deadline)),
        upstream: None,
        pending_outputs: Vec::new(),
        outputs: Vec::new(),
        cancel_requested: false,
        kept: false,
        shared: false,
        legal_hold: false,
        upstream_deleted_at: None,
        deleted_at: None,
    };
    let stored = generation.clone();
    let ctx = ctx.clone();
    let detail = format!("model {}, {} credits, connection {}", stored.model, stored.cost, stored.connection);
    state
        .store
        .write(move |tx| {
            for r in &stored.references {
                let asset = store::assets::get(tx, r.upload)?;
                if !asset.is_some_and(|a| a.owner == stored.owner && a.kind == AssetKind::Upload) {
                    return Err(ServiceError::NotFound("upload"));
                }
            }
            let balance = store::credits::balance(tx, stored.owner)?;
            let (available, held) = balance.hold(stored.cost).map_err(ServiceError::Credits)?;
            store::credits::post(tx, stored.owner, EntryKind::Hold, Some(stored.id), available, held, None)?
                .map_err(ServiceError::Credits)?;
            store::generations::put(tx, &stored)?;
            audit::record(tx, &ctx, AuditAction::GenerationCreated, Some(stored.id.to_string()), Some(detail))?;
            Ok(())
        })
        .await?;
    state.store.outbox_written();
    state.engine.start(generation.id);
    state.engine.publish(GenEvent::of(&generation));
    Ok(generation)
}

/// A generation its owner may see.
pub async fn get(state: &AppState, user: &User, id: GenerationId) -> ServiceResult<Generation> {
    let owner = user.id;
    state
        .store
        .read(move |tx| store::generations::get(tx, id))
        .await?
        .filter(|g| g.owner == owner && g.deleted_at.is_none())
        .ok_or(ServiceError::NotFound("generation"))
}

/// A generation `user` may look at: their own, or one a teammate shared (read-only).
pub async fn visible(state: &AppState, user: &User, id: GenerationId) -> ServiceResult<Generation> {
    let viewer = user.id;
    state
        .store
        .read(move |tx| store::generations::get(tx, id))
        .await?
        .filter(|g| (g.owner == viewer || g.shared) && g.deleted_at.is_none())
        .ok_or(ServiceError::NotFound("generation"))
}

/// The flags an owner may change on a finished or running generation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// Exempt from retention.
    pub kept: Option<bool>,
    /// Visible to every signed-in teammate.
    pub shared: Option<bool>,
}

/// One change of a flag, as pages and the API name it (`keep`, `unkeep`, `share`, `unshare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagAction {
    Keep,
    Unkeep,
    Share,
    Unshare,
}

impl From<FlagAction> for Flags {
    fn from(action: FlagAction) -> Flags {
        match action {
            FlagAction::Keep => Flags { kept: Some(true), shared: None },
            FlagAction::Unkeep => Flags { kept: Some(false), shared: None },
            FlagAction::Share => Flags { kept: None, shared: Some(true) },
            FlagAction::Unshare => Flags { kept: None, shared: Some(false) },
        }
    }
}

/// Sets `flags` on one of `user`'s generations in one transaction with its outbox row, so
/// search filters and facets follow; returns the generation as stored.
pub async fn set_flags(state: &AppState, user: &User, id: GenerationId, flags: Flags) -> ServiceResult<Generation> {
    let owner = user.id;
    let changed = state
        .store
        .write(move |tx| {
            let mut g = store::generations::get(tx, id)?
                .filter(|g| g.owner == owner && g.deleted_at.is_none())
                .ok_or(ServiceError::NotFound("generation"))?;
            if flags.kept.is_none_or(|k| k == g.kept) && flags.shared.is_none_or(|s| s == g.shared) {
                return Ok::<_, ServiceError>(g);
            }
            g.kept = flags.kept.unwrap_or(g.kept);
            g.shared = flags.shared.unwrap_or(g.shared);
            g.updated_at = Timestamp::now();
            store::generations::put(tx, &g)?;
            Ok(g)
        })
        .await?;
    state.store.outbox_written();
    Ok(changed)
}

/// The owner's generations, newest first.
pub async fn list(state: &AppState, user: UserId, before: Option<GenerationId>, limit: usize) -> ServiceResult<Vec<Generation>> {
    Ok(state.store.read(move |tx| store::generations::list_for_owner(tx, user, before, limit)).await?)
}

/// One page of the owner's generations of one kind, after `after` (exclusive), newest first
/// unless `ascending`: up to `limit` and whether more follow. An `after` that is not one of
/// the owner's (visible) generations is `NotFound`, so ids of others reveal nothing.
pub async fn page(
    state: &AppState,
    user: &User,
    kind: MediaKind,
    after: Option<GenerationId>,
    ascending: bool,
    limit: usize,
) -> ServiceResult<(Vec<Generation>, bool)> {
    if let Some(after) = after {
        get(state, user, after).await?;
    }
    let owner = user.id;
    let page =
        state.store.read(move |tx| store::generations::page_for_owner(tx, owner, after, ascending, limit, |g| g.kind == kind)).await?;
    Ok(page)
}

/// Waits until one of `user`'s generations has ended, or `limit` has passed; returns it as
/// stored then (still running when the time ran out). Wakes on the engine's events, and
/// reads the store at least once a second (an event can be missed when the channel lags).
pub async fn wait_until_finished(state: &AppState, user: &User, id: GenerationId, limit: Duration) -> ServiceResult<Generation> {
    let mut events = state.engine.subscribe();
    let until = tokio::time::Instant::now() + limit;
    loop {
        let g = get(state, user, id).await?;
        let now = tokio::time::Instant::now();
        if g.state.is_terminal() || now >= until {
            return Ok(g);
        }
        let ended = async {
            loop {
                match events.recv().await {
                    Ok(e) if e.id == id && e.state.is_terminal() => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        };
        let _ = tokio::time::timeout((until - now).min(Duration::from_secs(1)), ended).await;
    }
}

/// Cancels a queued or running generation. Queued ones end at once; running ones are
/// cancelled upstream by the engine, which records the end.
pub async fn cancel(state: &AppState, user: &User, id: GenerationId) -> ServiceResult<Generation> {
    let current = get(state, user, id).await?;
    if !current.state.is_cancellable() {
        return Err(ServiceError::Conflict("this generation can no longer be cancelled"));
    }
    if current.state == GenState::Queued {
        // a job that started meanwhile is Submitting, which may also end as Cancelled; the
        // engine then cancels upstream when its own write is refused
        let g = apply(&state.store, id, Change::Cancelled).await?;
        state.engine.cancel(id);
        state.engine.publish(GenEvent::of(&g));
        return Ok(g);
    }
    let g = apply(&state.store, id, Change::CancelRequested).await?;
    state.engine.cancel(id);
    Ok(g)
}

/// Records when the provider's copy of a finished generation was deleted through its API
/// ("deleted upstream at …" on its page). Best effort: a failure is only logged.
pub async fn record_upstream_deletion(state: &AppState, id: GenerationId) {
    let written = state
        .store
        .write(move |tx| {
            if let Some(mut g) = store::generations::get(tx, id)?.filter(|g| g.upstream_deleted_at.is_none()) {
                g.upstream_deleted_at = Some(Timestamp::now());
                store::generations::put(tx, &g)?;
            }
            Ok::<_, store::StoreError>(())
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, generation = %id, "could not record the upstream deletion");
    }
}

/// A change the engine (or a cancel) makes to a generation.
#[derive(Debug, Clone)]
pub enum Change {
    Submitting,
    Running { handle: UpstreamHandle, progress: Option<u8> },
    Fetching { handle: UpstreamHandle, outputs: Vec<OutputRef> },
    Succeeded { assets: Vec<Asset> },
    Failed(Reason),
    Cancelled,
    CancelRequested,
}

/// Records the latest progress of many running jobs in one advisory transaction; jobs that
/// moved on meanwhile (fetching, finished) are left alone. Returns the updated ones.
pub async fn apply_progress(store: &Store, batch: Vec<(GenerationId, u8)>) -> ServiceResult<Vec<Generation>> {
    store
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
            Ok(updated)
        })
        .await
}

/// Applies one change in one write transaction, with the ledger entry it implies:
/// settle on success, release on failure or cancellation; then wakes the search indexer. Changes to a generation that
/// is already terminal are refused (so nothing is charged or released twice).
pub async fn apply(store: &Store, id: GenerationId, change: Change) -> ServiceResult<Generation> {
    let changed = store
        .write(move |tx| {
            let mut g = store::generations::get(tx, id)?.ok_or(ServiceError::NotFound("generation"))?;
            if g.state.is_terminal() {
                return Err(ServiceError::AlreadyFinished);
            }
            let now = Timestamp::now();
            g.updated_at = now;
            let mut ledger: Option<(EntryKind, i64, i64)> = None;
            let mut outputs: Vec<Asset> = Vec::new();
            let cost = i64::try_from(g.cost).map_err(|_| ServiceError::Credits(CreditError::OutOfRange))?;
            match change {
                Change::Submitting => {
                    g.state = GenState::Submitting;
                    g.submitted_at = Some(now);
                }
                Change::Running { handle, progress } => {
                    g.state = GenState::Running;
                    g.upstream = Some(handle);
                    g.progress = progress;
                }
                Change::Fetching { handle, outputs } => {
                    g.state = GenState::Fetching;
                    g.upstream = Some(handle);
                    g.pending_outputs = outputs;
                    g.progress = Some(100);
                }
                Change::Succeeded { assets } => {
                    for asset in &assets {
                        store::assets::put(tx, asset)?;
                    }
                    outputs = assets.into_iter().filter(|a| a.kind == AssetKind::Output).collect();
                    g.outputs = outputs.iter().map(|a| a.id).collect();
                    g.state = GenState::Succeeded;
                    g.finished_at = Some(now);
                    ledger = Some((EntryKind::Settle, 0, -cost));
                }
                Change::Failed(reason) => {
                    g.state = GenState::Failed;
                    g.reason = Some(reason);
                    g.finished_at = Some(now);
                    ledger = Some((EntryKind::Release, cost, -cost));
                }
                Change::Cancelled => {
                    g.state = GenState::Cancelled;
                    g.reason = Some(Reason::new("cancelled", "Cancelled."));
                    g.finished_at = Some(now);
                    ledger = Some((EntryKind::Release, cost, -cost));
                }
                Change::CancelRequested => g.cancel_requested = true,
            }
            if let Some((kind, available, held)) = ledger {
                store::credits::post(tx, g.owner, kind, Some(g.id), available, held, None)?.map_err(ServiceError::Credits)?;
            }
            store::generations::put(tx, &g)?;
            // the owner's webhooks hear of the end in the same transaction, so none is lost
            let queued = super::webhooks::queue_events(tx, &g, &outputs, now)?;
            Ok((g, queued))
        })
        .await?;
    store.outbox_written();
    if changed.1 {
        store.webhooks_queued();
    }
    Ok(changed.0)
}
