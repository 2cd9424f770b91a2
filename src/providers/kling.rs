//! The official Kling AI API (Kuaishou): JSON submits to `/v1/videos/text2video`,
//! `/v1/videos/image2video` and `/v1/images/generations`, each polled at its own
//! `{path}/{task_id}` (the path is kept in the handle). Auth is an HS256 JWT minted from the
//! connection's access key (`iss`) and secret key, cached and re-minted before it expires.
//! Answers are `{code, message, request_id, data}`: a `code` other than 0 is an error whatever
//! the HTTP status. Reference images go as raw base64 (no `data:` prefix); outputs are CDN URLs
//! fetched without credentials. No cancel or delete endpoint exists. See PROVIDERS.md §5.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::http::{OutboundClient, OutboundError, read_capped};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL (servers outside mainland China).
pub const DEFAULT_BASE: &str = "https://api-singapore.klingai.com";

/// How long a minted token is valid.
const TOKEN_LIFETIME: u64 = 30 * 60;
/// A cached token is replaced when it has less than this left.
const TOKEN_MARGIN: u64 = 5 * 60;
/// The handle's key for the query path (`v1/videos/text2video`, …).
const QUERY: &str = "query";

/// The adapter for one connection.
pub struct Kling {
    client: OutboundClient,
    base: url::Url,
    access_key: Option<String>,
    secret_key: Option<Secret>,
    /// A plain bearer key, for Kling-compatible gateways (used when no access/secret key pair).
    api_key: Option<Secret>,
    /// The current JWT and its expiry (unix seconds).
    token: Mutex<Option<(String, u64)>>,
}

/// Every answer's envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    code: Option<i64>,
    message: Option<String>,
    #[serde(default)]
    data: Value,
}

/// A task as submit, query and callback report it (tolerant).
#[derive(Debug, Deserialize)]
struct Task {
    task_id: String,
    #[serde(default)]
    task_status: String,
    task_status_msg: Option<String>,
    task_result: Option<TaskResult>,
}

#[derive(Debug, Default, Deserialize)]
struct TaskResult {
    #[serde(default)]
    videos: Vec<Media>,
    #[serde(default)]
    images: Vec<Media>,
}

