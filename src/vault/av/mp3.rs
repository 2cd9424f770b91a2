//! MP3 files: rewritten as their MPEG audio frames only, so ID3v2 tags at the head, APE and
//! ID3v1 tags at the tail and anything else between or after the frames are dropped; the
//! duration is the frames' samples over their sample rate.

use std::time::Duration;

/// Layer III bitrates in kbit/s by index: MPEG-1, then MPEG-2 and 2.5.
const BITRATES_V1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
/// MPEG-1 sample rates by index (MPEG-2 halves them, MPEG-2.5 quarters them).
const SAMPLE_RATES: [u32; 3] = [44_100, 48_000, 32_000];

/// A cleaned MP3 and how long it plays.
#[derive(Debug)]
pub struct CleanMp3 {
    pub bytes: Vec<u8>,
    pub duration: Duration,
}

/// One layer III frame header.
struct Frame {
    len: usize,
    samples: u32,
    sample_rate: u32,
}

/// The frame whose header starts `head`, if it is a layer III frame we can measure.
fn frame(head: &[u8]) -> Option<Frame> {
    let &[0xFF, b1, b2, _] = head.get(0..4)? else { return None };
    if b1 & 0xE0 != 0xE0 || (b1 >> 1) & 0b11 != 0b01 {
        return None; // no sync, or not layer III
    }
    let (bitrates, divisor, samples) = match (b1 >> 3) & 0b11 {
        0b11 => (&BITRATES_V1, 1, 1152),
        0b10 => (&BITRATES_V2, 2, 576),
        0b00 => (&BITRATES_V2, 4, 576),
        _ => return None,
    };
    let bitrate = *bitrates.get(usize::from(b2 >> 4))?;
    let sample_rate = SAMPLE_RATES.get(usize::from((b2 >> 2) & 0b11))? / divisor;
    if bitrate == 0 {
        return None; // free format: no length to walk by
    }
    let padding = usize::from((b2 >> 1) & 1);
    let len = (samples / 8 * bitrate * 1000 / sample_rate) as usize + padding;
    Some(Frame { len, samples, sample_rate })
}

/// Skips the ID3v2 tags at the head (each "ID3", version, flags, a syncsafe size, an
/// optional footer) and the zero padding after them.
fn after_id3v2(input: &[u8]) -> Result<usize, String> {
    let mut at = 0;
    while input.get(at..at + 3) == Some(b"ID3") {
        let header = input.get(at..at + 10).ok_or("its ID3 tag is cut short")?;
        let size = header[6..10].iter().fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7F));
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        at += 10 + size + footer;
    }
    while input.get(at) == Some(&0) {
        at += 1;
    }
    if at > input.len() { Err("its ID3 tag runs past the end of the file".into()) } else { Ok(at) }
}

/// Keeps the frames from the first one after the ID3v2 tags to the last whole one.
pub fn clean(input: &[u8]) -> Result<CleanMp3, String> {
    let start = after_id3v2(input)?;
    let mut at = start;
    let (mut samples, mut seconds) = (0u64, 0f64);
    while let Some(f) = frame(&input[at..]) {
        if at + f.len > input.len() {
            break; // a frame cut short at the end: dropped
        }
        samples += u64::from(f.samples);
        seconds += f64::from(f.samples) / f64::from(f.sample_rate);
        at += f.len;
    }
    if samples == 0 {
        return Err("no MPEG layer III audio frame follows its header".into());
    }
    Ok(CleanMp3 { bytes: input[start..at].to_vec(), duration: Duration::from_secs_f64(seconds) })
}

#[cfg(test)]
pub(crate) mod build {
    //! Small MP3 files built byte by byte for tests.

    /// An MPEG-1 layer III frame at 128 kbit/s, 44.1 kHz, no padding: 417 bytes, 1152 samples.
    pub fn frame() -> Vec<u8> {
        let mut f = vec![0u8; 417];
        f[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        f
    }

    /// An MP3 of `frames` frames with an ID3v2 tag (title, artist), an APE tag and an ID3v1 tag.
    pub fn mp3(frames: usize) -> Vec<u8> {
        let text = b"TIT2\0\0\0\x0e\0\0\x03Beach house\0TPE1\0\0\0\x0a\0\0\x03Bob Smith";
        let mut out = b"ID3\x04\0\0".to_vec();
        out.extend_from_slice(&[0, 0, 0, text.len() as u8]);
        out.extend_from_slice(text);
        for _ in 0..frames {
            out.extend(frame());
        }
        let ape_items = b"\x0c\0\0\0\0\0\0\0Artist\0Carol Jones";
        let mut ape_footer = b"APETAGEX".to_vec();
        ape_footer.extend_from_slice(&2000u32.to_le_bytes());
        ape_footer.extend_from_slice(&((ape_items.len() + 32) as u32).to_le_bytes());
        ape_footer.extend_from_slice(&1u32.to_le_bytes());
        ape_footer.extend_from_slice(&[0u8; 12]);
        out.extend_from_slice(ape_items);
        out.extend(ape_footer);
        let mut v1 = b"TAGSunset over the pier".to_vec();
        v1.resize(128, 0);
        out.extend(v1);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{frame, mp3};
    use super::*;

    #[test]
    fn only_the_audio_frames_remain() {
        let clean = clean(&mp3(100)).unwrap();
        assert_eq!(clean.bytes, frame().repeat(100));
        let expected = 100.0 * 1152.0 / 44_100.0;
        assert!((clean.duration.as_secs_f64() - expected).abs() < 1e-6, "{:?}", clean.duration);
        let text = String::from_utf8_lossy(&clean.bytes);
        for gone in ["ID3", "Beach", "Bob", "APETAGEX", "Carol", "TAG", "Sunset"] {
            assert!(!text.contains(gone), "{gone} remains");
        }
    }

    #[test]
    fn a_tag_without_audio_is_refused() {
        assert!(clean(&mp3(0)).unwrap_err().contains("no MPEG layer III"));
        assert!(clean(b"ID3\x04\0\0\0\0\x7f\x7f").unwrap_err().contains("runs past the end"));
        assert!(clean(b"not audio").is_err());
    }
}
