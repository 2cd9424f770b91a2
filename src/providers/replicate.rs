//! Replicate's predictions API (`api.replicate.com/v1`): official models by name
//! (`POST /models/{owner}/{name}/predictions`) or any model by version (`POST /predictions`
//! with `version`), JSON inputs with references as `data:` URIs, `Prefer: wait=N` so fast
//! models finish in the create answer, polling `GET /predictions/{id}`, outputs as URLs
//! (one or a list), cancel `POST /predictions/{id}/cancel`, and signed webhooks
//! (Standard-Webhooks HMAC-SHA256). See PROVIDERS.md §8.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, ReferenceFile, Submitted, UpstreamStatus, inline, usage, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::ReferenceRole;
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::domain::standard_webhooks;

/// The base URL convention: `v1/` in each path.
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api.replicate.com", &["v1"]);

/// How long a create may hold the answer for a fast model (`Prefer: wait=N`, N ≤ 60).
const SYNC_WAIT_SECS: u64 = 5;

/// Webhooks older (or newer) than this are refused as replays.
const WEBHOOK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The adapter for one connection.
pub struct Replicate {
    api: Api,
    /// `Prefer: wait=N`, when the connection's timeout leaves room for it.
    wait: Option<u64>,
    hooks: Arc<HookSecret>,
}

/// The account's webhook signing key (decoded from `whsec_…`), fetched once when needed.
#[derive(Default)]
struct HookSecret {
    key: Mutex<Option<Vec<u8>>>,
    loading: AtomicBool,
}

impl HookSecret {
    fn get(&self) -> Option<Vec<u8>> {
        self.key.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, key: Vec<u8>) {
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = Some(key);
    }
}

/// A prediction (tolerant: unknown fields ignored, most fields optional).
#[derive(Debug, Deserialize)]
struct Prediction {
    id: String,
    status: String,
    #[serde(default)]
    output: Value,
    #[serde(default)]
    error: Value,
    logs: Option<String>,
    /// `{predict_time, total_time, …}` in seconds once it ran.
    #[serde(default)]
    metrics: Value,
}

/// RFC 7807 problem details (`detail` is sometimes a list).
#[derive(Debug, Deserialize)]
struct Problem {
    title: Option<String>,
    #[serde(default)]
    detail: Value,
}

#[derive(Debug, Deserialize)]
struct WebhookSecret {
    key: String,
}

#[derive(Debug, Deserialize)]
struct Account {
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WebhookBody {
    id: String,
}

/// Where a create goes: an official model by name, or a version id.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Model { owner: &'a str, name: &'a str },
    Version(&'a str),
}

/// `owner/name` (official model), `owner/name:version` or a bare version id.
fn target(upstream: &str) -> Result<Target<'_>, ProviderError> {
    if let Some((_, version)) = upstream.split_once(':') {
        return Ok(Target::Version(version));
    }
    match upstream.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => Ok(Target::Model { owner, name }),
        None if !upstream.is_empty() => Ok(Target::Version(upstream)),
        _ => Err(ProviderError::InvalidInput(format!("{upstream:?} is not a Replicate model (owner/name) or version"))),
    }
}

impl Replicate {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        let half = config.timeout.as_secs() / 2;
        Ok(Self {
            api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?,
            wait: (half >= 1).then_some(half.min(SYNC_WAIT_SECS)),
            hooks: Arc::default(),
        })
    }

    /// Loads the webhook signing key once (best effort: callbacks are only a hint).
    async fn load_hook_secret(&self) {
        if self.hooks.get().is_some() {
            return;
        }
        if let Err(e) = fetch_hook_secret(&self.api, &self.hooks).await {
            tracing::warn!(error = %e, "could not load Replicate's webhook signing secret; webhooks are ignored until it loads");
        }
    }

    /// Starts loading the signing key in the background (a callback came before it was known).
    fn load_hook_secret_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.hooks.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        let (api, hooks) = (self.api.clone(), self.hooks.clone());
        runtime.spawn(async move {
            if let Err(e) = fetch_hook_secret(&api, &hooks).await {
                tracing::warn!(error = %e, "could not load Replicate's webhook signing secret");
            }
            hooks.loading.store(false, Ordering::SeqCst);
        });
    }
}

async fn fetch_hook_secret(api: &Api, hooks: &HookSecret) -> Result<(), ProviderError> {
    let secret: WebhookSecret = api.get_json("v1/webhooks/default/secret").await?;
    let encoded = secret.key.strip_prefix("whsec_").unwrap_or(&secret.key);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| ProviderError::Transient(format!("the webhook secret is not base64: {e}")))?;
    hooks.set(decoded);
    Ok(())
}

