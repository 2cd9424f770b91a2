//! OpenAI-compatible Videos API (`/v1/videos`): OpenAI's Sora, Azure OpenAI and gateways
//! that speak the same wire format (the connection's base URL decides which).
//! Create is multipart (`input_reference` as a file part), poll honours
//! `openai-poll-after-ms`, the output is downloaded from `/videos/{id}/content` (its thumbnail,
//! the video's poster, from `/videos/{id}/content?variant=thumbnail`), and the upstream copy
//! is deleted after custody. See PROVIDERS.md §1.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::http::OutboundError;
use super::kit::{Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://api.openai.com/v1");

/// The adapter for one connection.
pub struct OpenAiVideos {
    api: Api,
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

/// The error table of OpenAI-compatible APIs: `error.code` (or `error.type`), then the status.
pub(crate) static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"error": {"code", "type", "message"}}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let error = serde_json::from_slice::<ErrorEnvelope>(answer.body).ok().and_then(|e| e.error);
    let code = error.as_ref().and_then(|e| e.code.clone().or(e.kind.clone())).unwrap_or_default();
    ErrorReport { code, message: error.and_then(|e| e.message), wait: None }
}

impl OpenAiVideos {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)? })
    }

    async fn video(&self, response: reqwest::Response) -> Result<(Video, Option<Duration>), ProviderError> {
        let hint = poll_hint(&response);
        Ok((wire::read_json::<Video>(response).await?, hint))
    }

    fn status(&self, video: &Video, hint: Option<Duration>) -> Result<UpstreamStatus, ProviderError> {
        match video.status.as_str() {
            "completed" => Ok(UpstreamStatus::Succeeded {
                outputs: vec![
                    OutputRef::new(format!("videos/{}/content", video.id), Some("video/mp4".into()))
                        .with_thumbnail(format!("videos/{}/content?variant=thumbnail", video.id)),
                ],
            }),
            "failed" => Ok(UpstreamStatus::Failed(job_error(video.error.as_ref()))),
            "queued" | "in_progress" | "processing" | "pending" => {
                Ok(UpstreamStatus::Pending { progress: video.progress.map(|p| p.clamp(0.0, 100.0) as u8), poll_after: hint })
            }
            other => Ok(wire::unknown_status("openai_videos", other, video.progress.map(|p| p.clamp(0.0, 100.0) as u8))),
        }
    }
}

/// `openai-poll-after-ms`, the provider's hint for the next poll.
fn poll_hint(response: &reqwest::Response) -> Option<Duration> {
    wire::header_number(response.headers(), "openai-poll-after-ms").map(Duration::from_millis)
}

fn job_error(error: Option<&ApiErrorBody>) -> ProviderError {
    let code = error.and_then(|e| e.code.clone()).unwrap_or_default();
    let message = error.and_then(|e| e.message.clone()).unwrap_or_else(|| "the provider reported a failure".into());
    wire::job_failure(&code, message)
}

#[async_trait]
impl Provider for OpenAiVideos {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut form = Form::new().text("prompt", job.prompt.clone()).text("model", job.upstream_model.clone());
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
        let url = self.api.url("videos")?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.multipart(form))).await?;
        let (video, hint) = self.video(response).await?;
        let status = self.status(&video, hint)?;
        Ok(Submitted { handle: UpstreamHandle { id: video.id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.api.url(&format!("videos/{}", handle.id))?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        let (video, hint) = self.video(response).await?;
        self.status(&video, hint)
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = self.api.url(&output.location)?;
        let response = self.api.send(self.api.client().get(&url).map(|r| r.header("accept", "application/binary"))).await?;
        Ok(wire::download(response, cap))
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // no cancel endpoint exists; DELETE is the closest (UNCONFIRMED that it stops a job)
        self.delete_upstream(handle).await.map(|_| ())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        let url = self.api.url(&format!("videos/{}", handle.id))?;
        self.api.send(self.api.client().delete(&url)).await.map(|_| true)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let url = self.api.url("videos?limit=1")?;
        self.api.send(self.api.client().get(&url)).await?;
        Ok("listed videos".into())
    }
}

#[cfg(test)]
mod tests {

    use fake_upstream::{FakeUpstream, Reply};

    use serde_json::json;

    use super::*;
    use crate::providers::kit::testing::{self, Probe, connection, drain};

    const KEY: &str = "sk-test-key";

    fn adapter(fake: &FakeUpstream) -> OpenAiVideos {
        OpenAiVideos::new(&ConnectionConfig { base_url: Some(fake.at("v1/")), ..connection(fake, "openai_videos", KEY) }).unwrap()
    }

    #[tokio::test]
    async fn a_completed_video_has_the_providers_thumbnail_fetched_like_the_video() {
        let fake = FakeUpstream::start(|r| match (r.route().as_str(), r.query_param("variant").as_deref()) {
            ("GET /v1/videos/video_1", _) => Reply::json(200, json!({"id": "video_1", "object": "video", "status": "completed"})),
            ("GET /v1/videos/video_1/content", None) => Reply::bytes(200, "video/mp4", &b"mp4 bytes"[..]),
            ("GET /v1/videos/video_1/content", Some("thumbnail")) => Reply::bytes(200, "image/webp", &b"webp bytes"[..]),
            _ => Reply::json(404, json!({"error": {"message": "No such video.", "code": "not_found"}})),
        })
        .await;
        let openai = adapter(&fake);
        let handle = UpstreamHandle { id: "video_1".into(), data: Default::default() };
        let UpstreamStatus::Succeeded { outputs } = openai.poll(&handle).await.unwrap() else { panic!("completed") };
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].location, "videos/video_1/content");
        assert_eq!(outputs[0].thumbnail.as_deref(), Some("videos/video_1/content?variant=thumbnail"));
        assert_eq!(&drain(openai.fetch(&handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"mp4 bytes");
        let thumbnail = outputs[0].thumbnail_ref().expect("a thumbnail");
        assert_eq!(&drain(openai.fetch(&handle, &thumbnail, 1024).await.unwrap()).await.unwrap()[..], b"webp bytes");
        let asked = &fake.requests_to("GET /v1/videos/video_1/content")[1];
        assert_eq!(asked.query, "variant=thumbnail", "the query survives the join with the base URL");
        assert_eq!(asked.header("authorization"), Some("Bearer sk-test-key"), "authed like the video download");
        // a thumbnail the provider no longer has is a plain not-found
        let gone = OutputRef::new("videos/gone/content?variant=thumbnail", None);
        assert_eq!(openai.fetch(&handle, &gone, 1024).await.err().map(|e| e.code()), Some("provider.not_found"));
    }

    #[tokio::test]
    async fn every_form_of_the_base_url_reaches_the_api() {
        let adapter = |fake: &FakeUpstream, base: url::Url| {
            OpenAiVideos::new(&ConnectionConfig { base_url: Some(base), ..connection(fake, "openai_videos", KEY) }).unwrap()
        };
        testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/videos").await;
        testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("video_1")), "v1", "/v1/videos/video_1").await;
    }
}
