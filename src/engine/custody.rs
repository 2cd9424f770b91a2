//! Custody: stream each output from the provider into the vault (hashed, encrypted, fsynced,
//! renamed; a small one sealed in memory for the store) before the generation may succeed, its type decided from its first bytes (what
//! the provider claims is never trusted: see [`crate::domain::media_type`]), then add posters (see [`super::posters`]: the
//! provider's own thumbnail of a video where it gives one, fetched here through the same
//! connection before the upstream copy is deleted); whether a video has sound is read from its
//! boxes as they pass (see [`crate::vault::av::scan`]); read stored media back for providers.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::Engine;
use super::ends::{Ending, FRESH_MAX};
use crate::domain::asset::{Asset, AssetKind, SealedMedia};
use crate::domain::generation::{Generation, Reason};
use crate::domain::ids::AssetId;
use crate::domain::media_type;
use crate::domain::time::Timestamp;
use crate::providers::registry::Connection;
use crate::vault::av::scan::SoundScan;
use crate::vault::media::MediaError;

/// An output this small (bytes), unless a video (whose poster frame is taken from its file),
/// is sealed in memory and kept in the store with its record, in the transaction that records
/// the success, instead of a file of its own: creating and syncing a file and its directory
/// costs a small output more than its bytes (see `store::sealed_media`).
pub const SEAL_UP_TO: u64 = 64 * 1024;

/// What custody stored: the records of the outputs (posters after them), and the age files
/// of the small ones, which go into the store with their records.
pub struct Taken {
    pub assets: Vec<Asset>,
    pub sealed: Vec<SealedMedia>,
}

/// How long one output may take to arrive.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

fn failed(message: impl Into<String>) -> Reason {
    Reason::new("custody_failed", message)
}

/// Fetches and stores every pending output of `g`, with a poster for each where one can be
/// made (listed after the outputs); on any failure removes what it stored. For a waiting
/// caller, the outputs' bytes are kept in `ending` as well (up to [`FRESH_MAX`] in all).
pub async fn take(engine: &Engine, connection: &Connection, g: &Generation, ending: &mut Ending) -> Result<Taken, Reason> {
    let Some(handle) = &g.upstream else { return Err(failed("The job has no upstream handle.")) };
    if g.pending_outputs.is_empty() {
        return Err(failed("The provider reported success but no output."));
    }
    let model_cap = engine.parts.registry.current().model(&g.model).map(|m| m.max_output_bytes).unwrap_or(512 * 1024 * 1024);
    let cap = connection.config.max_output_bytes.unwrap_or(model_cap);
    let recipient = engine
        .parts
        .keyring
        .recipient_or_create(&engine.parts.store, g.owner)
        .await
        .map_err(|e| failed(format!("The owner's key is unavailable: {e}")))?;
    let mut stored: Vec<Asset> = Vec::new();
    let mut sealed: Vec<SealedMedia> = Vec::new();
    let mut keep = ending.awaited().then_some(FRESH_MAX);
    for output in &g.pending_outputs {
        let id = AssetId::generate();
        let seen = Arc::new(Mutex::new(Seen { kept: keep.map(Kept::up_to), ..Seen::default() }));
        let result = async {
            let stream = open_output(connection, handle, output, cap).await?;
            let seen_at_end = seen.clone();
            let seen = seen.clone();
            let body = stream.map_err(|e| e.to_string()).inspect_ok(move |chunk| watch(&seen, chunk));
            let name = id.to_string();
            // a video's poster frame is taken from its file during custody: only others are sealed
            let small = |len: u64| len <= SEAL_UP_TO && !is_video(&seen_at_end);
            let ingest = engine.parts.media.ingest_or_seal(&name, &recipient, Box::pin(body), cap, small);
            tokio::time::timeout(FETCH_TIMEOUT, ingest).await.map_err(|_| failed("Downloading the output took too long."))?.map_err(|e| {
                match e {
                    // the store's answer names its address and the object: the log has it
                    MediaError::Unavailable(reason) => {
                        tracing::warn!(%reason, generation = %g.id, "storing an output: media store unreachable");
                        failed("Storing the output failed: media store unreachable (the server's log has its answer).")
                    }
                    other => failed(format!("Storing the output failed: {other}")),
                }
            })
        }
        .await;
        match result {
            Ok(ingested) => {
                if let Some(file) = ingested.sealed {
                    sealed.push(SealedMedia { asset: id, file });
                }
                let kept = seen.lock().unwrap_or_else(|p| p.into_inner()).kept.take().and_then(Kept::whole);
                keep = match kept {
                    Some(bytes) => {
                        let left = keep.map(|k| k.saturating_sub(bytes.len() as u64));
                        ending.fresh.push((id, bytes));
                        left
                    }
                    None => None,
                };
                stored.push(Asset {
                    id,
                    owner: g.owner,
                    kind: AssetKind::Output,
                    content_type: stored_type(&seen, output.content_type.as_deref()),
                    bytes: ingested.bytes,
                    sha256: ingested.sha256,
                    width: None,
                    height: None,
                    generation: Some(g.id),
                    created_at: Timestamp::now(),
                    poster: None,
                    has_sound: has_sound(&seen),
                });
            }
            Err(reason) => {
                for asset in &stored {
                    let _ = engine.parts.media.delete(&asset.id.to_string()).await;
                }
                return Err(reason);
            }
        }
    }
    // thumbnails and posters (the provider's thumbnail, else a frame): best effort, never a
    // reason to fail the job
    let upstream = super::posters::Upstream { connection, handle, outputs: &g.pending_outputs };
    let posters = super::posters::attach(engine, &recipient, &upstream, &mut stored).await;
    stored.extend(posters);
    Ok(Taken { assets: stored, sealed })
}

