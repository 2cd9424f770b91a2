//! "Export my data": a person asks ([`request`]), the scheduler's worker writes the archive
//! ([`run`]: ZIP writer -> age encryption to the person's key -> a file in the vault, never
//! the whole archive in memory), and a fresh signed link downloads it until it expires
//! ([`latest`]). One export per person at a time; a new one replaces the previous one.
//! After a restart an unfinished export starts again or fails ([`resume`]); finished ones
//! are removed [`KEEP_FOR`] after they finished ([`sweep_expired`], run by retention).

mod contents;

pub use contents::FORMAT;

use crate::domain::asset::{Asset, AssetKind};
use crate::domain::audit::AuditAction;
pub use crate::domain::export::KEEP_FOR;
use crate::domain::export::{Export, ExportState};
use crate::domain::ids::{AssetId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::team::jobs::Job;
use crate::services::{ServiceError, ServiceResult, privacy::archive, studio::media};
use crate::store;

/// What a person is told when writing their export failed (the details are logged).
const FAILED: &str = "The export could not be written; try again, or ask an admin to look at the logs.";

/// The content type of an export archive.
pub const CONTENT_TYPE: &str = "application/zip";

/// A person's latest export and, once it is ready, a freshly signed download path.
#[derive(Debug, Clone)]
pub struct Status {
    pub export: Export,
    /// `/media/<id>?exp=…&kid=…&sig=…&download=1`, while ready.
    pub path: Option<String>,
    /// When that link stops working (at most [`media::URL_TTL`] from now, never after the
    /// export expires).
    pub path_expires_at: Option<Timestamp>,
}

/// Starts an export of everything of `user`'s, or returns the one still unfinished.
/// The second value says whether a new export was started.
pub async fn request(state: &AppState, ctx: &Context, user: &User) -> ServiceResult<(Export, bool)> {
    let (owner, email, ctx) = (user.id, user.email.to_string(), ctx.clone());
    let now = Timestamp::now();
    let (export, started, replaced) = state
        .store
        .write(move |tx| {
            let previous = store::exports::get(tx, owner)?;
            if let Some(running) = previous.as_ref().filter(|e| e.state.is_unfinished()) {
                return Ok::<_, ServiceError>((running.clone(), false, None));
            }
            // record first, file second: a crash between leaves an orphan file for the GC
            let replaced = previous.and_then(|e| e.asset);
            if let Some(asset) = replaced {
                store::assets::remove(tx, asset)?;
            }
            let export = Export::requested(owner, now);
            store::exports::put(tx, &export)?;
            audit::record(tx, &ctx, AuditAction::ExportRequested, Some(email), None)?;
            Ok((export, true, replaced))
        })
        .await?;
    if let Some(asset) = replaced {
        remove_file(state, asset).await;
    }
    if started && !state.jobs.scheduled.enqueue(Job::Export(owner)) {
        tracing::warn!(user = %owner, "the scheduler is not running; the export starts at the next start");
    }
    Ok((export, started))
}

/// The latest export of `owner`, if any (an expired one counts as none).
pub async fn latest(state: &AppState, owner: UserId) -> ServiceResult<Option<Status>> {
    let now = Timestamp::now();
    let found = state
        .store
        .read(move |tx| {
            let Some(export) = store::exports::get(tx, owner)?.filter(|e| !e.is_expired(now)) else { return Ok(None) };
            let asset = match (export.state, export.asset) {
                (ExportState::Ready, Some(id)) => store::assets::get(tx, id)?,
                _ => None,
            };
            Ok::<_, ServiceError>(Some((export, asset)))
        })
        .await?;
    let Some((export, asset)) = found else { return Ok(None) };
    let link = asset.zip(export.expires_at()).map(|(asset, expires)| {
        let until = now.plus(media::URL_TTL).min(expires);
        (format!("{}&download=1", media::signed_path_until(state, &asset, until)), until)
    });
    let (path, path_expires_at) = link.unzip();
    Ok(Some(Status { export, path, path_expires_at }))
}

/// Writes the queued export of `owner` (the scheduler's worker calls this). Does nothing
/// when there is no queued export. Dropping the future stops the writer and leaves no file
/// behind; the record stays `running` and [`resume`] takes it up at the next start.
pub async fn run(state: &AppState, owner: UserId) -> ServiceResult<()> {
    let started = state
        .store
        .write(move |tx| {
            let Some(mut export) = store::exports::get(tx, owner)?.filter(|e| e.state == ExportState::Queued) else {
                return Ok::<_, ServiceError>(None);
            };
            export.start(Timestamp::now());
            store::exports::put(tx, &export)?;
            Ok(Some(export))
        })
        .await?;
    let Some(export) = started else { return Ok(()) };
    let requested_at = export.requested_at;
    let outcome = write_archive(state, owner).await;
    let written = match outcome {
        Ok(asset) => Some(asset),
        Err(e) => {
            tracing::error!(user = %owner, error = %e, "an export could not be written");
            None
        }
    };
    let finished = written.clone();
    let kept = state
        .store
        .write(move |tx| {
            // the same request still running (not replaced or removed meanwhile)?
            let Some(mut current) =
                store::exports::get(tx, owner)?.filter(|e| e.requested_at == requested_at && e.state == ExportState::Running)
            else {
                return Ok::<_, ServiceError>(false);
            };
            let now = Timestamp::now();
            match &finished {
                Some(asset) => {
                    store::assets::put(tx, asset)?;
                    current.succeed(now, asset.id, asset.bytes);
                }
                None => current.fail(now, FAILED),
            }
            store::exports::put(tx, &current)?;
            Ok(finished.is_some())
        })
        .await?;
    if let (Some(asset), false) = (written, kept) {
        remove_file(state, asset.id).await;
    }
    Ok(())
}

/// Writes the archive into a new file of the vault, encrypted to the owner's key, and
/// returns its asset record (not yet stored).
async fn write_archive(state: &AppState, owner: UserId) -> ServiceResult<Asset> {
    let contents = state.store.read(move |tx| contents::gather(tx, owner)).await?.ok_or(ServiceError::NotFound("account"))?;
    let recipient = state.keyring.recipient_or_create(&state.store, owner).await.map_err(|e| ServiceError::Internal(e.to_string()))?;
    let id = AssetId::generate();
    let created_at = Timestamp::now();
    let slot = state.archives.wait_for(owner).await;
    let body = archive::spawn(state.clone(), "data-export", slot, move |zip| contents::write(zip, &contents, created_at));
    let ingested = state
        .media
        .ingest(&id.to_string(), &recipient, body, u64::MAX)
        .await
        .map_err(|e| ServiceError::Internal(format!("storing an export: {e}")))?;
    Ok(Asset {
        id,
        owner,
        kind: AssetKind::Export,
        content_type: CONTENT_TYPE.to_string(),
        bytes: ingested.bytes,
        sha256: ingested.sha256,
        width: None,
        height: None,
        generation: None,
        created_at,
        poster: None,
        has_sound: false,
    })
}

/// At start-up: unfinished exports (their writer was stopped or killed) are queued again,
/// or failed once they have been started [`crate::domain::export::MAX_ATTEMPTS`] times;
/// expired ones are removed.
pub async fn resume(state: &AppState) -> ServiceResult<()> {
    let now = Timestamp::now();
    let again = state
        .store
        .write(move |tx| {
            let mut again = Vec::new();
            for mut export in store::exports::all(tx)?.into_iter().filter(|e| e.state.is_unfinished()) {
                if export.recover(now) {
                    again.push(export.owner);
                } else {
                    tracing::warn!(user = %export.owner, "an export was interrupted too often; it is marked failed");
                }
                store::exports::put(tx, &export)?;
            }
            Ok::<_, ServiceError>(again)
        })
        .await?;
    for owner in again {
        tracing::info!(user = %owner, "an interrupted export starts again");
        state.jobs.scheduled.enqueue(Job::Export(owner));
    }
    sweep_expired(state, now).await?;
    Ok(())
}

/// Removes the exports (records and files) that expired by `now`; returns how many files
/// were removed.
pub async fn sweep_expired(state: &AppState, now: Timestamp) -> ServiceResult<u64> {
    let files = state
        .store
        .write(move |tx| {
            let mut files = Vec::new();
            for export in store::exports::all(tx)?.into_iter().filter(|e| e.is_expired(now)) {
                store::exports::remove(tx, export.owner)?;
                if let Some(asset) = export.asset {
                    store::assets::remove(tx, asset)?;
                    files.push(asset);
                }
            }
            Ok::<_, ServiceError>(files)
        })
        .await?;
    let mut removed = 0;
    for asset in files {
        removed += u64::from(remove_file(state, asset).await);
    }
    Ok(removed)
}

/// Removes an export file whose record is gone; a failure leaves it to the orphan GC.
async fn remove_file(state: &AppState, asset: AssetId) -> bool {
    match state.media.delete(&asset.to_string()).await {
        Ok(removed) => removed,
        Err(e) => {
            tracing::warn!(asset = %asset, error = %e, "cannot remove an export file; the orphan-file GC will");
            false
        }
    }
}
