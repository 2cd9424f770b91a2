//! Google Gemini API (`generativelanguage.googleapis.com/v1beta`, key in `x-goog-api-key`):
//! Veo video through `models/{model}:predictLongRunning` (a long-running operation polled by
//! its name, frames and reference images as inline base64, the video downloaded from the
//! Files API with the key, which is sent to the API host only), and Gemini native image
//! models through `models/{model}:generateContent` with `responseModalities: ["IMAGE"]`
//! (synchronous; images come back as inline base64 and are held in memory). See PROVIDERS.md §2.

mod errors;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::inline::{InlineOutputs, decode_base64};
use super::kit::{self, Api, Auth, BaseUrl};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};
use errors::ERRORS;

/// The base URL convention: the API version (`v1beta`) belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://generativelanguage.googleapis.com/v1beta");

/// `UpstreamHandle::data` key telling a video operation from a synchronous image answer.
const MODE: &str = "mode";

/// Words in a Veo error or filter reason that mark a Responsible-AI (safety) refusal.
const RAI_WORDS: &[&str] = &["usage guidelines", "responsible ai", "rai ", "safety", "filtered", "prohibited", "violat"];

/// Finish and block reasons of generateContent that are safety refusals.
const SAFETY_REASONS: &[&str] =
    &["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_RECITATION"];

/// The adapter for one connection.
pub struct Gemini {
    /// Keyed with `x-goog-api-key`, for the API host only.
    api: Api,
    inline: InlineOutputs,
}

/// A long-running operation (tolerant: everything optional).
#[derive(Debug, Default, Deserialize)]
struct Operation {
    name: Option<String>,
    done: Option<bool>,
    error: Option<RpcStatus>,
    response: Option<OperationResponse>,
}

/// `google.rpc.Status`.
#[derive(Debug, Default, Deserialize)]
struct RpcStatus {
    code: Option<i64>,
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationResponse {
    generate_video_response: Option<VideoResponse>,
    /// The Vertex-style shape, tolerated in case a gateway answers with it.
    #[serde(default)]
    videos: Vec<Video>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoResponse {
    #[serde(default)]
    generated_samples: Vec<Sample>,
    rai_media_filtered_count: Option<i64>,
    #[serde(default)]
    rai_media_filtered_reasons: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Sample {
    video: Option<Video>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Video {
    #[serde(alias = "gcsUri")]
    uri: Option<String>,
    #[serde(alias = "bytesBase64Encoded")]
    encoded_video: Option<String>,
    #[serde(alias = "mimeType")]
    encoding: Option<String>,
}

/// A generateContent answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(alias = "prompt_feedback")]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(alias = "block_reason")]
    block_reason: Option<String>,
    #[serde(alias = "block_reason_message")]
    block_reason_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    #[serde(alias = "finish_reason")]
    finish_reason: Option<String>,
    #[serde(alias = "finish_message")]
    finish_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<ContentPart>,
}

#[derive(Debug, Default, Deserialize)]
struct ContentPart {
    text: Option<String>,
    #[serde(rename = "inlineData", alias = "inline_data")]
    inline_data: Option<Blob>,
    #[serde(default)]
    thought: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Blob {
    #[serde(rename = "mimeType", alias = "mime_type")]
    mime_type: Option<String>,
    #[serde(default)]
    data: String,
}

#[derive(Debug, Deserialize)]
struct ModelList {
    #[serde(default)]
    models: Vec<ModelEntry>,
}

#[derive(Debug, Deserialize)]
struct ModelEntry {
    #[serde(default)]
    name: String,
}

impl Gemini {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Header("x-goog-api-key"), &ERRORS)?, inline: InlineOutputs::default() })
    }

    /// Whether `url` is on the API host (same scheme, host and port as the base URL): the
    /// only place the key may go.
    fn is_api_host(&self, url: &url::Url) -> bool {
        let base = self.api.base();
        url.scheme() == base.scheme() && url.host_str() == base.host_str() && url.port_or_known_default() == base.port_or_known_default()
    }

    async fn operation(&self, name: &str) -> Result<Operation, ProviderError> {
        let url = self.api.url(name)?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        wire::read_json(response).await
    }

