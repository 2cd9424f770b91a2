//! Generations: submit (validate, price, hold credits), read, flag, wait for and cancel them.
//! Every state change, with the credits it moves, goes through the [`lifecycle`](crate::lifecycle).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::audit::AuditAction;
use crate::domain::catalog::{InputError, MediaKind, ModelSpec, Price, ReferenceRole};
use crate::domain::generation::{GenState, Generation, ModelSnapshot, Reference};
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::lifecycle::Change;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::studio::{approvals, lineage, models};
use crate::services::team::spending;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// A request to generate, as the API and the form give it.
#[derive(Debug, Clone, Default)]
pub struct NewGeneration {
    pub model: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub params: BTreeMap<String, serde_json::Value>,
    /// The images the model starts from, by role (parsed where the request arrives).
    pub references: Vec<(ReferenceRole, AssetId)>,
    /// One of the person's earlier generations whose output the model extends, edits or
    /// enhances (models with an `operation`): its video becomes the `source_video` input.
    pub source: Option<GenerationId>,
    /// The caller holds its request open until the generation ends and learns of it only
    /// then (OpenAI's synchronous image calls): it is stored with
    /// [`crate::lifecycle::Lifecycle::create_awaited`], durable with its end.
    pub awaited: bool,
    /// With `awaited`: the caller is answered with the outputs' bytes (OpenAI's `b64_json`),
    /// so handing them over is audited (`media.downloaded`, saved as a file) in the same write
    /// as a synchronous success; see [`Finished::handed_over`].
    pub hands_over_outputs: bool,
    /// The names a prompt may call references by (`@Maya`), by upload: the cast members'
    /// names, for providers that take tagged references.
    pub tags: BTreeMap<AssetId, String>,
    /// The id to store it under, chosen (and recorded) by a caller that must submit at most
    /// once across crashes (a batch's row): a submit under an id that exists returns that
    /// generation. A new id when none.
    pub id: Option<GenerationId>,
    /// A board the person edits: the new generation is added to it once submitted.
    pub board: Option<crate::domain::ids::BoardId>,
}

/// Validates, prices and queues a generation, holding its credits; nothing is sent
/// upstream until the engine picks it up. A submit past a daily spend limit is refused; one
/// priced above the person's approval threshold waits in AwaitingApproval (see `approvals`). Models the person may not use (no connection,
/// or an admin's policy) are refused with the reason; the price is the effective one.
/// The submission is audited (`generation.created`) in the same transaction as the hold.
/// With a `board`, the person must edit it (checked before anything is held) and the new
/// generation is added to it.
pub async fn submit(state: &AppState, ctx: &Context, user: &User, request: NewGeneration) -> ServiceResult<Generation> {
    let board = request.board;
    if let Some(board) = board
        && !crate::services::studio::boards::role(state, user, board).await?.can_edit()
    {
        return Err(ServiceError::NotEditor);
    }
    let earlier = match request.id {
        Some(id) => state.store.read(move |tx| store::generations::get(tx, id)).await?.filter(|g| g.owner == user.id),
        None => None,
    };
    let generation = match earlier {
        Some(generation) => generation,
        None => submit_unboarded(state, ctx, user, request).await?,
    };
    if let Some(board) = board {
        crate::services::studio::boards::add_items(state, user, board, vec![generation.id]).await?;
    }
    Ok(generation)
}

async fn submit_unboarded(state: &AppState, ctx: &Context, user: &User, request: NewGeneration) -> ServiceResult<Generation> {
    let (awaited, hands_over) = (request.awaited, request.hands_over_outputs);
    let generation = prepare(state, user, request).await?;
    let detail = format!("model {}, {} credits, connection {}", generation.model, generation.cost, generation.connection);
    let audit = audit::event(ctx, AuditAction::GenerationCreated, Some(generation.id.to_string()), Some(detail));
    let mut generation = generation;
    let admission = approvals::admit(&spending::settings(state).await?, ctx, user, &mut generation);
    if admission.approval.is_some() {
        // stored waiting (an awaited caller is answered at once rather than held open)
        let generation = state.lifecycle.create_admitted(generation, audit, admission).await?;
        approvals::announce(state, &generation);
        return Ok(generation);
    }
    if awaited {
        let hand_over = hands_over.then(|| {
            let owner = Context::user(user.id, user.email.as_str(), ctx.client.clone());
            audit::event(&owner, AuditAction::MediaDownloaded, None, None)
        });
        let generation = state.lifecycle.create_awaited(generation, audit, admission, hand_over).await?;
        state.engine.start_awaited(generation.id);
        return Ok(generation);
    }
    let generation = state.lifecycle.create_admitted(generation, audit, admission).await?;
    state.engine.start(generation.id);
    Ok(generation)
}

