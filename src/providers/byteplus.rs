//! ByteDance models on BytePlus ModelArk (and Volcengine Ark, by base URL): Seedance video as
//! an asynchronous task (`POST /contents/generations/tasks` with a `content[]` list of text
//! and inline `data:` media, polled at `GET /contents/generations/tasks/{id}`: queued,
//! running, succeeded, failed, cancelled, expired; `DELETE` cancels a queued task and deletes
//! a finished one), and Seedream images, answered at once by `POST /images/generations`
//! (base64, held in memory until custody). Bearer key; outputs on signed URLs (about 24 h)
//! are fetched without it. Errors are `{"error": {"code", "message"}}`. See
//! PROVIDERS-2026.md §1.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{OutboundError, read_capped};
use super::inline::{InlineOutputs, decode_base64};
use super::kit::{self, Api, Auth, BaseUrl, Class, ErrorAnswer, ErrorReport, ErrorTable, Region, StatusWords, int_param, text_param};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, usage, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: BytePlus's ap-southeast host (the one region serving Seedance);
/// `api/v3` belongs in the base. Volcengine Ark is `https://ark.cn-beijing.volces.com/api/v3`.
pub const BASE: BaseUrl = BaseUrl::in_base("https://ark.ap-southeast.bytepluses.com/api/v3").with_regions(&[
    Region { name: "ap-southeast", aliases: &["singapore", "international"], url: "https://ark.ap-southeast.bytepluses.com/api/v3" },
    // said to serve chat and images only: Seedance video only in ap-southeast (UNCONFIRMED)
    Region { name: "eu-west", aliases: &["eu"], url: "https://ark.eu-west.bytepluses.com/api/v3" },
    // Volcengine Ark, mainland China: its own accounts, keys and model ids (`doubao-seedance-…`)
    Region { name: "cn-beijing", aliases: &["volcengine", "china"], url: "https://ark.cn-beijing.volces.com/api/v3" },
]);

/// The video task endpoint.
const TASKS: &str = "contents/generations/tasks";

/// The handle entry marking a Seedream job, answered in the submit (no task upstream).
const IMAGES: (&str, &str) = ("wire", "images");

/// The largest Seedream answer accepted per requested image (base64 of a 50 MiB image, and headroom).
const ANSWER_CAP_PER_IMAGE: u64 = 72 * 1024 * 1024;

/// The video parameters passed through as given (the catalog checks their values).
const VIDEO_TEXT: &[&str] = &["resolution", "ratio"];
const VIDEO_INT: &[&str] = &["duration", "seed"];

/// The adapter for one connection.
pub struct BytePlus {
    api: Api,
    inline: InlineOutputs,
}

/// BytePlus's error codes (PROVIDERS-2026.md §1 "Errors and moderation"), matched whole or by
/// their family (the part before the first `.`: `InvalidParameter.duration`); others go by
/// the words and the HTTP status.
const CODES: &[(&str, Class)] = &[
    ("MissingParameter", Class::InvalidInput),
    ("InvalidParameter", Class::InvalidInput),
    ("InvalidEndpoint", Class::InvalidInput),
    ("ModelNotOpen", Class::InvalidInput),
    ("SensitiveContentDetected", Class::ContentPolicy),
    ("InputTextSensitiveContentDetected", Class::ContentPolicy),
    ("InputImageSensitiveContentDetected", Class::ContentPolicy),
    ("InputVideoSensitiveContentDetected", Class::ContentPolicy),
    ("InputAudioSensitiveContentDetected", Class::ContentPolicy),
    ("InputTextRiskDetection", Class::ContentPolicy),
    ("InputImageRiskDetection", Class::ContentPolicy),
    ("OutputTextRiskDetection", Class::ContentPolicy),
    ("OutputImageRiskDetection", Class::ContentPolicy),
    ("ContentSecurityDetectionError", Class::ContentPolicy),
    ("AuthenticationError", Class::Auth),
    ("AccessDenied", Class::Auth),
    ("AccountOverdueError", Class::Credit),
    ("TooManyRequests", Class::RateLimited),
    ("RateLimitExceeded", Class::RateLimited),
    ("ServerOverloaded", Class::Transient),
    ("InternalServiceError", Class::Transient),
];

