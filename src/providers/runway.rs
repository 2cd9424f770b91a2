//! Runway API (`api.dev.runwayml.com/v1`, Bearer key plus `X-Runway-Version`): JSON task
//! submits to `/image_to_video` (first frame as a `data:` URI in `promptImage`),
//! `/text_to_video` and `/text_to_image` (`referenceImages` as tagged `data:` URIs), polled
//! at `/tasks/{id}` (PENDING, THROTTLED, RUNNING with a 0..1 progress, SUCCEEDED with output
//! URLs, FAILED with a `failureCode`, CANCELLED); `DELETE /tasks/{id}` cancels a running task
//! and deletes a finished one. Outputs are signed CDN URLs fetched without the key.
//! See PROVIDERS.md §3.

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable};
use super::{ByteStream, Provider, ProviderError, ProviderJob, ReferenceFile, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `v1/` in each path.
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api.dev.runwayml.com", &["v1"]);

/// The API version every request names (the SDK default, and the only one seen).
pub const API_VERSION: &str = "2024-11-06";

/// Models that only animate an image (no text-to-video endpoint for them).
const IMAGE_TO_VIDEO_ONLY: &[&str] = &["gen4_turbo"];

/// `UpstreamHandle::data` key: what the task makes ("video" or "image").
const KIND: &str = "kind";

/// The adapter for one connection.
pub struct Runway {
    api: Api,
}

/// A task (tolerant: unknown fields ignored, most fields optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    #[serde(default)]
    status: String,
    progress: Option<f64>,
    #[serde(default)]
    output: Vec<String>,
    failure: Option<String>,
    failure_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    credit_balance: Option<f64>,
}

impl Runway {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?.with_headers(&[("x-runway-version", API_VERSION)]) })
    }

    async fn task(&self, id: &str) -> Result<Task, ProviderError> {
        let url = self.api.url(&format!("v1/tasks/{id}"))?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        wire::read_json(response).await
    }

    /// The endpoint and body for a job.
    fn request(job: &ProviderJob) -> Result<(&'static str, Value), ProviderError> {
        let mut body = json!({ "model": job.upstream_model });
        if !job.prompt.trim().is_empty() {
            body["promptText"] = json!(job.prompt);
        }
        for (ours, theirs) in [("ratio", "ratio"), ("duration", "duration"), ("seed", "seed")] {
            if let Some(value) = job.params.get(ours) {
                body[theirs] = value.to_json();
            }
        }
        // the catalog's `audio` choice (Veo 3.1) is Runway's `audio` flag
        if let Some(ParamValue::Text(audio)) = job.params.get("audio") {
            body["audio"] = json!(audio == "on");
        }
        if job.kind == MediaKind::Image {
            let references: Vec<Value> = job
                .references
                .iter()
                .filter(|r| r.role == ReferenceRole::Reference)
                .enumerate()
                // a cast member's tag, which the prompt names as `@tag`; else by position
                .map(|(n, r)| json!({ "uri": data_uri(r), "tag": r.tag.clone().unwrap_or_else(|| format!("ref{}", n + 1)) }))
                .collect();
            if !references.is_empty() {
                body["referenceImages"] = Value::Array(references);
            }
            return Ok(("text_to_image", body));
        }
        match job.references.iter().find(|r| r.role == ReferenceRole::FirstFrame) {
            Some(first) => {
                body["promptImage"] = json!(data_uri(first));
                Ok(("image_to_video", body))
            }
            None if IMAGE_TO_VIDEO_ONLY.contains(&job.upstream_model.as_str()) => {
                Err(ProviderError::InvalidInput(format!("{} animates an image: give it a first frame", job.model)))
            }
            None => Ok(("text_to_video", body)),
        }
    }

    fn status(task: &Task, kind: &str) -> UpstreamStatus {
        match task.status.as_str() {
            // THROTTLED: accepted over the concurrency limit, queued upstream (not an error)
            "PENDING" | "THROTTLED" => UpstreamStatus::Pending { progress: None, poll_after: None },
            "RUNNING" => UpstreamStatus::Pending { progress: task.progress.map(wire::percent), poll_after: None },
            "SUCCEEDED" if task.output.is_empty() => {
                UpstreamStatus::Failed(ProviderError::Transient("the task succeeded without an output".into()))
            }
            "SUCCEEDED" => {
                let content_type = (kind != "image").then(|| "video/mp4".to_string());
                let outputs = task.output.iter().map(|url| OutputRef::new(url.clone(), content_type.clone())).collect();
                UpstreamStatus::Succeeded { outputs, usage: None }
            }
            "FAILED" => UpstreamStatus::Failed(task_failure(task)),
            "CANCELLED" | "CANCELED" => UpstreamStatus::Failed(ProviderError::NotFound("the task was cancelled on Runway".into())),
            other => wire::unknown_status("runway", other, task.progress.map(wire::percent)),
        }
    }

    async fn get_output(&self, location: &str, cap: u64) -> Result<Result<ByteStream, u16>, ProviderError> {
        let url = url::Url::parse(location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        // signed CDN URLs: never send the key
        let response = wire::send(self.api.client().get(&url)).await?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return kit::stream_body(response, cap).map(Ok);
        }
        if matches!(status, 401 | 403 | 404 | 410) {
            return Ok(Err(status));
        }
        Err(ERRORS.error_from(response).await)
    }
}

