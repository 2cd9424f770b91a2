//! Stability AI v2beta Stable Image (`POST /v2beta/stable-image/generate/{ultra,core,sd3}`):
//! synchronous and always `multipart/form-data` (a reference image is an `image` file part,
//! with `strength`). Sent with `Accept: application/json`, the answer is
//! `{image: <base64>, finish_reason, seed}`; the image is held in memory ([`InlineOutputs`])
//! until custody. `finish_reason: CONTENT_FILTERED` and a 403 moderation error are content
//! policy, 402 is the account out of credit. See PROVIDERS.md §10.

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::http::{OutboundError, read_capped};
use super::inline::{InlineOutputs, decode_base64};
use super::kit::{
    Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable, extension_of, image_type_of_format, int_param, key_works, text_param,
};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `v2beta/` or `v1/` in each path.
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api.stability.ai", &["v1", "v2beta"]);

/// The largest answer accepted (base64 of a 50 MiB image, and headroom).
const ANSWER_CAP: u64 = 72 * 1024 * 1024;

/// The largest seed the API takes.
const MAX_SEED: i64 = 4_294_967_294;

/// The adapter for one connection.
pub struct Stability {
    api: Api,
    inline: InlineOutputs,
}

/// The JSON answer of a generate call (tolerant: unknown fields ignored).
#[derive(Debug, Deserialize)]
struct Generated {
    image: Option<String>,
    finish_reason: Option<String>,
    seed: Option<serde_json::Value>,
}

/// `{id, name, errors: [..]}`; some answers carry `message` instead.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    name: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Balance {
    credits: Option<f64>,
}

/// The endpoint under `v2beta/stable-image/generate/` and, for SD3, the `model` field.
fn endpoint(upstream_model: &str) -> (&'static str, Option<&str>) {
    match upstream_model {
        "stable-image-ultra" | "ultra" => ("ultra", None),
        "stable-image-core" | "core" => ("core", None),
        sd3 => ("sd3", Some(sd3)),
    }
}

/// A job's outcome from `finish_reason` (`SUCCESS`, `CONTENT_FILTERED`, `ERROR`).
fn finished(reason: Option<&str>) -> Result<(), ProviderError> {
    match reason.map(str::to_ascii_uppercase).as_deref() {
        None | Some("SUCCESS") | Some("") => Ok(()),
        Some("CONTENT_FILTERED") => Err(ProviderError::ContentPolicy("the image was filtered by Stability's content moderation".into())),
        Some("ERROR") => Err(ProviderError::Transient("the provider reported an error while generating".into())),
        Some(other) => {
            // an image came with it: keep it, and say once that the value is new
            tracing::warn!(finish_reason = other, "unknown finish_reason from Stability; the image is kept");
            Ok(())
        }
    }
}

/// Stability's error table: `name`, the messages, then the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"name", "errors": [..]}` or `{"message"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let parsed = serde_json::from_slice::<ErrorBody>(answer.body).ok();
    let code = parsed.as_ref().and_then(|e| e.name.clone()).unwrap_or_default();
    let message = parsed.map(|e| if e.errors.is_empty() { e.message.unwrap_or_default() } else { e.errors.join("; ") });
    ErrorReport { code, message, wait: None }
}

