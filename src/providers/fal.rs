//! fal.ai's queue API (`queue.fal.run`): `POST /{app path}` with the model's input JSON and
//! `Authorization: Key …` answers `{request_id, status_url, response_url, cancel_url}`; the
//! status URL says `IN_QUEUE` / `IN_PROGRESS` / `COMPLETED`, the response URL holds the
//! model's output (`images[].url`, `video.url`) on fal's CDN, `PUT cancel_url` cancels, and
//! `fal_webhook` callbacks are ED25519-signed (keys from fal's JWKS). See PROVIDERS.md §9.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Digest;

use super::http::{OutboundClient, OutboundError};
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable};
use super::replicate::{content_type_of, data_output};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, ReferenceFile, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: the queue host; no version (the app id is the path).
pub const BASE: BaseUrl = BaseUrl::unversioned("https://queue.fal.run");

/// Where fal publishes the public keys its webhooks are signed with (3P-sourced, PROVIDERS.md §9).
pub const DEFAULT_JWKS: &str = "https://rest.alpha.fal.ai/.well-known/jwks.json";

/// How long fal keeps our outputs on its CDN: custody copies them right after completion, and
/// the queue result itself is only kept an hour.
const LIFECYCLE: &str = r#"{"expiration_duration_seconds": 3600}"#;

/// Webhooks older (or newer) than this are refused as replays.
const WEBHOOK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// How long fetched webhook keys are trusted before they are fetched again.
const JWKS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The adapter for one connection.
pub struct Fal {
    api: Api,
    jwks_url: url::Url,
    keys: Arc<WebhookKeys>,
}

/// fal's ED25519 webhook keys, fetched when a webhook first needs them.
#[derive(Default)]
struct WebhookKeys {
    keys: Mutex<Option<(Vec<Vec<u8>>, Instant)>>,
    loading: AtomicBool,
}

impl WebhookKeys {
    fn get(&self) -> Option<(Vec<Vec<u8>>, Instant)> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The submit answer.
#[derive(Debug, Deserialize)]
struct Queued {
    request_id: String,
    status_url: Option<String>,
    response_url: Option<String>,
    cancel_url: Option<String>,
}

/// A status answer (`COMPLETED` may still carry an error).
#[derive(Debug, Deserialize)]
struct QueueStatus {
    status: String,
    #[serde(default)]
    error: Value,
    error_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    detail: Value,
    error_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Deserialize)]
struct Jwk {
    crv: Option<String>,
    x: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WebhookBody {
    request_id: Option<String>,
    gateway_request_id: Option<String>,
}

impl Fal {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self {
            api: Api::new(config, BASE, Auth::Scheme("Key"), &ERRORS)?,
            jwks_url: url::Url::parse(DEFAULT_JWKS).expect("the JWKS URL parses"),
            keys: Arc::default(),
        })
    }

    /// Fetches webhook keys from `url` instead of fal's (tests).
    pub fn with_jwks_url(mut self, url: url::Url) -> Self {
        self.jwks_url = url;
        self
    }

    /// The URL fal gave for `field` when it is on the API's own origin (the key goes there),
    /// else the documented `{app}/requests/{id}{suffix}` under the base URL.
    fn job_url(&self, handle: &UpstreamHandle, field: &str, suffix: &str) -> Result<url::Url, ProviderError> {
        let given = handle.data.get(field).and_then(|u| url::Url::parse(u).ok());
        if let Some(url) = given.filter(|u| u.origin() == self.api.base().origin()) {
            return Ok(url);
        }
        let app = handle.data.get("app").map(String::as_str).unwrap_or_default();
        self.api.url(&format!("{app}/requests/{}{suffix}", handle.id))
    }

    /// Starts loading the webhook keys in the background.
    fn load_keys_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.keys.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        let (client, url, keys) = (self.api.client().clone(), self.jwks_url.clone(), self.keys.clone());
        runtime.spawn(async move {
            match fetch_keys(&client, &url).await {
                Ok(found) => *keys.keys.lock().unwrap_or_else(|p| p.into_inner()) = Some((found, Instant::now())),
                Err(e) => tracing::warn!(error = %e, "could not load fal's webhook keys; fal webhooks are ignored (polling continues)"),
            }
            keys.loading.store(false, Ordering::SeqCst);
        });
    }

    /// The completed job's result: its outputs, or why it failed.
    async fn result(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.job_url(handle, "response_url", "")?;
        let result: Value = wire::read_json(self.api.send(self.api.client().get(&url)).await?).await?;
        Ok(outputs_of(&result))
    }
}

