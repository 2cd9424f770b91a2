//! Runway API (`api.dev.runwayml.com/v1`, Bearer key plus `X-Runway-Version`): JSON task
//! submits to `/image_to_video` (first frame as a `data:` URI in `promptImage`),
//! `/text_to_video` and `/text_to_image` (`referenceImages` as tagged `data:` URIs), polled
//! at `/tasks/{id}` (PENDING, THROTTLED, RUNNING with a 0..1 progress, SUCCEEDED with output
//! URLs, FAILED with a `failureCode`, CANCELLED); `DELETE /tasks/{id}` cancels a running task
//! and deletes a finished one. Outputs are signed CDN URLs fetched without the key.
//! See PROVIDERS.md §3.

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, ErrorAnswer, ErrorReport, ErrorTable};
use super::{ByteStream, Provider, ProviderError, ProviderJob, ReferenceImage, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL.
pub const DEFAULT_BASE: &str = "https://api.dev.runwayml.com/v1/";

/// The API version every request names (the SDK default, and the only one seen).
pub const API_VERSION: &str = "2024-11-06";

/// Models that only animate an image (no text-to-video endpoint for them).
const IMAGE_TO_VIDEO_ONLY: &[&str] = &["gen4_turbo"];

/// `UpstreamHandle::data` key: what the task makes ("video" or "image").
const KIND: &str = "kind";

/// The adapter for one connection.
pub struct Runway {
    api: Api,
}

/// A task (tolerant: unknown fields ignored, most fields optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    #[serde(default)]
    status: String,
    progress: Option<f64>,
    #[serde(default)]
    output: Vec<String>,
    failure: Option<String>,
    failure_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    credit_balance: Option<f64>,
}

impl Runway {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, DEFAULT_BASE, Auth::Bearer, &ERRORS)?.with_headers(&[("x-runway-version", API_VERSION)]) })
    }

    async fn task(&self, id: &str) -> Result<Task, ProviderError> {
        let url = self.api.url(&format!("tasks/{id}"))?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        wire::read_json(response).await
    }

    /// The endpoint and body for a job.
    fn request(job: &ProviderJob) -> Result<(&'static str, Value), ProviderError> {
        let mut body = json!({ "model": job.upstream_model });
        if !job.prompt.trim().is_empty() {
            body["promptText"] = json!(job.prompt);
        }
        for (ours, theirs) in [("ratio", "ratio"), ("duration", "duration"), ("seed", "seed")] {
            if let Some(value) = job.params.get(ours) {
                body[theirs] = value.to_json();
            }
        }
        if job.kind == MediaKind::Image {
            let references: Vec<Value> = job
                .references
                .iter()
                .filter(|r| r.role == ReferenceRole::Reference)
                .enumerate()
                .map(|(n, r)| json!({ "uri": data_uri(r), "tag": format!("ref{}", n + 1) }))
                .collect();
            if !references.is_empty() {
                body["referenceImages"] = Value::Array(references);
            }
            return Ok(("text_to_image", body));
        }
        match job.references.iter().find(|r| r.role == ReferenceRole::FirstFrame) {
            Some(first) => {
                body["promptImage"] = json!(data_uri(first));
                Ok(("image_to_video", body))
            }
            None if IMAGE_TO_VIDEO_ONLY.contains(&job.upstream_model.as_str()) => {
                Err(ProviderError::InvalidInput(format!("{} animates an image: give it a first frame", job.model)))
            }
            None => Ok(("text_to_video", body)),
        }
    }

    fn status(task: &Task, kind: &str) -> UpstreamStatus {
        match task.status.as_str() {
            // THROTTLED: accepted over the concurrency limit, queued upstream (not an error)
            "PENDING" | "THROTTLED" => UpstreamStatus::Pending { progress: None, poll_after: None },
            "RUNNING" => UpstreamStatus::Pending { progress: task.progress.map(wire::percent), poll_after: None },
            "SUCCEEDED" if task.output.is_empty() => {
                UpstreamStatus::Failed(ProviderError::Transient("the task succeeded without an output".into()))
            }
            "SUCCEEDED" => {
                let content_type = (kind != "image").then(|| "video/mp4".to_string());
                let outputs = task.output.iter().map(|url| OutputRef::new(url.clone(), content_type.clone())).collect();
                UpstreamStatus::Succeeded { outputs }
            }
            "FAILED" => UpstreamStatus::Failed(task_failure(task)),
            "CANCELLED" | "CANCELED" => UpstreamStatus::Failed(ProviderError::NotFound("the task was cancelled on Runway".into())),
            other => wire::unknown_status("runway", other, task.progress.map(wire::percent)),
        }
    }

    async fn get_output(&self, location: &str, cap: u64) -> Result<Result<ByteStream, u16>, ProviderError> {
        let url = url::Url::parse(location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        // signed CDN URLs: never send the key
        let response = wire::send(self.api.client().get(&url)).await?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return kit::stream_body(response, cap).map(Ok);
        }
        if matches!(status, 401 | 403 | 404 | 410) {
            return Ok(Err(status));
        }
        Err(ERRORS.error_from(response).await)
    }
}

