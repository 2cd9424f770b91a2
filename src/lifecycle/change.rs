//! What may happen to a generation, and how each change is written inside a transaction:
//! its state with the ledger entry it implies (hold on creation, settle on success, release
//! on failure or cancellation), its search-outbox row, its webhook deliveries and its audit.

use crate::domain::approval::Approval;
use crate::domain::asset::{Asset, AssetKind, SealedMedia};
use crate::domain::audit::AuditEvent;
use crate::domain::credits::{Balance, CreditError, EntryKind};
use crate::domain::generation::{GenState, Generation, OutputRef, ProviderUsage, Reason, UpstreamHandle};
use crate::domain::ids::{AuditId, GenerationId};
use crate::domain::spending::SpendCheck;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{Delivery, EventType};
use crate::store::{self, StoreError};

use super::LifecycleError;
use super::awaited::{Awaited, Pending};

/// A change the engine (or a cancel) makes to a generation.
#[derive(Debug, Clone)]
pub enum Change {
    /// An approver said yes: the job waiting for approval is queued for the engine, its
    /// deadline counted again from now.
    Approved,
    Submitting,
    Running {
        handle: UpstreamHandle,
        progress: Option<u8>,
    },
    /// Upstream finished: its outputs are to be fetched, and what it reported the job cost or
    /// used (kept on the generation from here, so a restart during custody keeps it too).
    Fetching {
        handle: UpstreamHandle,
        outputs: Vec<OutputRef>,
        usage: Option<ProviderUsage>,
    },
    Succeeded {
        assets: Vec<Asset>,
        /// The age files of small ones, kept in the store with their records.
        sealed: Vec<SealedMedia>,
    },
    /// A synchronous API answered with its outputs in the answer, and they are already in
    /// custody: Submitting to Succeeded in one write (a crash before it leaves the job
    /// Submitting, which a restart handles as an interrupted submit; the outputs held in
    /// memory would have been lost after a Fetching write just the same).
    Answered {
        handle: UpstreamHandle,
        usage: Option<ProviderUsage>,
        assets: Vec<Asset>,
        sealed: Vec<SealedMedia>,
    },
    Failed(Reason),
    Cancelled,
    CancelRequested,
}

impl Change {
    /// Whether the change may be made from `state`: a success comes from custody of fetched
    /// outputs (Fetching), or from a synchronous answer (Submitting), never the other way.
    fn starts_from(&self, state: GenState) -> bool {
        match self {
            Change::Succeeded { .. } => state == GenState::Fetching,
            Change::Answered { .. } => state == GenState::Submitting,
            _ => true,
        }
    }

    /// The state this change moves a generation to (none for a cancel request).
    fn target(&self) -> Option<GenState> {
        Some(match self {
            Change::Approved => GenState::Queued,
            Change::Submitting => GenState::Submitting,
            Change::Running { .. } => GenState::Running,
            Change::Fetching { .. } => GenState::Fetching,
            Change::Succeeded { .. } | Change::Answered { .. } => GenState::Succeeded,
            Change::Failed(_) => GenState::Failed,
            Change::Cancelled => GenState::Cancelled,
            Change::CancelRequested => return None,
        })
    }
}

/// What a new generation is checked against, and what is written with it, besides its hold.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// The owner's daily limits: refused when the hold would exceed one.
    pub limits: Option<SpendCheck>,
    /// For a generation stored AwaitingApproval: its request, and the request's audit.
    pub approval: Option<(Approval, AuditEvent)>,
}

/// An approval request as answered, and the answer's audit, written with the change.
#[derive(Debug, Clone)]
pub struct Answering {
    pub approval: Approval,
    pub audit: AuditEvent,
}

/// What one write of the lifecycle asks for.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// A new, queued generation: its credits are held and its creation audited.
    Create { generation: Box<Generation>, audit: Box<AuditEvent>, admission: Box<Admission> },
    /// A change of an existing generation (with the approval answer it records, if any).
    Apply { id: GenerationId, change: Change, answering: Option<Box<Answering>> },
    /// The first change of an awaited job that is not in the store yet (see `awaited`): it
    /// is written with its hold and its creation's audit, in its changed state.
    CreateChanged { pending: Box<Pending>, change: Change },
}

/// What a write did: the generation as stored, and whether webhook deliveries were queued.
pub(super) struct Applied {
    pub generation: Generation,
    pub webhooks_queued: bool,
}

/// Writes `op` in `tx`. Every refusal (unknown or finished generation, missing upload, not
/// enough credits) is found before anything is written, so a refused op leaves the
/// transaction as it found it and the others of its batch can still commit. Credits
/// reserved by awaited jobs not yet written (`awaited`) are not available to a new hold.
pub(super) fn write(tx: &redb::WriteTransaction, op: Op, now: Timestamp, awaited: &Awaited) -> Result<Applied, LifecycleError> {
    match op {
        Op::Create { generation, audit, admission } => create(tx, *generation, &audit, awaited, *admission),
        Op::Apply { id, change, answering } => {
            let g = store::generations::get(tx, id)?.ok_or(LifecycleError::NotFound)?;
            apply(tx, g, change, now, None, answering.map(|a| *a))
        }
        Op::CreateChanged { pending, change } => {
            let Pending { generation, audit, hand_over } = *pending;
            // its owner may have been erased meanwhile: then nothing of the job is kept
            if store::users::get(tx, generation.owner)?.is_none() {
                return Err(LifecycleError::NotFound);
            }
            let hand_over = hand_over.filter(|_| matches!(change, Change::Answered { .. }));
            let applied = apply(tx, generation, change, now, Some(&audit), None)?;
            if let Some(template) = hand_over {
                record_hand_over(tx, &applied.generation, &template, now)?;
            }
            Ok(applied)
        }
    }
}

