//! ZIP archives streamed as they are written (never whole in memory): [`spawn`] runs a
//! writer on a thread of its own and hands its bytes out as a stream, 64 KiB at a time;
//! entries are stored (media is already compressed) and ZIP64 is used past 4 GiB. The
//! library's archive of chosen generations ([`stream`]) and the data export build on it, and
//! share the JSON record of a generation ([`generation_record`]) and of a file ([`file_record`]).
//!
//! Why a thread of its own: the writer is synchronous and waits on its reader (back-pressure)
//! and on the store. On a blocking pool it would hold one of the pool's few threads for as
//! long as its reader takes, and wait for store reads that need another thread of the same
//! pool: a dozen slow downloads once took every thread and every request waited forever.
//! Each writer holds a [`Place`] (a bounded number per person and in all), waits on
//! nothing but its own small runtime, and gives up when its reader takes nothing for the
//! configured `limits.stalled_reader`, freeing its thread, its place and its open files.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::domain::asset::Asset;
use crate::domain::generation::Generation;
use crate::services::limits::places::Place;
use crate::services::state::AppState;
use crate::services::{studio::media, studio::search};

/// How much the writer buffers before handing a chunk on.
const CHUNK: usize = 64 * 1024;

/// The bytes of an archive being written; an error item ends it (the archive is incomplete).
pub type ArchiveStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// The library's archive of `chosen` (already checked to be the caller's): one entry per
/// output under its download name and a JSON sidecar per generation, written in `slot`.
pub fn stream(state: AppState, slot: Place, chosen: Vec<Generation>) -> ArchiveStream {
    spawn(state, "library-zip", slot, move |zip| {
        let provider_of = search::provider_of(zip.state);
        for g in &chosen {
            let outputs = zip.block_on(media::assets(zip.state, g.outputs.clone())).map_err(|e| e.to_string())?;
            let mut files = Vec::new();
            for asset in &outputs {
                let name = media::file_name(asset, Some(g));
                zip.asset(&name, asset)?;
                files.push(file_record(&name, asset));
            }
            let stem = format!("{}-{}", g.model, g.id.to_string().to_lowercase());
            zip.json(&format!("{stem}.json"), &generation_record(g, &provider_of(g), files))?;
        }
        Ok(())
    })
}

/// A generation as archives describe it: prompt, parameters, model, provider, dates, cost,
/// flags, references, and `files` (from [`file_record`]).
pub fn generation_record(g: &Generation, provider: &str, files: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "id": g.id.to_string(),
        "prompt": g.prompt,
        "negative_prompt": g.negative_prompt,
        "params": g.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        "model": g.model,
        "provider": provider,
        "connection": g.connection,
        "kind": g.kind.as_str(),
        "state": g.state.as_str(),
        "reason": g.reason.as_ref().map(|r| serde_json::json!({ "code": r.code, "message": r.message })),
        "cost": g.cost,
        "created_at": g.created_at.rfc3339(),
        "submitted_at": g.submitted_at.map(|t| t.rfc3339()),
        "finished_at": g.finished_at.map(|t| t.rfc3339()),
        "kept": g.kept,
        "shared": g.shared,
        "references": g.references.iter().map(|r| serde_json::json!({ "role": r.role.as_str(), "upload": r.upload.to_string(), "tag": r.tag })).collect::<Vec<_>>(),
        "files": files,
    })
}

/// A stored file as archives describe it, under its entry name `file`.
pub fn file_record(file: &str, asset: &Asset) -> serde_json::Value {
    serde_json::json!({
        "file": file, "id": asset.id.to_string(), "content_type": asset.content_type, "bytes": asset.bytes, "sha256": asset.sha256,
    })
}

/// Runs `fill` with an empty archive on a thread of its own, holding `slot`, then finishes
/// the archive; returns its bytes as they are written. An archive that stops short (a failure
/// of `fill` or of reading a stored file, a reader that took nothing for
/// `limits.stalled_reader`) ends the stream with an error, never as if it were whole; a
/// reader that goes away stops the writer.
pub fn spawn<F>(state: AppState, kind: &'static str, slot: Place, fill: F) -> ArchiveStream
where
    F: FnOnce(&mut ZipSink<'_>) -> Result<(), String> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel::<Bytes>(4);
    let complete = Arc::new(AtomicBool::new(false));
    let writer = Writer { sender, stalled: state.config.limits.stalled_reader, complete: complete.clone() };
    let running = state.workers.bounded().begin(kind);
    let work = move || {
        writer.run(state, slot, fill);
        drop(running);
    };
    if let Err(e) = std::thread::Builder::new().name("archive".into()).spawn(work) {
        tracing::error!(error = %e, "an archive writer could not start");
    }
    let items = futures_util::stream::unfold(Some(receiver), move |receiver| {
        let complete = complete.clone();
        async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(bytes) => Some((Ok(bytes), Some(receiver))),
                None if complete.load(Ordering::Acquire) => None,
                None => Some((Err(std::io::Error::other("the archive stopped before its end")), None)),
            }
        }
    });
    Box::pin(items)
}