/// A text from a JSON value that may be a string, an object with a message, or anything.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("detail").or_else(|| o.get("message")).and_then(text_of).or_else(|| Some(value.to_string())),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(text_of).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        other => Some(other.to_string()),
    }
}

/// "Your rate limit resets in ~30s." -> 30 s (when no Retry-After header came).
fn throttle_hint(detail: &str) -> Option<Duration> {
    let after = &detail[detail.find("resets in")? + "resets in".len()..];
    let digits: String = after.trim_start().trim_start_matches('~').chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(Duration::from_secs)
}

/// Replicate's error table: the problem's `title`/`detail` (and a reset time named in a 429's
/// detail), then the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads an RFC 7807 problem.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let problem = serde_json::from_slice::<Problem>(answer.body).ok();
    let title = problem.as_ref().and_then(|p| p.title.clone()).unwrap_or_default();
    let detail = problem.as_ref().and_then(|p| text_of(&p.detail));
    let message = detail.or_else(|| (!title.is_empty()).then(|| title.clone()));
    let wait = if answer.status == 429 { message.as_deref().and_then(throttle_hint) } else { None };
    ErrorReport { code: title, message, wait }
}

/// A `data:` URI of a reference image.
fn data_uri(image: &ReferenceFile) -> String {
    format!("data:{};base64,{}", image.content_type, base64::engine::general_purpose::STANDARD.encode(&image.bytes))
}

/// The model's input: prompt, parameters by their input names (`count` is `num_outputs`),
/// references as `data:` URIs (`image` for a first frame or style reference,
/// `last_frame_image` for a last frame).
fn input(job: &ProviderJob) -> Map<String, Value> {
    let mut input = Map::new();
    input.insert("prompt".into(), job.prompt.clone().into());
    if let Some(negative) = job.negative_prompt.as_deref().filter(|n| !n.trim().is_empty()) {
        input.insert("negative_prompt".into(), negative.into());
    }
    for (name, value) in &job.params {
        let field = if name == "count" { "num_outputs" } else { name.as_str() };
        input.insert(field.into(), value.to_json());
    }
    for image in &job.references {
        let field = match image.role {
            ReferenceRole::FirstFrame | ReferenceRole::Reference => "image",
            ReferenceRole::LastFrame => "last_frame_image",
            ReferenceRole::ReferenceVideo | ReferenceRole::SourceVideo => "video",
            ReferenceRole::ReferenceAudio | ReferenceRole::DrivingAudio => "audio",
        };
        input.insert(field.into(), data_uri(image).into());
    }
    input
}

/// The newest tqdm-style percentage in the logs ("  45%|████      | 9/20").
fn progress(logs: Option<&str>) -> Option<u8> {
    logs?.lines().rev().find_map(|line| {
        let (number, rest) = line.trim_start().split_once('%')?;
        if !rest.trim_start().starts_with('|') {
            return None;
        }
        number.trim().parse::<u8>().ok().filter(|p| *p <= 100)
    })
}

/// Output URLs wherever the model put them: a string, a list, or an object of them.
fn output_urls(output: &Value, into: &mut Vec<String>) {
    match output {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") || s.starts_with("data:") => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| output_urls(v, into)),
        Value::Object(fields) => fields.values().for_each(|v| output_urls(v, into)),
        _ => {}
    }
}

/// The media type an output URL names by its extension (else the engine's default).
pub(super) fn content_type_of(location: &str) -> Option<String> {
    if let Some(uri) = location.strip_prefix("data:") {
        return uri.split([';', ',']).next().filter(|t| t.contains('/')).map(str::to_string);
    }
    let path = url::Url::parse(location).ok()?.path().to_ascii_lowercase();
    let ext = path.rsplit_once('.')?.1.to_string();
    let t = match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        _ => return None,
    };
    Some(t.into())
}

/// An output that came as a `data:` URI (it is stored in the job's outputs, not held in memory).
pub(super) fn data_output(location: &str, cap: u64) -> Result<ByteStream, ProviderError> {
    let bytes = inline::decode_base64(location)?;
    if bytes.len() as u64 > cap {
        return Err(ProviderError::TooLarge { cap });
    }
    Ok(Box::pin(futures_util::stream::iter([Ok(bytes)])))
}