/// Records that the caller of the synchronous answer `g` was handed its outputs: `template`
/// once per output, as a fetch of it saved as a file.
fn record_hand_over(tx: &redb::WriteTransaction, g: &Generation, template: &AuditEvent, now: Timestamp) -> Result<(), StoreError> {
    for id in &g.outputs {
        let Some(asset) = store::assets::get(tx, *id)? else { continue };
        let event = AuditEvent {
            id: AuditId::generate(),
            at: now,
            target: Some(asset.id.to_string()),
            detail: Some(asset.download_detail(true)),
            ..template.clone()
        };
        store::audit::append(tx, &event)?;
    }
    Ok(())
}

/// Checks that a new generation may be created: each reference is one of its owner's
/// uploads or outputs, and the owner's available credits, less what their awaited jobs
/// reserve, cover its cost, and its cost stays within the owner's daily `limits`. Answers the
/// ledger deltas of its hold.
pub(super) fn check_create(
    tx: &redb::WriteTransaction,
    g: &Generation,
    awaited: &Awaited,
    limits: Option<&SpendCheck>,
) -> Result<(i64, i64), LifecycleError> {
    for r in &g.references {
        let asset = store::assets::get(tx, r.upload)?;
        // an upload, or one of the owner's outputs (a source video to extend, edit or
        // enhance; an earlier image as a reference or first frame)
        if !asset.is_some_and(|a| a.owner == g.owner && a.usable_as_reference()) {
            return Err(LifecycleError::UploadNotFound);
        }
    }
    if let Some(limits) = limits {
        check_limits(tx, g, limits, awaited)?;
    }
    let balance = store::credits::balance(tx, g.owner)?;
    let reserved = i64::try_from(awaited.reserved_by(g.owner)).map_err(|_| LifecycleError::Credits(CreditError::OutOfRange))?;
    let spendable = Balance { available: balance.available.saturating_sub(reserved), ..balance };
    spendable.hold(g.cost).map_err(LifecycleError::Credits)
}

/// Refuses a new generation whose cost would take its owner past a daily limit: what they
/// committed today (held or settled, not released, and what their awaited jobs reserve)
/// plus this cost, in all and on its model.
fn check_limits(tx: &redb::WriteTransaction, g: &Generation, limits: &SpendCheck, awaited: &Awaited) -> Result<(), LifecycleError> {
    let committed = store::spending::committed_since(tx, g.owner, limits.day_start)?;
    let spent = committed.values().sum::<u64>() + awaited.reserved_by(g.owner);
    let mut on_model = awaited.reserved_on(g.owner, &g.model);
    if limits.model_daily.is_some() {
        let ids: Vec<GenerationId> = committed.keys().copied().collect();
        for (found, cost) in store::generations::get_many(tx, &ids)?.into_iter().zip(committed.values()) {
            if found.is_some_and(|f| f.model == g.model) {
                on_model += cost;
            }
        }
    }
    limits.check(&g.model, g.cost, spent, on_model).map_err(LifecycleError::Limit)
}

fn create(
    tx: &redb::WriteTransaction,
    g: Generation,
    audit: &AuditEvent,
    awaited: &Awaited,
    admission: Admission,
) -> Result<Applied, LifecycleError> {
    let (available, held) = check_create(tx, &g, awaited, admission.limits.as_ref())?;
    store::credits::post(tx, g.owner, EntryKind::Hold, Some(g.id), available, held, None)?.map_err(LifecycleError::Credits)?;
    store::generations::put(tx, &g)?;
    store::audit::append(tx, audit)?;
    if let Some((approval, asked)) = &admission.approval {
        store::spending::put_approval(tx, approval)?;
        store::audit::append(tx, asked)?;
    }
    Ok(Applied { generation: g, webhooks_queued: false })
}

