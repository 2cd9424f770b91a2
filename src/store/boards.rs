//! Boards, their members and their items, with the indexes by person and by generation,
//! written together in the caller's transaction.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{BOARD_ITEMS, BOARD_MEMBERS, BOARDS, BOARDS_BY_GENERATION, BOARDS_BY_MEMBER};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::board::{Board, BoardItem, BoardRole};
use crate::domain::ids::{BoardId, GenerationId, UserId};

fn role_byte(role: BoardRole) -> u8 {
    match role {
        BoardRole::Viewer => 0,
        BoardRole::Editor => 1,
    }
}

fn role_of(byte: u8) -> BoardRole {
    if byte == 1 { BoardRole::Editor } else { BoardRole::Viewer }
}

pub fn get(tx: &impl Tx, id: BoardId) -> Result<Option<Board>, StoreError> {
    decode_opt(tx.table(BOARDS)?.get(id.to_key())?)
}

/// Inserts or replaces a board's record (members and items are written separately).
pub fn put(tx: &WriteTransaction, board: &Board) -> Result<(), StoreError> {
    tx.open_table(BOARDS)?.insert(board.id.to_key(), codec::encode(board)?.as_slice())?;
    Ok(())
}

/// `user`'s role on `board`, if they are a member.
pub fn role(tx: &impl Tx, board: BoardId, user: UserId) -> Result<Option<BoardRole>, StoreError> {
    Ok(tx.table(BOARD_MEMBERS)?.get((board.to_key(), user.to_key()))?.map(|v| role_of(v.value())))
}

/// Makes `user` a member with `role` (or changes their role).
pub fn set_member(tx: &WriteTransaction, board: BoardId, user: UserId, role: BoardRole) -> Result<(), StoreError> {
    tx.open_table(BOARD_MEMBERS)?.insert((board.to_key(), user.to_key()), role_byte(role))?;
    tx.open_table(BOARDS_BY_MEMBER)?.insert((user.to_key(), board.to_key()), role_byte(role))?;
    Ok(())
}

/// Ends `user`'s membership of `board`.
pub fn remove_member(tx: &WriteTransaction, board: BoardId, user: UserId) -> Result<(), StoreError> {
    tx.open_table(BOARD_MEMBERS)?.remove((board.to_key(), user.to_key()))?;
    tx.open_table(BOARDS_BY_MEMBER)?.remove((user.to_key(), board.to_key()))?;
    Ok(())
}

/// A board's members and their roles, by user id.
pub fn members(tx: &impl Tx, board: BoardId) -> Result<Vec<(UserId, BoardRole)>, StoreError> {
    let key = board.to_key();
    let mut out = Vec::new();
    for row in tx.table(BOARD_MEMBERS)?.range((key, 0)..=(key, u128::MAX))? {
        let (k, v) = row?;
        out.push((UserId::from_key(k.value().1), role_of(v.value())));
    }
    Ok(out)
}

/// The boards `user` is a member of, with their role, oldest board first.
pub fn boards_of(tx: &impl Tx, user: UserId) -> Result<Vec<(BoardId, BoardRole)>, StoreError> {
    let key = user.to_key();
    let mut out = Vec::new();
    for row in tx.table(BOARDS_BY_MEMBER)?.range((key, 0)..=(key, u128::MAX))? {
        let (k, v) = row?;
        out.push((BoardId::from_key(k.value().1), role_of(v.value())));
    }
    Ok(out)
}

/// One item of a board.
pub fn item(tx: &impl Tx, board: BoardId, generation: GenerationId) -> Result<Option<BoardItem>, StoreError> {
    decode_opt(tx.table(BOARD_ITEMS)?.get((board.to_key(), generation.to_key()))?)
}

/// A board's items in their order.
pub fn items(tx: &impl Tx, board: BoardId) -> Result<Vec<BoardItem>, StoreError> {
    let key = board.to_key();
    let mut out: Vec<BoardItem> = Vec::new();
    for row in tx.table(BOARD_ITEMS)?.range((key, 0)..=(key, u128::MAX))? {
        out.push(codec::decode(row?.1.value())?);
    }
    out.sort_by_key(|i| (i.position, i.generation));
    Ok(out)
}

/// How many items a board holds.
pub fn item_count(tx: &impl Tx, board: BoardId) -> Result<usize, StoreError> {
    let key = board.to_key();
    Ok(tx.table(BOARD_ITEMS)?.range((key, 0)..=(key, u128::MAX))?.count())
}

/// Inserts or replaces an item, keeping the index by generation in step.
pub fn put_item(tx: &WriteTransaction, board: BoardId, item: &BoardItem) -> Result<(), StoreError> {
    tx.open_table(BOARD_ITEMS)?.insert((board.to_key(), item.generation.to_key()), codec::encode(item)?.as_slice())?;
    tx.open_table(BOARDS_BY_GENERATION)?.insert((item.generation.to_key(), board.to_key()), ())?;
    Ok(())
}

