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

use super::http::{OutboundClient, OutboundError};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, ReferenceImage, Submitted, UpstreamStatus, inline, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::ReferenceRole;
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::domain::standard_webhooks;

/// The default base URL.
pub const DEFAULT_BASE: &str = "https://api.replicate.com/v1";

/// How long a create may hold the answer for a fast model (`Prefer: wait=N`, N ≤ 60).
const SYNC_WAIT_SECS: u64 = 5;

/// Webhooks older (or newer) than this are refused as replays.
const WEBHOOK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The adapter for one connection.
pub struct Replicate {
    client: OutboundClient,
    base: url::Url,
    key: Option<Secret>,
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
            client: wire::client_for(config)?,
            base: wire::base_url(config, DEFAULT_BASE),
            key: config.api_key.clone(),
            wait: (half >= 1).then_some(half.min(SYNC_WAIT_SECS)),
            hooks: Arc::default(),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, ProviderError> {
        wire::join(&self.base, path)
    }

    async fn send(&self, request: Result<reqwest::RequestBuilder, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        send_authorized(&self.key, request).await
    }

    /// Loads the webhook signing key once (best effort: callbacks are only a hint).
    async fn load_hook_secret(&self) {
        if self.hooks.get().is_some() {
            return;
        }
        if let Err(e) = fetch_hook_secret(&self.client, &self.base, &self.key, &self.hooks).await {
            tracing::warn!(error = %e, "could not load Replicate's webhook signing secret; webhooks are ignored until it loads");
        }
    }

    /// Starts loading the signing key in the background (a callback came before it was known).
    fn load_hook_secret_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.hooks.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        let (client, base, key, hooks) = (self.client.clone(), self.base.clone(), self.key.clone(), self.hooks.clone());
        runtime.spawn(async move {
            if let Err(e) = fetch_hook_secret(&client, &base, &key, &hooks).await {
                tracing::warn!(error = %e, "could not load Replicate's webhook signing secret");
            }
            hooks.loading.store(false, Ordering::SeqCst);
        });
    }

    /// Sends the API key only to the API's own origin (output CDNs get plain, signed URLs).
    fn same_origin(&self, url: &url::Url) -> bool {
        url.origin() == self.base.origin()
    }
}

async fn send_authorized(
    key: &Option<Secret>,
    request: Result<reqwest::RequestBuilder, OutboundError>,
) -> Result<reqwest::Response, ProviderError> {
    let request = request.map(|r| match key {
        Some(key) => r.bearer_auth(key.expose()),
        None => r,
    });
    let response = wire::send(request).await?;
    if response.status().is_success() {
        return Ok(response);
    }
    Err(error_from(response).await)
}

async fn fetch_hook_secret(
    client: &OutboundClient,
    base: &url::Url,
    key: &Option<Secret>,
    hooks: &HookSecret,
) -> Result<(), ProviderError> {
    let url = wire::join(base, "webhooks/default/secret")?;
    let response = send_authorized(key, client.get(&url)).await?;
    let secret: WebhookSecret = wire::read_json(response).await?;
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

/// Maps an error response to the normalised classes (problem `title`/`detail`, then the status).
async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let wait = wire::retry_after(response.headers());
    let body = wire::error_body(response).await;
    let problem = serde_json::from_slice::<Problem>(&body).ok();
    let title = problem.as_ref().and_then(|p| p.title.clone()).unwrap_or_default();
    let detail = problem.as_ref().and_then(|p| text_of(&p.detail));
    let message = detail.or_else(|| (!title.is_empty()).then(|| title.clone())).unwrap_or_else(|| format!("HTTP {status}"));
    let wait = wait.or_else(|| if status == 429 { throttle_hint(&message) } else { None });
    wire::classify(status, &title, message, wait)
}

