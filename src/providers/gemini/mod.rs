//! Google Gemini API (`generativelanguage.googleapis.com/v1beta`, key in `x-goog-api-key`):
//! Veo video through `models/{model}:predictLongRunning` (a long-running operation polled by
//! its name, frames and reference images as inline base64, the video downloaded from the
//! Files API with the key, which is sent to the API host only), and Gemini native image
//! models through `models/{model}:generateContent` with `responseModalities: ["IMAGE"]`
//! (synchronous; images come back as inline base64 and are held in memory), and Gemini Omni
//! video through the Interactions API (`interactions`). See PROVIDERS.md §2 and
//! PROVIDERS-2026.md §7.2.

mod errors;
mod images;
mod interactions;
mod veo;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::OutboundError;
use super::inline::InlineOutputs;
use super::kit::{self, Api, Auth, BaseUrl};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, wire};
use crate::config::ConnectionConfig;
use crate::domain::catalog::MediaKind;
use crate::domain::generation::{OutputRef, UpstreamHandle};
use errors::ERRORS;

/// The base URL convention: the API version (`v1beta`) belongs in the base.
pub const BASE: BaseUrl = BaseUrl::in_base("https://generativelanguage.googleapis.com/v1beta");

/// `UpstreamHandle::data` key telling a video operation from a synchronous image answer.
const MODE: &str = "mode";

/// The adapter for one connection.
pub struct Gemini {
    /// Keyed with `x-goog-api-key`, for the API host only.
    api: Api,
    inline: InlineOutputs,
}

/// `google.rpc.Status`.
#[derive(Debug, Default, Deserialize)]
struct RpcStatus {
    code: Option<i64>,
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ModelList {
    #[serde(default)]
    models: Vec<ModelEntry>,
}

#[derive(Debug, Deserialize)]
struct ModelEntry {
    #[serde(default)]
    name: String,
}

impl Gemini {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        Ok(Self { api: Api::new(config, BASE, Auth::Header("x-goog-api-key"), &ERRORS)?, inline: InlineOutputs::default() })
    }

    /// Whether `url` is on the API host (same scheme, host and port as the base URL): the
    /// only place the key may go.
    fn is_api_host(&self, url: &url::Url) -> bool {
        let base = self.api.base();
        url.scheme() == base.scheme() && url.host_str() == base.host_str() && url.port_or_known_default() == base.port_or_known_default()
    }

    /// Downloads an output URL: with the key on the API host (on any hop of its redirects),
    /// without it anywhere else (a signed storage URL).
    async fn download(&self, location: &str, cap: u64) -> Result<ByteStream, ProviderError> {
        let mut url = match url::Url::parse(location) {
            Ok(url) => url,
            Err(_) => self.api.url(location)?,
        };
        if self.is_api_host(&url) && url.path().ends_with(":download") && url.query_pairs().all(|(k, _)| k != "alt") {
            url.query_pairs_mut().append_pair("alt", "media");
        }
        let response = wire::send(self.api.client().get(&url).map(|r| self.api.authorize(r))).await?;
        let api_host = self.is_api_host(response.url());
        download_answer(response, cap, api_host).await
    }
}

/// What kind of upstream job a handle names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A Veo long-running operation (also handles made before the mode was recorded).
    Operation,
    /// A synchronous generateContent image answer: nothing to poll.
    Image,
    /// A Gemini Omni interaction.
    Interaction,
}

impl Mode {
    fn of(handle: &UpstreamHandle) -> Mode {
        match handle.data.get(MODE).map(String::as_str) {
            Some("image") => Mode::Image,
            Some(interactions::INTERACTION) => Mode::Interaction,
            _ => Mode::Operation,
        }
    }
}

/// The body of a download answer, refused early when its declared size exceeds `cap`.
/// Off the API host, 401/403/404/410 mean an expired signed URL.
async fn download_answer(response: reqwest::Response, cap: u64, api_host: bool) -> Result<ByteStream, ProviderError> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        return kit::stream_body(response, cap);
    }
    if !api_host && matches!(status, 401 | 403 | 404 | 410) {
        return Err(ProviderError::NotFound(format!("the output URL answered HTTP {status} (expired or removed)")));
    }
    Err(match ERRORS.error_from(response).await {
        // the Files API answers 403 for files that expired or never existed
        ProviderError::Auth(message) if status == 403 && message.to_ascii_lowercase().contains("not exist") => {
            ProviderError::NotFound(message)
        }
        other => other,
    })
}

/// The `files/{id}` resource a Files API download URI names, if it is one.
fn file_resource(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let mut segments = url.path_segments()?;
    segments.by_ref().find(|s| *s == "files")?;
    let id = segments.next()?.split(':').next()?.to_string();
    (!id.is_empty()).then(|| format!("files/{id}"))
}

#[async_trait]
impl Provider for Gemini {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        match job.kind {
            MediaKind::Video if interactions::is_omni(job) => self.submit_interaction(job).await,
            MediaKind::Video => self.submit_video(job).await,
            MediaKind::Image => self.submit_image(job).await,
        }
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        match Mode::of(handle) {
            // images finish at submit; after a restart their bytes are gone
            Mode::Image => {
                Err(ProviderError::NotFound("the image was held in memory and the server restarted before it was stored".into()))
            }
            Mode::Interaction => self.poll_interaction(&handle.id).await,
            Mode::Operation => self.poll_video(&handle.id).await,
        }
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        if InlineOutputs::is_inline(output) {
            return self.inline.take(output, cap);
        }
        self.download(&output.location, cap).await
    }

    async fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        self.inline.forget(&handle.id);
        match Mode::of(handle) {
            Mode::Image => return Ok(()),
            Mode::Interaction => return self.cancel_interaction(&handle.id).await,
            Mode::Operation => {}
        }
        // google.longrunning `:cancel`; whether Veo honours it on the Gemini API is UNCONFIRMED
        let url = self.api.url(&format!("{}:cancel", handle.id))?;
        self.api.send(self.api.client().post(&url).map(|r| r.json(&json!({})))).await.map(|_| ())
    }

    async fn delete_upstream(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        self.inline.forget(&handle.id);
        match Mode::of(handle) {
            Mode::Image => return Ok(false),
            Mode::Interaction => self.delete_interaction(&handle.id).await?,
            Mode::Operation => self.delete_video_files(&handle.id).await?,
        }
        Ok(true)
    }

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        // the signature format of Gemini webhooks is UNCONFIRMED: the body only names the
        // operation to poll at once; the poll remains the source of truth
        let body: Value = serde_json::from_slice(&callback.body).map_err(|e| ProviderError::InvalidInput(format!("callback body: {e}")))?;
        Ok(veo::operation_name(&body))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let list: ModelList = self.api.get_json("models?pageSize=1000").await?;
        let veo = list.models.iter().filter(|m| m.name.contains("veo")).count();
        Ok(format!("The Gemini API accepted the key: {} models listed, {veo} of them Veo.", list.models.len()))
    }
}

#[cfg(test)]
mod tests;
