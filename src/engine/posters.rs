//! Posters at custody: an image output gets a resized JPEG thumbnail; a video output gets the
//! provider's own thumbnail where its API gives one (`OutputRef::thumbnail`: OpenAI Videos'
//! `variant=thumbnail`, Luma's `assets.image`), fetched through the connection like the output
//! and resized the same way; else a frame taken by `ffmpeg` when it is installed (plaintext only
//! ever passes through pipes). Posters are stored encrypted like every asset; plaintext stays
//! in memory. A poster that cannot be made (a thumbnail missing, failing to download or not an
//! image, no ffmpeg) is skipped: it never fails the job (pages show a neutral placeholder).
//! Making posters is CPU work, so it takes turns: one poster per CPU core at a time, the rest
//! wait, and a burst of finished jobs cannot start hundreds of ffmpegs at once.

use std::io::Cursor;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::StreamExt;
use image::{DynamicImage, ImageReader, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OwnedSemaphorePermit;

use super::Engine;
use crate::domain::asset::{Asset, AssetKind};
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::domain::ids::AssetId;
use crate::domain::time::Timestamp;
use crate::providers::registry::Connection;
use crate::turns::Turns;

/// A thumbnail's width in pixels (narrower images keep theirs).
pub const WIDTH: u32 = 384;
/// An image output this small (bytes) is its own thumbnail: a JPEG of it would save little
/// and cost a decode, an encode and a stored file per image.
pub const OWN_THUMBNAIL_MAX: u64 = 64 * 1024;
/// The most pixels an output may have for a thumbnail to be made.
const MAX_PIXELS: u64 = 100_000_000;
/// How long ffmpeg may take for one frame.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest frame accepted from ffmpeg.
const MAX_FRAME_BYTES: u64 = 16 * 1024 * 1024;
/// The largest provider thumbnail accepted.
const MAX_THUMBNAIL_BYTES: u64 = 16 * 1024 * 1024;
/// How long a provider thumbnail may take to arrive.
const THUMBNAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the outputs came from: the provider's thumbnails are fetched from there.
pub struct Upstream<'a> {
    pub connection: &'a Connection,
    pub handle: &'a UpstreamHandle,
    /// What the provider reported, in the order of the stored outputs.
    pub outputs: &'a [OutputRef],
}

/// Makes and stores a poster for each video output, linking it from the output's `poster`;
/// returns the poster assets (to be recorded with the outputs). Images get theirs after the
/// success is recorded ([`after_success`]): a thumbnail is not worth a wait on the request.
pub async fn attach(engine: &Engine, recipient: &age::x25519::Recipient, upstream: &Upstream<'_>, outputs: &mut [Asset]) -> Vec<Asset> {
    let mut posters = Vec::new();
    for (i, output) in outputs.iter_mut().enumerate() {
        // audio, SVG (no rasteriser: pages offer it as a download) and unknown files get none
        if !output.is_video() {
            continue;
        }
        let reported = upstream.outputs.get(i);
        let made = match provider_thumbnail(upstream, reported).await {
            Some(made) => Some(made),
            None => video_frame(engine, output).await,
        };
        if let Some(poster) = store_poster(engine, recipient, output, made).await {
            output.poster = Some(poster.id);
            posters.push(poster);
        }
    }
    posters
}

/// Makes the thumbnails of a succeeded generation's image outputs and records them (best
/// effort: until then, and if it fails, pages show the image itself, as they do for images
/// of at most [`OWN_THUMBNAIL_MAX`]). A poster whose output was deleted meanwhile is removed
/// again.
pub async fn after_success(engine: Engine, outputs: Vec<Asset>) {
    let images: Vec<Asset> =
        outputs.into_iter().filter(|a| a.kind == AssetKind::Output && a.is_inline_image() && a.bytes > OWN_THUMBNAIL_MAX).collect();
    let Some(first) = images.first() else { return };
    let (owner, generation) = (first.owner, first.generation);
    let Ok(recipient) = engine.parts.keyring.recipient_or_create(&engine.parts.store, owner).await else { return };
    let mut made = Vec::new();
    for output in &images {
        let thumbnail = image_thumbnail(&engine, output).await;
        if let Some(poster) = store_poster(&engine, &recipient, output, thumbnail).await {
            made.push((output.id, poster));
        }
    }
    let Some(generation) = generation.filter(|_| !made.is_empty()) else { return };
    for unrecorded in engine.parts.lifecycle.attach_posters(generation, made).await {
        let _ = engine.parts.media.delete(&unrecorded.to_string()).await;
    }
}

/// Encrypts and stores a made poster of `output` (`None` when none was made or storing failed).
async fn store_poster(
    engine: &Engine,
    recipient: &age::x25519::Recipient,
    output: &Asset,
    made: Option<(Vec<u8>, u32, u32)>,
) -> Option<Asset> {
    let (jpeg, width, height) = made?;
    let id = AssetId::generate();
    match engine.parts.media.ingest_bytes(&id.to_string(), recipient, jpeg).await {
        Ok(ingested) => Some(Asset {
            id,
            owner: output.owner,
            kind: AssetKind::Poster,
            content_type: "image/jpeg".into(),
            bytes: ingested.bytes,
            sha256: ingested.sha256,
            width: Some(width),
            height: Some(height),
            generation: output.generation,
            created_at: Timestamp::now(),
            poster: None,
            has_sound: false,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "storing a poster failed; the output has none");
            None
        }
    }
}

