//! Gemini native images: `models/{model}:generateContent` with `responseModalities: ["IMAGE"]`,
//! answered at once with inline base64 images (held in memory until stored).

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Gemini, MODE};
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::domain::generation::UpstreamHandle;
use crate::providers::inline::decode_base64;
use crate::providers::{ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};

/// Finish and block reasons of generateContent that are safety refusals.
const SAFETY_REASONS: &[&str] =
    &["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_RECITATION"];

/// A generateContent answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(alias = "prompt_feedback")]
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(alias = "block_reason")]
    block_reason: Option<String>,
    #[serde(alias = "block_reason_message")]
    block_reason_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    #[serde(alias = "finish_reason")]
    finish_reason: Option<String>,
    #[serde(alias = "finish_message")]
    finish_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<ContentPart>,
}

#[derive(Debug, Default, Deserialize)]
struct ContentPart {
    text: Option<String>,
    #[serde(rename = "inlineData", alias = "inline_data")]
    inline_data: Option<Blob>,
    #[serde(default)]
    thought: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Blob {
    #[serde(rename = "mimeType", alias = "mime_type")]
    mime_type: Option<String>,
    #[serde(default)]
    data: String,
}

impl Gemini {
    pub(super) async fn submit_image(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut parts = vec![json!({ "text": job.prompt })];
        for image in job.references.iter().filter(|r| r.role == ReferenceRole::Reference) {
            parts.push(json!({ "inline_data": {
                "mime_type": image.content_type,
                "data": base64::engine::general_purpose::STANDARD.encode(&image.bytes),
            }}));
        }
        let mut image_config = serde_json::Map::new();
        if let Some(ParamValue::Text(ratio)) = job.params.get("aspect_ratio") {
            image_config.insert("aspectRatio".into(), json!(ratio));
        }
        if let Some(ParamValue::Text(size)) = job.params.get("image_size") {
            image_config.insert("imageSize".into(), json!(size));
        }
        let mut generation = json!({ "responseModalities": ["IMAGE"] });
        if !image_config.is_empty() {
            generation["imageConfig"] = Value::Object(image_config);
        }
        let body = json!({ "contents": [{ "role": "user", "parts": parts }], "generationConfig": generation });
        let url = self.api.url(&format!("models/{}:generateContent", job.upstream_model))?;
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let answer: ContentResponse = wire::read_json(response).await?;
        let id = format!("image-{}", job.generation);
        let images = answer_images(answer, job.output_count.max(1))?;
        let outputs =
            images.into_iter().enumerate().map(|(n, (content_type, bytes))| self.inline.hold(&id, n, &content_type, bytes)).collect();
        let data = [(MODE.to_string(), "image".to_string())].into();
        Ok(Submitted { handle: UpstreamHandle { id, data }, status: UpstreamStatus::Succeeded { outputs, usage: None } })
    }
}

/// The images of a generateContent answer (the last `count` non-thought images), or why
/// there are none.
fn answer_images(answer: ContentResponse, count: usize) -> Result<Vec<(String, bytes::Bytes)>, ProviderError> {
    if let Some(reason) = answer.prompt_feedback.as_ref().and_then(|f| f.block_reason.clone()).filter(|r| !r.is_empty()) {
        let detail = answer.prompt_feedback.and_then(|f| f.block_reason_message).unwrap_or_default();
        return Err(ProviderError::ContentPolicy(format!("the prompt was blocked ({reason}) {detail}").trim().to_string()));
    }
    let mut images = Vec::new();
    let mut texts = Vec::new();
    let mut finish = None;
    for candidate in answer.candidates {
        if finish.is_none() {
            finish = candidate.finish_reason.clone().map(|r| (r, candidate.finish_message.clone().unwrap_or_default()));
        }
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            match (part.inline_data, part.text) {
                (Some(blob), _) if !part.thought && !blob.data.is_empty() => {
                    let content_type = blob.mime_type.unwrap_or_else(|| "image/png".into());
                    images.push((content_type, decode_base64(&blob.data)?));
                }
                (None, Some(text)) if !part.thought => texts.push(text),
                _ => {}
            }
        }
    }
    if !images.is_empty() {
        let skip = images.len().saturating_sub(count);
        return Ok(images.into_iter().skip(skip).collect());
    }
    let said: String = texts.join(" ").chars().take(300).collect();
    match finish {
        Some((reason, message)) if SAFETY_REASONS.contains(&reason.as_str()) => {
            let detail = if message.is_empty() { said } else { message };
            Err(ProviderError::ContentPolicy(format!("the image was blocked ({reason}) {detail}").trim().to_string()))
        }
        Some((reason, _)) if reason == "MAX_TOKENS" || reason == "MALFORMED_FUNCTION_CALL" => {
            Err(ProviderError::Transient(format!("the model stopped before making an image ({reason})")))
        }
        _ if said.is_empty() => Err(ProviderError::Transient("the model answered without an image".into())),
        _ => Err(ProviderError::InvalidInput(format!("the model answered without an image: {said}"))),
    }
}
