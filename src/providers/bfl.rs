//! Black Forest Labs FLUX API: JSON `POST /v1/{model}` with the `x-key` header answers
//! `{id, polling_url}`; the job is polled at that `polling_url` (kept in the handle; it may name
//! another cluster) until `Ready`, whose `result.sample` is a signed URL valid for 10 minutes,
//! downloaded without the key. A reference image goes as raw base64 (`input_image` for Kontext,
//! `image_prompt` for FLUX1.1). `webhook_url` is sent when this instance has a callback URL; with
//! the connection's `secret_key` set it is also sent as `webhook_secret` and callbacks must carry
//! a matching `X-BFL-Signature: sha256=<hex HMAC-SHA256>`. See PROVIDERS.md §7.

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::http::{OutboundClient, OutboundError};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{ParamValue, Params};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL (global, routes across clusters).
pub const DEFAULT_BASE: &str = "https://api.bfl.ai";

/// How often to poll a pending job: images take seconds, and BFL's own examples poll every
/// half second (there is no header hint).
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Domains whose hosts may receive the key when a `polling_url` names them.
const BFL_DOMAINS: &[&str] = &["bfl.ai", "bfl.ml"];

/// The adapter for one connection.
pub struct Bfl {
    client: OutboundClient,
    base: url::Url,
    key: Option<Secret>,
    webhook_secret: Option<Secret>,
}

#[derive(Debug, Deserialize)]
struct SubmitAnswer {
    id: String,
    polling_url: Option<String>,
}

/// `GET polling_url` (tolerant: unknown fields ignored, most fields optional).
#[derive(Debug, Deserialize)]
struct GetResult {
    status: String,
    result: Option<serde_json::Value>,
    progress: Option<f64>,
    details: Option<serde_json::Value>,
}

/// FastAPI-style errors: `{"detail": "..."}` or `{"detail": [{"msg": ...}]}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    detail: Option<serde_json::Value>,
    message: Option<String>,
    retry_after: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Credits {
    credits: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Hook {
    id: Option<String>,
    task_id: Option<String>,
}

fn text<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    match params.get(name) {
        Some(ParamValue::Text(t)) => Some(t.as_str()),
        _ => None,
    }
}

/// Models that take `width`/`height` rather than `aspect_ratio`.
fn sized(model: &str) -> bool {
    matches!(model, "flux-pro-1.1" | "flux-pro" | "flux-dev")
}

/// The pixel size used for a ratio on the sized models (multiples of 32, about 1 MP).
fn size_of(ratio: &str) -> (u32, u32) {
    match ratio {
        "16:9" => (1344, 768),
        "9:16" => (768, 1344),
        "4:3" => (1024, 768),
        "3:4" => (768, 1024),
        "3:2" => (1216, 832),
        "2:3" => (832, 1216),
        _ => (1024, 1024),
    }
}

/// The field a reference image goes in: Kontext and FLUX.2 edit `input_image`; FLUX1.x takes
/// an `image_prompt`.
fn reference_field(model: &str) -> &'static str {
    if model.starts_with("flux-kontext") || model.starts_with("flux-2") { "input_image" } else { "image_prompt" }
}

fn image_type(format: &str) -> &'static str {
    match format {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "image/jpeg",
    }
}

