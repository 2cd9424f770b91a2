//! The expiry index: (anchor, class, id) rows written with the records they index, so a
//! sweep reads only the rows whose clock started before its class's cutoff.

use redb::{ReadableTable, WriteTransaction};

use super::tables::EXPIRY;
use super::{StoreError, Tx};
use crate::domain::asset::{Asset, AssetKind};
use crate::domain::generation::{GenState, Generation};
use crate::domain::retention::Class;
use crate::domain::time::Timestamp;

/// A generation's index key: once it is terminal, its class and the time it ended.
pub fn generation_key(g: &Generation) -> Option<(i64, u8, u128)> {
    let class = match g.state {
        GenState::Succeeded => Class::Output,
        GenState::Failed | GenState::Cancelled => Class::Failed,
        _ => return None,
    };
    Some((g.finished_at.unwrap_or(g.created_at).millis(), class.code(), g.id.to_key()))
}

/// An asset's index key: reference uploads only (outputs go with their generation).
pub fn asset_key(a: &Asset) -> Option<(i64, u8, u128)> {
    (a.kind == AssetKind::Upload).then(|| (a.created_at.millis(), Class::Upload.code(), a.id.to_key()))
}

pub fn index_generation(tx: &WriteTransaction, g: &Generation) -> Result<(), StoreError> {
    insert(tx, generation_key(g))
}

pub fn unindex_generation(tx: &WriteTransaction, g: &Generation) -> Result<(), StoreError> {
    remove(tx, generation_key(g))
}

pub fn index_asset(tx: &WriteTransaction, a: &Asset) -> Result<(), StoreError> {
    insert(tx, asset_key(a))
}

pub fn unindex_asset(tx: &WriteTransaction, a: &Asset) -> Result<(), StoreError> {
    remove(tx, asset_key(a))
}

fn insert(tx: &WriteTransaction, key: Option<(i64, u8, u128)>) -> Result<(), StoreError> {
    if let Some(key) = key {
        tx.open_table(EXPIRY)?.insert(key, ())?;
    }
    Ok(())
}

fn remove(tx: &WriteTransaction, key: Option<(i64, u8, u128)>) -> Result<(), StoreError> {
    if let Some(key) = key {
        tx.open_table(EXPIRY)?.remove(key)?;
    }
    Ok(())
}

/// Ids of `class` whose clock started before `cutoff`, oldest first, at most `limit`.
pub fn due(tx: &impl Tx, class: Class, cutoff: Timestamp, limit: usize) -> Result<Vec<u128>, StoreError> {
    let table = tx.table(EXPIRY)?;
    let mut out = Vec::new();
    for row in table.range((i64::MIN, 0u8, 0u128)..(cutoff.millis(), 0u8, 0u128))? {
        let (_, code, id) = row?.0.value();
        if code == class.code() {
            out.push(id);
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Ids of `class` whose clock started in `from..until`, oldest first.
pub fn started_between(tx: &impl Tx, class: Class, from: Timestamp, until: Timestamp) -> Result<Vec<u128>, StoreError> {
    let table = tx.table(EXPIRY)?;
    let mut out = Vec::new();
    for row in table.range((from.millis(), 0u8, 0u128)..(until.millis(), 0u8, 0u128))? {
        let (_, code, id) = row?.0.value();
        if code == class.code() {
            out.push(id);
        }
    }
    Ok(out)
}
