//! Cast members, indexed by owner (a person or a board); which presets use each one; and the
//! uploads cast members and presets hold, which retention keeps.

use redb::{ReadableTable, WriteTransaction};

use super::presets::owner_key;
use super::tables::{CAST, CAST_BY_OWNER, CAST_USES, REFERENCE_HOLDS};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::board::Owner;
use crate::domain::cast::CastMember;
use crate::domain::ids::{AssetId, BoardId, CastId, PresetId};

pub fn get(tx: &impl Tx, id: CastId) -> Result<Option<CastMember>, StoreError> {
    decode_opt(tx.table(CAST)?.get(id.to_key())?)
}

/// Several members by id, in the order asked; missing ones are left out.
pub fn get_many(tx: &impl Tx, ids: &[CastId]) -> Result<Vec<CastMember>, StoreError> {
    let table = tx.table(CAST)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(decode_opt::<CastMember>(table.get(id.to_key())?)?);
    }
    Ok(out)
}

/// Stores a new or changed member (`previous`: as it was stored), moving its owner index
/// entry and the files it holds.
pub fn put(tx: &WriteTransaction, member: &CastMember, previous: Option<&CastMember>) -> Result<(), StoreError> {
    if let Some(old) = previous {
        unindex(tx, old)?;
    }
    tx.open_table(CAST)?.insert(member.id.to_key(), codec::encode(member)?.as_slice())?;
    let (kind, owner) = owner_key(member.owner);
    tx.open_table(CAST_BY_OWNER)?.insert((kind, owner, member.id.to_key()), ())?;
    hold(tx, member.files(), member.id.to_key())
}

fn unindex(tx: &WriteTransaction, member: &CastMember) -> Result<(), StoreError> {
    let (kind, owner) = owner_key(member.owner);
    tx.open_table(CAST_BY_OWNER)?.remove((kind, owner, member.id.to_key()))?;
    release(tx, member.files(), member.id.to_key())
}

/// Removes a member with its index entries; its files are no longer held by it.
pub fn remove(tx: &WriteTransaction, member: &CastMember) -> Result<(), StoreError> {
    unindex(tx, member)?;
    tx.open_table(CAST)?.remove(member.id.to_key())?;
    Ok(())
}

/// Removes every cast member of `owner` (a person's content erasure, after their presets);
/// returns how many.
pub fn remove_all_for(tx: &WriteTransaction, owner: Owner) -> Result<usize, StoreError> {
    let members = list_for_owner(tx, owner)?;
    for member in &members {
        for preset in used_by(tx, member.id)? {
            remove_use(tx, member.id, preset)?;
        }
        remove(tx, member)?;
    }
    Ok(members.len())
}

