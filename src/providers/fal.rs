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
use super::replicate::{content_type_of, data_output};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, ReferenceImage, Submitted, UpstreamStatus, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL (the queue host).
pub const DEFAULT_BASE: &str = "https://queue.fal.run/";

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
    client: OutboundClient,
    base: url::Url,
    key: Option<Secret>,
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
            client: wire::client_for(config)?,
            base: wire::base_url(config, DEFAULT_BASE),
            key: config.api_key.clone(),
            jwks_url: url::Url::parse(DEFAULT_JWKS).expect("the JWKS URL parses"),
            keys: Arc::default(),
        })
    }

    /// Fetches webhook keys from `url` instead of fal's (tests).
    pub fn with_jwks_url(mut self, url: url::Url) -> Self {
        self.jwks_url = url;
        self
    }

    async fn send(&self, request: Result<reqwest::RequestBuilder, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        let request = request.map(|r| match &self.key {
            Some(key) => r.header("authorization", format!("Key {}", key.expose())),
            None => r,
        });
        checked(wire::send(request).await?).await
    }

    /// The URL fal gave for `field` when it is on the API's own origin (the key goes there),
    /// else the documented `{app}/requests/{id}{suffix}` under the base URL.
    fn job_url(&self, handle: &UpstreamHandle, field: &str, suffix: &str) -> Result<url::Url, ProviderError> {
        let given = handle.data.get(field).and_then(|u| url::Url::parse(u).ok());
        if let Some(url) = given.filter(|u| u.origin() == self.base.origin()) {
            return Ok(url);
        }
        let app = handle.data.get("app").map(String::as_str).unwrap_or_default();
        wire::join(&self.base, &format!("{app}/requests/{}{suffix}", handle.id))
    }

    /// Starts loading the webhook keys in the background.
    fn load_keys_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.keys.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        let (client, url, keys) = (self.client.clone(), self.jwks_url.clone(), self.keys.clone());
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
        let result: Value = wire::read_json(self.send(self.client.get(&url)).await?).await?;
        Ok(outputs_of(&result))
    }
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, ProviderError> {
    if response.status().is_success() {
        return Ok(response);
    }
    Err(error_from(response).await)
}

