//! Ideogram API v2 (`https://api.ideogram.ai`, key in the `Api-Key` header, not Bearer): one
//! endpoint per model, `POST /v2/image/generate/{model}`, always `multipart/form-data`
//! (`prompt`, `num_images`, `seed`, `aspect_ratio`, `rendering_speed`; reference images for a
//! prompt edit or remix as `images` file parts). Synchronous by default: the answer lists
//! `data[]` with a 24-hour `url` and `is_image_safe` per image. An answer with only a
//! `generation_id` is polled at `GET /v2/generations/{id}` (`pending | completed | failed`;
//! 429 with `Retry-After` when polled too often). Outputs are fetched without the key.
//! Not used: `webhook_url` (signed with Ed25519, header names UNCONFIRMED; Ideogram refuses
//! private hosts anyway), upscale (no v2 path in the sources). The v2 error body is
//! UNCONFIRMED: it is read tolerantly. See PROVIDERS-2026.md §6.

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use serde_json::Value;

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable, StatusWords, outputs_or_missing};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, usage, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::ReferenceRole;
use crate::domain::generation::{OutputRef, ProviderUsage, UpstreamHandle};

/// The base URL convention: each path starts with its version (`v2/…`; `v1/…` is legacy).
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api.ideogram.ai", &["v1", "v2"]);

/// The model whose documented `dry_run` tests a key (it validates and prices, runs nothing).
const KEY_TEST_MODEL: &str = "ideogram-4-6";

/// The most images one request makes.
const MAX_IMAGES: usize = 8;

/// Catalog parameters sent as form fields under the same name. The speed setting's wire name
/// (`rendering_speed`, as in Ideogram's v1 V3 routes) is UNCONFIRMED for v2.
const FORM_PARAMS: &[&str] = &["aspect_ratio", "rendering_speed"];

/// The adapter for one connection.
pub struct Ideogram {
    api: Api,
}

/// The error table: the v2 body is UNCONFIRMED, so codes decide nothing and the classes come
/// from the message's words and the status (422 without policy words is invalid input).
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"error": {"code", "message"}}`, `{"error": "<message>"}`, `{"message"}` or
/// FastAPI's `{"detail": "<message>"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let body: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let (code, message) = match body.get("error") {
        Some(error @ Value::Object(_)) => (text(error.get("code")), text(error.get("message"))),
        Some(Value::String(message)) => (text(body.get("code")), Some(message.clone())),
        _ => (text(body.get("code")), text(body.get("message")).or_else(|| text(body.get("detail")))),
    };
    ErrorReport { code: code.unwrap_or_default(), message, wait: None }
}

/// The generation states of `GET /v2/generations/{id}`.
static WORDS: StatusWords =
    StatusWords { provider: "ideogram", pending: &["pending", "queued", "processing"], succeeded: &["completed"], failed: &["failed"] };

/// A generation, as the generate call or a poll answers it (tolerant: every field optional).
#[derive(Debug, Default, Deserialize)]
struct Generation {
    generation_id: Option<String>,
    status: Option<String>,
    failure_reason: Option<String>,
    #[serde(default)]
    data: Vec<Image>,
    usage_cost_usd_micros: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Image {
    url: Option<String>,
    /// `false` when Ideogram's safety check withheld the image.
    is_image_safe: Option<bool>,
}

/// US-dollar micros per US cent.
const MICROS_PER_CENT: f64 = 10_000.0;

impl Generation {
    /// What the generation cost, when the answer says.
    fn usage(&self) -> Option<ProviderUsage> {
        usage::cost(usage::number(self.usage_cost_usd_micros.as_ref()).map(|m| m / MICROS_PER_CENT), None, "usd")
    }

