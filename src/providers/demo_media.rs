//! Offline demo renderer: deterministic PNG images and H.264 MP4 clips drawn from a prompt and seed.

use muxide::api::{AudioCodec, MuxerBuilder, VideoCodec};
use openh264::encoder::{Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, RateControlMode, VuiConfig};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};
use std::ops::RangeInclusive;

mod scene;

use scene::{Canvas, Scene};

/// Accepted range for a width or height, in pixels.
const SIDE_RANGE: RangeInclusive<u32> = 16..=1920;
/// Accepted range for a clip's length, in seconds.
const SECONDS_RANGE: RangeInclusive<u32> = 1..=20;
/// Accepted range for a clip's frame rate.
const FPS_RANGE: RangeInclusive<u32> = 1..=60;
/// Ticks per second of muxide's video media timescale.
const MEDIA_TICKS: u64 = 90_000;
/// One 20 ms Opus packet of silence (CELT, full band, mono), as WebRTC sends when muted.
const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];
/// Opus packets per second of [`OPUS_SILENCE`].
const OPUS_PACKETS_PER_SECOND: u32 = 50;

/// Why a demo render failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoMediaError {
    /// A width, height, length or frame rate outside what the demo renders.
    #[error("invalid demo size: {0}")]
    InvalidSize(String),
    /// The PNG encoder, H.264 encoder or MP4 muxer failed.
    #[error("demo encoding failed: {0}")]
    Encode(String),
}

/// A PNG image of `width`x`height` drawn from the prompt and seed.
pub fn render_png(prompt: &str, seed: u64, width: u32, height: u32) -> Result<Vec<u8>, DemoMediaError> {
    check_image(width, height)?;
    encode_png(&Scene::new(prompt, seed, width, height).frame(0))
}

/// An H.264 (Constrained Baseline) MP4 of `seconds` at `fps`, moov before mdat, one IDR per second.
pub fn render_mp4(prompt: &str, seed: u64, width: u32, height: u32, seconds: u32, fps: u32) -> Result<Vec<u8>, DemoMediaError> {
    render_clip(prompt, seed, (width, height), seconds, fps, false)
}

/// [`render_mp4`] with a sound track (silent Opus), as a video model makes when its `audio`
/// parameter is on.
pub fn render_mp4_with_sound(prompt: &str, seed: u64, width: u32, height: u32, seconds: u32, fps: u32) -> Result<Vec<u8>, DemoMediaError> {
    render_clip(prompt, seed, (width, height), seconds, fps, true)
}

fn render_clip(
    prompt: &str,
    seed: u64,
    (width, height): (u32, u32),
    seconds: u32,
    fps: u32,
    sound: bool,
) -> Result<Vec<u8>, DemoMediaError> {
    check_video(width, height)?;
    check_range("seconds", seconds, SECONDS_RANGE)?;
    check_range("fps", fps, FPS_RANGE)?;
    let scene = Scene::new(prompt, seed, width, height);
    let mut encoder = h264_encoder(fps)?;
    let mut builder = MuxerBuilder::new(Vec::new()).video(VideoCodec::H264, width, height, f64::from(fps)).with_fast_start(true);
    if sound {
        builder = builder.audio(AudioCodec::Opus, 48_000, 1);
    }
    let mut muxer = builder.build().map_err(encode_error)?;
    let mut packets = 0u32;
    let mut annex_b = Vec::new();
    for index in 0..seconds * fps {
        let millis = u64::from(index) * 1000 / u64::from(fps);
        let picture = I420::from_canvas(&scene.frame(millis));
        let stream = encoder.encode_at(&picture, Timestamp::from_millis(millis)).map_err(encode_error)?;
        let keyframe = stream.frame_type() == FrameType::IDR;
        annex_b.clear();
        stream.write_vec(&mut annex_b);
        muxer.write_video(pts_seconds(index, fps), &annex_b, keyframe).map_err(encode_error)?;
        // the silence that plays until the next frame
        let until = u64::from(index + 1) * u64::from(OPUS_PACKETS_PER_SECOND) / u64::from(fps);
        while sound && u64::from(packets) < until {
            let pts = f64::from(packets) / f64::from(OPUS_PACKETS_PER_SECOND);
            muxer.write_audio(pts, &OPUS_SILENCE).map_err(encode_error)?;
            packets += 1;
        }
    }
    muxer.finish_in_place().map_err(encode_error)?;
    Ok(muxer.into_writer())
}

/// A PNG poster frame of the video (its first frame), for thumbnails; sizes as for the video.
pub fn render_poster(prompt: &str, seed: u64, width: u32, height: u32) -> Result<Vec<u8>, DemoMediaError> {
    check_video(width, height)?;
    encode_png(&Scene::new(prompt, seed, width, height).frame(0))
}

