//! Boards' pages: the list of one's boards (and a new one), a board with its grid, lightbox,
//! notes, members and ZIP, and one item's page. Forms work without scripts; `boards.js` adds
//! drag and drop to the grid (the move buttons are its keyboard alternative).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

mod actions;

pub use actions::{add, delete, edit, item_action, member, members, order};

use super::layout::Layout;
use crate::domain::asset::Asset;
use crate::domain::board::BoardRole;
use crate::domain::ids::{BoardId, GenerationId};
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::state::AppState;
use crate::services::studio::boards::{self, ItemView, Member, Summary};
use crate::services::studio::media;
use crate::services::{ServiceError, privacy::archive};

#[derive(Template)]
#[template(path = "boards/index.html")]
struct BoardsPage {
    layout: Layout,
    boards: Vec<Summary>,
    error: Option<String>,
    name: String,
    description: String,
}

impl BoardsPage {
    fn role_name(&self, role: &BoardRole) -> String {
        self.layout.t(&format!("board-role-{}", role.as_str()))
    }
}

/// One card of a board's grid.
pub struct Tile {
    pub id: String,
    /// The item's page (inside the board: members see it whether or not it is theirs).
    pub href: String,
    pub snippet: String,
    pub prompt: String,
    pub model: String,
    pub note: String,
    pub thumb: Option<String>,
    pub media: Option<String>,
    pub preview: Option<String>,
    pub is_video: bool,
    pub state: &'static str,
    /// Where its move, note and remove forms post.
    pub action: String,
    pub first: bool,
    pub last: bool,
}

#[derive(Template)]
#[template(path = "boards/show.html")]
struct BoardPage {
    layout: Layout,
    name: String,
    description: String,
    kept: bool,
    editor: bool,
    me: String,
    tiles: Vec<Tile>,
    members: Vec<Member>,
    urls: BoardUrls,
}

impl BoardPage {
    fn role_name(&self, role: &BoardRole) -> String {
        self.layout.t(&format!("board-role-{}", role.as_str()))
    }
}

/// The board's own links, filled in once.
struct BoardUrls {
    edit: String,
    delete: String,
    members: String,
    order: String,
    zip: String,
    generate: String,
    member: Vec<(String, String)>,
}

impl BoardUrls {
    fn member(&self, user: &crate::domain::ids::UserId) -> String {
        let user = user.to_string();
        self.member.iter().find(|(u, _)| *u == user).map(|(_, url)| url.clone()).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "boards/item.html")]
struct ItemPage {
    layout: Layout,
    board: String,
    board_name: String,
    prompt: String,
    model: String,
    note: String,
    created: crate::domain::time::Timestamp,
    outputs: Vec<(String, bool)>,
}

/// The fields of the new-board form.
#[derive(Deserialize)]
pub struct NewBoardForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

async fn list_page(req: &HttpRequest, who: &SignedIn, status: StatusCode, error: Option<String>, form: &NewBoardForm) -> PageResult {
    let state = state(req)?;
    let boards = boards::list(&state, &who.user).await?;
    let page = BoardsPage {
        layout: Layout::new(req, Some(&who.user)),
        boards,
        error,
        name: form.name.clone(),
        description: form.description.clone(),
    };
    render(req, status, &page)
}

/// `GET /boards`: the person's boards and the form for a new one.
pub async fn list(req: HttpRequest, who: SignedIn) -> PageResult {
    list_page(&req, &who, StatusCode::OK, None, &NewBoardForm { name: String::new(), description: String::new() }).await
}

