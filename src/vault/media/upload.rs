//! One object written to the store as it is produced: parts of [`PART`] bytes go up as a
//! multipart upload, up to [`PARTS_IN_FLIGHT`] at once, while the next part fills (so an upload
//! holds at most `(PARTS_IN_FLIGHT + 1) × PART` = 32 MiB); an object that fits in one part goes
//! up in a single PUT. The upload is recorded in the store
//! (`store::media_uploads`) before its first part and the record removed once it is completed
//! or aborted; an upload given up (an error, or dropped unfinished) is aborted in the
//! background. Finishing checks the object's size in the store before it answers.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use object_store::multipart::PartId;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::MediaError;
use super::s3::S3Media;
use crate::store::{Store, media_uploads};

/// Bytes per part (S3 wants at least 5 MiB in every part but the last).
pub const PART: usize = 8 * 1024 * 1024;
/// Parts uploading at once: the store takes one while the next ones go up and the encryption
/// goes on; a part that fills while this many are in flight waits for the oldest.
pub const PARTS_IN_FLIGHT: usize = 3;

/// An object being written.
pub(super) struct ObjectUpload {
    s3: Arc<S3Media>,
    store: Option<Store>,
    runtime: Handle,
    id: String,
    filling: Vec<u8>,
    upload: Option<String>,
    /// The parts the store has taken, in order.
    parts: Vec<PartId>,
    /// The parts going up, oldest first (each numbered after `parts` and the ones before it).
    in_flight: VecDeque<JoinHandle<Result<PartId, MediaError>>>,
    written: u64,
    /// The object is in the store (not verified yet).
    stored: bool,
    /// Stored and verified: nothing to clean up.
    done: bool,
}

impl ObjectUpload {
    pub(super) fn new(s3: Arc<S3Media>, store: Option<Store>, runtime: Handle, id: &str) -> ObjectUpload {
        ObjectUpload {
            s3,
            store,
            runtime,
            id: id.to_string(),
            filling: Vec::new(),
            upload: None,
            parts: Vec::new(),
            in_flight: VecDeque::new(),
            written: 0,
            stored: false,
            done: false,
        }
    }

