//! The cast pages: the list (the person's and their boards'), creating a member by uploading
//! its images (and a voice clip), editing its name and description or adding an image, deleting.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;

use super::layout::Layout;
use crate::domain::board::Owner;
use crate::domain::ids::{AssetId, CastId};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::multipart::{self, Expected, Fields, Part};
use crate::http::responses::{FlashKind, PageResult, error_text, redirect_with, render};
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::services::studio::cast::{self, CastInput, Visible};
use crate::services::studio::{boards, media, uploads};

/// One member as the pages show it.
pub struct Card {
    pub id: CastId,
    pub name: String,
    pub description: String,
    /// "Mine", or the board's name.
    pub owner: String,
    /// Signed links to its images.
    pub images: Vec<String>,
    /// A signed link to its voice clip.
    pub voice: Option<String>,
    pub can_change: bool,
}

/// Signed links to `ids` (in order) among the stored files.
async fn links(state: &AppState, ids: &[AssetId]) -> Result<Vec<String>, AppError> {
    let assets = media::assets(state, ids.to_vec()).await?;
    Ok(ids.iter().filter_map(|id| assets.iter().find(|a| a.id == *id)).map(|a| media::signed_path(state, a)).collect())
}

/// A member as a card, its owner named.
pub async fn card(state: &AppState, v: &Visible, owner: String) -> Result<Card, AppError> {
    let m = &v.member;
    Ok(Card {
        id: m.id,
        name: m.name.clone(),
        description: m.description.clone(),
        owner,
        images: links(state, &m.images).await?,
        voice: match m.voice {
            Some(id) => links(state, &[id]).await?.into_iter().next(),
            None => None,
        },
        can_change: v.access.can_change(),
    })
}

#[derive(Template)]
#[template(path = "cast/index.html")]
struct ListPage {
    layout: Layout,
    cards: Vec<Card>,
    boards: Vec<(String, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "cast/edit.html")]
struct EditPage {
    layout: Layout,
    card: Card,
    error: Option<String>,
}

async fn list_page(req: &HttpRequest, who: &SignedIn, error: Option<String>, status: StatusCode) -> PageResult {
    let state = state(req)?;
    let layout = Layout::new(req, Some(&who.user));
    let names: Vec<(String, String)> =
        boards::list(&state, &who.user).await?.into_iter().map(|b| (b.board.id.to_string(), b.board.name)).collect();
    let mut cards = Vec::new();
    for v in cast::list(&state, &who.user).await? {
        let owner = match v.member.owner {
            Owner::Person(_) => layout.t("presets-mine"),
            Owner::Board(b) => names.iter().find(|(id, _)| *id == b.to_string()).map(|(_, n)| n.clone()).unwrap_or_default(),
        };
        cards.push(card(&state, &v, owner).await?);
    }
    let page = ListPage { cards, boards: boards::editable(&state, &who.user).await?, error, layout };
    render(req, status, &page)
}

pub async fn list(req: HttpRequest, who: SignedIn) -> PageResult {
    list_page(&req, &who, None, StatusCode::OK).await
}

/// The create and edit forms: text fields, image files and a voice clip.
const FORM: Expected = Expected { fields: Fields::Named(&["name", "description", "owner"]), files: &["images", "voice"], max_files: 9 };

/// A form read with each file uploaded as the person's as it arrives.
#[derive(Default)]
struct Read {
    name: String,
    description: String,
    owner: String,
    images: Vec<AssetId>,
    voice: Option<AssetId>,
}

async fn read(state: &AppState, who: &SignedIn, payload: Multipart) -> Result<Result<Read, ServiceError>, AppError> {
    let mut form = multipart::Reader::new(payload, FORM, state.config.limits.largest_upload());
    let mut out = Read::default();
    let mut failed = None;
    while let Some(part) = form.next().await? {
        match part {
            Part::Text { name, value } => match name.as_str() {
                "name" => out.name = value,
                "description" => out.description = value,
                _ => out.owner = value,
            },
            Part::File(file) if failed.is_none() => match uploads::upload(state, &who.user, file.bytes).await {
                Ok(asset) if file.field == "voice" => out.voice = Some(asset.id),
                Ok(asset) => out.images.push(asset.id),
                Err(e) => failed = Some(e),
            },
            Part::File(_) => {}
        }
    }
    Ok(match failed {
        Some(e) => Err(e),
        None => Ok(out),
    })
}

