//! `/api/v1/cast`: the caller's cast members and those of their boards (create from uploads,
//! read, change, delete, add an image).

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::board::Owner;
use crate::domain::ids::{AssetId, CastId};
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::multipart::{self, Expected, Fields};
use crate::http::responses::ApiResult;
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::services::studio::cast::{self, CastInput, Visible};
use crate::services::studio::media;
use crate::services::studio::ownership::Access;

/// One file of a cast member, with a signed link to it.
#[derive(Serialize, ToSchema)]
pub struct CastFile {
    id: String,
    url: String,
    content_type: String,
}

/// A cast member.
#[derive(Serialize, ToSchema)]
pub struct CastView {
    id: String,
    /// `{"person": "<id>"}` or `{"board": "<id>"}`.
    #[schema(value_type = Object)]
    owner: Owner,
    name: String,
    description: String,
    images: Vec<CastFile>,
    voice: Option<CastFile>,
    /// Whether the caller may change it (its person, a board's editor).
    can_change: bool,
    created_at: String,
    updated_at: String,
}

impl CastView {
    async fn new(state: &AppState, v: &Visible) -> Result<CastView, AppError> {
        let m = &v.member;
        let assets = media::assets(state, m.files()).await?;
        let file = |id: &AssetId| {
            assets.iter().find(|a| a.id == *id).map(|a| CastFile {
                id: a.id.to_string(),
                url: state.urls().absolute(&media::signed_path(state, a)),
                content_type: a.content_type.clone(),
            })
        };
        Ok(CastView {
            id: m.id.to_string(),
            owner: m.owner,
            name: m.name.clone(),
            description: m.description.clone(),
            images: m.images.iter().filter_map(file).collect(),
            voice: m.voice.as_ref().and_then(file),
            can_change: v.access.can_change(),
            created_at: m.created_at.rfc3339(),
            updated_at: m.updated_at.rfc3339(),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct CastList {
    cast: Vec<CastView>,
}

/// A new cast member, or the fields of one that change (those left out stay as they are).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastBody {
    /// Only on create: `{"board": "<board id>"}` for a board the caller edits; the caller when absent.
    #[schema(value_type = Option<Object>)]
    owner: Option<Owner>,
    #[schema(example = "Captain Mira")]
    name: Option<String>,
    description: Option<String>,
    /// Ids of the caller's image uploads (`POST /api/v1/uploads`), 1 to 8, in the order models get them.
    images: Option<Vec<String>>,
    /// The id of the caller's audio upload (a voice clip), for models that take reference audio; empty removes it.
    voice: Option<String>,
}

impl CastBody {
    fn into_input(self) -> Result<CastInput, AppError> {
        let images = self.images.map(|ids| ids.iter().map(|id| upload_id("images", id)).collect::<Result<Vec<_>, _>>()).transpose()?;
        let voice = match self.voice.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(id) => Some(Some(upload_id("voice", id)?)),
        };
        Ok(CastInput { owner: self.owner, name: self.name, description: self.description, images, voice })
    }
}

fn upload_id(field: &str, id: &str) -> Result<AssetId, AppError> {
    id.trim().parse().map_err(|_| AppError::bad_parameter(field, format!("{id:?} is not an upload id.")))
}

/// The caller's cast, then that of the boards they are a member of.
#[utoipa::path(get, operation_id = "cast_list", path = "/api/v1/cast", tag = "cast", responses((status = 200, body = CastList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let mut views = Vec::new();
    for v in cast::list(&state, &caller.user).await? {
        views.push(CastView::new(&state, &v).await?);
    }
    Ok(HttpResponse::Ok().json(CastList { cast: views }))
}

/// Creates a cast member from the caller's uploads.
#[utoipa::path(post, operation_id = "cast_create", path = "/api/v1/cast", tag = "cast", request_body = CastBody, responses(
    (status = 201, body = CastView),
    (status = 403, description = "A board's viewer (`forbidden`) or a frozen account (`account.frozen`)", body = ErrorBody),
    (status = 404, description = "An upload or board that is not the caller's (`not_found`)", body = ErrorBody),
    (status = 422, description = "No name, no image or more than 8, an image that is not one, a voice that is not audio (`invalid_input`)", body = ErrorBody),
))]
pub async fn create(req: HttpRequest, caller: ApiCaller, body: web::Json<CastBody>) -> ApiResult {
    let state = state(&req)?;
    let member = cast::create(&state, &caller.ctx(), &caller.user, body.into_inner().into_input()?).await?;
    let view = CastView::new(&state, &Visible { member, access: Access::Change }).await?;
    Ok(HttpResponse::Created().insert_header((header::LOCATION, format!("{}/cast/{}", super::PREFIX, view.id))).json(view))
}

