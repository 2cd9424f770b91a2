//! Presets, indexed by owner (a person or a board); a preset's cast members and uploads are
//! recorded as in use (see [`super::cast`]) in the same transaction.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{PRESETS, PRESETS_BY_OWNER};
use super::{StoreError, Tx, cast, codec, decode_opt};
use crate::domain::board::Owner;
use crate::domain::ids::{BoardId, PresetId};
use crate::domain::preset::Preset;

/// The index key of an owner: its kind (0 a person, 1 a board) and id.
pub(super) fn owner_key(owner: Owner) -> (u8, u128) {
    match owner {
        Owner::Person(user) => (0, user.to_key()),
        Owner::Board(board) => (1, board.to_key()),
    }
}

pub fn get(tx: &impl Tx, id: PresetId) -> Result<Option<Preset>, StoreError> {
    decode_opt(tx.table(PRESETS)?.get(id.to_key())?)
}

/// Stores a new or changed preset (`previous`: as it was stored), moving its owner index
/// entry, the cast members it uses and the uploads it holds.
pub fn put(tx: &WriteTransaction, preset: &Preset, previous: Option<&Preset>) -> Result<(), StoreError> {
    if let Some(old) = previous {
        unindex(tx, old)?;
    }
    tx.open_table(PRESETS)?.insert(preset.id.to_key(), codec::encode(preset)?.as_slice())?;
    let (kind, owner) = owner_key(preset.owner);
    tx.open_table(PRESETS_BY_OWNER)?.insert((kind, owner, preset.id.to_key()), ())?;
    for member in &preset.cast {
        cast::add_use(tx, *member, preset.id)?;
    }
    cast::hold(tx, preset.references.iter().map(|r| r.upload), preset.id.to_key())
}

fn unindex(tx: &WriteTransaction, preset: &Preset) -> Result<(), StoreError> {
    let (kind, owner) = owner_key(preset.owner);
    tx.open_table(PRESETS_BY_OWNER)?.remove((kind, owner, preset.id.to_key()))?;
    for member in &preset.cast {
        cast::remove_use(tx, *member, preset.id)?;
    }
    cast::release(tx, preset.references.iter().map(|r| r.upload), preset.id.to_key())
}

/// Removes a preset with its index entries; its uploads are no longer held by it.
pub fn remove(tx: &WriteTransaction, preset: &Preset) -> Result<(), StoreError> {
    unindex(tx, preset)?;
    tx.open_table(PRESETS)?.remove(preset.id.to_key())?;
    Ok(())
}

/// The presets of `owner`, oldest first.
pub fn list_for_owner(tx: &impl Tx, owner: Owner) -> Result<Vec<Preset>, StoreError> {
    let (kind, key) = owner_key(owner);
    let index = tx.table(PRESETS_BY_OWNER)?;
    let table = tx.table(PRESETS)?;
    let mut out = Vec::new();
    for row in index.range((kind, key, 0)..=(kind, key, u128::MAX))? {
        if let Some(p) = decode_opt::<Preset>(table.get(row?.0.value().2)?)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Every board that owns at least one preset.
pub fn boards(tx: &impl Tx) -> Result<Vec<BoardId>, StoreError> {
    super::cast::boards_in(&tx.table(PRESETS_BY_OWNER)?)
}

/// Removes every preset of `owner` (a person's content erasure); returns how many.
pub fn remove_all_for(tx: &WriteTransaction, owner: Owner) -> Result<usize, StoreError> {
    let presets = list_for_owner(tx, owner)?;
    for preset in &presets {
        remove(tx, preset)?;
    }
    Ok(presets.len())
}
