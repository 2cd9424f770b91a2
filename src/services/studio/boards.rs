//! Boards: a team's shared, ordered collections of generations. Members see every item through
//! the board (only while they are members); editors change the board, its members and items.
//! Deleting a board never deletes a generation.

mod items;
mod members;

pub use items::{ItemView, add_items, item, remove_item, reorder, set_note};
pub use members::{Member, add_member, forget_person, leave_or_remove, members, set_role};

use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::board::{self, Board, BoardRole, BoardRuleBroken};
use crate::domain::ids::BoardId;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Tx};

impl From<BoardRuleBroken> for ServiceError {
    fn from(e: BoardRuleBroken) -> Self {
        ServiceError::InvalidMessage(e.to_string())
    }
}

/// The caller's role on a board; NotFound("board") when they are not a member (or it is gone).
pub async fn role(state: &AppState, user: &User, board: BoardId) -> ServiceResult<BoardRole> {
    let who = user.id;
    state.store.read_now(|tx| role_in(tx, board, who))
}

/// `user`'s role on `board` inside a transaction; NotFound("board") for a non-member.
pub(crate) fn role_in(tx: &impl Tx, board: BoardId, user: crate::domain::ids::UserId) -> ServiceResult<BoardRole> {
    store::boards::role(tx, board, user)?.ok_or(ServiceError::NotFound("board"))
}

/// [`role_in`], refusing a member who may only view with 403.
pub(crate) fn editor_in(tx: &impl Tx, board: BoardId, user: crate::domain::ids::UserId) -> ServiceResult<()> {
    if role_in(tx, board, user)?.can_edit() { Ok(()) } else { Err(ServiceError::NotEditor) }
}

/// Creates a board owned by (and edited by) `user`.
pub async fn create(state: &AppState, user: &User, name: String, description: String) -> ServiceResult<Board> {
    create_as(state, &Context::user(user.id, user.email.as_str(), ClientInfo::default()), user, name, description).await
}

/// [`create`], audited with the request's context.
pub async fn create_as(state: &AppState, ctx: &Context, user: &User, name: String, description: String) -> ServiceResult<Board> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let now = Timestamp::now();
    let board = Board {
        id: BoardId::generate(),
        name: board::parse_name(&name)?,
        description: board::parse_description(&description)?,
        owner: user.id,
        kept: false,
        created_at: now,
        updated_at: now,
    };
    let (stored, ctx) = (board.clone(), ctx.clone());
    state
        .store
        .write(move |tx| {
            store::boards::put(tx, &stored)?;
            store::boards::set_member(tx, stored.id, stored.owner, BoardRole::Editor)?;
            audit::record(tx, &ctx, AuditAction::BoardCreated, Some(stored.id.to_string()), Some(format!("name {:?}", stored.name)))?;
            Ok::<_, ServiceError>(())
        })
        .await?;
    Ok(board)
}

/// A board one is a member of, as lists show it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub board: Board,
    pub role: BoardRole,
    pub items: usize,
}

/// The boards `user` is a member of, most recently changed first.
pub async fn list(state: &AppState, user: &User) -> ServiceResult<Vec<Summary>> {
    let who = user.id;
    let mut out = state
        .store
        .read(move |tx| {
            let mut out = Vec::new();
            for (id, role) in store::boards::boards_of(tx, who)? {
                if let Some(board) = store::boards::get(tx, id)? {
                    out.push(Summary { board, role, items: store::boards::item_count(tx, id)? });
                }
            }
            Ok::<_, ServiceError>(out)
        })
        .await?;
    out.sort_by(|a, b| b.board.updated_at.cmp(&a.board.updated_at).then(b.board.id.cmp(&a.board.id)));
    Ok(out)
}

/// The boards `user` edits, as (id, name) pairs by name: where "add to board" may add.
pub async fn editable(state: &AppState, user: &User) -> ServiceResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> =
        list(state, user).await?.into_iter().filter(|s| s.role.can_edit()).map(|s| (s.board.id.to_string(), s.board.name)).collect();
    out.sort_by(|a, b| a.1.to_lowercase().cmp(&b.1.to_lowercase()));
    Ok(out)
}

