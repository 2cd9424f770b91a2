//! Retention: what expires (the plan) and the sweep that removes it (the run).
//!
//! Indexed classes (uploads, outputs, failed generations) are read from the expiry index,
//! keyed by when each item's clock started; the cutoff is `now - period in force`, so a
//! period changed in config applies at the next sweep with nothing to re-derive (the lazy
//! choice: expiry = anchor + current period, computed when read). Audit events are keyed
//! by time already; address truncation keeps a watermark. Sessions and links are few and
//! scanned whole. Generations go through [`deletion`] (mark, files, records), so a sweep
//! killed midway is finished by the next one; expired data exports are removed; the
//! orphan-file GC runs, then the copies of the store taken before migrations expire (they are
//! listed in plans and counted among the files removed).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::RetentionConfig;
use crate::domain::audit::AuditAction;
use crate::domain::generation::Generation;
use crate::domain::ids::{AssetId, GenerationId};
use crate::domain::retention::{Class, Counts, RetentionRun, truncate_address};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, privacy::deletion, privacy::erasure, privacy::export, team::gc};
use crate::store::{self, StoreError, Tx};

/// Rows handled per write transaction, so a long sweep never holds the writer for long.
const BATCH: usize = 1000;

/// Only one sweep runs at a time in a process.
static SWEEP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One item the sweep removes.
#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    pub class: &'static str,
    pub id: String,
    pub owner: String,
    /// When the item's clock started (finished or uploaded).
    pub since: Timestamp,
}

/// What the next sweep would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub at: Timestamp,
    pub counts: Counts,
    pub items: Vec<PlanItem>,
}

/// The retention period of a class (zero keeps forever).
pub fn period(config: &RetentionConfig, class: Class) -> Duration {
    match class {
        Class::Upload => config.uploads,
        Class::Output => config.outputs,
        Class::Failed => config.failed,
    }
}

/// When a generation expires under `config`, or `None` when it does not (still running,
/// kept, on hold, or its class is kept forever). The owner's legal hold is the caller's
/// to check.
pub fn expires_at(config: &RetentionConfig, g: &Generation) -> Option<Timestamp> {
    let (anchor, code, _) = store::expiry::generation_key(g)?;
    let class = Class::from_code(code)?;
    let period = period(config, class);
    (!period.is_zero() && !g.kept && !g.legal_hold).then(|| Timestamp(anchor).plus(period))
}

/// Whether `g` is on at least one kept board: retention spares it, whatever its class says.
/// A store that cannot be read counts as kept (nothing is promised to expire).
pub fn kept_by_board(state: &AppState, id: GenerationId) -> bool {
    state.store.read_now(|tx| store::boards::on_kept_board(tx, id)).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the boards of a generation");
        true
    })
}

/// Whole days until retention deletes `g`, as its owner `viewer` is told (`None` when it
/// will not: kept, on a kept board, on hold, kept forever, or not theirs).
pub fn days_left(state: &AppState, viewer: &User, g: &Generation, now: Timestamp) -> Option<i64> {
    if g.owner != viewer.id || viewer.legal_hold {
        return None;
    }
    let expires = expires_at(&state.config.retention, g)?;
    if kept_by_board(state, g.id) {
        return None;
    }
    let left = expires.millis() - now.millis();
    Some((left.max(0) + DAY_MS - 1) / DAY_MS)
}

/// How soon before an output's deletion its owner is warned.
pub const WARN_DAYS: i64 = 7;
const DAY_MS: i64 = 86_400_000;

