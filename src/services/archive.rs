//! ZIP archives streamed as they are written (never whole in memory): [`spawn`] runs a
//! writer on the blocking pool and hands its bytes out as a stream, 64 KiB at a time; entries
//! are stored (media is already compressed) and ZIP64 is used past 4 GiB. The library's
//! archive of chosen generations ([`stream`]) and the data export build on it, and share the
//! JSON record of a generation ([`generation_record`]) and of a file ([`file_record`]).

use std::future::Future;
use std::io::Write;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::{media, search};
use crate::domain::asset::Asset;
use crate::domain::generation::Generation;
use crate::state::AppState;

/// How much the writer buffers before handing a chunk on.
const CHUNK: usize = 64 * 1024;

/// The bytes of an archive being written; an error item ends it (the archive is incomplete).
pub type ArchiveStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// The library's archive of `chosen` (already checked to be the caller's): one entry per
/// output under its download name and a JSON sidecar per generation.
pub fn stream(state: AppState, chosen: Vec<Generation>) -> ArchiveStream {
    spawn(state, move |zip| {
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
        "references": g.references.iter().map(|r| serde_json::json!({ "role": r.role.as_str(), "upload": r.upload.to_string() })).collect::<Vec<_>>(),
        "files": files,
    })
}

/// A stored file as archives describe it, under its entry name `file`.
pub fn file_record(file: &str, asset: &Asset) -> serde_json::Value {
    serde_json::json!({
        "file": file, "id": asset.id.to_string(), "content_type": asset.content_type, "bytes": asset.bytes, "sha256": asset.sha256,
    })
}

/// Runs `fill` on the blocking pool with an empty archive, then finishes it; returns the
/// archive's bytes as they are written. A failure of `fill`, or of reading a stored file,
/// ends the stream with an error; a consumer that goes away stops the writer.
pub fn spawn<F>(state: AppState, fill: F) -> ArchiveStream
where
    F: FnOnce(&mut ZipSink<'_>) -> Result<(), String> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let runtime = Handle::current();
    tokio::task::spawn_blocking(move || {
        let errors = sender.clone();
        let out = ChannelWriter { sender, buffer: Vec::with_capacity(CHUNK) };
        let mut zip = ZipSink {
            runtime: &runtime,
            state: &state,
            zip: zip::ZipWriter::new_stream(out).set_auto_large_file(),
            options: zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(false),
        };
        if let Err(e) = fill(&mut zip).and_then(|()| zip.finish()) {
            tracing::warn!(error = %e, "writing a ZIP archive stopped");
            let _ = errors.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    Box::pin(futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) }))
}

/// An archive being written, on the blocking pool (see [`spawn`]).
pub struct ZipSink<'a> {
    runtime: &'a Handle,
    pub state: &'a AppState,
    zip: zip::ZipWriter<zip::write::StreamWriter<ChannelWriter>>,
    options: zip::write::SimpleFileOptions,
}

impl ZipSink<'_> {
    /// Waits for `future` (the writer runs on the blocking pool, outside the runtime).
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
        while let Some(chunk) = self.runtime.block_on(stream.next()) {
            self.zip.write_all(&chunk.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), String> {
        let mut out = self.zip.finish().map_err(|e| e.to_string())?.into_inner();
        out.flush().map_err(|e| e.to_string())
    }
}

/// A `Write` that hands 64 KiB chunks on; fails once the consumer has gone.
struct ChannelWriter {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
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
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the archive's reader went away"))
    }
}
