//! Alibaba Model Studio (DashScope): Wan 2.7 and HappyHorse video on the one asynchronous
//! endpoint `POST /services/aigc/video-generation/video-synthesis` (with `X-DashScope-Async:
//! enable`), polled at `GET /tasks/{task_id}` (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED,
//! UNKNOWN) and cancelled while pending at `POST /tasks/{task_id}/cancel`; Wan images answer
//! at once from `POST /services/aigc/multimodal-generation/generation` (see `image.rs`).
//! Bearer key; `/api/v1` lives in the base URL, and the host picks the region (key, host and
//! model must share one). Video references go through DashScope's temporary file storage
//! (see `upload.rs`), image references inline as `data:` URIs; outputs are signed OSS URLs
//! (kept about 24 hours), fetched without the key. No deletion endpoint exists.
//! See PROVIDERS-2026.md §2.

mod image;
mod upload;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, Class, ErrorAnswer, ErrorReport, ErrorTable, Region, StatusWords, outputs_or_missing};
use super::{ByteStream, Provider, ProviderError, ProviderJob, ReferenceFile, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention, as the DashScope SDK has it: Beijing by default; `/api/v1` in the
/// base. Singapore is `https://dashscope-intl.aliyuncs.com/api/v1` (or the workspace domain).
pub const BASE: BaseUrl = BaseUrl::in_base("https://dashscope.aliyuncs.com/api/v1").with_regions(&[
    Region { name: "cn-beijing", aliases: &["beijing", "china"], url: "https://dashscope.aliyuncs.com/api/v1" },
    // the legacy international host (still served); a workspace's own
    // `{WorkspaceId}.ap-southeast-1.maas.aliyuncs.com` domain goes in base_url
    Region { name: "ap-southeast-1", aliases: &["singapore", "intl", "international"], url: "https://dashscope-intl.aliyuncs.com/api/v1" },
    // listed on older Wan pages; Wan 2.7 and HappyHorse there are UNCONFIRMED
    Region { name: "us-east-1", aliases: &["virginia", "us"], url: "https://dashscope-us.aliyuncs.com/api/v1" },
]);

/// The video submit path.
const VIDEO: &str = "services/aigc/video-generation/video-synthesis";

/// The header every video submit needs (the HTTP API only runs video asynchronously).
const ASYNC: (&str, &str) = ("X-DashScope-Async", "enable");

/// The handle entry of an image request, which answered at once and keeps no task.
const SYNC: (&str, &str) = ("wire", "sync");

/// DashScope's error codes that decide a class. Alibaba's error-code page was not available
/// (UNCONFIRMED): these are the codes its APIs are commonly seen to answer; any other code
/// falls back to its words and the HTTP status.
const CODES: &[(&str, Class)] = &[
    ("InvalidApiKey", Class::Auth),
    ("AccessDenied", Class::Auth),
    ("AccessDenied.Unpurchased", Class::Auth),
    ("Arrearage", Class::Credit),
    ("DataInspectionFailed", Class::ContentPolicy),
    ("DataInspection", Class::ContentPolicy),
    ("IPInfringementSuspect", Class::ContentPolicy),
    ("InvalidParameter", Class::InvalidInput),
    ("InvalidParameter.DataInspection", Class::ContentPolicy),
    ("Throttling", Class::RateLimited),
    ("Throttling.RateQuota", Class::RateLimited),
    ("Throttling.AllocationQuota", Class::RateLimited),
    ("InternalError", Class::Transient),
    ("InternalError.Timeout", Class::Transient),
];

static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: CODES, statuses: &[] };

/// The native error body `{"code", "message", "request_id"}` (read tolerantly).
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let body: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    let code = field("code");
    // a refused key gets the kit's word on regions (keys are bound to one)
    let message = field("message");
    ErrorReport { code, message: Some(message.trim().to_string()), wait: None }
}

/// The class of a failed task from its `output.code` and `output.message`.
fn task_failure(code: Option<&str>, message: Option<&str>) -> ProviderError {
    let code = code.unwrap_or_default();
    let message = message.filter(|m| !m.trim().is_empty()).unwrap_or("DashScope reported the task as failed").to_string();
    match CODES.iter().find(|(known, _)| *known == code) {
        Some((_, class)) => class.error(message, None),
        None => wire::job_failure(code, message),
    }
}

/// DashScope's task states (one L in CANCELED); CANCELED and UNKNOWN are read apart.
static WORDS: StatusWords =
    StatusWords { provider: "dashscope", pending: &["PENDING", "RUNNING"], succeeded: &["SUCCEEDED"], failed: &["FAILED"] };

/// A submit's or a query's answer.
#[derive(Debug, Deserialize)]
struct Answer {
    output: Option<Task>,
}