/// How many of `user`'s outputs retention deletes within [`WARN_DAYS`] of `now`: a range
/// read of the expiry index over that window only.
pub async fn expiring_soon(state: &AppState, user: &User, now: Timestamp) -> ServiceResult<u64> {
    let period = state.config.retention.outputs;
    if period.is_zero() || user.legal_hold {
        return Ok(0);
    }
    let (from, until) = (now.minus(period), now.minus(period).plus(Duration::from_millis((WARN_DAYS * DAY_MS) as u64)));
    let owner = user.id;
    state
        .store
        .read(move |tx| {
            let mut count = 0;
            for key in store::expiry::started_between(tx, Class::Output, from, until)? {
                let g = store::generations::get(tx, GenerationId::from_key(key))?;
                if g.is_some_and(|g| g.owner == owner && !g.kept && !g.legal_hold && g.deleted_at.is_none())
                    && !store::boards::on_kept_board(tx, GenerationId::from_key(key))?
                {
                    count += 1;
                }
            }
            Ok::<_, ServiceError>(count)
        })
        .await
}

/// The cutoff of a class at `now`: items whose clock started before it are due.
fn cutoff(config: &RetentionConfig, class: Class, now: Timestamp) -> Option<Timestamp> {
    let period = period(config, class);
    (!period.is_zero()).then(|| now.minus(period))
}

/// The smallest audit key at or after `t` (audit ids are ULIDs: time in the top 48 bits).
fn audit_key(t: Timestamp) -> u128 {
    (t.millis().max(0) as u128) << 80
}

/// The due, non-exempt items of the indexed classes at `now`.
fn due_items(tx: &impl Tx, config: &RetentionConfig, now: Timestamp) -> Result<Vec<(Class, PlanItem)>, StoreError> {
    let active: Vec<Generation> = store::generations::active(tx)?;
    let mut owners = deletion::HeldOwners::default();
    let mut out = Vec::new();
    for class in Class::ALL {
        let Some(cutoff) = cutoff(config, class, now) else { continue };
        for key in store::expiry::due(tx, class, cutoff, usize::MAX)? {
            let item = match class {
                Class::Upload => {
                    let Some(a) = store::assets::get(tx, AssetId::from_key(key))? else { continue };
                    let in_use = active.iter().any(|g| g.references.iter().any(|r| r.upload == a.id));
                    // a cast member's or a preset's file is kept while they exist
                    if in_use
                        || store::cast::is_held(tx, a.id)?
                        || owners.held(tx, a.owner)?
                        || store::generations::held_one_uses(tx, a.owner, a.id, a.created_at)?
                    {
                        continue;
                    }
                    PlanItem { class: class.as_str(), id: a.id.to_string(), owner: a.owner.to_string(), since: a.created_at }
                }
                Class::Output | Class::Failed => {
                    let Some(g) = store::generations::get(tx, GenerationId::from_key(key))? else { continue };
                    if g.kept
                        || g.legal_hold
                        || g.deleted_at.is_some()
                        || owners.held(tx, g.owner)?
                        || store::boards::on_kept_board(tx, g.id)?
                    {
                        continue;
                    }
                    let since = g.finished_at.unwrap_or(g.created_at);
                    PlanItem { class: class.as_str(), id: g.id.to_string(), owner: g.owner.to_string(), since }
                }
            };
            out.push((class, item));
        }
    }
    Ok(out)
}

/// The class name of a copy of the store taken before a migration, in plans.
const PRE_MIGRATION_COPY: &str = "pre-migration copy";

/// The copies of the store taken before migrations that are older than
/// `retention.pre_migration_copies` at `now` (none when that is zero: kept forever).
async fn due_copies(state: &AppState, now: Timestamp) -> ServiceResult<Vec<store::backup::UpgradeCopy>> {
    let Some(period) = nonzero(state.config.retention.pre_migration_copies) else { return Ok(Vec::new()) };
    let data_dir = state.config.data_dir.clone();
    let copies = tokio::task::spawn_blocking(move || store::backup::upgrade_copies(&data_dir))
        .await
        .map_err(|_| ServiceError::Internal("listing the pre-migration copies stopped".into()))?
        .map_err(|e| ServiceError::Internal(format!("listing the pre-migration copies: {e}")))?;
    let cutoff = system_time(now.minus(period));
    Ok(copies.into_iter().filter(|c| c.written < cutoff).collect())
}