/// The cast of `owner`, oldest first.
pub fn list_for_owner(tx: &impl Tx, owner: Owner) -> Result<Vec<CastMember>, StoreError> {
    let (kind, key) = owner_key(owner);
    let index = tx.table(CAST_BY_OWNER)?;
    let table = tx.table(CAST)?;
    let mut out = Vec::new();
    for row in index.range((kind, key, 0)..=(kind, key, u128::MAX))? {
        if let Some(m) = decode_opt::<CastMember>(table.get(row?.0.value().2)?)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// Every board that has at least one cast member.
pub fn boards(tx: &impl Tx) -> Result<Vec<BoardId>, StoreError> {
    boards_in(&tx.table(CAST_BY_OWNER)?)
}

/// The distinct boards of an owner index (kind 1), in id order.
pub(super) fn boards_in(index: &impl ReadableTable<(u8, u128, u128), ()>) -> Result<Vec<BoardId>, StoreError> {
    let mut out: Vec<BoardId> = Vec::new();
    for row in index.range((1u8, 0u128, 0u128)..=(1u8, u128::MAX, u128::MAX))? {
        let board = BoardId::from_key(row?.0.value().1);
        if out.last() != Some(&board) {
            out.push(board);
        }
    }
    Ok(out)
}

/// Records that `preset` uses cast member `member`.
pub(super) fn add_use(tx: &WriteTransaction, member: CastId, preset: PresetId) -> Result<(), StoreError> {
    tx.open_table(CAST_USES)?.insert((member.to_key(), preset.to_key()), ())?;
    Ok(())
}

pub(super) fn remove_use(tx: &WriteTransaction, member: CastId, preset: PresetId) -> Result<(), StoreError> {
    tx.open_table(CAST_USES)?.remove((member.to_key(), preset.to_key()))?;
    Ok(())
}

/// The presets that use cast member `member`.
pub fn used_by(tx: &impl Tx, member: CastId) -> Result<Vec<PresetId>, StoreError> {
    let table = tx.table(CAST_USES)?;
    let key = member.to_key();
    let mut out = Vec::new();
    for row in table.range((key, 0)..=(key, u128::MAX))? {
        out.push(PresetId::from_key(row?.0.value().1));
    }
    Ok(out)
}

/// Records that `holder` (a cast member or a preset) keeps `assets`.
pub(super) fn hold(tx: &WriteTransaction, assets: impl IntoIterator<Item = AssetId>, holder: u128) -> Result<(), StoreError> {
    let mut table = tx.open_table(REFERENCE_HOLDS)?;
    for asset in assets {
        table.insert((asset.to_key(), holder), ())?;
    }
    Ok(())
}

pub(super) fn release(tx: &WriteTransaction, assets: impl IntoIterator<Item = AssetId>, holder: u128) -> Result<(), StoreError> {
    let mut table = tx.open_table(REFERENCE_HOLDS)?;
    for asset in assets {
        table.remove((asset.to_key(), holder))?;
    }
    Ok(())
}

/// Whether a cast member or a preset keeps upload `asset` (retention leaves it alone).
pub fn is_held(tx: &impl Tx, asset: AssetId) -> Result<bool, StoreError> {
    let key = asset.to_key();
    Ok(tx.table(REFERENCE_HOLDS)?.range((key, 0)..=(key, u128::MAX))?.next().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{ParamValue, ReferenceRole};
    use crate::domain::generation::Reference;
    use crate::domain::ids::UserId;
    use crate::domain::preset::Preset;
    use crate::domain::time::Timestamp;
    use crate::store::{migrations, presets, write_now};

    #[test]
    fn presets_and_cast_keep_their_files_and_uses_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("x.redb")).unwrap();
        migrations::run(&db).unwrap();
        let (board, user) = (BoardId::generate(), UserId::generate());
        let (image, upload) = (AssetId::generate(), AssetId::generate());
        let member = CastMember {
            id: CastId::generate(),
            owner: Owner::Board(board),
            created_by: user,
            name: "Ann".into(),
            description: String::new(),
            images: vec![image],
            voice: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        };
        let preset = Preset {
            id: PresetId::generate(),
            owner: Owner::Person(user),
            created_by: user,
            name: "Hero".into(),
            model: "demo-image".into(),
            params: [("seed".to_string(), ParamValue::Int(3))].into(),
            prompt_template: "a {x}".into(),
            negative_prompt: None,
            references: vec![Reference { role: ReferenceRole::Reference, upload, tag: None }],
            cast: vec![member.id],
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        };
        write_now(&db, |tx| {
            put(tx, &member, None)?;
            presets::put(tx, &preset, None)?;
            assert_eq!(get(tx, member.id)?.as_ref(), Some(&member), "an owner board survives the codec");
            assert_eq!(presets::get(tx, preset.id)?.as_ref(), Some(&preset));
            assert_eq!(list_for_owner(tx, Owner::Board(board))?.len(), 1);
            assert_eq!(boards(tx)?, vec![board]);
            assert_eq!(presets::list_for_owner(tx, Owner::Person(user))?.len(), 1);
            assert_eq!(used_by(tx, member.id)?, vec![preset.id]);
            assert!(is_held(tx, image)? && is_held(tx, upload)?);
            presets::remove(tx, &preset)?;
            assert!(used_by(tx, member.id)?.is_empty() && !is_held(tx, upload)?);
            remove(tx, &member)?;
            assert!(!is_held(tx, image)? && boards(tx)?.is_empty());
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }
}
