//! Reference uploads: images validated and stripped of metadata by re-encoding, audio and
//! video checked against their limits and stripped without re-encoding, all stored encrypted.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::domain::asset::{Asset, AssetKind};
use crate::domain::catalog::ReferenceRole;
use crate::domain::ids::AssetId;
use crate::domain::media_type;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::turns::Turns;
use crate::vault::av::{self, AvError, AvLimits, CleanMedia};
use crate::vault::uploads::{CleanImage, UploadError, decode_cost, sanitize};

/// The most pixels a reference image may have (checked from its header, before decoding).
pub const MAX_PIXELS: u64 = 40_000_000;
/// How long an upload waits for a decoding turn before it is refused as busy.
pub const DECODE_WAIT: Duration = Duration::from_secs(10);
/// The memory, in MiB, that the images of the whole process being cleaned at once may take.
pub const DECODE_BUDGET_MIB: u32 = 512;

impl From<UploadError> for ServiceError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge { .. } => ServiceError::TooLarge(e.to_string()),
            other => ServiceError::InvalidMessage(other.to_string()),
        }
    }
}

impl From<AvError> for ServiceError {
    fn from(e: AvError) -> Self {
        // a file that breaks the rules of its kind (too large, too long, unreadable): 422
        ServiceError::InvalidMessage(e.to_string())
    }
}

/// Cleans and stores one reference file for `user` (not while the account is frozen): an
/// image, or an audio or video file, told apart by its bytes.
pub async fn upload(state: &AppState, user: &User, bytes: Vec<u8>) -> ServiceResult<Asset> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let head = &bytes[..bytes.len().min(media_type::SNIFF_LEN)];
    let asset = match media_type::sniff(head) {
        Some(found) if av::handles(found) => store_audio_or_video(state, user, bytes).await?,
        // SVG is known (as an output) but is no reference: it cannot be cleaned of script
        None | Some(media_type::SVG) if !bytes.is_empty() && bytes.len() as u64 <= state.config.limits.upload_max => {
            return Err(ServiceError::InvalidMessage(UNSUPPORTED.into()));
        }
        // images, and what the image rules refuse first (an empty or too large file)
        _ => store_image(state, user, bytes, AssetKind::Upload).await?,
    };
    let stored = asset.clone();
    state.store.write(move |tx| store::assets::put(tx, &stored)).await?;
    Ok(asset)
}

/// Validates, cleans (re-encoding drops EXIF/GPS) and encrypts an image of `user`'s into
/// the vault; returns its record, which the caller stores.
pub async fn store_image(state: &AppState, user: &User, bytes: Vec<u8>, kind: AssetKind) -> ServiceResult<Asset> {
    let clean = clean(bytes, state.config.limits.upload_max).await?;
    let mut asset = encrypt(state, user, clean.bytes, kind, clean.content_type).await?;
    (asset.width, asset.height) = (Some(clean.width), Some(clean.height));
    Ok(asset)
}

/// Why a file that is no kind of reference is refused.
const UNSUPPORTED: &str =
    "unsupported file type: a reference is a PNG, JPEG or WebP image, a WAV, MP3 or M4A audio file, or an MP4, MOV or WebM video";

/// The audio and video limits of the configuration.
fn av_limits(state: &AppState) -> AvLimits {
    let limits = &state.config.limits;
    AvLimits {
        audio_bytes: limits.audio_upload_max,
        audio_duration: limits.audio_duration_max,
        video_bytes: limits.video_upload_max,
        video_duration: limits.video_duration_max,
    }
}

/// Checks an audio or video reference against its limits, strips its metadata (see
/// [`av::clean`]) and encrypts it into the vault; returns its record, which the caller stores.
async fn store_audio_or_video(state: &AppState, user: &User, bytes: Vec<u8>) -> ServiceResult<Asset> {
    let limits = av_limits(state);
    let clean: CleanMedia = blocking(move || av::clean(bytes, &limits)).await??;
    let mut asset = encrypt(state, user, clean.bytes, AssetKind::Upload, clean.content_type).await?;
    asset.has_sound = clean.has_sound;
    Ok(asset)
}