/// `POST /boards`: creates a board and opens it; a refused name shows on the form.
pub async fn create(req: HttpRequest, who: SignedIn, form: web::Form<NewBoardForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    match boards::create_as(&state, &who.ctx(), &who.user, form.name.clone(), form.description.clone()).await {
        Ok(board) => {
            Ok(redirect_with(&state.urls().board(board.id), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-board-created")))
        }
        Err(e @ ServiceError::InvalidMessage(_)) => {
            let error = AppError::from(e);
            let text = crate::http::responses::error_text(&crate::http::lang::tr(&req), &error);
            list_page(&req, &who, error.status, Some(text), &form).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The grid's card of an item: its poster or image, and what the lightbox shows.
fn tile(state: &AppState, board: BoardId, i: &ItemView, posters: &[Asset], at: usize, count: usize) -> Tile {
    let g = &i.generation;
    let first = i.outputs.first();
    let poster = first.and_then(|a| a.poster).and_then(|p| posters.iter().find(|x| x.id == p));
    let shown = first.filter(|a| a.is_video() || a.is_inline_image());
    let href = state.urls().board_item(board, g.id);
    Tile {
        id: g.id.to_string(),
        action: href.clone(),
        href,
        snippet: i.snippet.clone(),
        prompt: g.prompt.clone(),
        model: g.model.clone(),
        note: i.item.note.clone(),
        thumb: first.and_then(|output| media::thumbnail_link(state, output, poster)),
        media: shown.map(|a| media::signed_path(state, a)),
        preview: first.filter(|a| a.is_video()).map(|a| media::signed_thumbnail_path(state, a)),
        is_video: first.is_some_and(Asset::is_video),
        state: g.state.as_str(),
        first: at == 0,
        last: at + 1 == count,
    }
}

/// `GET /boards/{id}`: the board, for its members only (others get 404).
pub async fn show(req: HttpRequest, who: SignedIn, id: web::Path<BoardId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let view = boards::get(&state, &who.user, id).await?;
    let poster_ids = view.items.iter().filter_map(|i| i.outputs.first().and_then(|a| a.poster)).collect();
    let posters = media::assets(&state, poster_ids).await?;
    let count = view.items.len();
    let tiles = view.items.iter().enumerate().map(|(at, i)| tile(&state, id, i, &posters, at, count)).collect();
    let urls = state.urls();
    let board_urls = BoardUrls {
        edit: urls.board_edit(id),
        delete: urls.board_delete(id),
        members: urls.board_members(id),
        order: urls.board_order(id),
        zip: urls.board_zip(id),
        generate: format!("{}?board={id}", urls.generate()),
        member: view.members.iter().map(|m| (m.user.to_string(), urls.board_member(id, m.user))).collect(),
    };
    let page = BoardPage {
        layout: Layout::new(&req, Some(&who.user)),
        name: view.board.name,
        description: view.board.description,
        kept: view.board.kept,
        editor: view.role.can_edit(),
        me: who.user.id.to_string(),
        tiles,
        members: view.members,
        urls: board_urls,
    };
    render(&req, StatusCode::OK, &page)
}

/// `GET /boards/{id}/items/{generation}`: one item as members see it (its outputs, prompt,
/// model and note), whether or not the generation is theirs.
pub async fn item(req: HttpRequest, who: SignedIn, path: web::Path<(BoardId, GenerationId)>) -> PageResult {
    let state = state(&req)?;
    let (board, generation) = path.into_inner();
    let view = boards::get(&state, &who.user, board).await?;
    let i = boards::item(&state, &who.user, board, generation).await?;
    let page = ItemPage {
        layout: Layout::new(&req, Some(&who.user)),
        board: state.urls().board(board),
        board_name: view.board.name,
        prompt: i.generation.prompt.clone(),
        model: i.generation.model.clone(),
        note: i.item.note.clone(),
        created: i.generation.created_at,
        outputs: i.outputs.iter().map(|a| (media::signed_path(&state, a), a.is_video())).collect(),
    };
    render(&req, StatusCode::OK, &page)
}

/// The board's ZIP for a member: streamed in one of the person's archive places (the same
/// limits as the library's download), an entry per output and a sidecar per generation.
pub async fn zip_response(state: &AppState, user: &User, id: BoardId) -> Result<HttpResponse, AppError> {
    let chosen = boards::archive_selection(state, user, id).await?;
    let slot = state.archives.claim(user.id).map_err(AppError::archives_busy)?;
    let name = format!("board-{}.zip", id.to_string().to_lowercase());
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("content-disposition", format!("attachment; filename=\"{name}\"")))
        .insert_header(("cache-control", "no-store"))
        .streaming(archive::stream(state.clone(), slot, chosen)))
}

/// `GET /boards/{id}/zip`.
pub async fn zip(req: HttpRequest, who: SignedIn, id: web::Path<BoardId>) -> PageResult {
    let state = state(&req)?;
    Ok(zip_response(&state, &who.user, id.into_inner()).await?)
}