impl Stability {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?, inline: InlineOutputs::default() })
    }

    fn form(job: &ProviderJob) -> Result<Form, ProviderError> {
        let (_, sd3_model) = endpoint(&job.upstream_model);
        let reference = job.references.first();
        let mut form = Form::new().text("prompt", job.prompt.clone());
        if let Some(model) = sd3_model {
            form = form.text("model", model.to_string());
            form = form.text("mode", if reference.is_some() { "image-to-image" } else { "text-to-image" });
        }
        if let Some(negative) = job.negative_prompt.as_deref().filter(|n| !n.trim().is_empty()) {
            form = form.text("negative_prompt", negative.to_string());
        }
        if reference.is_none()
            && let Some(ratio) = text_param(&job.params, "aspect_ratio")
        {
            // image-to-image takes the reference's shape
            form = form.text("aspect_ratio", ratio.to_string());
        }
        if let Some(seed) = int_param(&job.params, "seed") {
            form = form.text("seed", seed.clamp(0, MAX_SEED).to_string());
        }
        if let Some(format) = text_param(&job.params, "output_format") {
            form = form.text("output_format", format.to_string());
        }
        if let Some(style) = text_param(&job.params, "style_preset").filter(|s| *s != "none") {
            form = form.text("style_preset", style.to_string());
        }
        if let Some(image) = reference {
            let strength = int_param(&job.params, "strength").unwrap_or(50).clamp(0, 100) as f64 / 100.0;
            let part = Part::bytes(image.bytes.to_vec())
                .file_name(format!("reference.{}", extension_of(&image.content_type)))
                .mime_str(&image.content_type)
                .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
            form = form.part("image", part).text("strength", format!("{strength:.2}"));
        }
        Ok(form)
    }

    /// Reads a successful answer. The image was made (and billed) once it arrived, so a failure
    /// from here on ends the job instead of being retried as a new submit.
    async fn outcome(&self, job: &str, response: reqwest::Response, format: &str) -> (UpstreamStatus, Option<String>) {
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let header_reason = response.headers().get("finish-reason").and_then(|v| v.to_str().ok()).map(str::to_string);
        let header_seed = response.headers().get("seed").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = match read_capped(response, ANSWER_CAP).await {
            Ok(body) => body,
            Err(e) => return (UpstreamStatus::Failed(wire::outbound(e)), None),
        };
        // asked for JSON; an `image/*` answer (the other documented form) is taken as it is
        let (bytes, reason, seed, image_type) = if content_type.starts_with("image/") {
            let kind = content_type.split(';').next().unwrap_or("image/png").trim().to_string();
            (Ok(body), header_reason, header_seed, kind)
        } else {
            let answer: Generated = match wire::parse_json(&body) {
                Ok(answer) => answer,
                Err(e) => return (UpstreamStatus::Failed(e), None),
            };
            let seed = answer.seed.map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()));
            let bytes = match answer.image.as_deref().filter(|i| !i.is_empty()) {
                Some(b64) => decode_base64(b64),
                None => Err(ProviderError::Transient("the provider answered without an image".into())),
            };
            (bytes, answer.finish_reason, seed, image_type_of_format(format).to_string())
        };
        if let Err(e) = finished(reason.as_deref()) {
            return (UpstreamStatus::Failed(e), seed);
        }
        match bytes {
            Ok(bytes) if !bytes.is_empty() => {
                (UpstreamStatus::Succeeded { outputs: vec![self.inline.hold(job, 0, &image_type, bytes)] }, seed)
            }
            Ok(_) => (UpstreamStatus::Failed(ProviderError::Transient("the provider answered without an image".into())), seed),
            Err(e) => (UpstreamStatus::Failed(e), seed),
        }
    }
}

#[async_trait]
impl Provider for Stability {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (path, _) = endpoint(&job.upstream_model);
        let url = self.api.url(&format!("v2beta/stable-image/generate/{path}"))?;
        let form = Self::form(job)?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.header("accept", "application/json").multipart(form))).await?;
        let id = job.generation.to_string();
        let format = text_param(&job.params, "output_format").unwrap_or("png");
        let (status, seed) = self.outcome(&id, response, format).await;
        let mut handle = UpstreamHandle { id, data: Default::default() };
        if let Some(seed) = seed {
            handle.data.insert("seed".into(), seed);
        }
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, _handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        // generate answers at once; there is no job to look up afterwards
        Err(ProviderError::NotFound("Stability's generate endpoints answer at once and keep no job to poll".into()))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        self.inline.take(output, cap)
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        self.inline.cancel(handle)
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        self.inline.delete(handle)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let balance: Balance = self.api.get_json("v1/user/balance").await?;
        Ok(key_works(balance.credits, "Stability"))
    }
}

#[cfg(test)]
mod tests;
