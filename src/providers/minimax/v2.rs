//! MiniMax's v2 video wire format (MiniMax-H3 and later H models): `POST /v2/video_generation`
//! with a `content[]` list of text, image, video and audio items, polled at
//! `GET /v2/query/video_generation/{task_id}`; a finished task names its video by a
//! time-limited URL, fetched without the key. See PROVIDERS-2026.md §7.4 and PROVIDERS.md §6.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{BaseResp, CODES, data_uri};
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::OutputRef;
use crate::providers::kit;
use crate::providers::{ProviderError, ProviderJob, UpstreamStatus, wire};

/// The submit path.
pub(super) const SUBMIT: &str = "v2/video_generation";

/// The handle entry that marks a task of this wire format (polled at the v2 path).
pub(super) const WIRE: (&str, &str) = ("wire", "v2");

/// Whether an upstream model speaks the v2 format: the H series (`MiniMax-H3`, …), not Hailuo.
pub(super) fn speaks(upstream_model: &str) -> bool {
    upstream_model.strip_prefix("MiniMax-H").is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The query path of a task.
pub(super) fn query_path(task_id: &str) -> String {
    format!("v2/query/video_generation/{task_id}")
}

/// Refuses what the v2 models are documented to reject, before anything is sent: first/last
/// frames together with references (the two modes do not mix), and an `adaptive` ratio with
/// no image or video to adapt to.
pub(super) fn check(job: &ProviderJob) -> Result<(), ProviderError> {
    let has = |roles: &[ReferenceRole]| job.references.iter().any(|r| roles.contains(&r.role));
    let frames = has(&[ReferenceRole::FirstFrame, ReferenceRole::LastFrame]);
    if frames && has(&[ReferenceRole::Reference, ReferenceRole::ReferenceVideo, ReferenceRole::ReferenceAudio]) {
        return Err(ProviderError::InvalidInput(format!("{} takes either first/last frames or references, not both", job.model)));
    }
    let adaptive = matches!(job.params.get("ratio"), Some(ParamValue::Text(r)) if r == "adaptive");
    if adaptive && !frames && !has(&[ReferenceRole::Reference, ReferenceRole::ReferenceVideo]) {
        return Err(ProviderError::InvalidInput(format!("{}'s adaptive ratio needs an image or a video to follow", job.model)));
    }
    Ok(())
}

/// The JSON body of a job: the prompt and every reference as `content[]` items (inline
/// `data:` URIs), with the catalog's `resolution`, `duration` and `ratio` as given.
pub(super) fn body(job: &ProviderJob) -> Value {
    let mut content = vec![json!({"type": "text", "text": job.prompt})];
    for reference in &job.references {
        if let Some((kind, role)) = kit::content_item_of(reference.role) {
            content.push(json!({"type": kind, kind: {"url": data_uri(&reference.content_type, &reference.bytes)}, "role": role}));
        }
    }
    let mut body = json!({"model": job.upstream_model, "content": content});
    for name in ["resolution", "duration", "ratio"] {
        match job.params.get(name) {
            Some(ParamValue::Int(n)) => body[name] = json!(n),
            Some(ParamValue::Text(t)) => body[name] = json!(t),
            None => {}
        }
    }
    if let Some(callback) = &job.callback_url {
        body["callback_url"] = json!(callback.as_str());
    }
    body
}

/// The answer to a query.
#[derive(Debug, Deserialize)]
pub(super) struct Query {
    task: Option<Task>,
    #[serde(default)]
    base_resp: BaseResp,
}

#[derive(Debug, Deserialize)]
struct Task {
    status: Option<String>,
    error: Option<TaskError>,
    content: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct TaskError {
    code: Option<i64>,
    message: Option<String>,
}

impl Query {
    /// A failed task: its error explains the failure rather than refusing the call.
    pub(super) fn failed_task(&self) -> bool {
        self.task.as_ref().and_then(|t| t.status.as_deref()).is_some_and(|s| s.eq_ignore_ascii_case("failed"))
    }

    /// The job's state.
    pub(super) fn status(&self) -> UpstreamStatus {
        let Some(task) = &self.task else {
            return UpstreamStatus::Failed(ProviderError::Transient("MiniMax answered the query without a task".into()));
        };
        let status = task.status.clone().unwrap_or_default().to_ascii_lowercase();
        match status.as_str() {
            "queued" | "running" | "processing" => UpstreamStatus::Pending { progress: None, poll_after: None },
            "succeeded" | "success" => match task.content.as_ref().and_then(video_url) {
                // the task's `usage` object is named in MiniMax's docs but its fields are not:
                // nothing is reported until they are
                Some(url) => UpstreamStatus::Succeeded { outputs: vec![OutputRef::new(url, Some("video/mp4".into()))], usage: None },
                None => UpstreamStatus::Failed(ProviderError::Transient("MiniMax reported success without a video URL".into())),
            },
            "failed" => UpstreamStatus::Failed(self.failure(task)),
            "cancelled" | "canceled" => UpstreamStatus::Failed(ProviderError::NotFound("the task was cancelled on MiniMax".into())),
            other => wire::unknown_status("minimax", other, None),
        }
    }

    fn failure(&self, task: &Task) -> ProviderError {
        let (code, message) = match &task.error {
            Some(e) => (e.code.filter(|c| *c != 0), e.message.clone()),
            None => (self.base_resp.status_code.filter(|c| *c != 0), self.base_resp.status_msg.clone()),
        };
        let message =
            message.filter(|m| !m.is_empty() && m != "success").unwrap_or_else(|| "MiniMax reported the video generation as failed".into());
        match code.filter(|code| CODES.iter().any(|(range, _)| range.contains(code))) {
            Some(code) => kit::business_error(CODES, 200, Some(code), message, None),
            None => wire::job_failure("", message),
        }
    }
}

/// The video URL in a finished task's `content`: `{url}`, `{video_url: "…" | {url}}`, or a list
/// of such items.
fn video_url(content: &Value) -> Option<String> {
    let url = match content {
        Value::Array(items) => return items.iter().find_map(video_url),
        Value::Object(_) => {
            content.get("url").or_else(|| content.get("video_url").map(|v| v.get("url").unwrap_or(v))).and_then(Value::as_str)
        }
        Value::String(url) => Some(url.as_str()),
        _ => None,
    };
    url.filter(|u| u.starts_with("http://") || u.starts_with("https://")).map(str::to_string)
}

#[cfg(test)]
mod tests;
