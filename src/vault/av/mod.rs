//! Validation and cleaning of uploaded audio and video references, without re-encoding: the
//! type from the bytes, size and duration limits, and metadata removed (see [`wav`], [`mp3`],
//! [`iso`], [`webm`]). Pure and CPU-light; the whole file is in memory (an upload is already).

pub mod iso;
pub mod mp3;
pub mod scan;
pub mod wav;
pub mod webm;

use std::time::Duration;

use crate::domain::media_type;

/// How large and how long audio and video references may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvLimits {
    pub audio_bytes: u64,
    pub audio_duration: Duration,
    pub video_bytes: u64,
    pub video_duration: Duration,
}

/// An audio or video file after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanMedia {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    /// How long it plays; `None` only for a WebM that does not say (its size limit applies).
    pub duration: Option<Duration>,
    pub has_sound: bool,
}

/// Why an audio or video upload was refused (each a sentence a person can act on).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AvError {
    #[error("the {what} file is larger than the limit of {max} bytes")]
    TooLarge { what: &'static str, max: u64 },
    #[error("the {what} file plays for {seconds:.1} s; at most {max} s are allowed")]
    TooLong { what: &'static str, seconds: f64, max: u64 },
    #[error("the {what} file could not be read: {reason}")]
    Unreadable { what: &'static str, reason: String },
    #[error("unsupported file type: audio must be WAV, MP3 or M4A, and video MP4, MOV or WebM")]
    Unsupported,
}

/// Whether a sniffed type is one [`clean`] takes (audio, or a video container).
pub fn handles(content_type: &str) -> bool {
    content_type.starts_with("audio/") || content_type.starts_with("video/")
}

/// Checks and cleans an audio (WAV, MP3, M4A) or video (MP4, MOV, WebM) file within `limits`.
pub fn clean(mut bytes: Vec<u8>, limits: &AvLimits) -> Result<CleanMedia, AvError> {
    let sniffed = media_type::sniff(&bytes[..bytes.len().min(media_type::SNIFF_LEN)]).ok_or(AvError::Unsupported)?;
    let what = if sniffed.starts_with("audio/") { "audio" } else { "video" };
    // before reading anything (an MP4 may turn out to be audio: its own limit is checked after)
    if bytes.len() as u64 > limits.audio_bytes.max(limits.video_bytes) {
        let max = if what == "audio" { limits.audio_bytes } else { limits.video_bytes };
        return Err(AvError::TooLarge { what, max });
    }
    let unreadable = |reason: String| AvError::Unreadable { what, reason };
    let clean = match sniffed {
        "audio/wav" => {
            let wav = wav::clean(&bytes).map_err(unreadable)?;
            CleanMedia { bytes: wav.bytes, content_type: sniffed, duration: Some(wav.duration), has_sound: true }
        }
        "audio/mpeg" => {
            let mp3 = mp3::clean(&bytes).map_err(unreadable)?;
            CleanMedia { bytes: mp3.bytes, content_type: sniffed, duration: Some(mp3.duration), has_sound: true }
        }
        "audio/mp4" | "video/mp4" | "video/quicktime" => {
            let movie = iso::clean(&mut bytes).map_err(unreadable)?;
            let content_type = match (movie.has_video, movie.has_sound) {
                (true, _) if sniffed == "audio/mp4" => "video/mp4",
                (true, _) => sniffed,
                (false, true) => "audio/mp4",
                (false, false) => return Err(unreadable("it has no audio or video track".into())),
            };
            let duration = movie.duration.ok_or_else(|| unreadable("its header does not say how long it plays".into()))?;
            CleanMedia { bytes, content_type, duration: Some(duration), has_sound: movie.has_sound }
        }
        "video/webm" => {
            let found = webm::clean(&mut bytes).map_err(unreadable)?;
            if !found.has_video {
                return Err(unreadable("it has no video track".into()));
            }
            CleanMedia { bytes, content_type: sniffed, duration: found.duration, has_sound: found.has_sound }
        }
        _ => return Err(AvError::Unsupported),
    };
    within(clean, limits)
}

/// The cleaned file, if its kind's size and duration limits allow it.
fn within(clean: CleanMedia, limits: &AvLimits) -> Result<CleanMedia, AvError> {
    let (what, max_bytes, max_duration) = if clean.content_type.starts_with("audio/") {
        ("audio", limits.audio_bytes, limits.audio_duration)
    } else {
        ("video", limits.video_bytes, limits.video_duration)
    };
    if clean.bytes.len() as u64 > max_bytes {
        return Err(AvError::TooLarge { what, max: max_bytes });
    }
    if let Some(duration) = clean.duration.filter(|d| *d > max_duration) {
        return Err(AvError::TooLong { what, seconds: duration.as_secs_f64(), max: max_duration.as_secs() });
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: AvLimits = AvLimits {
        audio_bytes: 1 << 20,
        audio_duration: Duration::from_secs(60),
        video_bytes: 4 << 20,
        video_duration: Duration::from_secs(30),
    };

    #[test]
    fn each_kind_is_cleaned_and_typed_by_its_content() {
        let wav = clean(wav::build::wav(2.0), &LIMITS).unwrap();
        assert_eq!((wav.content_type, wav.duration, wav.has_sound), ("audio/wav", Some(Duration::from_secs(2)), true));
        assert_eq!(clean(mp3::build::mp3(10), &LIMITS).unwrap().content_type, "audio/mpeg");
        let m4a = clean(iso::build::movie(b"M4A ", &[b"soun"], 20), &LIMITS).unwrap();
        assert_eq!((m4a.content_type, m4a.has_sound), ("audio/mp4", true));
        let video = clean(iso::build::movie(b"isom", &[b"vide", b"soun"], 10), &LIMITS).unwrap();
        assert_eq!((video.content_type, video.has_sound), ("video/mp4", true));
        let audio_in_mp4 = clean(iso::build::movie(b"isom", &[b"soun"], 10), &LIMITS).unwrap();
        assert_eq!(audio_in_mp4.content_type, "audio/mp4", "an MP4 with only sound is audio");
    }

    #[test]
    fn limits_and_junk_are_refused_with_a_reason() {
        let long = clean(iso::build::movie(b"M4A ", &[b"soun"], 61), &LIMITS).unwrap_err();
        assert_eq!(long.to_string(), "the audio file plays for 61.0 s; at most 60 s are allowed");
        let long_video = clean(iso::build::movie(b"isom", &[b"vide"], 31), &LIMITS).unwrap_err();
        assert!(matches!(long_video, AvError::TooLong { what: "video", .. }));
        let big = clean(wav::build::wav(200.0), &LIMITS).unwrap_err();
        assert_eq!(big, AvError::TooLarge { what: "audio", max: 1 << 20 });
        assert_eq!(clean(b"just some text".to_vec(), &LIMITS).unwrap_err(), AvError::Unsupported);
        let junk = clean(b"RIFF\x04\0\0\0WAVEjunk".to_vec(), &LIMITS).unwrap_err();
        assert!(junk.to_string().starts_with("the audio file could not be read"), "{junk}");
        let empty = clean(iso::build::movie(b"isom", &[], 3), &LIMITS).unwrap_err();
        assert!(empty.to_string().contains("no audio or video track"));
    }
}
