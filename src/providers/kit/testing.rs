//! The provider unit-test kit: one builder for connections to a loopback fake upstream, one
//! for jobs, the small readers every adapter test needs, and the scenarios adapters share.

use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};
use futures_util::TryStreamExt;

use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::{MediaKind, Operation, ParamValue, Params, ReferenceRole};
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::domain::ids::GenerationId;
use crate::providers::{ByteStream, Provider, ProviderError, ProviderJob, ReferenceFile};

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
        source: None,
        operation: None,
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

    pub fn references(mut self, references: Vec<ReferenceFile>) -> Self {
        self.0.references = references;
        self
    }

    /// What the model does with its `source_video` input.
    pub fn operation(mut self, operation: Operation) -> Self {
        self.0.operation = Some(operation);
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
pub fn reference(role: ReferenceRole, bytes: &'static [u8]) -> ReferenceFile {
    ReferenceFile { role, content_type: "image/png".into(), bytes: Bytes::from_static(bytes), tag: None }
}

/// A first frame (PNG, `first`) and a last frame (JPEG, `last`): the references of a video
/// that runs from one image to another.
pub fn first_and_last_frames() -> Vec<ReferenceFile> {
    vec![
        ReferenceFile { role: ReferenceRole::FirstFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"first"), tag: None },
        ReferenceFile { role: ReferenceRole::LastFrame, content_type: "image/jpeg".into(), bytes: Bytes::from_static(b"last"), tag: None },
    ]
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

/// Checks that the key test of `provider` (built with a key the fake refuses) fails as
/// `provider.auth`.
pub async fn assert_key_refused(provider: &dyn Provider) {
    assert_eq!(provider.test_connection().await.map_err(|e| e.code()), Err("provider.auth"));
}

/// Checks that `job`, submitted to a fake answering each reply of `cases`, fails with the
/// error code beside it; `adapter` builds the adapter for a fake.
pub async fn assert_submit_errors<P: Provider>(adapter: impl Fn(&FakeUpstream) -> P, job: &ProviderJob, cases: Vec<(Reply, &str)>) {
    for (reply, code) in cases {
        let fake = FakeUpstream::start(move |_| reply.clone()).await;
        let err = adapter(&fake).submit(job).await.expect_err("an error");
        assert_eq!(err.code(), code, "{err}");
        fake.stop().await;
    }
}

/// Checks that `job`, submitted to an upstream that never answers, fails as `Timeout`;
/// `adapter` builds the adapter with a short timeout for a fake.
pub async fn assert_submit_times_out<P: Provider>(adapter: impl FnOnce(&FakeUpstream) -> P, job: &ProviderJob) {
    let fake = FakeUpstream::start(|_| Reply::hang()).await;
    assert_eq!(adapter(&fake).submit(job).await.unwrap_err(), ProviderError::Timeout);
    fake.stop().await;
}

/// Checks that outputs on another host (a CDN) are fetched without the key: one streams
/// whole, one over the cap is `TooLarge`, one the CDN does not have is `NotFound`, and the
/// adapter's own API (the fake `api`) is never asked. `handle` is the job the outputs belong to.
pub async fn assert_cdn_outputs_fetched_keyless(provider: &dyn Provider, handle: &UpstreamHandle, api: &FakeUpstream) {
    let cdn = FakeUpstream::start(|r| match r.path.as_str() {
        "/files/out.mp4" => Reply::bytes(200, "video/mp4", Bytes::from_static(b"\x00\x00\x00\x18ftypmp42")),
        "/files/big.mp4" => Reply::bytes(200, "video/mp4", vec![0u8; 4096]),
        _ => Reply::status(404),
    })
    .await;
    let at = |path: &str| OutputRef::new(cdn.at(path).to_string(), None);
    let stream = provider.fetch(handle, &at("files/out.mp4"), 1 << 20).await.unwrap();
    assert_eq!(drain(stream).await.unwrap(), &b"\x00\x00\x00\x18ftypmp42"[..]);
    assert_eq!(provider.fetch(handle, &at("files/big.mp4"), 1024).await.err(), Some(ProviderError::TooLarge { cap: 1024 }));
    assert_eq!(provider.fetch(handle, &at("files/expired.mp4"), 1024).await.err().map(|e| e.code()), Some("provider.not_found"));
    assert!(cdn.requests().iter().all(|r| r.header("authorization").is_none()), "the key never goes to the CDN");
    assert!(api.requests().is_empty());
    cdn.stop().await;
}

/// Checks what every adapter that downloads outputs from signed URLs must do: an output URL
/// that answers 403 (expired) is `NotFound`, and one larger than the cap is `TooLarge`.
/// The adapter must allow private addresses (the CDN fake is on loopback).
pub async fn assert_expired_and_oversized_refused(provider: &dyn Provider) {
    let cdn = FakeUpstream::start(|r| match r.path.as_str() {
        "/expired.mp4" => Reply::text(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"),
        _ => Reply::bytes(200, "video/mp4", vec![0u8; 4096]),
    })
    .await;
    let at = |path: &str| OutputRef::new(cdn.at(path).to_string(), None);
    let expired = provider.fetch(&handle("g"), &at("expired.mp4"), 1 << 20).await.err();
    assert_eq!(expired.map(|e| e.code()), Some("provider.not_found"));
    assert_eq!(provider.fetch(&handle("g"), &at("big.mp4"), 1024).await.err(), Some(ProviderError::TooLarge { cap: 1024 }));
    cdn.stop().await;
}

/// One call an adapter makes, to see where it goes.
pub enum Probe<'a> {
    /// [`Provider::test_connection`].
    KeyTest,
    /// [`Provider::submit`] of this job.
    Submit(&'a ProviderJob),
    /// [`Provider::poll`] of this handle.
    Poll(UpstreamHandle),
}

impl Probe<'_> {
    async fn run(&self, provider: &dyn Provider) {
        // the fake refuses everything: only the address asked matters
        let _ = match self {
            Probe::KeyTest => provider.test_connection().await.map(drop),
            Probe::Submit(job) => provider.submit(job).await.map(drop),
            Probe::Poll(handle) => provider.poll(handle).await.map(drop),
        };
    }
}

/// Checks that `probe` reaches `path` (absolute, version included, no query) for every form
/// of base URL an admin may paste: the fake's bare host, host and `version`, host, `version`
/// and a trailing slash, and a gateway prefix with and without `version` (then `path` sits
/// under the prefix). An empty `version` (no version segment) checks the other forms only.
/// `adapter` builds the adapter for a connection to a fake with the given base URL.
pub async fn assert_base_url_forms<P: Provider>(
    adapter: impl Fn(&FakeUpstream, url::Url) -> P,
    probe: Probe<'_>,
    version: &str,
    path: &str,
) {
    let mut forms = vec![(String::new(), String::new()), ("gateway/x/".into(), "/gateway/x".into())];
    if version.is_empty() {
        forms.push(("gateway/x".into(), "/gateway/x".into()));
    } else {
        for (given, prefix) in [("", ""), ("gateway/x/", "/gateway/x")] {
            forms.push((format!("{given}{version}"), prefix.into()));
            forms.push((format!("{given}{version}/"), prefix.into()));
        }
    }
    for (given, prefix) in forms {
        assert_base_url_reaches(&adapter, &probe, &given, &format!("{prefix}{path}")).await;
    }
}

/// Checks that `probe`, with the base URL `given` under the fake's host, asks the fake for
/// `path`.
pub async fn assert_base_url_reaches<P: Provider>(
    adapter: impl Fn(&FakeUpstream, url::Url) -> P,
    probe: &Probe<'_>,
    given: &str,
    path: &str,
) {
    let fake = FakeUpstream::start(|_| Reply::status(418)).await;
    probe.run(&adapter(&fake, fake.at(given))).await;
    let asked: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert!(asked.iter().any(|p| p == path), "base URL {given:?}: asked {asked:?}, expected {path:?}");
    fake.stop().await;
}
