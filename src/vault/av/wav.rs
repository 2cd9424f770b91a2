//! WAV files: rewritten with only their `fmt `, `fact` and `data` chunks (every `LIST`/`INFO`,
//! `bext`, `iXML` or `id3 ` chunk with names, dates or places is dropped), and their duration
//! from the format's byte rate and the data size.

use std::time::Duration;

/// The chunks a WAV keeps.
const KEPT: [&[u8; 4]; 3] = [b"fmt ", b"fact", b"data"];

/// A cleaned WAV and how long it plays.
#[derive(Debug)]
pub struct CleanWav {
    pub bytes: Vec<u8>,
    pub duration: Duration,
}

/// Rewrites a RIFF/WAVE file keeping only the `KEPT` chunks; `Err` says why it is not one.
pub fn clean(input: &[u8]) -> Result<CleanWav, String> {
    if input.len() < 12 || &input[0..4] != b"RIFF" || &input[8..12] != b"WAVE" {
        return Err("it is not a RIFF/WAVE file".into());
    }
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WAVE");
    let (mut byte_rate, mut data_bytes) = (None, None);
    let mut at = 12;
    while at + 8 <= input.len() {
        let id: [u8; 4] = input[at..at + 4].try_into().map_err(|_| "a chunk header is cut short")?;
        let declared = u32::from_le_bytes(input[at + 4..at + 8].try_into().map_err(|_| "a chunk header is cut short")?) as usize;
        let body = at + 8;
        // a data chunk of unknown length (a recording cut short) runs to the end of the file
        let len = if &id == b"data" { declared.min(input.len() - body) } else { declared };
        let end = body
            .checked_add(len)
            .filter(|e| *e <= input.len())
            .ok_or_else(|| format!("the {:?} chunk runs past the end of the file", String::from_utf8_lossy(&id)))?;
        if &id == b"fmt " {
            let rate = input.get(body + 8..body + 12).ok_or("the format chunk is too short")?;
            byte_rate = Some(u32::from_le_bytes(rate.try_into().map_err(|_| "the format chunk is too short")?));
        }
        if &id == b"data" {
            if byte_rate.is_none() {
                return Err("the audio data comes before its format".into());
            }
            data_bytes = Some(len as u64);
        }
        if KEPT.contains(&&id) {
            out.extend_from_slice(&id);
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(&input[body..end]);
            if len % 2 == 1 {
                out.push(0);
            }
        }
        at = end + len % 2;
    }
    let (Some(rate), Some(data)) = (byte_rate, data_bytes) else {
        return Err("it has no format or no audio data".into());
    };
    if rate == 0 {
        return Err("its format has a byte rate of zero".into());
    }
    let riff_size = u32::try_from(out.len() - 8).map_err(|_| "it is too large for a WAV file")?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(CleanWav { bytes: out, duration: Duration::from_secs_f64(data as f64 / f64::from(rate)) })
}

#[cfg(test)]
pub(crate) mod build {
    //! Small WAV files built byte by byte for tests.

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    /// A mono 8 kHz 8-bit WAV of `seconds`, with an INFO list (artist, comment) and a `bext`
    /// chunk naming its author, around the audio.
    pub fn wav(seconds: f64) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&1u16.to_le_bytes()); // PCM
        fmt.extend_from_slice(&1u16.to_le_bytes()); // mono
        fmt.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
        fmt.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
        fmt.extend_from_slice(&1u16.to_le_bytes()); // block align
        fmt.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
        let info = [&b"INFO"[..], &chunk(b"IART", b"Alice Example\0"), &chunk(b"ICMT", b"Recorded at 12 Rue de Rivoli\0")].concat();
        let samples = vec![0x80u8; (8000.0 * seconds) as usize];
        let body = [
            &b"WAVE"[..],
            &chunk(b"fmt ", &fmt),
            &chunk(b"LIST", &info),
            &chunk(b"data", &samples),
            &chunk(b"bext", b"Originator: Zoom H5"),
        ]
        .concat();
        [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::build::wav;
    use super::*;

    #[test]
    fn only_the_format_and_the_audio_remain() {
        let clean = clean(&wav(1.5)).unwrap();
        assert_eq!(clean.duration, Duration::from_millis(1500));
        let text = String::from_utf8_lossy(&clean.bytes);
        for gone in ["LIST", "Alice", "Rivoli", "bext", "Zoom"] {
            assert!(!text.contains(gone), "{gone} remains");
        }
        assert_eq!(&clean.bytes[12..16], b"fmt ");
        assert_eq!(u32::from_le_bytes(clean.bytes[4..8].try_into().unwrap()) as usize, clean.bytes.len() - 8);
        assert_eq!(super::clean(&clean.bytes).unwrap().bytes, clean.bytes, "cleaning is stable");
    }

    #[test]
    fn broken_files_are_refused() {
        assert!(clean(b"RIFF\0\0\0\0WAVE").unwrap_err().contains("no format"));
        assert!(clean(b"RIFF\0\0\0\0AVI LIST").is_err());
        let mut cut = wav(0.1);
        cut.truncate(60); // inside the INFO list
        assert!(clean(&cut).unwrap_err().contains("runs past the end"));
    }
}