    /// What an operation says about the job whose handle is `id`.
    fn status(&self, id: &str, operation: Operation) -> UpstreamStatus {
        let failed = operation.error.as_ref().filter(|e| e.code.unwrap_or(0) != 0 || e.message.is_some());
        if let Some(error) = failed {
            return UpstreamStatus::Failed(operation_failure(error));
        }
        if operation.done != Some(true) {
            return UpstreamStatus::Pending { progress: None, poll_after: None };
        }
        let response = operation.response.unwrap_or_default();
        let generated = response.generate_video_response.unwrap_or_default();
        let videos: Vec<Video> = generated.generated_samples.into_iter().filter_map(|s| s.video).chain(response.videos).collect();
        let mut outputs = Vec::new();
        for (n, video) in videos.into_iter().enumerate() {
            let content_type = video.encoding.clone().unwrap_or_else(|| "video/mp4".into());
            if let Some(uri) = video.uri.filter(|u| !u.is_empty()) {
                outputs.push(OutputRef::new(uri, Some(content_type)));
            } else if let Some(encoded) = video.encoded_video.filter(|v| !v.is_empty()) {
                match decode_base64(&encoded) {
                    Ok(bytes) => outputs.push(self.inline.hold(id, n, &content_type, bytes)),
                    Err(e) => return UpstreamStatus::Failed(e),
                }
            }
        }
        if !outputs.is_empty() {
            return UpstreamStatus::Succeeded { outputs, usage: None };
        }
        let filtered = generated.rai_media_filtered_count.unwrap_or(0) > 0 || !generated.rai_media_filtered_reasons.is_empty();
        if filtered {
            let reasons = generated.rai_media_filtered_reasons.join(" ");
            let message = if reasons.trim().is_empty() { "Veo filtered the video (Responsible AI filter)".to_string() } else { reasons };
            return UpstreamStatus::Failed(ProviderError::ContentPolicy(message));
        }
        UpstreamStatus::Failed(ProviderError::Transient("the operation finished without a video".into()))
    }

    async fn submit_video(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut instance = json!({ "prompt": job.prompt });
        let mut references = Vec::new();
        for image in &job.references {
            let inline = json!({
                "bytesBase64Encoded": base64::engine::general_purpose::STANDARD.encode(&image.bytes),
                "mimeType": image.content_type,
            });
            match image.role {
                ReferenceRole::FirstFrame => instance["image"] = inline,
                ReferenceRole::LastFrame => instance["lastFrame"] = inline,
                ReferenceRole::Reference => references.push(json!({ "image": inline, "referenceType": "ASSET" })),
                // Veo takes images only; the catalog lets no other role through to it
                ReferenceRole::ReferenceVideo
                | ReferenceRole::ReferenceAudio
                | ReferenceRole::DrivingAudio
                | ReferenceRole::SourceVideo => {}
            }
        }
        if !references.is_empty() {
            instance["referenceImages"] = Value::Array(references);
        }
        let mut parameters = serde_json::Map::new();
        for (ours, theirs) in [("aspect_ratio", "aspectRatio"), ("resolution", "resolution"), ("duration", "durationSeconds")] {
            if let Some(value) = job.params.get(ours) {
                parameters.insert(theirs.into(), value.to_json());
            }
        }
        if let Some(negative) = job.negative_prompt.as_deref().filter(|n| !n.trim().is_empty()) {
            parameters.insert("negativePrompt".into(), json!(negative));
        }
        let mut body = json!({ "instances": [instance], "parameters": parameters });
        if let Some(callback) = &job.callback_url {
            body["webhookConfig"] = json!({ "uris": [callback.as_str()] });
        }
        let url = self.api.url(&format!("models/{}:predictLongRunning", job.upstream_model))?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let operation: Operation = wire::read_json(response).await?;
        let name = operation
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ProviderError::Transient("the provider accepted the video job but named no operation to poll".into()))?;
        let status = self.status(&name, operation);
        let data = [(MODE.to_string(), "video".to_string())].into();
        Ok(Submitted { handle: UpstreamHandle { id: name, data }, status })
    }

    async fn submit_image(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut parts = vec![json!({ "text": job.prompt })];
        for image in job.references.iter().filter(|r| r.role == ReferenceRole::Reference) {
            parts.push(json!({ "inline_data": {
                "mime_type": image.content_type,
                "data": base64::engine::general_purpose::STANDARD.encode(&image.bytes),
            }}));
        }
        let mut image_config = serde_json::Map::new();
        if let Some(ParamValue::Text(ratio)) = job.params.get("aspect_ratio") {
            image_config.insert("aspectRatio".into(), json!(ratio));
        }
        if let Some(ParamValue::Text(size)) = job.params.get("image_size") {
            image_config.insert("imageSize".into(), json!(size));
        }
        let mut generation = json!({ "responseModalities": ["IMAGE"] });
        if !image_config.is_empty() {
            generation["imageConfig"] = Value::Object(image_config);
        }
        let body = json!({ "contents": [{ "role": "user", "parts": parts }], "generationConfig": generation });
        let url = self.api.url(&format!("models/{}:generateContent", job.upstream_model))?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let answer: ContentResponse = wire::read_json(response).await?;
        let id = format!("image-{}", job.generation);
        let images = answer_images(answer, job.output_count.max(1))?;
        let outputs =
            images.into_iter().enumerate().map(|(n, (content_type, bytes))| self.inline.hold(&id, n, &content_type, bytes)).collect();
        let data = [(MODE.to_string(), "image".to_string())].into();
        Ok(Submitted { handle: UpstreamHandle { id, data }, status: UpstreamStatus::Succeeded { outputs, usage: None } })
    }

    /// Downloads an output URL: with the key on the API host (on any hop of its redirects),
    /// without it anywhere else (a signed storage URL).
    async fn download(&self, location: &str, cap: u64) -> Result<ByteStream, ProviderError> {
        let mut url = match url::Url::parse(location) {
            Ok(url) => url,
            Err(_) => self.api.url(location)?,
        };
        if self.is_api_host(&url) && url.path().ends_with(":download") && url.query_pairs().all(|(k, _)| k != "alt") {
            url.query_pairs_mut().append_pair("alt", "media");
        }
        let response = wire::send(self.api.client().get(&url).map(|r| self.api.authorize(r))).await?;
        let api_host = self.is_api_host(response.url());
        download_answer(response, cap, api_host).await
    }

    fn is_image(handle: &UpstreamHandle) -> bool {
        handle.data.get(MODE).map(String::as_str) == Some("image")
    }
}