    /// The finished generation's outputs: the safe images with a URL. When safety withheld
    /// every image, a content-policy failure.
    fn finished(&self) -> UpstreamStatus {
        let safe: Vec<OutputRef> = self
            .data
            .iter()
            .filter(|i| i.is_image_safe != Some(false))
            .filter_map(|i| i.url.clone().filter(|u| !u.is_empty()))
            .map(|url| {
                let content_type = kit::image_type_of_url(&url).to_string();
                OutputRef::new(url, Some(content_type))
            })
            .collect();
        if safe.is_empty() && self.data.iter().any(|i| i.is_image_safe == Some(false)) {
            return UpstreamStatus::Failed(ProviderError::ContentPolicy("Ideogram's safety check withheld the image".into()));
        }
        outputs_or_missing(safe, "Ideogram answered without an image").with_usage(self.usage())
    }

    /// A polled generation's status.
    fn status(&self) -> UpstreamStatus {
        let failure = || {
            let reason = self.failure_reason.clone().unwrap_or_else(|| "Ideogram reported the generation as failed".into());
            wire::job_failure("", reason)
        };
        WORDS.status(self.status.as_deref().unwrap_or("pending"), || self.finished(), failure)
    }
}

impl Ideogram {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        // `Api-Key` on the wire (header names are case-insensitive; the client sends them lower case)
        Ok(Self { api: Api::new(config, BASE, Auth::Header("api-key"), &ERRORS)? })
    }

    /// The multipart body of a generation: the fields, and one `images` part per reference
    /// (a prompt edit or remix of those images).
    fn form(job: &ProviderJob) -> Result<Form, ProviderError> {
        let count = job.output_count.clamp(1, MAX_IMAGES);
        let mut form = Form::new().text("prompt", job.prompt.clone()).text("num_images", count.to_string());
        if let Some(seed) = kit::int_param(&job.params, "seed") {
            form = form.text("seed", seed.to_string());
        }
        for name in FORM_PARAMS {
            if let Some(value) = kit::text_param(&job.params, name) {
                form = form.text(*name, value.to_string());
            }
        }
        for (n, image) in job.references.iter().filter(|r| r.role == ReferenceRole::Reference).enumerate() {
            let part = Part::bytes(image.bytes.to_vec())
                .file_name(format!("image-{n}.{}", kit::extension_of(&image.content_type)))
                .mime_str(&image.content_type)
                .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
            form = form.part("images", part);
        }
        Ok(form)
    }
}

#[async_trait]
impl Provider for Ideogram {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        // job.callback_url is not sent: a webhook makes the request async and its signature
        // headers are UNCONFIRMED; polling covers an async answer
        let url = self.api.url(&format!("v2/image/generate/{}", job.upstream_model))?;
        let form = Self::form(job)?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.multipart(form))).await?;
        let generation: Generation = wire::read_json(response).await?;
        let id = generation.generation_id.clone().filter(|id| !id.is_empty());
        let status = match (&id, generation.data.is_empty()) {
            // only a generation id: Ideogram runs it in the background
            (Some(_), true) => UpstreamStatus::Pending { progress: None, poll_after: None },
            _ => generation.finished(),
        };
        let handle = UpstreamHandle { id: id.unwrap_or_else(|| job.generation.to_string()), data: Default::default() };
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let generation: Generation = self.api.get_json(&format!("v2/generations/{}", handle.id)).await?;
        Ok(generation.status())
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let gone = |status| format!("Ideogram's image link answered HTTP {status} (links expire after 24 hours)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    // no cancel or delete in the API; result links expire after 24 hours

    async fn test_connection(&self) -> Result<String, ProviderError> {
        // `dry_run` validates and prices a request without running it: nothing is spent
        let mut url = self.api.url(&format!("v2/image/generate/{KEY_TEST_MODEL}"))?;
        url.query_pairs_mut().append_pair("dry_run", "true");
        let form = Form::new().text("prompt", "key test").text("num_images", "1");
        self.api.send(self.api.client().post(&url).map(|r| r.multipart(form))).await?;
        Ok(kit::key_works(None, "Ideogram"))
    }
}

#[cfg(test)]
mod tests;
