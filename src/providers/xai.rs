//! xAI Grok Imagine (`https://api.x.ai/v1`, Bearer key). Images are synchronous: JSON
//! `POST /images/generations`, or `POST /images/edits` with the references inline as
//! `{url: data URI, type: "image_url"}` (`image` for one, `images` for several); the answer
//! names each image by a temporary URL. Video is a "deferred" request: `POST /videos/generations`
//! (text, a start frame as `image`, or `reference_images`), `POST /videos/edits` (an earlier
//! video changed as the prompt says) or `POST /videos/extensions` (an earlier video continued;
//! the result is the input plus the extension), the source video inline as `video: {url}`,
//! answers `{request_id}`, polled at
//! `GET /videos/{request_id}` (HTTP 202 while running, sometimes with an empty body; then
//! `pending | done | failed | expired`, and `done` with `respect_moderation: false` when
//! moderation blocked the video). Outputs are fetched without the key. The API has no cancel or
//! delete. xAI publishes no REST reference (its SDK speaks gRPC): the shapes here come from its
//! docs and third-party clients, so answers are read tolerantly. See PROVIDERS-2026.md §3.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, Class, ErrorAnswer, ErrorReport, ErrorTable, StatusWords, outputs_or_missing};
use super::{ByteStream, Provider, ProviderError, ProviderJob, ReferenceFile, Submitted, UpstreamStatus, usage, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, Operation, ReferenceRole};
use crate::domain::generation::{OutputRef, ProviderUsage, UpstreamHandle};

/// The base URL convention: `/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://api.x.ai/v1");

/// The handle entry that marks a synchronous image request (nothing to poll upstream).
const IMAGE_HANDLE: (&str, &str) = ("kind", "image");

/// The catalog parameters passed through as they are, per kind (the catalog checks values).
const IMAGE_PARAMS: &[&str] = &["aspect_ratio", "resolution", "quality", "seed"];
const VIDEO_PARAMS: &[&str] = &["duration", "aspect_ratio", "resolution"];

/// The catalog parameters an extension takes (edits take none: they keep the source's shape).
const EXTEND_PARAMS: &[&str] = &["duration"];

/// The largest video xAI edits (its docs; longer than 8.7 s is refused upstream too).
const MAX_EDIT_BYTES: usize = 50 * 1024 * 1024;

/// The most reference images a reference-to-video request takes.
const MAX_VIDEO_REFERENCES: usize = 7;

/// The adapter for one connection.
pub struct Xai {
    api: Api,
}

/// The error table: xAI's body is OpenAI-like `{"error": {"message", "type", "code"}}` or
/// `{"code", "error": "<message>"}` (both seen in third-party clients; UNCONFIRMED), then the
/// shared classes by words and status.
static ERRORS: ErrorTable = ErrorTable {
    read: read_error,
    codes: &[
        ("content_policy_violation", Class::ContentPolicy),
        ("moderation_blocked", Class::ContentPolicy),
        ("insufficient_quota", Class::Credit),
        ("rate_limit_exceeded", Class::RateLimited),
        ("invalid_argument", Class::InvalidInput),
        ("invalid_request_error", Class::InvalidInput),
        ("internal_error", Class::Transient),
    ],
    statuses: &[(402, Class::Credit)],
};

/// Reads either error shape.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let body: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    match body.get("error") {
        Some(Value::Object(_)) => {
            let error = &body["error"];
            let code = text(error.get("code")).or_else(|| text(error.get("type"))).unwrap_or_default();
            ErrorReport { code, message: text(error.get("message")), wait: None }
        }
        Some(Value::String(message)) => {
            ErrorReport { code: text(body.get("code")).unwrap_or_default(), message: Some(message.clone()), wait: None }
        }
        _ => ErrorReport { code: text(body.get("code")).unwrap_or_default(), message: text(body.get("message")), wait: None },
    }
}

/// The deferred video states (HTTP 202 with no body counts as `pending`).
static WORDS: StatusWords =
    StatusWords { provider: "xai", pending: &["pending", "queued", "processing"], succeeded: &["done"], failed: &["failed"] };

