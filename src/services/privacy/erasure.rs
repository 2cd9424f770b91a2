//! Erasing everything a person made ("delete all my content") or their whole account.
//!
//! Asking is one transaction: the erasure is queued (and, for an account, the account is
//! disabled and signed out everywhere) together with its audit event. The work runs in the
//! background: running jobs are cancelled, every generation is deleted the crash-safe way
//! (`deletion`), uploads and the profile picture are removed; for an account, the audit log
//! keeps only the bare account id where it named the person or their client, and one last
//! transaction destroys the person's key (copies of their files become unreadable), tokens,
//! sessions, model overrides and the account itself, and leaves the ledger with only the
//! random account id. A crash leaves the queue row and the next start (or retention sweep)
//! finishes the work.
//!
//! A legal hold (on an item, or on the person) binds an erasure too: it does everything
//! else and leaves the held items, the uploads they were made from, the person's key and a
//! minimal record (an account keeps only its id, e-mail and key; no sign-in, token or
//! webhook) with the erasure still queued. Lifting the hold, or the next sweep, finishes it.
//! A content erasure covers what existed when it was asked; later work is not touched.

use std::collections::HashSet;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::domain::asset::AssetKind;
use crate::domain::audit::AuditAction;
use crate::domain::board::Owner;
use crate::domain::ids::{AssetId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{InvalidInput, Role, User};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::team::jobs::Consumer;
use crate::services::{ServiceError, ServiceResult, privacy::deletion, studio::generations};
/// What an erasure removes: the person's content, or their whole account.
pub use crate::store::erasures::Erasure;
use crate::store::{self, Tx};
use crate::workers::{self, Worker, WorkerResult};

/// How long an erasure waits for its running jobs to end before it leaves the rest to
/// the next start.
const JOBS_GRACE: Duration = Duration::from_secs(120);
/// How often it looks while it waits.
const JOBS_POLL: Duration = Duration::from_millis(200);
/// Generations deleted per read of the owner index (one transaction per step).
const PAGE: usize = deletion::BATCH;

/// A signed-in person deletes all their content (the account stays). Needs their password.
pub async fn erase_content(state: &AppState, ctx: &Context, user: &User, password: &str) -> ServiceResult<()> {
    confirm(state, ctx, user, password).await?;
    let (ctx, id) = (ctx.clone(), user.id);
    state
        .store
        .write(move |tx| {
            store::erasures::queue(tx, id, Erasure::Content, Timestamp::now())?;
            audit::record(tx, &ctx, AuditAction::ContentDeleted, Some(id.to_string()), None)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    spawn(state, id);
    Ok(())
}

/// A signed-in person deletes their account. Needs their password. The account is disabled
/// and signed out at once; its content and key are destroyed in the background.
pub async fn delete_account(state: &AppState, ctx: &Context, user: &User, password: &str) -> ServiceResult<()> {
    confirm(state, ctx, user, password).await?;
    let (ctx, id) = (ctx.clone(), user.id);
    state
        .store
        .write(move |tx| {
            let mut user = store::users::get(tx, id)?.ok_or(ServiceError::NotFound("user"))?;
            if user.role == Role::Admin && !another_enabled_admin(tx, id)? {
                return Err(ServiceError::Conflict("you are the last enabled admin; make someone else an admin first"));
            }
            user.disabled = true;
            store::users::put(tx, &user)?;
            store::sessions::remove_all_for_user(tx, id)?;
            store::erasures::queue(tx, id, Erasure::Account, Timestamp::now())?;
            audit::record(tx, &ctx, AuditAction::AccountDeleted, Some(id.to_string()), None)?;
            Ok(())
        })
        .await?;
    spawn(state, id);
    Ok(())
}

async fn confirm(state: &AppState, ctx: &Context, user: &User, password: &str) -> ServiceResult<()> {
    if state.passwords.verify(ctx.client.address.as_deref(), password, Some(&user.password_hash)).await? {
        Ok(())
    } else {
        Err(InvalidInput("the password is not correct").into())
    }
}

fn another_enabled_admin(tx: &impl Tx, other_than: UserId) -> ServiceResult<bool> {
    Ok(store::users::list(tx)?.iter().any(|u| u.id != other_than && u.role == Role::Admin && !u.disabled))
}

/// Whether `user` has an erasure that has not finished yet.
pub async fn pending(state: &AppState, user: UserId) -> ServiceResult<Option<Erasure>> {
    Ok(state.store.read(move |tx| store::erasures::get(tx, user)).await?)
}

/// Runs `user`'s erasure in the background, if one is queued (when a hold that kept it
/// waiting is lifted).
pub fn resume_for(state: &AppState, user: UserId) {
    spawn(state, user);
}

/// Hands `user`'s erasure to the erasures worker.
fn spawn(state: &AppState, user: UserId) {
    if !state.jobs.erasures.enqueue(user) {
        tracing::warn!(user = %user, "erasures do not run now; the erasure finishes at the next start");
    }
}

/// Starts the erasures worker under the app's supervisor (once).
pub fn start(state: &AppState) {
    let Some(erasures) = state.jobs.erasures.consumer() else { return };
    let worker = state.clone();
    state.workers.spawn(Worker::new("erasures"), move |ctx| work(worker.clone(), erasures.clone(), ctx));
}

/// The erasures worker: runs each erasure handed to it on a task of its own (one may wait
/// long for running jobs) and joins them; at shutdown the unfinished ones are cut off (the
/// queue row stays and the next start finishes them).
async fn work(state: AppState, erasures: Consumer<UserId>, ctx: workers::Context) -> WorkerResult {
    let mut running = JoinSet::new();
    loop {
        if running.is_empty() {
            ctx.idle();
        } else {
            ctx.working();
        }
        tokio::select! {
            user = erasures.next() => match user {
                Some(user) => {
                    let state = state.clone();
                    running.spawn(async move { run(&state, user).await });
                }
                None => break,
            },
            Some(done) = running.join_next() => {
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "an erasure stopped; the next start finishes it"),
                    Err(e) if e.is_panic() => tracing::error!("an erasure panicked; the next start finishes it"),
                    Err(_) => {}
                }
                ctx.ran();
            }
            _ = ctx.stopped() => break,
        }
    }
    running.shutdown().await;
    Ok(())
}

/// Starts every erasure a restart interrupted.
pub async fn resume(state: &AppState) -> ServiceResult<usize> {
    let pending = state.store.read(store::erasures::pending).await?;
    for (user, _) in &pending {
        spawn(state, *user);
    }
    Ok(pending.len())
}

/// Does the queued erasure of `user`, if any. Safe to repeat. While a legal hold keeps
/// something, it does the rest and leaves the erasure queued.
pub async fn run(state: &AppState, user: UserId) -> ServiceResult<()> {
    let Some(kind) = pending(state, user).await? else { return Ok(()) };
    let Some(person) = state.store.read(move |tx| store::users::get(tx, user)).await? else {
        return state.store.write(move |tx| store::erasures::done(tx, user).map_err(ServiceError::from)).await;
    };
    // a content erasure covers what existed when it was asked
    let until = state.store.read(move |tx| store::erasures::asked_at(tx, user)).await?;
    stop_jobs(state, &person, until).await?;
    let held = delete_generations(state, user, until).await?;
    let waiting = person.legal_hold || held > 0;
    delete_files(state, &person, until).await?;
    if waiting {
        state.store.write(move |tx| leave_minimal_record(tx, user, kind)).await?;
        tracing::info!(user = %user, held, "erasure waits for a legal hold; it finishes once the hold is lifted");
        return Ok(());
    }
    if kind == Erasure::Account {
        audit::forget_person(&state.store, user, person.email.to_string()).await?;
    }
    state
        .store
        .write(move |tx| {
            match kind {
                Erasure::Content => leave_minimal_record(tx, user, kind)?,
                Erasure::Account => forget_account(tx, user)?,
            }
            store::erasures::done(tx, user)?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    if kind == Erasure::Account {
        state.keyring.forget(user);
    }
    tracing::info!(user = %user, account = kind == Erasure::Account, "erasure finished");
    Ok(())
}

/// The profile an erasure leaves (a finished content erasure, or one waiting for a legal
/// hold): no bio, no picture once its file is gone; for an account also no name and
/// nothing to act with (sessions, tokens, webhooks, model overrides). The key stays: held
/// files must still be readable.
fn leave_minimal_record(tx: &redb::WriteTransaction, user: UserId, kind: Erasure) -> ServiceResult<()> {
    let Some(mut u) = store::users::get(tx, user)? else { return Ok(()) };
    u.bio.clear();
    if let Some(avatar) = u.avatar
        && store::assets::get(tx, avatar)?.is_none()
    {
        u.avatar = None;
    }
    if kind == Erasure::Account {
        u.name.clear();
        forget_access(tx, user)?;
    }
    store::users::put(tx, &u)?;
    Ok(())
}

/// Cancels the person's queued and running jobs (those made up to `until`, when given) and
/// waits (bounded) until every one ended.
async fn stop_jobs(state: &AppState, person: &User, until: Option<Timestamp>) -> ServiceResult<()> {
    let owner = person.id;
    let deadline = tokio::time::Instant::now() + JOBS_GRACE;
    loop {
        let active: Vec<_> = state
            .store
            .read(store::generations::active)
            .await?
            .into_iter()
            .filter(|g| g.owner == owner && until.is_none_or(|t| g.created_at <= t))
            .collect();
        if active.is_empty() {
            return Ok(());
        }
        for g in &active {
            if g.state.is_cancellable() && !g.cancel_requested {
                match generations::cancel(state, person, g.id).await {
                    Ok(_) | Err(ServiceError::Conflict(_) | ServiceError::AlreadyFinished | ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ServiceError::Conflict("some generations are still running; the erasure finishes at the next start"));
        }
        tokio::time::sleep(JOBS_POLL).await;
    }
}

/// Deletes every generation of `user` (made up to `until`, when given), a page at a time,
/// except those on legal hold; returns how many it left for a hold.
async fn delete_generations(state: &AppState, user: UserId, until: Option<Timestamp>) -> ServiceResult<usize> {
    let ctx = Context::system();
    let (mut before, mut held) = (None, 0);
    loop {
        let page = state.store.read(move |tx| store::generations::list_for_owner(tx, user, before, PAGE)).await?;
        let Some(last) = page.last() else { return Ok(held) };
        before = Some(last.id);
        let ids: Vec<_> = page.iter().filter(|g| until.is_none_or(|t| g.created_at <= t)).map(|g| g.id).collect();
        let asked = ids.len();
        let marked = deletion::mark_many(state, &ctx, ids, deletion::Holds::Skip).await?;
        held += asked - marked.len();
        deletion::finish_many(state, marked).await?;
    }
}

/// Removes the person's data export, presets, cast, batches, uploads, profile picture and other files (made up to
/// `until`, when given): record first, then the file (a crash between leaves an orphan file
/// that the GC removes). Under a legal hold of the person, only the export goes; uploads a
/// held generation was made from stay with it.
async fn delete_files(state: &AppState, person: &User, until: Option<Timestamp>) -> ServiceResult<()> {
    let user = person.id;
    state.store.write(move |tx| store::exports::remove(tx, user).map_err(ServiceError::from)).await?;
    if person.legal_hold {
        return Ok(());
    }
    // their presets and cast go first, so nothing holds their uploads any more
    state
        .store
        .write(move |tx| {
            store::presets::remove_all_for(tx, Owner::Person(user))?;
            store::batches::remove_for_owner(tx, user)?;
            store::cast::remove_all_for(tx, Owner::Person(user)).map_err(ServiceError::from)
        })
        .await?;
    let owned: Vec<AssetId> = state
        .store
        .read(move |tx| {
            // what remains of theirs now is held, or newer than a content erasure
            let kept: HashSet<AssetId> = store::generations::list_for_owner(tx, user, None, usize::MAX)?
                .iter()
                .flat_map(|g| g.references.iter().map(|r| r.upload))
                .collect();
            let mut ids = Vec::new();
            store::assets::each(tx, |a| {
                let erased = a.kind != AssetKind::Output && a.kind != AssetKind::Poster;
                if a.owner == user && erased && !kept.contains(&a.id) && until.is_none_or(|t| a.created_at <= t) {
                    ids.push(a.id);
                }
                Ok(())
            })?;
            Ok::<_, ServiceError>(ids)
        })
        .await?;
    for id in owned {
        state.store.write(move |tx| store::assets::remove(tx, id).map_err(ServiceError::from)).await?;
        state.media.delete(&id.to_string()).await.map_err(|e| ServiceError::Internal(format!("removing a file: {e}")))?;
    }
    Ok(())
}

/// The account's last transaction: key, tokens, sessions, overrides and the record itself.
/// Ledger entries and the balance stay under the bare account id for the accounts.
fn forget_account(tx: &redb::WriteTransaction, user: UserId) -> ServiceResult<()> {
    store::user_keys::destroy(tx, user)?;
    store::preferences::remove(tx, user)?;
    store::notices::remove_all_for_user(tx, user)?;
    store::oidc::unlink_user(tx, user)?;
    forget_access(tx, user)?;
    if let Some(u) = store::users::get(tx, user)? {
        store::users::remove(tx, &u)?;
    }
    Ok(())
}

/// Everything a person acts with or through: tokens, webhooks, sessions, model overrides,
/// board memberships.
fn forget_access(tx: &redb::WriteTransaction, user: UserId) -> ServiceResult<()> {
    crate::services::studio::boards::forget_person(tx, user)?;
    store::tokens::remove_all_for_user(tx, user)?;
    store::webhooks::remove_all_for_user(tx, user)?;
    store::shares::remove_made_by(tx, user)?;
    store::batches::remove_for_owner(tx, user)?;
    store::sessions::remove_all_for_user(tx, user)?;
    for mut policy in store::model_policies::list(tx)? {
        if policy.people.remove(&user).is_some() {
            store::model_policies::put(tx, &policy)?;
        }
    }
    Ok(())
}
