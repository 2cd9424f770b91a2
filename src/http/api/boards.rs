//! `/api/v1/boards`: the caller's boards, their members, items (order and notes) and ZIP.
//! A board that is not the caller's is 404; what only editors may do is 403 for viewers.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::board::{Board, BoardRole};
use crate::domain::ids::{BoardId, GenerationId, UserId};
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::state::AppState;
use crate::services::studio::boards::{self, Changes, ItemView, Member};
use crate::services::studio::media;

#[derive(Serialize, ToSchema)]
pub struct BoardSummary {
    id: String,
    name: String,
    description: String,
    /// Retention keeps every generation on the board while set.
    kept: bool,
    /// The caller's role: `viewer` or `editor`.
    #[schema(value_type = String)]
    role: &'static str,
    owner: String,
    created_at: String,
    updated_at: String,
    /// How many items the board holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<usize>,
}

impl BoardSummary {
    fn new(b: &Board, role: BoardRole, items: Option<usize>) -> BoardSummary {
        BoardSummary {
            id: b.id.to_string(),
            name: b.name.clone(),
            description: b.description.clone(),
            kept: b.kept,
            role: role.as_str(),
            owner: b.owner.to_string(),
            created_at: b.created_at.rfc3339(),
            updated_at: b.updated_at.rfc3339(),
            items,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BoardList {
    boards: Vec<BoardSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    user: String,
    name: String,
    email: String,
    #[schema(value_type = String)]
    role: &'static str,
}

impl MemberView {
    fn new(m: &Member) -> MemberView {
        MemberView { user: m.user.to_string(), name: m.name.clone(), email: m.email.clone(), role: m.role.as_str() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    members: Vec<MemberView>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemOutput {
    id: String,
    /// A signed link, valid for an hour.
    url: String,
    content_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct ItemViewBody {
    generation: String,
    position: u64,
    note: String,
    added_by: String,
    added_at: String,
    model: String,
    prompt: String,
    #[schema(value_type = String)]
    state: &'static str,
    #[schema(value_type = String)]
    kind: &'static str,
    outputs: Vec<ItemOutput>,
}

impl ItemViewBody {
    fn new(state: &AppState, i: &ItemView) -> ItemViewBody {
        let g = &i.generation;
        ItemViewBody {
            generation: g.id.to_string(),
            position: i.item.position,
            note: i.item.note.clone(),
            added_by: i.item.added_by.to_string(),
            added_at: i.item.added_at.rfc3339(),
            model: g.model.clone(),
            prompt: g.prompt.clone(),
            state: g.state.as_str(),
            kind: g.kind.as_str(),
            outputs: i
                .outputs
                .iter()
                .map(|a| ItemOutput { id: a.id.to_string(), url: media::signed_path(state, a), content_type: a.content_type.clone() })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BoardDetail {
    #[serde(flatten)]
    board: BoardSummary,
    members: Vec<MemberView>,
    /// The items in the board's order.
    items: Vec<ItemViewBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemList {
    items: Vec<ItemViewBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBoardBody {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardPatch {
    name: Option<String>,
    description: Option<String>,
    kept: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberBody {
    /// An e-mail address, or a name only one person of the instance has.
    person: String,
    #[schema(value_type = String)]
    #[serde(default = "viewer")]
    role: BoardRole,
}

fn viewer() -> BoardRole {
    BoardRole::Viewer
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// `viewer` or `editor`.
    #[schema(value_type = String)]
    role: BoardRole,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemsBody {
    /// Generation ids.
    items: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Plain text; empty clears the note.
    note: String,
}

/// Generation ids from a body; a malformed one is 422 naming it.
fn generation_ids(items: &[String]) -> Result<Vec<GenerationId>, AppError> {
    items.iter().map(|id| id.parse().map_err(|_| AppError::bad_parameter("items", format!("{id:?} is not a generation id.")))).collect()
}

/// The caller's boards, most recently changed first.
#[utoipa::path(get, operation_id = "boards_list", path = "/api/v1/boards", tag = "boards", responses((status = 200, body = BoardList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let boards = boards::list(&state, &caller.user).await?;
    Ok(HttpResponse::Ok().json(BoardList { boards: boards.iter().map(|s| BoardSummary::new(&s.board, s.role, Some(s.items))).collect() }))
}

/// Creates a board; the caller is its first editor.
#[utoipa::path(post, operation_id = "boards_create", path = "/api/v1/boards", tag = "boards", request_body = NewBoardBody, responses(
    (status = 201, body = BoardSummary),
    (status = 422, description = "An empty or too long name or description (`invalid_input`)", body = ErrorBody),
))]
pub async fn create(req: HttpRequest, caller: ApiCaller, body: web::Json<NewBoardBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let board = boards::create_as(&state, &caller.ctx(), &caller.user, body.name, body.description).await?;
    Ok(HttpResponse::Created().json(BoardSummary::new(&board, BoardRole::Editor, Some(0))))
}

async fn detail(state: &AppState, caller: &ApiCaller, id: BoardId) -> ApiResult {
    let view = boards::get(state, &caller.user, id).await?;
    Ok(HttpResponse::Ok().json(BoardDetail {
        board: BoardSummary::new(&view.board, view.role, Some(view.items.len())),
        members: view.members.iter().map(MemberView::new).collect(),
        items: view.items.iter().map(|i| ItemViewBody::new(state, i)).collect(),
    }))
}

/// One of the caller's boards with its members and items.
#[utoipa::path(get, operation_id = "boards_show", path = "/api/v1/boards/{id}", tag = "boards",
    params(("id" = String, Path, description = "The board's id")),
    responses((status = 200, body = BoardDetail), (status = 404, description = "Not a board of the caller's", body = ErrorBody)))]
pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>) -> ApiResult {
    let state = state(&req)?;
    detail(&state, &caller, id.into_inner()).await
}

/// Renames, redescribes or (un)keeps a board (editors).
#[utoipa::path(patch, operation_id = "boards_update", path = "/api/v1/boards/{id}", tag = "boards", request_body = BoardPatch,
    params(("id" = String, Path, description = "The board's id")),
    responses(
        (status = 200, body = BoardSummary),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "Not a board of the caller's", body = ErrorBody),
        (status = 422, description = "An empty or too long name or description", body = ErrorBody),
    ))]
pub async fn update(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>, body: web::Json<BoardPatch>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let changes = Changes { name: body.name, description: body.description, kept: body.kept };
    let board = boards::update(&state, &caller.user, id.into_inner(), changes).await?;
    Ok(HttpResponse::Ok().json(BoardSummary::new(&board, BoardRole::Editor, None)))
}

/// Deletes a board (editors); its generations stay.
#[utoipa::path(delete, operation_id = "boards_delete", path = "/api/v1/boards/{id}", tag = "boards",
    params(("id" = String, Path, description = "The board's id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "Not a board of the caller's", body = ErrorBody)))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>) -> ApiResult {
    let state = state(&req)?;
    boards::delete(&state, &caller.ctx(), &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A board's members.
#[utoipa::path(get, operation_id = "boards_members", path = "/api/v1/boards/{id}/members", tag = "boards",
    params(("id" = String, Path, description = "The board's id")),
    responses((status = 200, body = MemberList), (status = 404, description = "Not a board of the caller's", body = ErrorBody)))]
pub async fn members(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>) -> ApiResult {
    let state = state(&req)?;
    let members = boards::members(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(MemberList { members: members.iter().map(MemberView::new).collect() }))
}

/// Adds a person of the instance (by e-mail or name) as a viewer or editor (editors).
#[utoipa::path(post, operation_id = "boards_add_member", path = "/api/v1/boards/{id}/members", tag = "boards", request_body = NewMemberBody,
    params(("id" = String, Path, description = "The board's id")),
    responses(
        (status = 201, body = MemberView),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "No such board of the caller's, or no such person", body = ErrorBody),
        (status = 422, description = "An ambiguous name, too many members, or the last editor made a viewer", body = ErrorBody),
    ))]
pub async fn add_member(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>, body: web::Json<NewMemberBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let member = boards::add_member(&state, &caller.ctx(), &caller.user, id.into_inner(), body.person, body.role).await?;
    Ok(HttpResponse::Created().json(MemberView::new(&member)))
}

/// Changes a member's role (editors); a board keeps at least one editor.
#[utoipa::path(patch, operation_id = "boards_set_role", path = "/api/v1/boards/{id}/members/{user}", tag = "boards", request_body = RoleBody,
    params(("id" = String, Path, description = "The board's id"), ("user" = String, Path, description = "The member's user id")),
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "No such board of the caller's, or no such member", body = ErrorBody),
        (status = 422, description = "The last editor made a viewer", body = ErrorBody),
    ))]
