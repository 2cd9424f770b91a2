//! What the owner does to a generation from its page: keep or share it (and undo), and
//! delete it after a confirmation step. Reading the page lives in `generation.rs`.

use actix_web::{HttpRequest, web};
use askama::Template;

use super::layout::Layout;
use crate::domain::generation::Generation;
use crate::domain::ids::GenerationId;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with};
use crate::services::studio::generations::{self, FlagAction};
use crate::services::{ServiceError, privacy::deletion};

/// What a flag change tells the person.
fn done_message(action: FlagAction, tr: &crate::i18n::Tr) -> String {
    match action {
        FlagAction::Keep => tr.t("flash-kept"),
        FlagAction::Unkeep => tr.t("flash-unkept"),
        FlagAction::Share => tr.t("flash-shared"),
        FlagAction::Unshare => tr.t("flash-unshared"),
    }
}

/// `POST /generations/{id}/{keep|unkeep|share|unshare}` (another word is 404 from the path).
pub async fn set_flag(req: HttpRequest, who: SignedIn, path: web::Path<(GenerationId, FlagAction)>) -> PageResult {
    let state = state(&req)?;
    let (id, action) = path.into_inner();
    generations::set_flags(&state, &who.user, id, action.into()).await?;
    Ok(redirect_with(&state.urls().generation(id), FlashKind::Success, &done_message(action, &crate::http::lang::tr(&req))))
}

#[derive(Template)]
#[template(path = "generations/delete.html")]
struct ConfirmPage<'a> {
    layout: Layout,
    g: &'a Generation,
}

/// `GET /generations/{id}/delete`: asks before deleting for good.
pub async fn confirm_delete(req: HttpRequest, who: SignedIn, id: web::Path<GenerationId>) -> PageResult {
    let state = state(&req)?;
    let g = generations::get(&state, &who.user, id.into_inner()).await?;
    ok(&req, &ConfirmPage { layout: Layout::new(&req, Some(&who.user)), g: &g })
}

/// `POST /generations/{id}/delete`: deletes it (files and records), then back to the library.
pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<GenerationId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    match deletion::delete(&state, &who.ctx(), &who.user, id).await {
        Ok(()) => Ok(redirect_with(state.urls().library(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-deleted"))),
        Err(e @ (ServiceError::Conflict(_) | ServiceError::LegalHold(_))) => Ok(redirect_with(
            &state.urls().generation(id),
            FlashKind::Error,
            &crate::http::responses::error_text(&crate::http::lang::tr(&req), &AppError::from(e)),
        )),
        Err(e) => Err(e.into()),
    }
}
