//! Reference uploads: validated, stripped of metadata by re-encoding, stored encrypted.

use super::{ServiceError, ServiceResult};
use crate::domain::asset::{Asset, AssetKind};
use crate::domain::ids::AssetId;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::state::AppState;
use crate::store;
use crate::vault::uploads::{UploadError, sanitize};

/// The most pixels a reference image may have (checked before decoding).
pub const MAX_PIXELS: u64 = 40_000_000;

impl From<UploadError> for ServiceError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge { .. } => ServiceError::TooLarge(e.to_string()),
            other => ServiceError::InvalidMessage(other.to_string()),
        }
    }
}

/// Cleans and stores one reference image for `user` (not while the account is frozen).
pub async fn upload(state: &AppState, user: &User, bytes: Vec<u8>) -> ServiceResult<Asset> {
    super::restriction::ensure_not_frozen(user)?;
    let asset = store_image(state, user, bytes, AssetKind::Upload).await?;
    let stored = asset.clone();
    state.store.write(move |tx| store::assets::put(tx, &stored)).await?;
    Ok(asset)
}

/// Validates, cleans (re-encoding drops EXIF/GPS) and encrypts an image of `user`'s into
/// the vault; returns its record, which the caller stores.
pub async fn store_image(state: &AppState, user: &User, bytes: Vec<u8>, kind: AssetKind) -> ServiceResult<Asset> {
    let max = state.config.limits.upload_max;
    let clean = tokio::task::spawn_blocking(move || sanitize(&bytes, max, MAX_PIXELS))
        .await
        .map_err(|_| ServiceError::Internal("image cleaning stopped".into()))??;
    let identity = state.keyring.identity_or_create(&state.store, user.id).await.map_err(|e| ServiceError::Internal(e.to_string()))?;
    let id = AssetId::generate();
    let ingested = state
        .media
        .ingest_bytes(&id.to_string(), &identity.to_public(), clean.bytes)
        .await
        .map_err(|e| ServiceError::Internal(format!("storing the upload: {e}")))?;
    Ok(Asset {
        id,
        owner: user.id,
        kind,
        content_type: clean.content_type.to_string(),
        bytes: ingested.bytes,
        sha256: ingested.sha256,
        width: Some(clean.width),
        height: Some(clean.height),
        generation: None,
        created_at: Timestamp::now(),
        poster: None,
    })
}

/// An asset its owner may see.
pub async fn get(state: &AppState, user: &User, id: AssetId) -> ServiceResult<Asset> {
    let owner = user.id;
    state.store.read(move |tx| store::assets::get(tx, id)).await?.filter(|a| a.owner == owner).ok_or(ServiceError::NotFound("file"))
}

/// Cleans and stores the reference images of a new generation, each given with its role
/// (`first_frame`, `last_frame`, `reference`; checked before anything is stored), and
/// returns `(role, upload id)` pairs for [`super::generations::NewGeneration::references`].
/// The page's form and the API's multipart body both come through here.
pub async fn upload_references(state: &AppState, user: &User, files: Vec<(String, Vec<u8>)>) -> ServiceResult<Vec<(String, String)>> {
    for (role, _) in &files {
        crate::domain::catalog::ReferenceRole::parse(role)?;
    }
    let mut references = Vec::with_capacity(files.len());
    for (role, bytes) in files {
        let asset = upload(state, user, bytes).await?;
        references.push((role, asset.id.to_string()));
    }
    Ok(references)
}
