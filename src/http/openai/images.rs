//! `/v1/images/generations` and `/v1/images/edits`: OpenAI's synchronous image calls. Each
//! is an ordinary generation that the request waits for (up to the model's deadline), then
//! answers with the stored outputs as base64 (the default) or signed links.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::errors::{OpenAiError, OpenAiResult};
use super::params::{self, Endpoint};
use super::{Body, TokenCaller, model_for, submit, unix, upload};
use crate::domain::catalog::{MediaKind, ReferenceRole};
use crate::domain::generation::{GenState, Generation};
use crate::domain::time::Timestamp;
use crate::http::auth::{ApiCaller, state};
use crate::http::deprecation;
use crate::http::multipart::{Expected, Fields};
use crate::services::state::AppState;
use crate::services::{studio::generations, studio::media};

/// How long past a generation's deadline a request still waits (the watchdog ends it then).
const GRACE: Duration = Duration::from_secs(30);

/// How images come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Signed links to `/media/…`, valid for an hour.
    Url,
    /// The bytes inline, base64: what OpenAI's GPT Image models always answer.
    B64Json,
}

fn format(body: &Body) -> Result<Format, OpenAiError> {
    match body.text("response_format").as_deref() {
        None | Some("b64_json") => Ok(Format::B64Json),
        Some("url") => Ok(Format::Url),
        Some(other) => Err(OpenAiError::invalid("response_format", format!("response_format must be url or b64_json; got {other:?}."))),
    }
}

/// The form of `/v1/images/generations`: fields only (images go to `/v1/images/edits`).
const GENERATIONS_FORM: Expected = Expected { fields: Fields::Any, files: &[], max_files: 0 };
/// The form of `/v1/images/edits`: one `image` (or `image[]`, as OpenAI's SDK names a list);
/// a `mask` is refused as its part begins.
const EDITS_FORM: Expected = Expected { fields: Fields::Any, files: &["image", "image[]"], max_files: 1 };

/// `POST /v1/images/generations` (JSON).
pub async fn generate(req: HttpRequest, caller: TokenCaller, payload: web::Payload) -> OpenAiResult {
    let state = state(&req)?;
    let caller = caller.0;
    let body = Body::read(&req, payload, &state, GENERATIONS_FORM).await?;
    let format = format(&body)?;
    let spec = model_for(&state, &caller, &body, MediaKind::Image).await?;
    let slot = caller.job_slot(&state).await?;
    let g = submit(&state, &caller, slot, (&spec, Endpoint::ImageGenerations, format == Format::B64Json), &body, Vec::new()).await?;
    respond(&state, &caller, g, format).await
}

/// `POST /v1/images/edits` (multipart): the `image` becomes the model's reference image (or
/// its first frame, when that is what it takes).
pub async fn edit(req: HttpRequest, caller: TokenCaller, payload: web::Payload) -> OpenAiResult {
    let state = state(&req)?;
    let caller = caller.0;
    let mut body = Body::read(&req, payload, &state, EDITS_FORM).await?;
    let format = format(&body)?;
    let spec = model_for(&state, &caller, &body, MediaKind::Image).await?;
    let mut images = body.take_files("image");
    if body.fields.contains_key("mask") {
        return Err(OpenAiError::invalid("mask", format!("{} does not take a mask; send the image alone.", spec.id)));
    }
    let Some(role) = [ReferenceRole::Reference, ReferenceRole::FirstFrame].into_iter().find(|r| spec.takes(*r)) else {
        return Err(OpenAiError::invalid("image", format!("{} does not take an input image.", spec.id)));
    };
    // the form holds one file at most
    let Some(image) = images.pop() else { return Err(OpenAiError::missing("image")) };
    // refuse bad fields before the image is stored
    body.text("prompt").ok_or_else(|| OpenAiError::missing("prompt"))?;
    params::translate(&spec, Endpoint::ImageEdits, &body.fields)?;
    let slot = caller.job_slot(&state).await?;
    let asset = upload(&state, &caller, image, "image").await?;
    let references = vec![(role, asset.id)];
    let g = submit(&state, &caller, slot, (&spec, Endpoint::ImageEdits, format == Format::B64Json), &body, references).await?;
    respond(&state, &caller, g, format).await
}

/// Waits for the generation to end and answers OpenAI's `ImagesResponse`, or the reason it
/// failed in OpenAI's error shape.
async fn respond(state: &AppState, caller: &ApiCaller, g: Generation, format: Format) -> OpenAiResult {
    if g.state == GenState::AwaitingApproval {
        return Err(OpenAiError::awaiting_approval(&g));
    }
    let left = u64::try_from(g.deadline_at.millis() - Timestamp::now().millis()).unwrap_or(0);
    let generations::Finished { generation: g, mut fresh, handed_over } =
        generations::wait_awaited(state, &caller.user, g.id, Duration::from_millis(left) + GRACE).await?;
    match g.state {
        GenState::Succeeded => {}
        GenState::Failed | GenState::Cancelled => return Err(OpenAiError::of_failed(&g)),
        _ => {
            return Err(OpenAiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "server_error",
                format!("Generation {} is still running past its deadline; it will appear in the library when it ends.", g.id),
            )
            .code("timeout"));
        }
    }
    let outputs = media::assets(state, g.outputs.clone()).await?;
    let mut data = Vec::with_capacity(outputs.len());
    for asset in &outputs {
        data.push(match format {
            Format::Url => json!({ "url": state.urls().absolute(&media::signed_path(state, asset)) }),
            Format::B64Json => {
                // handing the bytes over is a download like any other; the job's own copy of
                // them saves reading the file back
                let read = async {
                    match fresh.remove(&asset.id) {
                        Some(bytes) => Ok(bytes),
                        None => media::read_all(state, asset).await.map(bytes::Bytes::from),
                    }
                };
                let record = async {
                    if handed_over {
                        return Ok(()); // written with the success already
                    }
                    media::record_download(state, asset, caller.client.clone(), true).await
                };
                let (bytes, recorded) = tokio::join!(read, record);
                recorded?;
                json!({ "b64_json": STANDARD.encode(bytes?) })
            }
        });
    }
    let first = outputs.first();
    let output_format = first.map(|a| if a.extension() == "jpg" { "jpeg" } else { a.extension() });
    let size = first.and_then(|a| Some(format!("{}x{}", a.width?, a.height?)));
    let quality = g.params.get("quality").map(|q| Value::from(q.to_string()));
    let response = HttpResponse::Ok().json(json!({
        "created": unix(g.created_at),
        "data": data,
        "output_format": output_format,
        "size": size,
        "quality": quality,
    }));
    Ok(deprecation::mark(state, &g.model, response))
}
