//! Gemini Omni video through the Interactions API: `POST interactions` with `background: true`,
//! polled at `GET interactions/{id}` until its `output_video` (inline base64 or a URI) is ready;
//! an edit continues the interaction that made its source (`previous_interaction_id`) or sends
//! the source video inline. Cancel is `POST interactions/{id}/cancel`, deletion
//! `DELETE interactions/{id}`. See PROVIDERS-2026.md §7.2 (the schema moved from `outputs` to
//! `steps` in 2026-06; `outputs` is not read).

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::veo::operation_failure;
use super::{Gemini, MODE, RpcStatus};
use crate::domain::catalog::ReferenceRole;
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::providers::inline::decode_base64;
use crate::providers::kit::{self, StatusWords};
use crate::providers::{ProviderError, ProviderJob, ReferenceFile, Submitted, UpstreamStatus};

/// The `MODE` of an interaction handle.
pub(super) const INTERACTION: &str = "interaction";

/// The upstream ids served through the Interactions API rather than Veo's operations.
const OMNI_PREFIX: &str = "gemini-omni";

/// The catalog parameters that go into the video `response_format` as they are.
const FORMAT_PARAMS: &[&str] = &["aspect_ratio", "resolution"];

/// The interaction states; `requires_action`, `cancelled` and `budget_exceeded` are read apart.
static WORDS: StatusWords = StatusWords {
    provider: "gemini-interactions",
    pending: &["queued", "in_progress"],
    succeeded: &["completed"],
    failed: &["failed", "incomplete"],
};

/// An interaction as polled (tolerant: everything optional).
#[derive(Debug, Default, Deserialize)]
struct Interaction {
    id: Option<String>,
    status: Option<String>,
    output_video: Option<OutputVideo>,
    #[serde(default)]
    errors: Vec<RpcStatus>,
}

#[derive(Debug, Default, Deserialize)]
struct OutputVideo {
    data: Option<String>,
    uri: Option<String>,
    mime_type: Option<String>,
}

/// Whether the job's model is a Gemini Omni model (served by the Interactions API).
pub(super) fn is_omni(job: &ProviderJob) -> bool {
    job.upstream_model.starts_with(OMNI_PREFIX)
}

/// A media part of an interaction's `input` content list, inline as base64.
fn inline_part(kind: &str, file: &ReferenceFile) -> Value {
    json!({
        "type": kind,
        "data": base64::engine::general_purpose::STANDARD.encode(&file.bytes),
        "mime_type": file.content_type,
    })
}

/// The interaction that made the source, when the job edits an output of this connection's
/// Interactions API (a Veo operation cannot be continued).
fn previous_interaction(job: &ProviderJob) -> Option<&str> {
    let handle = &job.source.as_ref()?.handle;
    (handle.data.get(MODE).map(String::as_str) == Some(INTERACTION)).then_some(handle.id.as_str())
}

/// The create body of an Omni job: the task follows from the references.
fn create_body(job: &ProviderJob) -> Result<Value, ProviderError> {
    let role = |wanted| job.references.iter().filter(move |r: &&ReferenceFile| r.role == wanted);
    let first = role(ReferenceRole::FirstFrame).next();
    let images: Vec<&ReferenceFile> = role(ReferenceRole::Reference).collect();
    let source = role(ReferenceRole::SourceVideo).next();
    if first.is_some() && !images.is_empty() {
        return Err(ProviderError::InvalidInput(format!("{} takes either a first frame or reference images, not both", job.model)));
    }
    let previous = source.and(previous_interaction(job));
    let task = match (source, first, images.is_empty()) {
        (Some(_), _, _) => "edit",
        (None, Some(_), _) => "image_to_video",
        (None, None, false) => "reference_to_video",
        (None, None, true) => "text_to_video",
    };
    let mut parts = vec![json!({"type": "text", "text": job.prompt})];
    parts.extend(first.into_iter().chain(images).map(|image| inline_part("image", image)));
    if let (Some(video), None) = (source, previous) {
        parts.push(inline_part("video", video));
    }
    let input = if parts.len() == 1 { json!(job.prompt) } else { Value::Array(parts) };
    let mut format = json!({"type": "video"});
    for name in FORMAT_PARAMS {
        if let Some(value) = kit::text_param(&job.params, name) {
            format[*name] = json!(value);
        }
    }
    if let Some(seconds) = kit::int_param(&job.params, "duration") {
        // a string on the wire; the protobuf Duration form ("8s") is UNCONFIRMED for Omni
        format["duration"] = json!(format!("{seconds}s"));
    }
    let mut body = json!({
        "model": job.upstream_model,
        "input": input,
        "background": true,
        "response_modalities": ["video"],
        "response_format": format,
        "generation_config": {"video_config": {"task": task}},
    });
    if let Some(previous) = previous {
        body["previous_interaction_id"] = json!(previous);
    }
    Ok(body)
}

