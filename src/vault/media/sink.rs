//! Where an ingest's age stream goes as it is encrypted: a temp file in `ROOT/tmp` renamed into
//! place once durable, or an object uploaded to the store as it fills. The sink moves between
//! the async task that receives the content and the blocking task that encrypts it ([`Slot`]).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::files::{create_private_dir, create_private_file, sync_dir};
use super::upload::{BlockingUpload, ObjectUpload};
use super::{Ingested, MediaError, blocking, media_error};
use crate::vault::age_file::SealingWriter;

/// Where the sealed bytes go.
pub(super) enum Out {
    File { file: File, temp: TempFile, final_path: PathBuf },
    Object(Box<BlockingUpload>),
}

impl Out {
    /// A new temp file at `tmp_path`, to become `final_path`.
    pub(super) fn file(tmp_path: PathBuf, final_path: PathBuf) -> Result<Out, MediaError> {
        let file = create_private_file(&tmp_path)?;
        Ok(Out::File { file, temp: TempFile(Some(tmp_path)), final_path })
    }

    pub(super) fn object(upload: ObjectUpload) -> Out {
        Out::Object(Box::new(BlockingUpload(upload)))
    }

    /// Makes what was written durable and visible under its name (blocking): the file is
    /// fsynced and renamed, the upload completed and checked.
    pub(super) fn commit(self) -> Result<(), MediaError> {
        match self {
            Out::File { file, mut temp, final_path } => commit_file(file, &mut temp, &final_path),
            Out::Object(upload) => upload.finish().map(drop),
        }
    }
}

impl Write for Out {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Out::File { file, .. } => file.write(data),
            Out::Object(upload) => upload.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::File { file, .. } => file.flush(),
            Out::Object(upload) => upload.flush(),
        }
    }
}

/// fsyncs `file`, renames it to `final_path` and fsyncs its directory.
fn commit_file(file: File, temp: &mut TempFile, final_path: &std::path::Path) -> Result<(), MediaError> {
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
    if let Err(e) = fs::rename(&tmp_path, final_path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(e.into());
    }
    if let Err(e) = sync_dir(dir) {
        // Not known to be durable: report failure and leave nothing half-kept.
        let _ = fs::remove_file(final_path);
        return Err(e.into());
    }
    Ok(())
}

/// An age stream being written; dropping it unfinished removes the temp file or aborts the
/// upload.
pub(super) struct Sink {
    writer: SealingWriter<Out>,
    bytes: u64,
}

impl Sink {
    pub(super) fn create(out: Out, recipient: &age::x25519::Recipient) -> Result<Sink, MediaError> {
        let writer = SealingWriter::new(out, recipient)?;
        Ok(Sink { writer, bytes: 0 })
    }

    /// Encrypts `batch` (blocking). On error the sink is dropped, which removes the temp
    /// file or aborts the upload.
    fn write(mut self, batch: Vec<Bytes>) -> Result<Sink, MediaError> {
        for piece in &batch {
            self.writer.write_all(piece).map_err(media_error)?;
            self.bytes += piece.len() as u64;
        }
        self.writer.flush().map_err(media_error)?;
        Ok(self)
    }

    /// Writes the last `batch`, ends the age stream (`finish` writes the last chunk) and
    /// commits the output (blocking).
    fn commit(self, hasher: Sha256, batch: Vec<Bytes>) -> Result<Ingested, MediaError> {
        let Sink { writer, bytes } = self.write(batch)?;
        let out = writer.finish().map_err(media_error)?;
        out.commit()?;
        Ok(Ingested { bytes, sha256: hex::encode(hasher.finalize()), sealed: None })
    }
}

/// Opens the sink.
pub(super) type OpenSink = Box<dyn FnOnce() -> Result<Sink, MediaError> + Send>;

/// The sink: not opened yet, or inside the blocking task that is writing a batch.
pub(super) enum Slot {
    Unopened(OpenSink),
    Busy(JoinHandle<Result<Sink, MediaError>>),
}

impl Slot {
    /// Whether nothing was written yet (no file opened).
    pub(super) fn is_unopened(&self) -> bool {
        matches!(self, Slot::Unopened(_))
    }

    /// Whether the sink can take a batch without waiting for the last one.
    pub(super) fn is_free(&self) -> bool {
        match self {
            Slot::Unopened(_) => true,
            Slot::Busy(write) => write.is_finished(),
        }
    }

    /// Starts writing `batch` on the blocking pool (opening the sink first if need be), once
    /// the last batch is written.
    pub(super) async fn write(self, batch: Vec<Bytes>) -> Result<Slot, MediaError> {
        Ok(match self {
            Slot::Unopened(open) => Slot::Busy(tokio::task::spawn_blocking(move || open()?.write(batch))),
            busy => {
                let sink = busy.ready().await?;
                Slot::Busy(tokio::task::spawn_blocking(move || sink.write(batch)))
            }
        })
    }

    /// Writes the last `batch` and commits (see [`Sink::commit`]), in one trip to the blocking
    /// pool when nothing was written yet.
    pub(super) async fn commit(self, hasher: Sha256, batch: Vec<Bytes>) -> Result<Ingested, MediaError> {
        let sink = match self {
            Slot::Unopened(open) => return blocking(move || open()?.commit(hasher, batch)).await?,
            busy => busy.ready().await?,
        };
        blocking(move || sink.commit(hasher, batch)).await?
    }

    /// Gives up: the temp file, if one was opened, is closed and removed (the upload aborted).
    pub(super) async fn discard(self) -> Result<(), MediaError> {
        match self {
            Slot::Unopened(_) => Ok(()),
            busy => {
                let sink = busy.ready().await?;
                Ok(blocking(move || drop(sink)).await?)
            }
        }
    }

    /// The sink once the last batch is written. A failed write has dropped the sink.
    async fn ready(self) -> Result<Sink, MediaError> {
        match self {
            Slot::Unopened(open) => blocking(open).await?,
            Slot::Busy(write) => write.await.map_err(|e| io::Error::other(format!("media task failed: {e}")))?,
        }
    }
}

/// A temp file path, removed on drop while still set.
pub(super) struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}
