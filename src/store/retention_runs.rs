//! The record of retention runs, newest first, and the address-truncation watermark.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::tables::{META, RETENTION_RUNS};
use super::{StoreError, Tx, codec};
use crate::domain::retention::RetentionRun;

/// How many run records are kept.
pub const KEEP: usize = 100;

const ADDRESSES_UNTIL: &str = "retention_addresses_until";

/// Records a run and drops records beyond the newest [`KEEP`].
pub fn append(tx: &WriteTransaction, run: &RetentionRun) -> Result<(), StoreError> {
    let mut table = tx.open_table(RETENTION_RUNS)?;
    let mut key = run.started_at.millis();
    while table.get(key)?.is_some() {
        key += 1;
    }
    table.insert(key, codec::encode(run)?.as_slice())?;
    let excess = (table.len()? as usize).saturating_sub(KEEP);
    for _ in 0..excess {
        table.pop_first()?;
    }
    Ok(())
}

/// The newest `limit` runs, newest first.
pub fn latest(tx: &impl Tx, limit: usize) -> Result<Vec<RetentionRun>, StoreError> {
    let table = tx.table(RETENTION_RUNS)?;
    let mut out = Vec::new();
    for row in table.iter()?.rev().take(limit) {
        out.push(codec::decode(row?.1.value())?);
    }
    Ok(out)
}

/// The audit key below which client addresses are already truncated.
pub fn addresses_until(tx: &impl Tx) -> Result<u128, StoreError> {
    let meta = tx.table(META)?;
    let value = meta.get(ADDRESSES_UNTIL)?;
    Ok(value.and_then(|v| <[u8; 16]>::try_from(v.value()).ok()).map(u128::from_le_bytes).unwrap_or(0))
}

pub fn set_addresses_until(tx: &WriteTransaction, key: u128) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(ADDRESSES_UNTIL, key.to_le_bytes().as_slice())?;
    Ok(())
}