/// The message of an interaction's first error.
fn first_error(errors: &[RpcStatus]) -> Option<&RpcStatus> {
    errors.iter().find(|e| e.message.as_deref().is_some_and(|m| !m.is_empty()) || e.code.unwrap_or(0) != 0)
}

impl Gemini {
    pub(super) async fn submit_interaction(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let body = create_body(job)?;
        let interaction: Interaction = self.api.post_json("interactions", &body).await?;
        let id = interaction
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ProviderError::Transient("the Gemini API accepted the video job but named no interaction to poll".into()))?;
        let status = self.interaction_status(&id, interaction);
        let data = [(MODE.to_string(), INTERACTION.to_string())].into();
        Ok(Submitted { handle: UpstreamHandle { id, data }, status })
    }

    pub(super) async fn poll_interaction(&self, id: &str) -> Result<UpstreamStatus, ProviderError> {
        let interaction: Interaction = self.api.get_json(&format!("interactions/{id}")).await?;
        Ok(self.interaction_status(id, interaction))
    }

    pub(super) async fn cancel_interaction(&self, id: &str) -> Result<(), ProviderError> {
        self.api.post_json::<Value>(&format!("interactions/{id}/cancel"), &json!({})).await.map(|_| ())
    }

    pub(super) async fn delete_interaction(&self, id: &str) -> Result<(), ProviderError> {
        let url = self.api.url(&format!("interactions/{id}"))?;
        self.api.send(self.api.client().delete(&url)).await.map(|_| ())
    }

    /// What an interaction says about the job whose handle is `id`.
    fn interaction_status(&self, id: &str, interaction: Interaction) -> UpstreamStatus {
        let word = interaction.status.as_deref().unwrap_or("queued");
        let failure = |fallback: &str| match first_error(&interaction.errors) {
            Some(error) => operation_failure(error),
            None => ProviderError::Transient(fallback.into()),
        };
        match word {
            "cancelled" => UpstreamStatus::Failed(ProviderError::NotFound("the interaction was cancelled on the Gemini API".into())),
            "budget_exceeded" => UpstreamStatus::Failed(ProviderError::InsufficientUpstreamCredit(
                "the Gemini API stopped the video at the project's budget".into(),
            )),
            "requires_action" => UpstreamStatus::Failed(ProviderError::InvalidInput(
                "the Gemini API says the interaction needs an action reelvault cannot take".into(),
            )),
            _ => WORDS.status(word, || self.interaction_video(id, interaction.output_video.as_ref()), || failure("the video job failed")),
        }
    }

    /// The output of a completed interaction: inline bytes held in memory, or its URI.
    fn interaction_video(&self, id: &str, video: Option<&OutputVideo>) -> UpstreamStatus {
        let content_type = video.and_then(|v| v.mime_type.clone()).unwrap_or_else(|| "video/mp4".into());
        if let Some(data) = video.and_then(|v| v.data.as_deref()).filter(|d| !d.is_empty()) {
            return match decode_base64(data) {
                Ok(bytes) => UpstreamStatus::Succeeded { outputs: vec![self.inline.hold(id, 0, &content_type, bytes)], usage: None },
                Err(e) => UpstreamStatus::Failed(e),
            };
        }
        // fetched with the key only when it is on the API host (`download`); its retention is UNCONFIRMED
        let outputs = video.and_then(|v| v.uri.clone()).filter(|u| !u.is_empty()).map(|uri| OutputRef::new(uri, Some(content_type)));
        kit::outputs_or_missing(outputs.into_iter().collect(), "the interaction completed without a video")
    }
}
