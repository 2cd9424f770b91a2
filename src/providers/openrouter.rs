//! OpenRouter's Video API (`https://openrouter.ai/api/v1`, Bearer key), an aggregator routing
//! one request shape to many video models: `POST /videos` answers 202 `{id, polling_url,
//! status}`, the job is polled at `GET /videos/{id}` (pending, in_progress, then completed,
//! failed, cancelled or expired) and each output is read from the API itself at
//! `GET /videos/{id}/content?index=N` with the key. Start and end frames go as `frame_images`,
//! other references as `input_references`, all inline as `data:` URLs. `GET /videos/models`
//! lists the models with their allowed values: [`Provider::discover`] turns it into catalog
//! entries (`models`). Webhooks are signed `X-OpenRouter-Signature: t=<ts>,v1=<hex>` and only
//! prompt a poll. See PROVIDERS-2026.md §5.

mod models;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, Class, ErrorAnswer, ErrorReport, ErrorTable, StatusWords, int_param, text_param};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, usage, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{ModelEntry, ReferenceRole};
use crate::domain::generation::{OutputRef, ProviderUsage, UpstreamHandle};

pub use models::{discovered_id, entries_from};

/// The base URL convention: `api/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://openrouter.ai/api/v1");

/// The largest request body OpenRouter takes (larger answers 413).
const BODY_CAP: usize = 50 * 1024 * 1024;

/// How old a signed webhook may be.
const WEBHOOK_TOLERANCE: Duration = Duration::from_secs(300);

/// The adapter for one connection.
pub struct OpenRouter {
    api: Api,
    /// The workspace's webhook signing secret (the connection's `secret_key`), when set.
    webhook_secret: Option<Secret>,
}

/// OpenRouter's errors are `{"error": {"code": <HTTP status or word>, "message", "metadata"}}`.
/// 402 is an empty balance, 413 a body over 50 MiB, 409 a job to continue that has not
/// completed; the rest go by the shared words and statuses (429 with `Retry-After`).
static ERRORS: ErrorTable = ErrorTable {
    read: read_error,
    codes: &[("moderation", Class::ContentPolicy), ("content_policy_violation", Class::ContentPolicy)],
    statuses: &[(402, Class::Credit), (413, Class::InvalidInput), (409, Class::InvalidInput)],
};

fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let body: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let error = body.get("error").unwrap_or(&body);
    let code = match error.get("code") {
        Some(Value::String(code)) => code.clone(),
        _ => String::new(),
    };
    let message = match error {
        Value::String(message) => Some(message.clone()),
        _ => error.get("message").and_then(Value::as_str).map(str::to_string),
    };
    ErrorReport { code, message, wait: None }
}

/// The job states; only these are terminal (anything else keeps the job waiting).
static WORDS: StatusWords = StatusWords {
    provider: "openrouter",
    pending: &["pending", "in_progress"],
    succeeded: &["completed"],
    failed: &["failed", "cancelled", "expired"],
};

/// The answer to a submit.
#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

/// A job as polled (read tolerantly: unknown fields ignored).
#[derive(Debug, Default, Deserialize)]
struct Job {
    #[serde(default)]
    status: String,
    /// Outputs on the API host, read with the key.
    #[serde(default)]
    unsigned_urls: Vec<String>,
    /// Signed storage URLs the docs mention beside them (field name UNCONFIRMED); only counted.
    #[serde(default)]
    urls: Vec<String>,
    usage: Option<Value>,
    error: Option<Value>,
}

/// The catalog parameters passed through as they are (the catalog checks their values).
const TEXT_PARAMS: &[&str] = &["resolution", "aspect_ratio"];
const INT_PARAMS: &[&str] = &["duration", "seed"];

/// An inline media part: `{type: "image_url", image_url: {url: "data:…"}}`.
fn media_part(kind: &str, content_type: &str, bytes: &[u8]) -> Value {
    json!({"type": kind, kind: {"url": kit::data_uri(content_type, bytes)}})
}

/// What a job cost, from `usage.cost` (US dollars).
fn reported_usage(usage: Option<&Value>) -> Option<ProviderUsage> {
    let cents = usage.and_then(|u| usage::number_at(u, &["cost"])).map(|usd| usd * 100.0);
    usage::cost(cents, None, "usd")
}