/// An image as a `data:` URI (Runway takes them up to 5 MB).
fn data_uri(image: &ReferenceFile) -> String {
    format!("data:{};base64,{}", image.content_type, base64::engine::general_purpose::STANDARD.encode(&image.bytes))
}

/// The class of a FAILED task, by `failureCode` (`SAFETY.*` moderation, `INTERNAL.*`
/// retryable), then by its words.
fn task_failure(task: &Task) -> ProviderError {
    let code = task.failure_code.clone().unwrap_or_default();
    let message = match (&task.failure, code.is_empty()) {
        (Some(text), true) => text.clone(),
        (Some(text), false) => format!("{text} ({code})"),
        (None, false) => format!("the task failed ({code})"),
        (None, true) => "the task failed".into(),
    };
    let upper = code.to_ascii_uppercase();
    if upper.contains("SAFETY") {
        ProviderError::ContentPolicy(message)
    } else if upper.starts_with("INTERNAL") || upper.contains(".INTERNAL") {
        ProviderError::Transient(message)
    } else if upper.contains("CREDIT") {
        ProviderError::InsufficientUpstreamCredit(message)
    } else {
        wire::job_failure(&code, message)
    }
}

/// Runway's error table: `{"error": "..."}` (sometimes with `issues`), "not enough credits"
/// in a 4xx message, then the words and the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"error": "…" | {"message"}, "code"}` or `{"message"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let parsed: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let message = match parsed.get("error") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(error)) => error.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => parsed.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    let lower = message.to_ascii_lowercase();
    let out_of_credit = (400..500).contains(&answer.status) && (lower.contains("enough credits") || lower.contains("not enough credit"));
    let code = if out_of_credit { "insufficient_credit" } else { parsed.get("code").and_then(Value::as_str).unwrap_or_default() };
    ErrorReport { code: code.to_string(), message: Some(message), wait: None }
}

#[async_trait]
impl Provider for Runway {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (endpoint, body) = Self::request(job)?;
        let url = self.api.url(&format!("v1/{endpoint}"))?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let created: Created = wire::read_json(response).await?;
        if created.id.is_empty() {
            return Err(ProviderError::Transient("Runway accepted the task but gave no id".into()));
        }
        let data = [(KIND.to_string(), job.kind.as_str().to_string())].into();
        Ok(Submitted {
            handle: UpstreamHandle { id: created.id, data },
            status: UpstreamStatus::Pending { progress: None, poll_after: None },
        })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let task = self.task(&handle.id).await?;
        Ok(Self::status(&task, handle.data.get(KIND).map(String::as_str).unwrap_or("video")))
    }

    async fn fetch(&self, handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let status = match self.get_output(&output.location, cap).await? {
            Ok(stream) => return Ok(stream),
            Err(status) => status,
        };
        // output URLs expire (24-48 h): the task gives fresh ones for the same files
        let gone = || ProviderError::NotFound(format!("the output URL answered HTTP {status} (expired or removed)"));
        let old = url::Url::parse(&output.location).map_err(|_| gone())?;
        let task = match self.task(&handle.id).await {
            Ok(task) => task,
            Err(ProviderError::NotFound(_)) => return Err(gone()),
            Err(e) => return Err(e),
        };
        let fresh = task.output.into_iter().find(|u| u != &output.location && url::Url::parse(u).is_ok_and(|u| u.path() == old.path()));
        match fresh {
            Some(url) => self.get_output(&url, cap).await?.map_err(|_| gone()),
            None => Err(gone()),
        }
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.api.url(&format!("v1/tasks/{}", handle.id))?;
        self.api.send(self.api.client().delete(&url)).await.map(|_| ())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // on a finished task, DELETE removes the task and its outputs
        self.cancel(handle).await.map(|()| true)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let organization: Organization = self.api.get_json("v1/organization").await?;
        Ok(match organization.credit_balance {
            Some(credits) => format!("The Runway key works; the organization has {credits} credits."),
            None => "The Runway key works.".into(),
        })
    }
}

#[cfg(test)]
mod tests;