/// The class a BytePlus code names, if any: the code, then its family, then (UNCONFIRMED:
/// the output-video moderation code is not documented) any `Output…` code that speaks of
/// sensitive content or risk.
fn class_of(code: &str) -> Option<Class> {
    let listed = CODES.iter().find(|(c, _)| *c == table_code(code)).map(|(_, class)| *class);
    let family = table_code(code);
    listed.or_else(|| {
        (family.starts_with("Output") && (family.contains("Sensitive") || family.contains("Risk"))).then_some(Class::ContentPolicy)
    })
}

/// The code as the table lists it: itself, else its family (`InvalidParameter.duration` →
/// `InvalidParameter`).
fn table_code(code: &str) -> &str {
    let family = code.split('.').next().unwrap_or(code);
    if CODES.iter().any(|(c, _)| *c == code) { code } else { family }
}

/// A person's sentence for what the provider's message alone leaves unclear.
fn explained(code: &str, message: String) -> String {
    match code {
        "ModelNotOpen" => format!("{message} (activate the model in the ModelArk console; Seedance 2.0 needs a prepaid resource pack)"),
        _ => message,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: Option<ErrorBody>,
}

/// Reads `{"error": {"code", "message", "param", "type"}}`; the code as its table entry has it.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let error = serde_json::from_slice::<ErrorEnvelope>(answer.body).ok().and_then(|e| e.error).unwrap_or_default();
    let code = error.code.unwrap_or_default();
    let message = error.message.map(|m| explained(&code, m));
    ErrorReport { code: table_code(&code).to_string(), message, wait: None }
}

static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: CODES, statuses: &[] };

/// A failed task's (or a failed image answer's) error: its class by the table, else by words.
fn failure(error: Option<&ErrorBody>, fallback: &str) -> ProviderError {
    let code = error.and_then(|e| e.code.clone()).unwrap_or_default();
    let message = error.and_then(|e| e.message.clone()).filter(|m| !m.is_empty()).unwrap_or_else(|| fallback.to_string());
    let message = explained(&code, if code.is_empty() { message } else { format!("{message} ({code})") });
    match class_of(&code) {
        Some(class) => class.error(message, None),
        None => wire::job_failure(&code, message),
    }
}

/// Seedance's task states; `expired` (past `execution_expires_after`, 3P) and `cancelled`
/// end the job with their own reasons.
static WORDS: StatusWords = StatusWords {
    provider: "byteplus",
    pending: &["queued", "running"],
    succeeded: &["succeeded"],
    failed: &["failed", "cancelled", "expired"],
};

