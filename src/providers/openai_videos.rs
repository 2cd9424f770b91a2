//! OpenAI-compatible Videos API (`/v1/videos`): OpenAI's Sora, Azure OpenAI and gateways
//! that speak the same wire format (the connection's base URL decides which).
//! Create is multipart (`input_reference` as a file part), poll honours
//! `openai-poll-after-ms`, the output is downloaded from `/videos/{id}/content`, and the
//! upstream copy is deleted after custody. See PROVIDERS.md §1.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::http::{OutboundClient, OutboundError, OutboundPolicy, capped_stream, read_capped};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL.
pub const DEFAULT_BASE: &str = "https://api.openai.com/v1";
/// The largest JSON answer accepted.
const JSON_CAP: u64 = 1024 * 1024;

/// The adapter for one connection.
pub struct OpenAiVideos {
    client: OutboundClient,
    base: url::Url,
    key: Option<Secret>,
}

/// The Video object (tolerant: unknown fields ignored, most fields optional).
#[derive(Debug, Deserialize)]
struct Video {
    id: String,
    status: String,
    progress: Option<f64>,
    error: Option<ApiErrorBody>,
}

#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    code: Option<String>,
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: Option<ApiErrorBody>,
}

impl OpenAiVideos {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        let policy =
            OutboundPolicy { allow_private_network: config.allow_private_network, timeout: config.timeout, ..OutboundPolicy::default() };
        let mut base = config.base_url.clone().unwrap_or_else(|| url::Url::parse(DEFAULT_BASE).expect("the default base URL parses"));
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Self { client: OutboundClient::new(policy)?, base, key: config.api_key.clone() })
    }

    fn url(&self, path: &str) -> Result<url::Url, ProviderError> {
        self.base.join(path).map_err(|e| ProviderError::InvalidInput(format!("bad URL: {e}")))
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    async fn send(&self, request: Result<reqwest::RequestBuilder, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        let response = self.authorize(request.map_err(outbound)?).send().await.map_err(|e| outbound(e.into()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from(response).await)
    }

    async fn video(&self, response: reqwest::Response) -> Result<(Video, Option<Duration>), ProviderError> {
        let hint = poll_hint(&response);
        let body = read_capped(response, JSON_CAP).await.map_err(outbound)?;
        // tolerant: a malformed answer is a temporary upstream problem, retried a few times
        let video = serde_json::from_slice::<Video>(&body)
            .map_err(|e| ProviderError::Transient(format!("malformed answer from the provider: {e}")))?;
        Ok((video, hint))
    }

    fn status(&self, video: &Video, hint: Option<Duration>) -> Result<UpstreamStatus, ProviderError> {
        match video.status.as_str() {
            "completed" => Ok(UpstreamStatus::Succeeded {
                outputs: vec![OutputRef { location: format!("videos/{}/content", video.id), content_type: Some("video/mp4".into()) }],
            }),
            "failed" => Ok(UpstreamStatus::Failed(job_error(video.error.as_ref()))),
            "queued" | "in_progress" | "processing" | "pending" => {
                Ok(UpstreamStatus::Pending { progress: video.progress.map(|p| p.clamp(0.0, 100.0) as u8), poll_after: hint })
            }
            other => Err(ProviderError::Transient(format!("unknown job status {other:?}"))),
        }
    }
}

fn outbound(e: OutboundError) -> ProviderError {
    match e {
        OutboundError::Timeout => ProviderError::Timeout,
        OutboundError::TooLarge { cap } => ProviderError::TooLarge { cap },
        OutboundError::Forbidden { .. } | OutboundError::Blocked { .. } | OutboundError::Scheme { .. } => {
            ProviderError::InvalidInput(e.to_string())
        }
        OutboundError::Http(m) => ProviderError::Transient(m),
    }
}

/// `openai-poll-after-ms`, the provider's hint for the next poll.
fn poll_hint(response: &reqwest::Response) -> Option<Duration> {
    header_number(response, "openai-poll-after-ms").map(Duration::from_millis)
}

fn header_number(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|v| *v >= 0.0).map(|v| v as u64)
}

/// `retry-after-ms`, then `retry-after` in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    header_number(response, "retry-after-ms")
        .map(Duration::from_millis)
        .or_else(|| header_number(response, "retry-after").map(Duration::from_secs))
}

fn job_error(error: Option<&ApiErrorBody>) -> ProviderError {
    let code = error.and_then(|e| e.code.clone()).unwrap_or_default();
    let message = error.and_then(|e| e.message.clone()).unwrap_or_else(|| "the provider reported a failure".into());
    if code.contains("moderation") || code.contains("content_policy") || code.contains("safety") {
        ProviderError::ContentPolicy(message)
    } else {
        ProviderError::InvalidInput(message)
    }
}

/// Maps an error response to the normalised classes (status first, then `error.code`).
async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let wait = retry_after(&response);
    let body = read_capped(response, JSON_CAP).await.unwrap_or_default();
    let error = serde_json::from_slice::<ErrorEnvelope>(&body).ok().and_then(|e| e.error);
    let code = error.as_ref().and_then(|e| e.code.clone().or(e.kind.clone())).unwrap_or_default();
    let message = error.as_ref().and_then(|e| e.message.clone()).unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        _ if code == "insufficient_quota" || code == "billing_hard_limit_reached" => ProviderError::InsufficientUpstreamCredit(message),
        _ if code.contains("moderation") || code.contains("content_policy") => ProviderError::ContentPolicy(message),
        401 | 403 => ProviderError::Auth(message),
        402 => ProviderError::InsufficientUpstreamCredit(message),
        404 => ProviderError::NotFound(message),
        429 => ProviderError::RateLimited { retry_after: wait, message },
        408 | 409 | 500..=599 => ProviderError::Transient(message),
        _ => ProviderError::InvalidInput(message),
    }
}

#[async_trait]
impl Provider for OpenAiVideos {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut form = Form::new().text("prompt", job.prompt.clone()).text("model", job.model.clone());
        if let Some(ParamValue::Int(seconds)) = job.params.get("duration") {
            form = form.text("seconds", seconds.to_string());
        }
        if let Some(ParamValue::Text(size)) = job.params.get("size") {
            form = form.text("size", size.clone());
        }
        if let Some(image) = job.references.iter().find(|r| r.role == ReferenceRole::FirstFrame) {
            let name = if image.content_type == "image/jpeg" { "reference.jpg" } else { "reference.png" };
            let part = Part::bytes(image.bytes.to_vec())
                .file_name(name)
                .mime_str(&image.content_type)
                .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
            form = form.part("input_reference", part);
        }
        let url = self.url("videos")?;
        let response = self.send(self.client.post(&url).map(|r| r.multipart(form))).await?;
        let (video, hint) = self.video(response).await?;
        let status = self.status(&video, hint)?;
        Ok(Submitted { handle: UpstreamHandle { id: video.id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.url(&format!("videos/{}", handle.id))?;
        let response = self.send(self.client.get(&url)).await?;
        let (video, hint) = self.video(response).await?;
        self.status(&video, hint)
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = self.url(&output.location)?;
        let response = self.send(self.client.get(&url).map(|r| r.header("accept", "application/binary"))).await?;
        Ok(Box::pin(capped_stream(response, cap).map_err(outbound)))
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // no cancel endpoint exists; DELETE is the closest (UNCONFIRMED that it stops a job)
        self.delete_upstream(handle).await
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.url(&format!("videos/{}", handle.id))?;
        self.send(self.client.delete(&url)).await.map(|_| ())
    }
}
