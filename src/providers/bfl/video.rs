//! FLUX 3 Video: `POST /v1/flux-3-video` with a `mode` chosen from the job (`t2v`, `i2v` with
//! keyframes, `v2v` continuing a video, `draft_enhance` re-rendering a draft). The schema is
//! strict (an unknown or out-of-mode field is a 422), so each mode sends only its own fields.
//! See PROVIDERS-2026.md §4.

use super::images::base64_of;
use super::{Bfl, GetResult};
use crate::domain::catalog::{Operation, ReferenceRole};
use crate::providers::kit::{int_param, text_param};
use crate::providers::{ProviderError, ProviderJob, ReferenceFile, wire};

/// The most keyframes a request carries (1 = opening frame, 2 = open and close, 3–10 = waypoints).
const MOST_KEYFRAMES: usize = 10;

/// The largest video `v2v` continues (50 MB).
const MOST_START_VIDEO_BYTES: usize = 50_000_000;

/// What BFL keeps a draft (and its result URLs) for, in words for people.
pub(super) const KEPT_FOR: &str = "about 2 hours";

/// How BFL is asked to make the video.
#[derive(Debug, PartialEq)]
enum Mode {
    /// Text to video.
    Text,
    /// Images (raw base64) as keyframes, in order.
    Keyframes(Vec<String>),
    /// Continue this video (raw base64 MP4).
    Continue(String),
}

/// The keyframes of a job: its first frame, its reference images in upload order (waypoints),
/// then its last frame.
fn keyframes(references: &[ReferenceFile]) -> Result<Vec<String>, ProviderError> {
    let of = |role: ReferenceRole| references.iter().filter(move |r| r.role == role);
    let mut frames: Vec<String> = of(ReferenceRole::FirstFrame).chain(of(ReferenceRole::Reference)).map(base64_of).collect();
    let last: Vec<String> = of(ReferenceRole::LastFrame).map(base64_of).collect();
    if !last.is_empty() && frames.is_empty() {
        return Err(ProviderError::InvalidInput("FLUX 3 Video needs a first frame (or reference images) before a last frame".into()));
    }
    frames.extend(last);
    if frames.len() > MOST_KEYFRAMES {
        return Err(ProviderError::InvalidInput(format!(
            "FLUX 3 Video takes at most {MOST_KEYFRAMES} keyframes (first frame, reference images and last frame together); this job has {}",
            frames.len()
        )));
    }
    Ok(frames)
}

/// The mode of a job that makes a new video (every operation but enhance).
fn mode(job: &ProviderJob) -> Result<Mode, ProviderError> {
    if let Some(video) = job.references.iter().find(|r| r.role == ReferenceRole::SourceVideo) {
        if video.bytes.len() > MOST_START_VIDEO_BYTES {
            return Err(ProviderError::InvalidInput("FLUX 3 Video continues videos of at most 50 MB".into()));
        }
        return Ok(Mode::Continue(base64_of(video)));
    }
    if job.operation == Some(Operation::Extend) {
        return Err(ProviderError::InvalidInput("continuing a video needs the video to continue".into()));
    }
    let frames = keyframes(&job.references)?;
    Ok(if frames.is_empty() { Mode::Text } else { Mode::Keyframes(frames) })
}

/// The body of a job that makes a new video (`t2v`, `i2v`, `v2v`). No `webhook_url`: BFL does
/// not document one for FLUX 3 Video (UNCONFIRMED), and the strict schema refuses unknown fields.
fn generate_body(job: &ProviderJob) -> Result<serde_json::Value, ProviderError> {
    let mut body = match mode(job)? {
        Mode::Text => serde_json::json!({ "mode": "t2v", "prompt": job.prompt }),
        Mode::Keyframes(frames) => serde_json::json!({ "mode": "i2v", "prompt": job.prompt, "keyframes": frames }),
        Mode::Continue(video) => serde_json::json!({ "mode": "v2v", "prompt": job.prompt, "start_video": video }),
    };
    let draft = text_param(&job.params, "draft") == Some("on");
    if let Some(ratio) = text_param(&job.params, "aspect_ratio") {
        body["aspect_ratio"] = ratio.into();
    }
    // drafts always render at HD, so a draft names no resolution
    if let Some(resolution) = text_param(&job.params, "resolution").filter(|_| !draft) {
        body["resolution"] = resolution.into();
    }
    if let Some(seconds) = int_param(&job.params, "duration") {
        body["duration"] = seconds.into();
    }
    if let Some(audio) = text_param(&job.params, "audio") {
        body["generate_audio"] = (audio == "on").into();
    }
    if draft {
        body["draft"] = true.into();
    }
    Ok(body)
}

/// Why a draft cannot be enhanced any more.
fn expired() -> ProviderError {
    ProviderError::NotFound(format!("the draft has expired (BFL keeps drafts {KEPT_FOR}); make a new draft and enhance it sooner"))
}

impl Bfl {
    /// The body of a FLUX 3 Video job.
    pub(super) async fn video_body(&self, job: &ProviderJob) -> Result<serde_json::Value, ProviderError> {
        match job.operation {
            Some(Operation::Enhance) => Ok(serde_json::json!({ "mode": "draft_enhance", "draft_cache": self.draft_cache(job).await? })),
            _ => generate_body(job),
        }
    }

    /// The `draft_cache` of the draft a job enhances, read by polling the draft's own task.
    async fn draft_cache(&self, job: &ProviderJob) -> Result<String, ProviderError> {
        let source = job.source.as_ref().ok_or_else(|| {
            ProviderError::InvalidInput("enhancing a FLUX 3 Video draft needs a draft made through this connection".into())
        })?;
        let url = self.polling_url(&source.handle)?;
        let answer: GetResult = match self.api.send(self.api.client().get(&url)).await {
            Ok(response) => wire::read_json(response).await?,
            Err(ProviderError::NotFound(_)) => return Err(expired()),
            Err(other) => return Err(other),
        };
        match answer.word() {
            Some("Ready") => answer
                .result
                .as_ref()
                .and_then(|r| r.get("draft_cache"))
                .and_then(|c| c.as_str())
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    ProviderError::InvalidInput("the source video was not made as a draft (Draft: on); only drafts can be enhanced".into())
                }),
            Some("Task not found") => Err(expired()),
            other => {
                Err(ProviderError::InvalidInput(format!("the draft is not ready to enhance (BFL says {:?})", other.unwrap_or("nothing"))))
            }
        }
    }
}