pub async fn set_role(req: HttpRequest, caller: ApiCaller, path: web::Path<(BoardId, UserId)>, body: web::Json<RoleBody>) -> ApiResult {
    let state = state(&req)?;
    let (id, user) = path.into_inner();
    boards::set_role(&state, &caller.ctx(), &caller.user, id, user, body.role).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends a membership: a member leaves (their own id), or an editor removes someone.
#[utoipa::path(delete, operation_id = "boards_remove_member", path = "/api/v1/boards/{id}/members/{user}", tag = "boards",
    params(("id" = String, Path, description = "The board's id"), ("user" = String, Path, description = "The member's user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "A viewer removing someone else", body = ErrorBody),
        (status = 404, description = "No such board of the caller's, or no such member", body = ErrorBody),
        (status = 422, description = "The last editor", body = ErrorBody),
    ))]
pub async fn remove_member(req: HttpRequest, caller: ApiCaller, path: web::Path<(BoardId, UserId)>) -> ApiResult {
    let state = state(&req)?;
    let (id, user) = path.into_inner();
    boards::leave_or_remove(&state, &caller.ctx(), &caller.user, id, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds generations the caller may see to the end of the board (editors; idempotent).
#[utoipa::path(post, operation_id = "boards_add_items", path = "/api/v1/boards/{id}/items", tag = "boards", request_body = ItemsBody,
    params(("id" = String, Path, description = "The board's id")),
    responses(
        (status = 200, body = ItemList),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "No such board of the caller's, or a generation the caller may not see", body = ErrorBody),
        (status = 422, description = "No items, a malformed id, or more than the board holds", body = ErrorBody),
    ))]
