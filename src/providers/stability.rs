//! Stability AI v2beta Stable Image (`POST /v2beta/stable-image/generate/{ultra,core,sd3}`):
//! synchronous and always `multipart/form-data` (a reference image is an `image` file part,
//! with `strength`). Sent with `Accept: application/json`, the answer is
//! `{image: <base64>, finish_reason, seed}`; the image is held in memory ([`InlineOutputs`])
//! until custody. `finish_reason: CONTENT_FILTERED` and a 403 moderation error are content
//! policy, 402 is the account out of credit. See PROVIDERS.md §10.

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::http::{OutboundError, read_capped};
use super::inline::{InlineOutputs, decode_base64};
use super::kit::{Api, Auth, ErrorAnswer, ErrorReport, ErrorTable};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{ParamValue, Params};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL.
pub const DEFAULT_BASE: &str = "https://api.stability.ai";

/// The largest answer accepted (base64 of a 50 MiB image, and headroom).
const ANSWER_CAP: u64 = 72 * 1024 * 1024;

/// The largest seed the API takes.
const MAX_SEED: i64 = 4_294_967_294;

/// The adapter for one connection.
pub struct Stability {
    api: Api,
    inline: InlineOutputs,
}

/// The JSON answer of a generate call (tolerant: unknown fields ignored).
#[derive(Debug, Deserialize)]
struct Generated {
    image: Option<String>,
    finish_reason: Option<String>,
    seed: Option<serde_json::Value>,
}

/// `{id, name, errors: [..]}`; some answers carry `message` instead.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    name: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Balance {
    credits: Option<f64>,
}

fn text<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    match params.get(name) {
        Some(ParamValue::Text(t)) => Some(t.as_str()),
        _ => None,
    }
}

fn int(params: &Params, name: &str) -> Option<i64> {
    match params.get(name) {
        Some(ParamValue::Int(n)) => Some(*n),
        _ => None,
    }
}

fn image_type(format: &str) -> &'static str {
    match format {
        "jpeg" | "jpg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "image/png",
    }
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    }
}

/// The endpoint under `v2beta/stable-image/generate/` and, for SD3, the `model` field.
fn endpoint(upstream_model: &str) -> (&'static str, Option<&str>) {
    match upstream_model {
        "stable-image-ultra" | "ultra" => ("ultra", None),
        "stable-image-core" | "core" => ("core", None),
        sd3 => ("sd3", Some(sd3)),
    }
}

/// A job's outcome from `finish_reason` (`SUCCESS`, `CONTENT_FILTERED`, `ERROR`).
fn finished(reason: Option<&str>) -> Result<(), ProviderError> {
    match reason.map(str::to_ascii_uppercase).as_deref() {
        None | Some("SUCCESS") | Some("") => Ok(()),
        Some("CONTENT_FILTERED") => Err(ProviderError::ContentPolicy("the image was filtered by Stability's content moderation".into())),
        Some("ERROR") => Err(ProviderError::Transient("the provider reported an error while generating".into())),
        Some(other) => {
            // an image came with it: keep it, and say once that the value is new
            tracing::warn!(finish_reason = other, "unknown finish_reason from Stability; the image is kept");
            Ok(())
        }
    }
}

/// Stability's error table: `name`, the messages, then the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"name", "errors": [..]}` or `{"message"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let parsed = serde_json::from_slice::<ErrorBody>(answer.body).ok();
    let code = parsed.as_ref().and_then(|e| e.name.clone()).unwrap_or_default();
    let message = parsed.map(|e| if e.errors.is_empty() { e.message.unwrap_or_default() } else { e.errors.join("; ") });
    ErrorReport { code, message, wait: None }
}

