//! Asset records (the bytes live encrypted in the vault).

use redb::{ReadableTable, WriteTransaction};

use super::tables::ASSETS;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::asset::Asset;
use crate::domain::ids::AssetId;

pub fn get(tx: &impl Tx, id: AssetId) -> Result<Option<Asset>, StoreError> {
    decode_opt(tx.table(ASSETS)?.get(id.to_key())?)
}

/// Several assets by id (the table opened once); missing ones are left out.
pub fn get_many(tx: &impl Tx, ids: &[AssetId]) -> Result<Vec<Asset>, StoreError> {
    let table = tx.table(ASSETS)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(decode_opt(table.get(id.to_key())?)?);
    }
    Ok(out)
}

pub fn put(tx: &WriteTransaction, asset: &Asset) -> Result<(), StoreError> {
    tx.open_table(ASSETS)?.insert(asset.id.to_key(), codec::encode(asset)?.as_slice())?;
    super::expiry::index_asset(tx, asset)
}

/// Removes an asset record, its expiry row and its media kept in the store; `false` when
/// there was none.
pub fn remove(tx: &WriteTransaction, id: AssetId) -> Result<bool, StoreError> {
    let Some(asset) = get(tx, id)? else { return Ok(false) };
    super::expiry::unindex_asset(tx, &asset)?;
    super::sealed_media::remove(tx, id)?;
    Ok(tx.open_table(ASSETS)?.remove(id.to_key())?.is_some())
}

/// The ids of every asset whose media is an object of its own (a file or an object in a
/// bucket), not sealed in the store with its record, in id order (backups, migration).
pub fn ids_with_own_media(tx: &impl Tx) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    each(tx, |asset| {
        if !super::sealed_media::contains(tx, asset.id)? {
            ids.push(asset.id.to_string());
        }
        Ok(())
    })?;
    Ok(ids)
}

/// Calls `f` with every asset record, in id order (backups, metrics).
pub fn each(tx: &impl Tx, mut f: impl FnMut(Asset) -> Result<(), StoreError>) -> Result<(), StoreError> {
    for row in tx.table(ASSETS)?.iter()? {
        let (_, value) = row?;
        f(codec::decode(value.value())?)?;
    }
    Ok(())
}
