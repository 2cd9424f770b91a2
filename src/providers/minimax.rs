//! MiniMax Hailuo video (v1): `POST /v1/video_generation` (Bearer key, JSON, frames as `data:`
//! URIs), `GET /v1/query/video_generation?task_id=` (Preparing, Queueing, Processing, Success,
//! Fail), then the two-step download: `GET /v1/files/retrieve?file_id=` gives a `download_url`
//! on MiniMax's CDN, fetched without the key. Errors come in `base_resp.status_code`, usually with
//! HTTP 200. No cancel or delete endpoint is documented. See PROVIDERS.md §6.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http::{OutboundError, OutboundRequest};
use super::kit::{self, Api, Auth, BY_STATUS, BusinessCodes, Class, RawAnswer};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default (international) base URL.
pub const DEFAULT_BASE: &str = "https://api.minimax.io";

/// The prefix of an output location: the file to look up at fetch time (its download URL is
/// short-lived, so it is asked for only when custody starts).
const FILE: &str = "minimax-file:";

/// The adapter for one connection.
pub struct MiniMax {
    api: Api,
}

#[derive(Debug, Default, Deserialize)]
struct BaseResp {
    status_code: Option<i64>,
    status_msg: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Created {
    task_id: Option<String>,
    #[serde(default)]
    base_resp: BaseResp,
}

#[derive(Debug, Deserialize)]
struct Query {
    status: Option<String>,
    file_id: Option<Value>,
    #[serde(default)]
    base_resp: BaseResp,
}

#[derive(Debug, Deserialize)]
struct Retrieved {
    file: Option<FileObject>,
    #[serde(default)]
    base_resp: BaseResp,
}

#[derive(Debug, Deserialize)]
struct FileObject {
    download_url: Option<String>,
    bytes: Option<u64>,
}

/// Anything that carries a `base_resp`.
trait Answer {
    fn base_resp(&self) -> &BaseResp;
    /// A failed task: its `base_resp` explains the failure rather than refusing the call.
    fn failed_task(&self) -> bool {
        false
    }
}

impl Answer for Created {
    fn base_resp(&self) -> &BaseResp {
        &self.base_resp
    }
}
impl Answer for Query {
    fn base_resp(&self) -> &BaseResp {
        &self.base_resp
    }
    fn failed_task(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("fail") || s.eq_ignore_ascii_case("failed"))
    }
}
impl Answer for Retrieved {
    fn base_resp(&self) -> &BaseResp {
        &self.base_resp
    }
}
impl Answer for BaseOnly {
    fn base_resp(&self) -> &BaseResp {
        &self.base_resp
    }
}

#[derive(Debug, Deserialize)]
struct BaseOnly {
    #[serde(default)]
    base_resp: BaseResp,
}

/// MiniMax's `base_resp.status_code` values (PROVIDERS.md §6 "Errors"); others go by the
/// HTTP status.
const CODES: &BusinessCodes = &[
    // unknown error, timeout, internal error
    (1000..=1001, Class::Transient),
    (1013..=1013, Class::Transient),
    // rate limit, token limit
    (1002..=1002, Class::RateLimited),
    (1039..=1039, Class::RateLimited),
    // authentication failed, invalid API key
    (1004..=1004, Class::Auth),
    (2049..=2049, Class::Auth),
    (1008..=1008, Class::Credit),
    // sensitive input, sensitive output
    (1026..=1027, Class::ContentPolicy),
    // illegal characters, invalid parameters
    (1042..=1042, Class::InvalidInput),
    (2013..=2013, Class::InvalidInput),
];

fn error_of(status: u16, base: &BaseResp, wait: Option<Duration>) -> ProviderError {
    let message = base.status_msg.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| match base.status_code {
        Some(code) => format!("MiniMax error {code}"),
        None => format!("HTTP {status}"),
    });
    kit::business_error(CODES, status, base.status_code, message, wait)
}