/// The writing end of an archive, moved to its thread.
struct Writer {
    sender: mpsc::Sender<Bytes>,
    stalled: Duration,
    /// Set once the archive's last byte was handed on.
    complete: Arc<AtomicBool>,
}

impl Writer {
    /// The writer's thread: its own small runtime for the store and the vault, and for
    /// waiting on the reader with a deadline; `slot` is freed when it returns.
    fn run<F>(self, state: AppState, slot: Place, fill: F)
    where
        F: FnOnce(&mut ZipSink<'_>) -> Result<(), String>,
    {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(runtime) => Arc::new(runtime),
            Err(e) => return tracing::error!(error = %e, "an archive writer could not start its runtime"),
        };
        let complete = self.complete.clone();
        let out = ChannelWriter { runtime: runtime.clone(), sender: self.sender, stalled: self.stalled, buffer: Vec::with_capacity(CHUNK) };
        let mut zip = ZipSink {
            runtime: &runtime,
            state: &state,
            zip: zip::ZipWriter::new_stream(out).set_auto_large_file(),
            options: zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(false),
        };
        match fill(&mut zip).and_then(|()| zip.finish()) {
            // marked whole before the channel closes (dropping `out`): the reader looks at
            // the mark when it finds the channel closed
            // and its place is free by then, for the reader's next archive
            Ok(out) => {
                complete.store(true, Ordering::Release);
                drop(slot);
                drop(out);
            }
            Err(e) => tracing::warn!(error = %e, "writing a ZIP archive stopped"),
        }
    }
}

/// An archive being written, on its own thread (see [`spawn`]).
pub struct ZipSink<'a> {
    runtime: &'a Runtime,
    pub state: &'a AppState,
    zip: zip::ZipWriter<zip::write::StreamWriter<ChannelWriter>>,
    options: zip::write::SimpleFileOptions,
}

impl ZipSink<'_> {
    /// Waits for `future` on the writer's own runtime (its blocking work, such as store reads,
    /// runs on that runtime's threads, never on a pool that requests use).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Adds `value` as a pretty-printed JSON entry.
    pub fn json(&mut self, name: &str, value: &impl Serialize) -> Result<(), String> {
        self.zip.start_file(name, self.options).map_err(|e| e.to_string())?;
        serde_json::to_writer_pretty(&mut self.zip, value).map_err(|e| e.to_string())
    }

    /// Adds a JSON array entry written one item at a time (never the whole array in memory).
    pub fn json_array<T: Serialize>(&mut self, name: &str, items: impl IntoIterator<Item = T>) -> Result<(), String> {
        self.zip.start_file(name, self.options).map_err(|e| e.to_string())?;
        let mut first = true;
        self.zip.write_all(b"[").map_err(|e| e.to_string())?;
        for item in items {
            self.zip.write_all(if first { b"\n  " } else { b",\n  " }).map_err(|e| e.to_string())?;
            serde_json::to_writer(&mut self.zip, &item).map_err(|e| e.to_string())?;
            first = false;
        }
        self.zip.write_all(if first { b"]\n" } else { b"\n]\n" }).map_err(|e| e.to_string())
    }

    /// Adds a stored file, decrypted chunk by chunk.
    pub fn asset(&mut self, name: &str, asset: &Asset) -> Result<(), String> {
        self.zip.start_file(name, self.options).map_err(|e| e.to_string())?;
        let state = self.state;
        let identity = self.block_on(state.keyring.identity(&state.store, asset.owner)).map_err(|e| e.to_string())?;
        let (_, mut stream) = self.block_on(state.media.read_range(&asset.id.to_string(), identity, None)).map_err(|e| e.to_string())?;
        while let Some(chunk) = self.block_on(stream.next()) {
            self.zip.write_all(&chunk.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Writes the archive's closing directory and hands every byte on; returns the channel's
    /// end, still open.
    fn finish(self) -> Result<ChannelWriter, String> {
        let mut out = self.zip.finish().map_err(|e| e.to_string())?.into_inner();
        out.flush().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// A `Write` that hands 64 KiB chunks on; fails once the consumer has gone, or has taken
/// nothing for `stalled`.
struct ChannelWriter {
    runtime: Arc<Runtime>,
    sender: mpsc::Sender<Bytes>,
    stalled: Duration,
    buffer: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK)));
        // the deadline is made inside the runtime, whose timer it needs
        let (sender, stalled) = (&self.sender, self.stalled);
        match self.runtime.block_on(async move { tokio::time::timeout(stalled, sender.send(chunk)).await }) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the archive's reader went away")),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the archive's reader took nothing for too long")),
        }
    }
}
