//! The media of a backup: each asset's age file copied as stored from whichever backend holds
//! it (the one in force, or the other one while a migration has not finished) into the
//! backup, and from a backup into a restored instance's S3 bucket, checked against the
//! manifest's SHA-256. Local restores copy files in `backup.rs`.

use std::path::Path;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::backup::{BackupError, FileEntry, Manifest, MediaEntry, plain_relative};
use crate::config::Config;
use crate::domain::media_backend::MediaBackend;
use crate::store;
use crate::vault::media::{MediaDir, MediaError};
use crate::vault::media_in_force::MediaInForce;

/// Bytes read from a backup file per piece sent to the object store.
const UPLOAD_PIECE: usize = 1024 * 1024;

/// Copies the age file of each of `ids` into `dir` at the same place under it as under
/// `data_dir` (`media/<shard>/<id>.age`); returns the entries, and the ids whose object was
/// already gone (deleted after the snapshot).
pub async fn copy_into_backup(
    media: &MediaInForce,
    data_dir: &Path,
    dir: &Path,
    ids: Vec<String>,
) -> Result<(Vec<MediaEntry>, Vec<String>), BackupError> {
    let layout = media.backend(crate::domain::media_backend::MediaBackend::Local).unwrap_or_else(|| media.in_force());
    let mut entries = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        let relative = layout
            .path_of(&id)?
            .strip_prefix(data_dir)
            .map_err(|_| BackupError::Refused(format!("media of {id} would be outside the data directory")))?
            .to_path_buf();
        let stream = match media.raw_read(&id).await {
            Ok(stream) => stream,
            Err(MediaError::NotFound) => {
                tracing::warn!(asset = %id, "backup: the media object is gone (deleted after the snapshot)");
                missing.push(id);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let dest = dir.join(&relative);
        let (bytes, sha256) = write_file(&dest, Box::pin(stream)).await?;
        entries.push(MediaEntry { id, file: FileEntry { path: relative.display().to_string(), bytes, sha256 } });
    }
    Ok((entries, missing))
}

/// Writes `stream` to a new file `dest` (mode 0600, its folders 0700), fsynced; answers its
/// length and SHA-256.
async fn write_file(
    dest: &Path,
    mut stream: std::pin::Pin<Box<impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>>>>,
) -> Result<(u64, String), BackupError> {
    let io_err = |what: &'static str| move |source: std::io::Error| BackupError::Io { what, path: dest.to_path_buf(), source };
    let owned = dest.to_path_buf();
    let file = tokio::task::spawn_blocking(move || {
        if let Some(parent) = owned.parent() {
            store::backup::create_private_dir(parent)?;
        }
        store::backup::create_private_file(&owned)
    })
    .await
    .map_err(|e| BackupError::Refused(format!("backup task failed: {e}")))?
    .map_err(io_err("cannot create"))?;
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(io_err("cannot read the media of"))?;
        hasher.update(&piece);
        total += piece.len() as u64;
        file.write_all(&piece).await.map_err(io_err("cannot write"))?;
    }
    file.sync_all().await.map_err(io_err("cannot sync"))?;
    Ok((total, hex::encode(hasher.finalize())))
}

/// Ends a restore into `config.data_dir` (its store and local media in place): for
/// `media_to` S3, stores the backup's media files in the config's bucket (media left in place
/// are there already); then records in the restored store which backend its media are on
/// (the backup's store may name the other one).
pub async fn finish_restore(config: &Config, backup: &Path, manifest: &Manifest, media_to: MediaBackend) -> Result<(), String> {
    let restored = store::Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    let result = async {
        if media_to == MediaBackend::S3 && manifest.media_in_place.is_none() {
            let s3 = crate::services::state::open_s3(config, restored.clone())?;
            upload_from_backup(backup, manifest, &s3).await.map_err(|e| e.to_string())?;
        }
        restored.write(move |tx| store::meta::set_media_backend(tx, media_to)).await.map_err(|e| e.to_string())
    }
    .await;
    restored.close().await;
    result
}

/// Stores every media file of the backup in `target` (an S3 bucket), each checked against
/// the manifest as it is written; returns how many.
pub async fn upload_from_backup(backup: &Path, manifest: &Manifest, target: &MediaDir) -> Result<u64, BackupError> {
    let mut stored = 0;
    for entry in &manifest.media {
        let path = backup.join(plain_relative(&entry.file.path)?);
        let file =
            tokio::fs::File::open(&path).await.map_err(|source| BackupError::Io { what: "cannot read", path: path.clone(), source })?;
        let written = target.raw_write(&entry.id, Box::pin(pieces_of(file))).await?;
        if written.bytes != entry.file.bytes || written.sha256 != entry.file.sha256 {
            let _ = target.delete(&entry.id).await;
            return Err(BackupError::Refused(format!(
                "{} does not match the manifest as stored ({} bytes, sha256 {}): the backup is damaged",
                path.display(),
                written.bytes,
                written.sha256
            )));
        }
        stored += 1;
    }
    Ok(stored)
}

/// The bytes of `file` in pieces of [`UPLOAD_PIECE`].
fn pieces_of(file: tokio::fs::File) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; UPLOAD_PIECE];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Some((Err(e), None)),
            }
        }
        if filled == 0 {
            return None;
        }
        buf.truncate(filled);
        Some((Ok(bytes::Bytes::from(buf)), Some(file)))
    })
}