/// Takes a generation off a board; whether it was on it.
pub fn remove_item(tx: &WriteTransaction, board: BoardId, generation: GenerationId) -> Result<bool, StoreError> {
    let was = tx.open_table(BOARD_ITEMS)?.remove((board.to_key(), generation.to_key()))?.is_some();
    tx.open_table(BOARDS_BY_GENERATION)?.remove((generation.to_key(), board.to_key()))?;
    Ok(was)
}

/// The boards a generation is on.
pub fn boards_with(tx: &impl Tx, generation: GenerationId) -> Result<Vec<BoardId>, StoreError> {
    let key = generation.to_key();
    let mut out = Vec::new();
    for row in tx.table(BOARDS_BY_GENERATION)?.range((key, 0)..=(key, u128::MAX))? {
        out.push(BoardId::from_key(row?.0.value().1));
    }
    Ok(out)
}

/// Whether a generation is on at least one kept board (retention spares it).
pub fn on_kept_board(tx: &impl Tx, generation: GenerationId) -> Result<bool, StoreError> {
    for board in boards_with(tx, generation)? {
        if get(tx, board)?.is_some_and(|b| b.kept) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `user` is a member of a board that `generation` is on.
pub fn member_sees(tx: &impl Tx, user: UserId, generation: GenerationId) -> Result<bool, StoreError> {
    for board in boards_with(tx, generation)? {
        if role(tx, board, user)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes a generation off every board it is on (it was deleted); returns how many.
pub fn remove_generation(tx: &WriteTransaction, generation: GenerationId) -> Result<usize, StoreError> {
    let boards = boards_with(tx, generation)?;
    for board in &boards {
        remove_item(tx, *board, generation)?;
    }
    Ok(boards.len())
}

/// Removes a board with its members and items; the generations stay.
pub fn remove(tx: &WriteTransaction, board: BoardId) -> Result<(), StoreError> {
    for (user, _) in members(tx, board)? {
        remove_member(tx, board, user)?;
    }
    for item in items(tx, board)? {
        remove_item(tx, board, item.generation)?;
    }
    tx.open_table(BOARDS)?.remove(board.to_key())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;
    use crate::store::Store;

    fn board(owner: UserId, kept: bool) -> Board {
        let now = Timestamp::now();
        Board { id: BoardId::generate(), name: "b".into(), description: String::new(), owner, kept, created_at: now, updated_at: now }
    }

    fn item(generation: GenerationId, position: u64, by: UserId) -> BoardItem {
        BoardItem { generation, position, note: String::new(), added_by: by, added_at: Timestamp::now() }
    }

    #[tokio::test]
    async fn members_items_and_their_indexes_move_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (ann, bob) = (UserId::generate(), UserId::generate());
        let (kept, loose) = (board(ann, true), board(ann, false));
        let (g1, g2) = (GenerationId::generate(), GenerationId::generate());
        let (k, l) = (kept.clone(), loose.clone());
        store
            .write(move |tx| {
                put(tx, &k)?;
                put(tx, &l)?;
                set_member(tx, k.id, ann, BoardRole::Editor)?;
                set_member(tx, k.id, bob, BoardRole::Viewer)?;
                set_member(tx, l.id, bob, BoardRole::Editor)?;
                put_item(tx, k.id, &item(g1, 2, ann))?;
                put_item(tx, k.id, &item(g2, 1, ann))?;
                put_item(tx, l.id, &item(g2, 1, bob))?;
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let (kid, lid) = (kept.id, loose.id);
        store
            .read(move |tx| {
                assert_eq!(role(tx, kid, bob)?, Some(BoardRole::Viewer));
                assert_eq!(role(tx, lid, ann)?, None);
                assert_eq!(boards_of(tx, bob)?.len(), 2);
                assert_eq!(items(tx, kid)?.iter().map(|i| i.generation).collect::<Vec<_>>(), vec![g2, g1], "by position");
                assert!(on_kept_board(tx, g1)? && on_kept_board(tx, g2)?);
                assert!(member_sees(tx, bob, g1)?);
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        store
            .write(move |tx| {
                remove(tx, kid)?;
                assert_eq!(remove_generation(tx, g2)?, 1, "only the loose board still had it");
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        store
            .read(move |tx| {
                assert!(get(tx, kid)?.is_none());
                assert_eq!(boards_of(tx, bob)?, vec![(lid, BoardRole::Editor)]);
                assert!(!on_kept_board(tx, g1)?);
                assert!(boards_with(tx, g2)?.is_empty() && item_count(tx, lid)? == 0);
                assert!(!member_sees(tx, bob, g1)?);
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
    }
}
