//! The sessions page: where one is signed in, with per-session and "everywhere" sign-out.

use actix_web::{HttpRequest, web};
use askama::Template;

use super::layout::Layout;
use crate::domain::auth::Session;
use crate::domain::ids::SessionId;
use crate::error::AppError;
use crate::http::auth::{SignedIn, session_cookie_name, state};
use crate::http::responses::{FlashKind, PageResult, expired, ok, redirect_with};
use crate::services::identity::sessions;

#[derive(Template)]
#[template(path = "account/sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<Session>,
    current: SessionId,
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let mut list = sessions::list(&state, who.user.id).await?;
    list.reverse();
    let page = SessionsPage { layout: Layout::new(&req, Some(&who.user)), sessions: list, current: who.session.id };
    ok(&req, &page)
}

pub async fn revoke(req: HttpRequest, who: SignedIn, id: web::Path<SessionId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    sessions::revoke(&state, &who.ctx(), who.user.id, id).await?;
    if id == who.session.id {
        let mut response = redirect_with(state.urls().login(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-signed-out"));
        response.add_cookie(&expired(session_cookie_name(&state))).map_err(|_| AppError::internal())?;
        return Ok(response);
    }
    Ok(redirect_with(state.urls().sessions(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-session-signed-out")))
}

pub async fn revoke_all(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let n = sessions::revoke_all(&state, &who.ctx(), who.user.id).await?;
    let mut response = redirect_with(
        state.urls().login(),
        FlashKind::Success,
        &crate::http::lang::tr(&req).t_args("flash-signed-out-everywhere", &[("count", n.into())]),
    );
    response.add_cookie(&expired(session_cookie_name(&state))).map_err(|_| AppError::internal())?;
    Ok(response)
}
