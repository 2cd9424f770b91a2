//! Upstream providers: the `Provider` trait every adapter implements, the normalised error
//! classes, and the registry that maps catalog models to configured connections.
//! Adapters translate; they do not store, charge or retry (the engine does).
//!
//! Each adapter file keeps only its provider's wire format; sending with the key, error
//! mapping by table, keyless downloads, status words and the test builders live in [`kit`]
//! (see its "Writing an adapter"). `http` is the SSRF-guarded client underneath, `wire` the
//! shared JSON reading and error classes, `inline` the outputs held in memory.

pub mod bfl;
pub mod byteplus;
pub mod comfyui;
pub mod dashscope;
pub mod demo;
pub mod demo_media;
pub mod fal;
pub mod gemini;
pub mod http;
pub mod ideogram;
pub mod inline;
pub mod kit;
pub mod kling;
pub mod luma;
pub mod luma_agents;
pub mod minimax;
pub mod openai_images;
pub mod openai_videos;
pub mod openrouter;
pub mod recraft;
pub mod registry;
pub mod replicate;
pub mod runway;
pub mod stability;
pub mod usage;
pub mod wire;
pub mod xai;

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

use crate::domain::catalog::{MediaKind, ModelEntry, Operation, Params, ReferenceRole};
use crate::domain::generation::{OutputRef, ProviderUsage, UpstreamHandle};
use crate::domain::ids::GenerationId;

/// An output's bytes as they arrive from upstream.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, ProviderError>> + Send>>;

/// A reference file (image, video or audio) as sent upstream, already stripped of metadata.
#[derive(Debug, Clone)]
pub struct ReferenceFile {
    pub role: ReferenceRole,
    pub content_type: String,
    pub bytes: Bytes,
    /// The name a prompt may call it by (`@Maya`: a cast member's), when it has one.
    pub tag: Option<String>,
}

/// Everything an adapter needs to start one job, and nothing more.
#[derive(Debug, Clone)]
pub struct ProviderJob {
    /// Our id, usable upstream as an idempotency key.
    pub generation: GenerationId,
    /// The catalog id.
    pub model: String,
    /// The model's name in the provider's API.
    pub upstream_model: String,
    pub kind: MediaKind,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub params: Params,
    pub references: Vec<ReferenceFile>,
    pub output_count: usize,
    /// Where the provider may call back when the job changes (`/hooks/{connection}/{secret}`),
    /// when this instance has a public URL; adapters whose API takes a webhook send it.
    pub callback_url: Option<url::Url>,
    /// The upstream job that made the earlier output this job extends, edits or enhances (its
    /// bytes are the `source_video` reference), when that job ran through this same connection:
    /// APIs that continue a job by its id (`previous_job_id`, a draft's cache) use it.
    pub source: Option<SourceJob>,
    /// What the model does with its `source_video` input (extend, edit, enhance), for APIs
    /// whose request differs by operation rather than by model name.
    pub operation: Option<Operation>,
}

/// The upstream job behind a generation's source output.
#[derive(Debug, Clone)]
pub struct SourceJob {
    /// The model's name in the provider's API when the source was made.
    pub upstream_model: String,
    pub handle: UpstreamHandle,
}

/// A provider's call to `/hooks/{connection}/{secret}`, as received.
#[derive(Debug, Clone)]
pub struct Callback {
    /// Header names in lower case.
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Bytes,
}

impl Callback {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What upstream says about a job.
#[derive(Debug, Clone)]
pub enum UpstreamStatus {
    /// Queued or running upstream; `poll_after` is the provider's hint.
    Pending { progress: Option<u8>, poll_after: Option<Duration> },
    /// Done: where to fetch the outputs, and what the provider reported the job cost or used
    /// (`None` where its API does not say; see [`usage`]).
    Succeeded { outputs: Vec<OutputRef>, usage: Option<ProviderUsage> },
    /// Upstream gave up.
    Failed(ProviderError),
}

impl UpstreamStatus {
    /// The same status with `usage` attached when it is a success (other statuses unchanged).
    pub fn with_usage(self, reported: Option<ProviderUsage>) -> Self {
        match self {
            UpstreamStatus::Succeeded { outputs, usage } => UpstreamStatus::Succeeded { outputs, usage: reported.or(usage) },
            other => other,
        }
    }
}

/// The answer to a submit.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub handle: UpstreamHandle,
    pub status: UpstreamStatus,
}