/// An image as a `data:` URI (Runway takes them up to 5 MB).
fn data_uri(image: &ReferenceImage) -> String {
    format!("data:{};base64,{}", image.content_type, base64::engine::general_purpose::STANDARD.encode(&image.bytes))
}

/// The class of a FAILED task, by `failureCode` (`SAFETY.*` moderation, `INTERNAL.*`
/// retryable), then by its words.
fn task_failure(task: &Task) -> ProviderError {
    let code = task.failure_code.clone().unwrap_or_default();
    let message = match (&task.failure, code.is_empty()) {
        (Some(text), true) => text.clone(),
        (Some(text), false) => format!("{text} ({code})"),
        (None, false) => format!("the task failed ({code})"),
        (None, true) => "the task failed".into(),
    };
    let upper = code.to_ascii_uppercase();
    if upper.contains("SAFETY") {
        ProviderError::ContentPolicy(message)
    } else if upper.starts_with("INTERNAL") || upper.contains(".INTERNAL") {
        ProviderError::Transient(message)
    } else if upper.contains("CREDIT") {
        ProviderError::InsufficientUpstreamCredit(message)
    } else {
        wire::job_failure(&code, message)
    }
}

/// Runway's error table: `{"error": "..."}` (sometimes with `issues`), "not enough credits"
/// in a 4xx message, then the words and the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"error": "…" | {"message"}, "code"}` or `{"message"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let parsed: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let message = match parsed.get("error") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(error)) => error.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => parsed.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    let lower = message.to_ascii_lowercase();
    let out_of_credit = (400..500).contains(&answer.status) && (lower.contains("enough credits") || lower.contains("not enough credit"));
    let code = if out_of_credit { "insufficient_credit" } else { parsed.get("code").and_then(Value::as_str).unwrap_or_default() };
    ErrorReport { code: code.to_string(), message: Some(message), wait: None }
}