/// A `data:` URI of a reference image.
fn data_uri(image: &ReferenceImage) -> String {
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
            let outputs = urls.into_iter().map(|location| OutputRef { content_type: content_type_of(&location), location }).collect();
            UpstreamStatus::Succeeded { outputs }
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
            Target::Model { owner, name } => (self.url(&format!("models/{owner}/{name}/predictions"))?, json!({ "input": input })),
            Target::Version(version) => (self.url("predictions")?, json!({ "version": version, "input": input })),
        };
        if let Some(callback) = &job.callback_url {
            body["webhook"] = callback.as_str().into();
            body["webhook_events_filter"] = json!(["completed"]);
            self.load_hook_secret().await;
        }
        let request = self.client.post(&url).map(|r| {
            let r = r.json(&body);
            match self.wait {
                Some(n) => r.header("prefer", format!("wait={n}")),
                None => r,
            }
        });
        let prediction: Prediction = wire::read_json(self.send(request).await?).await?;
        let status = status_of(&prediction);
        Ok(Submitted { handle: UpstreamHandle { id: prediction.id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.url(&format!("predictions/{}", handle.id))?;
        let prediction: Prediction = wire::read_json(self.send(self.client.get(&url)).await?).await?;
        Ok(status_of(&prediction))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if output.location.starts_with("data:") {
            return data_output(&output.location, cap);
        }
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let request = self.client.get(&url);
        let response = if self.same_origin(&url) { self.send(request).await? } else { send_authorized(&None, request).await? };
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        Ok(wire::download(response, cap))
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.url(&format!("predictions/{}/cancel", handle.id))?;
        self.send(self.client.post(&url)).await.map(|_| ())
    }

    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // The API has no delete (only the website does); Replicate deletes API predictions'
        // inputs and outputs by itself one hour after they finish (PROVIDERS.md §8).
        Ok(false)
    }

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
        let url = self.url("account")?;
        let account: Account = wire::read_json(self.send(self.client.get(&url)).await?).await?;
        Ok(match account.username {
            Some(name) => format!("the key works (Replicate account {name})"),
            None => "the key works".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicUsize;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::TryStreamExt;

    use super::*;
    use crate::domain::catalog::{MediaKind, ParamValue};
    use crate::domain::ids::GenerationId;

    const KEY: &str = "r8_test_key";
    const SIGNING_KEY: &[u8] = b"replicate-signing-key";

    fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig {
            base_url: Some(fake.at("v1/")),
            api_key: Some(Secret::new(KEY)),
            allow_private_network: true,
            timeout,
            ..ConnectionConfig::new("replicate", "replicate")
        }
    }

    fn adapter(fake: &FakeUpstream) -> Replicate {
        Replicate::new(&config(fake, Duration::from_secs(10))).unwrap()
    }

    fn job(upstream: &str) -> ProviderJob {
        ProviderJob {
            generation: GenerationId::generate(),
            model: "replicate-flux-schnell".into(),
            upstream_model: upstream.into(),
            kind: MediaKind::Image,
            prompt: "a lighthouse at dusk".into(),
            negative_prompt: None,
            params: BTreeMap::from([
                ("aspect_ratio".to_string(), ParamValue::Text("16:9".into())),
                ("count".to_string(), ParamValue::Int(2)),
                ("seed".to_string(), ParamValue::Int(42)),
            ]),
            references: Vec::new(),
            output_count: 2,
            callback_url: None,
        }
    }

    fn handle(id: &str) -> UpstreamHandle {
        UpstreamHandle { id: id.into(), data: Default::default() }
    }

    fn prediction(status: &str, extra: Value) -> Value {
        let mut p = json!({"id": "p1", "status": status, "urls": {"get": "x", "cancel": "y"}});
        p.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        p
    }

    fn authorized(r: &Request) -> bool {
        r.header("authorization") == Some(&format!("Bearer {KEY}"))
    }

    fn secret_reply() -> Reply {
        Reply::json(200, json!({"key": format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(SIGNING_KEY))}))
    }

    fn signed(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> Callback {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        Callback {
            headers: BTreeMap::from([
                ("webhook-id".into(), id.into()),
                ("webhook-timestamp".into(), timestamp.to_string()),
                ("webhook-signature".into(), format!("v1,bm90IGl0 v1,{sig}")),
            ]),
            body: Bytes::copy_from_slice(body),
        }
    }

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[tokio::test]
    async fn an_official_model_is_created_by_name_with_wait_and_webhook_and_finishes_in_the_answer() {
        let fake = FakeUpstream::start(|r| match r.route().as_str() {
            "GET /v1/webhooks/default/secret" => secret_reply(),
            "POST /v1/models/black-forest-labs/flux-schnell/predictions" => Reply::json(
                201,
                prediction(
                    "succeeded",
                    json!({"output": ["https://replicate.delivery/a/out-0.webp", "https://replicate.delivery/a/out-1.png"]}),
                ),
            ),
            _ => Reply::status(404),
        })
        .await;
        let mut job = job("black-forest-labs/flux-schnell");
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/replicate/s3cret").unwrap());
        let submitted = adapter(&fake).submit(&job).await.unwrap();
        assert_eq!(submitted.handle.id, "p1");
        let UpstreamStatus::Succeeded { outputs } = submitted.status else { panic!("{:?}", submitted.status) };
        assert_eq!(
            outputs,
            vec![
                OutputRef { location: "https://replicate.delivery/a/out-0.webp".into(), content_type: Some("image/webp".into()) },
                OutputRef { location: "https://replicate.delivery/a/out-1.png".into(), content_type: Some("image/png".into()) },
            ]
        );
        let create = &fake.requests_to("POST /v1/models/")[0];
        assert!(authorized(create));
        assert_eq!(create.header("prefer"), Some("wait=5"));
        assert_eq!(
            create.json(),
            json!({
                "input": {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "num_outputs": 2, "seed": 42},
                "webhook": "https://studio.example/hooks/replicate/s3cret",
                "webhook_events_filter": ["completed"],
            })
        );
        let secret = fake.requests_to("GET /v1/webhooks/default/secret");
        assert_eq!(secret.len(), 1, "the signing secret is loaded once a webhook is asked for");
        assert!(authorized(&secret[0]));
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_version_is_created_on_predictions_with_references_as_data_uris() {
        let fake = FakeUpstream::start(|_| Reply::json(201, prediction("starting", json!({})))).await;
        let mut job = job("bytedance/seedance-1-pro:5e1f2c");
        job.params = BTreeMap::from([("duration".to_string(), ParamValue::Int(5))]);
        job.negative_prompt = Some("blur".into());
        job.references = vec![
            ReferenceImage { role: ReferenceRole::FirstFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"first") },
            ReferenceImage { role: ReferenceRole::LastFrame, content_type: "image/jpeg".into(), bytes: Bytes::from_static(b"last") },
        ];
        // a short connection timeout leaves no room for Prefer: wait
        let replicate = Replicate::new(&config(&fake, Duration::from_secs(1))).unwrap();
        let submitted = replicate.submit(&job).await.unwrap();
        assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));
        let create = &fake.requests()[0];
        assert_eq!(create.route(), "POST /v1/predictions");
        assert_eq!(create.header("prefer"), None);
        assert_eq!(
            create.json(),
            json!({"version": "5e1f2c", "input": {
                "prompt": "a lighthouse at dusk",
                "negative_prompt": "blur",
                "duration": 5,
                "image": "data:image/png;base64,Zmlyc3Q=",
                "last_frame_image": "data:image/jpeg;base64,bGFzdA==",
            }})
        );
        assert_eq!(fake.requests().len(), 1, "no webhook, so no signing secret is fetched");
        fake.stop().await;
    }

    #[tokio::test]
    async fn polls_walk_from_starting_through_progress_to_a_single_url_output() {
        let step = Arc::new(AtomicUsize::new(0));
        let seen = step.clone();
        let fake = FakeUpstream::start(move |r| {
            assert_eq!(r.route(), "GET /v1/predictions/p1");
            match seen.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::json(200, prediction("starting", json!({"logs": ""}))),
                1 => Reply::json(200, prediction("processing", json!({"logs": "loading\n 45%|████▌     | 9/20 [00:02<00:03]\n"}))),
                _ => Reply::json(200, prediction("succeeded", json!({"output": "https://replicate.delivery/x/video.mp4"}))),
            }
        })
        .await;
        let replicate = adapter(&fake);
        assert!(matches!(replicate.poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
        assert!(matches!(replicate.poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { progress: Some(45), .. }));
        let UpstreamStatus::Succeeded { outputs } = replicate.poll(&handle("p1")).await.unwrap() else { panic!() };
        assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
        assert!(fake.requests().iter().all(authorized));
        fake.stop().await;
    }

    #[tokio::test]
    async fn failed_canceled_aborted_and_unknown_statuses_map_to_classes() {
        let answers = Arc::new(Mutex::new(vec![
            prediction("failed", json!({"error": "NSFW content detected. Try running it again, or try a different prompt."})),
            prediction("failed", json!({"error": "input.duration must be at most 12"})),
            prediction("failed", json!({"error": "You have insufficient credit to run this model."})),
            prediction("canceled", json!({})),
            prediction("aborted", json!({})),
            prediction("warming_up", json!({})),
            prediction("succeeded", json!({"output": null})),
        ]));
        let queue = answers.clone();
        let fake = FakeUpstream::start(move |_| Reply::json(200, queue.lock().unwrap().remove(0))).await;
        let replicate = adapter(&fake);
        let mut codes = Vec::new();
        for _ in 0..7 {
            codes.push(match replicate.poll(&handle("p1")).await.unwrap() {
                UpstreamStatus::Failed(e) => e.code(),
                UpstreamStatus::Pending { .. } => "pending",
                UpstreamStatus::Succeeded { .. } => "succeeded",
            });
        }
        assert_eq!(
            codes,
            [
                "provider.content_policy",
                "provider.invalid_input",
                "provider.insufficient_credit",
                "provider.transient",
                "provider.timeout",
                "pending",
                "provider.transient"
            ]
        );
        fake.stop().await;
    }

    #[tokio::test]
    async fn http_errors_map_to_classes_with_retry_after() {
        let fake = FakeUpstream::start(|r| {
            let problem = |status: u16, title: &str, detail: &str| Reply::json(status, json!({"title": title, "detail": detail, "status": status}));
            match r.path.as_str() {
                "/v1/predictions/auth" => problem(401, "Unauthenticated", "You did not pass a valid authentication token"),
                "/v1/predictions/invalid" => Reply::json(
                    422,
                    json!({"title": "Input validation failed", "status": 422, "detail": "- input.aspect_ratio: aspect_ratio must be one of the following", "invalid_fields": [{"field": "input.aspect_ratio"}]}),
                ),
                "/v1/predictions/credit" => problem(402, "Insufficient credit", "You have insufficient credit to run this model. Go to https://replicate.com/account/billing"),
                "/v1/predictions/limited" => problem(429, "Too Many Requests", "Request was throttled.").header("retry-after", 7),
                "/v1/predictions/throttled" => problem(429, "Too Many Requests", "Request was throttled. Your rate limit resets in ~30s."),
                "/v1/predictions/down" => Reply::text(503, "upstream connect error"),
                "/v1/predictions/gone" => problem(404, "Not found", "The requested resource could not be found."),
                "/v1/predictions/garbled" => Reply::bytes(200, "application/json", "{\"id\": "),
                _ => Reply::hang(),
            }
        })
        .await;
        let replicate = adapter(&fake);
        let poll = |id: &'static str| {
            let replicate = &replicate;
            async move { replicate.poll(&handle(id)).await.unwrap_err() }
        };
        assert!(matches!(poll("auth").await, ProviderError::Auth(m) if m.contains("valid authentication token")));
        assert!(matches!(poll("invalid").await, ProviderError::InvalidInput(m) if m.contains("aspect_ratio")));
        assert_eq!(poll("credit").await.code(), "provider.insufficient_credit");
        assert_eq!(poll("limited").await.retry_after(), Some(Duration::from_secs(7)));
        let throttled = poll("throttled").await;
        assert_eq!((throttled.code(), throttled.retry_after()), ("provider.rate_limited", Some(Duration::from_secs(30))));
        assert_eq!(poll("down").await.code(), "provider.transient");
        assert_eq!(poll("gone").await.code(), "provider.not_found");
        assert_eq!(poll("garbled").await.code(), "provider.transient");
        let short = Replicate::new(&config(&fake, Duration::from_millis(300))).unwrap();
        assert_eq!(short.poll(&handle("hang")).await.unwrap_err(), ProviderError::Timeout);
        fake.stop().await;
    }

    #[tokio::test]
    async fn outputs_on_another_host_are_fetched_without_the_key_and_capped() {
        let cdn = FakeUpstream::start(|r| match r.path.as_str() {
            "/files/out.webp" => Reply::bytes(200, "image/webp", Bytes::from_static(b"RIFF....WEBP")),
            "/files/big.mp4" => Reply::bytes(200, "video/mp4", vec![0u8; 4096]),
            _ => Reply::json(404, json!({"detail": "expired"})),
        })
        .await;
        let api = FakeUpstream::start(|_| Reply::status(500)).await;
        let replicate = adapter(&api);
        let out = |path: &str| OutputRef { location: cdn.at(path).to_string(), content_type: None };
        let stream = replicate.fetch(&handle("p1"), &out("files/out.webp"), 1 << 20).await.unwrap();
        let bytes: Vec<Bytes> = stream.try_collect().await.unwrap();
        assert_eq!(bytes.concat(), b"RIFF....WEBP");
        assert!(cdn.requests().iter().all(|r| r.header("authorization").is_none()), "the key never goes to the CDN");
        assert_eq!(replicate.fetch(&handle("p1"), &out("files/big.mp4"), 1024).await.err(), Some(ProviderError::TooLarge { cap: 1024 }));
        assert_eq!(
            replicate.fetch(&handle("p1"), &out("files/expired.png"), 1024).await.err().map(|e| e.code()),
            Some("provider.not_found")
        );
        let inline = OutputRef {
            location: "data:image/png;base64,aGVsbG8=".into(),
            content_type: content_type_of("data:image/png;base64,aGVsbG8="),
        };
        assert_eq!(inline.content_type.as_deref(), Some("image/png"));
        let bytes: Vec<Bytes> = replicate.fetch(&handle("p1"), &inline, 100).await.unwrap().try_collect().await.unwrap();
        assert_eq!(bytes.concat(), b"hello");
        assert!(api.requests().is_empty());
        cdn.stop().await;
        api.stop().await;
    }

    #[tokio::test]
    async fn cancel_posts_to_the_cancel_route_and_delete_sends_nothing() {
        let fake = FakeUpstream::start(|_| Reply::json(200, prediction("canceled", json!({})))).await;
        let replicate = adapter(&fake);
        replicate.cancel(&handle("p9")).await.unwrap();
        replicate.delete_upstream(&handle("p9")).await.unwrap();
        let requests = fake.requests();
        assert_eq!(requests.iter().map(Request::route).collect::<Vec<_>>(), ["POST /v1/predictions/p9/cancel"]);
        assert!(authorized(&requests[0]));
        fake.stop().await;
    }

    #[tokio::test]
    async fn webhooks_are_verified_with_the_lazily_loaded_secret() {
        let fake = FakeUpstream::start(|r| match r.route().as_str() {
            "GET /v1/webhooks/default/secret" => secret_reply(),
            _ => Reply::status(404),
        })
        .await;
        let replicate = adapter(&fake);
        let body = serde_json::to_vec(&prediction("succeeded", json!({"output": "https://replicate.delivery/x.png"}))).unwrap();
        let good = signed(SIGNING_KEY, "msg_1", now(), &body);
        // before the secret is known: refused, and it starts loading
        assert!(matches!(replicate.callback(&good), Err(ProviderError::Auth(_))));
        assert!(fake.wait_until(Duration::from_secs(5), |r| !r.is_empty()).await);
        for _ in 0..100 {
            if replicate.hooks.get().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(replicate.callback(&good).unwrap(), Some("p1".to_string()));
        assert!(fake.requests().iter().all(authorized));
        assert_eq!(fake.requests().len(), 1, "loaded once");

        let forged = signed(b"another key", "msg_1", now(), &body);
        assert!(matches!(replicate.callback(&forged), Err(ProviderError::Auth(_))));
        let stale = signed(SIGNING_KEY, "msg_1", now() - 600, &body);
        assert!(matches!(replicate.callback(&stale), Err(ProviderError::Auth(m)) if m.contains("too old")));
        let mut tampered = good.clone();
        tampered.body = Bytes::from(String::from_utf8(body).unwrap().replace("p1", "p2"));
        assert!(matches!(replicate.callback(&tampered), Err(ProviderError::Auth(_))));
        let mut unsigned = good.clone();
        unsigned.headers.remove("webhook-signature");
        assert!(matches!(replicate.callback(&unsigned), Err(ProviderError::Auth(_))));
        fake.stop().await;
    }

    #[tokio::test]
    async fn test_connection_reads_the_account() {
        let fake = FakeUpstream::start(|r| {
            if authorized(r) {
                Reply::json(200, json!({"type": "user", "username": "alice", "name": "Alice"}))
            } else {
                Reply::json(401, json!({"title": "Unauthenticated", "detail": "Invalid token.", "status": 401}))
            }
        })
        .await;
        let said = adapter(&fake).test_connection().await.unwrap();
        assert!(said.contains("alice"), "{said}");
        assert_eq!(fake.requests()[0].route(), "GET /v1/account");
        let wrong =
            Replicate::new(&ConnectionConfig { api_key: Some(Secret::new("r8_wrong")), ..config(&fake, Duration::from_secs(5)) }).unwrap();
        assert!(matches!(wrong.test_connection().await, Err(ProviderError::Auth(_))));
        fake.stop().await;
    }

    #[test]
    fn model_names_versions_and_bad_names() {
        assert_eq!(target("black-forest-labs/flux-schnell").unwrap(), Target::Model { owner: "black-forest-labs", name: "flux-schnell" });
        assert_eq!(target("owner/name:abc").unwrap(), Target::Version("abc"));
        assert_eq!(
            target("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa").unwrap(),
            Target::Version("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa")
        );
        assert!(target("a/b/c").is_err());
    }
}