/// Upstream errors, normalised to the classes the engine acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider refused the API key: {0}")]
    Auth(String),
    #[error("the provider refused the request: {0}")]
    InvalidInput(String),
    #[error("the provider account is out of credit: {0}")]
    InsufficientUpstreamCredit(String),
    #[error("the provider's content policy blocked this: {0}")]
    ContentPolicy(String),
    #[error("the provider is rate limiting: {message}")]
    RateLimited { retry_after: Option<Duration>, message: String },
    #[error("the provider had a temporary problem: {0}")]
    Transient(String),
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider does not know this job or file: {0}")]
    NotFound(String),
    #[error("the output is larger than the {cap}-byte limit")]
    TooLarge { cap: u64 },
}

impl ProviderError {
    /// The stable reason code stored on a failed generation.
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Auth(_) => "provider.auth",
            ProviderError::InvalidInput(_) => "provider.invalid_input",
            ProviderError::InsufficientUpstreamCredit(_) => "provider.insufficient_credit",
            ProviderError::ContentPolicy(_) => "provider.content_policy",
            ProviderError::RateLimited { .. } => "provider.rate_limited",
            ProviderError::Transient(_) => "provider.transient",
            ProviderError::Timeout => "provider.timeout",
            ProviderError::NotFound(_) => "provider.not_found",
            ProviderError::TooLarge { .. } => "custody_failed",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProviderError::RateLimited { .. } | ProviderError::Transient(_) | ProviderError::Timeout)
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// One upstream API.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Whether submitting the same job again after a crash is safe (the provider dedupes by
    /// our id, or the job is deterministic and free).
    fn idempotent_submit(&self) -> bool {
        false
    }
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError>;
    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError>;
    /// Streams one output; adapters should refuse early when they know it exceeds `cap`.
    /// An output's `thumbnail` is fetched through here too, as an `OutputRef` of that location
    /// (`OutputRef::thumbnail_ref`).
    async fn fetch(&self, handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError>;
    /// Best effort. The default, for APIs without a cancel endpoint, does nothing.
    async fn cancel(&self, _handle: &UpstreamHandle) -> Result<(), ProviderError> {
        Ok(())
    }
    /// Best effort, after custody. `true` when the provider's copy was deleted through its
    /// API; `false` when the API offers no deletion (or keeps no copy) and nothing was sent,
    /// which is the default.
    async fn delete_upstream(&self, _handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        Ok(false)
    }
    /// Reads a callback: checks its signature where the provider signs them (`Err(Auth)` when
    /// it does not verify) and returns the upstream job id it concerns (`UpstreamHandle::id`).
    /// The engine then polls that job at once; polling stays the source of truth, so the
    /// body is never trusted for results. The default ignores callbacks.
    fn callback(&self, _callback: &Callback) -> Result<Option<String>, ProviderError> {
        Ok(None)
    }
    /// The body the provider expects in answer to a callback (MiniMax's challenge echo);
    /// `None` answers with a plain acknowledgement.
    fn callback_answer(&self, _callback: &Callback) -> Option<serde_json::Value> {
        None
    }
    /// A cheap authenticated call that tells whether the key works ("Test connection").
    /// The default says the API has none.
    async fn test_connection(&self) -> Result<String, ProviderError> {
        Ok("this provider has no endpoint to test a key without starting a job".into())
    }
    /// The models this API says it serves, as whole catalog entries for the discovered layer
    /// (each already valid on its own; odd models left out). `None`, the default, when the
    /// API has no capability discovery.
    async fn discover(&self) -> Option<Result<Vec<ModelEntry>, ProviderError>> {
        None
    }
}