/// Applies `change` to `g` and stores it. With `created`, `g` is not in the store yet: its
/// hold is written first and `created` is its creation's audit. With `answering`, `g` must be
/// waiting for approval, and the answered request is written with the change.
fn apply(
    tx: &redb::WriteTransaction,
    mut g: Generation,
    change: Change,
    now: Timestamp,
    created: Option<&AuditEvent>,
    answering: Option<Answering>,
) -> Result<Applied, LifecycleError> {
    if g.state.is_terminal() {
        return Err(LifecycleError::AlreadyFinished);
    }
    if answering.is_some() && g.state != GenState::AwaitingApproval {
        return Err(LifecycleError::Transition { from: g.state, to: change.target().unwrap_or(g.state) });
    }
    if let Some(next) = change.target()
        && next != g.state
        && (!g.state.can_become(next) || !change.starts_from(g.state))
    {
        return Err(LifecycleError::Transition { from: g.state, to: next });
    }
    let cost = i64::try_from(g.cost).map_err(|_| LifecycleError::Credits(CreditError::OutOfRange))?;
    // the ledger entries come before any write: they are the last steps that can be refused
    // (a settle or release after a hold it follows cannot be)
    if created.is_some() {
        let (available, held) = store::credits::balance(tx, g.owner)?.hold(g.cost).map_err(LifecycleError::Credits)?;
        store::credits::post(tx, g.owner, EntryKind::Hold, Some(g.id), available, held, None)?.map_err(LifecycleError::Credits)?;
    }
    let ledger = match &change {
        Change::Succeeded { .. } | Change::Answered { .. } => Some((EntryKind::Settle, 0, -cost)),
        Change::Failed(_) | Change::Cancelled => Some((EntryKind::Release, cost, -cost)),
        _ => None,
    };
    if let Some((kind, available, held)) = ledger {
        store::credits::post(tx, g.owner, kind, Some(g.id), available, held, None)?.map_err(LifecycleError::Credits)?;
    }
    if let Some(audit) = created {
        store::audit::append(tx, audit)?;
    }
    if let Some(answering) = &answering {
        store::spending::put_approval(tx, &answering.approval)?;
        store::audit::append(tx, &answering.audit)?;
    }
    g.updated_at = now;
    let mut outputs: Vec<Asset> = Vec::new();
    match change {
        Change::Approved => {
            // the job's time starts now: its deadline is as long from here as it was at submit
            g.state = GenState::Queued;
            g.deadline_at = Timestamp(now.millis() + (g.deadline_at.millis() - g.created_at.millis()).max(0));
        }
        Change::Submitting => {
            g.state = GenState::Submitting;
            g.submitted_at = Some(now);
        }
        Change::Running { handle, progress } => {
            g.state = GenState::Running;
            g.upstream = Some(handle);
            g.progress = progress;
        }
        Change::Fetching { handle, outputs, usage } => {
            g.state = GenState::Fetching;
            g.upstream = Some(handle);
            g.pending_outputs = outputs;
            g.reported = usage.or(g.reported);
            g.progress = Some(100);
        }
        Change::Answered { handle, usage, assets, sealed } => {
            g.upstream = Some(handle);
            g.reported = usage.or(g.reported);
            g.progress = Some(100);
            outputs = stored_outputs(tx, &mut g, assets, &sealed)?;
        }
        Change::Succeeded { assets, sealed } => outputs = stored_outputs(tx, &mut g, assets, &sealed)?,
        Change::Failed(reason) => {
            g.state = GenState::Failed;
            g.reason = Some(reason);
            g.finished_at = Some(now);
        }
        Change::Cancelled => {
            g.state = GenState::Cancelled;
            g.reason = Some(Reason::new("cancelled", "Cancelled."));
            g.finished_at = Some(now);
        }
        Change::CancelRequested => g.cancel_requested = true,
    }
    store::generations::put(tx, &g)?;
    // the owner's webhooks hear of the end in the same transaction, so none is lost
    let webhooks_queued = queue_webhooks(tx, &g, &outputs, now)?;
    Ok(Applied { generation: g, webhooks_queued })
}

/// Stores a finished job's files (the records, and the small ones' age files) and marks it
/// succeeded now; answers its outputs (the posters are stored but are not outputs).
fn stored_outputs(
    tx: &redb::WriteTransaction,
    g: &mut Generation,
    assets: Vec<Asset>,
    sealed: &[SealedMedia],
) -> Result<Vec<Asset>, StoreError> {
    for asset in &assets {
        store::assets::put(tx, asset)?;
    }
    for media in sealed.iter().filter(|m| assets.iter().any(|a| a.id == m.asset)) {
        store::sealed_media::put(tx, media.asset, &media.file)?;
    }
    let outputs: Vec<Asset> = assets.into_iter().filter(|a| a.kind == AssetKind::Output).collect();
    g.outputs = outputs.iter().map(|a| a.id).collect();
    g.state = GenState::Succeeded;
    g.finished_at = Some(g.updated_at);
    Ok(outputs)
}

/// Queues the completion event of `g` (if now terminal) for each of its owner's webhooks.
/// `outputs` are its stored outputs (none unless it succeeded). Returns whether anything was
/// queued (then the delivery worker is woken after the commit).
fn queue_webhooks(tx: &redb::WriteTransaction, g: &Generation, outputs: &[Asset], now: Timestamp) -> Result<bool, StoreError> {
    let Some(event) = EventType::of(g.state) else { return Ok(false) };
    let hooks = store::webhooks::list_for_owner(tx, g.owner)?;
    for hook in &hooks {
        store::webhooks::enqueue(tx, &Delivery::new(hook, g, event, outputs, now))?;
    }
    Ok(!hooks.is_empty())
}
