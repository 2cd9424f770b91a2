//! Luma's Dream Machine API (`/dream-machine/v1`, Bearer key): JSON submits to
//! `/generations/video` and `/generations/image`, polls at `/generations/{id}` (queued, dreaming,
//! completed, failed), outputs at `assets.video` / `assets.image` (CDN URLs fetched without the
//! key; a video generation's `assets.image` is its still, kept as the video's thumbnail for the
//! poster), and `DELETE /generations/{id}` after custody (and as cancel). References must be
//! public URLs, so none are sent (the models declare none). See PROVIDERS.md §4 A.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{OutboundClient, OutboundError};
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable, StatusWords, image_type_of_url, outputs_or_missing};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::{MediaKind, ParamValue};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The base URL convention: `/dream-machine/v1` belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://api.lumalabs.ai/dream-machine/v1");

/// The adapter for one connection.
pub struct Luma {
    api: Api,
}

/// The Generation object (tolerant).
#[derive(Debug, Deserialize)]
struct Generation {
    id: String,
    #[serde(default)]
    state: String,
    failure_reason: Option<String>,
    assets: Option<Assets>,
}

#[derive(Debug, Default, Deserialize)]
struct Assets {
    video: Option<String>,
    image: Option<String>,
}

/// The message of an error body, whichever common shape it has: `{"detail": "…"}`,
/// `{"detail": [{"msg": "…"}]}` (validation), `{"error": {"code", "message"}}`,
/// `{"error": "…"}` or `{"message": "…"}`. Returns (code, message).
pub(crate) fn error_text(body: &[u8]) -> (String, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body).trim().chars().take(300).collect::<String>();
        return (String::new(), Some(text).filter(|t| !t.is_empty()));
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let code = value
        .pointer("/error/code")
        .or_else(|| value.get("code"))
        .or_else(|| value.get("failure_code"))
        .map(|c| text(c).unwrap_or_else(|| c.to_string()))
        .unwrap_or_default();
    let message = match value.get("detail") {
        Some(Value::Array(items)) => {
            let parts: Vec<String> = items.iter().filter_map(|i| i.get("msg").and_then(text)).collect();
            Some(parts.join("; ")).filter(|m| !m.is_empty())
        }
        Some(detail) => text(detail),
        None => None,
    }
    .or_else(|| value.pointer("/error/message").and_then(text))
    .or_else(|| value.get("error").and_then(text))
    .or_else(|| value.get("message").and_then(text));
    (code, message)
}

/// Luma's error table: the common body shapes ([`error_text`]), then words and status.
pub(crate) static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads an error body with [`error_text`].
pub(crate) fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let (code, message) = error_text(answer.body);
    ErrorReport { code, message, wait: None }
}

/// Downloads a presigned or public output URL without credentials (presigned URLs answer
/// 403 once they expire).
pub(crate) async fn fetch_url(client: &OutboundClient, location: &str, cap: u64) -> Result<ByteStream, ProviderError> {
    let url = url::Url::parse(location).map_err(|e| ProviderError::NotFound(format!("not an output URL: {e}")))?;
    kit::fetch_keyless(client, &url, cap, |status| format!("Luma's output URL answered HTTP {status}"), None).await
}

/// What every Luma generation request carries: the model, the prompt and the aspect ratio.
pub(crate) fn base_body(job: &ProviderJob) -> Value {
    let mut body = json!({"model": job.upstream_model, "prompt": job.prompt});
    if let Some(ParamValue::Text(ratio)) = job.params.get("aspect_ratio") {
        body["aspect_ratio"] = json!(ratio);
    }
    body
}

/// Luma's generation states.
static WORDS: StatusWords = StatusWords {
    provider: "luma",
    pending: &["queued", "dreaming", "pending", "processing"],
    succeeded: &["completed"],
    failed: &["failed"],
};

impl Luma {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Bearer, &ERRORS)? })
    }

    fn status(&self, generation: &Generation) -> UpstreamStatus {
        let succeeded = || {
            let assets = generation.assets.as_ref();
            // a video generation's `image` is the video's still: its thumbnail
            let video = assets.and_then(|a| a.video.clone()).map(|location| {
                let video = OutputRef::new(location, Some("video/mp4".into()));
                match assets.and_then(|a| a.image.clone()) {
                    Some(still) => video.with_thumbnail(still),
                    None => video,
                }
            });
            let image = assets.and_then(|a| a.image.clone()).map(|location| {
                let content_type = Some(image_type_of_url(&location).to_string());
                OutputRef::new(location, content_type)
            });
            outputs_or_missing(video.or(image).into_iter().collect(), "Luma reported completion without an asset")
        };
        let failure = || {
            let reason = generation.failure_reason.clone().filter(|r| !r.is_empty());
            wire::job_failure("", reason.unwrap_or_else(|| "Luma reported the generation as failed".into()))
        };
        WORDS.status(&generation.state, succeeded, failure)
    }
}

#[async_trait]
impl Provider for Luma {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let mut body = base_body(job);
        let path = match job.kind {
            MediaKind::Video => {
                if let Some(ParamValue::Int(seconds)) = job.params.get("duration") {
                    body["duration"] = json!(format!("{seconds}s"));
                }
                if let Some(ParamValue::Text(resolution)) = job.params.get("resolution") {
                    body["resolution"] = json!(resolution);
                }
                "generations/video"
            }
            MediaKind::Image => "generations/image",
        };
        if let Some(callback) = &job.callback_url {
            body["callback_url"] = json!(callback.as_str());
        }
        let generation: Generation = self.api.post_json(path, &body).await?;
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

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        // deleting a generation is the documented way to stop it
        self.delete_upstream(handle).await.map(|_| ())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        let url = self.api.url(&format!("generations/{}", handle.id))?;
        match self.api.send(self.api.client().delete(&url)).await {
            Ok(_) | Err(ProviderError::NotFound(_)) => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // the Generation object, unsigned (no signature is documented): it only triggers a poll
        let body: Value = serde_json::from_slice(&callback.body).unwrap_or(Value::Null);
        Ok(body.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_string))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let credits: Value = self.api.get_json("credits").await?;
        Ok(match credits.get("credit_balance").and_then(Value::as_f64) {
            Some(balance) => format!("Luma accepted the key; the account has {balance} credits."),
            None => "Luma accepted the key.".into(),
        })
    }
}

#[cfg(test)]
mod tests;
