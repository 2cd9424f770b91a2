//! The `[limits]` section of the configuration: what one request, one person or one
//! client may hold (uploads, sign-in failures, archives, slow clients, live streams).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, duration, human_duration, human_size, size};

#[derive(Debug, Clone, Serialize)]
pub struct LimitsConfig {
    /// The largest reference image (and profile picture).
    #[serde(serialize_with = "human_size")]
    pub upload_max: u64,
    /// The largest reference audio file (WAV, MP3, M4A).
    #[serde(serialize_with = "human_size")]
    pub audio_upload_max: u64,
    /// The longest reference audio file.
    #[serde(serialize_with = "human_duration")]
    pub audio_duration_max: Duration,
    /// The largest reference video (MP4, MOV, WebM).
    #[serde(serialize_with = "human_size")]
    pub video_upload_max: u64,
    /// The longest reference video.
    #[serde(serialize_with = "human_duration")]
    pub video_duration_max: Duration,
    /// Failed sign-ins allowed per account per hour.
    pub login_failures_per_account: u32,
    /// Failed sign-ins allowed per client address per hour.
    pub login_failures_per_address: u32,
    /// Archive downloads (library ZIPs) one person may have running at once.
    pub archives_per_person: usize,
    /// Archives (downloads and data exports) being written at once on the whole instance.
    pub archives: usize,
    /// A download whose reader takes nothing for this long is ended and frees what it held.
    #[serde(serialize_with = "human_duration")]
    pub stalled_reader: Duration,
    /// How long a request body may take, plus one second per KiB received; a slower body
    /// is refused with 408 and its connection closed.
    #[serde(serialize_with = "human_duration")]
    pub request_body_timeout: Duration,
    /// Live event streams (a generation page's status updates) one person may hold open.
    pub event_streams_per_person: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    upload_max: Option<String>,
    audio_upload_max: Option<String>,
    audio_duration_max: Option<String>,
    video_upload_max: Option<String>,
    video_duration_max: Option<String>,
    login_failures_per_account: Option<u32>,
    login_failures_per_address: Option<u32>,
    archives_per_person: Option<usize>,
    archives: Option<usize>,
    stalled_reader: Option<String>,
    request_body_timeout: Option<String>,
    event_streams_per_person: Option<u32>,
}

impl RawLimits {
    /// The section with its defaults, every value checked.
    pub(super) fn validate(self) -> Result<LimitsConfig, ConfigError> {
        let upload_max = size("limits.upload_max", &self.upload_max.unwrap_or_else(|| "20MiB".into()))?;
        let limits = LimitsConfig {
            upload_max,
            audio_upload_max: size("limits.audio_upload_max", &self.audio_upload_max.unwrap_or_else(|| "20MiB".into()))?,
            audio_duration_max: duration("limits.audio_duration_max", self.audio_duration_max, "60s")?,
            video_upload_max: size("limits.video_upload_max", &self.video_upload_max.unwrap_or_else(|| "100MiB".into()))?,
            video_duration_max: duration("limits.video_duration_max", self.video_duration_max, "30s")?,
            login_failures_per_account: self.login_failures_per_account.unwrap_or(100),
            login_failures_per_address: self.login_failures_per_address.unwrap_or(300),
            archives_per_person: self.archives_per_person.unwrap_or(2),
            archives: self.archives.unwrap_or(16),
            stalled_reader: duration("limits.stalled_reader", self.stalled_reader, "60s")?,
            request_body_timeout: duration("limits.request_body_timeout", self.request_body_timeout, "30s")?,
            event_streams_per_person: self.event_streams_per_person.unwrap_or(16),
        };
        if limits.archives_per_person == 0 || limits.archives == 0 || limits.stalled_reader.is_zero() {
            return Err(ConfigError("limits.archives_per_person, limits.archives and limits.stalled_reader must be above 0".into()));
        }
        if limits.request_body_timeout.is_zero() || limits.event_streams_per_person == 0 {
            return Err(ConfigError("limits.request_body_timeout and limits.event_streams_per_person must be more than 0".into()));
        }
        if limits.audio_duration_max.is_zero() || limits.video_duration_max.is_zero() {
            return Err(ConfigError("limits.audio_duration_max and limits.video_duration_max must be more than 0".into()));
        }
        Ok(limits)
    }
}

impl LimitsConfig {
    /// The largest file any upload form takes (an image, audio or video reference).
    pub fn largest_upload(&self) -> u64 {
        self.upload_max.max(self.audio_upload_max).max(self.video_upload_max)
    }
}