impl Stability {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, DEFAULT_BASE, Auth::Bearer, &ERRORS)?, inline: InlineOutputs::default() })
    }

    fn form(job: &ProviderJob) -> Result<Form, ProviderError> {
        let (_, sd3_model) = endpoint(&job.upstream_model);
        let reference = job.references.first();
        let mut form = Form::new().text("prompt", job.prompt.clone());
        if let Some(model) = sd3_model {
            form = form.text("model", model.to_string());
            form = form.text("mode", if reference.is_some() { "image-to-image" } else { "text-to-image" });
        }
        if let Some(negative) = job.negative_prompt.as_deref().filter(|n| !n.trim().is_empty()) {
            form = form.text("negative_prompt", negative.to_string());
        }
        if reference.is_none()
            && let Some(ratio) = text(&job.params, "aspect_ratio")
        {
            // image-to-image takes the reference's shape
            form = form.text("aspect_ratio", ratio.to_string());
        }
        if let Some(seed) = int(&job.params, "seed") {
            form = form.text("seed", seed.clamp(0, MAX_SEED).to_string());
        }
        if let Some(format) = text(&job.params, "output_format") {
            form = form.text("output_format", format.to_string());
        }
        if let Some(style) = text(&job.params, "style_preset").filter(|s| *s != "none") {
            form = form.text("style_preset", style.to_string());
        }
        if let Some(image) = reference {
            let strength = int(&job.params, "strength").unwrap_or(50).clamp(0, 100) as f64 / 100.0;
            let part = Part::bytes(image.bytes.to_vec())
                .file_name(format!("reference.{}", extension(&image.content_type)))
                .mime_str(&image.content_type)
                .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
            form = form.part("image", part).text("strength", format!("{strength:.2}"));
        }
        Ok(form)
    }

    /// Reads a successful answer. The image was made (and billed) once it arrived, so a failure
    /// from here on ends the job instead of being retried as a new submit.
    async fn outcome(&self, job: &str, response: reqwest::Response, format: &str) -> (UpstreamStatus, Option<String>) {
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let header_reason = response.headers().get("finish-reason").and_then(|v| v.to_str().ok()).map(str::to_string);
        let header_seed = response.headers().get("seed").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = match read_capped(response, ANSWER_CAP).await {
            Ok(body) => body,
            Err(e) => return (UpstreamStatus::Failed(wire::outbound(e)), None),
        };
        // asked for JSON; an `image/*` answer (the other documented form) is taken as it is
        let (bytes, reason, seed, image_type) = if content_type.starts_with("image/") {
            let kind = content_type.split(';').next().unwrap_or("image/png").trim().to_string();
            (Ok(body), header_reason, header_seed, kind)
        } else {
            let answer: Generated = match wire::parse_json(&body) {
                Ok(answer) => answer,
                Err(e) => return (UpstreamStatus::Failed(e), None),
            };
            let seed = answer.seed.map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()));
            let bytes = match answer.image.as_deref().filter(|i| !i.is_empty()) {
                Some(b64) => decode_base64(b64),
                None => Err(ProviderError::Transient("the provider answered without an image".into())),
            };
            (bytes, answer.finish_reason, seed, image_type(format).to_string())
        };
        if let Err(e) = finished(reason.as_deref()) {
            return (UpstreamStatus::Failed(e), seed);
        }
        match bytes {
            Ok(bytes) if !bytes.is_empty() => {
                (UpstreamStatus::Succeeded { outputs: vec![self.inline.hold(job, 0, &image_type, bytes)] }, seed)
            }
            Ok(_) => (UpstreamStatus::Failed(ProviderError::Transient("the provider answered without an image".into())), seed),
            Err(e) => (UpstreamStatus::Failed(e), seed),
        }
    }
}