async fn fetch_keys(client: &OutboundClient, url: &url::Url) -> Result<Vec<Vec<u8>>, ProviderError> {
    let jwks: Jwks = wire::read_json(checked(wire::send(client.get(url)).await?).await?).await?;
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

/// Maps an error response: `x-fal-error-type` / `error_type` / the detail's `type`, then the status.
async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let wait = wire::retry_after(response.headers());
    let header_type = response.headers().get("x-fal-error-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = wire::error_body(response).await;
    let error = serde_json::from_slice::<ErrorBody>(&body).ok();
    let code = header_type
        .or_else(|| error.as_ref().and_then(|e| e.error_type.clone()))
        .or_else(|| error.as_ref().and_then(|e| detail_type(&e.detail)))
        .unwrap_or_default();
    let message = error.as_ref().and_then(|e| text_of(&e.detail)).unwrap_or_else(|| format!("HTTP {status}"));
    wire::classify(status, &code, message, wait)
}

fn data_uri(image: &ReferenceImage) -> String {
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
    Some(OutputRef { location, content_type })
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
    UpstreamStatus::Succeeded { outputs }
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
        let mut url = wire::join(&self.base, &path)?;
        if let Some(callback) = &job.callback_url {
            url.query_pairs_mut().append_pair("fal_webhook", callback.as_str());
            if self.keys.get().is_none() {
                self.load_keys_later();
            }
        }
        let request = self
            .client
            .post(&url)
            .map(|r| r.header("x-fal-object-lifecycle-preference", LIFECYCLE).header("x-fal-store-io", "0").json(&input));
        let queued: Queued = wire::read_json(self.send(request).await?).await?;
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
        let status: QueueStatus = wire::read_json(self.send(self.client.get(&url)).await?).await?;
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
        let response = if url.origin() == self.base.origin() {
            self.send(self.client.get(&url)).await?
        } else {
            checked(wire::send(self.client.get(&url)).await?).await?
        };
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        Ok(wire::download(response, cap))
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.job_url(handle, "cancel_url", "/cancel")?;
        self.send(self.client.request(reqwest::Method::PUT, &url)).await.map(|_| ())
    }

    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // No delete route is documented; the submit asked fal (object lifecycle header) to
        // expire the CDN files after an hour, and queue results expire after an hour anyway.
        Ok(false)
    }

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
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicUsize;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::TryStreamExt;
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use serde_json::json;

    use super::*;
    use crate::domain::catalog::MediaKind;
    use crate::domain::ids::GenerationId;

    const KEY: &str = "fal-key-id:fal-key-secret";
    const ULTRA: &str = "fal-ai/flux-pro/v1.1-ultra";
    const KLING: &str = "fal-ai/kling-video/v2.1/master/text-to-video";

    fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig {
            base_url: Some(fake.url.clone()),
            api_key: Some(Secret::new(KEY)),
            allow_private_network: true,
            timeout,
            ..ConnectionConfig::new("fal", "fal")
        }
    }

    fn adapter(fake: &FakeUpstream) -> Fal {
        Fal::new(&config(fake, Duration::from_secs(5))).unwrap().with_jwks_url(fake.at("jwks.json"))
    }

    fn job(upstream: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
        ProviderJob {
            generation: GenerationId::generate(),
            model: "fal-test".into(),
            upstream_model: upstream.into(),
            kind: MediaKind::Image,
            prompt: "a fox in the snow".into(),
            negative_prompt: None,
            params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            references: Vec::new(),
            output_count: 1,
            callback_url: None,
        }
    }

    fn authorized(r: &Request) -> bool {
        r.header("authorization") == Some(&format!("Key {KEY}"))
    }

    /// The queue answer fal gives for `app` and request `id`, on `fake`'s origin.
    fn queued(fake_url: &url::Url, app: &str, id: &str) -> Value {
        let at = |suffix: &str| fake_url.join(&format!("{app}/requests/{id}{suffix}")).unwrap().to_string();
        json!({"request_id": id, "status_url": at("/status"), "response_url": at(""), "cancel_url": at("/cancel")})
    }

    fn handle_for(fake: &FakeUpstream, app: &str, id: &str) -> UpstreamHandle {
        let q = queued(&fake.url, app, id);
        let mut data = BTreeMap::from([("app".to_string(), app.to_string())]);
        for field in ["status_url", "response_url", "cancel_url"] {
            data.insert(field.into(), q[field].as_str().unwrap().into());
        }
        UpstreamHandle { id: id.into(), data }
    }

    async fn started(handler: impl Fn(&Request, &url::Url) -> Reply + Send + Sync + 'static) -> FakeUpstream {
        let own: Arc<Mutex<Option<url::Url>>> = Arc::default();
        let seen = own.clone();
        let fake = FakeUpstream::start(move |r| handler(r, seen.lock().unwrap().as_ref().expect("url set"))).await;
        *own.lock().unwrap() = Some(fake.url.clone());
        fake
    }

    #[tokio::test]
    async fn a_submit_posts_the_input_with_the_key_lifecycle_and_webhook_and_keeps_the_urls() {
        let fake = started(|r, url| match r.route().as_str() {
            "POST /fal-ai/flux-pro/v1.1-ultra" => Reply::json(200, queued(url, "fal-ai/flux-pro", "req-1")),
            _ => Reply::status(404),
        })
        .await;
        let mut job =
            job(ULTRA, &[("aspect_ratio", ParamValue::Text("21:9".into())), ("count", ParamValue::Int(2)), ("seed", ParamValue::Int(9))]);
        job.references =
            vec![ReferenceImage { role: ReferenceRole::Reference, content_type: "image/png".into(), bytes: Bytes::from_static(b"ref") }];
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/fal/s3cret").unwrap());
        let submitted = adapter(&fake).submit(&job).await.unwrap();
        assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
        assert_eq!(submitted.handle, handle_for(&fake, "fal-ai/flux-pro", "req-1"));
        let create = &fake.requests_to("POST /fal-ai/")[0];
        assert!(authorized(create));
        assert_eq!(create.query_param("fal_webhook").as_deref(), Some("https://studio.example/hooks/fal/s3cret"));
        assert_eq!(create.header("x-fal-object-lifecycle-preference"), Some(LIFECYCLE));
        assert_eq!(create.header("x-fal-store-io"), Some("0"), "fal is asked not to store inputs and outputs");
        assert_eq!(
            create.json(),
            json!({"prompt": "a fox in the snow", "aspect_ratio": "21:9", "num_images": 2, "seed": 9, "image_url": "data:image/png;base64,cmVm"})
        );
        // a webhook is expected: the keys to check it start loading, without the API key
        assert!(fake.wait_until(Duration::from_secs(5), |rs| rs.iter().any(|r| r.path == "/jwks.json")).await);
        assert!(fake.requests_to("GET /jwks.json").iter().all(|r| r.header("authorization").is_none()));
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_first_frame_moves_text_to_video_to_image_to_video_with_string_durations() {
        let fake = started(|r, url| {
            Reply::json(200, queued(url, "fal-ai/kling-video", if r.path.ends_with("image-to-video") { "i2v" } else { "t2v" }))
        })
        .await;
        let fal = adapter(&fake);
        let params = [("duration", ParamValue::Int(10)), ("aspect_ratio", ParamValue::Text("9:16".into()))];
        let text = fal.submit(&job(KLING, &params)).await.unwrap();
        assert_eq!(text.handle.id, "t2v");
        let mut image = job(KLING, &params);
        image.negative_prompt = Some("blur".into());
        image.references = vec![
            ReferenceImage { role: ReferenceRole::FirstFrame, content_type: "image/jpeg".into(), bytes: Bytes::from_static(b"first") },
            ReferenceImage { role: ReferenceRole::LastFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"last") },
        ];
        assert_eq!(fal.submit(&image).await.unwrap().handle.id, "i2v");
        let requests = fake.requests();
        assert_eq!(requests[0].route(), "POST /fal-ai/kling-video/v2.1/master/text-to-video");
        assert_eq!(requests[0].json(), json!({"prompt": "a fox in the snow", "duration": "10", "aspect_ratio": "9:16"}));
        assert_eq!(requests[0].query_param("fal_webhook"), None);
        assert_eq!(requests[1].route(), "POST /fal-ai/kling-video/v2.1/master/image-to-video");
        assert_eq!(
            requests[1].json(),
            json!({"prompt": "a fox in the snow", "negative_prompt": "blur", "duration": "10",
                "image_url": "data:image/jpeg;base64,Zmlyc3Q=", "tail_image_url": "data:image/png;base64,bGFzdA=="})
        );
        fake.stop().await;
    }

    #[tokio::test]
    async fn polls_walk_the_queue_then_read_images_from_the_response_url() {
        let step = Arc::new(AtomicUsize::new(0));
        let fake = started(move |r, _| match r.route().as_str() {
            "GET /fal-ai/flux-pro/requests/req-1/status" => match step.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::json(200, json!({"status": "IN_QUEUE", "queue_position": 3})),
                1 => Reply::json(200, json!({"status": "IN_PROGRESS", "logs": []})),
                2 => Reply::json(202, json!({"status": "WARMING"})),
                _ => Reply::json(200, json!({"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 2.1}})),
            },
            "GET /fal-ai/flux-pro/requests/req-1" => Reply::json(
                200,
                json!({
                    "images": [
                        {"url": "https://v3.fal.media/files/a/one.jpeg", "width": 2752, "height": 1536, "content_type": "image/jpeg"},
                        {"url": "https://v3.fal.media/files/a/two.png", "width": 2752, "height": 1536},
                    ],
                    "has_nsfw_concepts": [false, false], "seed": 9, "prompt": "a fox in the snow"
                }),
            ),
            _ => Reply::status(404),
        })
        .await;
        let fal = adapter(&fake);
        let handle = handle_for(&fake, "fal-ai/flux-pro", "req-1");
        for _ in 0..3 {
            assert!(matches!(fal.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }), "queued, running, unknown");
        }
        let UpstreamStatus::Succeeded { outputs } = fal.poll(&handle).await.unwrap() else { panic!() };
        assert_eq!(
            outputs,
            vec![
                OutputRef { location: "https://v3.fal.media/files/a/one.jpeg".into(), content_type: Some("image/jpeg".into()) },
                OutputRef { location: "https://v3.fal.media/files/a/two.png".into(), content_type: Some("image/png".into()) },
            ]
        );
        assert!(fake.requests().iter().all(authorized));
        fake.stop().await;
    }

    #[tokio::test]
    async fn urls_on_another_origin_are_not_trusted_with_the_key() {
        let fake = started(|r, _| match r.route().as_str() {
            "GET /fal-ai/kling-video/requests/r9/status" => Reply::json(200, json!({"status": "COMPLETED"})),
            "GET /fal-ai/kling-video/requests/r9" => Reply::json(
                200,
                json!({"video": {"url": "https://v3.fal.media/files/b/clip.mp4", "content_type": "video/mp4", "file_size": 1234}}),
            ),
            "PUT /fal-ai/kling-video/requests/r9/cancel" => Reply::json(202, json!({"status": "CANCELLATION_REQUESTED"})),
            _ => Reply::status(404),
        })
        .await;
        let fal = adapter(&fake);
        let mut handle = handle_for(&fake, "fal-ai/kling-video", "r9");
        for field in ["status_url", "response_url", "cancel_url"] {
            handle.data.insert(field.into(), "https://elsewhere.example/steal".into());
        }
        let UpstreamStatus::Succeeded { outputs } = fal.poll(&handle).await.unwrap() else { panic!() };
        assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
        fal.cancel(&handle).await.unwrap();
        fal.delete_upstream(&handle).await.unwrap();
        let routes: Vec<String> = fake.requests().iter().map(Request::route).collect();
        assert_eq!(
            routes,
            [
                "GET /fal-ai/kling-video/requests/r9/status",
                "GET /fal-ai/kling-video/requests/r9",
                "PUT /fal-ai/kling-video/requests/r9/cancel"
            ]
        );
        assert!(fake.requests().iter().all(authorized));
        fake.stop().await;
    }

    #[tokio::test]
    async fn failures_and_http_errors_map_to_classes() {
        let fake = started(|r, _| {
            let app = r.path.trim_start_matches("/fal-ai/flux-pro/requests/");
            let (id, tail) = app.split_once('/').unwrap_or((app, ""));
            match (id, tail) {
                ("errored", "status") => {
                    Reply::json(200, json!({"status": "COMPLETED", "error": "Prompt exceeds the maximum length", "error_type": "validation_error"}))
                }
                ("moderated", "status") | ("flagged", "status") | ("empty", "status") => Reply::json(200, json!({"status": "COMPLETED"})),
                ("moderated", "") => Reply::json(
                    422,
                    json!({"detail": [{"loc": ["body", "prompt"], "msg": "The content could not be processed because it contained material flagged by a content checker.", "type": "content_policy_violation"}]}),
                ),
                ("flagged", "") => Reply::json(200, json!({"images": [{"url": "https://v3.fal.media/x.jpeg"}], "has_nsfw_concepts": [true]})),
                ("empty", "") => Reply::json(200, json!({"images": []})),
                ("auth", _) => Reply::json(401, json!({"detail": "No user found for Key ID and Secret"})),
                ("invalid", _) => Reply::json(422, json!({"detail": [{"loc": ["body", "aspect_ratio"], "msg": "unexpected value", "type": "value_error"}]})),
                ("broke", _) => Reply::json(403, json!({"detail": "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."})),
                ("limited", _) => Reply::json(429, json!({"detail": "Too many requests"})).header("retry-after", 4),
                ("down", _) => Reply::text(502, "Bad Gateway"),
                ("gone", _) => Reply::json(404, json!({"detail": "Request not found"})),
                ("garbled", _) => Reply::bytes(200, "application/json", "{\"status"),
                _ => Reply::hang(),
            }
        })
        .await;
        let fal = adapter(&fake);
        let handle =
            |id: &str| UpstreamHandle { id: id.into(), data: BTreeMap::from([("app".to_string(), "fal-ai/flux-pro".to_string())]) };
        let failed = |s: UpstreamStatus| match s {
            UpstreamStatus::Failed(e) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(failed(fal.poll(&handle("errored")).await.unwrap()).code(), "provider.invalid_input");
        assert_eq!(fal.poll(&handle("moderated")).await.unwrap_err().code(), "provider.content_policy");
        assert_eq!(failed(fal.poll(&handle("flagged")).await.unwrap()).code(), "provider.content_policy");
        assert_eq!(failed(fal.poll(&handle("empty")).await.unwrap()).code(), "provider.transient");
        assert!(matches!(fal.poll(&handle("auth")).await.unwrap_err(), ProviderError::Auth(m) if m.contains("No user found")));
        assert!(
            matches!(fal.poll(&handle("invalid")).await.unwrap_err(), ProviderError::InvalidInput(m) if m.contains("unexpected value"))
        );
        assert_eq!(fal.poll(&handle("broke")).await.unwrap_err().code(), "provider.insufficient_credit");
        assert_eq!(fal.poll(&handle("limited")).await.unwrap_err().retry_after(), Some(Duration::from_secs(4)));
        assert_eq!(fal.poll(&handle("down")).await.unwrap_err().code(), "provider.transient");
        assert_eq!(fal.poll(&handle("gone")).await.unwrap_err().code(), "provider.not_found");
        assert_eq!(fal.poll(&handle("garbled")).await.unwrap_err().code(), "provider.transient");
        let short = Fal::new(&config(&fake, Duration::from_millis(300))).unwrap();
        assert_eq!(short.submit(&job(ULTRA, &[])).await.unwrap_err(), ProviderError::Timeout);
        fake.stop().await;
    }

    #[tokio::test]
    async fn cdn_outputs_are_fetched_without_the_key_and_capped() {
        let cdn = FakeUpstream::start(|r| match r.path.as_str() {
            "/files/clip.mp4" => Reply::bytes(200, "video/mp4", Bytes::from_static(b"\x00\x00\x00\x18ftypmp42")),
            "/files/huge.mp4" => Reply::bytes(200, "video/mp4", vec![0u8; 8192]),
            _ => Reply::status(404),
        })
        .await;
        let api = FakeUpstream::start(|_| Reply::status(500)).await;
        let fal = adapter(&api);
        let handle = handle_for(&api, "fal-ai/kling-video", "r1");
        let out = |path: &str| OutputRef { location: cdn.at(path).to_string(), content_type: None };
        let chunks: Vec<Bytes> = fal.fetch(&handle, &out("files/clip.mp4"), 1 << 20).await.unwrap().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"\x00\x00\x00\x18ftypmp42");
        assert_eq!(fal.fetch(&handle, &out("files/huge.mp4"), 4096).await.err(), Some(ProviderError::TooLarge { cap: 4096 }));
        assert_eq!(fal.fetch(&handle, &out("files/expired.mp4"), 4096).await.err().map(|e| e.code()), Some("provider.not_found"));
        assert!(cdn.requests().iter().all(|r| r.header("authorization").is_none()), "the key never goes to the CDN");
        assert!(api.requests().is_empty());
        cdn.stop().await;
        api.stop().await;
    }

    /// An Ed25519 key pair from a fixed seed: (PKCS#8 signer, raw public key).
    fn signer() -> (Arc<dyn rustls::sign::SigningKey>, Vec<u8>) {
        let mut pkcs8 = hex::decode("302e020100300506032b657004220420").unwrap();
        pkcs8.extend([7u8; 32]);
        let key = rustls::crypto::ring::sign::any_eddsa_type(&PrivatePkcs8KeyDer::from(pkcs8)).unwrap();
        let spki = key.public_key().unwrap();
        let public = spki.as_ref()[spki.as_ref().len() - 32..].to_vec();
        (key, public)
    }

    fn signed(key: &dyn rustls::sign::SigningKey, request_id: &str, timestamp: u64, body: &[u8]) -> Callback {
        let message = format!("{request_id}\nuser-1\n{timestamp}\n{}", hex::encode(sha2::Sha256::digest(body)));
        let signature = key.choose_scheme(&[rustls::SignatureScheme::ED25519]).unwrap().sign(message.as_bytes()).unwrap();
        Callback {
            headers: BTreeMap::from([
                ("x-fal-webhook-request-id".into(), request_id.into()),
                ("x-fal-webhook-user-id".into(), "user-1".into()),
                ("x-fal-webhook-timestamp".into(), timestamp.to_string()),
                ("x-fal-webhook-signature".into(), hex::encode(signature)),
            ]),
            body: Bytes::copy_from_slice(body),
        }
    }

    #[tokio::test]
    async fn webhooks_are_verified_with_fals_ed25519_keys() {
        let (key, public) = signer();
        let jwk = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&public);
        let fake = FakeUpstream::start(move |r| match r.path.as_str() {
            "/jwks.json" => Reply::json(200, json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": jwk, "kid": "k1"}]})),
            _ => Reply::status(404),
        })
        .await;
        let fal = adapter(&fake);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let body =
            serde_json::to_vec(&json!({"request_id": "req-2", "gateway_request_id": "req-1", "status": "OK", "payload": {}})).unwrap();
        let good = signed(key.as_ref(), "req-2", now, &body);
        assert!(matches!(fal.callback(&good), Err(ProviderError::Auth(_))), "refused until the keys are loaded");
        for _ in 0..100 {
            if fal.keys.get().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(fal.callback(&good).unwrap(), Some("req-1".to_string()), "the id the submit answered with");
        let mut tampered = good.clone();
        tampered.body = Bytes::from(String::from_utf8(body.clone()).unwrap().replace("OK", "ERROR"));
        assert!(matches!(fal.callback(&tampered), Err(ProviderError::Auth(_))));
        let stale = signed(key.as_ref(), "req-2", now - 3600, &body);
        assert!(matches!(fal.callback(&stale), Err(ProviderError::Auth(m)) if m.contains("too old")));
        let other_job = signed(key.as_ref(), "req-3", now, &body);
        assert!(matches!(fal.callback(&other_job), Err(ProviderError::Auth(m)) if m.contains("does not match")));
        let mut unsigned = good.clone();
        unsigned.headers.remove("x-fal-webhook-signature");
        assert!(matches!(fal.callback(&unsigned), Err(ProviderError::Auth(_))));
        assert_eq!(fake.requests_to("GET /jwks.json").len(), 1);
        fake.stop().await;
    }

    #[test]
    fn apps_are_the_first_two_segments() {
        assert_eq!(app_of(ULTRA), "fal-ai/flux-pro");
        assert_eq!(app_of("fal-ai/fast-sdxl"), "fal-ai/fast-sdxl");
    }
}
