//! Encrypted media files: one age stream per asset, on the local disk at
//! `ROOT/<shard>/<id>.age` (written through `ROOT/tmp/` + fsync + rename) or in an
//! S3-compatible object store at `{prefix}<shard>/<id>.age` (a multipart upload while it is
//! encrypted, completed and checked before an ingest answers), read back by range. The
//! object store only ever holds these age files, under keys that name asset ids only.
//! A small output may instead be sealed in memory and handed back, to be kept in the store with
//! its record ([`MediaDir::ingest_or_seal`], `store::sealed_media`); reads find it there.
//!
//! Files are age v1 (see [`super::age_file`], which seals and opens them). All age work is
//! synchronous and runs on tokio's blocking pool, one piece at a time: the
//! file state moves into a blocking task and back, so a slow uploader or a stalled video
//! player never parks a blocking-pool thread while it waits. While ingesting, each piece is
//! hashed as it arrives (while it is still in the CPU's cache: SHA-256 runs at about 1.7 GB/s
//! on hot data and 1.0 GB/s on cold), and batches are encrypted and written on the blocking
//! pool while the next batch arrives.

use std::convert::Infallible;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use super::age_file;
use crate::domain::ids::AssetId;
use crate::store::Store;

mod ahead;
mod backend;
mod cache;
mod decrypting;
mod files;
mod in_store;
mod raw;
mod remote;
mod s3;
mod s3_client;
mod sink;
mod stats;
mod stream;
mod upload;
use backend::{Backend, ObjectBackend};
pub use backend::{MediaBackendConfig, RawWritten, S3Config};
use cache::BlockCache;
use files::{create_private_dir, sync_dir, temp_name};
use in_store::{Opener, seal_whole};
use remote::RemoteObject;
pub use s3_client::MakeClient;
use sink::{Out, Sink, Slot};
pub use stats::{BackendHealth, BackendStats, OpFigures};
use stream::Cursor;
pub use stream::MediaStream;
use upload::ObjectUpload;

/// age's plaintext chunk size; reads are cut on these boundaries.
const AGE_CHUNK: u64 = age_file::CHUNK as u64;
/// Plaintext handed to a blocking task to encrypt and write while ingesting, at least; while
/// the task is still busy, more arrives into the next batch, up to [`MAX_AHEAD`].
const WRITE_BATCH: usize = 1024 * 1024;
/// The most plaintext an ingest receives ahead of the writing task before it waits for it
/// (so an ingest holds at most twice this).
const MAX_AHEAD: usize = 4 * WRITE_BATCH;
/// The most bytes hashed on the async executor between two yields.
const HASH_SLICE: usize = 64 * 1024;
/// Most plaintext decrypted by one blocking task while reading a file (a whole number of
/// [`OUT_PIECE`]s: few hand-offs between threads per byte; a stream holds at most two of these).
const READ_PIECE: u64 = 5 * OUT_PIECE;
/// Plaintext per buffer a read hands on: three age chunks, so that each buffer (and the
/// ciphertext it is opened in) stays under the allocator's threshold for pages of its own
/// (256 KiB, see `main.rs`) and its memory is reused instead of mapped, faulted in, zeroed and
/// unmapped again for every piece.
const OUT_PIECE: u64 = 3 * AGE_CHUNK;
/// Length of a ULID string.
const ID_LEN: usize = 26;

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("media id must be 26 ASCII letters or digits")]
    InvalidId,
    #[error("media file not found")]
    NotFound,
    #[error("the content is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the content source failed: {0}")]
    Source(String),
    #[error("range not satisfiable (the content has {len} bytes)")]
    RangeNotSatisfiable { len: u64 },
    #[error("cannot encrypt media: {0}")]
    Encrypt(#[from] age::EncryptError),
    #[error("cannot decrypt media: {0}")]
    Decrypt(#[from] age::DecryptError),
    #[error("media storage: {0}")]
    Io(#[from] io::Error),
    /// The object store cannot be reached, answered with an error or did not answer in time.
    #[error("media store unreachable: {0}")]
    Unavailable(String),
}

/// The media error an I/O error carries (one raised inside a reader or writer), else the I/O
/// error itself.
fn media_error(e: io::Error) -> MediaError {
    if e.get_ref().is_some_and(|inner| inner.is::<MediaError>()) {
        if let Some(inner) = e.into_inner() {
            return match inner.downcast::<MediaError>() {
                Ok(media) => *media,
                Err(other) => MediaError::Io(io::Error::other(other)),
            };
        }
        return MediaError::Io(io::Error::other("media error"));
    }
    MediaError::Io(e)
}

impl MediaError {
    /// The error of a failed read of a [`MediaStream`] (which carries a media error as an I/O
    /// error when the store failed).
    pub fn from_read(e: io::Error) -> MediaError {
        media_error(e)
    }
}

/// A decryption error, or the media error behind a failed read while decrypting.
fn decrypt_error(e: age::DecryptError) -> MediaError {
    match e {
        age::DecryptError::Io(io) => media_error(io),
        other => MediaError::Decrypt(other),
    }
}

/// What an ingest stored: the plaintext's length and SHA-256 (lowercase hex), and, for one
/// sealed in memory instead of written to a file, its whole age file (for the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub bytes: u64,
    pub sha256: String,
    pub sealed: Option<Vec<u8>>,
}

/// The media root directory (its files, or the object store that holds them instead), and
/// the store where small media are kept with their records.
#[derive(Clone)]
pub struct MediaDir {
    root: PathBuf,
    tmp: PathBuf,
    sealed: Option<Store>,
    backend: Backend,
}

impl std::fmt::Debug for MediaDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDir").field("root", &self.root).field("backend", &self.backend.name()).finish()
    }
}