/// A reference image as the `data:` URI MiniMax takes.
fn data_uri(content_type: &str, bytes: &[u8]) -> String {
    format!("data:{content_type};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl MiniMax {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, DEFAULT_BASE, Auth::Bearer, &BY_STATUS)? })
    }

    /// One authenticated call to the API; an answer whose `base_resp` is not 0 is an error.
    async fn call<T: DeserializeOwned + Answer>(&self, request: Result<OutboundRequest, OutboundError>) -> Result<T, ProviderError> {
        let RawAnswer { status, wait, body: bytes } = self.api.send_raw(request, None).await?;
        if !(200..300).contains(&status) {
            let base = serde_json::from_slice::<BaseOnly>(&bytes).map(|b| b.base_resp).unwrap_or_default();
            return Err(error_of(status, &base, wait));
        }
        let answer: T = wire::parse_json(&bytes)?;
        match answer.base_resp().status_code {
            None | Some(0) => Ok(answer),
            Some(_) if answer.failed_task() => Ok(answer),
            Some(_) => Err(error_of(status, answer.base_resp(), wait)),
        }
    }

    fn status(&self, query: &Query) -> Result<UpstreamStatus, ProviderError> {
        let status = query.status.clone().unwrap_or_default();
        match status.to_ascii_lowercase().as_str() {
            "preparing" | "queueing" | "processing" => Ok(UpstreamStatus::Pending { progress: None, poll_after: None }),
            "success" => {
                let file = query.file_id.as_ref().map(|f| f.as_str().map(str::to_string).unwrap_or_else(|| f.to_string()));
                match file.filter(|f| !f.is_empty()) {
                    Some(file) => {
                        Ok(UpstreamStatus::Succeeded { outputs: vec![OutputRef::new(format!("{FILE}{file}"), Some("video/mp4".into()))] })
                    }
                    None => Ok(UpstreamStatus::Failed(ProviderError::Transient("MiniMax reported success without a file".into()))),
                }
            }
            "fail" | "failed" => Ok(UpstreamStatus::Failed(match query.base_resp.status_code {
                Some(code) if code != 0 => error_of(200, &query.base_resp, None),
                _ => wire::job_failure(
                    "",
                    query
                        .base_resp
                        .status_msg
                        .clone()
                        .filter(|m| !m.is_empty() && m != "success")
                        .unwrap_or_else(|| "MiniMax reported the video generation as failed".into()),
                ),
            })),
            other => Ok(wire::unknown_status("minimax", other, None)),
        }
    }
}

#[async_trait]
impl Provider for MiniMax {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut body = json!({"model": job.upstream_model, "prompt": job.prompt});
        if let Some(ParamValue::Int(duration)) = job.params.get("duration") {
            body["duration"] = json!(duration);
        }
        if let Some(ParamValue::Text(resolution)) = job.params.get("resolution") {
            body["resolution"] = json!(resolution);
        }
        for (role, field) in [(ReferenceRole::FirstFrame, "first_frame_image"), (ReferenceRole::LastFrame, "last_frame_image")] {
            if let Some(image) = job.references.iter().find(|r| r.role == role) {
                body[field] = json!(data_uri(&image.content_type, &image.bytes));
            }
        }
        if let Some(callback) = &job.callback_url {
            body["callback_url"] = json!(callback.as_str());
        }
        let url = self.api.url("v1/video_generation")?;
        let created: Created = self.call(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let id = created
            .task_id
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ProviderError::Transient("MiniMax answered without a task_id".into()))?;
        Ok(Submitted {
            handle: UpstreamHandle { id, data: Default::default() },
            status: UpstreamStatus::Pending { progress: None, poll_after: None },
        })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let mut url = self.api.url("v1/query/video_generation")?;
        url.query_pairs_mut().append_pair("task_id", &handle.id);
        let query: Query = self.call(self.api.client().get(&url)).await?;
        self.status(&query)
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let file = output
            .location
            .strip_prefix(FILE)
            .ok_or_else(|| ProviderError::NotFound(format!("not a MiniMax file: {}", output.location)))?;
        let mut url = self.api.url("v1/files/retrieve")?;
        url.query_pairs_mut().append_pair("file_id", file);
        let retrieved: Retrieved = self.call(self.api.client().get(&url)).await?;
        let file = retrieved.file.ok_or_else(|| ProviderError::NotFound("MiniMax has no such file".into()))?;
        if file.bytes.is_some_and(|b| b > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        let download =
            file.download_url.filter(|u| !u.is_empty()).ok_or_else(|| ProviderError::NotFound("MiniMax gave no download URL".into()))?;
        let download = url::Url::parse(&download).map_err(|e| ProviderError::Transient(format!("MiniMax gave a bad download URL: {e}")))?;
        // the CDN URL is signed: the API key never goes there
        let gone = |status| format!("MiniMax's download URL answered HTTP {status}");
        kit::fetch_keyless(self.api.client(), &download, cap, gone, None).await
    }

