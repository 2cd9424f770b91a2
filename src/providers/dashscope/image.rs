//! Wan images (`wan2.7-image`, `wan2.7-image-pro`): the synchronous
//! `POST /services/aigc/multimodal-generation/generation`, one user message of the prompt and
//! up to 9 reference images (inline `data:` URIs); the answer names each image by a signed
//! URL, fetched later without the key. See PROVIDERS-2026.md §2 "wan2.7-image".

use serde::Deserialize;
use serde_json::{Value, json};

use super::{SYNC, data_uri};
use crate::domain::catalog::ReferenceRole;
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::providers::kit::{Api, image_type_of_url, outputs_or_missing, text_param};
use crate::providers::{ProviderError, ProviderJob, Submitted};

/// The image generation path.
const PATH: &str = "services/aigc/multimodal-generation/generation";

/// The JSON body of an image job: the prompt, the reference images, and the catalog's `size`.
pub(super) fn body(job: &ProviderJob) -> Value {
    let mut content = vec![json!({"text": job.prompt})];
    content.extend(job.references.iter().filter(|r| r.role == ReferenceRole::Reference).map(|r| json!({"image": data_uri(r)})));
    let mut parameters = json!({"n": job.output_count.max(1), "watermark": false});
    if let Some(size) = text_param(&job.params, "size") {
        parameters["size"] = json!(size);
    }
    json!({"model": job.upstream_model, "input": {"messages": [{"role": "user", "content": content}]}, "parameters": parameters})
}

#[derive(Debug, Deserialize)]
struct Answer {
    request_id: Option<String>,
    output: Option<Output>,
}

#[derive(Debug, Deserialize)]
struct Output {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Option<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    content: Vec<Value>,
}

/// Sends an image job; the answer is the finished job.
pub(super) async fn submit(api: &Api, job: &ProviderJob) -> Result<Submitted, ProviderError> {
    let answer: Answer = api.post_json(PATH, &body(job)).await?;
    let items = answer.output.into_iter().flat_map(|o| o.choices).filter_map(|c| c.message).flat_map(|m| m.content);
    // each item is `{type: "image", image: "<signed URL>"}` (the `type` is read tolerantly)
    let outputs: Vec<OutputRef> = items
        .filter_map(|item| item.get("image").and_then(Value::as_str).map(str::to_string))
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .map(|url| {
            let content_type = image_type_of_url(&url).to_string();
            OutputRef::new(url, Some(content_type))
        })
        .collect();
    let id = answer.request_id.filter(|id| !id.is_empty()).unwrap_or_else(|| job.generation.to_string());
    let handle = UpstreamHandle { id, data: [(SYNC.0.to_string(), SYNC.1.to_string())].into() };
    Ok(Submitted { handle, status: outputs_or_missing(outputs, "DashScope answered without any image") })
}
