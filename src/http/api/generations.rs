//! `/api/v1/generations` (create, read, cancel, delete, keep and share) and `/api/v1/uploads`.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use super::views::GenerationView;
use crate::domain::ids::GenerationId;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::deprecation;
use crate::http::multipart::{self, Expected, Fields, Part};
use crate::http::responses::ApiResult;
use crate::services::state::AppState;
use crate::services::studio::generations::{self, FlagAction, NewGeneration};
use crate::services::{privacy::deletion, studio::media, studio::uploads};

/// A reference image: a role and the id of an earlier upload.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceBody {
    /// `first_frame`, `last_frame` or `reference` (the model's capabilities say which it takes).
    #[schema(example = "first_frame")]
    role: String,
    /// The id `POST /api/v1/uploads` returned, or the id of one of your earlier outputs.
    upload: String,
}

/// A new generation as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// A model id from `GET /api/v1/models`.
    #[schema(example = "demo-image")]
    model: String,
    prompt: String,
    negative_prompt: Option<String>,
    /// The model's parameters by name (numbers or strings, e.g. `{"duration": 4, "aspect_ratio": "16:9"}`);
    /// missing ones take their defaults.
    #[serde(default)]
    #[schema(value_type = Object)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    references: Vec<ReferenceBody>,
    /// One of the caller's succeeded video generations for a model that extends, edits or
    /// enhances an earlier output (its `operation` in `GET /api/v1/models`): its video is the
    /// model's `source_video` input, and the new generation links back to it.
    source: Option<String>,
    /// The id of a board the caller edits: the new generation is added to it.
    board: Option<String>,
    /// Cast member ids (`GET /api/v1/cast`): their images become the model's reference images
    /// (or its first frame) and their voice its reference audio; a model that takes no
    /// reference images refuses them (422).
    #[serde(default)]
    cast: Vec<String>,
}

/// A new generation as `multipart/form-data` (documentation of the form's parts).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateForm {
    #[schema(example = "demo-image")]
    model: String,
    prompt: String,
    negative_prompt: Option<String>,
    /// The parameters as one JSON object; a part named after a parameter (`duration`, `seed`, …) also sets it,
    /// and wins.
    params: Option<String>,
    /// A reference image file (PNG, JPEG or WebP) used as the first frame.
    #[schema(value_type = Option<String>, format = Binary)]
    first_frame: Option<Vec<u8>>,
    /// A reference image file used as the last frame.
    #[schema(value_type = Option<String>, format = Binary)]
    last_frame: Option<Vec<u8>>,
    /// A reference image file (style or subject).
    #[schema(value_type = Option<String>, format = Binary)]
    reference: Option<Vec<u8>>,
    /// The id of an earlier generation to extend, edit or enhance (as in the JSON body).
    source: Option<String>,
    /// The id of a board the caller edits (as in the JSON body).
    board: Option<String>,
}

/// The multipart parts that are not parameters.
const FORM_FIELDS: [&str; 6] = ["model", "prompt", "negative_prompt", "params", "source", "board"];
/// The file parts, by reference role.
const ROLES: [&str; 3] = ["first_frame", "last_frame", "reference"];

/// One generation as the API shows it, with its approval request when it had one.
pub(super) async fn view(state: &AppState, g: &crate::domain::generation::Generation) -> Result<serde_json::Value, AppError> {
    let outputs = media::assets(state, g.outputs.clone()).await?;
    let approval = crate::services::studio::approvals::of_generation(state, g.id).await?;
    let view =
        GenerationView { approval: approval.as_ref().map(super::views::ApprovalView::new), ..GenerationView::new(state, g, &outputs) };
    serde_json::to_value(view).map_err(|_| AppError::internal())
}

/// The form of a new generation: parameters by name, and a file per reference role.
const CREATE_FORM: Expected = Expected { fields: Fields::Any, files: &ROLES, max_files: ROLES.len() };
/// The form of an upload: one `file`.
const UPLOAD_FORM: Expected = Expected { fields: Fields::Named(&[]), files: &["file"], max_files: 1 };

