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

use super::http::{OutboundClient, OutboundError};
use super::replicate::content_type_of;
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::ParamValue;
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The default base URL (ComfyUI's own default port).
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8188/";

/// The placeholders a workflow may hold, and those that become JSON numbers when a string
/// value is exactly the placeholder.
const IMAGE: &str = "{{image}}";
const NUMERIC: &[&str] = &["seed", "width", "height"];

/// The adapter for one connection.
pub struct ComfyUi {
    client: OutboundClient,
    base: url::Url,
    key: Option<Secret>,
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
        Ok(Self {
            client: wire::client_for(config)?,
            base: wire::base_url(config, DEFAULT_BASE),
            key: config.api_key.clone(),
            workflow: config.workflow.clone(),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, ProviderError> {
        wire::join(&self.base, path)
    }

    async fn send(&self, request: Result<reqwest::RequestBuilder, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        let request = request.map(|r| match &self.key {
            Some(key) => r.bearer_auth(key.expose()),
            None => r,
        });
        let response = wire::send(request).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from(response).await)
    }

    async fn get_json(&self, path: &str) -> Result<Value, ProviderError> {
        let url = self.url(path)?;
        wire::read_json(self.send(self.client.get(&url)).await?).await
    }

    /// Uploads a reference image into ComfyUI's input folder; the name a LoadImage node takes.
    async fn upload(&self, job: &ProviderJob, image: &super::ReferenceImage) -> Result<String, ProviderError> {
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
        let url = self.url("upload/image")?;
        let uploaded: Uploaded = wire::read_json(self.send(self.client.post(&url).map(|r| r.multipart(form))).await?).await?;
        Ok(if uploaded.subfolder.is_empty() { uploaded.name } else { format!("{}/{}", uploaded.subfolder, uploaded.name) })
    }

    /// The prompt's history entry, if it has finished.
    async fn history(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let history = self.get_json(&format!("history/{id}")).await?;
        Ok(history.get(id).cloned())
    }
}

/// Maps an error answer: ComfyUI's `{error: {type, message, details}, node_errors}`, then the status.
async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let wait = wire::retry_after(response.headers());
    let body = wire::error_body(response).await;
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
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
        message = String::from_utf8_lossy(&body).trim().chars().take(300).collect();
    }
    if message.is_empty() {
        message = format!("HTTP {status}");
    }
    wire::classify(status, &code, message, wait)
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
            OutputRef { location: format!("view?{query}"), content_type }
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
            UpstreamStatus::Succeeded { outputs }
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
        let url = self.url("prompt")?;
        let queued: Queued = wire::read_json(self.send(self.client.post(&url).map(|r| r.json(&body))).await?).await?;
        let status = UpstreamStatus::Pending { progress: None, poll_after: None };
        Ok(Submitted { handle: UpstreamHandle { id: queued.prompt_id, data: Default::default() }, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        if let Some(entry) = self.history(&handle.id).await? {
            return Ok(status_of(&entry));
        }
        let queue: Queue = serde_json::from_value(self.get_json("queue").await?).unwrap_or_default();
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
        let url = self.url(&output.location)?;
        if url.origin() != self.base.origin() {
            return Err(ProviderError::InvalidInput("a ComfyUI output must come from the ComfyUI server".into()));
        }
        let response = self.send(self.client.get(&url)).await?;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(ProviderError::TooLarge { cap });
        }
        Ok(wire::download(response, cap))
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        let queue: Queue = serde_json::from_value(self.get_json("queue").await?).unwrap_or_default();
        if Queue::holds(&queue.queue_running, &handle.id) {
            // older servers ignore the body and interrupt whatever runs: it is ours, checked above
            let url = self.url("interrupt")?;
            self.send(self.client.post(&url).map(|r| r.json(&json!({ "prompt_id": handle.id })))).await?;
        } else if Queue::holds(&queue.queue_pending, &handle.id) {
            let url = self.url("queue")?;
            self.send(self.client.post(&url).map(|r| r.json(&json!({ "delete": [handle.id] })))).await?;
        }
        Ok(())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        // Drops the history entry; ComfyUI has no route to delete the saved files themselves.
        let url = self.url("history")?;
        self.send(self.client.post(&url).map(|r| r.json(&json!({ "delete": [handle.id] })))).await.map(|_| true)
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let stats = self.get_json("system_stats").await?;
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
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use fake_upstream::{FakeUpstream, Reply, Request};
    use futures_util::TryStreamExt;

    use super::*;
    use crate::domain::catalog::{MediaKind, ReferenceRole};
    use crate::domain::ids::GenerationId;
    use crate::providers::ReferenceImage;

    const KEY: &str = "proxy-token";

    fn workflow(with_image: bool) -> Value {
        let mut w = json!({
            "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 20, "cfg": 7.5, "model": ["4", 0],
                "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": " {{height}} ", "batch_size": 1}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}, highly detailed", "clip": ["4", 1]}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
            "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "rv-{{seed}}-{{unknown}}", "images": ["8", 0]}},
        });
        if with_image {
            w["10"] = json!({"class_type": "LoadImage", "inputs": {"image": "{{image}}"}});
        }
        w
    }

    fn config(fake: &FakeUpstream, workflow: Option<Value>, timeout: Duration) -> ConnectionConfig {
        ConnectionConfig {
            base_url: Some(fake.url.clone()),
            api_key: Some(Secret::new(KEY)),
            allow_private_network: true,
            timeout,
            workflow,
            ..ConnectionConfig::new("comfy", "comfyui")
        }
    }

    fn adapter(fake: &FakeUpstream, with_image: bool) -> ComfyUi {
        ComfyUi::new(&config(fake, Some(workflow(with_image)), Duration::from_secs(5))).unwrap()
    }

    fn job(prompt: &str) -> ProviderJob {
        ProviderJob {
            generation: GenerationId::generate(),
            model: "comfyui-image".into(),
            upstream_model: "comfyui-image".into(),
            kind: MediaKind::Image,
            prompt: prompt.into(),
            negative_prompt: Some("blurry".into()),
            params: BTreeMap::from([
                ("width".to_string(), ParamValue::Int(768)),
                ("height".to_string(), ParamValue::Int(512)),
                ("seed".to_string(), ParamValue::Int(1234)),
            ]),
            references: Vec::new(),
            output_count: 1,
            callback_url: None,
        }
    }

    fn handle(id: &str) -> UpstreamHandle {
        UpstreamHandle { id: id.into(), data: Default::default() }
    }

    fn authorized(r: &Request) -> bool {
        r.header("authorization") == Some(&format!("Bearer {KEY}"))
    }

    fn queued() -> Reply {
        Reply::json(200, json!({"prompt_id": "c0ffee00-0000-4000-8000-000000000001", "number": 3, "node_errors": {}}))
    }

    #[tokio::test]
    async fn the_workflow_is_filled_and_queued_with_numbers_where_the_placeholder_stands_alone() {
        let fake = FakeUpstream::start(|_| queued()).await;
        let submitted = adapter(&fake, false).submit(&job("a {{seed}} shaped cloud")).await.unwrap();
        assert_eq!(submitted.handle.id, "c0ffee00-0000-4000-8000-000000000001");
        assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].route(), "POST /prompt");
        assert!(authorized(&requests[0]));
        let body = requests[0].json();
        assert!(body["client_id"].as_str().unwrap().starts_with("reelvault-"));
        assert_eq!(
            body["prompt"],
            json!({
                "3": {"class_type": "KSampler", "inputs": {"seed": 1234, "steps": 20, "cfg": 7.5, "model": ["4", 0],
                    "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
                "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 768, "height": 512, "batch_size": 1}},
                "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a {{seed}} shaped cloud, highly detailed", "clip": ["4", 1]}},
                "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
                "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "rv-1234-{{unknown}}", "images": ["8", 0]}},
            })
        );
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_reference_is_uploaded_first_and_named_in_the_image_placeholder() {
        let fake = FakeUpstream::start(|r| match r.route().as_str() {
            "POST /upload/image" => Reply::json(200, json!({"name": "reelvault-x.png", "subfolder": "refs", "type": "input"})),
            _ => queued(),
        })
        .await;
        let mut job = job("make it snow");
        job.references = vec![ReferenceImage {
            role: ReferenceRole::Reference,
            content_type: "image/png".into(),
            bytes: Bytes::from_static(b"\x89PNG"),
        }];
        adapter(&fake, true).submit(&job).await.unwrap();
        let requests = fake.requests();
        assert_eq!(requests.iter().map(Request::route).collect::<Vec<_>>(), ["POST /upload/image", "POST /prompt"]);
        assert!(requests.iter().all(authorized));
        let image = requests[0].part("image").expect("an image part");
        assert_eq!(image.filename, Some(format!("reelvault-{}.png", job.generation)));
        assert_eq!(image.content_type.as_deref(), Some("image/png"));
        assert_eq!(&image.data[..], b"\x89PNG");
        assert_eq!(requests[0].part("type").unwrap().text(), "input");
        assert_eq!(requests[0].part("overwrite").unwrap().text(), "true");
        assert_eq!(requests[1].json()["prompt"]["10"]["inputs"]["image"], "refs/reelvault-x.png");
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_missing_workflow_or_a_reference_mismatch_is_refused_before_any_request() {
        let fake = FakeUpstream::start(|_| queued()).await;
        let bare = ComfyUi::new(&config(&fake, None, Duration::from_secs(5))).unwrap();
        assert!(matches!(bare.submit(&job("x")).await, Err(ProviderError::InvalidInput(m)) if m.contains("workflow_file")));
        assert!(
            matches!(adapter(&fake, true).submit(&job("x")).await, Err(ProviderError::InvalidInput(m)) if m.contains("needs a reference"))
        );
        let mut with_reference = job("x");
        with_reference.references =
            vec![ReferenceImage { role: ReferenceRole::Reference, content_type: "image/png".into(), bytes: Bytes::from_static(b"png") }];
        assert!(
            matches!(adapter(&fake, false).submit(&with_reference).await, Err(ProviderError::InvalidInput(m)) if m.contains("no reference"))
        );
        assert!(fake.requests().is_empty());
        fake.stop().await;
    }

    /// A fake whose `/history/{id}` and `/queue` answers come from the test's script.
    async fn scripted(history: Vec<Value>, queue: Value) -> FakeUpstream {
        let history = Arc::new(Mutex::new(history));
        FakeUpstream::start(move |r| match r.route().as_str() {
            route if route.starts_with("GET /history/") => {
                let mut h = history.lock().unwrap();
                let next = if h.len() > 1 { h.remove(0) } else { h[0].clone() };
                Reply::json(200, next)
            }
            "GET /queue" => Reply::json(200, queue.clone()),
            "GET /view" => match r.query_param("filename").as_deref() {
                Some("rv_00001_.png") => Reply::bytes(200, "image/png", Bytes::from_static(b"comfy png")),
                Some("big.png") => Reply::bytes(200, "image/png", vec![1u8; 5000]),
                _ => Reply::text(404, "404: Not Found"),
            },
            _ => Reply::status(200),
        })
        .await
    }

    fn entry(id: &str, status: Value, outputs: Value) -> Value {
        json!({ id: {"prompt": [3, id, {}, {}, ["9"]], "outputs": outputs, "status": status, "meta": {}} })
    }

    #[tokio::test]
    async fn polls_wait_while_queued_or_running_then_list_saved_files() {
        let running = json!({"queue_running": [[3, "p1", {}, {}, ["9"]]], "queue_pending": [[4, "p2", {}, {}, ["9"]]]});
        let done = entry(
            "p1",
            json!({"status_str": "success", "completed": true, "messages": [["execution_start", {"prompt_id": "p1"}], ["execution_success", {"prompt_id": "p1"}]]}),
            json!({
                "12": {"images": [{"filename": "preview_0001.png", "subfolder": "", "type": "temp"}]},
                "9": {"images": [{"filename": "rv_00001_.png", "subfolder": "", "type": "output"}, {"filename": "rv 00002.webp", "subfolder": "a/b", "type": "output"}]},
                "15": {"gifs": [{"filename": "clip_00001.mp4", "subfolder": "video", "type": "output", "format": "video/h264-mp4"}]},
            }),
        );
        let fake = scripted(vec![json!({}), json!({}), done], running).await;
        let comfy = adapter(&fake, false);
        assert!(matches!(comfy.poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { .. }), "running");
        assert!(matches!(comfy.poll(&handle("p2")).await.unwrap(), UpstreamStatus::Pending { .. }), "queued");
        let UpstreamStatus::Succeeded { outputs } = comfy.poll(&handle("p1")).await.unwrap() else { panic!() };
        assert_eq!(
            outputs,
            vec![
                OutputRef { location: "view?filename=rv_00001_.png&subfolder=&type=output".into(), content_type: Some("image/png".into()) },
                OutputRef {
                    location: "view?filename=rv+00002.webp&subfolder=a%2Fb&type=output".into(),
                    content_type: Some("image/webp".into())
                },
                OutputRef {
                    location: "view?filename=clip_00001.mp4&subfolder=video&type=output".into(),
                    content_type: Some("video/mp4".into())
                },
            ],
            "saved files in node order; the preview is left out"
        );
        assert!(fake.requests().iter().all(authorized));
        fake.stop().await;
    }

    #[tokio::test]
    async fn a_prompt_the_server_forgot_is_not_found() {
        let fake = scripted(vec![json!({})], json!({"queue_running": [], "queue_pending": []})).await;
        assert_eq!(adapter(&fake, false).poll(&handle("lost")).await.unwrap().failed_code(), Some("provider.not_found"));
        let routes: Vec<String> = fake.requests().iter().map(Request::route).collect();
        assert_eq!(routes, ["GET /history/lost", "GET /queue", "GET /history/lost"], "the history is read again before giving up");
        fake.stop().await;
    }

    #[tokio::test]
    async fn failed_prompts_carry_comfyuis_messages() {
        let error = |exception_type: &str, message: &str| {
            entry(
                "p1",
                json!({"status_str": "error", "completed": false, "messages": [
                    ["execution_start", {"prompt_id": "p1"}],
                    ["execution_error", {"prompt_id": "p1", "node_id": "4", "node_type": "CheckpointLoaderSimple",
                        "exception_type": exception_type, "exception_message": message, "traceback": []}],
                ]}),
                json!({}),
            )
        };
        let cases = [
            (
                error("FileNotFoundError", "Model in folder 'checkpoints' with filename 'sdxl.safetensors' not found."),
                "provider.invalid_input",
                "sdxl.safetensors",
            ),
            (error("torch.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB"), "provider.transient", "out of memory"),
            (
                entry(
                    "p1",
                    json!({"status_str": "error", "messages": [["execution_interrupted", {"prompt_id": "p1", "node_id": "3"}]]}),
                    json!({}),
                ),
                "provider.transient",
                "interrupted",
            ),
            (
                entry("p1", json!({"status_str": "success", "completed": true, "messages": []}), json!({})),
                "provider.invalid_input",
                "saved no output",
            ),
        ];
        for (history, code, words) in cases {
            let fake = scripted(vec![history], json!({})).await;
            let UpstreamStatus::Failed(e) = adapter(&fake, false).poll(&handle("p1")).await.unwrap() else { panic!("{code}") };
            assert_eq!(e.code(), code, "{e}");
            assert!(e.to_string().contains(words), "{e}");
            fake.stop().await;
        }
        let odd = scripted(vec![entry("p1", json!({"status_str": "paused"}), json!({}))], json!({})).await;
        assert!(matches!(adapter(&odd, false).poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { .. }), "unknown status waits");
        odd.stop().await;
    }

    #[tokio::test]
    async fn http_errors_map_to_classes() {
        let step = Arc::new(AtomicUsize::new(0));
        let fake = FakeUpstream::start(move |_| match step.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::json(400, json!({
                "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                "node_errors": {"4": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                    "details": "ckpt_name: 'missing.safetensors' not in ['sd15.safetensors']"}], "class_type": "CheckpointLoaderSimple"}},
            })),
            1 => Reply::text(401, "Unauthorized"),
            2 => Reply::text(502, "Bad Gateway"),
            3 => Reply::bytes(200, "application/json", "{\"prompt_id\""),
            4 => Reply::json(429, json!({"error": "slow down"})).header("retry-after", 3),
            _ => Reply::hang(),
        })
        .await;
        let comfy = adapter(&fake, false);
        let invalid = comfy.submit(&job("x")).await.unwrap_err();
        assert!(
            matches!(&invalid, ProviderError::InvalidInput(m) if m.contains("CheckpointLoaderSimple: Value not in list: ckpt_name: 'missing.safetensors'")),
            "{invalid}"
        );
        assert_eq!(comfy.submit(&job("x")).await.unwrap_err().code(), "provider.auth");
        assert_eq!(comfy.submit(&job("x")).await.unwrap_err().code(), "provider.transient");
        assert_eq!(comfy.submit(&job("x")).await.unwrap_err().code(), "provider.transient", "malformed JSON");
        assert_eq!(comfy.submit(&job("x")).await.unwrap_err().retry_after(), Some(Duration::from_secs(3)));
        let short = ComfyUi::new(&config(&fake, Some(workflow(false)), Duration::from_millis(300))).unwrap();
        assert_eq!(short.submit(&job("x")).await.unwrap_err(), ProviderError::Timeout);
        fake.stop().await;
    }

    #[tokio::test]
    async fn outputs_are_read_from_view_with_the_key_and_capped() {
        let fake = scripted(vec![json!({})], json!({})).await;
        let comfy = adapter(&fake, false);
        let out = |name: &str| OutputRef { location: format!("view?filename={name}&subfolder=&type=output"), content_type: None };
        let chunks: Vec<Bytes> = comfy.fetch(&handle("p1"), &out("rv_00001_.png"), 1 << 20).await.unwrap().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"comfy png");
        assert_eq!(comfy.fetch(&handle("p1"), &out("big.png"), 4096).await.err(), Some(ProviderError::TooLarge { cap: 4096 }));
        assert_eq!(comfy.fetch(&handle("p1"), &out("gone.png"), 4096).await.err().map(|e| e.code()), Some("provider.not_found"));
        let elsewhere = OutputRef { location: "http://192.0.2.1/view?filename=x".into(), content_type: None };
        assert_eq!(comfy.fetch(&handle("p1"), &elsewhere, 4096).await.err().map(|e| e.code()), Some("provider.invalid_input"));
        let view = &fake.requests_to("GET /view")[0];
        assert!(authorized(view));
        assert_eq!(view.query_param("type").as_deref(), Some("output"));
        fake.stop().await;
    }

    #[tokio::test]
    async fn cancel_interrupts_only_our_running_prompt_or_dequeues_it_and_delete_drops_the_history() {
        let queue = json!({"queue_running": [[3, "run", {}, {}, []]], "queue_pending": [[4, "wait", {}, {}, []]]});
        let fake = scripted(vec![json!({})], queue).await;
        let comfy = adapter(&fake, false);
        comfy.cancel(&handle("run")).await.unwrap();
        comfy.cancel(&handle("wait")).await.unwrap();
        comfy.cancel(&handle("other")).await.unwrap();
        comfy.delete_upstream(&handle("run")).await.unwrap();
        let posts: Vec<(String, Value)> =
            fake.requests().iter().filter(|r| r.method == "POST").map(|r| (r.path.clone(), r.json())).collect();
        assert_eq!(
            posts,
            [
                ("/interrupt".to_string(), json!({"prompt_id": "run"})),
                ("/queue".to_string(), json!({"delete": ["wait"]})),
                ("/history".to_string(), json!({"delete": ["run"]})),
            ],
            "nothing is interrupted for a prompt that is not running"
        );
        assert!(fake.requests().iter().all(authorized));
        fake.stop().await;
    }

    #[tokio::test]
    async fn test_connection_reads_system_stats() {
        let fake = FakeUpstream::start(|_| {
            Reply::json(200, json!({"system": {"os": "posix", "comfyui_version": "0.3.62"}, "devices": [{"name": "cuda:0 NVIDIA RTX 4090", "type": "cuda"}]}))
        })
        .await;
        let said = adapter(&fake, false).test_connection().await.unwrap();
        assert_eq!(said, "ComfyUI 0.3.62 answers (device cuda:0 NVIDIA RTX 4090)");
        let bare = ComfyUi::new(&config(&fake, None, Duration::from_secs(5))).unwrap().test_connection().await.unwrap();
        assert!(bare.contains("no workflow_file"), "{bare}");
        assert_eq!(fake.requests()[0].route(), "GET /system_stats");
        fake.stop().await;
    }

    trait FailedCode {
        fn failed_code(&self) -> Option<&'static str>;
    }

    impl FailedCode for UpstreamStatus {
        fn failed_code(&self) -> Option<&'static str> {
            match self {
                UpstreamStatus::Failed(e) => Some(e.code()),
                _ => None,
            }
        }
    }
}