fn status_of(prediction: &Prediction) -> UpstreamStatus {
    match prediction.status.as_str() {
        "starting" => UpstreamStatus::Pending { progress: None, poll_after: None },
        "processing" => UpstreamStatus::Pending { progress: progress(prediction.logs.as_deref()), poll_after: None },
        "succeeded" => {
            let mut urls = Vec::new();
            output_urls(&prediction.output, &mut urls);
            if urls.is_empty() {
                return UpstreamStatus::Failed(ProviderError::Transient("the prediction succeeded without an output file".into()));
            }
            let outputs = urls
                .into_iter()
                .map(|location| {
                    let content_type = content_type_of(&location);
                    OutputRef::new(location, content_type)
                })
                .collect();
            // billed per second of hardware time; the rate depends on the hardware, so seconds only
            let usage = usage::units(usage::number_at(&prediction.metrics, &["predict_time"]), "seconds");
            UpstreamStatus::Succeeded { outputs, usage }
        }
        "failed" => {
            let message = text_of(&prediction.error).unwrap_or_else(|| "the prediction failed".into());
            UpstreamStatus::Failed(wire::job_failure("", message))
        }
        // a deadline (Cancel-After) passed before the prediction started
        "aborted" => UpstreamStatus::Failed(ProviderError::Timeout),
        "canceled" => UpstreamStatus::Failed(ProviderError::Transient("the prediction was canceled on Replicate".into())),
        other => wire::unknown_status("replicate", other, progress(prediction.logs.as_deref())),
    }
}

/// Checks a Standard-Webhooks signature: HMAC-SHA256 over `id.timestamp.body`, any of the
/// space-separated `v1,<base64>` signatures, and a timestamp within the tolerance.
fn verify_webhook(key: &[u8], callback: &Callback, now: SystemTime) -> Result<(), ProviderError> {
    let missing = |name: &str| ProviderError::Auth(format!("the webhook has no {name} header"));
    let id = callback.header("webhook-id").ok_or_else(|| missing("webhook-id"))?;
    let timestamp = callback.header("webhook-timestamp").ok_or_else(|| missing("webhook-timestamp"))?;
    let signatures = callback.header("webhook-signature").ok_or_else(|| missing("webhook-signature"))?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    standard_webhooks::verify(key, id, timestamp, signatures, &callback.body, now, WEBHOOK_TOLERANCE)
        .map_err(|e| ProviderError::Auth(e.to_string()))
}

#[async_trait]
impl Provider for Replicate {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let input = Value::Object(input(job));
        let (url, mut body) = match target(&job.upstream_model)? {
            Target::Model { owner, name } => (self.api.url(&format!("v1/models/{owner}/{name}/predictions"))?, json!({ "input": input })),
            Target::Version(version) => (self.api.url("v1/predictions")?, json!({ "version": version, "input": input })),
        };
        if let Some(callback) = &job.callback_url {
            body["webhook"] = callback.as_str().into();
            body["webhook_events_filter"] = json!(["completed"]);
            self.load_hook_secret().await;
        }
        let request = self.api.client().post(&url).map(|r| {
            let r = r.json(&body);
            match self.wait {
                Some(n) => r.header("prefer", format!("wait={n}")),
                None => r,
            }
        });
        let prediction: Prediction = wire::read_json(self.api.send(request).await?).await?;
        let status = status_of(&prediction);
        Ok(Submitted { handle: UpstreamHandle { id: prediction.id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.api.url(&format!("v1/predictions/{}", handle.id))?;
        let prediction: Prediction = wire::read_json(self.api.send(self.api.client().get(&url)).await?).await?;
        Ok(status_of(&prediction))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if output.location.starts_with("data:") {
            return data_output(&output.location, cap);
        }
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        // the key goes along only on the API's own origin (output CDNs get plain, signed URLs)
        kit::stream_body(self.api.send(self.api.client().get(&url)).await?, cap)
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.api.url(&format!("v1/predictions/{}/cancel", handle.id))?;
        self.api.send(self.api.client().post(&url)).await.map(|_| ())
    }

    // The API has no delete (only the website does); Replicate deletes API predictions'
    // inputs and outputs by itself one hour after they finish (PROVIDERS.md §8).

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        let Some(key) = self.hooks.get() else {
            self.load_hook_secret_later();
            return Err(ProviderError::Auth("the webhook signing secret is not loaded yet; polling continues".into()));
        };
        verify_webhook(&key, callback, SystemTime::now())?;
        let body: WebhookBody = wire::parse_json(&callback.body)?;
        Ok(Some(body.id))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let account: Account = self.api.get_json("v1/account").await?;
        Ok(match account.username {
            Some(name) => format!("the key works (Replicate account {name})"),
            None => "the key works".into(),
        })
    }
}

#[cfg(test)]
mod tests;