async fn fetch_keys(client: &OutboundClient, url: &url::Url) -> Result<Vec<Vec<u8>>, ProviderError> {
    let jwks: Jwks = wire::read_json(ERRORS.check(wire::send(client.get(url)).await?).await?).await?;
    let keys: Vec<Vec<u8>> = jwks
        .keys
        .iter()
        .filter(|k| k.crv.as_deref().is_none_or(|c| c.eq_ignore_ascii_case("ed25519")))
        .filter_map(|k| k.x.as_deref())
        .filter_map(|x| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(x.trim_end_matches('=')).ok())
        .filter(|k| k.len() == 32)
        .collect();
    if keys.is_empty() {
        return Err(ProviderError::Transient("fal's JWKS has no Ed25519 key".into()));
    }
    Ok(keys)
}

/// A text from a `detail`/`error` value: a string, a list of `{msg, type}`, or anything.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(text_of).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Value::Object(o) => {
            o.get("msg").or_else(|| o.get("message")).or_else(|| o.get("detail")).and_then(text_of).or_else(|| Some(value.to_string()))
        }
        other => Some(other.to_string()),
    }
}

/// The first `type` in a validation `detail` list (`content_policy_violation`, …).
fn detail_type(value: &Value) -> Option<String> {
    value.as_array()?.iter().find_map(|d| d.get("type")?.as_str().map(str::to_string))
}

/// fal's error table: `x-fal-error-type` / `error_type` / the detail's `type`, then the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads the error type (header first) and the `detail` text.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let header_type = answer.headers.get("x-fal-error-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let error = serde_json::from_slice::<ErrorBody>(answer.body).ok();
    let code = header_type
        .or_else(|| error.as_ref().and_then(|e| e.error_type.clone()))
        .or_else(|| error.as_ref().and_then(|e| detail_type(&e.detail)))
        .unwrap_or_default();
    ErrorReport { code, message: error.as_ref().and_then(|e| text_of(&e.detail)), wait: None }
}

fn data_uri(image: &ReferenceFile) -> String {
    format!("data:{};base64,{}", image.content_type, base64::engine::general_purpose::STANDARD.encode(&image.bytes))
}

/// The app path to submit to and the input: the prompt, parameters by their input names
/// (`count` is `num_images`; `duration` is a string enum on fal's video endpoints), and
/// references as `data:` URIs in `image_url` (a first frame moves a `…/text-to-video` model
/// to its `…/image-to-video` endpoint, which takes its aspect ratio from the image) or
/// `tail_image_url` (last frame).
fn request(job: &ProviderJob) -> (String, Map<String, Value>) {
    let mut path = job.upstream_model.trim_matches('/').to_string();
    let mut input = Map::new();
    input.insert("prompt".into(), job.prompt.clone().into());
    if let Some(negative) = job.negative_prompt.as_deref().filter(|n| !n.trim().is_empty()) {
        input.insert("negative_prompt".into(), negative.into());
    }
    for (name, value) in &job.params {
        let (field, value) = match (name.as_str(), value) {
            ("count", v) => ("num_images", v.to_json()),
            ("duration", ParamValue::Int(n)) => ("duration", Value::from(n.to_string())),
            (other, v) => (other, v.to_json()),
        };
        input.insert(field.into(), value);
    }
    let first_frame = job.references.iter().any(|r| r.role == ReferenceRole::FirstFrame);
    if first_frame && let Some(app) = path.strip_suffix("/text-to-video") {
        path = format!("{app}/image-to-video");
        input.remove("aspect_ratio");
    }
    for image in &job.references {
        let field = match image.role {
            ReferenceRole::FirstFrame | ReferenceRole::Reference => "image_url",
            ReferenceRole::LastFrame => "tail_image_url",
            ReferenceRole::ReferenceVideo | ReferenceRole::SourceVideo => "video_url",
            ReferenceRole::ReferenceAudio | ReferenceRole::DrivingAudio => "audio_url",
        };
        input.insert(field.into(), data_uri(image).into());
    }
    (path, input)
}