#[async_trait]
impl Provider for Runway {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let (endpoint, body) = Self::request(job)?;
        let url = self.api.url(endpoint)?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let created: Created = wire::read_json(response).await?;
        if created.id.is_empty() {
            return Err(ProviderError::Transient("Runway accepted the task but gave no id".into()));
        }
        let data = [(KIND.to_string(), job.kind.as_str().to_string())].into();
        Ok(Submitted {
            handle: UpstreamHandle { id: created.id, data },
            status: UpstreamStatus::Pending { progress: None, poll_after: None },
        })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let task = self.task(&handle.id).await?;
        Ok(Self::status(&task, handle.data.get(KIND).map(String::as_str).unwrap_or("video")))
    }

    async fn fetch(&self, handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let status = match self.get_output(&output.location, cap).await? {
            Ok(stream) => return Ok(stream),
            Err(status) => status,
        };
        // output URLs expire (24-48 h): the task gives fresh ones for the same files
        let gone = || ProviderError::NotFound(format!("the output URL answered HTTP {status} (expired or removed)"));
        let old = url::Url::parse(&output.location).map_err(|_| gone())?;
        let task = match self.task(&handle.id).await {
            Ok(task) => task,
            Err(ProviderError::NotFound(_)) => return Err(gone()),
            Err(e) => return Err(e),
        };
        let fresh = task.output.into_iter().find(|u| u != &output.location && url::Url::parse(u).is_ok_and(|u| u.path() == old.path()));
        match fresh {
            Some(url) => self.get_output(&url, cap).await?.map_err(|_| gone()),
            None => Err(gone()),
        }
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let url = self.api.url(&format!("tasks/{}", handle.id))?;
        self.api.send(self.api.client().delete(&url)).await.map(|_| ())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // on a finished task, DELETE removes the task and its outputs
        self.cancel(handle).await.map(|()| true)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let url = self.api.url("organization")?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        let organization: Organization = wire::read_json(response).await?;
        Ok(match organization.credit_balance {
            Some(credits) => format!("The Runway key works; the organization has {credits} credits."),
            None => "The Runway key works.".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::StreamExt;

    use super::*;
    use crate::config::Secret;
    use crate::domain::catalog::ParamValue;
    use crate::providers::kit::testing::{self, connection};

    const KEY: &str = "rw-test-key";
    const TASK: &str = "17f20503-6c24-4c16-946b-35dbbce2af2f";
    const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 runway video";

    fn adapter(fake: &FakeUpstream, timeout: Duration) -> Runway {
        Runway::new(&ConnectionConfig { base_url: Some(fake.at("v1/")), timeout, ..connection(fake, "runway", KEY) }).unwrap()
    }

    fn job(kind: MediaKind, upstream: &str, params: &[(&str, ParamValue)], references: Vec<ReferenceImage>) -> ProviderJob {
        let model = format!("runway-{upstream}");
        testing::job(kind, &model).upstream(upstream).prompt("a paper boat on a puddle").params(params).references(references).build()
    }

    fn video_params() -> Vec<(&'static str, ParamValue)> {
        vec![("duration", ParamValue::Int(5)), ("ratio", ParamValue::Text("1280:720".into())), ("seed", ParamValue::Int(42))]
    }

    fn frame(role: ReferenceRole, bytes: &'static [u8]) -> ReferenceImage {
        ReferenceImage { role, content_type: "image/png".into(), bytes: Bytes::from_static(bytes) }
    }

    fn data(bytes: &[u8]) -> String {
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    fn authorized(r: &Request) -> bool {
        r.header("authorization") == Some(&format!("Bearer {KEY}")) && r.header("x-runway-version") == Some(API_VERSION)
    }

    async fn collect(mut stream: ByteStream) -> Result<Vec<u8>, ProviderError> {
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// A Runway fake answering each poll with the next of `polls` (the last one repeats);
    /// every task answer names output URLs on `cdn`.
    async fn runway_fake(polls: Vec<Value>) -> FakeUpstream {
        let seen = Arc::new(Mutex::new(0usize));
        FakeUpstream::start(move |r: &Request| {
            if !authorized(r) {
                return Reply::json(401, json!({"error": "Invalid API key"}));
            }
            match r.route().as_str() {
                "POST /v1/image_to_video" | "POST /v1/text_to_video" | "POST /v1/text_to_image" => Reply::json(200, json!({"id": TASK})),
                "GET /v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f" => {
                    let mut n = seen.lock().unwrap();
                    let answer = polls[(*n).min(polls.len() - 1)].clone();
                    *n += 1;
                    Reply::json(200, answer)
                }
                "DELETE /v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f" => Reply::status(204),
                _ => Reply::json(404, json!({"error": "Not found"})),
            }
        })
        .await
    }

    fn task(status: &str, extra: Value) -> Value {
        let mut t = json!({"id": TASK, "status": status, "createdAt": "2026-08-01T10:00:00Z"});
        if let (Some(t), Value::Object(extra)) = (t.as_object_mut(), extra) {
            t.extend(extra);
        }
        t
    }

    #[tokio::test]
    async fn image_to_video_is_exact_walks_the_statuses_and_fetches_without_the_key() {
        let cdn = FakeUpstream::start(
            |r: &Request| {
                if r.path == "/tasks/out.mp4" { Reply::bytes(200, "video/mp4", MP4) } else { Reply::status(404) }
            },
        )
        .await;
        let output = cdn.at("tasks/out.mp4?Expires=1&Signature=abc").to_string();
        let fake = runway_fake(vec![
            task("PENDING", json!({})),
            task("THROTTLED", json!({})),
            task("RUNNING", json!({"progress": 0.42})),
            task("SUCCEEDED", json!({"output": [output]})),
        ])
        .await;
        let runway = adapter(&fake, Duration::from_secs(5));
        let job = job(MediaKind::Video, "gen4_turbo", &video_params(), vec![frame(ReferenceRole::FirstFrame, b"first frame")]);
        let submitted = runway.submit(&job).await.unwrap();
        assert_eq!(submitted.handle.id, TASK);
        let sent = &fake.requests_to("POST /v1/image_to_video")[0];
        assert_eq!(
            sent.json(),
            json!({"model": "gen4_turbo", "promptText": "a paper boat on a puddle", "ratio": "1280:720", "duration": 5, "seed": 42,
                "promptImage": data(b"first frame")})
        );
        assert!(matches!(runway.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
        assert!(matches!(runway.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }), "THROTTLED waits");
        assert!(matches!(runway.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { progress: Some(42), .. }));
        let UpstreamStatus::Succeeded { outputs } = runway.poll(&submitted.handle).await.unwrap() else { panic!("done") };
        assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
        assert_eq!(collect(runway.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), MP4);
        assert_eq!(cdn.requests()[0].header("authorization"), None, "the key stays off the CDN");
        assert_eq!(runway.fetch(&submitted.handle, &outputs[0], 10).await.err(), Some(ProviderError::TooLarge { cap: 10 }));

        runway.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests_to(&format!("DELETE /v1/tasks/{TASK}")).len(), 1);
        assert!(fake.requests().iter().all(authorized), "every API request carried the key and version");
        fake.stop().await;
        cdn.stop().await;
    }

    #[tokio::test]
    async fn text_to_video_and_text_to_image_requests_are_exact() {
        let fake = runway_fake(vec![task("SUCCEEDED", json!({"output": ["https://cdn.example/a.png"]}))]).await;
        let runway = adapter(&fake, Duration::from_secs(5));
        let video = job(MediaKind::Video, "gen4.5", &video_params(), Vec::new());
        runway.submit(&video).await.unwrap();
        assert_eq!(
            fake.requests_to("POST /v1/text_to_video")[0].json(),
            json!({"model": "gen4.5", "promptText": "a paper boat on a puddle", "ratio": "1280:720", "duration": 5, "seed": 42})
        );
        let with_frame = job(MediaKind::Video, "gen4.5", &video_params(), vec![frame(ReferenceRole::FirstFrame, b"f")]);
        runway.submit(&with_frame).await.unwrap();
        assert_eq!(fake.requests_to("POST /v1/image_to_video")[0].json()["promptImage"], data(b"f"));

        let no_frame = job(MediaKind::Video, "gen4_turbo", &video_params(), Vec::new());
        assert_eq!(runway.submit(&no_frame).await.unwrap_err().code(), "provider.invalid_input");
        assert!(fake.requests_to("POST /v1/text_to_video").len() == 1, "gen4_turbo without a frame is refused before sending");

        let params = [("ratio", ParamValue::Text("1920:1080".into())), ("seed", ParamValue::Int(7))];
        let refs = vec![frame(ReferenceRole::Reference, b"cat"), frame(ReferenceRole::Reference, b"hat")];
        let image = job(MediaKind::Image, "gen4_image", &params, refs);
        let submitted = runway.submit(&image).await.unwrap();
        assert_eq!(
            fake.requests_to("POST /v1/text_to_image")[0].json(),
            json!({"model": "gen4_image", "promptText": "a paper boat on a puddle", "ratio": "1920:1080", "seed": 7,
                "referenceImages": [{"uri": data(b"cat"), "tag": "ref1"}, {"uri": data(b"hat"), "tag": "ref2"}]})
        );
        let UpstreamStatus::Succeeded { outputs } = runway.poll(&submitted.handle).await.unwrap() else { panic!("done") };
        assert_eq!(outputs, vec![OutputRef::new("https://cdn.example/a.png", None)]);
        fake.stop().await;
    }

    #[tokio::test]
    async fn failed_cancelled_and_unknown_tasks() {
        let cases = [
            (
                task("FAILED", json!({"failure": "Your prompt was flagged", "failureCode": "SAFETY.INPUT.TEXT"})),
                Some("provider.content_policy"),
            ),
            (task("FAILED", json!({"failure": "Output rejected", "failureCode": "SAFETY.OUTPUT.VIDEO"})), Some("provider.content_policy")),
            (task("FAILED", json!({"failure": "Bad output", "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"})), Some("provider.transient")),
            (
                task("FAILED", json!({"failure": "Could not read the image", "failureCode": "ASSET.INVALID"})),
                Some("provider.invalid_input"),
            ),
            (task("FAILED", json!({})), Some("provider.invalid_input")),
            (task("CANCELLED", json!({})), Some("provider.not_found")),
            (task("SUCCEEDED", json!({"output": []})), Some("provider.transient")),
            (task("WARMING_UP", json!({"progress": 0.1})), None),
        ];
        for (answer, code) in cases {
            let fake = runway_fake(vec![answer.clone()]).await;
            let runway = adapter(&fake, Duration::from_secs(5));
            let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
            match (runway.poll(&handle).await.unwrap(), code) {
                (UpstreamStatus::Failed(e), Some(code)) => assert_eq!(e.code(), code, "{answer}"),
                (UpstreamStatus::Pending { progress, .. }, None) => assert_eq!(progress, Some(10), "unknown statuses keep waiting"),
                (other, _) => panic!("{answer}: {other:?}"),
            }
            fake.stop().await;
        }
    }

    #[tokio::test]
    async fn http_errors_map_to_the_classes() {
        let reply = Arc::new(Mutex::new(Reply::status(200)));
        let reply_in = reply.clone();
        let fake = FakeUpstream::start(move |_: &Request| reply_in.lock().unwrap().clone()).await;
        let runway = adapter(&fake, Duration::from_secs(5));
        let cases = [
            (Reply::json(401, json!({"error": "Invalid API key"})), "provider.auth"),
            (Reply::json(400, json!({"error": "Invalid ratio for gen4_turbo", "issues": [{"path": ["ratio"]}]})), "provider.invalid_input"),
            (Reply::json(400, json!({"error": "You do not have enough credits to run this task."})), "provider.insufficient_credit"),
            (Reply::json(502, json!({"error": "Bad gateway"})), "provider.transient"),
            (Reply::status(504), "provider.transient"),
            (Reply::text(200, "{oops"), "provider.transient"),
        ];
        let video = job(MediaKind::Video, "gen4.5", &video_params(), Vec::new());
        for (answer, code) in cases {
            *reply.lock().unwrap() = answer.clone();
            assert_eq!(runway.submit(&video).await.unwrap_err().code(), code, "{answer:?}");
        }
        *reply.lock().unwrap() = Reply::json(429, json!({"error": "Daily task limit reached"})).header("retry-after", "9");
        let err = runway.submit(&video).await.unwrap_err();
        assert_eq!((err.code(), err.retry_after()), ("provider.rate_limited", Some(Duration::from_secs(9))));
        *reply.lock().unwrap() = Reply::json(404, json!({"error": "Task not found"}));
        let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
        assert_eq!(runway.poll(&handle).await.unwrap_err().code(), "provider.not_found");
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_poll_that_never_answers_times_out() {
        let fake = FakeUpstream::start(|_: &Request| Reply::hang()).await;
        let runway = adapter(&fake, Duration::from_millis(300));
        let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
        assert_eq!(runway.poll(&handle).await.unwrap_err(), ProviderError::Timeout);
        fake.stop().await;
    }

    #[tokio::test]
    async fn an_expired_output_url_is_refreshed_from_the_task_or_is_not_found() {
        let cdn = FakeUpstream::start(|r: &Request| match r.query_param("Signature").as_deref() {
            Some("fresh") if r.path == "/out/video.mp4" => Reply::bytes(200, "video/mp4", MP4),
            _ => Reply::text(403, "AccessDenied: Request has expired"),
        })
        .await;
        let stale = cdn.at("out/video.mp4?Signature=stale").to_string();
        let fresh = cdn.at("out/video.mp4?Signature=fresh").to_string();
        let handle = UpstreamHandle { id: TASK.into(), data: Default::default() };
        let output = OutputRef::new(stale.clone(), Some("video/mp4".into()));

        let fake = runway_fake(vec![task("SUCCEEDED", json!({"output": [fresh]}))]).await;
        let runway = adapter(&fake, Duration::from_secs(5));
        assert_eq!(collect(runway.fetch(&handle, &output, 1 << 20).await.unwrap()).await.unwrap(), MP4);
        assert_eq!(fake.requests_to("GET /v1/tasks/").len(), 1, "the task was asked for fresh URLs");
        fake.stop().await;

        let deleted = runway_fake(vec![task("SUCCEEDED", json!({"output": [cdn.at("other/file.mp4").to_string()]}))]).await;
        let runway = adapter(&deleted, Duration::from_secs(5));
        assert_eq!(runway.fetch(&handle, &output, 1 << 20).await.err().map(|e| e.code()), Some("provider.not_found"));
        deleted.stop().await;
        cdn.stop().await;
    }

    #[tokio::test]
    async fn cancel_deletes_the_task_and_test_connection_reads_the_balance() {
        let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), authorized(r)) {
            ("GET /v1/organization", true) => Reply::json(200, json!({"creditBalance": 1234, "tier": {"maxMonthlyCreditSpend": 10000}})),
            ("DELETE /v1/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f", true) => Reply::status(204),
            _ => Reply::json(401, json!({"error": "Invalid API key"})),
        })
        .await;
        let runway = adapter(&fake, Duration::from_secs(5));
        runway.cancel(&UpstreamHandle { id: TASK.into(), data: Default::default() }).await.unwrap();
        assert_eq!(fake.requests_to("DELETE /v1/tasks/").len(), 1);
        let said = runway.test_connection().await.unwrap();
        assert!(said.contains("1234 credits"), "{said}");
        let wrong = Runway::new(&ConnectionConfig {
            base_url: Some(fake.at("v1/")),
            api_key: Some(Secret::new("nope")),
            allow_private_network: true,
            ..ConnectionConfig::new("runway", "runway")
        })
        .unwrap();
        assert_eq!(wrong.test_connection().await.unwrap_err().code(), "provider.auth");
        fake.stop().await;
    }
}
