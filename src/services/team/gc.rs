//! The orphan-file GC: media files (or objects) no asset record names, left by a crash
//! between writing a file and recording it (or between removing a record and its file). Files
//! younger than [`GRACE`] are spared: custody may be between those two steps right now. On an
//! object store it also aborts the multipart uploads a crash interrupted (recorded before
//! their first part; see `vault::media`), and those older than [`UPLOAD_GRACE`].

use std::time::{Duration, SystemTime};

use crate::domain::ids::AssetId;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// How old an unrecorded file must be before it counts as an orphan.
pub const GRACE: Duration = Duration::from_secs(3600);
/// How long an upload of this process may run before the GC counts it as abandoned.
pub const UPLOAD_GRACE: Duration = Duration::from_secs(24 * 3600);

/// The ids of orphan files older than [`GRACE`] at `now`.
pub async fn orphans(state: &AppState, now: SystemTime) -> ServiceResult<Vec<String>> {
    let files = state.media.list_ids().await.map_err(|e| ServiceError::Internal(format!("listing media files: {e}")))?;
    let old: Vec<String> =
        files.into_iter().filter(|(_, modified)| now.duration_since(*modified).is_ok_and(|age| age >= GRACE)).map(|(id, _)| id).collect();
    let orphans = state
        .store
        .read(move |tx| {
            let mut orphans = Vec::new();
            for id in old {
                let recorded = match id.parse::<AssetId>() {
                    Ok(asset) => store::assets::get(tx, asset)?.is_some(),
                    Err(_) => true, // not a name the vault writes: leave it alone
                };
                if !recorded {
                    orphans.push(id);
                }
            }
            Ok::<_, ServiceError>(orphans)
        })
        .await?;
    Ok(orphans)
}

/// Aborts the interrupted uploads to the object store (see the module doc); returns how many.
pub async fn abort_uploads(state: &AppState, now: SystemTime) -> ServiceResult<usize> {
    state.media.abort_stale_uploads(now, UPLOAD_GRACE).await.map_err(|e| ServiceError::Internal(format!("aborting media uploads: {e}")))
}

/// Aborts the interrupted uploads, then removes the orphan files older than [`GRACE`] at
/// `now`; returns how many files.
pub async fn collect(state: &AppState, now: SystemTime) -> ServiceResult<u64> {
    abort_uploads(state, now).await?;
    let mut removed = 0;
    for id in orphans(state, now).await? {
        if state.media.delete(&id).await.map_err(|e| ServiceError::Internal(format!("removing an orphan media file: {e}")))? {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed orphan media files");
    }
    Ok(removed)
}