/// One board as a member sees it: the record, their role, the members and the items in order.
#[derive(Debug, Clone)]
pub struct BoardView {
    pub board: Board,
    pub role: BoardRole,
    pub members: Vec<Member>,
    pub items: Vec<ItemView>,
}

/// A board `user` is a member of, whole.
pub async fn get(state: &AppState, user: &User, id: BoardId) -> ServiceResult<BoardView> {
    let who = user.id;
    state
        .store
        .read(move |tx| {
            let role = role_in(tx, id, who)?;
            let board = store::boards::get(tx, id)?.ok_or(ServiceError::NotFound("board"))?;
            Ok(BoardView { board, role, members: members::members_in(tx, id)?, items: items::items_in(tx, id)? })
        })
        .await
}

/// What an editor may change on a board; `None` leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Retention keeps the board's generations while set.
    pub kept: Option<bool>,
}

/// Renames, redescribes or (un)keeps a board; editors only.
pub async fn update(state: &AppState, user: &User, id: BoardId, changes: Changes) -> ServiceResult<Board> {
    let name = changes.name.as_deref().map(board::parse_name).transpose()?;
    let description = changes.description.as_deref().map(board::parse_description).transpose()?;
    let who = user.id;
    state
        .store
        .write(move |tx| {
            editor_in(tx, id, who)?;
            let mut b = store::boards::get(tx, id)?.ok_or(ServiceError::NotFound("board"))?;
            b.name = name.unwrap_or(b.name);
            b.description = description.unwrap_or(b.description);
            b.kept = changes.kept.unwrap_or(b.kept);
            b.updated_at = Timestamp::now();
            store::boards::put(tx, &b)?;
            Ok::<_, ServiceError>(b)
        })
        .await
}

/// Deletes a board (editors): its members and items go, its generations stay.
pub async fn delete(state: &AppState, ctx: &Context, user: &User, id: BoardId) -> ServiceResult<()> {
    let (who, ctx) = (user.id, ctx.clone());
    state
        .store
        .write(move |tx| {
            editor_in(tx, id, who)?;
            let b = store::boards::get(tx, id)?.ok_or(ServiceError::NotFound("board"))?;
            store::boards::remove(tx, id)?;
            audit::record(tx, &ctx, AuditAction::BoardDeleted, Some(id.to_string()), Some(format!("name {:?}", b.name)))?;
            Ok::<_, ServiceError>(())
        })
        .await
}

/// Marks the board changed now (after a change of its items or members).
fn touch(tx: &redb::WriteTransaction, id: BoardId) -> ServiceResult<Board> {
    let mut b = store::boards::get(tx, id)?.ok_or(ServiceError::NotFound("board"))?;
    b.updated_at = Timestamp::now();
    store::boards::put(tx, &b)?;
    Ok(b)
}

/// The generations of a board `user` is a member of, in the board's order, for its ZIP
/// (outputs and a sidecar each, as the library's archive writes them).
pub async fn archive_selection(state: &AppState, user: &User, id: BoardId) -> ServiceResult<Vec<crate::domain::generation::Generation>> {
    let view = get(state, user, id).await?;
    Ok(view.items.into_iter().map(|i| i.generation).collect())
}

/// The boards `person` is a member of, as their data export records them: each board with
/// their role and its items' generation ids, positions and notes (in order).
pub fn export_records(tx: &impl Tx, person: crate::domain::ids::UserId) -> Result<Vec<serde_json::Value>, store::StoreError> {
    let mut out = Vec::new();
    for (id, role) in store::boards::boards_of(tx, person)? {
        let Some(b) = store::boards::get(tx, id)? else { continue };
        let items: Vec<serde_json::Value> = store::boards::items(tx, id)?
            .iter()
            .map(|i| {
                serde_json::json!({
                    "generation": i.generation.to_string(),
                    "position": i.position,
                    "note": i.note,
                    "added_at": i.added_at.rfc3339(),
                    "added_by_you": i.added_by == person,
                })
            })
            .collect();
        out.push(serde_json::json!({
            "id": b.id.to_string(),
            "name": b.name,
            "description": b.description,
            "kept": b.kept,
            "role": role.as_str(),
            "owner": b.owner == person,
            "created_at": b.created_at.rfc3339(),
            "updated_at": b.updated_at.rfc3339(),
            "items": items,
        }));
    }
    Ok(out)
}