    /// Takes `data`, sending each part as it fills.
    pub(super) async fn push(&mut self, mut data: &[u8]) -> Result<(), MediaError> {
        self.written += data.len() as u64;
        while !data.is_empty() {
            if self.filling.capacity() == 0 {
                self.filling.reserve_exact(PART);
            }
            let take = (PART - self.filling.len()).min(data.len());
            self.filling.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.filling.len() == PART {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Starts the upload (and records it) if need be, takes the parts that are done (waiting
    /// for the oldest while [`PARTS_IN_FLIGHT`] are going up), then sends the part filled so far
    /// in the background. A failed part is an error (dropping the upload then aborts it).
    async fn send_part(&mut self) -> Result<(), MediaError> {
        let upload = match &self.upload {
            Some(upload) => upload.clone(),
            None => {
                let upload = self.s3.create_upload(&self.id).await?;
                self.upload = Some(upload.clone());
                self.record(&upload).await?;
                upload
            }
        };
        while self.in_flight.len() >= PARTS_IN_FLIGHT || self.in_flight.front().is_some_and(JoinHandle::is_finished) {
            self.take_oldest().await?;
        }
        let part = Bytes::from(std::mem::take(&mut self.filling));
        let (s3, id, index) = (self.s3.clone(), self.id.clone(), self.parts.len() + self.in_flight.len());
        self.in_flight.push_back(self.runtime.spawn(async move { s3.put_part(&id, &upload, index, vec![part]).await }));
        Ok(())
    }

    /// Waits for the oldest part in flight and keeps its id.
    async fn take_oldest(&mut self) -> Result<(), MediaError> {
        if let Some(oldest) = self.in_flight.pop_front() {
            self.parts.push(joined(oldest.await)?);
        }
        Ok(())
    }

    async fn record(&self, upload: &str) -> Result<(), MediaError> {
        let Some(store) = &self.store else { return Ok(()) };
        let started_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let record = media_uploads::MediaUpload { key: self.s3.key_text(&self.id), started_ms };
        let upload = upload.to_string();
        store
            .write(move |tx| media_uploads::put(tx, &upload, &record))
            .await
            .map_err(|e| MediaError::Io(io::Error::other(format!("recording a media upload: {e}"))))
    }

    /// Sends what is left, completes the upload and checks the object's size in the store;
    /// answers the object's length.
    pub(super) async fn finish(mut self) -> Result<u64, MediaError> {
        match self.upload.clone() {
            None => self.s3.put(&self.id, vec![Bytes::from(std::mem::take(&mut self.filling))]).await?,
            Some(upload) => {
                if !self.filling.is_empty() {
                    self.send_part().await?;
                }
                while !self.in_flight.is_empty() {
                    self.take_oldest().await?;
                }
                self.s3.complete_upload(&self.id, &upload, std::mem::take(&mut self.parts)).await?;
            }
        }
        // from here on, a failure removes the object
        self.stored = true;
        let stored = self.s3.size(&self.id).await?;
        if stored != Some(self.written) {
            return Err(MediaError::Unavailable(format!(
                "the store holds {} bytes of an object written with {}",
                stored.map_or("no".to_string(), |n| n.to_string()),
                self.written
            )));
        }
        self.done = true;
        if let Some(upload) = &self.upload {
            forget_record(self.store.as_ref(), upload).await;
        }
        Ok(self.written)
    }
}

impl Drop for ObjectUpload {
    /// An upload given up: the parts in flight are waited for, then the upload aborted (or the
    /// object that failed its check removed) and the record removed, in the background.
    fn drop(&mut self) {
        if self.done || (self.upload.is_none() && !self.stored) {
            return;
        }
        let (s3, store, id, stored) = (self.s3.clone(), self.store.clone(), self.id.clone(), self.stored);
        let (upload, in_flight) = (self.upload.take(), std::mem::take(&mut self.in_flight));
        self.runtime.spawn(async move {
            for part in in_flight {
                let _ = part.await;
            }
            let cleaned = match (&upload, stored) {
                (_, true) => s3.delete(&id).await.map(drop),
                (Some(upload), false) => s3.abort_upload_at(&s3.key_text(&id), upload).await,
                (None, false) => Ok(()),
            };
            match (cleaned, upload) {
                (Ok(()), Some(upload)) => forget_record(store.as_ref(), &upload).await,
                (Ok(()), None) => {}
                (Err(e), _) => tracing::warn!(error = %e, "cannot clean up an unfinished media upload; the GC will"),
            }
        });
    }
}

async fn forget_record(store: Option<&Store>, upload: &str) {
    let Some(store) = store else { return };
    let upload = upload.to_string();
    if let Err(e) = store.write(move |tx| media_uploads::remove(tx, &upload)).await {
        tracing::warn!(error = %e, "cannot remove the record of a media upload; the GC will");
    }
}

fn joined(part: Result<Result<PartId, MediaError>, tokio::task::JoinError>) -> Result<PartId, MediaError> {
    part.map_err(|e| MediaError::Unavailable(format!("a part upload failed: {e}")))?
}

/// An [`ObjectUpload`] written from a blocking thread (the one that encrypts), which waits
/// for the runtime when a part is sent.
pub(super) struct BlockingUpload(pub(super) ObjectUpload);

impl BlockingUpload {
    pub(super) fn finish(self) -> Result<u64, MediaError> {
        let runtime = self.0.runtime.clone();
        runtime.block_on(self.0.finish())
    }
}

impl Write for BlockingUpload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let runtime = self.0.runtime.clone();
        runtime.block_on(self.0.push(data)).map_err(io::Error::other)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
