//! The ciphertext of media as it is stored, for moving, backing up and checking them (on
//! either backend, never decrypted here): its length, its bytes, writing it under an id,
//! listing what is stored, and aborting the object store uploads a crash left behind.

use std::fs;
use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use super::backend::{Backend, RawWritten};
use super::files::temp_name;
use super::sink::Out;
use super::upload::ObjectUpload;
use super::{MediaDir, MediaError, blocking};
use crate::store::media_uploads;

/// Bytes read from a file per piece of [`MediaDir::raw_read`].
const RAW_PIECE: usize = 1024 * 1024;

impl MediaDir {
    /// The stored length of the age file of `id`; `None` when there is no file or object
    /// (media kept in the store with its record count as none).
    pub async fn raw_len(&self, id: &str) -> Result<Option<u64>, MediaError> {
        let path = self.path_of(id)?;
        match &self.backend {
            Backend::S3(object) => object.s3.size(id).await,
            Backend::Local => match tokio::fs::metadata(&path).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// The whole age file of `id`, as stored. No file or object is `NotFound`.
    pub async fn raw_read(&self, id: &str) -> Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static, MediaError> {
        let path = self.path_of(id)?;
        let stream: BoxStream<'static, io::Result<Bytes>> = match &self.backend {
            Backend::S3(object) => object.s3.get_stream(id).await?,
            Backend::Local => {
                let file = match blocking(move || fs::File::open(&path)).await? {
                    Ok(file) => file,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(MediaError::NotFound),
                    Err(e) => return Err(e.into()),
                };
                futures_util::stream::unfold(Some(file), |file| async move {
                    let mut file = file?;
                    let read = blocking(move || {
                        let mut buf = vec![0u8; RAW_PIECE];
                        let n = io::Read::read(&mut file, &mut buf)?;
                        buf.truncate(n);
                        Ok::<_, io::Error>((file, buf))
                    })
                    .await;
                    match read {
                        Ok(Ok((_, buf))) if buf.is_empty() => None,
                        Ok(Ok((file, buf))) => Some((Ok(Bytes::from(buf)), Some(file))),
                        Ok(Err(e)) | Err(e) => Some((Err(e), None)),
                    }
                })
                .boxed()
            }
        };
        Ok(stream)
    }

    /// Stores `body` (a whole age file, already sealed) as the file or object of `id`,
    /// replacing any there, and answers its length and SHA-256. Durable when it returns: the
    /// file fsynced and renamed, the object's upload completed and its size checked. On
    /// failure nothing is left behind.
    pub async fn raw_write(
        &self,
        id: &str,
        mut body: impl Stream<Item = io::Result<Bytes>> + Send + Unpin,
    ) -> Result<RawWritten, MediaError> {
        let final_path = self.path_of(id)?;
        match &self.backend {
            Backend::S3(object) => {
                object.cache.forget(id);
                let mut upload = ObjectUpload::new(object.s3.clone(), self.sealed.clone(), object.runtime.clone(), id);
                let mut hasher = Sha256::new();
                while let Some(piece) = body.next().await {
                    let piece = piece.map_err(|e| MediaError::Source(e.to_string()))?;
                    hasher.update(&piece);
                    upload.push(&piece).await?;
                }
                let bytes = upload.finish().await?;
                Ok(RawWritten { bytes, sha256: hex::encode(hasher.finalize()) })
            }
            Backend::Local => {
                let tmp_path = self.tmp.join(temp_name(id));
                let mut out = blocking(move || Out::file(tmp_path, final_path)).await??;
                let (mut hasher, mut bytes) = (Sha256::new(), 0u64);
                while let Some(piece) = body.next().await {
                    let piece = piece.map_err(|e| MediaError::Source(e.to_string()))?;
                    hasher.update(&piece);
                    bytes += piece.len() as u64;
                    out = blocking(move || out.write_all(&piece).map(|()| out)).await??;
                }
                blocking(move || out.commit()).await??;
                Ok(RawWritten { bytes, sha256: hex::encode(hasher.finalize()) })
            }
        }
    }

    /// Every stored file or object as (id, last modified); names that are not `<id>.age` in
    /// their shard are left out.
    pub async fn list_ids(&self) -> Result<Vec<(String, SystemTime)>, MediaError> {
        match &self.backend {
            Backend::S3(object) => object.s3.list().await,
            Backend::Local => {
                let this = self.clone();
                Ok(blocking(move || this.local_files()).await?)
            }
        }
    }

    /// Aborts the object store uploads recorded in the store that began before this process
    /// opened the backend (a crash or a kill interrupted them) or more than `grace` before
    /// `now`, and removes their records; returns how many. Nothing to do on the local backend
    /// (see [`MediaDir::sweep_tmp`]).
    pub async fn abort_stale_uploads(&self, now: SystemTime, grace: Duration) -> Result<usize, MediaError> {
        let (Backend::S3(object), Some(store)) = (&self.backend, &self.sealed) else { return Ok(0) };
        let cutoff = object.opened.max(now.checked_sub(grace).unwrap_or(UNIX_EPOCH));
        let cutoff_ms = cutoff.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let recorded = store.read(media_uploads::list).await.map_err(|e| io::Error::other(e.to_string()))?;
        let mut aborted = 0;
        for (upload, record) in recorded.into_iter().filter(|(_, r)| r.started_ms < cutoff_ms) {
            object.s3.abort_upload_at(&record.key, &upload).await?;
            store.write(move |tx| media_uploads::remove(tx, &upload)).await.map_err(|e| io::Error::other(e.to_string()))?;
            aborted += 1;
        }
        if aborted > 0 {
            tracing::info!(aborted, "aborted media uploads a stop interrupted");
        }
        Ok(aborted)
    }
}
