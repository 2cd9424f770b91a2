//! Encrypted media files on the local filesystem: one age stream per asset at
//! `ROOT/<shard>/<id>.age`, written through `ROOT/tmp/` + fsync + rename, read back by range.
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
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::age_file::{self, SealingWriter};
use crate::domain::ids::AssetId;
use crate::store::Store;

mod files;
mod in_store;
mod stream;
use files::{create_private_dir, create_private_file, sync_dir, temp_name};
use in_store::{Opener, seal_whole};
use stream::Cursor;
pub use stream::MediaStream;

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
/// Most plaintext decrypted by one blocking task while reading (a whole number of age
/// chunks: few hand-offs between threads per byte; a stream holds at most two pieces).
const READ_PIECE: u64 = 16 * AGE_CHUNK;
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
}

/// What an ingest stored: the plaintext's length and SHA-256 (lowercase hex), and, for one
/// sealed in memory instead of written to a file, its whole age file (for the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub bytes: u64,
    pub sha256: String,
    pub sealed: Option<Vec<u8>>,
}

/// The media root directory, and the store where small media are kept with their records.
#[derive(Clone)]
pub struct MediaDir {
    root: PathBuf,
    tmp: PathBuf,
    sealed: Option<Store>,
}

impl std::fmt::Debug for MediaDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDir").field("root", &self.root).finish()
    }
}