impl MediaDir {
    /// Opens `root`, creating it and `root/tmp` (mode 0700) when missing: media files are kept
    /// there.
    pub fn open(root: &Path) -> io::Result<MediaDir> {
        let tmp = root.join("tmp");
        create_private_dir(&tmp)?;
        Ok(MediaDir { root: root.to_path_buf(), tmp, sealed: None, backend: Backend::Local })
    }

    /// Opens `root` (for its `tmp/`) with media kept in the bucket `config` names, reached
    /// through `client`, and on each HTTP worker through a client `make_client` builds (both
    /// bounded by the caller: connect timeout, outbound policy). No request is made: see
    /// [`Self::check_reachable`].
    ///
    /// Must be called within the runtime the store's calls should run on (the main one).
    pub fn open_s3(root: &Path, config: S3Config, client: reqwest::Client, make_client: MakeClient) -> Result<MediaDir, MediaError> {
        let runtime = Handle::try_current().map_err(|_| MediaError::Unavailable("the media store is opened outside a runtime".into()))?;
        let mut dir = MediaDir::open(root)?;
        let stats = Arc::new(BackendStats::default());
        let s3 = Arc::new(s3::S3Media::new(&config, client, make_client, runtime.clone(), stats)?);
        let cache = Arc::new(BlockCache::new(config.cache));
        dir.backend = Backend::S3(Arc::new(ObjectBackend { s3, cache, runtime, opened: SystemTime::now() }));
        Ok(dir)
    }

    /// `"local"` or `"s3"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The figures of the object store's calls; `None` on the local backend.
    pub fn backend_stats(&self) -> Option<Arc<BackendStats>> {
        match &self.backend {
            Backend::Local => None,
            Backend::S3(object) => Some(object.s3.stats().clone()),
        }
    }

    /// Makes one small call to the object store (a listing of at most one page would be
    /// more; this asks for an object that never exists): an unreachable store, a missing
    /// bucket or refused credentials are an error. Always `Ok` on the local backend.
    pub async fn check_reachable(&self) -> Result<(), MediaError> {
        match &self.backend {
            Backend::Local => Ok(()),
            Backend::S3(object) => object.s3.probe().await,
        }
    }

    /// Reads media that has no file from `store` (kept there with its record).
    pub fn with_sealed(mut self, store: Store) -> MediaDir {
        self.sealed = Some(store);
        self
    }

    /// Where the file of `id` lives: `ROOT/<shard>/<id>.age`, the shard being the id's last
    /// two characters, lower-cased. (A ULID's first characters are the top bits of its
    /// timestamp, "01" until 2039, so they would put every file in one directory; its last
    /// two are random.)
    pub fn path_of(&self, id: &str) -> Result<PathBuf, MediaError> {
        let id = Self::checked(id)?;
        Ok(self.root.join(shard_of(id)).join(format!("{id}.age")))
    }

