//! Batches: by id (each with its rows), by owner, and the set the runner keeps going.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{ACTIVE_BATCHES, BATCHES, BATCHES_BY_OWNER};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::batch::{Batch, BatchState};
use crate::domain::ids::{BatchId, UserId};

pub fn get(tx: &impl Tx, id: BatchId) -> Result<Option<Batch>, StoreError> {
    decode_opt(tx.table(BATCHES)?.get(id.to_key())?)
}

/// Writes a batch and keeps the owner index and the active set in step with its state.
pub fn put(tx: &WriteTransaction, batch: &Batch) -> Result<(), StoreError> {
    tx.open_table(BATCHES)?.insert(batch.id.to_key(), codec::encode(batch)?.as_slice())?;
    tx.open_table(BATCHES_BY_OWNER)?.insert((batch.owner.to_key(), batch.id.to_key()), ())?;
    let mut active = tx.open_table(ACTIVE_BATCHES)?;
    if batch.state == BatchState::Running || (batch.state == BatchState::Stopped && batch.in_flight() > 0) {
        active.insert(batch.id.to_key(), ())?;
    } else {
        active.remove(batch.id.to_key())?;
    }
    Ok(())
}

/// Removes a batch (never its generations).
pub fn remove(tx: &WriteTransaction, batch: &Batch) -> Result<(), StoreError> {
    tx.open_table(BATCHES)?.remove(batch.id.to_key())?;
    tx.open_table(BATCHES_BY_OWNER)?.remove((batch.owner.to_key(), batch.id.to_key()))?;
    tx.open_table(ACTIVE_BATCHES)?.remove(batch.id.to_key())?;
    Ok(())
}

/// `owner`'s batches, newest first.
pub fn list_for_owner(tx: &impl Tx, owner: UserId) -> Result<Vec<Batch>, StoreError> {
    let index = tx.table(BATCHES_BY_OWNER)?;
    let batches = tx.table(BATCHES)?;
    let key = owner.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))?.rev() {
        if let Some(batch) = decode_opt::<Batch>(batches.get(row?.0.value().1)?)? {
            out.push(batch);
        }
    }
    Ok(out)
}

/// The batches the runner keeps going.
pub fn active(tx: &impl Tx) -> Result<Vec<BatchId>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(ACTIVE_BATCHES)?.iter()? {
        out.push(BatchId::from_key(row?.0.value()));
    }
    Ok(out)
}

/// Removes every batch of `owner`'s (account erasure); returns how many.
pub fn remove_for_owner(tx: &WriteTransaction, owner: UserId) -> Result<usize, StoreError> {
    let batches = list_for_owner(tx, owner)?;
    for batch in &batches {
        remove(tx, batch)?;
    }
    Ok(batches.len())
}
