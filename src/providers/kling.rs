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

use super::http::{Credential, OutboundError};
use super::kit::{
    self, Api, Auth, BY_STATUS, BaseUrl, BusinessCodes, Class, RawAnswer, StatusWords, image_type_of_url, outputs_or_missing,
};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, usage, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: servers outside mainland China; `v1/` in each path.
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api-singapore.klingai.com", &["v1"]);

/// How long a minted token is valid.
const TOKEN_LIFETIME: u64 = 30 * 60;
/// A cached token is replaced when it has less than this left.
const TOKEN_MARGIN: u64 = 5 * 60;
/// The handle's key for the query path (`v1/videos/text2video`, …).
const QUERY: &str = "query";

/// The adapter for one connection.
pub struct Kling {
    /// Keyless: each call carries a bearer minted for it.
    api: Api,
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
    /// The units Kling deducted for the task (a string in its examples); their price in
    /// money depends on the account's resource packs, so units only.
    final_unit_deduction: Option<Value>,
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

/// Kling's business codes (PROVIDERS.md §5 "Errors"); others go by the HTTP status.
const CODES: &BusinessCodes = &[
    // authentication failed / empty / invalid / not yet valid / expired; account exception;
    // no access to the resource; IP not allowed
    (1000..=1004, Class::Auth),
    (1100..=1100, Class::Auth),
    (1103..=1103, Class::Auth),
    (1304..=1304, Class::Auth),
    // account in arrears, resource pack depleted or expired
    (1101..=1102, Class::Credit),
    (1200..=1202, Class::InvalidInput),
    (1203..=1203, Class::NotFound),
    // platform policy, content security policy
    (1300..=1301, Class::ContentPolicy),
    // too many requests, concurrency above the resource pack's limit
    (1302..=1303, Class::RateLimited),
    (5000..=5099, Class::Transient),
];

fn classify(status: u16, code: Option<i64>, message: String, wait: Option<Duration>) -> ProviderError {
    kit::business_error(CODES, status, code, message, wait)
}

/// A failed task's class, from `task_status_msg` (risk control is Kling's moderation).
fn task_failure(message: Option<&str>) -> ProviderError {
    let message = message.filter(|m| !m.trim().is_empty()).unwrap_or("Kling reported the task as failed").to_string();
    if message.to_ascii_lowercase().contains("risk") { ProviderError::ContentPolicy(message) } else { wire::job_failure("", message) }
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

/// Kling's task states.
static WORDS: StatusWords =
    StatusWords { provider: "kling", pending: &["submitted", "processing"], succeeded: &["succeed", "succeeded"], failed: &["failed"] };

impl Kling {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self {
            api: Api::new(config, BASE, Auth::None, &BY_STATUS)?,
            access_key: config.access_key.clone().filter(|k| !k.is_empty()),
            secret_key: config.secret_key.clone(),
            api_key: config.api_key.clone(),
            token: Mutex::new(None),
        })
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
            let key = Credential::bearer(&self.bearer()?, self.api.base()).map_err(wire::outbound)?;
            let request = self.api.client().request(method.clone(), url).map(|r| match body {
                Some(body) => r.json(body),
                None => r,
            });
            let RawAnswer { status, wait, body: bytes } = self.api.send_raw(request, Some(&key)).await?;
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
        let succeeded = || {
            let result = task.task_result.as_ref();
            let videos = result.map(|r| r.videos.as_slice()).unwrap_or_default();
            let images = result.map(|r| r.images.as_slice()).unwrap_or_default();
            let mut outputs: Vec<OutputRef> =
                videos.iter().filter_map(|v| v.url.clone()).map(|location| OutputRef::new(location, Some("video/mp4".into()))).collect();
            outputs.extend(images.iter().filter_map(|i| i.url.clone()).map(|location| {
                let content_type = Some(image_type_of_url(&location).to_string());
                OutputRef::new(location, content_type)
            }));
            let deducted = usage::units(usage::number(task.final_unit_deduction.as_ref()), "kling_units");
            outputs_or_missing(outputs, "Kling reported success without any output").with_usage(deducted)
        };
        WORDS.status(&task.task_status, succeeded, || task_failure(task.task_status_msg.as_deref()))
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
                // the catalog's `audio` choice (off/on) is Kling's `sound` field
                if let Some(audio) = text(job, "audio") {
                    body["sound"] = json!(audio);
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
        let data = self.call(reqwest::Method::POST, &self.api.url(path)?, Some(&body)).await?;
        let task = task(data)?;
        let status = self.status(&task);
        let handle = UpstreamHandle { id: task.task_id, data: [(QUERY.to_string(), path.to_string())].into() };
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let path = handle.data.get(QUERY).map(String::as_str).unwrap_or("v1/videos/text2video");
        let url = self.api.url(&format!("{path}/{}", handle.id))?;
        let task = task(self.call(reqwest::Method::GET, &url, None).await?)?;
        Ok(self.status(&task))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        // CDN URLs: public, fetched without the token (it never leaves for another host)
        let url = url::Url::parse(&output.location).or_else(|_| self.api.url(&output.location))?;
        kit::fetch_keyless(self.api.client(), &url, cap, |status| format!("Kling's output URL answered HTTP {status}"), None).await
    }

    // no cancel or delete endpoint: Kling clears outputs after 30 days

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // unsigned (none documented): the id only triggers a poll
        let body: Value = serde_json::from_slice(&callback.body).unwrap_or(Value::Null);
        let id = body.get("task_id").or_else(|| body.get("data").and_then(|d| d.get("task_id")));
        Ok(id.and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_string))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let end = now() * 1000;
        let mut url = self.api.url("account/costs")?;
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
mod tests;