/// The answer to an image request (tolerant: unknown fields ignored).
#[derive(Debug, Deserialize)]
struct Images {
    #[serde(default)]
    data: Vec<Image>,
    usage: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Image {
    url: Option<String>,
    /// `false` when moderation withheld the image (third-party clients; UNCONFIRMED).
    respect_moderation: Option<bool>,
}

/// The answer to a video submit.
#[derive(Debug, Deserialize)]
struct Deferred {
    request_id: String,
}

/// A deferred video request as polled (every field optional: the REST shape is UNCONFIRMED).
#[derive(Debug, Default, Deserialize)]
struct VideoRequest {
    status: Option<String>,
    video: Option<Video>,
    progress: Option<f64>,
    error: Option<JobError>,
    usage: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Video {
    url: Option<String>,
    respect_moderation: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct JobError {
    code: Option<String>,
    message: Option<String>,
}

/// A reference (image or video) as xAI takes it from a server off the public internet: a
/// `data:` URI.
fn inline_url(reference: &ReferenceFile) -> Value {
    json!({"url": kit::data_uri(&reference.content_type, &reference.bytes)})
}

/// US-dollar ticks per US cent (xAI bills in 1e-10 USD ticks; UNCONFIRMED for REST).
const TICKS_PER_CENT: f64 = 1e8;

/// What a request cost, from `usage.cost_in_usd_ticks`.
fn reported_usage(usage: Option<&Value>) -> Option<ProviderUsage> {
    let cents = usage.and_then(|u| usage::number_at(u, &["cost_in_usd_ticks"])).map(|ticks| ticks / TICKS_PER_CENT);
    usage::cost(cents, None, "usd")
}

/// Copies the catalog parameters `names` into `body` as they are.
fn pass_through(body: &mut Value, job: &ProviderJob, names: &[&str]) {
    for name in names {
        if let Some(value) = job.params.get(*name) {
            body[*name] = value.to_json();
        }
    }
}

fn moderated(what: &str) -> ProviderError {
    ProviderError::ContentPolicy(format!("xAI's moderation withheld the {what}"))
}

impl Xai {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)? })
    }

    /// The path and body of an image request: a generation, or an edit of the references.
    fn image_request(job: &ProviderJob) -> (&'static str, Value) {
        let mut body = json!({"model": job.upstream_model, "prompt": job.prompt, "n": job.output_count.max(1), "response_format": "url"});
        pass_through(&mut body, job, IMAGE_PARAMS);
        let images: Vec<Value> = job
            .references
            .iter()
            .filter(|r| r.role == ReferenceRole::Reference)
            .map(|r| {
                let mut image = inline_url(r);
                image["type"] = json!("image_url");
                image
            })
            .collect();
        match images.len() {
            0 => ("images/generations", body),
            1 => {
                body["image"] = images.into_iter().next().unwrap_or_default();
                ("images/edits", body)
            }
            _ => {
                body["images"] = Value::Array(images);
                ("images/edits", body)
            }
        }
    }

    /// The body of a video request; a start frame and reference images do not mix.
    fn video_body(job: &ProviderJob) -> Result<Value, ProviderError> {
        let mut body = json!({"model": job.upstream_model, "prompt": job.prompt});
        pass_through(&mut body, job, VIDEO_PARAMS);
        // the catalog's `audio` choice (off/on) is xAI's `generate_audio` flag
        if let Some(audio) = kit::text_param(&job.params, "audio") {
            body["generate_audio"] = json!(audio == "on");
        }
        let first = job.references.iter().find(|r| r.role == ReferenceRole::FirstFrame);
        let tagged: Vec<&ReferenceFile> = job.references.iter().filter(|r| r.role == ReferenceRole::Reference).collect();
        // the prompt names reference images `<IMAGE_0>`…: a cast member's `@tag` becomes its number
        if tagged.iter().any(|r| r.tag.is_some()) {
            body["prompt"] = json!(kit::tags::numbered(&job.prompt, &tagged, |i| format!("<IMAGE_{i}>")));
        }
        let references: Vec<Value> = tagged.iter().copied().map(inline_url).collect();
        if first.is_some() && !references.is_empty() {
            return Err(ProviderError::InvalidInput(format!("{} takes either a start frame or reference images, not both", job.model)));
        }
        if references.len() > MAX_VIDEO_REFERENCES {
            return Err(ProviderError::InvalidInput(format!("{} takes at most {MAX_VIDEO_REFERENCES} reference images", job.model)));
        }
        if let Some(first) = first {
            body["image"] = inline_url(first);
        }
        if !references.is_empty() {
            body["reference_images"] = Value::Array(references);
        }
        Ok(body)
    }

    async fn submit_image(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (path, body) = Self::image_request(job);
        let images: Images = self.api.post_json(path, &body).await?;
        let handle = UpstreamHandle {
            id: job.generation.to_string(),
            data: [IMAGE_HANDLE].into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        };
        let status = if images.data.iter().any(|i| i.respect_moderation == Some(false)) {
            UpstreamStatus::Failed(moderated("image"))
        } else {
            let outputs = images
                .data
                .iter()
                .filter_map(|i| i.url.clone().filter(|u| !u.is_empty()))
                .map(|url| {
                    let content_type = kit::image_type_of_url(&url).to_string();
                    OutputRef::new(url, Some(content_type))
                })
                .collect();
            outputs_or_missing(outputs, "xAI answered without an image").with_usage(reported_usage(images.usage.as_ref()))
        };
        Ok(Submitted { handle, status })
    }

    /// The path and body of an edit or extension of the job's `source_video`.
    fn source_video_request(job: &ProviderJob, operation: Operation) -> Result<(&'static str, Value), ProviderError> {
        let source = job
            .references
            .iter()
            .find(|r| r.role == ReferenceRole::SourceVideo)
            .ok_or_else(|| ProviderError::InvalidInput(format!("{} needs the video to {}", job.model, operation.as_str())))?;
        let mut body = json!({"model": job.upstream_model, "prompt": job.prompt, "video": inline_url(source)});
        match operation {
            Operation::Edit if source.bytes.len() > MAX_EDIT_BYTES => {
                Err(ProviderError::InvalidInput(format!("{} edits videos of at most 50 MB", job.model)))
            }
            Operation::Edit => Ok(("videos/edits", body)),
            Operation::Extend => {
                pass_through(&mut body, job, EXTEND_PARAMS);
                Ok(("videos/extensions", body))
            }
            Operation::Enhance => Err(ProviderError::InvalidInput(format!("xAI cannot enhance a video ({})", job.model))),
        }
    }

    async fn submit_video(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (path, body) = match job.operation {
            Some(operation) => Self::source_video_request(job, operation)?,
            None => ("videos/generations", Self::video_body(job)?),
        };
        let deferred: Deferred = self.api.post_json(path, &body).await?;
        let handle = UpstreamHandle { id: deferred.request_id, data: Default::default() };
        Ok(Submitted { handle, status: UpstreamStatus::Pending { progress: None, poll_after: None } })
    }

    fn video_status(request: &VideoRequest) -> UpstreamStatus {
        let progress = request.progress.map(wire::percent);
        let word = request.status.as_deref().unwrap_or("pending");
        if word == "expired" {
            return UpstreamStatus::Failed(ProviderError::NotFound("the video request expired on xAI".into()));
        }
        let succeeded = || {
            let video = request.video.as_ref();
            if video.and_then(|v| v.respect_moderation) == Some(false) {
                return UpstreamStatus::Failed(moderated("video"));
            }
            let outputs = video
                .and_then(|v| v.url.clone())
                .filter(|u| !u.is_empty())
                .map(|url| OutputRef::new(url, Some("video/mp4".into())))
                .into_iter()
                .collect();
            outputs_or_missing(outputs, "xAI reported the video done without a URL").with_usage(reported_usage(request.usage.as_ref()))
        };
        let failure = || {
            let error = request.error.as_ref();
            let message = error.and_then(|e| e.message.clone()).unwrap_or_else(|| "xAI reported the video generation as failed".into());
            let code = error.and_then(|e| e.code.clone()).unwrap_or_default();
            match ERRORS.codes.iter().find(|(c, _)| *c == code) {
                Some((_, class)) => class.error(message, None),
                None => wire::job_failure(&code, message),
            }
        };
        match WORDS.status(word, succeeded, failure) {
            UpstreamStatus::Pending { poll_after, .. } => UpstreamStatus::Pending { progress, poll_after },
            status => status,
        }
    }
}

#[async_trait]
impl Provider for Xai {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        // job.callback_url is not sent: xAI takes no webhook
        match job.kind {
            MediaKind::Image => self.submit_image(job).await,
            MediaKind::Video => self.submit_video(job).await,
        }
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if handle.data.get(IMAGE_HANDLE.0).is_some_and(|k| k == IMAGE_HANDLE.1) {
            return Err(ProviderError::NotFound("xAI answers image requests at once and keeps no job to poll".into()));
        }
        let url = self.api.url(&format!("videos/{}", handle.id))?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        let running = response.status().as_u16() == 202;
        let body = super::http::read_capped(response, wire::JSON_CAP).await.map_err(wire::outbound)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            // a 202 may come with no body at all: still running
            return Ok(UpstreamStatus::Pending { progress: None, poll_after: None });
        }
        let mut request: VideoRequest = wire::parse_json(&body)?;
        if running && request.status.is_none() {
            request.status = Some("pending".into());
        }
        Ok(Self::video_status(&request))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let gone = |status| format!("xAI's output URL answered HTTP {status} (expired?)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    // no cancel or delete in the API; output URLs are temporary
}

#[cfg(test)]
mod tests;