/// The generation `request` makes, validated and priced exactly as [`submit`] does it (the
/// person's account, the model and their right to use it, prompt, parameters, references,
/// source) but neither stored nor held: what a batch's dry run shows. Its `cost` is the price
/// a submit would hold now; the board, approvals and spend limits are checked by `submit`.
pub async fn prepare(state: &AppState, user: &User, request: NewGeneration) -> ServiceResult<Generation> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let offer = models::offer(state, user, &request.model).await?;
    offer.check()?;
    let registry = state.registry();
    let model = &offer.spec;
    let connection = registry
        .connection_for(&model.id)
        .ok_or_else(|| ServiceError::ModelDisabled { model: model.id.to_string(), reason: "no connection serves it any more".into() })?;
    let prompt = request.prompt.trim().to_string();
    if prompt.is_empty() {
        return Err(InputError::on("prompt", "write a prompt").into());
    }
    if prompt.chars().count() > model.max_prompt_chars {
        return Err(InputError::on("prompt", format!("the prompt is longer than {} characters", model.max_prompt_chars)).into());
    }
    let negative_prompt = request.negative_prompt.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if negative_prompt.is_some() && !model.negative_prompt {
        return Err(InputError::on("negative_prompt", format!("{} does not take a negative prompt", model.id)).into());
    }
    if negative_prompt.as_ref().is_some_and(|n| n.chars().count() > model.max_prompt_chars) {
        return Err(
            InputError::on("negative_prompt", format!("the negative prompt is longer than {} characters", model.max_prompt_chars)).into()
        );
    }
    let random_seed = i64::from(rand::random::<u32>());
    let params = model.resolve_params(&request.params, random_seed)?;
    let source = match request.source {
        Some(id) => Some(lineage::source_of(state, user, model, id, &request.references).await?),
        None => None,
    };
    check_references(state, user, model, &request.references, source.as_ref()).await?;
    let mut references: Vec<Reference> =
        request.references.iter().map(|&(role, upload)| Reference { role, upload, tag: request.tags.get(&upload).cloned() }).collect();
    if let Some(source) = &source {
        references.insert(0, Reference { role: ReferenceRole::SourceVideo, upload: source.video.id, tag: None });
    }
    let cost = offer.price.of(&params);
    let made_with = snapshot(state, model, &offer.price);
    let now = Timestamp::now();
    Ok(Generation {
        id: request.id.unwrap_or_else(GenerationId::generate),
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
        made_with: Some(made_with),
        reported: None,
        source: source.map(|s| s.generation),
    })
}

/// Checks a submit's references against the model's inputs (roles, counts, file types,
/// required ones) before anything is held. An upload that is not the person's is not found
/// (the lifecycle checks that again in the transaction that holds the credits).
async fn check_references(
    state: &AppState,
    user: &User,
    model: &ModelSpec,
    references: &[(ReferenceRole, AssetId)],
    source: Option<&lineage::Source>,
) -> ServiceResult<()> {
    let from_source = source.map(|s| (ReferenceRole::SourceVideo, Some(s.video.content_type.as_str())));
    if references.is_empty() {
        // nothing to read: only the required inputs to check
        return Ok(model.check_inputs(&from_source.into_iter().collect::<Vec<_>>())?);
    }
    let uploads = crate::services::studio::media::assets(state, references.iter().map(|(_, id)| *id).collect()).await?;
    let given: Vec<(ReferenceRole, Option<&str>)> = from_source
        .into_iter()
        .chain(references.iter().map(|(role, id)| {
            let upload = uploads.iter().find(|a| a.id == *id && a.owner == user.id && a.usable_as_reference());
            (*role, upload.map(|a| a.content_type.as_str()))
        }))
        .collect();
    model.check_inputs(&given)?;
    if given.iter().any(|(_, found)| found.is_none()) {
        return Err(ServiceError::NotFound("upload"));
    }
    Ok(())
}