/// One cast member the caller may see.
#[utoipa::path(get, operation_id = "cast_show", path = "/api/v1/cast/{id}", tag = "cast",
    params(("id" = String, Path, description = "The cast member's id")),
    responses((status = 200, body = CastView)))]
pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<CastId>) -> ApiResult {
    let state = state(&req)?;
    let visible = cast::get(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(CastView::new(&state, &visible).await?))
}

/// Changes a cast member (its person, or an editor of its board).
#[utoipa::path(patch, operation_id = "cast_update", path = "/api/v1/cast/{id}", tag = "cast", request_body = CastBody,
    params(("id" = String, Path, description = "The cast member's id")),
    responses(
        (status = 200, body = CastView),
        (status = 403, description = "A board's viewer (`forbidden`)", body = ErrorBody),
        (status = 422, description = "As on create (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn update(req: HttpRequest, caller: ApiCaller, id: web::Path<CastId>, body: web::Json<CastBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    if body.owner.is_some() {
        return Err(AppError::bad_parameter("owner", "A cast member's owner is chosen when it is created.").into());
    }
    let member = cast::update(&state, &caller.user, id.into_inner(), body.into_input()?).await?;
    Ok(HttpResponse::Ok().json(CastView::new(&state, &Visible { member, access: Access::Change }).await?))
}

/// Deletes a cast member (its person, or an editor of its board). One a preset uses is kept:
/// 409 naming the presets.
#[utoipa::path(delete, operation_id = "cast_delete", path = "/api/v1/cast/{id}", tag = "cast",
    params(("id" = String, Path, description = "The cast member's id")),
    responses(
        (status = 204, description = "Deleted; its files follow the upload retention class again"),
        (status = 403, description = "A board's viewer (`forbidden`)", body = ErrorBody),
        (status = 409, description = "Presets use it (`in_use`, naming them)", body = ErrorBody),
    ))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<CastId>) -> ApiResult {
    let state = state(&req)?;
    cast::delete(&state, &caller.ctx(), &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body of `POST /api/v1/cast/{id}/images`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImageForm {
    /// A PNG, JPEG or WebP image up to `limits.upload_max` (re-encoded without its metadata).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The form of an added image: one `file`.
const IMAGE_FORM: Expected = Expected { fields: Fields::Named(&[]), files: &["file"], max_files: 1 };

/// Uploads an image and adds it at the end of a cast member's images.
#[utoipa::path(post, operation_id = "cast_add_image", path = "/api/v1/cast/{id}/images", tag = "cast",
    request_body(content = ImageForm, content_type = "multipart/form-data"),
    params(("id" = String, Path, description = "The cast member's id")),
    responses(
        (status = 200, body = CastView),
        (status = 403, description = "A board's viewer (`forbidden`)", body = ErrorBody),
        (status = 422, description = "Not an image, or the member already has 8 (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn add_image(req: HttpRequest, caller: ApiCaller, id: web::Path<CastId>, payload: Multipart) -> ApiResult {
    let state = state(&req)?;
    let parts = multipart::read(payload, IMAGE_FORM, state.config.limits.upload_max).await?;
    let Some(file) = parts.files.into_iter().next() else {
        return Err(AppError::from(ServiceError::InvalidMessage("Send the image in a multipart part named `file`.".into())).into());
    };
    let member = cast::add_image(&state, &caller.user, id.into_inner(), file.bytes).await?;
    Ok(HttpResponse::Ok().json(CastView::new(&state, &Visible { member, access: Access::Change }).await?))
}