/// Opens an output's download, retrying temporary upstream errors (5xx, 429) that happen
/// before any byte arrives, as often as the connection allows.
async fn open_output(
    connection: &Connection,
    handle: &crate::domain::generation::UpstreamHandle,
    output: &crate::domain::generation::OutputRef,
    cap: u64,
) -> Result<crate::providers::ByteStream, Reason> {
    let mut errors = 0;
    loop {
        match connection.provider.fetch(handle, output, cap).await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.is_retryable() && errors < connection.config.max_retries => {
                errors += 1;
                tokio::time::sleep(crate::engine::backoff::error_delay(errors, e.retry_after())).await;
            }
            Err(e) => return Err(failed(format!("Downloading the output failed: {e}"))),
        }
    }
}

/// What custody learns of an output as it streams past.
#[derive(Default)]
struct Seen {
    /// The first [`media_type::SNIFF_LEN`] bytes.
    head: Vec<u8>,
    /// Whether a movie has a sound track.
    sound: SoundScan,
    /// The whole output, for a waiting caller, while it stays under its limit.
    kept: Option<Kept>,
}

/// An output's pieces as they passed (shared, not copied), up to a limit.
struct Kept {
    pieces: Vec<Bytes>,
    left: u64,
}

impl Kept {
    fn up_to(limit: u64) -> Kept {
        Kept { pieces: Vec::new(), left: limit }
    }

    /// Keeps `piece`; `false` once the output is over the limit (nothing is kept then).
    fn add(&mut self, piece: &Bytes) -> bool {
        let Some(left) = self.left.checked_sub(piece.len() as u64) else { return false };
        self.left = left;
        self.pieces.push(piece.clone());
        true
    }

    /// The output in one piece.
    fn whole(mut self) -> Option<Bytes> {
        if self.pieces.len() == 1 {
            return self.pieces.pop();
        }
        Some(Bytes::from(self.pieces.concat()))
    }
}

/// Keeps the first bytes of an output (and all of it for a waiting caller) and looks for a
/// sound track in them all.
fn watch(seen: &Mutex<Seen>, chunk: &Bytes) {
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    let wanted = media_type::SNIFF_LEN.saturating_sub(seen.head.len()).min(chunk.len());
    seen.head.extend_from_slice(&chunk[..wanted]);
    seen.sound.feed(chunk);
    if seen.kept.as_mut().is_some_and(|kept| !kept.add(chunk)) {
        seen.kept = None;
    }
}

/// Whether an output's first bytes say it is a video.
fn is_video(seen: &Mutex<Seen>) -> bool {
    media_type::sniff(&seen.lock().unwrap_or_else(|p| p.into_inner()).head).is_some_and(|found| found.starts_with("video/"))
}

/// Whether a stored output plays sound: an audio file, or a movie with a sound track.
fn has_sound(seen: &Mutex<Seen>) -> bool {
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    match media_type::sniff(&seen.head) {
        Some("video/mp4" | "video/quicktime" | "video/webm") => seen.sound.has_sound(),
        Some(found) => found.starts_with("audio/"),
        None => false,
    }
}

/// The type an output is stored as: what its first bytes say, else [`media_type::OPAQUE`].
fn stored_type(seen: &Mutex<Seen>, claimed: Option<&str>) -> String {
    let head = &seen.lock().unwrap_or_else(|p| p.into_inner()).head;
    let found = media_type::sniff(head).unwrap_or(media_type::OPAQUE);
    if claimed.is_some_and(|c| !c.eq_ignore_ascii_case(found)) {
        tracing::info!(claimed, stored = found, "the provider's content type differs from the output's bytes; the bytes decide");
    }
    found.to_string()
}

/// Reads a stored file whole (references: an image, audio or a short video).
pub async fn read_all(engine: &Engine, asset: &Asset) -> Result<Bytes, String> {
    crate::vault::read_whole(&engine.parts.media, &engine.parts.keyring, &engine.parts.store, asset).await.map_err(|e| e.to_string())
}
