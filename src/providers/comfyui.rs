//! A self-hosted ComfyUI server: the connection's workflow (API format, from `workflow_file`)
//! gets its `{{placeholders}}` filled and is queued with `POST /prompt`; a reference image is
//! uploaded first (`POST /upload/image`, multipart) and named in `{{image}}`; `GET
//! /history/{id}` is polled (absent while queued or running), outputs are read from `GET
//! /view`, cancel interrupts or dequeues the prompt, and the history entry is deleted after
//! custody. An optional API key (for a reverse proxy in front) is sent as a Bearer token.
//! See PROVIDERS.md §11.

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable};
use super::replicate::content_type_of;
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::ParamValue;
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: ComfyUI's own default port; no version (the `/api` prefix is optional).
pub const BASE: BaseUrl = BaseUrl::unversioned("http://127.0.0.1:8188");

/// The placeholders a workflow may hold, and those that become JSON numbers when a string
/// value is exactly the placeholder.
const IMAGE: &str = "{{image}}";
const NUMERIC: &[&str] = &["seed", "width", "height"];

/// The adapter for one connection.
pub struct ComfyUi {
    api: Api,
    workflow: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Queued {
    prompt_id: String,
}

#[derive(Debug, Deserialize)]
struct Uploaded {
    name: String,
    #[serde(default)]
    subfolder: String,
}

/// `GET /queue`: items are `[number, prompt_id, prompt, extra, outputs, …]`.
#[derive(Debug, Default, Deserialize)]
struct Queue {
    #[serde(default)]
    queue_running: Vec<Vec<Value>>,
    #[serde(default)]
    queue_pending: Vec<Vec<Value>>,
}

impl Queue {
    fn holds(items: &[Vec<Value>], id: &str) -> bool {
        items.iter().any(|item| item.get(1).and_then(Value::as_str) == Some(id))
    }
}

impl ComfyUi {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)?, workflow: config.workflow.clone() })
    }

    /// Uploads a reference image into ComfyUI's input folder; the name a LoadImage node takes.
    async fn upload(&self, job: &ProviderJob, image: &super::ReferenceFile) -> Result<String, ProviderError> {
        let extension = match image.content_type.as_str() {
            "image/jpeg" => "jpg",
            "image/webp" => "webp",
            _ => "png",
        };
        let part = Part::bytes(image.bytes.to_vec())
            .file_name(format!("reelvault-{}.{extension}", job.generation))
            .mime_str(&image.content_type)
            .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
        let form = Form::new().part("image", part).text("type", "input").text("overwrite", "true");
        let url = self.api.url("upload/image")?;
        let uploaded: Uploaded = wire::read_json(self.api.send(self.api.client().post(&url).map(|r| r.multipart(form))).await?).await?;
        Ok(if uploaded.subfolder.is_empty() { uploaded.name } else { format!("{}/{}", uploaded.subfolder, uploaded.name) })
    }

    /// The prompt's history entry, if it has finished.
    async fn history(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let history = self.api.get_json::<Value>(&format!("history/{id}")).await?;
        Ok(history.get(id).cloned())
    }
}

/// ComfyUI's error table: `{error: {type, message, details}, node_errors}`, then the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads the error and each node's errors, else the body's text.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let parsed: Value = serde_json::from_slice(answer.body).unwrap_or(Value::Null);
    let error = parsed.get("error");
    let code = error.and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut message = match error {
        Some(Value::String(s)) => s.clone(),
        Some(e) => e.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
        None => String::new(),
    };
    for detail in node_error_details(&parsed) {
        message = if message.is_empty() { detail } else { format!("{message}: {detail}") };
    }
    if message.is_empty() {
        message = String::from_utf8_lossy(answer.body).trim().chars().take(300).collect();
    }
    ErrorReport { code, message: Some(message), wait: None }
}

/// "CheckpointLoaderSimple: Value not in list: ckpt_name: 'x' not in [...]" for each node error.
fn node_error_details(body: &Value) -> Vec<String> {
    let Some(nodes) = body.get("node_errors").and_then(Value::as_object) else { return Vec::new() };
    let mut out = Vec::new();
    for node in nodes.values() {
        let class = node.get("class_type").and_then(Value::as_str).unwrap_or("node");
        for error in node.get("errors").and_then(Value::as_array).into_iter().flatten() {
            let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
            let details = error.get("details").and_then(Value::as_str).unwrap_or_default();
            out.push(format!("{class}: {message}{}{details}", if details.is_empty() { "" } else { ": " }));
        }
    }
    out
}

/// Whether any string in `value` contains `needle`.
fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.contains(needle),
        Value::Array(items) => items.iter().any(|v| mentions(v, needle)),
        Value::Object(fields) => fields.values().any(|v| mentions(v, needle)),
        _ => false,
    }
}

