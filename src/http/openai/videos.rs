//! `/v1/videos`: OpenAI's Videos API over video generations. A video's id is its generation
//! id; create, retrieve, list, download (`/content`, with Range) and delete map onto the
//! generation services, and the Video object is built from the stored generation.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{OpenAiError, OpenAiResult};
use super::params::{self, Endpoint};
use super::{Body, TokenCaller, model_for, submit, unix, upload};
use crate::domain::catalog::{MediaKind, ModelSpec, ReferenceRole};
use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{AssetId, GenerationId};
use crate::domain::user::User;
use crate::http::auth::{ApiCaller, state};
use crate::http::deprecation;
use crate::http::multipart::{Expected, Fields};
use crate::services::state::AppState;
use crate::services::{ServiceError, privacy::deletion, privacy::retention, studio::generations, studio::media, studio::uploads};

/// How long a `DELETE` of a running video waits for its cancellation to settle.
const CANCEL_WAIT: Duration = Duration::from_secs(15);

/// OpenAI's status words for a generation's state.
fn status(state: GenState) -> &'static str {
    match state {
        GenState::Queued | GenState::AwaitingApproval => "queued",
        GenState::Submitting | GenState::Running | GenState::Fetching => "in_progress",
        GenState::Succeeded => "completed",
        GenState::Failed | GenState::Cancelled => "failed",
    }
}

/// The pixels of a generation's stored video, when its record has them.
async fn pixels(state: &AppState, g: &Generation) -> Result<Option<(u32, u32)>, OpenAiError> {
    let outputs = media::assets(state, g.outputs.clone()).await?;
    Ok(outputs.into_iter().find(|a| a.is_video()).and_then(|v| Some((v.width?, v.height?))))
}

/// The clip's size: its pixels when the stored video's record has them, else what its parameters ask for
/// (`1280x720`, or an aspect ratio such as `16:9` for models that take only that).
fn size(g: &Generation, pixels: Option<(u32, u32)>) -> Option<String> {
    if let Some((w, h)) = pixels {
        return Some(format!("{w}x{h}"));
    }
    let param = |name: &str| g.params.get(name).map(|v| v.to_string());
    match (param("width"), param("height")) {
        (Some(w), Some(h)) => Some(format!("{w}x{h}")),
        _ => param("size").or_else(|| param("ratio").map(|r| r.replace(':', "x"))).or_else(|| param("aspect_ratio")),
    }
}

/// The Video object of a generation, as `viewer` (its owner) sees it.
fn video(state: &AppState, viewer: &User, g: &Generation, pixels: Option<(u32, u32)>) -> Value {
    let ended = matches!(g.state, GenState::Failed | GenState::Cancelled);
    let progress = match g.state {
        GenState::Queued => 0,
        GenState::Succeeded => 100,
        _ => g.progress.unwrap_or(0),
    };
    let expires_at = if viewer.legal_hold || retention::kept_by_board(state, g.id) {
        None
    } else {
        retention::expires_at(&state.config.retention, g).map(unix)
    };
    json!({
        "id": g.id.to_string(),
        "object": "video",
        "model": g.model,
        "status": status(g.state),
        "progress": progress,
        "created_at": unix(g.created_at),
        "completed_at": g.finished_at.filter(|_| g.state.is_terminal()).map(unix),
        "expires_at": expires_at,
        "seconds": g.params.get("duration").map(|d| d.to_string()),
        "size": size(g, pixels),
        "prompt": g.prompt,
        "remixed_from_video_id": null,
        "error": g.reason.as_ref().filter(|_| ended).map(|r| json!({ "code": r.code, "message": r.message })),
    })
}

async fn video_response(state: &AppState, viewer: &User, g: &Generation) -> OpenAiResult {
    Ok(deprecation::mark(state, &g.model, HttpResponse::Ok().json(video(state, viewer, g, pixels(state, g).await?))))
}