    /// Checks that `id` is one the vault writes (26 ASCII letters or digits).
    fn checked(id: &str) -> Result<&str, MediaError> {
        if id.len() != ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MediaError::InvalidId);
        }
        Ok(id)
    }

    /// Encrypts `body` to `recipient` into the file of `id` (replacing any file already
    /// there) and returns the plaintext's length and SHA-256. More than `max_bytes` is
    /// `TooLarge`, a failing `body` is `Source`; either way nothing is left behind, and the
    /// same holds when this future is dropped before `body` has ended (after that, the
    /// commit runs to its end on the blocking pool).
    pub async fn ingest<S, E>(&self, id: &str, recipient: &age::x25519::Recipient, body: S, max_bytes: u64) -> Result<Ingested, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        self.ingest_or_seal(id, recipient, body, max_bytes, |_| false).await
    }

    /// [`Self::ingest`], except that content that arrived before anything had to be written
    /// and that `seal` accepts (asked with its length once it has ended) is sealed in memory
    /// and answered in [`Ingested::sealed`] instead of written to a file: the caller keeps it
    /// in the store with its record (`store::sealed_media`), in the same transaction. Sealing
    /// runs on the calling task (one X25519 and a few chunks): accept small content only.
    pub async fn ingest_or_seal<S, E>(
        &self,
        id: &str,
        recipient: &age::x25519::Recipient,
        mut body: S,
        max_bytes: u64,
        seal: impl FnOnce(u64) -> bool,
    ) -> Result<Ingested, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let open_out = self.out_for(id)?;
        let recipient = recipient.clone();
        let sealing_key = recipient.clone();
        // the file is created with the first batch that must be written, so an output that
        // arrives whole (an answer held in memory) costs one trip to the blocking pool
        let create = move || Sink::create(open_out()?, &recipient);

        // One batch is encrypted and written on the blocking pool while the next one arrives.
        let mut slot = Slot::Unopened(Box::new(create));
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        let mut batch: Vec<Bytes> = Vec::new();
        let mut batch_len = 0usize;
        let failure = loop {
            let chunk = match body.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => break Some(MediaError::Source(e.to_string())),
                None => break None,
            };
            received += chunk.len() as u64;
            if received > max_bytes {
                break Some(MediaError::TooLarge { limit: max_bytes });
            }
            hash_arrived(&mut hasher, &chunk).await;
            batch_len += chunk.len();
            batch.push(chunk);
            if batch_len >= WRITE_BATCH && (slot.is_free() || batch_len >= MAX_AHEAD) {
                let full = std::mem::take(&mut batch);
                slot = slot.write(full).await?;
                batch_len = 0;
            }
        };
        match failure {
            // small by the caller's word: sealed on this task, no trip to the blocking pool
            None if slot.is_unopened() && seal(received) => seal_whole(&sealing_key, hasher, batch),
            None => slot.commit(hasher, batch).await,
            Some(failure) => {
                // Dropping the sink closes and removes the temp file.
                let _ = slot.discard().await;
                Err(failure)
            }
        }
    }

    /// What opens the output of `id` (on the blocking pool): a temp file to be renamed to its
    /// path, or an upload of its object.
    fn out_for(&self, id: &str) -> Result<Box<dyn FnOnce() -> Result<Out, MediaError> + Send>, MediaError> {
        let final_path = self.path_of(id)?;
        Ok(match &self.backend {
            Backend::Local => {
                let tmp_path = self.tmp.join(temp_name(id));
                Box::new(move || Out::file(tmp_path, final_path))
            }
            Backend::S3(object) => {
                object.cache.forget(id);
                let upload = ObjectUpload::new(object.s3.clone(), self.sealed.clone(), object.runtime.clone(), id);
                Box::new(move || Ok(Out::object(upload)))
            }
        })
    }

    /// [`Self::ingest`] of bytes already in memory, with no size limit.
    pub async fn ingest_bytes(&self, id: &str, recipient: &age::x25519::Recipient, data: Vec<u8>) -> Result<Ingested, MediaError> {
        let body = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(data))]);
        self.ingest(id, recipient, body, u64::MAX).await
    }

    /// Opens the file of `id` and returns the plaintext's total length and a stream of
    /// bytes `start..=end` (inclusive, as in HTTP Range), or of everything when `range` is
    /// `None`. Only the age chunks that hold the range are decrypted (and, on an object store,
    /// fetched). A range that does not lie inside the content is `RangeNotSatisfiable`.
    pub async fn read_range(
        &self,
        id: &str,
        identity: age::x25519::Identity,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, MediaStream), MediaError> {
        if let Some(object) = self.object_of(id)? {
            let opened = RemoteObject::open(&object.s3, &object.cache, id, &identity).await?;
            let (start, end) = bounds(range, opened.len())?;
            return Ok((opened.len(), MediaStream::remote(opened.read(start, end))));
        }
        let opener = self.opener(id)?;
        let runtime = Handle::current();
        let (len, cursor) = blocking(move || -> Result<_, MediaError> {
            let file = opener.open(&identity)?;
            let (start, end) = bounds(range, file.len())?;
            Ok((file.len(), Cursor { file, pos: start, end }))
        })
        .await??;
        Ok((len, MediaStream::on_blocking_pool(runtime, cursor)))
    }

    /// The plaintext length of the file of `id` (authenticated: the last chunk is checked).
    pub async fn plaintext_len(&self, id: &str, identity: age::x25519::Identity) -> Result<u64, MediaError> {
        if let Some(object) = self.object_of(id)? {
            return Ok(RemoteObject::open(&object.s3, &object.cache, id, &identity).await?.len());
        }
        let opener = self.opener(id)?;
        blocking(move || Ok(opener.open(&identity)?.len())).await?
    }

    /// The object store that holds the media of `id`; `None` on the local disk, or when the
    /// store keeps the media with its record (asked first: a small output never had an object,
    /// and the store answers in microseconds where the object store takes a round trip).
    fn object_of(&self, id: &str) -> Result<Option<&ObjectBackend>, MediaError> {
        let id = Self::checked(id)?;
        let Backend::S3(object) = &self.backend else { return Ok(None) };
        if let (Some(store), Ok(asset)) = (&self.sealed, id.parse::<AssetId>()) {
            let kept = store.read_now(|tx| crate::store::sealed_media::contains(tx, asset)).map_err(|e| io::Error::other(e.to_string()))?;
            if kept {
                return Ok(None);
            }
        }
        Ok(Some(object))
    }

    /// What opens the media of `id` on the blocking pool: its file, else what the store keeps
    /// of it (on an object store, only the latter: see [`Self::object_of`]).
    fn opener(&self, id: &str) -> Result<Opener, MediaError> {
        let path = self.path_of(id)?;
        let file = matches!(self.backend, Backend::Local).then_some(path);
        let sealed = self.sealed.clone().zip(id.parse::<AssetId>().ok());
        Ok(Opener { file, sealed })
    }

    /// Removes the file or object of `id`; `false` when there was none.
    pub async fn delete(&self, id: &str) -> Result<bool, MediaError> {
        let path = self.path_of(id)?;
        if let Backend::S3(object) = &self.backend {
            object.cache.forget(id);
            return object.s3.delete(id).await;
        }
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    sync_dir(dir)?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(MediaError::Io(e)),
        })
        .await?
    }

    /// Every stored file as (id, last modified), from the shard directories; names that are
    /// not `<id>.age` are left out. Blocking.
    fn local_files(&self) -> Vec<(String, SystemTime)> {
        let mut out = Vec::new();
        let Ok(shards) = fs::read_dir(&self.root) else { return out };
        for shard in shards.flatten() {
            let name = shard.file_name();
            if name.len() != 2 || !shard.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(shard.path()) else { continue };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let Some(id) = name.strip_suffix(".age") else { continue };
                let path_ok = self.path_of(id).is_ok_and(|p| p == file.path());
                if let (true, Ok(meta)) = (path_ok, file.metadata()) {
                    out.push((id.to_string(), meta.modified().unwrap_or(SystemTime::now())));
                }
            }
        }
        out
    }

    /// Removes every file in `ROOT/tmp` (what a crash left half-written) and returns how
    /// many. Call it at start-up, before any ingest runs: it does not spare files in use.
    pub fn sweep_tmp(&self) -> usize {
        let entries = match fs::read_dir(&self.tmp) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(dir = %self.tmp.display(), error = %e, "cannot list media temp dir");
                return 0;
            }
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove media temp file")
                    }
                }
            }
        }
        removed
    }
}

