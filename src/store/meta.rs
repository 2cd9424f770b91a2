//! Singleton facts about the instance: whether setup is done, the pending setup secret, the
//! privacy-relevant settings last seen.

use redb::{ReadableTable, WriteTransaction};

use super::tables::META;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::privacy::SettingsSeen;

const SETUP_COMPLETE: &str = "setup_complete";
const SETUP_TOKEN_HASH: &str = "setup_token_hash";
const PRIVACY_SETTINGS: &str = "privacy_settings";

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

/// The privacy-relevant settings as last recorded, if ever.
pub fn privacy_settings(tx: &impl Tx) -> Result<Option<SettingsSeen>, StoreError> {
    decode_opt(tx.table(META)?.get(PRIVACY_SETTINGS)?)
}

pub fn set_privacy_settings(tx: &WriteTransaction, seen: &SettingsSeen) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(PRIVACY_SETTINGS, codec::encode(seen)?.as_slice())?;
    Ok(())
}
