//! Google Gemini API (`generativelanguage.googleapis.com/v1beta`, key in `x-goog-api-key`):
//! Veo video through `models/{model}:predictLongRunning` (a long-running operation polled by
//! its name, frames and reference images as inline base64, the video downloaded from the
//! Files API with the key, which is sent to the API host only), and Gemini native image
//! models through `models/{model}:generateContent` with `responseModalities: ["IMAGE"]`
//! (synchronous; images come back as inline base64 and are held in memory). See PROVIDERS.md §2.

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{MAX_REDIRECTS, OutboundClient, OutboundError, check_redirect};
use super::inline::{InlineOutputs, decode_base64};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL (API version included).
pub const DEFAULT_BASE: &str = "https://generativelanguage.googleapis.com/v1beta/";

/// `UpstreamHandle::data` key telling a video operation from a synchronous image answer.
const MODE: &str = "mode";

/// Words in a Veo error or filter reason that mark a Responsible-AI (safety) refusal.
const RAI_WORDS: &[&str] = &["usage guidelines", "responsible ai", "rai ", "safety", "filtered", "prohibited", "violat"];

/// Finish and block reasons of generateContent that are safety refusals.
const SAFETY_REASONS: &[&str] =
    &["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_RECITATION"];

/// The adapter for one connection.
pub struct Gemini {
    /// Follows redirects; never carries the key.
    client: OutboundClient,
    /// Carries the key; redirects come back to us so the key never leaves the API host.
    keyed: OutboundClient,
    base: url::Url,
    key: Option<Secret>,
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
struct ErrorEnvelope {
    error: Option<RpcStatus>,
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
        let client = wire::client_for(config)?;
        let keyed = OutboundClient::without_redirects(client.policy().clone())?;
        Ok(Self {
            client,
            keyed,
            base: wire::base_url(config, DEFAULT_BASE),
            key: config.api_key.clone(),
            inline: InlineOutputs::default(),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, ProviderError> {
        wire::join(&self.base, path)
    }

    /// Whether `url` is on the API host (same scheme, host and port as the base URL): the
    /// only place the key may go.
    fn is_api_host(&self, url: &url::Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(key) => request.header("x-goog-api-key", key.expose()),
            None => request,
        }
    }

    /// A keyed request to the API; any non-success answer is mapped to its class.
    async fn send(&self, request: Result<reqwest::RequestBuilder, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        let response = wire::send(request.map(|r| self.authorize(r))).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from(response).await)
    }

    async fn operation(&self, name: &str) -> Result<Operation, ProviderError> {
        let url = self.url(name.trim_start_matches('/'))?;
        let response = self.send(self.keyed.get(&url)).await?;
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
                outputs.push(OutputRef { location: uri, content_type: Some(content_type) });
            } else if let Some(encoded) = video.encoded_video.filter(|v| !v.is_empty()) {
                match decode_base64(&encoded) {
                    Ok(bytes) => outputs.push(self.inline.hold(id, n, &content_type, bytes)),
                    Err(e) => return UpstreamStatus::Failed(e),
                }
            }
        }
        if !outputs.is_empty() {
            return UpstreamStatus::Succeeded { outputs };
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
        let url = self.url(&format!("models/{}:predictLongRunning", job.upstream_model))?;
        let response = self.send(self.keyed.post(&url).map(|r| r.json(&body))).await?;
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
        let url = self.url(&format!("models/{}:generateContent", job.upstream_model))?;
        let response = self.send(self.keyed.post(&url).map(|r| r.json(&body))).await?;
        let answer: ContentResponse = wire::read_json(response).await?;
        let id = format!("image-{}", job.generation);
        let images = answer_images(answer, job.output_count.max(1))?;
        let outputs =
            images.into_iter().enumerate().map(|(n, (content_type, bytes))| self.inline.hold(&id, n, &content_type, bytes)).collect();
        let data = [(MODE.to_string(), "image".to_string())].into();
        Ok(Submitted { handle: UpstreamHandle { id, data }, status: UpstreamStatus::Succeeded { outputs } })
    }