/// The plaintext bounds `start..end` of `range` (inclusive, as in HTTP Range; everything when
/// `None`) in content of `len` bytes; a range that does not lie inside it is
/// `RangeNotSatisfiable`.
fn bounds(range: Option<(u64, u64)>, len: u64) -> Result<(u64, u64), MediaError> {
    match range {
        None => Ok((0, len)),
        Some((start, last)) if start <= last && last < len => Ok((start, last + 1)),
        Some(_) => Err(MediaError::RangeNotSatisfiable { len }),
    }
}

/// Feeds a piece that just arrived to the running hash, yielding between slices of a large
/// one so the executor is never held for long.
async fn hash_arrived(hasher: &mut Sha256, piece: &[u8]) {
    let mut slices = piece.chunks(HASH_SLICE).peekable();
    while let Some(slice) = slices.next() {
        hasher.update(slice);
        if slices.peek().is_some() {
            tokio::task::yield_now().await;
        }
    }
}

/// The shard directory (or key part) of `id`: its last two characters, lower-cased.
fn shard_of(id: &str) -> String {
    id[id.len().saturating_sub(2)..].to_ascii_lowercase()
}

/// Runs `f` on the blocking pool; a panic there becomes an I/O error.
async fn blocking<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| io::Error::other(format!("media task failed: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod reading_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
