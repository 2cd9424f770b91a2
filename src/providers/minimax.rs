//! MiniMax Hailuo video (v1): `POST /v1/video_generation` (Bearer key, JSON, frames as `data:`
//! URIs), `GET /v1/query/video_generation?task_id=` (Preparing, Queueing, Processing, Success,
//! Fail), then the two-step download: `GET /v1/files/retrieve?file_id=` gives a `download_url`
//! on MiniMax's CDN, fetched without the key. Errors come in `base_resp.status_code`, usually with
//! HTTP 200. No cancel or delete endpoint is documented. See PROVIDERS.md §6. The H models
//! (MiniMax-H3) speak the v2 format instead, chosen by model: see `minimax::v2`.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http::{OutboundError, OutboundRequest};
use super::kit::{self, Api, Auth, BY_STATUS, BaseUrl, BusinessCodes, Class, RawAnswer, Region};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: the international host; `v1/` or `v2/` in each path.
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api.minimax.io", &["v1", "v2"]).with_regions(&[
    Region { name: "global", aliases: &["international"], url: "https://api.minimax.io" },
    Region { name: "cn", aliases: &["china"], url: "https://api.minimaxi.com" },
]);

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
}

impl Created {
    /// The new task's id; an answer without one is a fault upstream.
    fn id(self) -> Result<String, ProviderError> {
        self.task_id.filter(|t| !t.is_empty()).ok_or_else(|| ProviderError::Transient("MiniMax answered without a task_id".into()))
    }
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
}

#[derive(Debug, Deserialize)]
struct FileObject {
    download_url: Option<String>,
    bytes: Option<u64>,
}

impl Query {
    /// A failed task: its `base_resp` explains the failure rather than refusing the call.
    fn failed_task(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("fail") || s.eq_ignore_ascii_case("failed"))
    }
}

/// The `base_resp` every answer carries.
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
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &BY_STATUS)? })
    }

    /// One authenticated call to the API; an answer whose `base_resp` is not 0 is an error.
    async fn call<T: DeserializeOwned>(&self, request: Result<OutboundRequest, OutboundError>) -> Result<T, ProviderError> {
        self.call_keeping(request, |_| false).await
    }

    /// [`MiniMax::call`], but an answer for which `failed_task` holds is kept whatever its
    /// `base_resp` (the failure of a task, not a refused call).
    async fn call_keeping<T: DeserializeOwned>(
        &self,
        request: Result<OutboundRequest, OutboundError>,
        failed_task: impl Fn(&T) -> bool,
    ) -> Result<T, ProviderError> {
        let RawAnswer { status, wait, body: bytes } = self.api.send_raw(request, None).await?;
        if !(200..300).contains(&status) {
            let base = serde_json::from_slice::<BaseOnly>(&bytes).map(|b| b.base_resp).unwrap_or_default();
            return Err(self.api.explained(error_of(status, &base, wait)));
        }
        let BaseOnly { base_resp } = wire::parse_json(&bytes)?;
        let answer: T = wire::parse_json(&bytes)?;
        match base_resp.status_code {
            None | Some(0) => Ok(answer),
            Some(_) if failed_task(&answer) => Ok(answer),
            Some(_) => Err(self.api.explained(error_of(status, &base_resp, wait))),
        }
    }

    /// Submits a job in the v2 format; its handle remembers the format for polling.
    async fn submit_v2(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        v2::check(job)?;
        let url = self.api.url(v2::SUBMIT)?;
        let body = v2::body(job);
        let created: Created = self.call(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let id = created.id()?;
        let data = [(v2::WIRE.0.to_string(), v2::WIRE.1.to_string())].into();
        Ok(Submitted { handle: UpstreamHandle { id, data }, status: UpstreamStatus::Pending { progress: None, poll_after: None } })
    }

    /// Fetches an output given by its (signed, time-limited) URL, never with the key.
    async fn fetch_url(&self, location: &str, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = url::Url::parse(location).map_err(|e| ProviderError::NotFound(format!("not a MiniMax output: {location} ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProviderError::NotFound(format!("not a MiniMax output: {location}")));
        }
        let gone = |status| format!("MiniMax's video URL answered HTTP {status} (its links are time-limited)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, None).await
    }

    fn status(&self, query: &Query) -> Result<UpstreamStatus, ProviderError> {
        let status = query.status.clone().unwrap_or_default();
        match status.to_ascii_lowercase().as_str() {
            "preparing" | "queueing" | "processing" => Ok(UpstreamStatus::Pending { progress: None, poll_after: None }),
            "success" => {
                let file = query.file_id.as_ref().map(|f| f.as_str().map(str::to_string).unwrap_or_else(|| f.to_string()));
                match file.filter(|f| !f.is_empty()) {
                    Some(file) => Ok(UpstreamStatus::Succeeded {
                        outputs: vec![OutputRef::new(format!("{FILE}{file}"), Some("video/mp4".into()))],
                        usage: None,
                    }),
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
        if v2::speaks(&job.upstream_model) {
            return self.submit_v2(job).await;
        }
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
        let id = created.id()?;
        Ok(Submitted {
            handle: UpstreamHandle { id, data: Default::default() },
            status: UpstreamStatus::Pending { progress: None, poll_after: None },
        })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if handle.data.get(v2::WIRE.0).is_some_and(|w| w == v2::WIRE.1) {
            let url = self.api.url(&v2::query_path(&handle.id))?;
            let query: v2::Query = self.call_keeping(self.api.client().get(&url), v2::Query::failed_task).await?;
            return Ok(query.status());
        }
        let mut url = self.api.url("v1/query/video_generation")?;
        url.query_pairs_mut().append_pair("task_id", &handle.id);
        let query: Query = self.call_keeping(self.api.client().get(&url), Query::failed_task).await?;
        self.status(&query)
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let Some(file) = output.location.strip_prefix(FILE) else {
            return self.fetch_url(&output.location, cap).await;
        };
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

    // no cancel or delete endpoint is documented for generated videos

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

mod v2;

#[cfg(test)]
mod tests;
