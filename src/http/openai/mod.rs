//! `/v1`: the OpenAI-compatible API (Images and Videos), a thin translation onto the ordinary
//! generation services, so an OpenAI SDK script uses any catalog model under the token
//! owner's credits and every result lands in the library. Bearer API tokens only; errors
//! in OpenAI's shape. It holds no state and no rules of its own beyond the translation.

pub mod errors;
pub mod images;
pub mod params;
pub mod videos;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde_json::Value;

use self::errors::OpenAiError;
use self::params::{Endpoint, text};
use super::auth::{ApiCaller, LocalFuture, bearer_caller, state};
use super::multipart::{self, Expected, FilePart};
use crate::domain::asset::Asset;
use crate::domain::catalog::{MediaKind, ModelSpec, ReferenceRole};
use crate::domain::generation::Generation;
use crate::domain::ids::AssetId;
use crate::services::limits::rate_limits::JobSlot;
use crate::services::state::AppState;
use crate::services::studio::generations::NewGeneration;
use crate::services::{studio::models, studio::uploads};

/// Registers the routes under the `/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/images/generations").post(images::generate));
    cfg.service(super::resource("/images/edits").post(images::edit));
    cfg.service(super::resource("/videos").get(videos::list).post(videos::create));
    cfg.service(super::resource("/videos/{id}").get(videos::retrieve).delete(videos::delete));
    cfg.service(super::resource("/videos/{id}/content").get(videos::content));
}

/// A caller proven by an `Authorization: Bearer` API token; a session cookie is not enough.
pub struct TokenCaller(pub ApiCaller);

impl FromRequest for TokenCaller {
    type Error = OpenAiError;
    type Future = LocalFuture<Result<Self, OpenAiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            match bearer_caller(&req, &state).await? {
                Some(caller) => Ok(TokenCaller(caller)),
                None => Err(OpenAiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    "You didn't provide an API key. Send a reelvault API token as `Authorization: Bearer rv_…` \
                     (a browser session is not accepted on /v1).",
                )
                .code("missing_api_key")),
            }
        })
    }
}

/// A request body, JSON or multipart, as fields (multipart values are strings) and files.
#[derive(Default)]
pub struct Body {
    pub fields: BTreeMap<String, Value>,
    pub files: Vec<FilePart>,
}

impl Body {
    /// Reads a JSON object, an `application/x-www-form-urlencoded` form (text fields), or a
    /// `multipart/form-data` form of the `expected` parts (at most one file, held to the upload
    /// limit).
    pub async fn read(req: &HttpRequest, payload: web::Payload, state: &AppState, expected: Expected) -> Result<Body, OpenAiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let parts = multipart::read(Multipart::new(req.headers(), payload), expected, state.config.limits.upload_max).await?;
            let fields = parts.fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            return Ok(Body { fields, files: parts.files });
        }
        let form = content_type.starts_with("application/x-www-form-urlencoded");
        if !form && !content_type.starts_with("application/json") {
            return Err(OpenAiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request_error",
                "Send the request as application/json, multipart/form-data or application/x-www-form-urlencoded.",
            ));
        }
        // room for an image as a base64 data URL
        let limit = usize::try_from(state.config.limits.upload_max).unwrap_or(usize::MAX).saturating_mul(4) / 3 + super::JSON_LIMIT;
        let mut bytes = Vec::new();
        let mut payload = payload;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| OpenAiError::invalid("body", format!("The body could not be read: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(OpenAiError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", "The request body is too large."));
            }
            bytes.extend_from_slice(&chunk);
        }
        if form {
            // a simple client's form: every field is text (a repeated name keeps its last value)
            let fields = url::form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
            return Ok(Body { fields, files: Vec::new() });
        }
        let fields: BTreeMap<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
            OpenAiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", format!("The body is not a JSON object: {e}"))
                .code("invalid_json")
        })?;
        Ok(Body { fields, files: Vec::new() })
    }

    /// A text field, trimmed; `None` when absent, null or empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.fields.get(name).and_then(text).filter(|t| !t.is_empty())
    }

    /// The files sent under `name`, `name[]` or `name[0]`, … in order.
    pub fn take_files(&mut self, name: &str) -> Vec<Vec<u8>> {
        let (taken, kept) = std::mem::take(&mut self.files).into_iter().partition(|f: &FilePart| {
            f.field == name || f.field.strip_prefix(name).is_some_and(|rest| rest.starts_with('[') && rest.ends_with(']'))
        });
        self.files = kept;
        taken.into_iter().map(|f| f.bytes).collect()
    }
}

/// The catalog model a request names, checked to make `kind` and to be usable by the caller
/// (an unknown model is 404 `model_not_found`; one the caller may not use, 403).
pub async fn model_for(state: &AppState, caller: &ApiCaller, body: &Body, kind: MediaKind) -> Result<Arc<ModelSpec>, OpenAiError> {
    let name = body.text("model").ok_or_else(|| OpenAiError::missing("model"))?;
    let offer = models::offer(state, &caller.user, &name).await?;
    if offer.spec.kind != kind {
        let endpoint = match offer.spec.kind {
            MediaKind::Image => "/v1/images/generations",
            MediaKind::Video => "/v1/videos",
        };
        return Err(OpenAiError::invalid(
            "model",
            format!("{} makes {}s, not {}s; use {endpoint}.", offer.spec.id, offer.spec.kind.as_str(), kind.as_str()),
        ));
    }
    offer.check()?;
    Ok(offer.spec)
}

/// Submits a translated request as an ordinary generation (audited, charged to the token's
/// owner, in their library) through the token's `slot` ([`ApiCaller::job_slot`], taken before
/// any upload is stored). `references` are (role, upload) pairs. With `inline`, the answer
/// carries the outputs' bytes, and handing them over is audited with the job's success.
pub async fn submit(
    state: &AppState,
    caller: &ApiCaller,
    slot: JobSlot,
    (spec, endpoint, inline): (&ModelSpec, Endpoint, bool),
    body: &Body,
    references: Vec<(ReferenceRole, AssetId)>,
) -> Result<Generation, OpenAiError> {
    let prompt = body.text("prompt").ok_or_else(|| OpenAiError::missing("prompt"))?;
    let params = params::translate(spec, endpoint, &body.fields)?;
    let request = NewGeneration {
        model: spec.id.to_string(),
        prompt,
        negative_prompt: body.text("negative_prompt"),
        params,
        references,
        source: None,
        board: None,
        tags: Default::default(),
        id: None,
        // the image calls answer with the finished images; a video is answered at once
        awaited: endpoint != Endpoint::Videos,
        hands_over_outputs: inline && endpoint != Endpoint::Videos,
    };
    Ok(slot.submit(state, &caller.ctx(), &caller.user, request).await?)
}

/// Cleans and stores a reference image of the caller's; `param` names the field it came in.
pub async fn upload(state: &AppState, caller: &ApiCaller, bytes: Vec<u8>, param: &str) -> Result<Asset, OpenAiError> {
    uploads::upload(state, &caller.user, bytes).await.map_err(|e| {
        let mut e = OpenAiError::from(e);
        e.param = Some(param.to_string());
        e
    })
}

/// Seconds since the epoch, as OpenAI's timestamps are.
pub fn unix(t: crate::domain::time::Timestamp) -> i64 {
    t.millis().div_euclid(1000)
}
