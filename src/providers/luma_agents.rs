//! The Luma Agents API (2026, `https://agents.lumalabs.ai/v1`, Bearer key): one JSON submit,
//! `POST /generations` with `type` (`image` | `video`) and `model`, references inline as ImageRef
//! `{data: base64, media_type}` (`image_ref[]` for images, `video.start_frame` / `video.end_frame`
//! for video); poll `GET /generations/{id}` (queued, processing, completed, failed with a
//! `failure_code`); outputs are presigned URLs valid one hour, fetched without the key. The API
//! has no webhook, cancel or delete (the SDK shows none). See PROVIDERS.md §4 B.

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{Api, Auth, Class, ErrorTable};
use super::luma::{fetch_url, image_type, read_error};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL.
pub const DEFAULT_BASE: &str = "https://agents.lumalabs.ai/v1";

/// Images are asked for in this format, so their type is known.
const IMAGE_FORMAT: &str = "png";

/// The adapter for one connection.
pub struct LumaAgents {
    api: Api,
}

/// The Generation object (tolerant: `failure_code` values beyond the SDK's enum are accepted).
#[derive(Debug, Deserialize)]
struct Generation {
    id: String,
    #[serde(default)]
    state: String,
    failure_code: Option<String>,
    failure_reason: Option<String>,
    #[serde(default)]
    output: Vec<Output>,
}

#[derive(Debug, Deserialize)]
struct Output {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

/// An ImageRef with inline data.
fn image_ref(content_type: &str, bytes: &[u8]) -> Value {
    json!({"data": base64::engine::general_purpose::STANDARD.encode(bytes), "media_type": content_type})
}

/// A failed generation's class, from its `failure_code` (PROVIDERS.md §4 B), else its words.
fn failure(code: Option<&str>, reason: Option<&str>) -> ProviderError {
    let code = code.unwrap_or_default();
    let message = reason.filter(|r| !r.is_empty()).map(str::to_string).unwrap_or_else(|| match code {
        "" => "Luma reported the generation as failed".to_string(),
        code => format!("Luma reported the generation as failed ({code})"),
    });
    let class = ERRORS.codes.iter().chain(JOB_ONLY_CODES).find(|(c, _)| *c == code).map(|(_, class)| *class);
    match class {
        Some(class) => class.error(message, None),
        None => wire::job_failure(code, message),
    }
}

/// Luma Agents' error table: a `failure_code`-style code in the body first (its format is
/// UNCONFIRMED, so the common shapes are read), then the provider's words and the status.
static ERRORS: ErrorTable = ErrorTable {
    read: read_error,
    codes: &[
        ("rate_limited", Class::RateLimited),
        ("content_moderated", Class::ContentPolicy),
        ("budget_exhausted", Class::Credit),
        ("invalid_request", Class::InvalidInput),
        ("image_too_large", Class::InvalidInput),
        ("unsupported_format", Class::InvalidInput),
        ("corrupt_input", Class::InvalidInput),
    ],
    statuses: &[],
};

/// Failure codes that only a failed generation carries.
const JOB_ONLY_CODES: &[(&str, Class)] = &[("generation_failed", Class::Transient), ("output_not_found", Class::NotFound)];

impl LumaAgents {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, DEFAULT_BASE, Auth::Bearer, &ERRORS)? })
    }

    fn status(&self, generation: &Generation) -> UpstreamStatus {
        match generation.state.as_str() {
            "queued" | "processing" | "pending" | "dreaming" => UpstreamStatus::Pending { progress: None, poll_after: None },
            "completed" | "succeeded" => {
                let outputs: Vec<OutputRef> = generation
                    .output
                    .iter()
                    .filter_map(|o| {
                        let url = o.url.clone().filter(|u| !u.is_empty())?;
                        let content_type = match o.kind.as_deref() {
                            Some("video") => "video/mp4",
                            _ => image_type(&url),
                        };
                        Some(OutputRef::new(url, Some(content_type.to_string())))
                    })
                    .collect();
                if outputs.is_empty() {
                    return UpstreamStatus::Failed(ProviderError::Transient("Luma reported completion without an output".into()));
                }
                UpstreamStatus::Succeeded { outputs }
            }
            "failed" => UpstreamStatus::Failed(failure(generation.failure_code.as_deref(), generation.failure_reason.as_deref())),
            other => wire::unknown_status("luma_agents", other, None),
        }
    }

    fn body(&self, job: &ProviderJob) -> Value {
        let mut body = json!({"model": job.upstream_model, "prompt": job.prompt});
        if let Some(ParamValue::Text(ratio)) = job.params.get("aspect_ratio") {
            body["aspect_ratio"] = json!(ratio);
        }
        let reference = |role| job.references.iter().find(|r| r.role == role).map(|r| image_ref(&r.content_type, &r.bytes));
        match job.kind {
            MediaKind::Image => {
                body["type"] = json!("image");
                body["output_format"] = json!(IMAGE_FORMAT);
                if let Some(style) = reference(ReferenceRole::Reference) {
                    body["image_ref"] = json!([style]);
                }
            }
            MediaKind::Video => {
                body["type"] = json!("video");
                let mut video = json!({});
                if let Some(ParamValue::Int(seconds)) = job.params.get("duration") {
                    video["duration"] = json!(format!("{seconds}s"));
                }
                if let Some(ParamValue::Text(resolution)) = job.params.get("resolution") {
                    video["resolution"] = json!(resolution);
                }
                if let Some(first) = reference(ReferenceRole::FirstFrame) {
                    video["start_frame"] = first;
                }
                if let Some(last) = reference(ReferenceRole::LastFrame) {
                    video["end_frame"] = last;
                }
                body["video"] = video;
            }
        }
        body
    }
}

