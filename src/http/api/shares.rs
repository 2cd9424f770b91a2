//! `/api/v1/share-links`: read-only links to a generation or a board for people without an
//! account (make, list, read, revoke), and `/api/v1/admin/sharing`: every link and the
//! instance switch. The link's URL (with its secret) is in the answer to the `POST` only.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::ids::{BoardId, GenerationId, ShareId};
use crate::domain::share::{Liveness, ShareLink, ShareRequest, ShareTarget};
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::ServiceError;
use crate::services::studio::shares;

/// A share link as its maker (or an admin) sees it.
#[derive(Serialize, ToSchema)]
pub struct ShareLinkView {
    id: String,
    /// `generation` or `board`.
    target_kind: &'static str,
    target_id: String,
    /// Who made it.
    created_by: String,
    created_at: String,
    expires_at: String,
    revoked_at: Option<String>,
    /// `live`, `expired` or `revoked`.
    state: &'static str,
    has_password: bool,
    allow_download: bool,
    show_prompt: bool,
    /// How many times its page was opened.
    views: u64,
    last_viewed_at: Option<String>,
    /// The shared page's address with its secret: only when the link was just made.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl ShareLinkView {
    pub fn new(link: &ShareLink, url: Option<String>) -> ShareLinkView {
        let (target_kind, target_id) = match link.target {
            ShareTarget::Generation(id) => ("generation", id.to_string()),
            ShareTarget::Board(id) => ("board", id.to_string()),
        };
        ShareLinkView {
            id: link.id.to_string(),
            target_kind,
            target_id,
            created_by: link.created_by.to_string(),
            created_at: link.created_at.rfc3339(),
            expires_at: link.expires_at.rfc3339(),
            revoked_at: link.revoked_at.map(Timestamp::rfc3339),
            state: match link.liveness(Timestamp::now()) {
                Liveness::Live => "live",
                Liveness::Expired => "expired",
                Liveness::Revoked => "revoked",
            },
            has_password: link.has_password(),
            allow_download: link.allow_download,
            show_prompt: link.show_prompt,
            views: link.views,
            last_viewed_at: link.last_viewed_at.map(Timestamp::rfc3339),
            url,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShareLinkList {
    links: Vec<ShareLinkView>,
}

/// A new link: exactly one of `generation_id` and `board_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareLinkBody {
    /// One of the caller's generations that succeeded.
    #[serde(default)]
    generation_id: Option<String>,
    /// A board the caller edits.
    #[serde(default)]
    board_id: Option<String>,
    /// Days until it expires: 1 to 90 (default 7).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 90)]
    days: Option<u16>,
    /// Visitors must type it (8 to 256 characters); none when absent or empty.
    #[serde(default)]
    password: Option<String>,
    /// Whether visitors may save the files (default false).
    #[serde(default)]
    allow_download: bool,
    /// Whether the page shows each generation's prompt (default false).
    #[serde(default)]
    show_prompt: bool,
}

fn target_of(body: &NewShareLinkBody) -> Result<ShareTarget, AppError> {
    let bad = |message: String| AppError::from(ServiceError::InvalidMessage(message));
    match (&body.generation_id, &body.board_id) {
        (Some(g), None) => {
            g.parse::<GenerationId>().map(ShareTarget::Generation).map_err(|_| bad("`generation_id` is not a valid id.".into()))
        }
        (None, Some(b)) => b.parse::<BoardId>().map(ShareTarget::Board).map_err(|_| bad("`board_id` is not a valid id.".into())),
        _ => Err(bad("Give exactly one of `generation_id` and `board_id`.".into())),
    }
}

/// The links the caller made, newest first.
#[utoipa::path(get, operation_id = "share_links_list", path = "/api/v1/share-links", tag = "sharing", responses((status = 200, body = ShareLinkList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let links = shares::mine(&state, &caller.user).await?;
    Ok(HttpResponse::Ok().json(ShareLinkList { links: links.iter().map(|l| ShareLinkView::new(l, None)).collect() }))
}

/// Makes a read-only link to a generation or a board; the answer's `url` (with its secret)
/// is shown this once.
#[utoipa::path(post, operation_id = "share_links_create", path = "/api/v1/share-links", tag = "sharing", request_body = NewShareLinkBody, responses(
    (status = 201, body = ShareLinkView),
    (status = 403, description = "Share links are turned off (`share.disabled`)", body = ErrorBody),
    (status = 404, description = "No such generation of the caller's, or board they edit", body = ErrorBody),
    (status = 422, description = "Days outside 1–90, a password too short or long, nothing to share yet, too many live links", body = ErrorBody),
))]
pub async fn create(req: HttpRequest, caller: ApiCaller, body: web::Json<NewShareLinkBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let target = target_of(&body)?;
    let request =
        ShareRequest { days: body.days, password: body.password, allow_download: body.allow_download, show_prompt: body.show_prompt };
    let made = shares::create(&state, &caller.ctx(), &caller.user, target, request).await?;
    let url = state.urls().absolute(&made.path);
    Ok(HttpResponse::Created().json(ShareLinkView::new(&made.link, Some(url))))
}