/// The new generation a multipart body asks for, each reference file uploaded as `user`'s as
/// it arrives (so one file is held at a time).
async fn from_form(state: &AppState, user: &User, mut form: multipart::Reader) -> Result<NewGeneration, AppError> {
    let mut fields = BTreeMap::new();
    let mut references = Vec::new();
    while let Some(part) = form.next().await? {
        match part {
            Part::Text { name, value } => {
                fields.insert(name, value);
            }
            Part::File(file) => {
                let role = crate::http::references::role(&file.field)?;
                references.push(uploads::upload_reference(state, user, role, file.bytes).await?);
            }
        }
    }
    let mut params: BTreeMap<String, serde_json::Value> = match fields.remove("params").filter(|p| !p.trim().is_empty()) {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str(&text).map_err(|_| AppError::bad_parameter("params", "params must be a JSON object."))?,
    };
    let text = |fields: &mut BTreeMap<String, String>, name: &str| fields.remove(name);
    let model = text(&mut fields, "model").ok_or_else(|| AppError::bad_parameter("model", "Name the model in a part `model`."))?;
    let prompt = text(&mut fields, "prompt").unwrap_or_default();
    let negative_prompt = text(&mut fields, "negative_prompt");
    let source = parse_source(text(&mut fields, "source").as_deref())?;
    let board = parse_board(text(&mut fields, "board").as_deref())?;
    for (name, value) in fields {
        if !FORM_FIELDS.contains(&name.as_str()) {
            params.insert(name, serde_json::Value::String(value));
        }
    }
    Ok(NewGeneration {
        model,
        prompt,
        negative_prompt,
        params,
        references,
        source,
        awaited: false,
        hands_over_outputs: false,
        board,
        tags: BTreeMap::new(),
        id: None,
    })
}

/// A `source` generation id, when one is given (an empty one is none).
fn parse_source(text: Option<&str>) -> Result<Option<GenerationId>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(id) => id.parse().map(Some).map_err(|_| AppError::bad_parameter("source", format!("{id:?} is not a generation id."))),
    }
}

/// A `board` id, when one is given (an empty one is none).
pub(crate) fn parse_board(text: Option<&str>) -> Result<Option<crate::domain::ids::BoardId>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(id) => id.parse().map(Some).map_err(|_| AppError::bad_parameter("board", format!("{id:?} is not a board id."))),
    }
}

fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Queues a generation: JSON with reference ids from `POST /uploads`, or a multipart form with
/// the reference files in it.
#[utoipa::path(post, operation_id = "generations_create", path = "/api/v1/generations", tag = "generations",
    request_body(content(
        (CreateBody = "application/json"),
        (CreateForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Queued; credits are held", body = GenerationView,
            headers(("Location" = String, description = "The new generation's URL"))),
        (status = 402, description = "Too few credits (`credits.insufficient`)", body = ErrorBody),
        (status = 403, description = "The caller may not use this model (`generation.model_disabled`) or is frozen (`account.frozen`)", body = ErrorBody),
        (status = 404, description = "A reference upload is not the caller's (`not_found`)", body = ErrorBody),
        (status = 422, description = "Unknown model (`generation.unknown_model`), bad parameters, prompt or image (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn create(req: HttpRequest, caller: ApiCaller, payload: web::Payload) -> ApiResult {
    let state = state(&req)?;
    let mut payload = payload.into_inner();
    // a token at its limit is refused before any reference file is read or stored
    let slot = caller.job_slot(&state).await?;
    let request = if is_multipart(&req) {
        let form = multipart::Reader::new(Multipart::new(req.headers(), payload), CREATE_FORM, state.config.limits.largest_upload());
        from_form(&state, &caller.user, form).await?
    } else {
        let body = match web::Json::<CreateBody>::from_request(&req, &mut payload).await {
            Ok(body) => body.into_inner(),
            // the JSON extractor's refusal (400, 413 or 415) already carries the API's error body
            Err(e) => return Ok(e.error_response()),
        };
        let mut request = NewGeneration {
            model: body.model,
            prompt: body.prompt,
            negative_prompt: body.negative_prompt,
            params: body.params,
            references: body.references.iter().map(|r| crate::http::references::parse(&r.role, &r.upload)).collect::<Result<_, _>>()?,
            source: parse_source(body.source.as_deref())?,
            awaited: false,
            board: parse_board(body.board.as_deref())?,
            tags: BTreeMap::new(),
            id: None,
            hands_over_outputs: false,
        };
        crate::services::studio::cast::apply(&state, &caller.user, &mut request, &super::presets::cast_ids(&body.cast)?).await?;
        request
    };
    let g = slot.submit(&state, &caller.ctx(), &caller.user, request).await?;
    let location = format!("{}/generations/{}", super::PREFIX, g.id);
    let response = HttpResponse::Created().insert_header((header::LOCATION, location)).json(view(&state, &g).await?);
    Ok(deprecation::mark(&state, &g.model, response))
}

/// One generation the caller may see (their own, or one shared with the team).
#[utoipa::path(get, operation_id = "generations_show", path = "/api/v1/generations/{id}", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses((status = 200, body = GenerationView)))]
pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    let state = state(&req)?;
    let g = generations::visible(&state, &caller.user, id.into_inner()).await?;
    generations::freshen(&state, &g);
    Ok(deprecation::mark(&state, &g.model, HttpResponse::Ok().json(view(&state, &g).await?)))
}

/// The generations made from one the caller may see (extended, edited or enhanced from its
/// output), oldest first; only those the caller may see are listed.
#[utoipa::path(get, operation_id = "generations_descendants", path = "/api/v1/generations/{id}/descendants", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses((status = 200, description = "`{\"data\": [generation…]}`", body = Object)))]
pub async fn descendants(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    let state = state(&req)?;
    let g = generations::visible(&state, &caller.user, id.into_inner()).await?;
    let lineage = crate::services::studio::lineage::lineage(&state, &caller.user, &g).await?;
    let mut data = Vec::with_capacity(lineage.made_from.len());
    for link in lineage.made_from {
        let child = generations::visible(&state, &caller.user, link.id).await?;
        data.push(view(&state, &child).await?);
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "data": data })))
}