/// Waits for a turn to make a poster (first come, first served; one turn per CPU core).
async fn turn() -> OwnedSemaphorePermit {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    TURNS.get_or_init(|| Turns::per_core(1)).take().await
}

async fn image_thumbnail(engine: &Engine, output: &Asset) -> Option<(Vec<u8>, u32, u32)> {
    let _turn = turn().await;
    let bytes = super::custody::read_all(engine, output).await.ok()?;
    let made = tokio::task::spawn_blocking(move || thumbnail(&bytes)).await.ok()?;
    made.inspect_err(|e| tracing::info!(error = %e, "no thumbnail for an image output")).ok()
}

/// The provider's own thumbnail of a video output (when it reported one), fetched through the
/// connection with the job's handle and made a thumbnail; `None` when there is none, it fails
/// to arrive in time or within [`MAX_THUMBNAIL_BYTES`], or it is not a decodable image.
async fn provider_thumbnail(upstream: &Upstream<'_>, reported: Option<&OutputRef>) -> Option<(Vec<u8>, u32, u32)> {
    let location = reported?.thumbnail_ref()?;
    let download = async {
        let mut stream = upstream.connection.provider.fetch(upstream.handle, &location, MAX_THUMBNAIL_BYTES).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > MAX_THUMBNAIL_BYTES {
                return Err(crate::providers::ProviderError::TooLarge { cap: MAX_THUMBNAIL_BYTES });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    let bytes = match tokio::time::timeout(THUMBNAIL_TIMEOUT, download).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            tracing::info!(error = %e, "the provider's thumbnail could not be downloaded; trying a frame instead");
            return None;
        }
        Err(_) => {
            tracing::info!("the provider's thumbnail took too long; trying a frame instead");
            return None;
        }
    };
    let _turn = turn().await;
    let made = tokio::task::spawn_blocking(move || thumbnail(&bytes)).await.ok()?;
    made.inspect_err(|e| tracing::warn!(error = %e, "the provider's thumbnail is not an image; trying a frame instead")).ok()
}

/// A JPEG at most [`WIDTH`] pixels wide of an encoded image, decoded within memory limits.
pub fn thumbnail(input: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    let mut reader = ImageReader::new(Cursor::new(input)).with_guessed_format().map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().map_err(|e| e.to_string())?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0 {
        return Err(format!("{w}×{h} pixels is too many or none"));
    }
    let mut reader = ImageReader::new(Cursor::new(input)).with_guessed_format().map_err(|e| e.to_string())?;
    reader.limits(limits_for(w, h));
    let image = reader.decode().map_err(|e| e.to_string())?;
    let small = if image.width() > WIDTH { image.resize(WIDTH, u32::MAX, image::imageops::FilterType::Triangle) } else { image };
    encode_jpeg(&small)
}

fn limits_for(w: u32, h: u32) -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(u64::from(w) * u64::from(h) * 16 + (1 << 20));
    limits
}

fn encode_jpeg(image: &DynamicImage) -> Result<(Vec<u8>, u32, u32), String> {
    let rgb = image.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82).encode_image(&rgb).map_err(|e| e.to_string())?;
    Ok((out, rgb.width(), rgb.height()))
}

/// Whether an `ffmpeg` binary is on the PATH (looked up once).
fn ffmpeg() -> Option<&'static std::path::Path> {
    static FOUND: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).map(|dir| dir.join("ffmpeg")).find(|p| p.is_file())
        })
        .as_deref()
}

/// A frame of a video output taken by ffmpeg (fed through stdin, read from stdout), as a
/// thumbnail; `None` without ffmpeg or when it fails or takes too long.
async fn video_frame(engine: &Engine, output: &Asset) -> Option<(Vec<u8>, u32, u32)> {
    let ffmpeg = ffmpeg()?;
    let _turn = turn().await;
    let identity = engine.parts.keyring.identity(&engine.parts.store, output.owner).await.ok()?;
    let (_, mut stream) = engine.parts.media.read_range(&output.id.to_string(), identity, None).await.ok()?;
    let mut child = tokio::process::Command::new(ffmpeg)
        .args(["-nostdin", "-loglevel", "error", "-i", "pipe:0", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let mut stdout = child.stdout.take()?;
    let feed = async move {
        while let Some(Ok(chunk)) = stream.next().await {
            if stdin.write_all(&chunk).await.is_err() {
                break; // ffmpeg has its frame and closed the pipe
            }
        }
    };
    let read = async move {
        let mut frame = Vec::new();
        (&mut stdout).take(MAX_FRAME_BYTES).read_to_end(&mut frame).await.map(|_| frame)
    };
    let (_, frame) = tokio::time::timeout(FFMPEG_TIMEOUT, async { tokio::join!(feed, read) }).await.ok()?;
    let _ = child.kill().await;
    let frame = frame.ok().filter(|f| !f.is_empty())?;
    tokio::task::spawn_blocking(move || thumbnail(&frame)).await.ok()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_narrow_jpegs_and_garbage_is_refused() {
        let big = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1000, 500, image::Rgb([200, 10, 10])));
        let mut png = Vec::new();
        big.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let (jpeg, w, h) = thumbnail(&png).unwrap();
        assert_eq!((w, h), (WIDTH, 192));
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert!(thumbnail(b"not an image").is_err());
    }
}
