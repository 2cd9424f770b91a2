//! What the owner does to a generation from its page: keep or share it (and undo), and
//! delete it after a confirmation step. Reading the page lives in `generation.rs`.

use actix_web::{HttpRequest, web};
use askama::Template;

use super::generation::parse_id;
use super::layout::Layout;
use crate::domain::generation::Generation;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with};
use crate::services::generations::{self, Flags};
use crate::services::{ServiceError, deletion};

/// What a flag change tells the person.
fn done_message(action: &str) -> &'static str {
    match action {
        "keep" => "Kept: retention will not delete it.",
        "unkeep" => "No longer kept: retention applies again.",
        "share" => "Shared: every signed-in teammate can now open it.",
        _ => "No longer shared.",
    }
}

/// `POST /generations/{id}/{keep|unkeep|share|unshare}`.
pub async fn set_flag(req: HttpRequest, who: SignedIn, path: web::Path<(String, String)>) -> PageResult {
    let state = state(&req)?;
    let (id, action) = path.into_inner();
    let id = parse_id(&id)?;
    let flags = Flags::from_action(&action).ok_or_else(AppError::not_found)?;
    generations::set_flags(&state, &who.user, id, flags).await?;
    Ok(redirect_with(&format!("/generations/{id}"), FlashKind::Success, done_message(&action)))
}

#[derive(Template)]
#[template(path = "generations/delete.html")]
struct ConfirmPage<'a> {
    layout: Layout,
    g: &'a Generation,
}

/// `GET /generations/{id}/delete`: asks before deleting for good.
pub async fn confirm_delete(req: HttpRequest, who: SignedIn, id: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let g = generations::get(&state, &who.user, parse_id(&id)?).await?;
    ok(&req, &ConfirmPage { layout: Layout::new(&req, Some(&who.user)), g: &g })
}

/// `POST /generations/{id}/delete`: deletes it (files and records), then back to the library.
pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let id = parse_id(&id)?;
    match deletion::delete(&state, &who.ctx(), &who.user, id).await {
        Ok(()) => Ok(redirect_with("/library", FlashKind::Success, "Deleted, with its files.")),
        Err(e @ (ServiceError::Conflict(_) | ServiceError::LegalHold(_))) => {
            Ok(redirect_with(&format!("/generations/{id}"), FlashKind::Error, &AppError::from(e).message))
        }
        Err(e) => Err(e.into()),
    }
}
