//! Data exports: each person's latest export record, keyed by the person (one row each).

use redb::{ReadableTable, WriteTransaction};

use super::tables::EXPORTS;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::export::Export;
use crate::domain::ids::UserId;

pub fn get(tx: &impl Tx, owner: UserId) -> Result<Option<Export>, StoreError> {
    decode_opt(tx.table(EXPORTS)?.get(owner.to_key())?)
}

/// Writes `export` as its owner's latest export, replacing the previous record.
pub fn put(tx: &WriteTransaction, export: &Export) -> Result<(), StoreError> {
    tx.open_table(EXPORTS)?.insert(export.owner.to_key(), codec::encode(export)?.as_slice())?;
    Ok(())
}

/// Removes a person's export record; `false` when there was none.
pub fn remove(tx: &WriteTransaction, owner: UserId) -> Result<bool, StoreError> {
    Ok(tx.open_table(EXPORTS)?.remove(owner.to_key())?.is_some())
}

/// Every export record (at most one per person: start-up recovery and the expiry sweep).
pub fn all(tx: &impl Tx) -> Result<Vec<Export>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(EXPORTS)?.iter()? {
        out.push(codec::decode(row?.1.value())?);
    }
    Ok(out)
}
