//! Recraft (`https://external.api.recraft.ai/v1`, Bearer key): JSON
//! `POST /images/generations` with `prompt`, `model` (always sent: without it Recraft picks
//! V4.1), `n` and the catalog's `size` / `style`. Synchronous: the answer is
//! `{created, credits, data: [{image_id, url}]}`, the URLs live about 24 hours and are fetched
//! without the key. Vector models (`*_vector`) answer SVG documents, which custody stores as
//! `image/svg+xml` and the app only ever serves as attachments. Image-to-image, inpainting,
//! background, vectorize and upscale exist but their paths are UNCONFIRMED in the sources:
//! left out. No cancel or delete. See PROVIDERS-2026.md §6.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable, outputs_or_missing};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, usage};
use crate::config::ConnectionConfig;
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://external.api.recraft.ai/v1");

/// Catalog parameters sent under the same name (values checked by the catalog).
const PARAMS: &[&str] = &["size", "style"];

/// The most images one request makes (UNCONFIRMED: Recraft's documented `n` range is 1–6).
const MAX_IMAGES: usize = 6;

/// The type a vector model's outputs are stored as.
const SVG: &str = "image/svg+xml";

/// The adapter for one connection.
pub struct Recraft {
    api: Api,
}

/// The error table: Recraft keeps a JSON error body with a non-2xx status; its fields are
/// UNCONFIRMED, so codes decide nothing and classes come from the words and the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"code", "message"}`, `{"error": {"code", "message"}}` or `{"detail": "<message>"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let body: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let error = body.get("error").filter(|e| e.is_object()).unwrap_or(&body);
    let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_string);
    ErrorReport { code: text("code").unwrap_or_default(), message: text("message").or_else(|| text("detail")), wait: None }
}

/// The answer to a generation (tolerant: unknown fields ignored).
#[derive(Debug, Deserialize)]
struct Generated {
    #[serde(default)]
    data: Vec<Image>,
    /// Recraft credits the request spent.
    credits: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Image {
    url: Option<String>,
}

/// Whether `upstream_model` makes vector images (SVG).
fn is_vector(upstream_model: &str) -> bool {
    upstream_model.ends_with("_vector")
}

/// The type an output is expected to be (custody decides from its bytes).
fn output_type(upstream_model: &str, url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    if is_vector(upstream_model) || path.to_ascii_lowercase().ends_with(".svg") { SVG } else { kit::image_type_of_url(url) }
}

impl Recraft {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)? })
    }

    fn body(job: &ProviderJob) -> Value {
        let mut body = json!({"prompt": job.prompt, "model": job.upstream_model, "n": job.output_count.clamp(1, MAX_IMAGES)});
        for name in PARAMS {
            if let Some(value) = kit::text_param(&job.params, name) {
                body[*name] = json!(value);
            }
        }
        body
    }
}

#[async_trait]
impl Provider for Recraft {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let generated: Generated = self.api.post_json("images/generations", &Self::body(job)).await?;
        let outputs = generated
            .data
            .iter()
            .filter_map(|i| i.url.clone().filter(|u| !u.is_empty()))
            .map(|url| {
                let content_type = output_type(&job.upstream_model, &url).to_string();
                OutputRef::new(url, Some(content_type))
            })
            .collect();
        let spent = usage::units(usage::number(generated.credits.as_ref()), "recraft_credits");
        let status = outputs_or_missing(outputs, "Recraft answered without an image").with_usage(spent);
        Ok(Submitted { handle: UpstreamHandle { id: job.generation.to_string(), data: Default::default() }, status })
    }

    async fn poll(&self, _handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        Err(ProviderError::NotFound("Recraft answers at once and keeps no job to poll".into()))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let gone = |status| format!("Recraft's image link answered HTTP {status} (links last about 24 hours)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    // no key test: the sources name no cheap authenticated call (UNCONFIRMED `GET /users/me`)
}

#[cfg(test)]
mod tests;