/// The images of a generateContent answer (the last `count` non-thought images), or why
/// there are none.
fn answer_images(answer: ContentResponse, count: usize) -> Result<Vec<(String, bytes::Bytes)>, ProviderError> {
    if let Some(reason) = answer.prompt_feedback.as_ref().and_then(|f| f.block_reason.clone()).filter(|r| !r.is_empty()) {
        let detail = answer.prompt_feedback.and_then(|f| f.block_reason_message).unwrap_or_default();
        return Err(ProviderError::ContentPolicy(format!("the prompt was blocked ({reason}) {detail}").trim().to_string()));
    }
    let mut images = Vec::new();
    let mut texts = Vec::new();
    let mut finish = None;
    for candidate in answer.candidates {
        if finish.is_none() {
            finish = candidate.finish_reason.clone().map(|r| (r, candidate.finish_message.clone().unwrap_or_default()));
        }
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            match (part.inline_data, part.text) {
                (Some(blob), _) if !part.thought && !blob.data.is_empty() => {
                    let content_type = blob.mime_type.unwrap_or_else(|| "image/png".into());
                    images.push((content_type, decode_base64(&blob.data)?));
                }
                (None, Some(text)) if !part.thought => texts.push(text),
                _ => {}
            }
        }
    }
    if !images.is_empty() {
        let skip = images.len().saturating_sub(count);
        return Ok(images.into_iter().skip(skip).collect());
    }
    let said: String = texts.join(" ").chars().take(300).collect();
    match finish {
        Some((reason, message)) if SAFETY_REASONS.contains(&reason.as_str()) => {
            let detail = if message.is_empty() { said } else { message };
            Err(ProviderError::ContentPolicy(format!("the image was blocked ({reason}) {detail}").trim().to_string()))
        }
        Some((reason, _)) if reason == "MAX_TOKENS" || reason == "MALFORMED_FUNCTION_CALL" => {
            Err(ProviderError::Transient(format!("the model stopped before making an image ({reason})")))
        }
        _ if said.is_empty() => Err(ProviderError::Transient("the model answered without an image".into())),
        _ => Err(ProviderError::InvalidInput(format!("the model answered without an image: {said}"))),
    }
}