fn copy_item(copy: &store::backup::UpgradeCopy) -> PlanItem {
    let millis = copy.written.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    PlanItem { class: PRE_MIGRATION_COPY, id: copy.name.clone(), owner: "-".into(), since: Timestamp(millis) }
}

/// What a sweep at `now` would remove.
pub async fn plan(state: &AppState, now: Timestamp) -> ServiceResult<Plan> {
    let config = state.config.retention.clone();
    let policy = state.session_policy();
    let (mut items, mut counts) = state
        .store
        .read(move |tx| {
            let items = due_items(tx, &config, now)?;
            let mut counts = Counts::default();
            for (class, _) in &items {
                counts.add(*class);
            }
            if let Some(p) = nonzero(config.audit) {
                counts.audit = store::audit::count_before(tx, audit_key(now.minus(p)))?;
            }
            if let Some(p) = nonzero(config.client_addresses) {
                let from = store::retention_runs::addresses_until(tx)?;
                counts.client_addresses = store::audit::count_untruncated(tx, from, audit_key(now.minus(p)), truncate_address)?;
            }
            counts.sessions = store::sessions::expired(tx, policy, now)?.len() as u64;
            counts.invitations = store::links::expired(tx, now)?.len() as u64;
            Ok::<_, ServiceError>((items.into_iter().map(|(_, i)| i).collect::<Vec<_>>(), counts))
        })
        .await?;
    counts.orphan_files = gc::orphans(state, system_time(now)).await?.len() as u64;
    items.extend(due_copies(state, now).await?.iter().map(copy_item));
    Ok(Plan { at: now, counts, items })
}

fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

fn system_time(t: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(t.millis().max(0) as u64)
}

