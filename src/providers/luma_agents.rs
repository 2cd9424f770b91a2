//! The Luma Agents API (2026, `https://agents.lumalabs.ai/v1`, Bearer key): one JSON submit,
//! `POST /generations` with `type` (`image` | `video`) and `model`, references inline as ImageRef
//! `{data: base64, media_type}` (`image_ref[]` for images, `video.start_frame` / `video.end_frame`
//! for video); poll `GET /generations/{id}` (queued, processing, completed, failed with a
//! `failure_code`); outputs are presigned URLs valid one hour, fetched without the key. The API
//! has no webhook, cancel or delete (the SDK shows none). See PROVIDERS.md §4 B.

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, Class, ErrorTable, StatusWords, outputs_or_missing};
use super::luma::{base_body, fetch_url, read_error};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://agents.lumalabs.ai/v1");

/// Images are asked for in this format, so their type is known.
const IMAGE_FORMAT: &str = "png";

/// The adapter for one connection.
pub struct LumaAgents {
    api: Api,
}

/// The Generation object (tolerant: `failure_code` values beyond the SDK's enum are accepted).
#[derive(Debug, Deserialize)]
struct Generation {
    id: String,
    #[serde(default)]
    state: String,
    failure_code: Option<String>,
    failure_reason: Option<String>,
    #[serde(default)]
    output: Vec<Output>,
}

#[derive(Debug, Deserialize)]
struct Output {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

/// An ImageRef with inline data.
/// The most reference images an image generation takes (`image_ref[]`).
const MAX_IMAGE_REFS: usize = 9;

fn image_ref(content_type: &str, bytes: &[u8]) -> Value {
    json!({"data": base64::engine::general_purpose::STANDARD.encode(bytes), "media_type": content_type})
}

/// A failed generation's class, from its `failure_code` (PROVIDERS.md §4 B), else its words.
fn failure(code: Option<&str>, reason: Option<&str>) -> ProviderError {
    let code = code.unwrap_or_default();
    let message = reason.filter(|r| !r.is_empty()).map(str::to_string).unwrap_or_else(|| match code {
        "" => "Luma reported the generation as failed".to_string(),
        code => format!("Luma reported the generation as failed ({code})"),
    });
    let class = ERRORS.codes.iter().chain(JOB_ONLY_CODES).find(|(c, _)| *c == code).map(|(_, class)| *class);
    match class {
        Some(class) => class.error(message, None),
        None => wire::job_failure(code, message),
    }
}

/// Luma Agents' error table: a `failure_code`-style code in the body first (its format is
/// UNCONFIRMED, so the common shapes are read), then the provider's words and the status.
static ERRORS: ErrorTable = ErrorTable {
    read: read_error,
    codes: &[
        ("rate_limited", Class::RateLimited),
        ("content_moderated", Class::ContentPolicy),
        ("budget_exhausted", Class::Credit),
        ("invalid_request", Class::InvalidInput),
        ("image_too_large", Class::InvalidInput),
        ("unsupported_format", Class::InvalidInput),
        ("corrupt_input", Class::InvalidInput),
    ],
    statuses: &[],
};

/// Failure codes that only a failed generation carries.
const JOB_ONLY_CODES: &[(&str, Class)] = &[("generation_failed", Class::Transient), ("output_not_found", Class::NotFound)];

/// The Agents API's generation states.
static WORDS: StatusWords = StatusWords {
    provider: "luma_agents",
    pending: &["queued", "processing", "pending", "dreaming"],
    succeeded: &["completed", "succeeded"],
    failed: &["failed"],
};

impl LumaAgents {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)? })
    }

    fn status(&self, generation: &Generation) -> UpstreamStatus {
        let succeeded = || {
            let outputs: Vec<OutputRef> = generation
                .output
                .iter()
                .filter_map(|o| {
                    let url = o.url.clone().filter(|u| !u.is_empty())?;
                    let content_type = match o.kind.as_deref() {
                        Some("video") => "video/mp4",
                        _ => kit::image_type_of_url(&url),
                    };
                    Some(OutputRef::new(url, Some(content_type.to_string())))
                })
                .collect();
            outputs_or_missing(outputs, "Luma reported completion without an output")
        };
        WORDS.status(&generation.state, succeeded, || failure(generation.failure_code.as_deref(), generation.failure_reason.as_deref()))
    }

    fn body(&self, job: &ProviderJob) -> Value {
        let mut body = base_body(job);
        let reference = |role| job.references.iter().find(|r| r.role == role).map(|r| image_ref(&r.content_type, &r.bytes));
        match job.kind {
            MediaKind::Image => {
                body["type"] = json!("image");
                body["output_format"] = json!(IMAGE_FORMAT);
                let references: Vec<Value> = job
                    .references
                    .iter()
                    .filter(|r| r.role == ReferenceRole::Reference)
                    .take(MAX_IMAGE_REFS)
                    .map(|r| image_ref(&r.content_type, &r.bytes))
                    .collect();
                if !references.is_empty() {
                    body["image_ref"] = Value::Array(references);
                }
            }
            MediaKind::Video => {
                body["type"] = json!("video");
                let mut video = json!({});
                if let Some(ParamValue::Int(seconds)) = job.params.get("duration") {
                    video["duration"] = json!(format!("{seconds}s"));
                }
                if let Some(ParamValue::Text(resolution)) = job.params.get("resolution") {
                    video["resolution"] = json!(resolution);
                }
                if let Some(first) = reference(ReferenceRole::FirstFrame) {
                    video["start_frame"] = first;
                }
                if let Some(last) = reference(ReferenceRole::LastFrame) {
                    video["end_frame"] = last;
                }
                body["video"] = video;
            }
        }
        body
    }
}

#[async_trait]
impl Provider for LumaAgents {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        // job.callback_url is not sent: the Agents API takes no webhook
        let body = self.body(job);
        let generation: Generation = self.api.post_json("generations", &body).await?;
        let status = self.status(&generation);
        Ok(Submitted { handle: UpstreamHandle { id: generation.id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let generation: Generation = self.api.get_json(&format!("generations/{}", handle.id)).await?;
        Ok(self.status(&generation))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        fetch_url(self.api.client(), &output.location, cap).await
    }

    // no cancel or delete in the Agents API; the presigned URLs expire after an hour
}

#[cfg(test)]
mod tests;
