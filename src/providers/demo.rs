//! The offline demo provider: real PNG images and playable H.264 MP4 videos drawn from the
//! prompt and seed, with no network. It takes `delay` to finish, reporting progress, so the
//! whole lifecycle is visible; with a zero delay it finishes at submit.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::demo_media::{render_mp4, render_mp4_with_sound, render_png};
use super::{ByteStream, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus};
use crate::domain::catalog::{MediaKind, ParamValue, demo_size};
use crate::domain::generation::{OutputRef, UpstreamHandle};
use crate::domain::time::Timestamp;

/// Frames per second of demo videos.
const FPS: u32 = 24;

/// The demo adapter.
pub struct Demo {
    delay: Duration,
}

impl Demo {
    pub fn new(delay: Duration) -> Self {
        Self { delay }
    }

    fn outputs(handle: &UpstreamHandle) -> Vec<OutputRef> {
        let count: usize = handle.data.get("count").and_then(|c| c.parse().ok()).unwrap_or(1);
        let video = handle.data.get("kind").is_some_and(|k| k == "video");
        (0..count).map(|i| OutputRef::new(format!("demo:{i}"), Some(if video { "video/mp4" } else { "image/png" }.to_string()))).collect()
    }

    fn status(&self, handle: &UpstreamHandle) -> UpstreamStatus {
        let started = handle.data.get("started_ms").and_then(|s| s.parse().ok()).map(Timestamp).unwrap_or_else(Timestamp::now);
        let elapsed = Duration::from_millis((Timestamp::now().millis() - started.millis()).max(0) as u64);
        if elapsed >= self.delay {
            return UpstreamStatus::Succeeded { outputs: Self::outputs(handle), usage: None };
        }
        let progress = (elapsed.as_secs_f64() / self.delay.as_secs_f64() * 100.0) as u8;
        let poll_after = (self.delay / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
        UpstreamStatus::Pending { progress: Some(progress.min(99)), poll_after: Some(poll_after) }
    }
}

fn int(job: &ProviderJob, name: &str, default: i64) -> i64 {
    match job.params.get(name) {
        Some(ParamValue::Int(n)) => *n,
        _ => default,
    }
}

/// Whether the job asks for sound (an `audio` parameter of "on"): the video then gets a
/// silent sound track.
fn sound_on(job: &ProviderJob) -> bool {
    matches!(job.params.get("audio"), Some(ParamValue::Text(on)) if on == "on")
}

#[async_trait]
impl Provider for Demo {
    fn idempotent_submit(&self) -> bool {
        true
    }

    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let aspect = match job.params.get("aspect_ratio") {
            Some(ParamValue::Text(a)) => a.clone(),
            _ => "1:1".into(),
        };
        let (width, height) = demo_size(&aspect, job.kind);
        // references and the negative prompt change the picture, as they would upstream
        let mut mix = Sha256::new();
        mix.update(job.negative_prompt.as_deref().unwrap_or("").as_bytes());
        for r in &job.references {
            mix.update(r.role.as_str().as_bytes());
            mix.update(&r.bytes);
        }
        let mix = hex::encode(&mix.finalize()[..8]);
        let data = BTreeMap::from([
            ("started_ms".to_string(), Timestamp::now().millis().to_string()),
            ("kind".to_string(), job.kind.as_str().to_string()),
            ("prompt".to_string(), job.prompt.clone()),
            ("seed".to_string(), int(job, "seed", 0).to_string()),
            ("mix".to_string(), mix),
            ("width".to_string(), width.to_string()),
            ("height".to_string(), height.to_string()),
            ("seconds".to_string(), int(job, "duration", 3).to_string()),
            ("count".to_string(), job.output_count.to_string()),
            ("audio".to_string(), sound_on(job).to_string()),
        ]);
        let handle = UpstreamHandle { id: format!("demo-{}", job.generation), data };
        let status = self.status(&handle);
        Ok(Submitted { handle, status })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        Ok(self.status(handle))
    }

    async fn fetch(&self, handle: &UpstreamHandle, output: &OutputRef, _cap: u64) -> Result<ByteStream, ProviderError> {
        let get = |k: &str| handle.data.get(k).cloned().unwrap_or_default();
        let index: u64 = output
            .location
            .strip_prefix("demo:")
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| ProviderError::NotFound(output.location.clone()))?;
        let seed: u64 = get("seed").parse().unwrap_or(0);
        let prompt = format!("{}{}", get("prompt"), if get("mix").is_empty() { String::new() } else { format!(" #{}", get("mix")) });
        let width: u32 = get("width").parse().unwrap_or(512);
        let height: u32 = get("height").parse().unwrap_or(512);
        let seconds: u32 = get("seconds").parse().unwrap_or(3);
        let video = get("kind") == MediaKind::Video.as_str();
        let sound = get("audio") == "true";
        let bytes = tokio::task::spawn_blocking(move || {
            if video && sound {
                render_mp4_with_sound(&prompt, seed.wrapping_add(index), width, height, seconds, FPS)
            } else if video {
                render_mp4(&prompt, seed.wrapping_add(index), width, height, seconds, FPS)
            } else {
                render_png(&prompt, seed.wrapping_add(index), width, height)
            }
        })
        .await
        .map_err(|_| ProviderError::Transient("the demo renderer stopped".into()))?
        .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
        Ok(Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(bytes)) })))
    }
}