/// One of the caller's video generations; anything else (someone else's, an image) is the
/// same 404 (a malformed id never reaches here: the path extractor answers 404).
async fn own_video(state: &AppState, caller: &ApiCaller, id: GenerationId) -> Result<Generation, OpenAiError> {
    let missing = || OpenAiError::not_found("Video", &id.to_string());
    match generations::get(state, &caller.user, id).await {
        Ok(g) if g.kind == MediaKind::Video => Ok(g),
        Ok(_) | Err(ServiceError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// The role an input reference takes with `spec`: its first frame, else a reference image.
fn reference_role(spec: &ModelSpec) -> Result<ReferenceRole, OpenAiError> {
    [ReferenceRole::FirstFrame, ReferenceRole::Reference]
        .into_iter()
        .find(|r| spec.takes(*r))
        .ok_or_else(|| OpenAiError::invalid("input_reference", format!("{} does not take an input reference.", spec.id)))
}

/// The upload an `input_reference` names or carries: a file part, `{file_id}` (an upload
/// made through `/api/v1/uploads`) or `{image_url}` as a base64 `data:` URL. Links to other
/// sites are refused: this server does not fetch URLs it is handed.
async fn input_reference(state: &AppState, caller: &ApiCaller, spec: &ModelSpec, body: &mut Body) -> Result<Option<AssetId>, OpenAiError> {
    let mut files = body.take_files("input_reference");
    let object = body.fields.get("input_reference").and_then(Value::as_object).cloned().unwrap_or_default();
    let nested =
        |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string).or_else(|| body.text(&format!("input_reference[{key}]")));
    let (file_id, image_url) = (nested("file_id"), nested("image_url"));
    if body.fields.get("input_reference").is_some_and(|v| !v.is_object() && !v.is_null()) {
        return Err(OpenAiError::invalid("input_reference", "input_reference must be a file, {\"file_id\"} or {\"image_url\"}."));
    }
    let given = usize::from(file_id.is_some()) + usize::from(image_url.is_some()) + files.len();
    if given == 0 {
        return Ok(None);
    }
    reference_role(spec)?;
    if given > 1 {
        return Err(OpenAiError::invalid("input_reference", "Send one input reference."));
    }
    if let Some(id) = file_id {
        let unknown = || OpenAiError::invalid("input_reference", format!("There is no upload {id:?} of yours."));
        let parsed: AssetId = id.parse().map_err(|_| unknown())?;
        return match uploads::get(state, &caller.user, parsed).await {
            Ok(asset) => Ok(Some(asset.id)),
            Err(ServiceError::NotFound(_)) => Err(unknown()),
            Err(e) => Err(e.into()),
        };
    }
    let bytes = match (files.pop(), image_url) {
        (Some(bytes), _) => bytes,
        (None, Some(url)) => data_url(&url)?,
        (None, None) => return Ok(None),
    };
    Ok(Some(upload(state, caller, bytes, "input_reference").await?.id))
}

/// The bytes of a base64 `data:` URL.
fn data_url(url: &str) -> Result<Vec<u8>, OpenAiError> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(OpenAiError::invalid(
            "input_reference",
            "Links are not fetched: send the image as a file part, a base64 data: URL, or the file_id of an upload.",
        ));
    };
    let (meta, data) = rest.split_once(',').unwrap_or(("", ""));
    if !meta.ends_with(";base64") {
        return Err(OpenAiError::invalid("input_reference", "The data: URL must be base64 (data:image/png;base64,…)."));
    }
    STANDARD.decode(data.trim()).map_err(|_| OpenAiError::invalid("input_reference", "The data: URL is not valid base64."))
}

/// The form of `/v1/videos`: fields and one `input_reference` file.
const FORM: Expected = Expected { fields: Fields::Any, files: &["input_reference"], max_files: 1 };

/// `POST /v1/videos` (multipart, as OpenAI's SDK sends it, or JSON).
pub async fn create(req: HttpRequest, caller: TokenCaller, payload: web::Payload) -> OpenAiResult {
    let state = state(&req)?;
    let caller = caller.0;
    let mut body = Body::read(&req, payload, &state, FORM).await?;
    let spec = model_for(&state, &caller, &body, MediaKind::Video).await?;
    // refuse bad fields and a token at its limit before a reference image is stored
    body.text("prompt").ok_or_else(|| OpenAiError::missing("prompt"))?;
    params::translate(&spec, Endpoint::Videos, &body.fields)?;
    let slot = caller.job_slot(&state).await?;
    let references = match input_reference(&state, &caller, &spec, &mut body).await? {
        Some(upload) => vec![(reference_role(&spec)?, upload)],
        None => Vec::new(),
    };
    let g = submit(&state, &caller, slot, (&spec, Endpoint::Videos, false), &body, references).await?;
    video_response(&state, &caller.user, &g).await
}

/// `GET /v1/videos/{id}`.
pub async fn retrieve(req: HttpRequest, caller: TokenCaller, id: web::Path<GenerationId>) -> OpenAiResult {
    let state = state(&req)?;
    let g = own_video(&state, &caller.0, id.into_inner()).await?;
    crate::services::studio::generations::freshen(&state, &g);
    video_response(&state, &caller.0.user, &g).await
}

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<String>,
    limit: Option<String>,
    order: Option<String>,
}