/// `owner/app` of an app path (`fal-ai/flux-pro/v1.1-ultra` -> `fal-ai/flux-pro`): the
/// queue's request routes live under it.
fn app_of(path: &str) -> String {
    path.split('/').take(2).collect::<Vec<_>>().join("/")
}

/// One output from an object with a `url` (and maybe a `content_type`).
fn output_of(file: &Value) -> Option<OutputRef> {
    let location = file.get("url")?.as_str()?.to_string();
    let content_type = file.get("content_type").and_then(Value::as_str).map(str::to_string).or_else(|| content_type_of(&location));
    Some(OutputRef::new(location, content_type))
}

/// The outputs of a result (`images[]`, `image`, `video`, `videos[]`), or a content-policy
/// failure when the safety checker flagged every image (fal then returns blank images).
fn outputs_of(result: &Value) -> UpstreamStatus {
    let mut outputs = Vec::new();
    for field in ["images", "image", "video", "videos"] {
        match result.get(field) {
            Some(Value::Array(files)) => outputs.extend(files.iter().filter_map(output_of)),
            Some(file @ Value::Object(_)) => outputs.extend(output_of(file)),
            _ => {}
        }
    }
    let flagged = result.get("has_nsfw_concepts").and_then(Value::as_array).filter(|f| !f.is_empty());
    if flagged.is_some_and(|f| f.iter().all(|v| v.as_bool() == Some(true))) {
        return UpstreamStatus::Failed(ProviderError::ContentPolicy("fal's safety checker flagged the output as NSFW".into()));
    }
    if outputs.is_empty() {
        return UpstreamStatus::Failed(ProviderError::Transient("the request completed without an output file".into()));
    }
    UpstreamStatus::Succeeded { outputs, usage: None }
}

/// Checks a webhook: the headers, a fresh timestamp, the request id against the body, and the
/// ED25519 signature over `request_id \n user_id \n timestamp \n sha256_hex(body)` with any of
/// fal's keys. Returns the job's id.
fn verify_webhook(keys: &[Vec<u8>], callback: &Callback, now: SystemTime) -> Result<String, ProviderError> {
    let missing = |name: &str| ProviderError::Auth(format!("the webhook has no {name} header"));
    let request_id = callback.header("x-fal-webhook-request-id").ok_or_else(|| missing("X-Fal-Webhook-Request-Id"))?;
    let user_id = callback.header("x-fal-webhook-user-id").ok_or_else(|| missing("X-Fal-Webhook-User-Id"))?;
    let timestamp = callback.header("x-fal-webhook-timestamp").ok_or_else(|| missing("X-Fal-Webhook-Timestamp"))?;
    let signature = callback.header("x-fal-webhook-signature").ok_or_else(|| missing("X-Fal-Webhook-Signature"))?;
    let sent: u64 = timestamp.trim().parse().map_err(|_| ProviderError::Auth("the webhook timestamp is not a number".into()))?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if now.abs_diff(sent) > WEBHOOK_TOLERANCE.as_secs() {
        return Err(ProviderError::Auth("the webhook timestamp is too old or in the future".into()));
    }
    let signature = hex::decode(signature.trim()).map_err(|_| ProviderError::Auth("the webhook signature is not hex".into()))?;
    let message = format!("{request_id}\n{user_id}\n{timestamp}\n{}", hex::encode(sha2::Sha256::digest(&callback.body)));
    if !keys.iter().any(|key| ed25519_verifies(key, message.as_bytes(), &signature)) {
        return Err(ProviderError::Auth("the webhook signature does not verify".into()));
    }
    let body: WebhookBody = wire::parse_json(&callback.body)?;
    let ids = [body.gateway_request_id, body.request_id];
    if !ids.iter().flatten().any(|id| id == request_id) {
        return Err(ProviderError::Auth("the webhook's request id does not match its body".into()));
    }
    // the id the submit answered with: `gateway_request_id` stays it across fal's retries
    Ok(ids.into_iter().flatten().next().unwrap_or_else(|| request_id.to_string()))
}