/// A `details` value in a sentence (`Moderation Reasons: …`).
fn describe(details: Option<&serde_json::Value>) -> String {
    match details {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::Array(items) => {
                    format!(
                        "{k}: {}",
                        items
                            .iter()
                            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

fn with_details(sentence: &str, details: Option<&serde_json::Value>) -> String {
    let details = describe(details);
    if details.is_empty() { sentence.to_string() } else { format!("{sentence} ({details})") }
}

/// Maps an error response to the normalised classes (`detail`, then the status).
async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let header_wait = wire::retry_after(response.headers());
    let body = wire::error_body(response).await;
    let parsed = serde_json::from_slice::<ErrorBody>(&body).ok();
    let wait = header_wait.or_else(|| {
        parsed.as_ref().and_then(|e| e.retry_after).filter(|s| s.is_finite() && *s >= 0.0).map(std::time::Duration::from_secs_f64)
    });
    let message = parsed
        .and_then(|e| {
            let detail = match e.detail {
                Some(serde_json::Value::String(s)) => Some(s),
                Some(serde_json::Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|i| i.get("msg").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Some(other) => Some(other.to_string()),
                None => None,
            };
            detail.or(e.message)
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    wire::classify(status, "", message, wait)
}

impl Bfl {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self {
            client: wire::client_for(config)?,
            base: wire::base_url(config, DEFAULT_BASE),
            key: config.api_key.clone(),
            webhook_secret: config.secret_key.clone(),
        })
    }

    /// Whether `url` may receive the key: the API's own host, or a BFL cluster.
    fn trusted(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        if Some(host) == self.base.host_str() && url.port_or_known_default() == self.base.port_or_known_default() {
            return true;
        }
        url.scheme() == "https" && BFL_DOMAINS.iter().any(|d| host == *d || host.ends_with(&format!(".{d}")))
    }

    async fn send(
        &self,
        url: &url::Url,
        request: Result<reqwest::RequestBuilder, OutboundError>,
    ) -> Result<reqwest::Response, ProviderError> {
        let keyed = match (&self.key, self.trusted(url)) {
            (Some(key), true) => request.map(|r| r.header("x-key", key.expose())),
            _ => request,
        };
        let response = wire::send(keyed).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from(response).await)
    }

    fn body(&self, job: &ProviderJob) -> serde_json::Value {
        let model = job.upstream_model.as_str();
        let mut body = serde_json::json!({ "prompt": job.prompt });
        let ratio = text(&job.params, "aspect_ratio");
        if sized(model) {
            let (width, height) = size_of(ratio.unwrap_or("1:1"));
            body["width"] = width.into();
            body["height"] = height.into();
        } else if let Some(ratio) = ratio {
            body["aspect_ratio"] = ratio.into();
        }
        if let Some(ParamValue::Int(seed)) = job.params.get("seed") {
            body["seed"] = (*seed).into();
        }
        body["output_format"] = text(&job.params, "output_format").unwrap_or("jpeg").into();
        if let Some(image) = job.references.first() {
            body[reference_field(model)] = base64::engine::general_purpose::STANDARD.encode(&image.bytes).into();
        }
        if let Some(callback) = &job.callback_url {
            body["webhook_url"] = callback.as_str().into();
            if let Some(secret) = &self.webhook_secret {
                body["webhook_secret"] = secret.expose().into();
            }
        }
        body
    }

    /// Where to poll: the `polling_url` the submit returned, else `/v1/get_result?id=`.
    fn polling_url(&self, handle: &UpstreamHandle) -> Result<url::Url, ProviderError> {
        match handle.data.get("polling_url") {
            Some(given) => {
                let url =
                    url::Url::parse(given).map_err(|e| ProviderError::InvalidInput(format!("bad polling_url from the provider: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ProviderError::InvalidInput(format!("the provider's polling_url is not http(s): {}", url.scheme())));
                }
                Ok(url)
            }
            None => {
                let mut url = wire::join(&self.base, "v1/get_result")?;
                url.query_pairs_mut().append_pair("id", &handle.id);
                Ok(url)
            }
        }
    }

    fn status(&self, handle: &UpstreamHandle, answer: GetResult) -> UpstreamStatus {
        let progress = answer.progress.map(wire::percent);
        match answer.status.as_str() {
            "Ready" => {
                let sample = answer.result.as_ref().and_then(|r| match r {
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => other.get("sample").and_then(|s| s.as_str()).map(str::to_string),
                });
                match sample {
                    Some(location) => {
                        let content_type = handle.data.get("output_format").map(|f| image_type(f)).unwrap_or("image/jpeg");
                        UpstreamStatus::Succeeded { outputs: vec![OutputRef { location, content_type: Some(content_type.to_string()) }] }
                    }
                    None => UpstreamStatus::Failed(ProviderError::Transient("the provider said Ready without a result".into())),
                }
            }
            "Pending" | "Queued" | "Processing" | "Running" => UpstreamStatus::Pending { progress, poll_after: Some(POLL_EVERY) },
            "Request Moderated" => UpstreamStatus::Failed(ProviderError::ContentPolicy(with_details(
                "the provider's moderation refused the request",
                answer.details.as_ref(),
            ))),
            "Content Moderated" => UpstreamStatus::Failed(ProviderError::ContentPolicy(with_details(
                "the provider's moderation withheld the generated image",
                answer.details.as_ref(),
            ))),
            "Task not found" => {
                UpstreamStatus::Failed(ProviderError::NotFound("the provider does not know this task (or it expired)".into()))
            }
            "Error" | "Failed" => {
                let message = with_details("the provider's generation failed", answer.details.as_ref());
                match wire::job_failure("", message.clone()) {
                    ProviderError::InvalidInput(_) => UpstreamStatus::Failed(ProviderError::Transient(message)),
                    other => UpstreamStatus::Failed(other),
                }
            }
            other => wire::unknown_status("bfl", other, progress),
        }
    }
}

#[async_trait]
impl Provider for Bfl {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let url = wire::join(&self.base, &format!("v1/{}", job.upstream_model))?;
        let body = self.body(job);
        let response = self.send(&url, self.client.post(&url).map(|r| r.json(&body))).await?;
        let answer: SubmitAnswer = wire::read_json(response).await?;
        let mut handle = UpstreamHandle { id: answer.id, data: Default::default() };
        if let Some(polling_url) = answer.polling_url.filter(|u| !u.is_empty()) {
            handle.data.insert("polling_url".into(), polling_url);
        }
        handle.data.insert("output_format".into(), text(&job.params, "output_format").unwrap_or("jpeg").to_string());
        Ok(Submitted { handle, status: UpstreamStatus::Pending { progress: None, poll_after: None } })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.polling_url(handle)?;
        let response = self.send(&url, self.client.get(&url)).await?;
        let answer: GetResult = wire::read_json(response).await?;
        Ok(self.status(handle, answer))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        // a signed URL: fetched as given, never with the key
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let response = wire::send(self.client.get(&url)).await?;
        let status = response.status().as_u16();
        if matches!(status, 403 | 404 | 410) {
            return Err(ProviderError::NotFound(format!(
                "the signed output URL answered HTTP {status} (it expires 10 minutes after the job)"
            )));
        }
        if !response.status().is_success() {
            return Err(error_from(response).await);
        }
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        Ok(wire::download(response, cap))
    }

    async fn cancel(&self, _handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // the API has no cancel endpoint
        Ok(())
    }

    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // nothing to delete: the signed sample URL expires on its own
        Ok(false)
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        if let Some(secret) = &self.webhook_secret {
            let signature =
                callback.header("x-bfl-signature").ok_or_else(|| ProviderError::Auth("the callback carries no X-BFL-Signature".into()))?;
            let given = hex::decode(signature.trim().strip_prefix("sha256=").unwrap_or(signature.trim()))
                .map_err(|_| ProviderError::Auth("the callback's X-BFL-Signature is not hex".into()))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key length");
            mac.update(&callback.body);
            mac.verify_slice(&given).map_err(|_| ProviderError::Auth("the callback's X-BFL-Signature does not match".into()))?;
        }
        let hook: Hook = serde_json::from_slice(&callback.body)
            .map_err(|e| ProviderError::InvalidInput(format!("the callback body is not the expected JSON: {e}")))?;
        Ok(hook.id.or(hook.task_id).filter(|id| !id.is_empty()))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let url = wire::join(&self.base, "v1/credits")?;
        let response = self.send(&url, self.client.get(&url)).await?;
        let credits: Credits = wire::read_json(response).await?;
        Ok(match credits.credits {
            Some(credits) => format!("The key works: the account has {credits:.2} BFL credits."),
            None => "The key works.".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::TryStreamExt;

    use super::*;
    use crate::domain::catalog::{MediaKind, ReferenceRole};
    use crate::domain::ids::GenerationId;
    use crate::providers::ReferenceImage;

    const KEY: &str = "bfl-test-key";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0 fake flux jpeg";

    fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig {
            base_url: Some(fake.url.clone()),
            api_key: Some(Secret::new(KEY)),
            allow_private_network: true,
            timeout,
            ..ConnectionConfig::new("bfl", "bfl")
        }
    }

    fn adapter(fake: &FakeUpstream) -> Bfl {
        Bfl::new(&config(fake, Duration::from_secs(2))).unwrap()
    }

    fn job(model: &str, ratio: &str) -> ProviderJob {
        let params = Params::from([
            ("aspect_ratio".to_string(), ParamValue::Text(ratio.into())),
            ("output_format".to_string(), ParamValue::Text("png".into())),
            ("seed".to_string(), ParamValue::Int(7)),
        ]);
        ProviderJob {
            generation: GenerationId::generate(),
            model: model.into(),
            upstream_model: model.into(),
            kind: MediaKind::Image,
            prompt: "a glass whale".into(),
            negative_prompt: None,
            params,
            references: Vec::new(),
            output_count: 1,
            callback_url: None,
        }
    }

    fn handle(fake: &FakeUpstream, id: &str) -> UpstreamHandle {
        UpstreamHandle {
            id: id.into(),
            data: [
                ("polling_url".to_string(), fake.at(&format!("v1/get_result?id={id}")).to_string()),
                ("output_format".to_string(), "png".to_string()),
            ]
            .into(),
        }
    }

    async fn poll_once(reply: Reply) -> Result<UpstreamStatus, ProviderError> {
        let fake = FakeUpstream::start(move |_| reply.clone()).await;
        let result = adapter(&fake).poll(&handle(&fake, "t1")).await;
        fake.stop().await;
        result
    }

    async fn collect(stream: ByteStream) -> Vec<u8> {
        stream.try_collect::<Vec<Bytes>>().await.unwrap().concat()
    }

    fn result(status: &str) -> Reply {
        Reply::json(200, serde_json::json!({"id": "t1", "status": status, "result": null, "progress": null}))
    }

    #[tokio::test]
    async fn submit_polls_the_returned_url_through_pending_to_ready_and_fetches_the_sample_without_the_key() {
        let polls = Arc::new(Mutex::new(0));
        let count = polls.clone();
        let fake = FakeUpstream::start(move |r: &Request| {
            let host = r.header("host").unwrap().to_string();
            match r.route().as_str() {
                "POST /v1/flux-pro-1.1" => Reply::json(
                    200,
                    serde_json::json!({"id": "task-1", "polling_url": format!("http://{host}/cluster-2/v1/get_result?id=task-1"), "cost": 4.0}),
                ),
                "GET /cluster-2/v1/get_result" => {
                    let mut n = count.lock().unwrap();
                    *n += 1;
                    match *n {
                        1 => Reply::json(200, serde_json::json!({"id": "task-1", "status": "Pending", "result": null, "progress": 0.4})),
                        _ => Reply::json(
                            200,
                            serde_json::json!({"id": "task-1", "status": "Ready", "result": {"sample": format!("http://{host}/delivery/sample.png?sig=abc"), "prompt": "a glass whale", "seed": 7}}),
                        ),
                    }
                }
                "GET /delivery/sample.png" => Reply::bytes(200, "image/png", JPEG),
                _ => Reply::status(404),
            }
        })
        .await;
        let provider = adapter(&fake);
        let job = job("flux-pro-1.1", "16:9");
        let submitted = provider.submit(&job).await.unwrap();
        assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));
        assert_eq!(submitted.handle.id, "task-1");
        let sent = &fake.requests()[0];
        assert_eq!(sent.header("x-key"), Some(KEY));
        assert_eq!(
            sent.json(),
            serde_json::json!({"prompt": "a glass whale", "width": 1344, "height": 768, "seed": 7, "output_format": "png"}),
            "FLUX1.1 [pro] takes a pixel size, no webhook without a callback URL"
        );

        let first = provider.poll(&submitted.handle).await.unwrap();
        assert!(matches!(first, UpstreamStatus::Pending { progress: Some(40), poll_after: Some(POLL_EVERY) }), "{first:?}");
        let UpstreamStatus::Succeeded { outputs } = provider.poll(&submitted.handle).await.unwrap() else { panic!() };
        assert_eq!(outputs[0].content_type.as_deref(), Some("image/png"));
        assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await, JPEG);

        let polls = fake.requests_to("GET /cluster-2/v1/get_result");
        assert_eq!(polls.len(), 2, "the returned polling_url is used as given");
        assert!(polls.iter().all(|p| p.header("x-key") == Some(KEY) && p.query_param("id").as_deref() == Some("task-1")));
        let download = fake.requests_to("GET /delivery/sample.png").remove(0);
        assert_eq!(download.header("x-key"), None, "the signed URL is fetched without the key");
        assert_eq!(download.query_param("sig").as_deref(), Some("abc"));
        provider.cancel(&submitted.handle).await.unwrap();
        provider.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests().len(), 4, "no cancel or delete endpoint is called");
        fake.stop().await;
    }

    #[tokio::test]
    async fn kontext_sends_the_reference_as_raw_base64_input_image_and_the_webhook() {
        let fake = FakeUpstream::start(|_| {
            Reply::json(200, serde_json::json!({"id": "k1", "polling_url": "https://api.eu1.bfl.ai/v1/get_result?id=k1"}))
        })
        .await;
        let mut config = config(&fake, Duration::from_secs(2));
        config.secret_key = Some(Secret::new("whsec"));
        let provider = Bfl::new(&config).unwrap();
        let mut job = job("flux-kontext-pro", "21:9");
        job.references = vec![ReferenceImage {
            role: ReferenceRole::Reference,
            content_type: "image/png".into(),
            bytes: Bytes::from_static(b"PNGDATA"),
        }];
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/bfl/s3cret").unwrap());
        let submitted = provider.submit(&job).await.unwrap();
        assert_eq!(
            fake.requests()[0].json(),
            serde_json::json!({
                "prompt": "a glass whale", "aspect_ratio": "21:9", "seed": 7, "output_format": "png",
                "input_image": "UE5HREFUQQ==",
                "webhook_url": "https://studio.example/hooks/bfl/s3cret", "webhook_secret": "whsec"
            })
        );
        assert_eq!(submitted.handle.data["polling_url"], "https://api.eu1.bfl.ai/v1/get_result?id=k1", "kept as given");

        // Ultra takes the reference as an image prompt
        let mut ultra = job.clone();
        ultra.upstream_model = "flux-pro-1.1-ultra".into();
        ultra.callback_url = None;
        provider.submit(&ultra).await.unwrap();
        let body = fake.requests()[1].json();
        assert_eq!(body["image_prompt"], "UE5HREFUQQ==");
        assert!(body.get("input_image").is_none() && body.get("webhook_url").is_none(), "{body}");
        assert_eq!(fake.requests()[1].path, "/v1/flux-pro-1.1-ultra");
        fake.stop().await;
    }

    #[tokio::test]
    async fn the_key_goes_only_to_the_api_host_and_bfl_clusters() {
        let fake = FakeUpstream::start(|_| result("Pending")).await;
        let provider = adapter(&fake);
        let port = fake.url.port().unwrap();
        let elsewhere = UpstreamHandle {
            id: "t1".into(),
            data: [("polling_url".to_string(), format!("http://localhost:{port}/v1/get_result?id=t1"))].into(),
        };
        assert!(matches!(provider.poll(&elsewhere).await.unwrap(), UpstreamStatus::Pending { .. }));
        assert_eq!(fake.requests()[0].header("x-key"), None, "another host does not get the key");
        assert!(provider.trusted(&url::Url::parse("https://api.us1.bfl.ai/v1/get_result?id=1").unwrap()));
        assert!(!provider.trusted(&url::Url::parse("https://evilbfl.ai/v1/get_result?id=1").unwrap()));
        assert!(!provider.trusted(&url::Url::parse("http://api.bfl.ai/v1/get_result?id=1").unwrap()), "never in clear text");
        let odd = UpstreamHandle { id: "t1".into(), data: [("polling_url".to_string(), "file:///etc/passwd".to_string())].into() };
        assert!(matches!(provider.poll(&odd).await, Err(ProviderError::InvalidInput(_))));
        // no polling_url (older answers): the documented get_result path on the base
        provider.poll(&UpstreamHandle { id: "old-1".into(), data: Default::default() }).await.unwrap();
        let last = fake.requests().pop().unwrap();
        assert_eq!((last.path.as_str(), last.query_param("id").as_deref()), ("/v1/get_result", Some("old-1")));
        assert_eq!(last.header("x-key"), Some(KEY));
        fake.stop().await;
    }

    #[tokio::test]
    async fn statuses_map_to_outcomes() {
        let moderated = Reply::json(
            200,
            serde_json::json!({"id": "t1", "status": "Request Moderated", "result": null, "details": {"Moderation Reasons": ["Derivative Works"]}}),
        );
        let Ok(UpstreamStatus::Failed(ProviderError::ContentPolicy(message))) = poll_once(moderated).await else { panic!() };
        assert!(message.contains("Derivative Works"), "{message}");
        assert!(matches!(poll_once(result("Content Moderated")).await, Ok(UpstreamStatus::Failed(ProviderError::ContentPolicy(_)))));
        assert!(matches!(poll_once(result("Task not found")).await, Ok(UpstreamStatus::Failed(ProviderError::NotFound(_)))));
        assert!(matches!(poll_once(result("Error")).await, Ok(UpstreamStatus::Failed(ProviderError::Transient(_)))));
        assert!(
            matches!(poll_once(result("Ready")).await, Ok(UpstreamStatus::Failed(ProviderError::Transient(_)))),
            "Ready without a sample"
        );
        assert!(matches!(poll_once(result("Warming Up")).await, Ok(UpstreamStatus::Pending { .. })), "an unknown status keeps waiting");
        assert!(matches!(poll_once(Reply::text(200, "<html>")).await, Err(ProviderError::Transient(_))), "malformed JSON");
    }

    #[tokio::test]
    async fn http_errors_map_to_the_classes() {
        let submit = |reply: Reply| async move {
            let fake = FakeUpstream::start(move |_| reply.clone()).await;
            let err = adapter(&fake).submit(&job("flux-dev", "1:1")).await.unwrap_err();
            fake.stop().await;
            err
        };
        assert!(matches!(submit(Reply::json(401, serde_json::json!({"detail": "Not authenticated"}))).await, ProviderError::Auth(_)));
        assert!(matches!(submit(Reply::json(403, serde_json::json!({"detail": "Forbidden"}))).await, ProviderError::Auth(_)));
        assert!(matches!(
            submit(Reply::json(402, serde_json::json!({"detail": "Insufficient credits"}))).await,
            ProviderError::InsufficientUpstreamCredit(_)
        ));
        let invalid = submit(Reply::json(
            422,
            serde_json::json!({"detail": [{"loc": ["body", "width"], "msg": "Input should be a multiple of 32", "type": "value_error"}]}),
        ))
        .await;
        assert_eq!(invalid, ProviderError::InvalidInput("Input should be a multiple of 32".into()));
        let limited = submit(Reply::json(429, serde_json::json!({"detail": "Too many active tasks"})).header("retry-after", "3")).await;
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        let body_hint = submit(Reply::json(429, serde_json::json!({"detail": "Rate limit", "retry_after": 5}))).await;
        assert_eq!(body_hint.retry_after(), Some(Duration::from_secs(5)), "the body's retry_after when no header");
        assert!(matches!(submit(Reply::json(503, serde_json::json!({"detail": "busy"}))).await, ProviderError::Transient(_)));
        assert!(matches!(submit(Reply::json(500, serde_json::json!({}))).await, ProviderError::Transient(_)));

        let fake = FakeUpstream::start(|_| Reply::hang()).await;
        let slow = Bfl::new(&config(&fake, Duration::from_millis(300))).unwrap();
        assert_eq!(slow.submit(&job("flux-dev", "1:1")).await.unwrap_err(), ProviderError::Timeout);
        assert_eq!(slow.poll(&handle(&fake, "t1")).await.unwrap_err(), ProviderError::Timeout);
        fake.stop().await;
    }

    #[tokio::test]
    async fn an_expired_sample_url_is_not_found_and_a_declared_oversize_is_refused() {
        let fake = FakeUpstream::start(|r: &Request| match r.path.as_str() {
            "/expired.jpg" => Reply::text(403, "<Error><Code>AuthenticationFailed</Code></Error>"),
            "/big.jpg" => Reply::stall("image/jpeg", 10_000_000, &b"\xff\xd8"[..]),
            _ => Reply::status(404),
        })
        .await;
        let provider = adapter(&fake);
        let h = handle(&fake, "t1");
        let output = |path: &str| OutputRef { location: fake.at(path).to_string(), content_type: Some("image/jpeg".into()) };
        assert!(matches!(provider.fetch(&h, &output("expired.jpg"), 1 << 20).await, Err(ProviderError::NotFound(_))));
        assert!(matches!(provider.fetch(&h, &output("gone.jpg"), 1 << 20).await, Err(ProviderError::NotFound(_))));
        assert_eq!(provider.fetch(&h, &output("big.jpg"), 1 << 20).await.err(), Some(ProviderError::TooLarge { cap: 1 << 20 }));
        fake.stop().await;
    }

    fn signed(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn hook(body: &'static [u8], signature: Option<String>) -> Callback {
        Callback { headers: signature.map(|s| ("x-bfl-signature".to_string(), s)).into_iter().collect(), body: Bytes::from_static(body) }
    }

    #[tokio::test]
    async fn callbacks_give_the_task_id_and_are_verified_when_a_secret_is_set() {
        let fake = FakeUpstream::start(|_| Reply::status(404)).await;
        let body: &'static [u8] = br#"{"id":"task-9","status":"SUCCESS","result":{"sample":"https://x/y.jpg"}}"#;
        assert_eq!(adapter(&fake).callback(&hook(body, None)).unwrap().as_deref(), Some("task-9"), "unsigned without a secret");

        let mut config = config(&fake, Duration::from_secs(2));
        config.secret_key = Some(Secret::new("whsec"));
        let provider = Bfl::new(&config).unwrap();
        assert_eq!(provider.callback(&hook(body, Some(signed("whsec", body)))).unwrap().as_deref(), Some("task-9"));
        assert!(matches!(provider.callback(&hook(body, Some(signed("other", body)))), Err(ProviderError::Auth(_))));
        assert!(matches!(provider.callback(&hook(body, None)), Err(ProviderError::Auth(_))));
        assert!(matches!(provider.callback(&hook(body, Some("sha256=zz".into()))), Err(ProviderError::Auth(_))));
        let task_id: &'static [u8] = br#"{"task_id":"task-10","status":"Error"}"#;
        assert_eq!(provider.callback(&hook(task_id, Some(signed("whsec", task_id)))).unwrap().as_deref(), Some("task-10"));
        assert!(fake.requests().is_empty(), "a callback alone calls nothing upstream");
        fake.stop().await;
    }

    #[tokio::test]
    async fn test_connection_reads_the_credits() {
        let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("x-key")) {
            ("GET /v1/credits", Some(KEY)) => Reply::json(200, serde_json::json!({"credits": 99.5})),
            _ => Reply::json(401, serde_json::json!({"detail": "Not authenticated"})),
        })
        .await;
        assert_eq!(adapter(&fake).test_connection().await.unwrap(), "The key works: the account has 99.50 BFL credits.");
        let mut wrong = config(&fake, Duration::from_secs(2));
        wrong.api_key = Some(Secret::new("nope"));
        assert!(matches!(Bfl::new(&wrong).unwrap().test_connection().await, Err(ProviderError::Auth(_))));
        fake.stop().await;
    }
}
