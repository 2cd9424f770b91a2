//! OpenAI Images API (GPT Image models): OpenAI, Azure OpenAI or a gateway, by the
//! connection's base URL. Synchronous: text-to-image is a JSON `POST /images/generations`; with
//! reference images it is an edit, a multipart `POST /images/edits` with one `image[]` file part
//! per reference. The answer carries the images as base64 (`data[].b64_json`), held in memory
//! ([`InlineOutputs`]) until custody; a gateway answering with `data[].url` is fetched from that
//! URL without the key. See PROVIDERS.md §1 (Images API).
//!
//! The whole generation happens inside the submit request, so the connection's `timeout` must
//! cover it (the default 120 s does for up to four images).

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::http::{OutboundError, read_capped};
use super::inline::{InlineOutputs, decode_base64};
use super::kit::{self, Api, Auth, BaseUrl, extension_of, image_type_of_format, text_param};
use super::openai_videos::ERRORS;
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://api.openai.com/v1");

/// The largest answer accepted per requested image (base64 of a 50 MiB image, and headroom).
const ANSWER_CAP_PER_IMAGE: u64 = 72 * 1024 * 1024;

/// The parameters passed through to the API as they are (the catalog checks their values).
const PASSED_THROUGH: &[&str] = &["size", "quality", "background", "output_format"];

/// The adapter for one connection.
pub struct OpenAiImages {
    api: Api,
    inline: InlineOutputs,
}

/// `ImagesResponse` (tolerant: unknown fields ignored).
#[derive(Debug, Deserialize)]
struct ImagesResponse {
    #[serde(default)]
    data: Vec<Image>,
    output_format: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Image {
    b64_json: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ModelList {
    #[serde(default)]
    data: Vec<ModelEntry>,
}

#[derive(Debug, Deserialize)]
struct ModelEntry {
    id: String,
}

impl OpenAiImages {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?, inline: InlineOutputs::default() })
    }

    /// The JSON body of a text-to-image request.
    fn generation_body(job: &ProviderJob) -> serde_json::Value {
        let mut body = serde_json::json!({
            "model": job.upstream_model,
            "prompt": job.prompt,
            "n": job.output_count.max(1),
        });
        for name in PASSED_THROUGH {
            if let Some(value) = text_param(&job.params, name) {
                body[*name] = value.into();
            }
        }
        body
    }

    /// The multipart body of an edit: the same fields, and one `image[]` part per reference.
    fn edit_form(job: &ProviderJob) -> Result<Form, ProviderError> {
        let mut form = Form::new()
            .text("model", job.upstream_model.clone())
            .text("prompt", job.prompt.clone())
            .text("n", job.output_count.max(1).to_string());
        for name in PASSED_THROUGH {
            if let Some(value) = text_param(&job.params, name) {
                form = form.text(*name, value.to_string());
            }
        }
        for (n, image) in job.references.iter().enumerate() {
            let part = Part::bytes(image.bytes.to_vec())
                .file_name(format!("reference-{}.{}", n + 1, extension_of(&image.content_type)))
                .mime_str(&image.content_type)
                .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
            form = form.part("image[]", part);
        }
        Ok(form)
    }

    /// Reads a successful answer: each image is held in memory (or its URL kept). The images
    /// were made (and billed) once the answer arrived, so a failure from here on ends the job
    /// instead of being retried as a new submit.
    async fn outputs(&self, job: &str, response: reqwest::Response, count: usize, format: &str) -> UpstreamStatus {
        let cap = ANSWER_CAP_PER_IMAGE.saturating_mul(count.max(1) as u64);
        let body = match read_capped(response, cap).await {
            Ok(body) => body,
            Err(e) => return UpstreamStatus::Failed(wire::outbound(e)),
        };
        let answer: ImagesResponse = match wire::parse_json(&body) {
            Ok(answer) => answer,
            Err(e) => return UpstreamStatus::Failed(e),
        };
        let content_type = image_type_of_format(answer.output_format.as_deref().unwrap_or(format));
        let mut outputs = Vec::new();
        for (n, image) in answer.data.into_iter().enumerate() {
            if let Some(b64) = image.b64_json.as_deref().filter(|b| !b.is_empty()) {
                match decode_base64(b64) {
                    Ok(bytes) => outputs.push(self.inline.hold(job, n, content_type, bytes)),
                    Err(e) => {
                        self.inline.forget(job);
                        return UpstreamStatus::Failed(e);
                    }
                }
            } else if let Some(url) = image.url.filter(|u| !u.is_empty()) {
                outputs.push(OutputRef::new(url, Some(content_type.to_string())));
            }
        }
        if outputs.is_empty() {
            return UpstreamStatus::Failed(ProviderError::Transient("the provider answered without an image".into()));
        }
        UpstreamStatus::Succeeded { outputs }
    }
}

#[async_trait]
impl Provider for OpenAiImages {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let request = if job.references.is_empty() {
            let url = self.api.url("images/generations")?;
            let body = Self::generation_body(job);
            self.api.client().post(&url).map(|r| r.json(&body))
        } else {
            let url = self.api.url("images/edits")?;
            let form = Self::edit_form(job)?;
            self.api.client().post(&url).map(|r| r.multipart(form))
        };
        let response = self.api.send(request).await?;
        let id = job.generation.to_string();
        let mut handle = UpstreamHandle { id: id.clone(), data: Default::default() };
        if let Some(request_id) = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()) {
            handle.data.insert("request_id".into(), request_id.to_string());
        }
        let format = text_param(&job.params, "output_format").unwrap_or("png");
        let status = self.outputs(&id, response, job.output_count, format).await;
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, _handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        // the API answers the submit itself; there is no job to look up afterwards
        Err(ProviderError::NotFound("the Images API answers at once and keeps no job to poll".into()))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if InlineOutputs::is_inline(output) {
            return self.inline.take(output, cap);
        }
        // a URL answer (a gateway, or dall-e style): a signed URL, fetched without the key
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let gone = |status| format!("the output URL answered HTTP {status} (expired?)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, Some(&ERRORS)).await
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        self.inline.cancel(handle)
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // OpenAI keeps no copy of base64 answers
        self.inline.delete(handle)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let list: ModelList = self.api.get_json("models").await?;
        let images = list.data.iter().filter(|m| m.id.starts_with("gpt-image")).count();
        Ok(format!("The key works: {} models are visible, {images} of them GPT Image models.", list.data.len()))
    }
}

#[cfg(test)]
mod tests;