/// Sets the flags of one of the caller's generations and answers with it.
async fn set_flag(req: HttpRequest, caller: ApiCaller, id: GenerationId, action: FlagAction) -> ApiResult {
    let state = state(&req)?;
    let g = generations::set_flags(&state, &caller.user, id, action.into()).await?;
    Ok(HttpResponse::Ok().json(view(&state, &g).await?))
}

/// Keeps a generation: retention never deletes it.
#[utoipa::path(post, operation_id = "generations_keep", path = "/api/v1/generations/{id}/keep", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses((status = 200, body = GenerationView)))]
pub async fn keep(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    set_flag(req, caller, id.into_inner(), FlagAction::Keep).await
}

/// Lets retention delete a generation again when its period ends.
#[utoipa::path(post, operation_id = "generations_unkeep", path = "/api/v1/generations/{id}/unkeep", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses((status = 200, body = GenerationView)))]
pub async fn unkeep(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    set_flag(req, caller, id.into_inner(), FlagAction::Unkeep).await
}

/// Shares a generation with every signed-in teammate.
#[utoipa::path(post, operation_id = "generations_share", path = "/api/v1/generations/{id}/share", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses((status = 200, body = GenerationView)))]
pub async fn share(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    set_flag(req, caller, id.into_inner(), FlagAction::Share).await
}

/// Makes a shared generation private again.
#[utoipa::path(post, operation_id = "generations_unshare", path = "/api/v1/generations/{id}/unshare", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses((status = 200, body = GenerationView)))]
pub async fn unshare(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    set_flag(req, caller, id.into_inner(), FlagAction::Unshare).await
}

/// Cancels a queued or running generation; its hold is released.
#[utoipa::path(post, operation_id = "generations_cancel", path = "/api/v1/generations/{id}/cancel", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses(
        (status = 200, body = GenerationView),
        (status = 409, description = "It has already ended (`generation.finished`)", body = ErrorBody),
    ))]
pub async fn cancel(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    let state = state(&req)?;
    let g = generations::cancel(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(&state, &g).await?))
}

/// `DELETE /api/v1/generations/{id}`: the generation, its files and its records, for good.
#[utoipa::path(delete, operation_id = "generations_delete", path = "/api/v1/generations/{id}", tag = "generations",
    params(("id" = String, Path, description = "The generation's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "It is on legal hold (`generation.legal_hold`) or still running (`conflict`)", body = ErrorBody),
    ))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<GenerationId>) -> ApiResult {
    let state = state(&req)?;
    deletion::delete(&state, &caller.ctx(), &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A stored reference image.
#[derive(Serialize, ToSchema)]
pub struct UploadView {
    id: String,
    /// A signed link to the cleaned image, as it will be sent to providers.
    url: String,
    content_type: String,
    width: Option<u32>,
    height: Option<u32>,
    bytes: u64,
}

/// The body of `POST /api/v1/uploads`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// A PNG, JPEG or WebP image up to `limits.upload_max`, a WAV, MP3 or M4A audio file or an MP4,
    /// MOV or WebM video within `limits.audio_*` / `limits.video_*`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Stores a reference file without its metadata (images re-encoded, audio and video stripped).
#[utoipa::path(post, operation_id = "generations_upload", path = "/api/v1/uploads", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadView),
        (status = 403, description = "The account is frozen (`account.frozen`)", body = ErrorBody),
        (status = 422, description = "Not a supported image, audio or video file, too many pixels, too large or too long (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn upload(req: HttpRequest, caller: ApiCaller, payload: Multipart) -> ApiResult {
    let state = state(&req)?;
    let parts = multipart::read(payload, UPLOAD_FORM, state.config.limits.largest_upload()).await?;
    let Some(file) = parts.files.into_iter().next() else {
        return Err(AppError::bad_request("Send the file in a multipart part named `file`.").into());
    };
    let asset = uploads::upload(&state, &caller.user, file.bytes).await?;
    let url = state.urls().absolute(&media::signed_path(&state, &asset));
    Ok(HttpResponse::Created().json(UploadView {
        id: asset.id.to_string(),
        url,
        content_type: asset.content_type,
        width: asset.width,
        height: asset.height,
        bytes: asset.bytes,
    }))
}