/// Runs a sweep at `now`, records it and returns the record. `trigger` names its cause.
pub async fn run(state: &AppState, trigger: &str, now: Timestamp) -> ServiceResult<RetentionRun> {
    let _running = SWEEP.lock().await;
    let started = Instant::now();
    let mut counts = Counts::default();
    let outcome = sweep(state, now, &mut counts).await;
    let record = RetentionRun {
        started_at: now,
        duration_ms: started.elapsed().as_millis() as u64,
        trigger: trigger.to_string(),
        counts,
        error: outcome.as_ref().err().map(ToString::to_string),
    };
    state.metrics.retention_deleted(record.counts.files);
    let saved = record.clone();
    state
        .store
        .write(move |tx| {
            store::retention_runs::append(tx, &saved)?;
            let detail = saved.counts.rows().iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
            audit::record(tx, &Context::system(), AuditAction::RetentionRun, None, Some(detail))?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    tracing::info!(trigger, duration_ms = record.duration_ms, ?record.counts, "retention sweep done");
    outcome.map(|()| record)
}

/// The work of a run; counts what it removed as it goes, so a failure still records them.
async fn sweep(state: &AppState, now: Timestamp, counts: &mut Counts) -> ServiceResult<()> {
    deletion::resume(state).await?;
    // an erasure that gave up waiting for a job (it finishes at the next start) is retried here too
    erasure::resume(state).await?;
    // a deleted board's presets and cast hold nothing any more
    crate::services::studio::cast::forget_deleted_boards(state).await?;
    let config = state.config.retention.clone();
    let items = state.store.read(move |tx| due_items(tx, &config, now)).await?;
    let ctx = Context::system();
    let mut generations: Vec<(Class, GenerationId)> = Vec::new();
    for (class, item) in items {
        match class {
            Class::Output | Class::Failed => {
                let id = item.id.parse().map_err(|_| ServiceError::Internal("bad generation id in the plan".into()))?;
                generations.push((class, id));
            }
            Class::Upload => {
                let id: AssetId = item.id.parse().map_err(|_| ServiceError::Internal("bad asset id in the plan".into()))?;
                // record first, file second: a crash between leaves an orphan file for the GC
                if state.store.write(move |tx| remove_upload_unless_held(tx, id)).await? {
                    counts.add(class);
                    if state.media.delete(&id.to_string()).await.map_err(|e| ServiceError::Internal(format!("removing an upload: {e}")))? {
                        counts.files += 1;
                    }
                }
            }
        }
    }
    // generations go a batch per transaction, in the crash-safe order of a single deletion;
    // a hold set since the plan was read is seen by the transaction that marks
    for batch in generations.chunks(deletion::BATCH) {
        let marked = deletion::mark_many(state, &ctx, batch.iter().map(|(_, id)| *id).collect(), deletion::Holds::Skip).await?;
        counts.files += deletion::finish_many(state, marked.clone()).await?;
        for (class, id) in batch {
            if marked.contains(id) {
                counts.add(*class);
            }
        }
    }
    let retention = state.config.retention.clone();
    if let Some(p) = nonzero(retention.audit) {
        let cut = audit_key(now.minus(p));
        loop {
            let n = state.store.write(move |tx| store::audit::remove_before(tx, cut, BATCH).map_err(ServiceError::from)).await?;
            counts.audit += n as u64;
            if n < BATCH {
                break;
            }
        }
    }
    if let Some(p) = nonzero(retention.client_addresses) {
        let cut = audit_key(now.minus(p));
        loop {
            let (n, more) = state
                .store
                .write(move |tx| {
                    let from = store::retention_runs::addresses_until(tx)?;
                    let (n, next) = store::audit::truncate_addresses(tx, from, cut.max(from), BATCH, truncate_address)?;
                    store::retention_runs::set_addresses_until(tx, next.unwrap_or(cut.max(from)))?;
                    Ok::<_, ServiceError>((n, next.is_some()))
                })
                .await?;
            counts.client_addresses += n as u64;
            if !more {
                break;
            }
        }
    }
    let policy = state.session_policy();
    let (sessions, links) = state
        .store
        .write(move |tx| {
            let sessions = store::sessions::expired(tx, policy, now)?;
            for hash in &sessions {
                store::sessions::remove(tx, hash)?;
            }
            let links = store::links::expired(tx, now)?;
            for hash in &links {
                store::links::remove(tx, hash)?;
            }
            Ok::<_, ServiceError>((sessions.len(), links.len()))
        })
        .await?;
    counts.sessions = sessions as u64;
    counts.invitations = links as u64;
    counts.files += export::sweep_expired(state, now).await?;
    let orphans = gc::collect(state, system_time(now)).await?;
    counts.orphan_files = orphans;
    counts.files += orphans;
    for copy in due_copies(state, now).await? {
        match tokio::fs::remove_file(&copy.path).await {
            Ok(()) => {
                tracing::info!(copy = %copy.path.display(), "retention removed a pre-migration copy of the store");
                counts.files += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ServiceError::Internal(format!("removing {}: {e}", copy.path.display()))),
        }
    }
    Ok(())
}

/// Removes an expired upload's record unless its owner, or a generation made from it, was put
/// on legal hold, or a cast member or preset took it, since the plan was read; returns whether
/// it removed one.
fn remove_upload_unless_held(tx: &redb::WriteTransaction, id: AssetId) -> ServiceResult<bool> {
    let Some(upload) = store::assets::get(tx, id)? else { return Ok(false) };
    if deletion::HeldOwners::default().held(tx, upload.owner)?
        || store::cast::is_held(tx, id)?
        || store::generations::held_one_uses(tx, upload.owner, id, upload.created_at)?
    {
        return Ok(false);
    }
    Ok(store::assets::remove(tx, id)?)
}

/// The newest recorded runs, newest first.
pub async fn latest_runs(state: &AppState, limit: usize) -> ServiceResult<Vec<RetentionRun>> {
    Ok(state.store.read(move |tx| store::retention_runs::latest(tx, limit)).await?)
}

/// A plan or run as terminal text.
pub fn describe(counts: &Counts, items: &[PlanItem]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (label, n) in counts.rows() {
        let _ = writeln!(out, "{label:<18} {n}");
    }
    for item in items {
        let _ = writeln!(out, "  {:<8} {}  owner {}  since {}", item.class, item.id, item.owner, item.since.rfc3339());
    }
    out
}
