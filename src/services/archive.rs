//! A ZIP of generations, streamed as it is written (never whole in memory): one entry per
//! output under its download name, and a JSON sidecar per generation with its prompt,
//! parameters, model, provider, dates, cost and each file's SHA-256. Entries are stored
//! (media is already compressed); ZIP64 is used when an archive grows past 4 GiB.

use std::io::Write;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{media, search};
use crate::domain::asset::Asset;
use crate::domain::generation::Generation;
use crate::state::AppState;

/// How much the writer buffers before handing a chunk to the response.
const CHUNK: usize = 64 * 1024;

/// The archive of `chosen` (already checked to be the caller's) as a byte stream.
pub fn stream(state: AppState, chosen: Vec<Generation>) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let errors = sender.clone();
        if let Err(e) = write(&runtime, &state, &chosen, ChannelWriter { sender, buffer: Vec::with_capacity(CHUNK) }) {
            tracing::warn!(error = %e, "writing a ZIP archive stopped");
            let _ = errors.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) })
}

fn write(runtime: &tokio::runtime::Handle, state: &AppState, chosen: &[Generation], out: ChannelWriter) -> Result<(), String> {
    let mut zip = zip::ZipWriter::new_stream(out).set_auto_large_file();
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(false);
    let provider_of = search::provider_of(state);
    for g in chosen {
        let outputs = runtime.block_on(media::assets(state, g.outputs.clone())).map_err(|e| e.to_string())?;
        let mut files = Vec::new();
        for asset in &outputs {
            let name = runtime.block_on(media::download_name(state, asset));
            zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
            copy_asset(runtime, state, asset, &mut zip)?;
            files.push(serde_json::json!({
                "file": name, "content_type": asset.content_type, "bytes": asset.bytes, "sha256": asset.sha256,
            }));
        }
        let sidecar = serde_json::json!({
            "id": g.id.to_string(),
            "prompt": g.prompt,
            "negative_prompt": g.negative_prompt,
            "params": g.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
            "model": g.model,
            "provider": provider_of(g),
            "connection": g.connection,
            "kind": g.kind.as_str(),
            "state": g.state.as_str(),
            "cost": g.cost,
            "created_at": g.created_at.rfc3339(),
            "finished_at": g.finished_at.map(|t| t.rfc3339()),
            "kept": g.kept,
            "files": files,
        });
        let stem = format!("{}-{}", g.model, g.id.to_string().to_lowercase());
        zip.start_file(format!("{stem}.json"), options).map_err(|e| e.to_string())?;
        let text = serde_json::to_vec_pretty(&sidecar).map_err(|e| e.to_string())?;
        zip.write_all(&text).map_err(|e| e.to_string())?;
    }
    let mut out = zip.finish().map_err(|e| e.to_string())?.into_inner();
    out.flush().map_err(|e| e.to_string())
}

/// Decrypts one stored file into the archive, chunk by chunk.
fn copy_asset(runtime: &tokio::runtime::Handle, state: &AppState, asset: &Asset, out: &mut impl Write) -> Result<(), String> {
    let identity = runtime.block_on(state.keyring.identity(&state.store, asset.owner)).map_err(|e| e.to_string())?;
    let (_, mut stream) = runtime.block_on(state.media.read_range(&asset.id.to_string(), identity, None)).map_err(|e| e.to_string())?;
    while let Some(chunk) = runtime.block_on(stream.next()) {
        out.write_all(&chunk.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A `Write` that hands 64 KiB chunks to the response; fails once the client has gone.
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
        self.sender.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the download was cancelled"))
    }
}
