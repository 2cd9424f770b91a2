//! Keys and encrypted media: the instance master key, per-user keys wrapped to it, the
//! encrypted media files (on the backend in force), signed media URLs, and the cleaning of uploaded images, audio and video.

pub mod age_file;
pub mod av;
pub mod keyring;
pub mod master_key;
pub mod media;
pub mod media_in_force;
pub mod sealed;
pub mod signed_url;
pub mod uploads;
pub mod user_keys;

use bytes::Bytes;
use futures_util::TryStreamExt;

/// A stored file decrypted whole with its owner's key (reference images, inline image
/// answers: a few MiB at most).
pub async fn read_whole(
    media: &media_in_force::MediaInForce,
    keyring: &keyring::KeyRing,
    store: &crate::store::Store,
    asset: &crate::domain::asset::Asset,
) -> Result<Bytes, media::MediaError> {
    let identity = keyring.identity(store, asset.owner).await.map_err(|e| media::MediaError::Io(std::io::Error::other(e.to_string())))?;
    let (_, stream) = media.read_range(&asset.id.to_string(), identity, None).await?;
    let chunks: Vec<Bytes> = stream.try_collect().await.map_err(media::MediaError::from_read)?;
    Ok(chunks.concat().into())
}