#[derive(Debug, Default, Deserialize)]
struct Task {
    task_id: Option<String>,
    #[serde(default)]
    task_status: String,
    video_url: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

impl Task {
    fn status(&self) -> UpstreamStatus {
        match self.task_status.as_str() {
            "CANCELED" | "CANCELLED" => UpstreamStatus::Failed(ProviderError::NotFound("the task was cancelled on DashScope".into())),
            // UNKNOWN: the task is not known, or it expired (DashScope keeps tasks 24 hours);
            // the meaning is UNCONFIRMED, read as gone
            "UNKNOWN" => {
                UpstreamStatus::Failed(ProviderError::NotFound("DashScope no longer knows the task (tasks expire after 24 hours)".into()))
            }
            word => WORDS.status(
                word,
                || {
                    let outputs = self.video_url.iter().map(|url| OutputRef::new(url.clone(), Some("video/mp4".into()))).collect();
                    outputs_or_missing(outputs, "DashScope reported success without a video URL")
                },
                || task_failure(self.code.as_deref(), self.message.as_deref()),
            ),
        }
    }
}

/// A reference as the `data:` URI DashScope takes in place of a public URL (its docs name
/// public HTTP(S) and `oss://` URLs for Wan 2.7 media; inline data as for the images API is
/// UNCONFIRMED for video). Never a URL of this instance.
fn data_uri(reference: &ReferenceFile) -> String {
    format!("data:{};base64,{}", reference.content_type, base64::engine::general_purpose::STANDARD.encode(&reference.bytes))
}

/// The `media[].type` of a reference, by the SDK's `MediaType` names.
fn media_type(role: ReferenceRole) -> Option<&'static str> {
    match role {
        ReferenceRole::FirstFrame => Some("first_frame"),
        ReferenceRole::LastFrame => Some("last_frame"),
        ReferenceRole::Reference => Some("reference_image"),
        // the video an edit model (`wan2.7-videoedit`, `happyhorse-1.0-video-edit`) changes
        ReferenceRole::SourceVideo => Some("video"),
        ReferenceRole::ReferenceVideo => Some("reference_video"),
        ReferenceRole::DrivingAudio => Some("driving_audio"),
        // a reference voice rides on another media item; no catalog model offers it yet
        ReferenceRole::ReferenceAudio => None,
    }
}

/// The JSON body of a video job (the Wan 2.7 protocol, which HappyHorse shares): the prompt,
/// the `media[]` items (in order: they name `Image 1`, `Video 1`… in the prompt), and the
/// catalog's `resolution`, `ratio`, `duration`, `seed` and `audio_setting` as given. The
/// watermark is always off.
fn video_body(job: &ProviderJob, media: Vec<Value>) -> Value {
    let mut input = json!({"prompt": job.prompt});
    if let Some(negative) = job.negative_prompt.as_ref().filter(|n| !n.is_empty()) {
        input["negative_prompt"] = json!(negative);
    }
    if !media.is_empty() {
        input["media"] = json!(media);
    }
    let mut parameters = json!({"watermark": false});
    for name in ["resolution", "ratio", "duration", "seed", "audio_setting"] {
        match job.params.get(name) {
            Some(ParamValue::Int(n)) => parameters[name] = json!(n),
            Some(ParamValue::Text(t)) => parameters[name] = json!(t),
            None => {}
        }
    }
    json!({"model": job.upstream_model, "input": input, "parameters": parameters})
}

/// The adapter for one connection.
pub struct DashScope {
    api: Api,
}

impl DashScope {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)? })
    }

    async fn submit_video(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        // each reference DashScope takes, stored in its file storage, named by its `oss://` URL
        let mut media = Vec::new();
        for (n, reference) in job.references.iter().enumerate() {
            if let Some(kind) = media_type(reference.role) {
                let url = upload::to_oss(&self.api, &job.upstream_model, job.generation, n, reference).await?;
                media.push(json!({"type": kind, "url": url}));
            }
        }
        let resolve = !media.is_empty();
        let body = video_body(job, media);
        let request = self.api.client().post(&self.api.url(VIDEO)?).map(|r| {
            let r = r.header(ASYNC.0, ASYNC.1);
            if resolve { r.header(upload::RESOLVE.0, upload::RESOLVE.1).json(&body) } else { r.json(&body) }
        });
        let answer: Answer = wire::read_json(self.api.send(request).await?).await?;
        let task = answer.output.unwrap_or_default();
        let id = task.task_id.clone().filter(|id| !id.is_empty());
        let id = id.ok_or_else(|| ProviderError::Transient("DashScope answered the submit without a task_id".into()))?;
        Ok(Submitted { handle: UpstreamHandle { id, data: Default::default() }, status: task.status() })
    }
}

#[async_trait]
impl Provider for DashScope {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        match job.kind {
            MediaKind::Video => self.submit_video(job).await,
            MediaKind::Image => image::submit(&self.api, job).await,
        }
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if handle.data.get(SYNC.0).is_some_and(|w| w == SYNC.1) {
            return Err(ProviderError::NotFound("DashScope's image endpoint answers at once and keeps no task to poll".into()));
        }
        let answer: Answer = self.api.get_json(&format!("tasks/{}", handle.id)).await?;
        Ok(answer.output.unwrap_or_default().status())
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        // signed OSS URLs: fetched without the key (it never leaves for another host)
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let gone = |status| format!("DashScope's output URL answered HTTP {status} (its URLs expire after 24 hours)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        if handle.data.contains_key(SYNC.0) {
            return Ok(());
        }
        let request = self.api.client().post(&self.api.url(&format!("tasks/{}/cancel", handle.id))?);
        match self.api.send(request).await {
            // only a PENDING task can be cancelled: a running one is refused, and runs out
            Ok(_) | Err(ProviderError::InvalidInput(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        // listing one task is the cheapest authenticated call
        let mut url = self.api.url("tasks")?;
        url.query_pairs_mut().append_pair("page_no", "1").append_pair("page_size", "1");
        let _: Value = wire::read_json(self.api.send(self.api.client().get(&url)).await?).await?;
        Ok("DashScope accepted the key.".into())
    }
}

#[cfg(test)]
mod tests;