/// A video task as the poll reports it (tolerant: unknown fields ignored).
#[derive(Debug, Deserialize)]
struct Task {
    #[serde(default)]
    status: String,
    error: Option<ErrorBody>,
    content: Option<TaskContent>,
    usage: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct TaskContent {
    video_url: Option<String>,
    last_frame_url: Option<String>,
}

impl Task {
    fn status(&self) -> UpstreamStatus {
        let succeeded = || {
            let content = self.content.as_ref();
            let url = |u: Option<&String>| u.filter(|u| !u.is_empty()).cloned();
            let mut outputs: Vec<OutputRef> =
                url(content.and_then(|c| c.video_url.as_ref())).map(|v| OutputRef::new(v, Some("video/mp4".into()))).into_iter().collect();
            // asked for with `return_last_frame`: a second output, to start the next clip from
            if !outputs.is_empty() {
                outputs.extend(url(content.and_then(|c| c.last_frame_url.as_ref())).map(|f| {
                    let content_type = kit::image_type_of_url(&f).to_string();
                    OutputRef::new(f, Some(content_type))
                }));
            }
            let tokens = self.usage.as_ref().and_then(|u| usage::number_at(u, &["completion_tokens"]));
            kit::outputs_or_missing(outputs, "BytePlus reported success without a video URL").with_usage(usage::units(tokens, "tokens"))
        };
        let failed = || match self.status.as_str() {
            "expired" => ProviderError::Timeout,
            "cancelled" => ProviderError::NotFound("the task was cancelled on BytePlus".into()),
            _ => failure(self.error.as_ref(), "BytePlus reported the video generation as failed"),
        };
        WORDS.status(&self.status, succeeded, failed)
    }
}

#[derive(Debug, Deserialize)]
struct Created {
    id: Option<String>,
}

/// The Seedream answer (tolerant).
#[derive(Debug, Deserialize)]
struct ImagesResponse {
    #[serde(default)]
    data: Vec<Image>,
    usage: Option<Value>,
    error: Option<ErrorBody>,
}

#[derive(Debug, Deserialize)]
struct Image {
    b64_json: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TaskList {
    total: Option<u64>,
}

/// Whether a choice parameter (off/on) is on.
fn is_on(job: &ProviderJob, name: &str) -> Option<bool> {
    text_param(&job.params, name).map(|v| v == "on")
}

/// The JSON body of a video task: the prompt and every reference as `content[]` items, inline
/// as `data:` URIs (BytePlus fetches URLs itself, and this instance's are not public; inline
/// video and audio are UNCONFIRMED, documented for images; roles are 3P-consistent,
/// UNCONFIRMED). A lone first frame goes without a role, as plain image-to-video (every Seedance takes it).
fn video_body(job: &ProviderJob) -> Value {
    let mut content = vec![json!({"type": "text", "text": job.prompt})];
    let lone_first_frame = matches!(job.references.as_slice(), [only] if only.role == ReferenceRole::FirstFrame);
    for reference in &job.references {
        let Some((kind, role)) = kit::content_item_of(reference.role) else { continue };
        let mut item = json!({"type": kind, kind: {"url": kit::data_uri(&reference.content_type, &reference.bytes)}});
        if !lone_first_frame {
            item["role"] = json!(role);
        }
        content.push(item);
    }
    let mut body = json!({"model": job.upstream_model, "content": content});
    for name in VIDEO_TEXT {
        if let Some(value) = text_param(&job.params, name) {
            body[*name] = json!(value);
        }
    }
    for name in VIDEO_INT {
        if let Some(value) = int_param(&job.params, name) {
            body[*name] = json!(value);
        }
    }
    // the catalog's `audio` choice (off/on) is Seedance's `generate_audio`
    if let Some(audio) = is_on(job, "audio") {
        body["generate_audio"] = json!(audio);
    }
    if let Some(last_frame) = is_on(job, "return_last_frame") {
        body["return_last_frame"] = json!(last_frame);
    }
    if let Some(callback) = &job.callback_url {
        body["callback_url"] = json!(callback.as_str());
    }
    body
}

/// The JSON body of a Seedream request: base64 answers, references as `data:` URIs (one as a
/// string, several as a list), several images as a sequential group.
fn image_body(job: &ProviderJob) -> Value {
    let mut body = json!({"model": job.upstream_model, "prompt": job.prompt, "response_format": "b64_json"});
    let images: Vec<String> = job.references.iter().map(|r| kit::data_uri(&r.content_type, &r.bytes)).collect();
    match images.as_slice() {
        [] => {}
        [one] => body["image"] = json!(one),
        _ => body["image"] = json!(images),
    }
    if let Some(size) = text_param(&job.params, "size") {
        body["size"] = json!(size);
    }
    if let Some(seed) = int_param(&job.params, "seed") {
        body["seed"] = json!(seed);
    }
    if job.output_count > 1 {
        body["sequential_image_generation"] = json!("auto");
        body["sequential_image_generation_options"] = json!({"max_images": job.output_count});
    }
    body
}

impl BytePlus {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?, inline: InlineOutputs::default() })
    }

    /// A Seedream request, answered with the images: each held in memory (or its URL kept).
    /// The images were made (and billed) once the answer arrived, so a failure from here on
    /// ends the job instead of being retried as a new submit.
    async fn submit_images(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let body = image_body(job);
        let url = self.api.url("images/generations")?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let id = job.generation.to_string();
        let handle = UpstreamHandle { id: id.clone(), data: [(IMAGES.0.to_string(), IMAGES.1.to_string())].into() };
        let status = self.images(&id, response, job.output_count).await;
        Ok(Submitted { handle, status })
    }

    async fn images(&self, job: &str, response: reqwest::Response, count: usize) -> UpstreamStatus {
        let cap = ANSWER_CAP_PER_IMAGE.saturating_mul(count.max(1) as u64);
        let answer: ImagesResponse = match read_capped(response, cap).await.map_err(wire::outbound).and_then(|b| wire::parse_json(&b)) {
            Ok(answer) => answer,
            Err(e) => return UpstreamStatus::Failed(e),
        };
        let mut outputs = Vec::new();
        for (n, image) in answer.data.into_iter().enumerate() {
            if let Some(b64) = image.b64_json.as_deref().filter(|b| !b.is_empty()) {
                match decode_base64(b64) {
                    // Seedream answers in JPEG unless told otherwise; custody sniffs the bytes
                    Ok(bytes) => outputs.push(self.inline.hold(job, n, "image/jpeg", bytes)),
                    Err(e) => {
                        self.inline.forget(job);
                        return UpstreamStatus::Failed(e);
                    }
                }
            } else if let Some(url) = image.url.filter(|u| !u.is_empty()) {
                let content_type = kit::image_type_of_url(&url).to_string();
                outputs.push(OutputRef::new(url, Some(content_type)));
            }
        }
        if outputs.is_empty() {
            return UpstreamStatus::Failed(failure(answer.error.as_ref(), "BytePlus answered without an image"));
        }
        let images = answer.usage.as_ref().and_then(|u| usage::number_at(u, &["generated_images"]));
        UpstreamStatus::Succeeded { outputs, usage: usage::units(images, "images") }
    }

    fn is_images(handle: &UpstreamHandle) -> bool {
        handle.data.get(IMAGES.0).is_some_and(|w| w == IMAGES.1)
    }

    /// `DELETE` of a task: cancels it while queued, deletes its record once finished.
    async fn delete_task(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.api.url(&format!("{TASKS}/{}", handle.id))?;
        self.api.send(self.api.client().delete(&url)).await.map(drop)
    }
}