/// The placeholder values of a job: `(name, text, number)`.
fn placeholders(job: &ProviderJob, image: Option<&str>) -> Vec<(&'static str, String, Option<i64>)> {
    let int = |name: &str| match job.params.get(name) {
        Some(ParamValue::Int(n)) => Some(*n),
        Some(ParamValue::Text(t)) => t.trim().parse().ok(),
        None => None,
    };
    let mut values = vec![("prompt", job.prompt.clone(), None), ("negative_prompt", job.negative_prompt.clone().unwrap_or_default(), None)];
    for name in NUMERIC {
        if let Some(n) = int(name) {
            values.push((name, n.to_string(), Some(n)));
        }
    }
    if let Some(image) = image {
        values.push(("image", image.to_string(), None));
    }
    values
}

/// Fills the placeholders in every string of `value`: a string that is exactly a numeric
/// placeholder becomes a number; otherwise placeholders are replaced as text, in one pass (so
/// a prompt that itself contains `{{seed}}` stays as written).
fn fill(value: &mut Value, values: &[(&'static str, String, Option<i64>)]) {
    match value {
        Value::String(s) => {
            let exact = values.iter().find(|(name, _, number)| number.is_some() && s.trim() == format!("{{{{{name}}}}}"));
            if let Some((_, _, Some(n))) = exact {
                *value = Value::from(*n);
                return;
            }
            *s = replace_placeholders(s, values);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, values)),
        Value::Object(fields) => fields.values_mut().for_each(|v| fill(v, values)),
        _ => {}
    }
}

fn replace_placeholders(text: &str, values: &[(&'static str, String, Option<i64>)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let known = after.find("}}").and_then(|end| values.iter().find(|(name, _, _)| *name == &after[..end]).map(|(_, v, _)| (end, v)));
        match known {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The outputs of a finished prompt: every file an output node saved (`images`, `gifs`,
/// `videos`, …), in node order; previews (`type: temp`) only when nothing was saved.
fn outputs_of(entry: &Value) -> Vec<OutputRef> {
    let mut nodes: Vec<(&String, &Value)> = entry.get("outputs").and_then(Value::as_object).map(|o| o.iter().collect()).unwrap_or_default();
    nodes.sort_by_key(|(id, _)| (id.parse::<u64>().unwrap_or(u64::MAX), id.to_string()));
    let mut files: Vec<(&str, &str, &str)> = Vec::new();
    for (_, node) in nodes {
        for list in node.as_object().into_iter().flat_map(|o| o.values()).filter_map(Value::as_array) {
            for file in list {
                let Some(filename) = file.get("filename").and_then(Value::as_str) else { continue };
                let subfolder = file.get("subfolder").and_then(Value::as_str).unwrap_or_default();
                let kind = file.get("type").and_then(Value::as_str).unwrap_or("output");
                files.push((filename, subfolder, kind));
            }
        }
    }
    let saved = files.iter().any(|(_, _, kind)| *kind == "output");
    files
        .into_iter()
        .filter(|(_, _, kind)| !saved || *kind == "output")
        .map(|(filename, subfolder, kind)| {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("filename", filename)
                .append_pair("subfolder", subfolder)
                .append_pair("type", kind)
                .finish();
            let content_type = content_type_of(&format!("http://comfyui/{filename}"));
            OutputRef::new(format!("view?{query}"), content_type)
        })
        .collect()
}

/// Why a prompt failed, from its status messages (`execution_error`, `execution_interrupted`).
fn failure_of(entry: &Value) -> ProviderError {
    let messages = entry.pointer("/status/messages").and_then(Value::as_array).cloned().unwrap_or_default();
    for message in messages.iter().rev() {
        let (Some(event), data) = (message.get(0).and_then(Value::as_str), message.get(1).cloned().unwrap_or(Value::Null)) else {
            continue;
        };
        let text = |field: &str| data.get(field).and_then(Value::as_str).unwrap_or_default().to_string();
        match event {
            "execution_error" => {
                let node = text("node_type");
                let exception = format!("{} {}", text("exception_type"), text("exception_message")).trim().to_string();
                let message = if node.is_empty() { exception.clone() } else { format!("{node}: {exception}") };
                if exception.contains("OutOfMemory") || exception.contains("out of memory") {
                    return ProviderError::Transient(format!("ComfyUI ran out of memory: {message}"));
                }
                return wire::job_failure(&text("exception_type"), message);
            }
            "execution_interrupted" => return ProviderError::Transient("the prompt was interrupted on the ComfyUI server".into()),
            _ => {}
        }
    }
    ProviderError::Transient("ComfyUI reported an error without details".into())
}

fn status_of(entry: &Value) -> UpstreamStatus {
    match entry.pointer("/status/status_str").and_then(Value::as_str) {
        Some("error") => UpstreamStatus::Failed(failure_of(entry)),
        Some("success") | None => {
            let outputs = outputs_of(entry);
            if outputs.is_empty() {
                return UpstreamStatus::Failed(ProviderError::InvalidInput(
                    "the workflow saved no output: it needs a node that saves an image or video (SaveImage, SaveVideo, …)".into(),
                ));
            }
            UpstreamStatus::Succeeded { outputs, usage: None }
        }
        Some(other) => wire::unknown_status("comfyui", other, None),
    }
}

#[async_trait]
impl Provider for ComfyUi {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let Some(template) = &self.workflow else {
            return Err(ProviderError::InvalidInput(
                "this ComfyUI connection has no workflow: set workflow_file to a workflow exported in API format".into(),
            ));
        };
        let wants_image = mentions(template, IMAGE);
        let reference = job.references.first();
        let image = match (reference, wants_image) {
            (Some(reference), true) => Some(self.upload(job, reference).await?),
            (Some(_), false) => {
                return Err(ProviderError::InvalidInput(
                    "this ComfyUI workflow takes no reference image (it has no {{image}} placeholder)".into(),
                ));
            }
            (None, true) => {
                return Err(ProviderError::InvalidInput(
                    "this ComfyUI workflow needs a reference image (it has an {{image}} placeholder)".into(),
                ));
            }
            (None, false) => None,
        };
        let mut workflow = template.clone();
        fill(&mut workflow, &placeholders(job, image.as_deref()));
        let body = json!({ "prompt": workflow, "client_id": format!("reelvault-{}", job.generation) });
        let url = self.api.url("prompt")?;
        let queued: Queued = wire::read_json(self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?).await?;
        let status = UpstreamStatus::Pending { progress: None, poll_after: None };
        Ok(Submitted { handle: UpstreamHandle { id: queued.prompt_id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if let Some(entry) = self.history(&handle.id).await? {
            return Ok(status_of(&entry));
        }
        let queue: Queue = serde_json::from_value(self.api.get_json::<Value>("queue").await?).unwrap_or_default();
        if Queue::holds(&queue.queue_running, &handle.id) || Queue::holds(&queue.queue_pending, &handle.id) {
            return Ok(UpstreamStatus::Pending { progress: None, poll_after: None });
        }
        // it may have finished between the two reads
        match self.history(&handle.id).await? {
            Some(entry) => Ok(status_of(&entry)),
            None => Ok(UpstreamStatus::Failed(ProviderError::NotFound(
                "the ComfyUI server no longer knows this prompt (was it restarted or its queue cleared?)".into(),
            ))),
        }
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let url = self.api.url(&output.location)?;
        if url.origin() != self.api.base().origin() {
            return Err(ProviderError::InvalidInput("a ComfyUI output must come from the ComfyUI server".into()));
        }
        kit::stream_body(self.api.send(self.api.client().get(&url)).await?, cap)
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let queue: Queue = serde_json::from_value(self.api.get_json::<Value>("queue").await?).unwrap_or_default();
        if Queue::holds(&queue.queue_running, &handle.id) {
            // older servers ignore the body and interrupt whatever runs: it is ours, checked above
            let url = self.api.url("interrupt")?;
            self.api.send(self.api.client().post(&url).map(|r| r.json(&json!({ "prompt_id": handle.id })))).await?;
        } else if Queue::holds(&queue.queue_pending, &handle.id) {
            let url = self.api.url("queue")?;
            self.api.send(self.api.client().post(&url).map(|r| r.json(&json!({ "delete": [handle.id] })))).await?;
        }
        Ok(())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // Drops the history entry; ComfyUI has no route to delete the saved files themselves.
        let url = self.api.url("history")?;
        self.api.send(self.api.client().post(&url).map(|r| r.json(&json!({ "delete": [handle.id] })))).await.map(|_| true)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let stats = self.api.get_json::<Value>("system_stats").await?;
        let version = stats.pointer("/system/comfyui_version").and_then(Value::as_str);
        let device = stats.pointer("/devices/0/name").and_then(Value::as_str);
        let workflow = if self.workflow.is_some() { "" } else { "; no workflow_file is set, so jobs cannot run yet" };
        Ok(match (version, device) {
            (Some(v), Some(d)) => format!("ComfyUI {v} answers (device {d}){workflow}"),
            (Some(v), None) => format!("ComfyUI {v} answers{workflow}"),
            _ => format!("ComfyUI answers{workflow}"),
        })
    }
}

#[cfg(test)]
mod tests;