fn shown_on_form(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid(_)
            | ServiceError::ModelRule(_)
            | ServiceError::InvalidMessage(_)
            | ServiceError::TooLarge(_)
            | ServiceError::Busy { .. }
    )
}

pub async fn create(req: HttpRequest, who: SignedIn, payload: Multipart) -> PageResult {
    let state = state(&req)?;
    let form = read(&state, &who, payload).await?;
    let outcome = async {
        let form = form?;
        let owner = match form.owner.trim() {
            "" => None,
            id => Some(Owner::Board(id.parse().map_err(|_| ServiceError::NotFound("board"))?)),
        };
        let input = CastInput {
            owner,
            name: Some(form.name),
            description: Some(form.description),
            images: Some(form.images),
            voice: Some(form.voice),
        };
        cast::create(&state, &who.ctx(), &who.user, input).await
    }
    .await;
    match outcome {
        Ok(_) => Ok(saved(&req, &state)),
        Err(e) if shown_on_form(&e) => {
            let (text, status) = form_refusal(&req, e);
            list_page(&req, &who, Some(text), status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Back to the cast list, saying the member was saved.
fn saved(req: &HttpRequest, state: &AppState) -> actix_web::HttpResponse {
    redirect_with(state.urls().cast(), FlashKind::Success, &crate::http::lang::tr(req).t("flash-cast-saved"))
}

/// The words and status of a refusal a form shows beside itself.
pub(super) fn form_refusal(req: &HttpRequest, e: ServiceError) -> (String, StatusCode) {
    let error = AppError::from(e);
    (error_text(&crate::http::lang::tr(req), &error), error.status)
}

async fn edit_page(req: &HttpRequest, who: &SignedIn, id: CastId, error: Option<String>, status: StatusCode) -> PageResult {
    let state = state(req)?;
    let visible = cast::get(&state, &who.user, id).await?;
    if !visible.access.can_change() {
        return Err(ServiceError::NotEditor.into());
    }
    let card = card(&state, &visible, String::new()).await?;
    render(req, status, &EditPage { layout: Layout::new(req, Some(&who.user)), card, error })
}

pub async fn edit(req: HttpRequest, who: SignedIn, id: web::Path<CastId>) -> PageResult {
    edit_page(&req, &who, id.into_inner(), None, StatusCode::OK).await
}

/// Saves the name and description, and adds the images and voice clip the form carries.
pub async fn save(req: HttpRequest, who: SignedIn, id: web::Path<CastId>, payload: Multipart) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let form = read(&state, &who, payload).await?;
    let outcome = async {
        let form = form?;
        let mut images = cast::get(&state, &who.user, id).await?.member.images;
        images.extend(form.images);
        let voice = form.voice.map(Some);
        let input = CastInput { owner: None, name: Some(form.name), description: Some(form.description), images: Some(images), voice };
        cast::update(&state, &who.user, id, input).await
    }
    .await;
    match outcome {
        Ok(_) => Ok(saved(&req, &state)),
        Err(e) if shown_on_form(&e) => {
            let (text, status) = form_refusal(&req, e);
            edit_page(&req, &who, id, Some(text), status).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<CastId>) -> PageResult {
    let state = state(&req)?;
    match cast::delete(&state, &who.ctx(), &who.user, id.into_inner()).await {
        Ok(()) => Ok(redirect_with(state.urls().cast(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-cast-deleted"))),
        Err(e @ ServiceError::InUse(_)) => Ok(redirect_with(state.urls().cast(), FlashKind::Error, &form_refusal(&req, e).0)),
        Err(e) => Err(e.into()),
    }
}