    /// Downloads an output URL: with the key on the API host (following its redirects
    /// ourselves, so the key never goes elsewhere), without it anywhere else.
    async fn download(&self, location: &str, cap: u64) -> Result<ByteStream, ProviderError> {
        let mut url = match url::Url::parse(location) {
            Ok(url) => url,
            Err(_) => self.url(location.trim_start_matches('/'))?,
        };
        let allow = self.client.policy().allow_private_network;
        for followed in 0..=MAX_REDIRECTS {
            if !self.is_api_host(&url) {
                // another host (a signed storage URL): no key; the guarded client follows the rest
                let response = wire::send(self.client.get(&url)).await?;
                return download_answer(response, cap, false).await;
            }
            if url.path().ends_with(":download") && url.query_pairs().all(|(k, _)| k != "alt") {
                url.query_pairs_mut().append_pair("alt", "media");
            }
            let response = wire::send(self.keyed.get(&url).map(|r| self.authorize(r))).await?;
            if !response.status().is_redirection() {
                return download_answer(response, cap, true).await;
            }
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| ProviderError::Transient("the provider redirected the download without a usable Location".into()))?;
            check_redirect(&next, followed, allow).map_err(wire::outbound)?;
            url = next;
        }
        Err(ProviderError::Transient(format!("more than {MAX_REDIRECTS} redirects")))
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

/// `RetryInfo.retryDelay` ("27s", "1.5s") in an error's details.
fn retry_delay(details: &[Value]) -> Option<std::time::Duration> {
    details.iter().filter_map(|d| d.get("retryDelay")?.as_str()).find_map(|s| {
        let seconds: f64 = s.trim().trim_end_matches('s').parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0).then(|| std::time::Duration::from_secs_f64(seconds))
    })
}

/// Maps an error answer: a refused key (which Gemini reports as 400 `API_KEY_INVALID`), 429
/// (always a rate limit here: Gemini's 429 text mentions quota even for per-minute limits),
/// then the shared classes by status and words.
async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let wait = wire::retry_after(response.headers());
    let body = wire::error_body(response).await;
    let error = serde_json::from_slice::<ErrorEnvelope>(&body).ok().and_then(|e| e.error).unwrap_or_default();
    let message = error.message.clone().unwrap_or_else(|| format!("HTTP {status}"));
    let details = serde_json::to_string(&error.details).unwrap_or_default();
    if details.contains("API_KEY_INVALID") || message.contains("API key not valid") || message.contains("API key expired") {
        return ProviderError::Auth(message);
    }
    if status == 429 {
        return ProviderError::RateLimited { retry_after: wait.or_else(|| retry_delay(&error.details)), message };
    }
    wire::classify(status, error.status.as_deref().unwrap_or_default(), message, wait)
}