#[async_trait]
impl Provider for LumaAgents {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        // job.callback_url is not sent: the Agents API takes no webhook
        let body = self.body(job);
        let generation: Generation = self.api.post_json("generations", &body).await?;
        let status = self.status(&generation);
        Ok(Submitted { handle: UpstreamHandle { id: generation.id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let generation: Generation = self.api.get_json(&format!("generations/{}", handle.id)).await?;
        Ok(self.status(&generation))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        fetch_url(self.api.client(), &output.location, cap).await
    }

    async fn cancel(&self, _handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // no cancel in the Agents API
        Ok(())
    }

    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // no delete either; the presigned URLs expire after an hour
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply};

    use super::*;
    use crate::providers::kit::testing::{self, connection, drain};

    use crate::providers::ReferenceImage;

    const KEY: &str = "luma-api-test";

    fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig { timeout, ..connection(fake, "luma_agents", KEY) }
    }

    fn adapter(fake: &FakeUpstream) -> LumaAgents {
        LumaAgents::new(&config(fake, Duration::from_secs(2))).unwrap()
    }

    fn job(kind: MediaKind, model: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
        testing::job(kind, model).prompt("a slow dolly shot through a greenhouse").params(params).build()
    }

    fn video_job() -> ProviderJob {
        job(
            MediaKind::Video,
            "ray-3.2",
            &[
                ("duration", ParamValue::Int(5)),
                ("aspect_ratio", ParamValue::Text("16:9".into())),
                ("resolution", ParamValue::Text("720p".into())),
            ],
        )
    }

    fn generation(id: &str, state: &str) -> Value {
        json!({"id": id, "created_at": "2026-06-01T00:00:00Z", "model": "ray-3.2", "type": "video", "state": state})
    }

