//! Veo video on the Gemini API: `models/{model}:predictLongRunning` with frames and reference
//! images as inline base64, a long-running operation polled by its name, videos in the Files API.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Gemini, MODE, RpcStatus, file_resource};
use crate::domain::catalog::ReferenceRole;
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::providers::inline::decode_base64;
use crate::providers::{ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};

/// Words in a Veo error or filter reason that mark a Responsible-AI (safety) refusal.
const RAI_WORDS: &[&str] = &["usage guidelines", "responsible ai", "rai ", "safety", "filtered", "prohibited", "violat"];

/// A long-running operation (tolerant: everything optional).
#[derive(Debug, Default, Deserialize)]
struct Operation {
    name: Option<String>,
    done: Option<bool>,
    error: Option<RpcStatus>,
    response: Option<OperationResponse>,
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

impl Gemini {
    /// What Veo says about the operation named `name` now.
    pub(super) async fn poll_video(&self, name: &str) -> Result<UpstreamStatus, ProviderError> {
        let operation = self.operation(name).await?;
        Ok(self.status(name, operation))
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

    pub(super) async fn submit_video(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
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

    /// Deletes the videos of operation `name` from the Files API (they also expire on their own).
    pub(super) async fn delete_video_files(&self, name: &str) -> Result<(), ProviderError> {
        let operation = self.operation(name).await?;
        let response = operation.response.unwrap_or_default();
        let samples = response.generate_video_response.unwrap_or_default().generated_samples;
        for uri in samples.into_iter().filter_map(|s| s.video.and_then(|v| v.uri)) {
            let on_api_host = url::Url::parse(&uri).is_ok_and(|u| self.is_api_host(&u));
            if let Some(file) = file_resource(&uri).filter(|_| on_api_host) {
                let url = self.api.url(&file)?;
                self.api.send(self.api.client().delete(&url)).await?;
            }
        }
        Ok(())
    }
}

/// The class of a failed operation (`google.rpc.Status`; `code` is a gRPC code).
pub(super) fn operation_failure(error: &RpcStatus) -> ProviderError {
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

/// The first operation name (`…operations/…`) anywhere in a callback body.
pub(super) fn operation_name(value: &Value) -> Option<String> {
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