impl MediaDir {
    /// Opens `root`, creating it and `root/tmp` (mode 0700) when missing.
    pub fn open(root: &Path) -> io::Result<MediaDir> {
        let tmp = root.join("tmp");
        create_private_dir(&tmp)?;
        Ok(MediaDir { root: root.to_path_buf(), tmp, sealed: None })
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
        if id.len() != ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MediaError::InvalidId);
        }
        let shard = id[ID_LEN - 2..].to_ascii_lowercase();
        Ok(self.root.join(shard).join(format!("{id}.age")))
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
        let final_path = self.path_of(id)?;
        let tmp_path = self.tmp.join(temp_name(id));
        let recipient = recipient.clone();
        let sealing_key = recipient.clone();
        // the file is created with the first batch that must be written, so an output that
        // arrives whole (an answer held in memory) costs one trip to the blocking pool
        let create = move || Sink::create(tmp_path, &recipient);

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
            None => slot.commit(hasher, batch, final_path).await,
            Some(failure) => {
                // Dropping the sink closes and removes the temp file.
                let _ = slot.discard().await;
                Err(failure)
            }
        }
    }

    /// [`Self::ingest`] of bytes already in memory, with no size limit.
    pub async fn ingest_bytes(&self, id: &str, recipient: &age::x25519::Recipient, data: Vec<u8>) -> Result<Ingested, MediaError> {
        let body = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(data))]);
        self.ingest(id, recipient, body, u64::MAX).await
    }

    /// Opens the file of `id` and returns the plaintext's total length and a stream of
    /// bytes `start..=end` (inclusive, as in HTTP Range), or of everything when `range` is
    /// `None`. Only the age chunks that hold the range are decrypted. A range that does not
    /// lie inside the content is `RangeNotSatisfiable`.
    pub async fn read_range(
        &self,
        id: &str,
        identity: age::x25519::Identity,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, MediaStream), MediaError> {
        let opener = self.opener(id)?;
        let runtime = Handle::current();
        let (len, cursor) = blocking(move || -> Result<_, MediaError> {
            let file = opener.open(&identity)?;
            let len = file.len();
            let (start, end) = match range {
                None => (0, len),
                Some((start, last)) if start <= last && last < len => (start, last + 1),
                Some(_) => return Err(MediaError::RangeNotSatisfiable { len }),
            };
            Ok((len, Cursor { file, pos: start, end }))
        })
        .await??;
        Ok((len, MediaStream::start(runtime, cursor)))
    }

    /// The plaintext length of the file of `id` (authenticated: the last chunk is checked).
    pub async fn plaintext_len(&self, id: &str, identity: age::x25519::Identity) -> Result<u64, MediaError> {
        let opener = self.opener(id)?;
        blocking(move || Ok(opener.open(&identity)?.len())).await?
    }

    /// What opens the media of `id`: its file, else what the store keeps of it.
    fn opener(&self, id: &str) -> Result<Opener, MediaError> {
        let path = self.path_of(id)?;
        let sealed = self.sealed.clone().zip(id.parse::<AssetId>().ok());
        Ok(Opener { path, sealed })
    }

    /// Removes the file of `id`; `false` when there was none.
    pub async fn delete(&self, id: &str) -> Result<bool, MediaError> {
        let path = self.path_of(id)?;
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
    /// not `<id>.age` are left out. Synchronous: call it on the blocking pool.
    pub fn stored_files(&self) -> Vec<(String, std::time::SystemTime)> {
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
                    out.push((id.to_string(), meta.modified().unwrap_or(std::time::SystemTime::now())));
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

/// A file being written in `ROOT/tmp`, removed on drop unless committed.
struct Sink {
    writer: SealingWriter<File>,
    bytes: u64,
    temp: TempFile,
}

impl Sink {
    fn create(path: PathBuf, recipient: &age::x25519::Recipient) -> Result<Sink, MediaError> {
        let file = create_private_file(&path)?;
        let temp = TempFile(Some(path));
        let writer = SealingWriter::new(file, recipient)?;
        Ok(Sink { writer, bytes: 0, temp })
    }
}

impl Sink {
    /// Encrypts `batch` (blocking). On error the sink is dropped, which removes the temp
    /// file.
    fn write(mut self, batch: Vec<Bytes>) -> io::Result<Sink> {
        for piece in &batch {
            self.writer.write_all(piece)?;
            self.bytes += piece.len() as u64;
        }
        self.writer.flush()?;
        Ok(self)
    }

    /// Writes the last `batch`, ends the age stream (`finish` writes the last chunk), fsyncs
    /// the file, renames it to `final_path` and fsyncs its directory (blocking).
    fn commit(self, hasher: Sha256, batch: Vec<Bytes>, final_path: PathBuf) -> Result<Ingested, MediaError> {
        let Sink { writer, bytes, mut temp } = self.write(batch)?;
        let file = writer.finish()?;
        // the data and what reading it back needs (its size, its blocks): no timestamps
        file.sync_data()?;
        drop(file);
        let dir = final_path.parent().ok_or_else(|| io::Error::other("media path has no directory"))?;
        if !dir.is_dir() {
            create_private_dir(dir)?;
            if let Some(root) = dir.parent() {
                sync_dir(root)?;
            }
        }
        let tmp_path = temp.0.take().ok_or_else(|| io::Error::other("no temp file"))?;
        if let Err(e) = fs::rename(&tmp_path, &final_path) {
            let _ = fs::remove_file(&tmp_path);
            return Err(e.into());
        }
        if let Err(e) = sync_dir(dir) {
            // Not known to be durable: report failure and leave nothing half-kept.
            let _ = fs::remove_file(&final_path);
            return Err(e.into());
        }
        Ok(Ingested { bytes, sha256: hex::encode(hasher.finalize()), sealed: None })
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

/// Opens the temp file a sink writes to.
type OpenSink = Box<dyn FnOnce() -> Result<Sink, MediaError> + Send>;

/// The sink: not opened yet, or inside the blocking task that is writing a batch.
enum Slot {
    Unopened(OpenSink),
    Busy(JoinHandle<Result<Sink, MediaError>>),
}

impl Slot {
    /// Whether nothing was written yet (no file opened).
    fn is_unopened(&self) -> bool {
        matches!(self, Slot::Unopened(_))
    }

    /// Whether the sink can take a batch without waiting for the last one.
    fn is_free(&self) -> bool {
        match self {
            Slot::Unopened(_) => true,
            Slot::Busy(write) => write.is_finished(),
        }
    }

    /// Starts writing `batch` on the blocking pool (opening the file first if need be), once
    /// the last batch is written.
    async fn write(self, batch: Vec<Bytes>) -> Result<Slot, MediaError> {
        Ok(match self {
            Slot::Unopened(open) => Slot::Busy(tokio::task::spawn_blocking(move || Ok(open()?.write(batch)?))),
            busy => {
                let sink = busy.ready().await?;
                Slot::Busy(tokio::task::spawn_blocking(move || Ok(sink.write(batch)?)))
            }
        })
    }

    /// Writes the last `batch` and commits the file to `final_path` (see [`Sink::commit`]), in
    /// one trip to the blocking pool when nothing was written yet.
    async fn commit(self, hasher: Sha256, batch: Vec<Bytes>, final_path: PathBuf) -> Result<Ingested, MediaError> {
        let sink = match self {
            Slot::Unopened(open) => return blocking(move || open()?.commit(hasher, batch, final_path)).await?,
            busy => busy.ready().await?,
        };
        blocking(move || sink.commit(hasher, batch, final_path)).await?
    }

    /// Gives up: the temp file, if one was opened, is closed and removed.
    async fn discard(self) -> Result<(), MediaError> {
        match self {
            Slot::Unopened(_) => Ok(()),
            busy => {
                let sink = busy.ready().await?;
                Ok(blocking(move || drop(sink)).await?)
            }
        }
    }

    /// The sink once the last batch is written. A failed write has dropped the sink (and its
    /// file).
    async fn ready(self) -> Result<Sink, MediaError> {
        match self {
            Slot::Unopened(open) => blocking(open).await?,
            Slot::Busy(write) => write.await.map_err(|e| io::Error::other(format!("media task failed: {e}")))?,
        }
    }
}

/// A temp file path, removed on drop while still set.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
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
mod tests;
