//! The forms of a board's page: edit, delete, members, items (move, note, remove), the
//! order saved by drag and drop, and "add to board" from the library and a generation's page.
//! A broken rule comes back to the board as an error message; a stranger's board is 404.

use actix_web::{HttpRequest, web};
use serde::Deserialize;

use crate::domain::board::BoardRole;
use crate::domain::ids::{BoardId, GenerationId, UserId};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, redirect, redirect_with};
use crate::services::ServiceError;
use crate::services::studio::boards::{self, Changes};

/// Back to `url` with `done` as a success message, or with the refusal's message when a rule
/// was broken; other errors (not a member: 404, a viewer: 403) are error pages.
fn back(req: &HttpRequest, url: &str, result: Result<(), ServiceError>, done: &str) -> PageResult {
    let tr = crate::http::lang::tr(req);
    match result {
        Ok(()) => Ok(redirect_with(url, FlashKind::Success, &tr.t(done))),
        Err(e @ (ServiceError::InvalidMessage(_) | ServiceError::Conflict(_))) => {
            Ok(redirect_with(url, FlashKind::Error, &crate::http::responses::error_text(&tr, &AppError::from(e))))
        }
        Err(ServiceError::NotFound("person")) => Ok(redirect_with(url, FlashKind::Error, &tr.t("board-person-unknown"))),
        Err(e) => Err(e.into()),
    }
}

/// The generation ids of a form's `id` fields.
fn ids(fields: &[(String, String)]) -> Result<Vec<GenerationId>, AppError> {
    fields
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.parse().map_err(|_| AppError::bad_parameter("id", format!("{v:?} is not a generation id."))))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `POST /boards/add` with `board` and one `id` per generation: the library's "add to board"
/// and a generation page's.
pub async fn add(req: HttpRequest, who: SignedIn, form: web::Form<Vec<(String, String)>>) -> PageResult {
    let state = state(&req)?;
    let fields = form.into_inner();
    let board: BoardId =
        field(&fields, "board").and_then(|b| b.trim().parse().ok()).ok_or_else(|| AppError::bad_parameter("board", "Choose a board."))?;
    let chosen = ids(&fields)?;
    let result = boards::add_items(&state, &who.user, board, chosen).await;
    back(&req, &state.urls().board(board), result, "flash-board-items-added")
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// A checkbox: present when ticked.
    kept: Option<String>,
}

/// `POST /boards/{id}/edit`: name, description and the "kept" switch (editors).
pub async fn edit(req: HttpRequest, who: SignedIn, id: web::Path<BoardId>, form: web::Form<EditForm>) -> PageResult {
    let state = state(&req)?;
    let (id, form) = (id.into_inner(), form.into_inner());
    let changes = Changes { name: Some(form.name), description: Some(form.description), kept: Some(form.kept.is_some()) };
    let result = boards::update(&state, &who.user, id, changes).await.map(|_| ());
    back(&req, &state.urls().board(id), result, "flash-board-saved")
}

/// `POST /boards/{id}/delete`: deletes the board, not its generations (editors).
pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<BoardId>) -> PageResult {
    let state = state(&req)?;
    boards::delete(&state, &who.ctx(), &who.user, id.into_inner()).await?;
    Ok(redirect_with(state.urls().boards(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-board-deleted")))
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    person: String,
    role: Option<BoardRole>,
}

/// `POST /boards/{id}/members`: adds a person by e-mail or name (editors).
pub async fn members(req: HttpRequest, who: SignedIn, id: web::Path<BoardId>, form: web::Form<MemberForm>) -> PageResult {
    let state = state(&req)?;
    let (id, form) = (id.into_inner(), form.into_inner());
    let role = form.role.unwrap_or(BoardRole::Viewer);
    let result = boards::add_member(&state, &who.ctx(), &who.user, id, form.person, role).await.map(|_| ());
    back(&req, &state.urls().board(id), result, "flash-board-member-added")
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum MemberAction {
    Role,
    Remove,
}

#[derive(Deserialize)]
pub struct MembershipForm {
    action: MemberAction,
    role: Option<BoardRole>,
}

/// `POST /boards/{id}/members/{user}`: `action` = role (with `role`) or remove; a member's own
/// remove is leaving the board.
pub async fn member(req: HttpRequest, who: SignedIn, path: web::Path<(BoardId, UserId)>, form: web::Form<MembershipForm>) -> PageResult {
    let state = state(&req)?;
    let (id, user) = path.into_inner();
    let form = form.into_inner();
    match form.action {
        MemberAction::Role => {
            let role = form.role.ok_or_else(|| AppError::bad_parameter("role", "role must be viewer or editor."))?;
            let result = boards::set_role(&state, &who.ctx(), &who.user, id, user, role).await;
            back(&req, &state.urls().board(id), result, "flash-board-saved")
        }
        MemberAction::Remove => {
            let result = boards::leave_or_remove(&state, &who.ctx(), &who.user, id, user).await;
            if result.is_ok() && user == who.user.id {
                return Ok(redirect_with(state.urls().boards(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-board-left")));
            }
            back(&req, &state.urls().board(id), result, "flash-board-member-removed")
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ItemAction {
    Up,
    Down,
    Note,
    Remove,
}

#[derive(Deserialize)]
pub struct ItemForm {
    action: ItemAction,
    #[serde(default)]
    note: String,
}

/// `POST /boards/{id}/items/{generation}`: `action` = up, down (the keyboard's way to
/// reorder), note (with `note`) or remove (editors).
pub async fn item_action(
    req: HttpRequest,
    who: SignedIn,
    path: web::Path<(BoardId, GenerationId)>,
    form: web::Form<ItemForm>,
) -> PageResult {
    let state = state(&req)?;
    let (id, generation) = path.into_inner();
    let form = form.into_inner();
    let url = state.urls().board(id);
    let result = match form.action {
        ItemAction::Note => boards::set_note(&state, &who.user, id, generation, form.note).await.map(|_| ()),
        ItemAction::Remove => boards::remove_item(&state, &who.user, id, generation).await,
        ItemAction::Up | ItemAction::Down => {
            let view = boards::get(&state, &who.user, id).await?;
            let mut order: Vec<GenerationId> = view.items.iter().map(|i| i.generation.id).collect();
            let at = order.iter().position(|g| *g == generation).ok_or(ServiceError::NotFound("item"))?;
            let to = if matches!(form.action, ItemAction::Up) { at.checked_sub(1) } else { Some(at + 1).filter(|t| *t < order.len()) };
            if let Some(to) = to {
                order.swap(at, to);
            }
            // the moved item keeps the focus after the page reloads
            let result = boards::reorder(&state, &who.user, id, order).await;
            return match result {
                Ok(()) => Ok(redirect(&format!("{url}#item-{generation}"))),
                Err(e) => back(&req, &url, Err(e), "flash-board-saved"),
            };
        }
    };
    back(&req, &url, result, if matches!(form.action, ItemAction::Remove) { "flash-board-item-removed" } else { "flash-board-saved" })
}

/// `POST /boards/{id}/order` with one `id` per item in the new order (drag and drop).
pub async fn order(req: HttpRequest, who: SignedIn, id: web::Path<BoardId>, form: web::Form<Vec<(String, String)>>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let result = boards::reorder(&state, &who.user, id, ids(&form.into_inner())?).await;
    back(&req, &state.urls().board(id), result, "flash-board-saved")
}
