//! Singleton facts about the instance: whether setup is done, the pending setup secret, the
//! privacy-relevant settings last seen.

use redb::{ReadableTable, WriteTransaction};

use super::tables::META;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::media_backend::{MediaBackend, MediaMigration};
use crate::domain::privacy::SettingsSeen;

const SETUP_COMPLETE: &str = "setup_complete";
const SETUP_TOKEN_HASH: &str = "setup_token_hash";
/// Present (one byte, 1) when the instance forbids sending content to providers that may
/// train on it.
const FORBID_TRAINING: &str = "forbid_training";
const PRIVACY_SETTINGS: &str = "privacy_settings";
const SET_UP: &str = "studio_set_up";
/// The media backend put in force by `reelvault media migrate` ("local" or "s3"); absent
/// until a migration switched: the config's `[media] backend` decides.
const MEDIA_BACKEND: &str = "media_backend";
/// A media migration under way (a `MediaMigration`), removed when it has finished.
const MEDIA_MIGRATION: &str = "media_migration";

pub fn setup_complete(tx: &impl Tx) -> Result<bool, StoreError> {
    Ok(tx.table(META)?.get(SETUP_COMPLETE)?.is_some())
}

pub fn mark_setup_complete(tx: &WriteTransaction) -> Result<(), StoreError> {
    let mut t = tx.open_table(META)?;
    t.insert(SETUP_COMPLETE, [1u8].as_slice())?;
    t.remove(SETUP_TOKEN_HASH)?;
    Ok(())
}

pub fn setup_token_hash(tx: &impl Tx) -> Result<Option<[u8; 32]>, StoreError> {
    let t = tx.table(META)?;
    let value = t.get(SETUP_TOKEN_HASH)?;
    Ok(value.and_then(|v| <[u8; 32]>::try_from(v.value()).ok()))
}

pub fn set_setup_token_hash(tx: &WriteTransaction, hash: &[u8; 32]) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(SETUP_TOKEN_HASH, hash.as_slice())?;
    Ok(())
}

/// Whether the instance forbids sending content to providers that may train on it.
pub fn forbid_training(tx: &impl Tx) -> Result<bool, StoreError> {
    Ok(tx.table(META)?.get(FORBID_TRAINING)?.is_some_and(|v| v.value() == [1u8]))
}

pub fn set_forbid_training(tx: &WriteTransaction, forbid: bool) -> Result<(), StoreError> {
    let mut t = tx.open_table(META)?;
    if forbid {
        t.insert(FORBID_TRAINING, [1u8].as_slice())?;
    } else {
        t.remove(FORBID_TRAINING)?;
    }
    Ok(())
}

/// The privacy-relevant settings as last recorded, if ever.
pub fn privacy_settings(tx: &impl Tx) -> Result<Option<SettingsSeen>, StoreError> {
    decode_opt(tx.table(META)?.get(PRIVACY_SETTINGS)?)
}

pub fn set_privacy_settings(tx: &WriteTransaction, seen: &SettingsSeen) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(PRIVACY_SETTINGS, codec::encode(seen)?.as_slice())?;
    Ok(())
}

/// Whether every step of the admins' "getting started" list was once seen done (it is not
/// worked out again after that).
pub fn studio_set_up(tx: &impl Tx) -> Result<bool, StoreError> {
    Ok(tx.table(META)?.get(SET_UP)?.is_some())
}

pub fn set_studio_set_up(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(SET_UP, [1u8].as_slice())?;
    Ok(())
}

/// The media backend a migration put in force, if one ever did.
pub fn media_backend(tx: &impl Tx) -> Result<Option<MediaBackend>, StoreError> {
    let t = tx.table(META)?;
    let value = t.get(MEDIA_BACKEND)?;
    match value {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v.value())
            .ok()
            .and_then(|name| name.parse().ok())
            .map(Some)
            .ok_or_else(|| StoreError::Codec("meta media_backend is neither \"local\" nor \"s3\"".into())),
    }
}

pub fn set_media_backend(tx: &WriteTransaction, backend: MediaBackend) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(MEDIA_BACKEND, backend.name().as_bytes())?;
    Ok(())
}

/// The media migration under way, if any.
pub fn media_migration(tx: &impl Tx) -> Result<Option<MediaMigration>, StoreError> {
    decode_opt(tx.table(META)?.get(MEDIA_MIGRATION)?)
}

/// Records how far the media migration got (`None`: it finished).
pub fn set_media_migration(tx: &WriteTransaction, migration: Option<&MediaMigration>) -> Result<(), StoreError> {
    let mut t = tx.open_table(META)?;
    match migration {
        Some(m) => {
            t.insert(MEDIA_MIGRATION, codec::encode(m)?.as_slice())?;
        }
        None => {
            t.remove(MEDIA_MIGRATION)?;
        }
    }
    Ok(())
}