/// What the generation is made with, as the catalog says now.
fn snapshot(state: &AppState, model: &ModelSpec, price: &Price) -> ModelSnapshot {
    let provider = state.data_use.get(&model.provider).map_or_else(|| model.provider.clone(), |d| d.provider.clone());
    ModelSnapshot {
        label: model.label.clone(),
        provider,
        provider_kind: model.provider.clone(),
        upstream: model.upstream.clone(),
        price: price.to_string(),
        price_rule: serde_json::to_string(price).unwrap_or_default(),
    }
}

/// A generation its owner may see.
pub async fn get(state: &AppState, user: &User, id: GenerationId) -> ServiceResult<Generation> {
    let owner = user.id;
    state
        .store
        .read_now(|tx| store::generations::get(tx, id))?
        .filter(|g| g.owner == owner && g.deleted_at.is_none())
        .ok_or(ServiceError::NotFound("generation"))
}

/// Someone is looking at `g`: when it runs upstream, poll it now if its last poll is old
/// enough (see `Engine::freshen`), so it is seen done about as soon as the provider is.
pub fn freshen(state: &AppState, g: &Generation) {
    if g.state == GenState::Running
        && let Some(handle) = &g.upstream
    {
        state.engine.freshen(&g.connection, &handle.id);
    }
}

/// A generation `user` may look at: their own, or one a teammate shared (read-only).
pub async fn visible(state: &AppState, user: &User, id: GenerationId) -> ServiceResult<Generation> {
    let viewer = user.id;
    state
        .store
        .read_now(|tx| store::generations::get(tx, id))?
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

/// An awaited generation as it ended, with the outputs' bytes its job still held (by asset).
pub struct Finished {
    pub generation: Generation,
    pub fresh: std::collections::HashMap<AssetId, bytes::Bytes>,
    /// Whether handing the outputs to the caller is already audited (asked for with
    /// [`NewGeneration::hands_over_outputs`], recorded with the success).
    pub handed_over: bool,
}

/// [`wait_until_finished`] for a generation `user` submitted with `awaited`: its end comes
/// straight from the job when this process runs it (no store read, and the outputs' bytes
/// need not be read back from their files); otherwise from the store.
pub async fn wait_awaited(state: &AppState, user: &User, id: GenerationId, limit: Duration) -> ServiceResult<Finished> {
    let until = tokio::time::Instant::now() + limit;
    if let Some(end) = state.engine.claim_end(id) {
        match tokio::time::timeout_at(until, end).await {
            Ok(Ok(end)) if end.generation.owner == user.id => {
                return Ok(Finished { generation: end.generation, fresh: end.fresh.into_iter().collect(), handed_over: end.handed_over });
            }
            // the job ended without telling (it was already over), or not yet: read the store
            Ok(_) | Err(_) => {}
        }
    }
    let left = until.saturating_duration_since(tokio::time::Instant::now());
    Ok(Finished { generation: wait_until_finished(state, user, id, left).await?, fresh: Default::default(), handed_over: false })
}

/// Waits until one of `user`'s generations has ended, or `limit` has passed; returns it as
/// stored then (still running when the time ran out). Wakes on the engine's events, and
/// reads the store at least once a second (an event can be missed when the channel lags).
pub async fn wait_until_finished(state: &AppState, user: &User, id: GenerationId, limit: Duration) -> ServiceResult<Generation> {
    let mut events = state.lifecycle.subscribe();
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
    if matches!(current.state, GenState::Queued | GenState::AwaitingApproval) {
        // a job that started meanwhile is Submitting, which may also end as Cancelled; the
        // engine then cancels upstream when its own write is refused
        let g = state.lifecycle.apply(id, Change::Cancelled).await?;
        state.engine.cancel(id);
        return Ok(g);
    }
    let g = state.lifecycle.apply(id, Change::CancelRequested).await?;
    state.engine.cancel(id);
    Ok(g)
}

pub use crate::lifecycle::GenEvent;

/// Live changes of every generation from now on (pages filter their owner's).
pub fn events(state: &AppState) -> broadcast::Receiver<GenEvent> {
    state.lifecycle.subscribe()
}