#[async_trait]
impl Provider for BytePlus {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        if job.kind == MediaKind::Image {
            return self.submit_images(job).await;
        }
        let created: Created = self.api.post_json(TASKS, &video_body(job)).await?;
        let id =
            created.id.filter(|id| !id.is_empty()).ok_or_else(|| ProviderError::Transient("BytePlus answered without a task id".into()))?;
        Ok(Submitted {
            handle: UpstreamHandle { id, data: Default::default() },
            status: UpstreamStatus::Pending { progress: None, poll_after: None },
        })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if Self::is_images(handle) {
            return Err(ProviderError::NotFound("Seedream answers at once and keeps no job to poll".into()));
        }
        let task: Task = self.api.get_json(&format!("{TASKS}/{}", handle.id)).await?;
        Ok(task.status())
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if InlineOutputs::is_inline(output) {
            return self.inline.take(output, cap);
        }
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::NotFound(format!("not a BytePlus output: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProviderError::NotFound(format!("not a BytePlus output: {}", output.location)));
        }
        // signed object-storage URLs (about 24 h): the key never goes there
        let gone = |status| format!("BytePlus's output URL answered HTTP {status} (its links last about a day)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        if Self::is_images(handle) {
            return self.inline.cancel(handle);
        }
        // only a queued task can be cancelled (3P, UNCONFIRMED); a running one finishes
        self.delete_task(handle).await
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        if Self::is_images(handle) {
            return self.inline.delete(handle);
        }
        match self.delete_task(handle).await {
            Ok(()) => Ok(true),
            // already gone (records are kept about a week)
            Err(ProviderError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // payload and signature are undocumented (UNCONFIRMED: a gateway forwards the task
        // object): the id only triggers a poll
        let body: Value = serde_json::from_slice(&callback.body).unwrap_or(Value::Null);
        Ok(body.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_string))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let mut url = self.api.url(TASKS)?;
        url.query_pairs_mut().append_pair("page_num", "1").append_pair("page_size", "1");
        let list: TaskList = wire::read_json(self.api.send(self.api.client().get(&url)).await?).await?;
        Ok(match list.total {
            Some(total) => format!("The key works: the account has {total} video tasks on record."),
            None => "The key works.".into(),
        })
    }
}

#[cfg(test)]
mod tests;
