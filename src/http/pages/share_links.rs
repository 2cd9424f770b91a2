//! Share links on the pages: a person's own links (made from a generation's or a board's page,
//! the URL shown once, revoked here), and the admins' view of every link with the instance
//! switch.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::ids::{BoardId, GenerationId, ShareId};
use crate::domain::share::{Liveness, ShareLink, ShareRequest, ShareTarget};
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, error_text, redirect_with, render};
use crate::services::studio::shares;

/// One link as the tables show it.
struct Row {
    id: ShareId,
    target_key: &'static str,
    target_href: String,
    maker: String,
    /// `live`, `expired` or `revoked`.
    state: &'static str,
    state_key: &'static str,
    expires_at: Timestamp,
    /// Catalogue keys of its options (password, downloads, prompt).
    options: Vec<&'static str>,
    views: u64,
}

#[derive(Template)]
#[template(path = "share/links.html")]
struct LinksPage {
    layout: Layout,
    title_key: &'static str,
    rows: Vec<Row>,
    /// The address of a link made by this request: shown this once.
    created: Option<String>,
    error: Option<String>,
    /// The admins' page: every link, who made it, and the switch.
    admin_view: bool,
    enabled: bool,
}

fn row(state: &crate::services::state::AppState, link: &ShareLink) -> Row {
    let (target_key, target_href) = match link.target {
        ShareTarget::Generation(id) => ("share-target-generation", state.urls().generation(id)),
        ShareTarget::Board(id) => ("share-target-board", state.urls().board(id)),
    };
    let (state_name, state_key) = match link.liveness(Timestamp::now()) {
        Liveness::Live => ("live", "share-state-live"),
        Liveness::Expired => ("expired", "share-state-expired"),
        Liveness::Revoked => ("revoked", "share-state-revoked"),
    };
    let mut options = Vec::new();
    if link.has_password() {
        options.push("share-option-password");
    }
    if link.allow_download {
        options.push("share-option-download");
    }
    if link.show_prompt {
        options.push("share-option-prompt");
    }
    Row {
        id: link.id,
        target_key,
        target_href,
        maker: link.created_by.to_string(),
        state: state_name,
        state_key,
        expires_at: link.expires_at,
        options,
        views: link.views,
    }
}

async fn mine_page(req: &HttpRequest, who: &SignedIn, status: StatusCode, created: Option<String>, error: Option<String>) -> PageResult {
    let state = state(req)?;
    let links = shares::mine(&state, &who.user).await?;
    let page = LinksPage {
        layout: Layout::new(req, Some(&who.user)),
        title_key: "share-links-title",
        rows: links.iter().map(|l| row(&state, l)).collect(),
        created,
        error,
        admin_view: false,
        enabled: shares::settings(&state)?.enabled,
    };
    render(req, status, &page)
}

/// `GET /share-links`: the links the person made.
pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    mine_page(&req, &who, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct NewLinkForm {
    /// `generation` or `board`.
    target_kind: String,
    target_id: String,
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    allow_download: Option<String>,
    #[serde(default)]
    show_prompt: Option<String>,
}

fn target_of(form: &NewLinkForm) -> Result<ShareTarget, AppError> {
    let bad = || AppError::bad_parameter("target_id", "The link's target is not valid.");
    match form.target_kind.as_str() {
        "generation" => form.target_id.parse::<GenerationId>().map(ShareTarget::Generation).map_err(|_| bad()),
        "board" => form.target_id.parse::<BoardId>().map(ShareTarget::Board).map_err(|_| bad()),
        _ => Err(AppError::bad_parameter("target_kind", "`target_kind` must be generation or board.")),
    }
}

/// `POST /share-links`: makes a link and shows its address once on the person's list.
pub async fn create(req: HttpRequest, who: SignedIn, form: web::Form<NewLinkForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    let tr = lang::tr(&req);
    let made = async {
        let target = target_of(&form)?;
        let days = match form.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => Some(d.parse::<u16>().map_err(|_| AppError::bad_parameter("days", "A link works for 1 to 90 days."))?),
        };
        let request = ShareRequest {
            days,
            password: Some(form.password.clone()),
            allow_download: form.allow_download.is_some(),
            show_prompt: form.show_prompt.is_some(),
        };
        Ok::<_, AppError>(shares::create(&state, &who.ctx(), &who.user, target, request).await?)
    }
    .await;
    match made {
        Ok(made) => mine_page(&req, &who, StatusCode::CREATED, Some(state.urls().absolute(&made.path)), None).await,
        Err(e) => mine_page(&req, &who, e.status, None, Some(error_text(&tr, &e))).await,
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    /// `admin` when revoked from the admins' page (back there after), else the person's list.
    #[serde(default)]
    back: String,
}

/// `POST /share-links/{id}/revoke`: its maker or an admin.
pub async fn revoke(req: HttpRequest, who: SignedIn, id: web::Path<ShareId>, form: web::Form<RevokeForm>) -> PageResult {
    let state = state(&req)?;
    let tr = lang::tr(&req);
    let back = if form.back == "admin" { state.urls().admin_sharing() } else { state.urls().share_links() };
    match shares::revoke(&state, &who.ctx(), &who.user, id.into_inner()).await {
        Ok(_) => Ok(redirect_with(back, FlashKind::Success, &tr.t("share-revoked"))),
        Err(e) => Ok(redirect_with(back, FlashKind::Error, &error_text(&tr, &AppError::from(e)))),
    }
}

/// `GET /admin/sharing`: every link and the switch (admins).
pub async fn admin_show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let links = shares::all(&state, &who.user).await?;
    let people = crate::services::identity::accounts::list(&state).await?;
    let page = LinksPage {
        layout: Layout::new(&req, Some(&who.user)),
        title_key: "share-admin-title",
        rows: links
            .iter()
            .map(|l| {
                let mut r = row(&state, l);
                if let Some(maker) = people.iter().find(|u| u.id == l.created_by) {
                    r.maker = maker.email.to_string();
                }
                r
            })
            .collect(),
        created: None,
        error: None,
        admin_view: true,
        enabled: shares::settings(&state)?.enabled,
    };
    render(&req, StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct SwitchForm {
    enabled: bool,
}

/// `POST /admin/sharing`: turns share links on or off (admins).
pub async fn admin_switch(req: HttpRequest, who: SignedIn, form: web::Form<SwitchForm>) -> PageResult {
    let state = state(&req)?;
    let tr = lang::tr(&req);
    shares::set_enabled(&state, &who.ctx(), &who.user, form.enabled).await?;
    let done = if form.enabled { "share-switched-on" } else { "share-switched-off" };
    Ok(redirect_with(state.urls().admin_sharing(), FlashKind::Success, &tr.t(done)))
}