    async fn cancel(&self, _handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // no cancel endpoint is documented
        Ok(())
    }

    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // no delete endpoint is documented for generated videos
        Ok(false)
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // Unsigned. The first call is a `challenge` handshake that the hook route must echo
        // back as `{"challenge": …}`; it names no task. Later calls carry `task_id`.
        let body: Value = serde_json::from_slice(&callback.body).unwrap_or(Value::Null);
        let id = match body.get("task_id") {
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Number(id)) => Some(id.to_string()),
            _ => None,
        };
        Ok(id.filter(|id| !id.is_empty()))
    }

    fn callback_answer(&self, callback: &Callback) -> Option<Value> {
        let body: Value = serde_json::from_slice(&callback.body).ok()?;
        let challenge = body.get("challenge")?.as_str()?;
        Some(serde_json::json!({ "challenge": challenge }))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let mut url = self.api.url("v1/files/list")?;
        url.query_pairs_mut().append_pair("purpose", "video_generation");
        let _: BaseOnly = self.call(self.api.client().get(&url)).await?;
        Ok("MiniMax accepted the API key.".into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply};

    use super::*;
    use crate::config::Secret;
    use crate::domain::catalog::MediaKind;
    use crate::providers::kit::testing::{self, connection, drain};

    use crate::providers::ReferenceImage;

    const KEY: &str = "mm-test-key";

    fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig { timeout, ..connection(fake, "minimax", KEY) }
    }

    fn adapter(fake: &FakeUpstream) -> MiniMax {
        MiniMax::new(&config(fake, Duration::from_secs(2))).unwrap()
    }

    fn job() -> ProviderJob {
        let params = [("duration", ParamValue::Int(6)), ("resolution", ParamValue::Text("768P".into()))];
        testing::job(MediaKind::Video, "hailuo-02")
            .upstream("MiniMax-Hailuo-02")
            .prompt("a fox in the snow [Pan left]")
            .params(&params)
            .build()
    }

    fn ok(mut value: Value) -> Reply {
        value["base_resp"] = json!({"status_code": 0, "status_msg": "success"});
        Reply::json(200, value)
    }

    fn base_error(code: i64, msg: &str) -> Reply {
        Reply::json(200, json!({"task_id": "", "base_resp": {"status_code": code, "status_msg": msg}}))
    }

    fn handle() -> UpstreamHandle {
        UpstreamHandle { id: "106916112212032".into(), data: Default::default() }
    }

    #[tokio::test]
    async fn a_video_is_submitted_polled_and_downloaded_in_two_steps() {
        let polls = Arc::new(Mutex::new(0));
        let count = polls.clone();
        let fake = FakeUpstream::start(move |r| match r.route().as_str() {
            "POST /v1/video_generation" => ok(json!({"task_id": "106916112212032"})),
            "GET /v1/query/video_generation" => {
                let mut n = count.lock().unwrap();
                *n += 1;
                let status = ["Preparing", "Queueing", "Processing"].get(*n - 1).copied().unwrap_or("Success");
                let mut body = json!({"task_id": r.query_param("task_id"), "status": status});
                if status == "Success" {
                    body["file_id"] = json!("205258526306433");
                    body["video_width"] = json!(1366);
                    body["video_height"] = json!(768);
                }
                ok(body)
            }
            "GET /v1/files/retrieve" => ok(json!({"file": {
                "file_id": 205258526306433u64, "bytes": 9, "created_at": 1, "filename": "output.mp4", "purpose": "video_generation",
                "download_url": format!("http://{}/cdn/output.mp4?Expires=1&Signature=x", r.header("host").unwrap())
            }})),
            "GET /cdn/output.mp4" => Reply::bytes(200, "video/mp4", &b"mp4 bytes"[..]),
            _ => Reply::status(404),
        })
        .await;
        let minimax = adapter(&fake);
        let mut job = job();
        job.callback_url = Some(url::Url::parse("https://studio.example/hooks/mm/s").unwrap());
        job.references = vec![
            ReferenceImage { role: ReferenceRole::FirstFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"first") },
            ReferenceImage { role: ReferenceRole::LastFrame, content_type: "image/jpeg".into(), bytes: Bytes::from_static(b"last") },
        ];
        let submitted = minimax.submit(&job).await.unwrap();
        assert_eq!(submitted.handle.id, "106916112212032");
        let create = &fake.requests_to("POST /v1/video_generation")[0];
        assert_eq!(create.header("authorization"), Some("Bearer mm-test-key"));
        assert_eq!(
            create.json(),
            json!({
                "model": "MiniMax-Hailuo-02", "prompt": "a fox in the snow [Pan left]", "duration": 6, "resolution": "768P",
                "first_frame_image": "data:image/png;base64,Zmlyc3Q=", "last_frame_image": "data:image/jpeg;base64,bGFzdA==",
                "callback_url": "https://studio.example/hooks/mm/s"
            })
        );
        for _ in 0..3 {
            assert!(matches!(minimax.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
        }
        let UpstreamStatus::Succeeded { outputs } = minimax.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
        assert_eq!(fake.requests_to("GET /v1/query/video_generation")[0].query_param("task_id").as_deref(), Some("106916112212032"));
        let bytes = drain(minimax.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
        assert_eq!(&bytes[..], b"mp4 bytes");
        let retrieve = &fake.requests_to("GET /v1/files/retrieve")[0];
        assert_eq!(retrieve.query_param("file_id").as_deref(), Some("205258526306433"));
        assert_eq!(retrieve.header("authorization"), Some("Bearer mm-test-key"));
        assert_eq!(fake.requests_to("GET /cdn/")[0].header("authorization"), None, "the key never goes to the CDN");
        minimax.cancel(&submitted.handle).await.unwrap();
        minimax.delete_upstream(&submitted.handle).await.unwrap();
        assert_eq!(fake.requests().len(), 7, "no cancel or delete request exists");
    }

    #[tokio::test]
    async fn base_resp_codes_and_statuses_map_to_the_classes() {
        let cases: Vec<(Reply, &str)> = vec![
            (base_error(1004, "authentication failed"), "provider.auth"),
            (base_error(2049, "invalid api key"), "provider.auth"),
            (base_error(1008, "insufficient balance"), "provider.insufficient_credit"),
            (base_error(1026, "input new_sensitive"), "provider.content_policy"),
            (base_error(2013, "invalid params, duration"), "provider.invalid_input"),
            (base_error(1002, "rate limit exceeded"), "provider.rate_limited"),
            (base_error(1000, "unknown error"), "provider.transient"),
            (Reply::json(401, json!({"base_resp": {"status_code": 1004, "status_msg": "login fail"}})), "provider.auth"),
            (Reply::status(503), "provider.transient"),
            (Reply::status(400), "provider.invalid_input"),
            (Reply::text(200, "{not json"), "provider.transient"),
        ];
        for (reply, code) in cases {
            let fake = FakeUpstream::start(move |_| reply.clone()).await;
            let err = adapter(&fake).submit(&job()).await.expect_err("an error");
            assert_eq!(err.code(), code, "{err}");
            fake.stop().await;
        }
    }

    #[tokio::test]
    async fn a_rate_limit_carries_retry_after() {
        let fake = FakeUpstream::start(|_| {
            Reply::json(429, json!({"base_resp": {"status_code": 1002, "status_msg": "rate limit"}})).header("retry-after", 4)
        })
        .await;
        let err = adapter(&fake).poll(&handle()).await.unwrap_err();
        assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(4)), message: "rate limit".into() });
    }

    #[tokio::test]
    async fn failed_tasks_and_unknown_statuses() {
        let answer = Arc::new(Mutex::new(json!({})));
        let current = answer.clone();
        let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
        let minimax = adapter(&fake);
        let poll = async |body: Value| {
            *answer.lock().unwrap() = body;
            minimax.poll(&handle()).await
        };
        let failed = poll(json!({"status": "Fail", "base_resp": {"status_code": 1027, "status_msg": "output video sensitive"}})).await;
        let Ok(UpstreamStatus::Failed(e)) = failed else { panic!("{failed:?}") };
        assert_eq!(e.code(), "provider.content_policy");
        let failed = poll(json!({"status": "Fail", "base_resp": {"status_code": 0, "status_msg": "success"}})).await;
        let Ok(UpstreamStatus::Failed(e)) = failed else { panic!("{failed:?}") };
        assert_eq!(e.code(), "provider.invalid_input");
        let waiting = poll(json!({"status": "Rendering", "base_resp": {"status_code": 0}})).await.unwrap();
        assert!(matches!(waiting, UpstreamStatus::Pending { .. }));
        let no_file = poll(json!({"status": "Success", "file_id": "", "base_resp": {"status_code": 0}})).await.unwrap();
        assert!(matches!(no_file, UpstreamStatus::Failed(ProviderError::Transient(_))));
    }

    #[tokio::test]
    async fn a_hanging_upstream_times_out() {
        let fake = FakeUpstream::start(|_| Reply::hang()).await;
        let minimax = MiniMax::new(&config(&fake, Duration::from_millis(300))).unwrap();
        assert_eq!(minimax.submit(&job()).await.unwrap_err(), ProviderError::Timeout);
    }

    #[tokio::test]
    async fn expired_download_urls_and_oversized_files_are_refused() {
        let fake = FakeUpstream::start(|r| match (r.path.as_str(), r.query_param("file_id").as_deref()) {
            ("/v1/files/retrieve", Some("big")) => ok(json!({"file": {"bytes": 5000, "download_url": "http://127.0.0.1:1/x"}})),
            ("/v1/files/retrieve", Some("gone")) => {
                ok(json!({"file": {"download_url": format!("http://{}/cdn/gone.mp4", r.header("host").unwrap())}}))
            }
            ("/v1/files/retrieve", _) => base_error(1004, "no such file for this key"),
            _ => Reply::text(403, "Request has expired"),
        })
        .await;
        let minimax = adapter(&fake);
        let out = |file: &str| OutputRef::new(format!("{FILE}{file}"), None);
        assert_eq!(minimax.fetch(&handle(), &out("big"), 1024).await.err(), Some(ProviderError::TooLarge { cap: 1024 }));
        assert_eq!(minimax.fetch(&handle(), &out("gone"), 1024).await.err().map(|e| e.code()), Some("provider.not_found"));
        assert_eq!(minimax.fetch(&handle(), &out("other"), 1024).await.err().map(|e| e.code()), Some("provider.auth"));
    }

    #[test]
    fn callbacks_name_the_task_but_not_the_challenge() {
        let minimax = MiniMax::new(&ConnectionConfig::new("m", "minimax")).unwrap();
        let call = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
        assert_eq!(minimax.callback(&call(r#"{"challenge":"1a3cs1j-601a118y"}"#)).unwrap(), None);
        let update = r#"{"task_id":"115334141465231360","status":"success","file_id":"1","base_resp":{"status_code":0}}"#;
        assert_eq!(minimax.callback(&call(update)).unwrap().as_deref(), Some("115334141465231360"));
    }

    #[tokio::test]
    async fn test_connection_lists_files() {
        let fake = FakeUpstream::start(|r| match r.header("authorization") {
            Some("Bearer mm-test-key") => ok(json!({"files": []})),
            _ => base_error(1004, "authentication failed"),
        })
        .await;
        assert!(adapter(&fake).test_connection().await.unwrap().contains("accepted"));
        let request = &fake.requests()[0];
        assert_eq!((request.path.as_str(), request.query_param("purpose").as_deref()), ("/v1/files/list", Some("video_generation")));
        let wrong =
            MiniMax::new(&ConnectionConfig { api_key: Some(Secret::new("nope")), ..config(&fake, Duration::from_secs(1)) }).unwrap();
        assert_eq!(wrong.test_connection().await.unwrap_err().code(), "provider.auth");
    }
}