/// One of the caller's links (an admin may read any).
#[utoipa::path(get, operation_id = "share_links_show", path = "/api/v1/share-links/{id}", tag = "sharing",
    params(("id" = String, Path, description = "The link's id")),
    responses((status = 200, body = ShareLinkView), (status = 404, body = ErrorBody)))]
pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<ShareId>) -> ApiResult {
    let state = state(&req)?;
    let link = shares::get(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ShareLinkView::new(&link, None)))
}

/// Revokes a link at once: its page and the media it handed out stop working. Its maker or an
/// admin; revoking twice changes nothing.
#[utoipa::path(delete, operation_id = "share_links_revoke", path = "/api/v1/share-links/{id}", tag = "sharing",
    params(("id" = String, Path, description = "The link's id")),
    responses((status = 200, body = ShareLinkView), (status = 404, body = ErrorBody)))]
pub async fn revoke(req: HttpRequest, caller: ApiCaller, id: web::Path<ShareId>) -> ApiResult {
    let state = state(&req)?;
    let link = shares::revoke(&state, &caller.ctx(), &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ShareLinkView::new(&link, None)))
}

/// The instance's sharing switch and every link (newest first, at most 1,000).
#[derive(Serialize, ToSchema)]
pub struct SharingView {
    /// When false, no link can be made and every link answers as turned off.
    enabled: bool,
    links: Vec<ShareLinkView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingBody {
    enabled: bool,
}

/// The sharing switch and every link on the instance (admins).
#[utoipa::path(get, operation_id = "admin_sharing_show", path = "/api/v1/admin/sharing", tag = "admin",
    responses((status = 200, body = SharingView), (status = 403, body = ErrorBody)))]
pub async fn sharing(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let links = shares::all(&state, &caller.user).await?;
    let enabled = shares::settings(&state)?.enabled;
    Ok(HttpResponse::Ok().json(SharingView { enabled, links: links.iter().map(|l| ShareLinkView::new(l, None)).collect() }))
}

/// Turns share links on or off for the whole instance (admins), audited.
#[utoipa::path(put, operation_id = "admin_sharing_save", path = "/api/v1/admin/sharing", tag = "admin", request_body = SharingBody,
    responses((status = 200, body = SharingView), (status = 403, body = ErrorBody)))]
pub async fn set_sharing(req: HttpRequest, caller: ApiCaller, body: web::Json<SharingBody>) -> ApiResult {
    let state = state(&req)?;
    let settings = shares::set_enabled(&state, &caller.ctx(), &caller.user, body.enabled).await?;
    let links = shares::all(&state, &caller.user).await?;
    Ok(HttpResponse::Ok()
        .json(SharingView { enabled: settings.enabled, links: links.iter().map(|l| ShareLinkView::new(l, None)).collect() }))
}