fn check_range(what: &str, value: u32, range: RangeInclusive<u32>) -> Result<(), DemoMediaError> {
    if range.contains(&value) {
        return Ok(());
    }
    let (lo, hi) = (range.start(), range.end());
    Err(DemoMediaError::InvalidSize(format!("{what} {value} is outside {lo}..={hi}")))
}

fn check_image(width: u32, height: u32) -> Result<(), DemoMediaError> {
    check_range("width", width, SIDE_RANGE)?;
    check_range("height", height, SIDE_RANGE)
}

fn check_video(width: u32, height: u32) -> Result<(), DemoMediaError> {
    check_image(width, height)?;
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(DemoMediaError::InvalidSize(format!("video width and height must be even, got {width}x{height}")));
    }
    Ok(())
}

fn encode_error(error: impl std::fmt::Display) -> DemoMediaError {
    DemoMediaError::Encode(error.to_string())
}

/// Presentation time of frame `index`, rounded up to a whole media tick so that the
/// muxer's total (last PTS plus last delta) is never short of `frames / fps` seconds.
fn pts_seconds(index: u32, fps: u32) -> f64 {
    let ticks = (u64::from(index) * MEDIA_TICKS).div_ceil(u64::from(fps));
    ticks as f64 / MEDIA_TICKS as f64
}

fn h264_encoder(fps: u32) -> Result<Encoder, DemoMediaError> {
    // Rate control off (constant QP): the bitrate modes need frame skipping, which muxide rejects.
    let config = EncoderConfig::new()
        .profile(Profile::Baseline)
        .rate_control_mode(RateControlMode::Off)
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .skip_frames(false)
        .background_detection(false)
        .scene_change_detect(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(fps))
        .num_threads(1)
        .vui(VuiConfig::bt601());
    // Cisco's H.264 patent licence covers only its prebuilt binaries, not this source build.
    Encoder::with_api_config(OpenH264API::from_source(), config).map_err(encode_error)
}

/// A 4:2:0 picture in the limited-range BT.601 colours the encoder is told about.
struct I420 {
    width: usize,
    height: usize,
    planes: [Vec<u8>; 3],
}