/// A copy of a teammate's reference upload as `user`'s own (encrypted to their key, with its
/// own retention clock), stored: what a generation from a board's preset or cast member
/// sends, since a generation takes only its owner's files.
pub async fn copy_for(state: &AppState, user: &User, original: &Asset) -> ServiceResult<Asset> {
    let bytes = crate::services::studio::media::read_all(state, original).await?;
    let mut asset = encrypt(state, user, bytes, AssetKind::Upload, &original.content_type).await?;
    (asset.width, asset.height, asset.has_sound) = (original.width, original.height, original.has_sound);
    let stored = asset.clone();
    state.store.write(move |tx| store::assets::put(tx, &stored)).await?;
    Ok(asset)
}

/// Encrypts cleaned bytes of `user`'s into the vault as a new asset record (not yet stored).
async fn encrypt(state: &AppState, user: &User, bytes: Vec<u8>, kind: AssetKind, content_type: &str) -> ServiceResult<Asset> {
    let recipient = state.keyring.recipient_or_create(&state.store, user.id).await.map_err(|e| ServiceError::Internal(e.to_string()))?;
    let id = AssetId::generate();
    let ingested = state
        .media
        .ingest_bytes(&id.to_string(), &recipient, bytes)
        .await
        .map_err(|e| ServiceError::Internal(format!("storing the upload: {e}")))?;
    Ok(Asset {
        id,
        owner: user.id,
        kind,
        content_type: content_type.to_string(),
        bytes: ingested.bytes,
        sha256: ingested.sha256,
        width: None,
        height: None,
        generation: None,
        created_at: Timestamp::now(),
        poster: None,
        has_sound: false,
    })
}

/// Decodes and re-encodes an image (see [`sanitize`]) in turn with every other upload of the
/// process: one decode per CPU core at a time, and together within [`DECODE_BUDGET_MIB`] of
/// decoded pixels (the cost read from the header first; one image alone may take the whole
/// budget), so memory stays bounded however many arrive. One that waits longer than
/// [`DECODE_WAIT`] is refused as busy (503, try again shortly).
async fn clean(bytes: Vec<u8>, max_bytes: u64) -> ServiceResult<CleanImage> {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    static BUDGET: Semaphore = Semaphore::const_new(DECODE_BUDGET_MIB as usize);
    let (cost, bytes) = blocking(move || (decode_cost(&bytes, max_bytes, MAX_PIXELS), bytes)).await?;
    let mib = u32::try_from(cost?.div_ceil(1 << 20)).unwrap_or(u32::MAX).clamp(1, DECODE_BUDGET_MIB);
    let turn = async {
        let turn = TURNS.get_or_init(|| Turns::per_core(1)).take().await;
        (turn, BUDGET.acquire_many(mib).await)
    };
    let Ok((_turn, _memory)) = tokio::time::timeout(DECODE_WAIT, turn).await else {
        return Err(ServiceError::Busy { what: "images being cleaned", retry_after: DECODE_WAIT });
    };
    blocking(move || sanitize(&bytes, max_bytes, MAX_PIXELS)).await?.map_err(ServiceError::from)
}

/// Runs CPU-bound cleaning on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|_| ServiceError::Internal("upload cleaning stopped".into()))
}

/// An asset its owner may see.
pub async fn get(state: &AppState, user: &User, id: AssetId) -> ServiceResult<Asset> {
    let owner = user.id;
    state.store.read(move |tx| store::assets::get(tx, id)).await?.filter(|a| a.owner == owner).ok_or(ServiceError::NotFound("file"))
}

/// Cleans and stores one reference file of a new generation, given with its role, and
/// returns the `(role, upload id)` pair for [`crate::services::studio::generations::NewGeneration::references`].
/// Forms call it as each file arrives, so only one file is held at a time.
pub async fn upload_reference(
    state: &AppState,
    user: &User,
    role: ReferenceRole,
    bytes: Vec<u8>,
) -> ServiceResult<(ReferenceRole, AssetId)> {
    let asset = upload(state, user, bytes).await?;
    Ok((role, asset.id))
}