#[derive(Debug, Deserialize)]
struct Media {
    url: Option<String>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// An HS256 JWT `{"iss": access_key, "exp": now + 30 min, "nbf": now - 5 s}` signed with the
/// secret key, as Kling's docs mint it.
pub fn mint_token(access_key: &str, secret_key: &str, now: u64) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({"iss": access_key, "exp": now + TOKEN_LIFETIME, "nbf": now.saturating_sub(5)});
    let payload = b64(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

/// Kling's business codes first, then the HTTP status (PROVIDERS.md §5 "Errors").
fn classify(status: u16, code: Option<i64>, message: String, wait: Option<Duration>) -> ProviderError {
    match code {
        // authentication failed / empty / invalid / not yet valid / expired; account exception;
        // no access to the resource; IP not allowed
        Some(1000..=1004 | 1100 | 1103 | 1304) => ProviderError::Auth(message),
        // account in arrears, resource pack depleted or expired
        Some(1101 | 1102) => ProviderError::InsufficientUpstreamCredit(message),
        Some(1200..=1202) => ProviderError::InvalidInput(message),
        Some(1203) => ProviderError::NotFound(message),
        // platform policy, content security policy
        Some(1300 | 1301) => ProviderError::ContentPolicy(message),
        // too many requests, concurrency above the resource pack's limit
        Some(1302 | 1303) => ProviderError::RateLimited { retry_after: wait, message },
        Some(5000..=5099) => ProviderError::Transient(message),
        other => {
            let code = other.map(|c| c.to_string()).unwrap_or_default();
            let status = if (200..300).contains(&status) { 400 } else { status };
            wire::classify(status, &code, message, wait)
        }
    }
}

/// A failed task's class, from `task_status_msg` (risk control is Kling's moderation).
fn task_failure(message: Option<&str>) -> ProviderError {
    let message = message.filter(|m| !m.trim().is_empty()).unwrap_or("Kling reported the task as failed").to_string();
    if message.to_ascii_lowercase().contains("risk") { ProviderError::ContentPolicy(message) } else { wire::job_failure("", message) }
}

/// The content type of an image URL, from its extension.
fn image_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    if path.ends_with(".jpg") || path.ends_with(".jpeg") {
        "image/jpeg"
    } else if path.ends_with(".webp") {
        "image/webp"
    } else {
        "image/png"
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn text(job: &ProviderJob, name: &str) -> Option<String> {
    match job.params.get(name) {
        Some(ParamValue::Text(t)) => Some(t.clone()),
        Some(ParamValue::Int(n)) => Some(n.to_string()),
        None => None,
    }
}

impl Kling {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self {
            client: wire::client_for(config)?,
            base: wire::base_url(config, DEFAULT_BASE),
            access_key: config.access_key.clone().filter(|k| !k.is_empty()),
            secret_key: config.secret_key.clone(),
            api_key: config.api_key.clone(),
            token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, ProviderError> {
        wire::join(&self.base, path)
    }

    /// The bearer credential: the cached JWT while it has more than 5 minutes left, else a new one.
    fn bearer(&self) -> Result<String, ProviderError> {
        match (&self.access_key, &self.secret_key, &self.api_key) {
            (Some(ak), Some(sk), _) => {
                let now = now();
                let mut cached = self.token.lock().unwrap_or_else(|p| p.into_inner());
                match cached.as_ref() {
                    Some((token, exp)) if *exp > now + TOKEN_MARGIN => Ok(token.clone()),
                    _ => {
                        let token = mint_token(ak, sk.expose(), now);
                        *cached = Some((token.clone(), now + TOKEN_LIFETIME));
                        Ok(token)
                    }
                }
            }
            (_, _, Some(key)) => Ok(key.expose().to_string()),
            _ => Err(ProviderError::Auth("the kling connection needs access_key and secret_key".into())),
        }
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// One API call; returns the envelope's `data`. A token Kling calls not yet valid or
    /// expired (1003/1004, clock skew) is re-minted and the call made once more.
    async fn call(&self, method: reqwest::Method, url: &url::Url, body: Option<&Value>) -> Result<Value, ProviderError> {
        let mut reminted = false;
        loop {
            let token = self.bearer()?;
            let request = self.client.request(method.clone(), url).map(|r| {
                let r = r.bearer_auth(token);
                match body {
                    Some(body) => r.json(body),
                    None => r,
                }
            });
            let response = wire::send(request).await?;
            let status = response.status().as_u16();
            let wait = wire::retry_after(response.headers());
            let bytes = read_capped(response, wire::JSON_CAP).await.map_err(wire::outbound)?;
            let error = if (200..300).contains(&status) {
                let envelope: Envelope = wire::parse_json(&bytes)?;
                match envelope.code {
                    None | Some(0) => return Ok(envelope.data),
                    code => classify(status, code, envelope.message.unwrap_or_else(|| format!("Kling error {code:?}")), wait),
                }
            } else {
                let envelope = serde_json::from_slice::<Envelope>(&bytes).ok();
                let code = envelope.as_ref().and_then(|e| e.code);
                let message = envelope.and_then(|e| e.message).filter(|m| !m.is_empty()).unwrap_or_else(|| format!("HTTP {status}"));
                classify(status, code, message, wait)
            };
            let stale = matches!(&error, ProviderError::Auth(_)) && self.access_key.is_some() && !reminted;
            if stale && is_stale_token(&bytes) {
                self.forget_token();
                reminted = true;
                continue;
            }
            return Err(error);
        }
    }

    fn status(&self, task: &Task) -> UpstreamStatus {
        match task.task_status.as_str() {
            "submitted" | "processing" => UpstreamStatus::Pending { progress: None, poll_after: None },
            "succeed" | "succeeded" => {
                let result = task.task_result.as_ref();
                let videos = result.map(|r| r.videos.as_slice()).unwrap_or_default();
                let images = result.map(|r| r.images.as_slice()).unwrap_or_default();
                let mut outputs: Vec<OutputRef> = videos
                    .iter()
                    .filter_map(|v| v.url.clone())
                    .map(|location| OutputRef { location, content_type: Some("video/mp4".into()) })
                    .collect();
                outputs.extend(images.iter().filter_map(|i| i.url.clone()).map(|location| {
                    let content_type = Some(image_type(&location).to_string());
                    OutputRef { location, content_type }
                }));
                if outputs.is_empty() {
                    return UpstreamStatus::Failed(ProviderError::Transient("Kling reported success without any output".into()));
                }
                UpstreamStatus::Succeeded { outputs }
            }
            "failed" => UpstreamStatus::Failed(task_failure(task.task_status_msg.as_deref())),
            other => wire::unknown_status("kling", other, None),
        }
    }

    /// The endpoint and JSON body of a job.
    fn request(&self, job: &ProviderJob) -> (&'static str, Value) {
        let image = |role| job.references.iter().find(|r| r.role == role).map(|r| base64(&r.bytes));
        let mut body = json!({"model_name": job.upstream_model, "prompt": job.prompt});
        if let Some(negative) = job.negative_prompt.as_ref().filter(|n| !n.is_empty()) {
            body["negative_prompt"] = json!(negative);
        }
        let path = match job.kind {
            MediaKind::Image => {
                body["n"] = json!(job.output_count.max(1));
                if let Some(ratio) = text(job, "aspect_ratio") {
                    body["aspect_ratio"] = json!(ratio);
                }
                if let Some(reference) = image(ReferenceRole::Reference) {
                    body["image"] = json!(reference);
                }
                "v1/images/generations"
            }
            MediaKind::Video => {
                let (first, last) = (image(ReferenceRole::FirstFrame), image(ReferenceRole::LastFrame));
                let path = if first.is_some() || last.is_some() {
                    if let Some(first) = first {
                        body["image"] = json!(first);
                    }
                    if let Some(last) = last {
                        body["image_tail"] = json!(last);
                    }
                    "v1/videos/image2video"
                } else {
                    if let Some(ratio) = text(job, "aspect_ratio") {
                        body["aspect_ratio"] = json!(ratio);
                    }
                    "v1/videos/text2video"
                };
                if let Some(duration) = text(job, "duration") {
                    body["duration"] = json!(duration);
                }
                if let Some(mode) = text(job, "mode") {
                    body["mode"] = json!(mode);
                }
                body["external_task_id"] = json!(job.generation.to_string());
                path
            }
        };
        if let Some(callback) = &job.callback_url {
            body["callback_url"] = json!(callback.as_str());
        }
        (path, body)
    }
}

/// Whether an error body carries Kling's "token not yet valid" or "token expired" code.
fn is_stale_token(body: &[u8]) -> bool {
    serde_json::from_slice::<Envelope>(body).ok().and_then(|e| e.code).is_some_and(|c| c == 1003 || c == 1004)
}

fn task(data: Value) -> Result<Task, ProviderError> {
    serde_json::from_value(data).map_err(|e| ProviderError::Transient(format!("malformed task from Kling: {e}")))
}

#[async_trait]
impl Provider for Kling {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (path, body) = self.request(job);
        let data = self.call(reqwest::Method::POST, &self.url(path)?, Some(&body)).await?;
        let task = task(data)?;
        let status = self.status(&task);
        let handle = UpstreamHandle { id: task.task_id, data: [(QUERY.to_string(), path.to_string())].into() };
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let path = handle.data.get(QUERY).map(String::as_str).unwrap_or("v1/videos/text2video");
        let url = self.url(&format!("{path}/{}", handle.id))?;
        let task = task(self.call(reqwest::Method::GET, &url, None).await?)?;
        Ok(self.status(&task))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        // CDN URLs: public, fetched without the token (it never leaves for another host)
        let url = url::Url::parse(&output.location).or_else(|_| self.url(&output.location))?;
        let response = wire::send(self.client.get(&url)).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let message = format!("Kling's output URL answered HTTP {status}");
            return Err(match status {
                403 | 404 | 410 => ProviderError::NotFound(message),
                _ => wire::classify(status, "", message, wire::retry_after(response.headers())),
            });
        }
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        Ok(wire::download(response, cap))
    }

    async fn cancel(&self, _handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // Kling has no cancel endpoint
        Ok(())
    }

    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // nor a delete one: Kling clears outputs after 30 days
        Ok(false)
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // unsigned (none documented): the id only triggers a poll
        let body: Value = serde_json::from_slice(&callback.body).unwrap_or(Value::Null);
        let id = body.get("task_id").or_else(|| body.get("data").and_then(|d| d.get("task_id")));
        Ok(id.and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_string))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let end = now() * 1000;
        let mut url = self.url("account/costs")?;
        url.query_pairs_mut().append_pair("start_time", &(end - 30 * 86_400_000).to_string()).append_pair("end_time", &end.to_string());
        let data = self.call(reqwest::Method::GET, &url, None).await?;
        let packs = data.get("resource_pack_subscribe_infos").and_then(Value::as_array).cloned().unwrap_or_default();
        let remaining: f64 = packs
            .iter()
            .filter(|p| p.get("status").and_then(Value::as_str).is_none_or(|s| s == "online"))
            .filter_map(|p| p.get("remaining_quantity").and_then(Value::as_f64))
            .sum();
        Ok(if packs.is_empty() {
            "Kling accepted the keys.".to_string()
        } else {
            format!("Kling accepted the keys; {remaining} units remain in the active resource packs.")
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::TryStreamExt;

    use super::*;
    use crate::domain::catalog::Params;
    use crate::domain::ids::GenerationId;
    use crate::providers::ReferenceImage;

    const AK: &str = "ak-test";
    const SK: &str = "sk-test-secret";

    fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig {
            base_url: Some(fake.url.clone()),
            access_key: Some(AK.into()),
            secret_key: Some(Secret::new(SK)),
            allow_private_network: true,
            timeout,
            ..ConnectionConfig::new("kling", "kling")
        }
    }

    fn adapter(fake: &FakeUpstream) -> Kling {
        Kling::new(&config(fake, Duration::from_secs(2))).unwrap()
    }

    fn job(kind: MediaKind, model: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
        let params: Params = params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        ProviderJob {
            generation: GenerationId::generate(),
            model: model.into(),
            upstream_model: model.into(),
            kind,
            prompt: "a heron in the rain".into(),
            negative_prompt: None,
            params,
            references: Vec::new(),
            output_count: 1,
            callback_url: None,
        }
    }

    fn video_job() -> ProviderJob {
        job(MediaKind::Video, "kling-v2-1-master", &[("duration", ParamValue::Int(5)), ("aspect_ratio", ParamValue::Text("16:9".into()))])
    }

    fn ok(data: Value) -> Reply {
        Reply::json(200, json!({"code": 0, "message": "SUCCEED", "request_id": "req-1", "data": data}))
    }

    fn task_reply(id: &str, status: &str) -> Reply {
        ok(json!({"task_id": id, "task_status": status, "created_at": 1, "updated_at": 2}))
    }

    fn error(status: u16, code: i64, message: &str) -> Reply {
        Reply::json(status, json!({"code": code, "message": message, "request_id": "req-e"}))
    }

    /// Checks a bearer JWT: signature with the secret key and the documented claims.
    fn verify_jwt(request: &Request) -> Value {
        let token = request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).expect("a bearer token");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let decode = |p: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap();
        let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SK.as_bytes()).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&decode(parts[2])).expect("signed with the secret key");
        serde_json::from_slice(&decode(parts[1])).unwrap()
    }