pub async fn add_items(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>, body: web::Json<ItemsBody>) -> ApiResult {
    let state = state(&req)?;
    let id = id.into_inner();
    boards::add_items(&state, &caller.user, id, generation_ids(&body.items)?).await?;
    items(&state, &caller, id).await
}

async fn items(state: &AppState, caller: &ApiCaller, id: BoardId) -> ApiResult {
    let view = boards::get(state, &caller.user, id).await?;
    Ok(HttpResponse::Ok().json(ItemList { items: view.items.iter().map(|i| ItemViewBody::new(state, i)).collect() }))
}

/// Puts the board's items in this order (editors): every item once, nothing else.
#[utoipa::path(put, operation_id = "boards_order", path = "/api/v1/boards/{id}/order", tag = "boards", request_body = ItemsBody,
    params(("id" = String, Path, description = "The board's id")),
    responses(
        (status = 200, body = ItemList),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "Not a board of the caller's", body = ErrorBody),
        (status = 422, description = "Not every item exactly once", body = ErrorBody),
    ))]
pub async fn order(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>, body: web::Json<ItemsBody>) -> ApiResult {
    let state = state(&req)?;
    let id = id.into_inner();
    boards::reorder(&state, &caller.user, id, generation_ids(&body.items)?).await?;
    items(&state, &caller, id).await
}

/// Sets or clears the note on an item (editors).
#[utoipa::path(patch, operation_id = "boards_note", path = "/api/v1/boards/{id}/items/{generation}", tag = "boards", request_body = NoteBody,
    params(("id" = String, Path, description = "The board's id"), ("generation" = String, Path, description = "The item's generation id")),
    responses(
        (status = 204, description = "Saved"),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "No such board of the caller's, or no such item", body = ErrorBody),
        (status = 422, description = "A note that is too long", body = ErrorBody),
    ))]
pub async fn note(req: HttpRequest, caller: ApiCaller, path: web::Path<(BoardId, GenerationId)>, body: web::Json<NoteBody>) -> ApiResult {
    let state = state(&req)?;
    let (id, generation) = path.into_inner();
    boards::set_note(&state, &caller.user, id, generation, body.into_inner().note).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Takes a generation off the board (editors); the generation stays.
#[utoipa::path(delete, operation_id = "boards_remove_item", path = "/api/v1/boards/{id}/items/{generation}", tag = "boards",
    params(("id" = String, Path, description = "The board's id"), ("generation" = String, Path, description = "The item's generation id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The caller only views the board", body = ErrorBody),
        (status = 404, description = "No such board of the caller's, or no such item", body = ErrorBody),
    ))]
pub async fn remove_item(req: HttpRequest, caller: ApiCaller, path: web::Path<(BoardId, GenerationId)>) -> ApiResult {
    let state = state(&req)?;
    let (id, generation) = path.into_inner();
    boards::remove_item(&state, &caller.user, id, generation).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The board's items as a ZIP, streamed: each output under its download name and a JSON
/// sidecar per generation, as the library's download writes them.
#[utoipa::path(get, operation_id = "boards_zip", path = "/api/v1/boards/{id}/zip", tag = "boards",
    params(("id" = String, Path, description = "The board's id")),
    responses(
        (status = 200, description = "The archive", content_type = "application/zip"),
        (status = 404, description = "Not a board of the caller's", body = ErrorBody),
        (status = 503, description = "Too many archives being written at once (`busy`)", body = ErrorBody),
    ))]
pub async fn zip(req: HttpRequest, caller: ApiCaller, id: web::Path<BoardId>) -> ApiResult {
    let state = state(&req)?;
    Ok(crate::http::pages::boards::zip_response(&state, &caller.user, id.into_inner()).await?)
}
