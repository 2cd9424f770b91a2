//! The provider unit-test kit: one builder for connections to a loopback fake upstream, one
//! for jobs, and the small readers every adapter test needs.

use std::time::Duration;

use bytes::Bytes;
use fake_upstream::FakeUpstream;
use futures_util::TryStreamExt;

use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{MediaKind, ParamValue, Params, ReferenceRole};
use crate::domain::generation::UpstreamHandle;
use crate::domain::ids::GenerationId;
use crate::providers::{ByteStream, ProviderError, ProviderJob, ReferenceImage};

/// A connection of `kind` to `fake` with API key `key`: private network allowed (the fake is
/// on loopback), a 2-second timeout. Change fields with struct update syntax.
pub fn connection(fake: &FakeUpstream, kind: &str, key: &str) -> ConnectionConfig {
    ConnectionConfig {
        base_url: Some(fake.url.clone()),
        api_key: Some(Secret::new(key)),
        allow_private_network: true,
        timeout: Duration::from_secs(2),
        ..ConnectionConfig::new(kind, kind)
    }
}

/// A job of `kind` for `model` (also its upstream name), one output, no parameters; see
/// [`JobBuilder`] for the rest.
pub fn job(kind: MediaKind, model: &str) -> JobBuilder {
    JobBuilder(ProviderJob {
        generation: GenerationId::generate(),
        model: model.into(),
        upstream_model: model.into(),
        kind,
        prompt: "a glass whale over a city".into(),
        negative_prompt: None,
        params: Params::new(),
        references: Vec::new(),
        output_count: 1,
        callback_url: None,
    })
}

/// Builds a [`ProviderJob`] for a test.
#[derive(Debug, Clone)]
pub struct JobBuilder(ProviderJob);

impl JobBuilder {
    pub fn prompt(mut self, prompt: &str) -> Self {
        self.0.prompt = prompt.into();
        self
    }

    pub fn negative(mut self, negative: &str) -> Self {
        self.0.negative_prompt = Some(negative.into());
        self
    }

    /// The model's name upstream, when it differs from the catalog id.
    pub fn upstream(mut self, upstream: &str) -> Self {
        self.0.upstream_model = upstream.into();
        self
    }

    pub fn params(mut self, params: &[(&str, ParamValue)]) -> Self {
        self.0.params.extend(params.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self
    }

    pub fn references(mut self, references: Vec<ReferenceImage>) -> Self {
        self.0.references = references;
        self
    }

    pub fn outputs(mut self, count: usize) -> Self {
        self.0.output_count = count;
        self
    }

    pub fn build(self) -> ProviderJob {
        self.0
    }
}

/// A PNG reference image of `role` holding `bytes`.
pub fn reference(role: ReferenceRole, bytes: &'static [u8]) -> ReferenceImage {
    ReferenceImage { role, content_type: "image/png".into(), bytes: Bytes::from_static(bytes) }
}

/// A handle with `id` and no data.
pub fn handle(id: &str) -> UpstreamHandle {
    UpstreamHandle { id: id.into(), data: Default::default() }
}

/// Reads a whole output stream.
pub async fn drain(stream: ByteStream) -> Result<Bytes, ProviderError> {
    let chunks: Vec<Bytes> = stream.try_collect().await?;
    Ok(chunks.concat().into())
}