    async fn drain(stream: ByteStream) -> Result<Bytes, ProviderError> {
        let chunks: Vec<Bytes> = stream.try_collect().await?;
        Ok(chunks.concat().into())
    }

    #[test]
    fn the_token_is_an_hs256_jwt_with_iss_exp_and_nbf() {
        let token = mint_token(AK, SK, 1_700_000_000);
        let request = Request {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: [("authorization".to_string(), format!("Bearer {token}"))].into(),
            body: Bytes::new(),
            at: std::time::Instant::now(),
        };
        assert_eq!(verify_jwt(&request), json!({"iss": AK, "exp": 1_700_001_800u64, "nbf": 1_699_999_995u64}));
    }

    #[tokio::test]
    async fn text_to_video_is_submitted_polled_at_its_own_path_and_fetched_from_the_cdn() {
        let polls = Arc::new(Mutex::new(0));
        let seen = polls.clone();
        let fake = FakeUpstream::start(move |r| match r.route().as_str() {
            "POST /v1/videos/text2video" => task_reply("t-1", "submitted"),
            "GET /v1/videos/text2video/t-1" => {
                let mut n = seen.lock().unwrap();
                *n += 1;
                match *n {
                    1 => task_reply("t-1", "processing"),
                    _ => ok(json!({"task_id": "t-1", "task_status": "succeed", "task_result": {"videos": [
                        {"id": "v-1", "url": format!("http://{}/cdn/v-1.mp4", r.header("host").unwrap()), "duration": "5"}
                    ]}})),
                }
            }
            "GET /cdn/v-1.mp4" => Reply::bytes(200, "video/mp4", &b"mp4 bytes"[..]),
            _ => Reply::status(404),
        })
        .await;
        let kling = adapter(&fake);
        let mut job = video_job();
        job.negative_prompt = Some("blur".into());
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/kling/s3cret").unwrap());
        let submitted = kling.submit(&job).await.unwrap();
        assert_eq!(submitted.handle.id, "t-1");
        assert_eq!(submitted.handle.data[QUERY], "v1/videos/text2video");
        assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));

        let create = &fake.requests_to("POST /v1/videos/text2video")[0];
        assert_eq!(
            create.json(),
            json!({
                "model_name": "kling-v2-1-master", "prompt": "a heron in the rain", "negative_prompt": "blur",
                "aspect_ratio": "16:9", "duration": "5", "external_task_id": job.generation.to_string(),
                "callback_url": "https://studio.example/hooks/kling/s3cret"
            })
        );
        assert_eq!(create.header("content-type"), Some("application/json"));
        let claims = verify_jwt(create);
        let now = now();
        assert_eq!(claims["iss"], AK);
        assert!(claims["exp"].as_u64().unwrap().abs_diff(now + 1800) <= 5, "{claims}");
        assert!(claims["nbf"].as_u64().unwrap().abs_diff(now - 5) <= 5, "{claims}");

        assert!(matches!(kling.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
        let UpstreamStatus::Succeeded { outputs } = kling.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
        let bytes = drain(kling.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
        assert_eq!(&bytes[..], b"mp4 bytes");
        let download = &fake.requests_to("GET /cdn/")[0];
        assert_eq!(download.header("authorization"), None, "the token never goes to the CDN");
        // the cached token is reused, not minted per request
        let tokens: std::collections::BTreeSet<_> =
            fake.requests().iter().filter_map(|r| r.header("authorization").map(str::to_string)).collect();
        assert_eq!(tokens.len(), 1);
        kling.cancel(&submitted.handle).await.unwrap();
        kling.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests().len(), 4, "cancel and delete make no request (Kling has neither)");
    }

    #[tokio::test]
    async fn frames_go_as_raw_base64_to_image2video_with_mode() {
        let fake = FakeUpstream::start(|r| match r.route().as_str() {
            "POST /v1/videos/image2video" => task_reply("i-1", "submitted"),
            "GET /v1/videos/image2video/i-1" => task_reply("i-1", "processing"),
            _ => Reply::status(404),
        })
        .await;
        let kling = adapter(&fake);
        let mut job = job(
            MediaKind::Video,
            "kling-v2-1",
            &[
                ("duration", ParamValue::Int(10)),
                ("aspect_ratio", ParamValue::Text("16:9".into())),
                ("mode", ParamValue::Text("pro".into())),
            ],
        );
        job.references = vec![
            ReferenceImage { role: ReferenceRole::FirstFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"first") },
            ReferenceImage { role: ReferenceRole::LastFrame, content_type: "image/jpeg".into(), bytes: Bytes::from_static(b"last") },
        ];
        let submitted = kling.submit(&job).await.unwrap();
        assert_eq!(submitted.handle.data[QUERY], "v1/videos/image2video");
        assert_eq!(
            fake.requests_to("POST /v1/videos/image2video")[0].json(),
            json!({
                "model_name": "kling-v2-1", "prompt": "a heron in the rain", "image": base64(b"first"),
                "image_tail": base64(b"last"), "duration": "10", "mode": "pro",
                "external_task_id": job.generation.to_string()
            })
        );
        kling.poll(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests_to("GET /v1/videos/image2video/i-1").len(), 1, "polled at the image2video path");
    }

    #[tokio::test]
    async fn images_are_generated_with_n_and_a_reference() {
        let fake = FakeUpstream::start(|r| match r.route().as_str() {
            "POST /v1/images/generations" => task_reply("g-1", "submitted"),
            "GET /v1/images/generations/g-1" => ok(json!({"task_id": "g-1", "task_status": "succeed", "task_result": {"images": [
                {"index": 0, "url": "https://cdn.example/a.png"}, {"index": 1, "url": "https://cdn.example/b.jpg?sig=1"}
            ]}})),
            _ => Reply::status(404),
        })
        .await;
        let kling = adapter(&fake);
        let mut job = job(MediaKind::Image, "kling-v2", &[("aspect_ratio", ParamValue::Text("3:2".into())), ("count", ParamValue::Int(2))]);
        job.output_count = 2;
        job.references =
            vec![ReferenceImage { role: ReferenceRole::Reference, content_type: "image/png".into(), bytes: Bytes::from_static(b"style") }];
        let submitted = kling.submit(&job).await.unwrap();
        assert_eq!(
            fake.requests_to("POST /v1/images/generations")[0].json(),
            json!({"model_name": "kling-v2", "prompt": "a heron in the rain", "n": 2, "aspect_ratio": "3:2", "image": base64(b"style")})
        );
        let UpstreamStatus::Succeeded { outputs } = kling.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
        let types: Vec<_> = outputs.iter().map(|o| o.content_type.clone().unwrap()).collect();
        assert_eq!(types, ["image/png", "image/jpeg"]);
        assert_eq!(outputs[1].location, "https://cdn.example/b.jpg?sig=1");
    }

    #[tokio::test]
    async fn business_codes_and_statuses_map_to_the_classes() {
        let cases: Vec<(Reply, &str)> = vec![
            (error(401, 1000, "Authentication failed"), "provider.auth"),
            (error(401, 1002, "Authorization is invalid"), "provider.auth"),
            (error(429, 1102, "Resource pack depleted"), "provider.insufficient_credit"),
            (error(429, 1101, "Account in arrears"), "provider.insufficient_credit"),
            (error(400, 1201, "invalid aspect_ratio"), "provider.invalid_input"),
            (error(400, 1301, "content security policy"), "provider.content_policy"),
            (error(429, 1303, "parallel task over resource pack limit"), "provider.rate_limited"),
            (error(404, 1203, "task not found"), "provider.not_found"),
            (error(500, 5000, "internal error"), "provider.transient"),
            (Reply::status(502), "provider.transient"),
            (Reply::status(422), "provider.invalid_input"),
            // an HTTP 200 carrying a business error is still an error
            (error(200, 1301, "prompt hit the content policy"), "provider.content_policy"),
            (Reply::text(200, "<html>oops"), "provider.transient"),
        ];
        for (reply, code) in cases {
            let fake = FakeUpstream::start(move |_| reply.clone()).await;
            let err = adapter(&fake).submit(&video_job()).await.expect_err("an error");
            assert_eq!(err.code(), code, "{err}");
            fake.stop().await;
        }
    }

    #[tokio::test]
    async fn a_rate_limit_carries_retry_after() {
        let fake = FakeUpstream::start(|_| error(429, 1302, "API request too fast").header("retry-after", 7)).await;
        let err = adapter(&fake).submit(&video_job()).await.unwrap_err();
        assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(7)), message: "API request too fast".into() });
    }

    #[tokio::test]
    async fn an_expired_token_is_reminted_once() {
        let calls = Arc::new(Mutex::new(0));
        let count = calls.clone();
        let fake = FakeUpstream::start(move |_| {
            let mut n = count.lock().unwrap();
            *n += 1;
            if *n == 1 { error(401, 1004, "Authorization has expired") } else { task_reply("t-9", "submitted") }
        })
        .await;
        let kling = adapter(&fake);
        assert_eq!(kling.submit(&video_job()).await.unwrap().handle.id, "t-9");
        assert_eq!(fake.requests().len(), 2);
        // a refused key is not retried for ever
        let fake2 = FakeUpstream::start(|_| error(401, 1004, "Authorization has expired")).await;
        assert_eq!(adapter(&fake2).submit(&video_job()).await.unwrap_err().code(), "provider.auth");
        assert_eq!(fake2.requests().len(), 2, "one re-mint, then the error");
    }

    #[tokio::test]
    async fn missing_keys_are_an_auth_error() {
        let fake = FakeUpstream::start(|_| task_reply("x", "submitted")).await;
        let kling = Kling::new(&ConnectionConfig { access_key: None, ..config(&fake, Duration::from_secs(1)) }).unwrap();
        assert_eq!(kling.submit(&video_job()).await.unwrap_err().code(), "provider.auth");
        assert!(fake.requests().is_empty());
    }

    #[tokio::test]
    async fn failed_tasks_map_by_their_message_and_unknown_statuses_keep_waiting() {
        let status = Arc::new(Mutex::new(json!({})));
        let current = status.clone();
        let fake = FakeUpstream::start(move |_| ok(current.lock().unwrap().clone())).await;
        let kling = adapter(&fake);
        let handle = UpstreamHandle { id: "t-1".into(), data: [(QUERY.to_string(), "v1/videos/text2video".to_string())].into() };
        let poll = async |body: Value| {
            *status.lock().unwrap() = body;
            kling.poll(&handle).await
        };
        let failed = |msg: &str| json!({"task_id": "t-1", "task_status": "failed", "task_status_msg": msg});
        let UpstreamStatus::Failed(e) = poll(failed("Failure to pass the risk control system")).await.unwrap() else { panic!() };
        assert_eq!(e.code(), "provider.content_policy");
        let UpstreamStatus::Failed(e) = poll(failed("image resolution too small")).await.unwrap() else { panic!() };
        assert_eq!(e.code(), "provider.invalid_input");
        let waiting = poll(json!({"task_id": "t-1", "task_status": "warming"})).await.unwrap();
        assert!(matches!(waiting, UpstreamStatus::Pending { .. }));
        let empty = poll(json!({"task_id": "t-1", "task_status": "succeed", "task_result": {"videos": []}})).await.unwrap();
        assert!(matches!(empty, UpstreamStatus::Failed(ProviderError::Transient(_))));
    }

    #[test]
    fn a_token_is_reused_until_five_minutes_are_left() {
        let kling = Kling::new(&ConnectionConfig {
            access_key: Some(AK.into()),
            secret_key: Some(Secret::new(SK)),
            ..ConnectionConfig::new("k", "kling")
        })
        .unwrap();
        let first = kling.bearer().unwrap();
        assert_eq!(kling.bearer().unwrap(), first, "cached");
        *kling.token.lock().unwrap() = Some(("old".into(), now() + 10 * 60));
        assert_eq!(kling.bearer().unwrap(), "old", "ten minutes left: still used");
        *kling.token.lock().unwrap() = Some(("old".into(), now() + 4 * 60));
        let fresh = kling.bearer().unwrap();
        assert_ne!(fresh, "old", "under five minutes left: re-minted");
        assert!(kling.token.lock().unwrap().as_ref().unwrap().1.abs_diff(now() + TOKEN_LIFETIME) <= 1);
    }

    #[tokio::test]
    async fn a_hanging_upstream_times_out() {
        let fake = FakeUpstream::start(|_| Reply::hang()).await;
        let kling = Kling::new(&config(&fake, Duration::from_millis(300))).unwrap();
        assert_eq!(kling.submit(&video_job()).await.unwrap_err(), ProviderError::Timeout);
    }

    #[tokio::test]
    async fn expired_and_oversized_outputs_are_refused() {
        let fake = FakeUpstream::start(|r| match r.path.as_str() {
            "/gone.mp4" => Reply::text(403, "AccessDenied: Request has expired"),
            _ => Reply::bytes(200, "video/mp4", vec![0u8; 4096]),
        })
        .await;
        let kling = adapter(&fake);
        let handle = UpstreamHandle { id: "t".into(), data: Default::default() };
        let at = |path: &str| OutputRef { location: fake.at(path).to_string(), content_type: None };
        assert_eq!(kling.fetch(&handle, &at("gone.mp4"), 1 << 20).await.err().unwrap().code(), "provider.not_found");
        assert_eq!(kling.fetch(&handle, &at("big.mp4"), 1024).await.err(), Some(ProviderError::TooLarge { cap: 1024 }));
    }

    #[test]
    fn callbacks_name_the_task() {
        let fake_config =
            ConnectionConfig { access_key: Some(AK.into()), secret_key: Some(Secret::new(SK)), ..ConnectionConfig::new("k", "kling") };
        let kling = Kling::new(&fake_config).unwrap();
        let call = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
        let body = r#"{"task_id":"t-42","task_status":"succeed","task_info":{"external_task_id":"x"},"task_result":{"videos":[]}}"#;
        assert_eq!(kling.callback(&call(body)).unwrap().as_deref(), Some("t-42"));
        assert_eq!(kling.callback(&call("not json")).unwrap(), None);
    }

    #[tokio::test]
    async fn test_connection_reads_the_resource_packs() {
        let fake = FakeUpstream::start(|r| match r.path.as_str() {
            "/account/costs" => ok(json!({"code": 0, "msg": "", "resource_pack_subscribe_infos": [
                {"resource_pack_name": "video pack", "total_quantity": 200.0, "remaining_quantity": 118.5, "status": "online"},
                {"resource_pack_name": "old pack", "total_quantity": 100.0, "remaining_quantity": 0.0, "status": "expired"}
            ]})),
            _ => Reply::status(404),
        })
        .await;
        let said = adapter(&fake).test_connection().await.unwrap();
        assert!(said.contains("118.5 units"), "{said}");
        let query = &fake.requests()[0];
        assert!(query.query_param("start_time").is_some() && query.query_param("end_time").is_some());
        verify_jwt(query);
        let refused = FakeUpstream::start(|_| error(401, 1002, "Authorization is invalid")).await;
        assert_eq!(adapter(&refused).test_connection().await.unwrap_err(), ProviderError::Auth("Authorization is invalid".into()));
    }
}