impl I420 {
    /// Integer RGB to YUV, so that output is byte-identical on every run and machine.
    fn from_canvas(canvas: &Canvas) -> Self {
        let (width, height) = (canvas.width as usize, canvas.height as usize);
        let y = (0..width * height).map(|i| luma(&canvas.rgb, i * 3)).collect();
        let mut u = Vec::with_capacity(width * height / 4);
        let mut v = Vec::with_capacity(width * height / 4);
        for rows in canvas.rgb.chunks_exact(width * 6) {
            let (upper, lower) = rows.split_at(width * 3);
            for (a, b) in upper.chunks_exact(6).zip(lower.chunks_exact(6)) {
                let sum = |c: usize| [a[c], a[c + 3], b[c], b[c + 3]].map(i32::from).iter().sum::<i32>();
                let [r, g, b] = [0, 1, 2].map(|c| (sum(c) + 2) / 4);
                u.push((((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128) as u8);
                v.push((((112 * r - 94 * g - 18 * b + 128) >> 8) + 128) as u8);
            }
        }
        let planes = [y, u, v];
        Self { width, height, planes }
    }
}

fn luma(rgb: &[u8], at: usize) -> u8 {
    let [r, g, b] = [rgb[at], rgb[at + 1], rgb[at + 2]].map(i32::from);
    (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
}

impl YUVSource for I420 {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }
    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }
    fn y(&self) -> &[u8] {
        &self.planes[0]
    }
    fn u(&self) -> &[u8] {
        &self.planes[1]
    }
    fn v(&self) -> &[u8] {
        &self.planes[2]
    }
}

fn encode_png(canvas: &Canvas) -> Result<Vec<u8>, DemoMediaError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, canvas.width, canvas.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode_error)?;
    writer.write_image_data(&canvas.rgb).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scene::caption;

    const PROMPT: &str = "A red fox jumps over 3 lazy dogs";

    fn be32(data: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
    }

    /// The top-level box types, concatenated.
    fn top_level_boxes(data: &[u8]) -> Vec<u8> {
        let (mut kinds, mut at) = (Vec::new(), 0);
        while at + 8 <= data.len() {
            kinds.extend_from_slice(&data[at + 4..at + 8]);
            at += (be32(data, at) as usize).max(8);
        }
        kinds
    }

    fn find(data: &[u8], tag: &[u8]) -> usize {
        data.windows(4).position(|w| w == tag).expect("box present")
    }

    fn png_size(bytes: &[u8]) -> (u32, u32) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height)
    }

    fn is_invalid(result: Result<Vec<u8>, DemoMediaError>) -> bool {
        matches!(result, Err(DemoMediaError::InvalidSize(_)))
    }

    #[test]
    fn png_and_poster_are_deterministic_and_decode_to_the_requested_size() {
        let a = render_png(PROMPT, 7, 321, 179).unwrap();
        assert_eq!(a, render_png(PROMPT, 7, 321, 179).unwrap());
        assert_eq!(png_size(&a), (321, 179));
        assert_ne!(a, render_png(PROMPT, 8, 321, 179).unwrap());
        assert_ne!(a, render_png("A blue fox", 7, 321, 179).unwrap());
        let poster = render_poster(PROMPT, 7, 320, 180).unwrap();
        assert_eq!(png_size(&poster), (320, 180));
        assert_eq!(poster, render_poster(PROMPT, 7, 320, 180).unwrap());
    }

    #[test]
    fn mp4_is_deterministic_fast_start_with_the_requested_duration() {
        let a = render_mp4(PROMPT, 7, 320, 180, 2, 12).unwrap();
        assert_eq!(a, render_mp4(PROMPT, 7, 320, 180, 2, 12).unwrap());
        assert_ne!(a, render_mp4(PROMPT, 8, 320, 180, 2, 12).unwrap());
        assert_ne!(a, render_mp4("A blue fox", 7, 320, 180, 2, 12).unwrap());
        assert_eq!(top_level_boxes(&a), b"ftypmoovmdat");
        let mvhd = find(&a, b"mvhd");
        assert_eq!(be32(&a, mvhd + 20), 2 * be32(&a, mvhd + 16), "duration = 2 s");
        assert_eq!(be32(&a, find(&a, b"stss") + 8), 2, "one IDR per second");
    }

    #[test]
    fn a_clip_with_sound_has_a_sound_track_and_one_without_has_none() {
        // a sound track's handler is `soun`
        let has_sound = |mp4: &[u8]| mp4.windows(4).any(|w| w == b"soun");
        let with = render_mp4_with_sound(PROMPT, 7, 64, 64, 2, 12).unwrap();
        assert!(has_sound(&with));
        assert!(find(&with, b"Opus") > 0, "an Opus sample entry");
        assert!(!has_sound(&render_mp4(PROMPT, 7, 64, 64, 2, 12).unwrap()));
    }

    #[test]
    fn odd_frame_rates_still_give_whole_second_durations() {
        for fps in [7, 11] {
            let mp4 = render_mp4("odd", 1, 32, 32, 3, fps).unwrap();
            let mvhd = find(&mp4, b"mvhd");
            assert_eq!(be32(&mp4, mvhd + 20), 3 * be32(&mp4, mvhd + 16), "{fps}");
        }
    }

    #[test]
    fn invalid_sizes_are_errors_not_panics() {
        for (w, h) in [(15, 100), (100, 15), (1921, 100), (100, 1921), (0, 0), (33, 32)] {
            assert!(is_invalid(render_poster("x", 1, w, h)), "{w}x{h}");
            assert!(is_invalid(render_mp4("x", 1, w, h, 1, 1)), "{w}x{h}");
            assert_eq!(w == 33, render_png("x", 1, w, h).is_ok(), "{w}x{h}");
        }
        for (seconds, fps) in [(0, 1), (21, 1), (1, 0), (1, 61)] {
            assert!(is_invalid(render_mp4("x", 1, 32, 32, seconds, fps)));
        }
    }

    #[test]
    fn caption_keeps_the_first_words_that_fit() {
        let words = caption("a red-fox, jumps! over it", 100);
        assert_eq!(words, b"A REDFOX JUMPS OVER");
        assert_eq!(caption("supercalifragilistic", 5), b"SUPER");
        assert_eq!(caption("one two", 5), b"ONE");
        assert!(caption("?? !!", 10).is_empty());
    }

    /// Timing probe: `cargo test --lib demo_media -- --ignored --nocapture`;
    /// set `DEMO_MEDIA_OUT=/path.mp4` to keep the clip.
    #[test]
    #[ignore]
    fn encode_timing_probe() {
        let started = std::time::Instant::now();
        let mp4 = render_mp4("A neon city at night", 42, 640, 360, 3, 24).unwrap();
        eprintln!("3 s 640x360 24 fps: {:?}, {} bytes", started.elapsed(), mp4.len());
        if let Ok(path) = std::env::var("DEMO_MEDIA_OUT") {
            std::fs::write(path, mp4).unwrap();
        }
    }
}