/// The class of a failed operation (`google.rpc.Status`; `code` is a gRPC code).
fn operation_failure(error: &RpcStatus) -> ProviderError {
    let message = error.message.clone().unwrap_or_else(|| "the video job failed".into());
    let lower = message.to_ascii_lowercase();
    if RAI_WORDS.iter().any(|w| lower.contains(w)) {
        return ProviderError::ContentPolicy(message);
    }
    match error.code.unwrap_or(0) {
        16 | 7 => ProviderError::Auth(message),
        8 => ProviderError::RateLimited { retry_after: None, message },
        5 => ProviderError::NotFound(message),
        4 | 10 | 13 | 14 => ProviderError::Transient(message),
        _ => wire::job_failure(error.status.as_deref().unwrap_or_default(), message),
    }
}

/// The body of a download answer, refused early when its declared size exceeds `cap`.
/// Off the API host, 401/403/404/410 mean an expired signed URL.
async fn download_answer(response: reqwest::Response, cap: u64, api_host: bool) -> Result<ByteStream, ProviderError> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        return kit::stream_body(response, cap);
    }
    if !api_host && matches!(status, 401 | 403 | 404 | 410) {
        return Err(ProviderError::NotFound(format!("the output URL answered HTTP {status} (expired or removed)")));
    }
    Err(match ERRORS.error_from(response).await {
        // the Files API answers 403 for files that expired or never existed
        ProviderError::Auth(message) if status == 403 && message.to_ascii_lowercase().contains("not exist") => {
            ProviderError::NotFound(message)
        }
        other => other,
    })
}

/// The `files/{id}` resource a Files API download URI names, if it is one.
fn file_resource(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let mut segments = url.path_segments()?;
    segments.by_ref().find(|s| *s == "files")?;
    let id = segments.next()?.split(':').next()?.to_string();
    (!id.is_empty()).then(|| format!("files/{id}"))
}

/// The first operation name (`…operations/…`) anywhere in a callback body.
fn operation_name(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.contains("operations/") && !s.contains(char::is_whitespace) => Some(s.clone()),
        Value::Object(map) => ["name", "operation", "operationName", "operation_name"]
            .iter()
            .find_map(|k| map.get(*k).and_then(operation_name))
            .or_else(|| map.values().find_map(operation_name)),
        Value::Array(items) => items.iter().find_map(operation_name),
        _ => None,
    }
}

#[async_trait]
impl Provider for Gemini {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        match job.kind {
            MediaKind::Video => self.submit_video(job).await,
            MediaKind::Image => self.submit_image(job).await,
        }
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if Self::is_image(handle) {
            // images finish at submit; after a restart their bytes are gone
            return Err(ProviderError::NotFound("the image was held in memory and the server restarted before it was stored".into()));
        }
        let operation = self.operation(&handle.id).await?;
        Ok(self.status(&handle.id, operation))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if InlineOutputs::is_inline(output) {
            return self.inline.take(output, cap);
        }
        self.download(&output.location, cap).await
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        self.inline.forget(&handle.id);
        if Self::is_image(handle) {
            return Ok(());
        }
        // google.longrunning `:cancel`; whether Veo honours it on the Gemini API is UNCONFIRMED
        let url = self.api.url(&format!("{}:cancel", handle.id))?;
        self.api.send(self.api.client().post(&url).map(|r| r.json(&json!({})))).await.map(|_| ())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        self.inline.forget(&handle.id);
        if Self::is_image(handle) {
            return Ok(false);
        }
        // the generated videos live in the Files API (they also expire on their own)
        let operation = self.operation(&handle.id).await?;
        let response = operation.response.unwrap_or_default();
        let samples = response.generate_video_response.unwrap_or_default().generated_samples;
        for uri in samples.into_iter().filter_map(|s| s.video.and_then(|v| v.uri)) {
            let on_api_host = url::Url::parse(&uri).is_ok_and(|u| self.is_api_host(&u));
            if let Some(file) = file_resource(&uri).filter(|_| on_api_host) {
                let url = self.api.url(&file)?;
                self.api.send(self.api.client().delete(&url)).await?;
            }
        }
        Ok(true)
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // the signature format of Gemini webhooks is UNCONFIRMED: the body only names the
        // operation to poll at once; the poll remains the source of truth
        let body: Value = serde_json::from_slice(&callback.body).map_err(|e| ProviderError::InvalidInput(format!("callback body: {e}")))?;
        Ok(operation_name(&body))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let list: ModelList = self.api.get_json("models?pageSize=1000").await?;
        let veo = list.models.iter().filter(|m| m.name.contains("veo")).count();
        Ok(format!("The Gemini API accepted the key: {} models listed, {veo} of them Veo.", list.models.len()))
    }
}

#[cfg(test)]
mod tests;