    #[tokio::test]
    async fn a_video_with_frames_is_submitted_inline_polled_and_fetched() {
        let polls = Arc::new(Mutex::new(0));
        let count = polls.clone();
        let fake = FakeUpstream::start(move |r| match r.route().as_str() {
            "POST /generations" => Reply::json(200, generation("a-1", "queued")),
            "GET /generations/a-1" => {
                let mut n = count.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    Reply::json(200, generation("a-1", "processing"))
                } else {
                    let mut g = generation("a-1", "completed");
                    g["output"] =
                        json!([{"type": "video", "url": format!("http://{}/s3/a-1.mp4?X-Amz-Signature=x", r.header("host").unwrap())}]);
                    Reply::json(200, g)
                }
            }
            "GET /s3/a-1.mp4" => Reply::bytes(200, "video/mp4", &b"ray3 bytes"[..]),
            _ => Reply::status(404),
        })
        .await;
        let agents = adapter(&fake);
        let mut job = video_job();
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/agents/s").unwrap());
        job.references = vec![
            ReferenceImage { role: ReferenceRole::FirstFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"first") },
            ReferenceImage { role: ReferenceRole::LastFrame, content_type: "image/jpeg".into(), bytes: Bytes::from_static(b"last") },
        ];
        let submitted = agents.submit(&job).await.unwrap();
        assert_eq!(submitted.handle.id, "a-1");
        let create = &fake.requests_to("POST /generations")[0];
        assert_eq!(create.header("authorization"), Some("Bearer luma-api-test"));
        assert_eq!(
            create.json(),
            json!({
                "model": "ray-3.2", "type": "video", "prompt": "a slow dolly shot through a greenhouse", "aspect_ratio": "16:9",
                "video": {
                    "duration": "5s", "resolution": "720p",
                    "start_frame": {"data": "Zmlyc3Q=", "media_type": "image/png"},
                    "end_frame": {"data": "bGFzdA==", "media_type": "image/jpeg"}
                }
            }),
            "inline references, and no callback field (the API has none)"
        );
        assert!(matches!(agents.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
        let UpstreamStatus::Succeeded { outputs } = agents.poll(&submitted.handle).await.unwrap() else { panic!("completed") };
        assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
        assert_eq!(&drain(agents.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap()[..], b"ray3 bytes");
        assert_eq!(fake.requests_to("GET /s3/")[0].header("authorization"), None, "the key never goes to the presigned URL");
        agents.cancel(&submitted.handle).await.unwrap();
        agents.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests().len(), 4, "no cancel or delete request exists");
    }

    #[tokio::test]
    async fn an_image_carries_its_style_reference_as_image_ref() {
        let fake = FakeUpstream::start(|_| {
            let mut g = generation("u-1", "completed");
            g["type"] = json!("image");
            g["output"] = json!([{"type": "image", "url": "https://cdn.example/u-1.png?sig=1"}]);
            Reply::json(200, g)
        })
        .await;
        let agents = adapter(&fake);
        let mut job = job(MediaKind::Image, "uni-1", &[("aspect_ratio", ParamValue::Text("3:2".into()))]);
        job.references =
            vec![ReferenceImage { role: ReferenceRole::Reference, content_type: "image/webp".into(), bytes: Bytes::from_static(b"style") }];
        let submitted = agents.submit(&job).await.unwrap();
        assert_eq!(
            fake.requests()[0].json(),
            json!({
                "model": "uni-1", "type": "image", "prompt": "a slow dolly shot through a greenhouse", "aspect_ratio": "3:2",
                "output_format": "png", "image_ref": [{"data": "c3R5bGU=", "media_type": "image/webp"}]
            })
        );
        let UpstreamStatus::Succeeded { outputs } = submitted.status else { panic!("completed") };
        assert_eq!(outputs[0].content_type.as_deref(), Some("image/png"));
    }

    #[tokio::test]
    async fn failure_codes_map_to_the_classes() {
        let answer = Arc::new(Mutex::new(json!({})));
        let current = answer.clone();
        let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
        let agents = adapter(&fake);
        let handle = UpstreamHandle { id: "a-1".into(), data: Default::default() };
        for (code, class) in [
            ("content_moderated", "provider.content_policy"),
            ("budget_exhausted", "provider.insufficient_credit"),
            ("rate_limited", "provider.rate_limited"),
            ("generation_failed", "provider.transient"),
            ("output_not_found", "provider.not_found"),
            ("image_too_large", "provider.invalid_input"),
            ("unsupported_format", "provider.invalid_input"),
            ("corrupt_input", "provider.invalid_input"),
            ("invalid_request", "provider.invalid_input"),
            ("something_new", "provider.invalid_input"),
        ] {
            let mut g = generation("a-1", "failed");
            g["failure_code"] = json!(code);
            *answer.lock().unwrap() = g;
            let UpstreamStatus::Failed(e) = agents.poll(&handle).await.unwrap() else { panic!("{code}") };
            assert_eq!(e.code(), class, "{code}: {e}");
        }
        *answer.lock().unwrap() = generation("a-1", "rendering");
        assert!(matches!(agents.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }));
        *answer.lock().unwrap() = json!({"id": "a-1", "state": "completed", "output": []});
        assert!(matches!(agents.poll(&handle).await.unwrap(), UpstreamStatus::Failed(ProviderError::Transient(_))));
    }

    #[tokio::test]
    async fn http_errors_map_to_the_classes() {
        let cases: Vec<(Reply, &str)> = vec![
            (Reply::json(401, json!({"error": {"code": "unauthorized", "message": "Invalid API key"}})), "provider.auth"),
            (Reply::json(400, json!({"error": {"code": "invalid_request", "message": "prompt is required"}})), "provider.invalid_input"),
            (Reply::json(422, json!({"detail": [{"msg": "aspect_ratio must be one of ..."}]})), "provider.invalid_input"),
            (Reply::json(400, json!({"error": {"code": "content_moderated", "message": "blocked"}})), "provider.content_policy"),
            (Reply::json(402, json!({"error": "budget exhausted"})), "provider.insufficient_credit"),
            (Reply::json(503, json!({"message": "overloaded"})), "provider.transient"),
            (Reply::text(200, "<html>"), "provider.transient"),
        ];
        for (reply, code) in cases {
            let fake = FakeUpstream::start(move |_| reply.clone()).await;
            let err = adapter(&fake).submit(&video_job()).await.expect_err("an error");
            assert_eq!(err.code(), code, "{err}");
            fake.stop().await;
        }
        let fake = FakeUpstream::start(|_| {
            Reply::json(429, json!({"error": {"code": "rate_limited", "message": "slow down"}})).header("retry-after", 2)
        })
        .await;
        let err = adapter(&fake).submit(&video_job()).await.unwrap_err();
        assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(2)), message: "slow down".into() });
    }

    #[tokio::test]
    async fn a_hanging_upstream_times_out_and_expired_urls_are_not_found() {
        let fake = FakeUpstream::start(|r| match r.path.as_str() {
            "/expired.png" => Reply::text(403, "Request has expired"),
            _ => Reply::hang(),
        })
        .await;
        let agents = LumaAgents::new(&config(&fake, Duration::from_millis(300))).unwrap();
        assert_eq!(agents.submit(&video_job()).await.unwrap_err(), ProviderError::Timeout);
        let handle = UpstreamHandle { id: "a".into(), data: Default::default() };
        let expired = OutputRef::new(fake.at("expired.png").to_string(), None);
        assert_eq!(agents.fetch(&handle, &expired, 1024).await.err().map(|e| e.code()), Some("provider.not_found"));
    }
}