/// The body of a download answer, refused early when its declared size exceeds `cap`.
/// Off the API host, 401/403/404/410 mean an expired signed URL.
async fn download_answer(response: reqwest::Response, cap: u64, api_host: bool) -> Result<ByteStream, ProviderError> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        return Ok(wire::download(response, cap));
    }
    if !api_host && matches!(status, 401 | 403 | 404 | 410) {
        return Err(ProviderError::NotFound(format!("the output URL answered HTTP {status} (expired or removed)")));
    }
    Err(match error_from(response).await {
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
        let url = self.url(&format!("{}:cancel", handle.id.trim_start_matches('/')))?;
        self.send(self.keyed.post(&url).map(|r| r.json(&json!({})))).await.map(|_| ())
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
                let url = self.url(&file)?;
                self.send(self.keyed.delete(&url)).await?;
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
        let url = self.url("models?pageSize=1000")?;
        let response = self.send(self.keyed.get(&url)).await?;
        let list: ModelList = wire::read_json(response).await?;
        let veo = list.models.iter().filter(|m| m.name.contains("veo")).count();
        Ok(format!("The Gemini API accepted the key: {} models listed, {veo} of them Veo.", list.models.len()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::StreamExt;

    use super::*;
    use crate::domain::catalog::Params;
    use crate::domain::ids::GenerationId;
    use crate::providers::ReferenceImage;

    const KEY: &str = "gm-test-key";
    const OP: &str = "models/veo-3.1-generate-preview/operations/op1";
    const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 a tiny video";

    fn adapter(fake: &FakeUpstream, timeout: Duration) -> Gemini {
        let config = ConnectionConfig {
            base_url: Some(fake.at("v1beta/")),
            api_key: Some(Secret::new(KEY)),
            allow_private_network: true,
            timeout,
            ..ConnectionConfig::new("gemini", "gemini")
        };
        Gemini::new(&config).unwrap()
    }

    fn job(kind: MediaKind, upstream: &str, params: &[(&str, ParamValue)], references: Vec<ReferenceImage>) -> ProviderJob {
        ProviderJob {
            generation: GenerationId::generate(),
            model: upstream.into(),
            upstream_model: upstream.into(),
            kind,
            prompt: "a lighthouse in a storm".into(),
            negative_prompt: None,
            params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Params>(),
            references,
            output_count: 1,
            callback_url: None,
        }
    }

    fn video_job() -> ProviderJob {
        let params = [
            ("duration", ParamValue::Int(8)),
            ("aspect_ratio", ParamValue::Text("16:9".into())),
            ("resolution", ParamValue::Text("720p".into())),
        ];
        job(MediaKind::Video, "veo-3.1-generate-preview", &params, Vec::new())
    }

    fn reference(role: ReferenceRole, bytes: &'static [u8]) -> ReferenceImage {
        ReferenceImage { role, content_type: "image/png".into(), bytes: Bytes::from_static(bytes) }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    async fn collect(stream: ByteStream) -> Result<Vec<u8>, ProviderError> {
        let mut out = Vec::new();
        let mut stream = stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn error(status: u16, grpc: &str, message: &str) -> Reply {
        Reply::json(status, json!({"error": {"code": status, "message": message, "status": grpc}}))
    }

    /// A Veo fake: submit, `pending_polls` polls without `done`, then a finished operation
    /// whose video is on the fake's Files API.
    async fn veo_fake(pending_polls: usize) -> FakeUpstream {
        let polls = Arc::new(Mutex::new(0usize));
        let base = Arc::new(Mutex::new(String::new()));
        let base_in = base.clone();
        let fake = FakeUpstream::start(move |r: &Request| {
            if r.header("x-goog-api-key") != Some(KEY) {
                return error(401, "UNAUTHENTICATED", "missing key");
            }
            match r.route().as_str() {
                "POST /v1beta/models/veo-3.1-generate-preview:predictLongRunning" => Reply::json(200, json!({"name": OP})),
                "GET /v1beta/models/veo-3.1-generate-preview/operations/op1" => {
                    let mut n = polls.lock().unwrap();
                    *n += 1;
                    if *n <= pending_polls {
                        return Reply::json(200, json!({"name": OP, "metadata": {"@type": "x"}}));
                    }
                    let uri = format!("{}v1beta/files/vid1:download?alt=media", base_in.lock().unwrap());
                    Reply::json(
                        200,
                        json!({"name": OP, "done": true, "response": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                            "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}}),
                    )
                }
                "GET /v1beta/files/vid1:download" if r.query_param("alt").as_deref() == Some("media") => Reply::bytes(200, "video/mp4", MP4),
                "DELETE /v1beta/files/vid1" => Reply::json(200, json!({})),
                "POST /v1beta/models/veo-3.1-generate-preview/operations/op1:cancel" => Reply::json(200, json!({})),
                _ => error(404, "NOT_FOUND", "no such route"),
            }
        })
        .await;
        *base.lock().unwrap() = fake.url.to_string();
        fake
    }

    #[tokio::test]
    async fn veo_request_is_exact_and_the_operation_walks_to_a_keyed_download_and_delete() {
        let fake = veo_fake(1).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let mut job = video_job();
        job.negative_prompt = Some("blurry".into());
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/gemini/s3cret").unwrap());
        job.references = vec![
            reference(ReferenceRole::FirstFrame, b"first"),
            reference(ReferenceRole::LastFrame, b"last"),
            reference(ReferenceRole::Reference, b"asset one"),
        ];
        let submitted = gemini.submit(&job).await.unwrap();
        assert_eq!(submitted.handle.id, OP);
        assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));
        let sent = &fake.requests_to("POST /v1beta/models/veo-3.1-generate-preview:predictLongRunning")[0];
        assert_eq!(sent.header("content-type"), Some("application/json"));
        assert_eq!(
            sent.json(),
            json!({
                "instances": [{
                    "prompt": "a lighthouse in a storm",
                    "image": {"bytesBase64Encoded": b64(b"first"), "mimeType": "image/png"},
                    "lastFrame": {"bytesBase64Encoded": b64(b"last"), "mimeType": "image/png"},
                    "referenceImages": [{"image": {"bytesBase64Encoded": b64(b"asset one"), "mimeType": "image/png"}, "referenceType": "ASSET"}],
                }],
                "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8, "negativePrompt": "blurry"},
                "webhookConfig": {"uris": ["https://studio.example/hooks/gemini/s3cret"]},
            })
        );

        assert!(matches!(gemini.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
        let UpstreamStatus::Succeeded { outputs } = gemini.poll(&submitted.handle).await.unwrap() else { panic!("not done") };
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
        let bytes = collect(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap();
        assert_eq!(bytes, MP4);
        assert_eq!(fake.requests_to("GET /v1beta/files/vid1:download").len(), 1);

        gemini.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests_to("DELETE /v1beta/files/vid1").len(), 1);
        assert!(fake.requests().iter().all(|r| r.header("x-goog-api-key") == Some(KEY)), "every API request carried the key");
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_redirected_download_leaves_the_key_on_the_api_host() {
        let storage =
            FakeUpstream::start(
                |r: &Request| {
                    if r.path == "/signed/vid1.mp4" { Reply::bytes(200, "video/mp4", MP4) } else { Reply::status(404) }
                },
            )
            .await;
        let target = storage.at("signed/vid1.mp4").to_string();
        let api = FakeUpstream::start(move |r: &Request| match r.path.as_str() {
            "/v1beta/files/vid1:download" => Reply::status(302).header("location", "/v1beta/files/vid1:relay"),
            "/v1beta/files/vid1:relay" => Reply::status(307).header("location", &target),
            _ => Reply::status(404),
        })
        .await;
        let gemini = adapter(&api, Duration::from_secs(5));
        let handle = UpstreamHandle { id: OP.into(), data: Default::default() };
        let output = OutputRef { location: api.at("v1beta/files/vid1:download?alt=media").to_string(), content_type: None };
        let bytes = collect(gemini.fetch(&handle, &output, 1 << 20).await.unwrap()).await.unwrap();
        assert_eq!(bytes, MP4);
        let api_hits = api.requests();
        assert_eq!(api_hits.len(), 2, "the same-host hop is followed with the key");
        assert!(api_hits.iter().all(|r| r.header("x-goog-api-key") == Some(KEY)));
        let storage_hits = storage.requests();
        assert_eq!(storage_hits.len(), 1);
        assert_eq!(storage_hits[0].header("x-goog-api-key"), None, "the key never goes to another host");
        assert!(!storage_hits[0].query.contains(KEY));
        api.stop().await;
        storage.stop().await;
    }

    #[tokio::test]
    async fn expired_missing_and_oversized_outputs() {
        let storage = FakeUpstream::start(|r: &Request| match r.path.as_str() {
            "/expired.mp4" => Reply::text(403, "Request has expired"),
            "/big.mp4" => Reply::bytes(200, "video/mp4", vec![0u8; 4096]),
            _ => Reply::status(404),
        })
        .await;
        let api = FakeUpstream::start(|r: &Request| match r.path.as_str() {
            "/v1beta/files/gone:download" => error(404, "NOT_FOUND", "File gone not found"),
            "/v1beta/files/old:download" => {
                error(403, "PERMISSION_DENIED", "You do not have permission to access the File old or it may not exist.")
            }
            _ => Reply::status(404),
        })
        .await;
        let gemini = adapter(&api, Duration::from_secs(5));
        let handle = UpstreamHandle::default();
        let at = |location: String| OutputRef { location, content_type: None };
        let fetch = |output: OutputRef, cap: u64| {
            let gemini = &gemini;
            let handle = &handle;
            async move { gemini.fetch(handle, &output, cap).await.err() }
        };
        assert_eq!(fetch(at(storage.at("expired.mp4").to_string()), 1 << 20).await.map(|e| e.code()), Some("provider.not_found"));
        assert_eq!(
            fetch(at(api.at("v1beta/files/gone:download").to_string()), 1 << 20).await.map(|e| e.code()),
            Some("provider.not_found")
        );
        assert_eq!(fetch(at(api.at("v1beta/files/old:download").to_string()), 1 << 20).await.map(|e| e.code()), Some("provider.not_found"));
        assert_eq!(fetch(at(storage.at("big.mp4").to_string()), 1000).await, Some(ProviderError::TooLarge { cap: 1000 }));
        api.stop().await;
        storage.stop().await;
    }

    #[tokio::test]
    async fn rai_filters_and_failed_operations_map_to_their_classes() {
        let answer = Arc::new(Mutex::new(json!({})));
        let answer_in = answer.clone();
        let fake = FakeUpstream::start(move |_: &Request| Reply::json(200, answer_in.lock().unwrap().clone())).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let handle = UpstreamHandle { id: OP.into(), data: Default::default() };
        let cases = [
            (
                json!({"name": OP, "done": true, "response": {"generateVideoResponse": {"raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": ["Unable to generate videos because the prompt may violate our policies. Support code: 58061214"]}}}),
                "provider.content_policy",
            ),
            (
                json!({"name": OP, "done": true, "response": {"generateVideoResponse": {"raiMediaFilteredCount": 2}}}),
                "provider.content_policy",
            ),
            (
                json!({"name": OP, "done": true, "error": {"code": 3, "message": "The input image violates the usage guidelines."}}),
                "provider.content_policy",
            ),
            (
                json!({"name": OP, "done": true, "error": {"code": 3, "message": "durationSeconds must be 8 with reference images"}}),
                "provider.invalid_input",
            ),
            (json!({"name": OP, "done": true, "error": {"code": 13, "message": "Internal error"}}), "provider.transient"),
            (json!({"name": OP, "done": true, "response": {}}), "provider.transient"),
        ];
        for (operation, code) in cases {
            *answer.lock().unwrap() = operation.clone();
            match gemini.poll(&handle).await.unwrap() {
                UpstreamStatus::Failed(e) => assert_eq!(e.code(), code, "{operation}"),
                other => panic!("{operation}: {other:?}"),
            }
        }
        // no status enum: an operation without `done` (or with unknown extra fields) keeps waiting
        *answer.lock().unwrap() = json!({"name": OP, "metadata": {"state": "WARMING_UP"}});
        assert!(matches!(gemini.poll(&handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
        *answer.lock().unwrap() = json!({"name": OP, "done": false});
        assert!(matches!(gemini.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }));
        // a video sent inline (encodedVideo) is held in memory
        *answer.lock().unwrap() = json!({"name": OP, "done": true, "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"encodedVideo": b64(MP4), "encoding": "video/mp4"}}]}}});
        let UpstreamStatus::Succeeded { outputs } = gemini.poll(&handle).await.unwrap() else { panic!("inline video") };
        assert!(InlineOutputs::is_inline(&outputs[0]));
        assert_eq!(collect(gemini.fetch(&handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), MP4);
        fake.stop().await;
    }

    #[tokio::test]
    async fn http_errors_map_to_the_classes() {
        let reply = Arc::new(Mutex::new(Reply::status(200)));
        let reply_in = reply.clone();
        let fake = FakeUpstream::start(move |_: &Request| reply_in.lock().unwrap().clone()).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let key_invalid = Reply::json(
            400,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}),
        );
        let retry_info = Reply::json(
            429,
            json!({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}}),
        );
        let cases = [
            (error(401, "UNAUTHENTICATED", "no key"), "provider.auth"),
            (error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"), "provider.auth"),
            (key_invalid, "provider.auth"),
            (error(400, "INVALID_ARGUMENT", "aspectRatio 4:3 is not supported"), "provider.invalid_input"),
            (error(400, "FAILED_PRECONDITION", "Please enable billing on your project"), "provider.insufficient_credit"),
            (error(400, "INVALID_ARGUMENT", "The prompt was blocked by safety filters"), "provider.content_policy"),
            (error(500, "INTERNAL", "boom"), "provider.transient"),
            (error(503, "UNAVAILABLE", "The model is overloaded"), "provider.transient"),
            (Reply::text(200, "{not json"), "provider.transient"),
        ];
        for (answer, code) in cases {
            *reply.lock().unwrap() = answer.clone();
            let err = gemini.submit(&video_job()).await.unwrap_err();
            assert_eq!(err.code(), code, "{answer:?}: {err}");
        }
        *reply.lock().unwrap() = retry_info;
        let err = gemini.submit(&video_job()).await.unwrap_err();
        assert_eq!(err.code(), "provider.rate_limited", "Gemini's 429 speaks of quota but is a rate limit");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        *reply.lock().unwrap() = error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted").header("retry-after", "3");
        assert_eq!(gemini.submit(&video_job()).await.unwrap_err().retry_after(), Some(Duration::from_secs(3)));
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_submit_that_never_answers_times_out() {
        let fake = FakeUpstream::start(|_: &Request| Reply::hang()).await;
        let gemini = adapter(&fake, Duration::from_millis(300));
        assert_eq!(gemini.submit(&video_job()).await.unwrap_err(), ProviderError::Timeout);
        fake.stop().await;
    }

    /// A generateContent fake that answers `answer`.
    async fn image_fake(answer: Value) -> FakeUpstream {
        FakeUpstream::start(move |r: &Request| {
            if r.header("x-goog-api-key") != Some(KEY) {
                return error(401, "UNAUTHENTICATED", "missing key");
            }
            match r.route().as_str() {
                "POST /v1beta/models/gemini-3-pro-image-preview:generateContent" => Reply::json(200, answer.clone()),
                _ => error(404, "NOT_FOUND", "no such route"),
            }
        })
        .await
    }

    fn image_job(references: Vec<ReferenceImage>) -> ProviderJob {
        let params = [("aspect_ratio", ParamValue::Text("16:9".into())), ("image_size", ParamValue::Text("2K".into()))];
        job(MediaKind::Image, "gemini-3-pro-image-preview", &params, references)
    }

    #[tokio::test]
    async fn an_image_request_is_exact_and_its_inline_image_is_held_until_deleted() {
        let answer = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking about the storm", "thought": true},
            {"inlineData": {"mimeType": "image/png", "data": b64(b"draft")}, "thought": true},
            {"text": "Here is your lighthouse."},
            {"inlineData": {"mimeType": "image/jpeg", "data": b64(b"final jpeg")}},
        ]}, "finishReason": "STOP"}]});
        let fake = image_fake(answer).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let job = image_job(vec![reference(ReferenceRole::Reference, b"ref one"), reference(ReferenceRole::Reference, b"ref two")]);
        let submitted = gemini.submit(&job).await.unwrap();
        let sent = &fake.requests()[0];
        assert_eq!(
            sent.json(),
            json!({
                "contents": [{"role": "user", "parts": [
                    {"text": "a lighthouse in a storm"},
                    {"inline_data": {"mime_type": "image/png", "data": b64(b"ref one")}},
                    {"inline_data": {"mime_type": "image/png", "data": b64(b"ref two")}},
                ]}],
                "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"}},
            })
        );
        let UpstreamStatus::Succeeded { outputs } = submitted.status else { panic!("synchronous") };
        assert_eq!(outputs.len(), 1, "thought images are not outputs");
        assert_eq!(outputs[0].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(collect(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), b"final jpeg");
        assert_eq!(gemini.fetch(&submitted.handle, &outputs[0], 3).await.err(), Some(ProviderError::TooLarge { cap: 3 }));
        gemini.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.err().map(|e| e.code()), Some("provider.not_found"));
        assert_eq!(fake.requests().len(), 1, "nothing to delete upstream for an image");
        fake.stop().await;
    }

    #[tokio::test]
    async fn blocked_images_are_content_policy_and_a_text_only_answer_is_refused() {
        let cases = [
            (json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}), "provider.content_policy"),
            (json!({"candidates": [{"finishReason": "IMAGE_SAFETY", "content": {"parts": []}}]}), "provider.content_policy"),
            (json!({"candidates": [{"finishReason": "SAFETY"}]}), "provider.content_policy"),
            (
                json!({"candidates": [{"finishReason": "STOP", "content": {"parts": [{"text": "I can only describe that."}]}}]}),
                "provider.invalid_input",
            ),
            (json!({"candidates": []}), "provider.transient"),
        ];
        for (answer, code) in cases {
            let fake = image_fake(answer.clone()).await;
            let gemini = adapter(&fake, Duration::from_secs(5));
            let err = gemini.submit(&image_job(Vec::new())).await.unwrap_err();
            assert_eq!(err.code(), code, "{answer}: {err}");
            fake.stop().await;
        }
    }

    #[tokio::test]
    async fn cancel_posts_to_the_operation_and_callbacks_name_it() {
        let fake = veo_fake(5).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let handle = UpstreamHandle { id: OP.into(), data: [(MODE.to_string(), "video".to_string())].into() };
        gemini.cancel(&handle).await.unwrap();
        assert_eq!(fake.requests_to(&format!("POST /v1beta/{OP}:cancel")).len(), 1);

        let callback = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
        let event = json!({"type": "video.generated", "data": {"operation": {"name": OP, "done": true}}}).to_string();
        assert_eq!(gemini.callback(&callback(&event)).unwrap(), Some(OP.to_string()));
        assert_eq!(gemini.callback(&callback(&json!({"name": OP}).to_string())).unwrap(), Some(OP.to_string()));
        assert_eq!(gemini.callback(&callback(r#"{"type": "batch.succeeded"}"#)).unwrap(), None);
        assert_eq!(gemini.callback(&callback("not json")).unwrap_err().code(), "provider.invalid_input");
        fake.stop().await;
    }

    #[tokio::test]
    async fn test_connection_lists_models_with_the_key() {
        let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("x-goog-api-key")) {
            ("GET /v1beta/models", Some(KEY)) => Reply::json(
                200,
                json!({"models": [{"name": "models/gemini-2.5-flash-image"}, {"name": "models/veo-3.1-generate-preview"}, {"name": "models/veo-3.0-generate-001"}]}),
            ),
            _ => error(403, "PERMISSION_DENIED", "API key missing"),
        })
        .await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let said = gemini.test_connection().await.unwrap();
        assert!(said.contains("3 models") && said.contains("2 of them Veo"), "{said}");
        assert_eq!(fake.requests()[0].query_param("pageSize").as_deref(), Some("1000"));

        let wrong = Gemini::new(&ConnectionConfig {
            base_url: Some(fake.at("v1beta/")),
            api_key: Some(Secret::new("wrong")),
            allow_private_network: true,
            ..ConnectionConfig::new("gemini", "gemini")
        })
        .unwrap();
        assert_eq!(wrong.test_connection().await.unwrap_err().code(), "provider.auth");
        fake.stop().await;
    }

    #[test]
    fn file_resources_come_from_download_uris() {
        assert_eq!(
            file_resource("https://generativelanguage.googleapis.com/v1beta/files/abc123:download?alt=media").as_deref(),
            Some("files/abc123")
        );
        assert_eq!(file_resource("https://cdn.example/video.mp4"), None);
    }
}
