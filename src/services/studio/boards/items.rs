//! A board's items: adding what the editor may see, taking items off, ordering and notes.
//! Items whose generation was deleted are not shown (and are taken off when it is erased).

use crate::domain::asset::Asset;
use crate::domain::board::{self, BoardItem, BoardRuleBroken, MAX_ITEMS};
use crate::domain::generation::Generation;
use crate::domain::ids::{BoardId, GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Tx};

use super::{editor_in, role_in, touch};

/// An item with its generation, as members see it.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: BoardItem,
    pub generation: Generation,
    /// The generation's outputs, in order.
    pub outputs: Vec<Asset>,
    /// The prompt as an HTML-escaped snippet, for cards.
    pub snippet: String,
}

impl ItemView {
    fn new(tx: &impl Tx, item: BoardItem, generation: Generation) -> ServiceResult<ItemView> {
        let outputs = store::assets::get_many(tx, &generation.outputs)?;
        let snippet = crate::search::highlight::highlight(&generation.prompt, &Default::default());
        Ok(ItemView { item, generation, outputs, snippet })
    }
}

/// The board's items whose generation still exists, in order.
pub(super) fn items_in(tx: &impl Tx, board: BoardId) -> ServiceResult<Vec<ItemView>> {
    let items = store::boards::items(tx, board)?;
    let ids: Vec<GenerationId> = items.iter().map(|i| i.generation).collect();
    let generations = store::generations::get_many(tx, &ids)?;
    items
        .into_iter()
        .zip(generations)
        .filter_map(|(item, g)| g.filter(|g| g.deleted_at.is_none()).map(|generation| (item, generation)))
        .map(|(item, generation)| ItemView::new(tx, item, generation))
        .collect()
}

/// Whether `user` may put `g` on a board: their own, a shared one, or one on a board of theirs.
fn may_add(tx: &impl Tx, user: UserId, g: &Generation) -> ServiceResult<bool> {
    Ok(g.deleted_at.is_none() && (g.owner == user || g.shared || store::boards::member_sees(tx, user, g.id)?))
}

/// Adds generations the caller may see to the end of a board they edit (idempotent per item).
pub async fn add_items(state: &AppState, user: &User, board: BoardId, items: Vec<GenerationId>) -> ServiceResult<()> {
    if items.is_empty() {
        return Err(BoardRuleBroken::on("items", "choose at least one generation").into());
    }
    if items.len() > MAX_ITEMS {
        return Err(BoardRuleBroken::on("items", format!("a board holds at most {MAX_ITEMS} items")).into());
    }
    let who = user.id;
    state
        .store
        .write(move |tx| {
            editor_in(tx, board, who)?;
            let found = store::generations::get_many(tx, &items)?;
            let mut fresh = Vec::new();
            for g in found {
                let g = g.ok_or(ServiceError::NotFound("generation"))?;
                if !may_add(tx, who, &g)? {
                    return Err(ServiceError::NotFound("generation"));
                }
                if store::boards::item(tx, board, g.id)?.is_none() && !fresh.contains(&g.id) {
                    fresh.push(g.id);
                }
            }
            if fresh.is_empty() {
                return Ok(());
            }
            let current = store::boards::items(tx, board)?;
            if current.len() + fresh.len() > MAX_ITEMS {
                return Err(BoardRuleBroken::on("items", format!("a board holds at most {MAX_ITEMS} items")).into());
            }
            let mut next = current.last().map_or(0, |i| i.position + 1);
            let now = Timestamp::now();
            for generation in fresh {
                let item = BoardItem { generation, position: next, note: String::new(), added_by: who, added_at: now };
                store::boards::put_item(tx, board, &item)?;
                next += 1;
            }
            touch(tx, board)?;
            Ok(())
        })
        .await
}

/// Takes a generation off a board (editors); the generation stays.
pub async fn remove_item(state: &AppState, user: &User, board: BoardId, generation: GenerationId) -> ServiceResult<()> {
    let who = user.id;
    state
        .store
        .write(move |tx| {
            editor_in(tx, board, who)?;
            if !store::boards::remove_item(tx, board, generation)? {
                return Err(ServiceError::NotFound("item"));
            }
            touch(tx, board)?;
            Ok(())
        })
        .await
}

/// Puts a board's items in the given order (editors): `order` must name every item once.
pub async fn reorder(state: &AppState, user: &User, board: BoardId, order: Vec<GenerationId>) -> ServiceResult<()> {
    let who = user.id;
    state
        .store
        .write(move |tx| {
            editor_in(tx, board, who)?;
            let current = store::boards::items(tx, board)?;
            let ids: Vec<GenerationId> = current.iter().map(|i| i.generation).collect();
            if !board::is_permutation(&ids, &order) {
                return Err(BoardRuleBroken::on("order", "name every item of the board once, and nothing else").into());
            }
            for (position, id) in order.iter().enumerate() {
                if let Some(mut item) = current.iter().find(|i| i.generation == *id).cloned()
                    && item.position != position as u64
                {
                    item.position = position as u64;
                    store::boards::put_item(tx, board, &item)?;
                }
            }
            touch(tx, board)?;
            Ok(())
        })
        .await
}

/// Sets (or, with an empty text, clears) the note on an item (editors).
pub async fn set_note(state: &AppState, user: &User, board: BoardId, generation: GenerationId, note: String) -> ServiceResult<BoardItem> {
    let note = board::parse_note(&note)?;
    let who = user.id;
    state
        .store
        .write(move |tx| {
            editor_in(tx, board, who)?;
            let mut item = store::boards::item(tx, board, generation)?.ok_or(ServiceError::NotFound("item"))?;
            item.note = note;
            store::boards::put_item(tx, board, &item)?;
            touch(tx, board)?;
            Ok(item)
        })
        .await
}

/// One item of a board `user` is a member of, with its generation (for the lightbox, the
/// item's page and its media): NotFound when they are not a member or it is not on the board.
pub async fn item(state: &AppState, user: &User, board: BoardId, generation: GenerationId) -> ServiceResult<ItemView> {
    let who = user.id;
    state.store.read_now(|tx| {
        role_in(tx, board, who)?;
        let item = store::boards::item(tx, board, generation)?.ok_or(ServiceError::NotFound("generation"))?;
        let generation =
            store::generations::get(tx, generation)?.filter(|g| g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation"))?;
        ItemView::new(tx, item, generation)
    })
}