#[async_trait]
impl Provider for Stability {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (path, _) = endpoint(&job.upstream_model);
        let url = self.api.url(&format!("v2beta/stable-image/generate/{path}"))?;
        let form = Self::form(job)?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.header("accept", "application/json").multipart(form))).await?;
        let id = job.generation.to_string();
        let format = text(&job.params, "output_format").unwrap_or("png");
        let (status, seed) = self.outcome(&id, response, format).await;
        let mut handle = UpstreamHandle { id, data: Default::default() };
        if let Some(seed) = seed {
            handle.data.insert("seed".into(), seed);
        }
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, _handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        // generate answers at once; there is no job to look up afterwards
        Err(ProviderError::NotFound("Stability's generate endpoints answer at once and keep no job to poll".into()))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        self.inline.take(output, cap)
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        self.inline.forget(&handle.id);
        Ok(())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // nothing is kept upstream; only the copy held here goes
        self.inline.forget(&handle.id);
        Ok(false)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let url = self.api.url("v1/user/balance")?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        let balance: Balance = wire::read_json(response).await?;
        Ok(match balance.credits {
            Some(credits) => format!("The key works: the account has {credits:.2} Stability credits."),
            None => "The key works.".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use base64::Engine;
    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::TryStreamExt;

    use super::*;
    use crate::config::Secret;
    use crate::domain::catalog::{MediaKind, ReferenceRole};
    use crate::providers::kit::testing::{self, connection};

    use crate::providers::ReferenceImage;

    const KEY: &str = "sk-stability-test";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\nstability image";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn adapter(fake: &FakeUpstream, timeout: Duration) -> Stability {
        Stability::new(&ConnectionConfig { timeout, ..connection(fake, "stability", KEY) }).unwrap()
    }

    fn job(model: &str) -> ProviderJob {
        let params = [
            ("aspect_ratio", ParamValue::Text("16:9".into())),
            ("output_format", ParamValue::Text("webp".into())),
            ("seed", ParamValue::Int(42)),
            ("strength", ParamValue::Int(35)),
        ];
        testing::job(MediaKind::Image, model).prompt("a fox in the snow").negative("blurry").params(&params).build()
    }

    fn success() -> Reply {
        Reply::json(200, serde_json::json!({"image": b64(PNG), "finish_reason": "SUCCESS", "seed": 42}))
    }

    fn fields(request: &Request) -> BTreeMap<String, String> {
        request.multipart().iter().filter(|p| p.filename.is_none()).map(|p| (p.name.clone(), p.text())).collect()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    async fn collect(stream: ByteStream) -> Vec<u8> {
        stream.try_collect::<Vec<Bytes>>().await.unwrap().concat()
    }

    async fn submit_with(reply: Reply) -> Result<Submitted, ProviderError> {
        let fake = FakeUpstream::start(move |_| reply.clone()).await;
        let result = adapter(&fake, Duration::from_secs(2)).submit(&job("stable-image-core")).await;
        fake.stop().await;
        result
    }

    fn error(status: u16, name: &str, message: &str) -> Reply {
        Reply::json(status, serde_json::json!({"id": "e1", "name": name, "errors": [message]}))
    }

    #[tokio::test]
    async fn ultra_text_to_image_is_the_golden_multipart_and_the_base64_image_is_held() {
        let fake = FakeUpstream::start(|_| success()).await;
        let provider = adapter(&fake, Duration::from_secs(2));
        let submitted = provider.submit(&job("stable-image-ultra")).await.unwrap();
        let sent = &fake.requests()[0];
        assert_eq!(sent.route(), "POST /v2beta/stable-image/generate/ultra");
        assert_eq!(sent.header("authorization"), Some(&*format!("Bearer {KEY}")));
        assert_eq!(sent.header("accept"), Some("application/json"));
        assert!(sent.header("content-type").unwrap().starts_with("multipart/form-data"));
        assert_eq!(
            fields(sent),
            map(&[
                ("prompt", "a fox in the snow"),
                ("negative_prompt", "blurry"),
                ("aspect_ratio", "16:9"),
                ("seed", "42"),
                ("output_format", "webp"),
            ])
        );
        assert_eq!(submitted.handle.data.get("seed").map(String::as_str), Some("42"));
        let UpstreamStatus::Succeeded { outputs } = submitted.status else { panic!("{:?}", submitted.status) };
        assert_eq!(outputs[0].content_type.as_deref(), Some("image/webp"));
        assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await, PNG);
        provider.delete_upstream(&submitted.handle).await.unwrap();
        assert!(matches!(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await, Err(ProviderError::NotFound(_))));
        assert_eq!(fake.requests().len(), 1);
        fake.stop().await;
    }

    #[tokio::test]
    async fn sd3_with_a_reference_is_image_to_image_with_an_image_part_and_strength() {
        let fake = FakeUpstream::start(|_| success()).await;
        let provider = adapter(&fake, Duration::from_secs(2));
        let mut job = job("sd3.5-large");
        job.references =
            vec![ReferenceImage { role: ReferenceRole::Reference, content_type: "image/png".into(), bytes: Bytes::from_static(PNG) }];
        provider.submit(&job).await.unwrap();
        let sent = &fake.requests()[0];
        assert_eq!(sent.route(), "POST /v2beta/stable-image/generate/sd3");
        assert_eq!(
            fields(sent),
            map(&[
                ("prompt", "a fox in the snow"),
                ("model", "sd3.5-large"),
                ("mode", "image-to-image"),
                ("negative_prompt", "blurry"),
                ("seed", "42"),
                ("output_format", "webp"),
                ("strength", "0.35"),
            ]),
            "no aspect_ratio: the output takes the reference's shape"
        );
        let image = sent.part("image").expect("an image part");
        assert_eq!(image.content_type.as_deref(), Some("image/png"));
        assert_eq!(&image.data[..], PNG);

        job.references.clear();
        provider.submit(&job).await.unwrap();
        assert_eq!(fields(&fake.requests()[1]).get("mode").map(String::as_str), Some("text-to-image"));
        fake.stop().await;
    }

    #[tokio::test]
    async fn an_image_answer_is_taken_as_it_is() {
        let submitted =
            submit_with(Reply::bytes(200, "image/jpeg", PNG).header("finish-reason", "SUCCESS").header("seed", "7")).await.unwrap();
        let UpstreamStatus::Succeeded { outputs } = submitted.status else { panic!() };
        assert_eq!(outputs[0].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(submitted.handle.data["seed"], "7");
        let filtered = submit_with(Reply::bytes(200, "image/png", PNG).header("finish-reason", "CONTENT_FILTERED")).await.unwrap();
        assert!(matches!(filtered.status, UpstreamStatus::Failed(ProviderError::ContentPolicy(_))));
    }

    #[tokio::test]
    async fn a_filtered_image_is_a_content_policy_failure() {
        let filtered = Reply::json(200, serde_json::json!({"image": b64(b"blurred"), "finish_reason": "CONTENT_FILTERED", "seed": 1}));
        let submitted = submit_with(filtered).await.unwrap();
        assert!(matches!(submitted.status, UpstreamStatus::Failed(ProviderError::ContentPolicy(_))), "{:?}", submitted.status);
    }

    #[tokio::test]
    async fn http_errors_map_to_the_classes() {
        let err = |reply| async { submit_with(reply).await.unwrap_err() };
        assert!(matches!(err(error(401, "unauthorized", "Incorrect API key")).await, ProviderError::Auth(_)));
        assert!(matches!(err(error(403, "forbidden", "no access")).await, ProviderError::Auth(_)));
        let moderated = err(error(403, "content_moderation", "Your request was flagged by our content moderation system")).await;
        assert!(matches!(moderated, ProviderError::ContentPolicy(_)), "{moderated:?}");
        assert!(matches!(
            err(error(402, "payment_required", "You lack sufficient credits")).await,
            ProviderError::InsufficientUpstreamCredit(_)
        ));
        let invalid = err(error(400, "bad_request", "aspect_ratio: must be one of ...")).await;
        assert_eq!(invalid, ProviderError::InvalidInput("aspect_ratio: must be one of ...".into()));
        assert!(matches!(err(error(413, "payload_too_large", "too big")).await, ProviderError::InvalidInput(_)));
        let limited = err(error(429, "rate_limit_exceeded", "slow down").header("retry-after", "10")).await;
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(10)));
        assert!(matches!(err(error(500, "internal_error", "oops")).await, ProviderError::Transient(_)));
        assert!(matches!(err(Reply::text(503, "unavailable")).await, ProviderError::Transient(_)));
    }

    #[tokio::test]
    async fn a_broken_success_answer_fails_the_job_instead_of_submitting_again() {
        for reply in [
            Reply::text(200, "{nope"),
            Reply::json(200, serde_json::json!({"finish_reason": "SUCCESS"})),
            Reply::json(200, serde_json::json!({"image": "@@@", "finish_reason": "SUCCESS"})),
        ] {
            let submitted = submit_with(reply).await.expect("not an error to retry");
            assert!(matches!(submitted.status, UpstreamStatus::Failed(ProviderError::Transient(_))), "{:?}", submitted.status);
        }
    }

    #[tokio::test]
    async fn a_submit_that_never_answers_times_out() {
        let fake = FakeUpstream::start(|_| Reply::hang()).await;
        let err = adapter(&fake, Duration::from_millis(300)).submit(&job("stable-image-core")).await.unwrap_err();
        assert_eq!(err, ProviderError::Timeout);
        fake.stop().await;
    }

    #[tokio::test]
    async fn core_sends_its_style_preset_and_nothing_sd3_specific() {
        let fake = FakeUpstream::start(|_| success()).await;
        let mut job = job("stable-image-core");
        job.params.insert("style_preset".into(), ParamValue::Text("anime".into()));
        job.negative_prompt = None;
        adapter(&fake, Duration::from_secs(2)).submit(&job).await.unwrap();
        let sent = &fake.requests()[0];
        assert_eq!(sent.route(), "POST /v2beta/stable-image/generate/core");
        let fields = fields(sent);
        assert_eq!(fields.get("style_preset").map(String::as_str), Some("anime"));
        assert!(!fields.contains_key("model") && !fields.contains_key("mode") && !fields.contains_key("negative_prompt"), "{fields:?}");
        fake.stop().await;
    }

    #[tokio::test]
    async fn test_connection_reads_the_balance() {
        let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("authorization")) {
            ("GET /v1/user/balance", Some(auth)) if auth == format!("Bearer {KEY}") => {
                Reply::json(200, serde_json::json!({"credits": 12.5}))
            }
            _ => error(401, "unauthorized", "bad key"),
        })
        .await;
        assert_eq!(
            adapter(&fake, Duration::from_secs(2)).test_connection().await.unwrap(),
            "The key works: the account has 12.50 Stability credits."
        );
        let wrong = Stability::new(&ConnectionConfig {
            base_url: Some(fake.url.clone()),
            api_key: Some(Secret::new("sk-wrong")),
            allow_private_network: true,
            ..ConnectionConfig::new("stability", "stability")
        })
        .unwrap();
        assert!(matches!(wrong.test_connection().await, Err(ProviderError::Auth(_))));
        fake.stop().await;
    }
}