/// ED25519 through rustls' ring provider (already linked for TLS; no extra crate).
fn ed25519_verifies(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let provider = rustls::crypto::ring::default_provider();
    provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .filter(|(scheme, _)| *scheme == rustls::SignatureScheme::ED25519)
        .flat_map(|(_, algorithms)| algorithms.iter())
        .any(|algorithm| algorithm.verify_signature(public_key, message, signature).is_ok())
}

#[async_trait]
impl Provider for Fal {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (path, input) = request(job);
        let mut url = self.api.url(&path)?;
        if let Some(callback) = &job.callback_url {
            url.query_pairs_mut().append_pair("fal_webhook", callback.as_str());
            if self.keys.get().is_none() {
                self.load_keys_later();
            }
        }
        let request = self
            .api
            .client()
            .post(&url)
            .map(|r| r.header("x-fal-object-lifecycle-preference", LIFECYCLE).header("x-fal-store-io", "0").json(&input));
        let queued: Queued = wire::read_json(self.api.send(request).await?).await?;
        let mut data = std::collections::BTreeMap::from([("app".to_string(), app_of(&path))]);
        for (field, value) in [("status_url", queued.status_url), ("response_url", queued.response_url), ("cancel_url", queued.cancel_url)]
        {
            if let Some(value) = value {
                data.insert(field.to_string(), value);
            }
        }
        let status = UpstreamStatus::Pending { progress: None, poll_after: None };
        Ok(Submitted { handle: UpstreamHandle { id: queued.request_id, data }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.job_url(handle, "status_url", "/status")?;
        let status: QueueStatus = wire::read_json(self.api.send(self.api.client().get(&url)).await?).await?;
        match status.status.as_str() {
            "IN_QUEUE" | "IN_PROGRESS" => Ok(UpstreamStatus::Pending { progress: None, poll_after: None }),
            "COMPLETED" => match text_of(&status.error) {
                Some(message) => Ok(UpstreamStatus::Failed(wire::job_failure(status.error_type.as_deref().unwrap_or_default(), message))),
                None => self.result(handle).await,
            },
            other => Ok(wire::unknown_status("fal", other, None)),
        }
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if output.location.starts_with("data:") {
            return data_output(&output.location, cap);
        }
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        // CDN files are public URLs: the key only goes to the API's own origin
        let response = if url.origin() == self.api.base().origin() {
            self.api.send(self.api.client().get(&url)).await?
        } else {
            ERRORS.check(wire::send(self.api.client().get(&url)).await?).await?
        };
        kit::stream_body(response, cap)
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.job_url(handle, "cancel_url", "/cancel")?;
        self.api.send(self.api.client().request(reqwest::Method::PUT, &url)).await.map(|_| ())
    }

    // No delete route is documented; the submit asked fal (object lifecycle header) to
    // expire the CDN files after an hour, and queue results expire after an hour anyway.

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        let keys = self.keys.get();
        if keys.as_ref().is_none_or(|(_, at)| at.elapsed() > JWKS_MAX_AGE) {
            self.load_keys_later();
        }
        let Some((keys, _)) = keys else {
            return Err(ProviderError::Auth("fal's webhook keys are not loaded yet; polling continues".into()));
        };
        verify_webhook(&keys, callback, SystemTime::now()).map(Some)
    }
}

#[cfg(test)]
mod tests;