impl OpenRouter {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?, webhook_secret: config.secret_key.clone() })
    }

    /// The submit body of `job`.
    fn body(job: &ProviderJob) -> Result<Value, ProviderError> {
        let mut body = json!({"model": job.upstream_model, "prompt": job.prompt});
        for name in TEXT_PARAMS {
            if let Some(value) = text_param(&job.params, name) {
                body[*name] = value.into();
            }
        }
        for name in INT_PARAMS {
            if let Some(value) = int_param(&job.params, name) {
                body[*name] = value.into();
            }
        }
        // the catalog's `audio` choice (off/on) is `generate_audio`
        if let Some(audio) = text_param(&job.params, "audio") {
            body["generate_audio"] = json!(audio == "on");
        }
        let mut frames = Vec::new();
        let mut references = Vec::new();
        for r in &job.references {
            let (content_type, bytes) = (r.content_type.as_str(), &r.bytes[..]);
            match r.role {
                ReferenceRole::FirstFrame | ReferenceRole::LastFrame => {
                    let mut frame = media_part("image_url", content_type, bytes);
                    frame["frame_type"] = if r.role == ReferenceRole::FirstFrame { "first_frame" } else { "last_frame" }.into();
                    frames.push(frame);
                }
                ReferenceRole::Reference => references.push(media_part("image_url", content_type, bytes)),
                ReferenceRole::ReferenceVideo => references.push(media_part("video_url", content_type, bytes)),
                ReferenceRole::ReferenceAudio => references.push(media_part("audio_url", content_type, bytes)),
                // continued by the job's id below, not by its bytes
                ReferenceRole::SourceVideo => {}
                ReferenceRole::DrivingAudio => {
                    return Err(ProviderError::InvalidInput(format!("{} takes no driving audio through OpenRouter", job.model)));
                }
            }
        }
        if !frames.is_empty() && !references.is_empty() {
            // OpenRouter would silently drop the references
            return Err(ProviderError::InvalidInput(format!("{} takes either start/end frames or references, not both", job.model)));
        }
        if !frames.is_empty() {
            body["frame_images"] = Value::Array(frames);
        }
        if !references.is_empty() {
            body["input_references"] = Value::Array(references);
        }
        if job.references.iter().any(|r| r.role == ReferenceRole::SourceVideo) {
            // `previous_job_id` is in the vendor's skill, not yet in its SDK types (UNCONFIRMED)
            let source = job
                .source
                .as_ref()
                .ok_or_else(|| ProviderError::InvalidInput(format!("{} needs an output made through this connection", job.model)))?;
            body["previous_job_id"] = source.handle.id.clone().into();
        }
        if let Some(callback) = job.callback_url.as_ref().filter(|u| u.scheme() == "https") {
            body["callback_url"] = callback.as_str().into();
        }
        Ok(body)
    }

    /// Where output `index` of job `id` is read: on the API host itself.
    fn content_url(&self, id: &str, index: usize) -> Result<url::Url, ProviderError> {
        let mut url = self.api.url(&format!("videos/{id}/content"))?;
        url.query_pairs_mut().append_pair("index", &index.to_string());
        Ok(url)
    }

    fn status(&self, id: &str, job: &Job) -> UpstreamStatus {
        let succeeded = || {
            let count = job.unsigned_urls.len().max(job.urls.len()).max(1);
            let outputs = (0..count)
                .filter_map(|i| self.content_url(id, i).ok())
                .map(|url| OutputRef::new(url.to_string(), Some("video/mp4".into())))
                .collect();
            kit::outputs_or_missing(outputs, "OpenRouter reported the video done without an output")
                .with_usage(reported_usage(job.usage.as_ref()))
        };
        let failure = || match job.status.as_str() {
            "cancelled" => ProviderError::NotFound("the job was cancelled on OpenRouter".into()),
            "expired" => ProviderError::NotFound("the job expired on OpenRouter".into()),
            _ => {
                let (code, message) = match &job.error {
                    Some(Value::String(message)) => (String::new(), message.clone()),
                    Some(error) => (
                        error.get("code").map(|c| c.to_string().trim_matches('"').to_string()).unwrap_or_default(),
                        error.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
                    ),
                    None => (String::new(), String::new()),
                };
                let message = if message.is_empty() { "OpenRouter reported the video generation as failed".into() } else { message };
                wire::job_failure(&code, message)
            }
        };
        WORDS.status(&job.status, succeeded, failure)
    }
}

