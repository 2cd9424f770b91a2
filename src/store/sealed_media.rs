//! Small media kept with their records: the asset's age file, whole, in the store. Written in
//! the transaction that records the asset, removed with it (see [`super::assets::remove`]).
//!
//! A file of its own costs a small output more than its bytes: creating it, then syncing it and
//! its directory, each a trip to the disk's metadata. In the store it rides on the commit that
//! records it. What is kept here is the same ciphertext a file would hold (per-person keys:
//! erasure by destroying the key works the same).

use redb::{ReadableTable, WriteTransaction};

use super::tables::SEALED_MEDIA;
use super::{StoreError, Tx};
use crate::domain::ids::AssetId;

pub fn put(tx: &WriteTransaction, asset: AssetId, ciphertext: &[u8]) -> Result<(), StoreError> {
    tx.open_table(SEALED_MEDIA)?.insert(asset.to_key(), ciphertext)?;
    Ok(())
}

/// The age file of `asset`, when it is kept here.
pub fn get(tx: &impl Tx, asset: AssetId) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx.table(SEALED_MEDIA)?.get(asset.to_key())?.map(|v| v.value().to_vec()))
}

/// Whether the media of `asset` is kept here.
pub fn contains(tx: &impl Tx, asset: AssetId) -> Result<bool, StoreError> {
    Ok(tx.table(SEALED_MEDIA)?.get(asset.to_key())?.is_some())
}

pub(super) fn remove(tx: &WriteTransaction, asset: AssetId) -> Result<(), StoreError> {
    tx.open_table(SEALED_MEDIA)?.remove(asset.to_key())?;
    Ok(())
}
