//! Erasing everything a person made ("delete all my content") or their whole account.
//!
//! Asking is one transaction: the erasure is queued (and, for an account, the account is
//! disabled and signed out everywhere) together with its audit event. The work runs in the
//! background: running jobs are cancelled, every generation is deleted the crash-safe way
//! (`deletion`), uploads and the profile picture are removed; for an account, one last
//! transaction destroys the person's key (copies of their files become unreadable), tokens,
//! sessions, model overrides and the account itself, and leaves the ledger with only the
//! random account id. A crash leaves the queue row and the next start (or retention sweep)
//! finishes the work.

use std::time::Duration;

use super::audit::{self, Context};
use super::{ServiceError, ServiceResult, deletion, generations};
use crate::domain::asset::AssetKind;
use crate::domain::audit::AuditAction;
use crate::domain::ids::{AssetId, UserId};
use crate::domain::user::{InvalidInput, Role, User};
use crate::state::AppState;
use crate::store::erasures::Erasure;
use crate::store::{self, Tx};

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
            store::erasures::queue(tx, id, Erasure::Content)?;
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
            store::erasures::queue(tx, id, Erasure::Account)?;
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

fn spawn(state: &AppState, user: UserId) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run(&state, user).await {
            tracing::error!(error = %e, "an erasure stopped; the next start finishes it");
        }
    });
}

/// Starts every erasure a restart interrupted.
pub async fn resume(state: &AppState) -> ServiceResult<usize> {
    let pending = state.store.read(store::erasures::pending).await?;
    for (user, _) in &pending {
        spawn(state, *user);
    }
    Ok(pending.len())
}

/// Does the queued erasure of `user`, if any. Safe to repeat.
pub async fn run(state: &AppState, user: UserId) -> ServiceResult<()> {
    let Some(kind) = pending(state, user).await? else { return Ok(()) };
    let Some(person) = state.store.read(move |tx| store::users::get(tx, user)).await? else {
        return state.store.write(move |tx| store::erasures::done(tx, user).map_err(ServiceError::from)).await;
    };
    stop_jobs(state, &person).await?;
    delete_generations(state, user).await?;
    delete_files(state, user).await?;
    state
        .store
        .write(move |tx| {
            match kind {
                Erasure::Content => {
                    if let Some(mut u) = store::users::get(tx, user)? {
                        u.avatar = None;
                        u.bio.clear();
                        store::users::put(tx, &u)?;
                    }
                }
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

/// Cancels the person's queued and running jobs and waits (bounded) until every one ended.
async fn stop_jobs(state: &AppState, person: &User) -> ServiceResult<()> {
    let owner = person.id;
    let deadline = tokio::time::Instant::now() + JOBS_GRACE;
    loop {
        let active: Vec<_> = state.store.read(store::generations::active).await?.into_iter().filter(|g| g.owner == owner).collect();
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

/// Deletes every generation of `user`, a page at a time.
async fn delete_generations(state: &AppState, user: UserId) -> ServiceResult<()> {
    let ctx = Context::system();
    loop {
        let page = state.store.read(move |tx| store::generations::list_for_owner(tx, user, None, PAGE)).await?;
        if page.is_empty() {
            return Ok(());
        }
        let ids: Vec<_> = page.iter().map(|g| g.id).collect();
        // every one is marked afterwards (now or by an earlier, interrupted run)
        deletion::mark_many(state, &ctx, ids.clone()).await?;
        deletion::finish_many(state, ids).await?;
    }
}

/// Removes the person's data export, uploads, profile picture and other files: record
/// first, then the file (a crash between leaves an orphan file that the GC removes).
async fn delete_files(state: &AppState, user: UserId) -> ServiceResult<()> {
    state.store.write(move |tx| store::exports::remove(tx, user).map_err(ServiceError::from)).await?;
    let owned: Vec<AssetId> = state
        .store
        .read(move |tx| {
            let mut ids = Vec::new();
            store::assets::each(tx, |a| {
                if a.owner == user && a.kind != AssetKind::Output && a.kind != AssetKind::Poster {
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
    store::tokens::remove_all_for_user(tx, user)?;
    store::webhooks::remove_all_for_user(tx, user)?;
    store::sessions::remove_all_for_user(tx, user)?;
    for mut policy in store::model_policies::list(tx)? {
        if policy.people.remove(&user).is_some() {
            store::model_policies::put(tx, &policy)?;
        }
    }
    if let Some(u) = store::users::get(tx, user)? {
        store::users::remove(tx, &u)?;
    }
    Ok(())
}