/// `GET /v1/videos?after=&limit=&order=`: the caller's video generations, newest first
/// (`order=asc`: oldest first), `limit` 1–100 (20), `after` the last id of the previous page.
pub async fn list(req: HttpRequest, caller: TokenCaller, query: web::Query<ListQuery>) -> OpenAiResult {
    let state = state(&req)?;
    let caller = caller.0;
    let query = query.into_inner();
    let limit = match query.limit.as_deref() {
        None | Some("") => 20,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| OpenAiError::invalid("limit", "limit must be a whole number from 1 to 100."))?,
    };
    let ascending = match query.order.as_deref() {
        None | Some("") | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(OpenAiError::invalid("order", "order must be asc or desc.")),
    };
    let unknown_after = || OpenAiError::invalid("after", "after must be the id of one of your videos.");
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<GenerationId>().map_err(|_| unknown_after())?),
    };
    let (page, has_more) = match generations::page(&state, &caller.user, MediaKind::Video, after, ascending, limit).await {
        Ok(found) => found,
        Err(ServiceError::NotFound(_)) => return Err(unknown_after()),
        Err(e) => return Err(e.into()),
    };
    let mut data = Vec::with_capacity(page.len());
    for g in &page {
        data.push(video(&state, &caller.user, g, pixels(&state, g).await?));
    }
    Ok(HttpResponse::Ok().json(json!({
        "object": "list",
        "data": data,
        "first_id": page.first().map(|g| g.id.to_string()),
        "last_id": page.last().map(|g| g.id.to_string()),
        "has_more": has_more,
    })))
}

/// `DELETE /v1/videos/{id}`: deletes the video and its files for good. A video still being
/// made is cancelled first (its credits are released), since OpenAI's API has no cancel.
/// One on legal hold is refused (409, code `generation.legal_hold`) and left as it is.
pub async fn delete(req: HttpRequest, caller: TokenCaller, id: web::Path<GenerationId>) -> OpenAiResult {
    let state = state(&req)?;
    let caller = caller.0;
    let g = own_video(&state, &caller, id.into_inner()).await?;
    // a held video is neither cancelled nor deleted
    deletion::refuse_if_held(&g, &caller.user)?;
    if !g.state.is_terminal() {
        match generations::cancel(&state, &caller.user, g.id).await {
            Ok(_) | Err(ServiceError::Conflict(_) | ServiceError::AlreadyFinished) => {}
            Err(e) => return Err(e.into()),
        }
        let now = generations::wait_until_finished(&state, &caller.user, g.id, CANCEL_WAIT).await?;
        if !now.state.is_terminal() {
            return Err(OpenAiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                format!("Video {} is still being cancelled; try again in a moment.", g.id),
            ));
        }
    }
    deletion::delete(&state, &caller.ctx(), &caller.user, g.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": g.id.to_string(), "object": "video.deleted", "deleted": true })))
}

#[derive(Deserialize)]
pub struct ContentQuery {
    variant: Option<String>,
}

/// `GET /v1/videos/{id}/content?variant=video|thumbnail`: the MP4 (or its poster: the
/// provider's thumbnail or an ffmpeg frame, see `engine::posters`),
/// streamed like `/media` (Range requests, ETag) and audited as a download.
pub async fn content(req: HttpRequest, caller: TokenCaller, id: web::Path<GenerationId>, query: web::Query<ContentQuery>) -> OpenAiResult {
    let state = state(&req)?;
    let g = own_video(&state, &caller.0, id.into_inner()).await?;
    if g.state != GenState::Succeeded {
        return Err(OpenAiError::invalid(
            "video_id",
            format!("Video {} is {}; its content is there once it is completed.", g.id, status(g.state)),
        )
        .code("video_not_ready"));
    }
    let outputs = media::assets(&state, g.outputs.clone()).await?;
    let video = outputs.iter().find(|a| a.is_video()).ok_or_else(|| OpenAiError::not_found("Content of video", &g.id.to_string()))?;
    let asset = match query.variant.as_deref() {
        None | Some("") | Some("video") => video.clone(),
        Some("thumbnail") => {
            let poster = video.poster.ok_or_else(|| OpenAiError::not_found("Thumbnail of video", &g.id.to_string()))?;
            media::assets(&state, vec![poster])
                .await?
                .pop()
                .ok_or_else(|| OpenAiError::not_found("Thumbnail of video", &g.id.to_string()))?
        }
        Some("spritesheet") => return Err(OpenAiError::invalid("variant", "Spritesheets are not made here; ask for video or thumbnail.")),
        Some(other) => {
            return Err(OpenAiError::invalid("variant", format!("variant must be video, thumbnail or spritesheet; got {other:?}.")));
        }
    };
    let identity = match media::identity_of(&state, &asset).await {
        Ok(identity) => identity,
        Err(e) => return Ok(crate::http::media::refuse(&req, e)),
    };
    let fetch = crate::http::media::Fetch { download: true, recorded: true };
    Ok(crate::http::media::stream(&req, &state, &asset, identity, fetch).await)
}