/// Checks `X-OpenRouter-Signature: t=<ts>,v1=<hex>`: HMAC-SHA256 with `secret` over
/// `"<ts>,<raw body>"`, made within [`WEBHOOK_TOLERANCE`] of `now`.
fn verify_signature(secret: &[u8], callback: &Callback, now: SystemTime) -> Result<(), ProviderError> {
    let refused = |why: &str| ProviderError::Auth(format!("the webhook's X-OpenRouter-Signature {why}"));
    let header = callback.header("x-openrouter-signature").ok_or_else(|| refused("is missing"))?;
    let field = |name: &str| header.split(',').find_map(|part| part.trim().strip_prefix(name)).map(str::trim);
    let timestamp = field("t=").ok_or_else(|| refused("has no timestamp"))?;
    let signature = hex::decode(field("v1=").ok_or_else(|| refused("has no v1 signature"))?).map_err(|_| refused("is not hex"))?;
    let at = timestamp.parse::<u64>().map_err(|_| refused("has a timestamp that is not a number"))?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if now.abs_diff(at) > WEBHOOK_TOLERANCE.as_secs() {
        return Err(refused("is stale (more than 5 minutes from now)"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b",");
    mac.update(&callback.body);
    mac.verify_slice(&signature).map_err(|_| refused("does not match"))
}

/// The job a webhook concerns: the body's `id` (or `data.id`, `job_id`; the event body is
/// UNCONFIRMED), else the idempotency key `<job_id>-<status>`.
fn webhook_job(callback: &Callback) -> Option<String> {
    let body: Value = serde_json::from_slice(&callback.body).unwrap_or(Value::Null);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    text(body.get("id"))
        .or_else(|| text(body.get("data").and_then(|d| d.get("id"))))
        .or_else(|| text(body.get("job_id")))
        .or_else(|| callback.header("x-openrouter-idempotency-key").and_then(|k| k.rsplit_once('-')).map(|(id, _)| id.to_string()))
}

#[async_trait]
impl Provider for OpenRouter {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let body = Self::body(job)?;
        if serde_json::to_vec(&body).map_or(0, |b| b.len()) > BODY_CAP {
            return Err(ProviderError::InvalidInput("the request with its references is over OpenRouter's 50 MiB limit".into()));
        }
        let created: Created = self.api.post_json("videos", &body).await?;
        let handle = UpstreamHandle { id: created.id, data: Default::default() };
        Ok(Submitted { handle, status: UpstreamStatus::Pending { progress: None, poll_after: None } })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let job: Job = self.api.get_json(&format!("videos/{}", handle.id)).await?;
        Ok(self.status(&handle.id, &job))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        if url.origin() == self.api.base().origin() {
            // the API's own content endpoint: read with the key
            let response = self.api.send(self.api.client().get(&url)).await?;
            return kit::stream_body(response, cap);
        }
        // any other host never receives the key
        let gone = |status| format!("OpenRouter's output URL answered HTTP {status} (expired?)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    // no cancel endpoint (UNCONFIRMED), and no deletion: outputs are kept temporarily

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        if let Some(secret) = &self.webhook_secret {
            verify_signature(secret.expose().as_bytes(), callback, SystemTime::now())?;
        }
        Ok(webhook_job(callback))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        // `GET /key` describes the key (OpenRouter's general API; UNCONFIRMED for video accounts)
        let key: Value = self.api.get_json("key").await?;
        let remaining = usage::number_at(&key, &["data", "limit_remaining"]);
        Ok(match remaining {
            Some(usd) => format!("The key works: it has {usd:.2} US dollars of its limit left."),
            None => "The key works.".into(),
        })
    }

    async fn discover(&self) -> Option<Result<Vec<ModelEntry>, ProviderError>> {
        let answer = self.api.get_json::<Value>("videos/models").await;
        Some(answer.map(|list| entries_from(&list)))
    }
}

#[cfg(test)]
mod tests;
