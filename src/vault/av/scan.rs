//! Whether a movie has sound, told from its bytes as they stream past (outputs are stored as
//! they arrive and may be large): an MP4/MOV's top-level boxes are skipped unread except
//! `moov`, which is kept (up to [`MOOV_MAX`]) and read for a `trak` whose handler is `soun`; a
//! WebM's first [`WEBM_HEAD_MAX`] bytes are kept and read for an audio track entry.

use super::{iso, webm};

/// The largest `moov` kept in memory; a movie with a larger one is reported as silent.
pub const MOOV_MAX: u64 = 32 * 1024 * 1024;
/// How much of a WebM's head is kept to find its tracks (they precede the media).
pub const WEBM_HEAD_MAX: usize = 1024 * 1024;
/// The first byte of a WebM (EBML) file; an ISO file starts with a small box size.
const EBML_FIRST: u8 = 0x1A;

/// What the scanner is doing with the next bytes.
enum Step {
    /// Reading a box header (8 bytes, 16 with a 64-bit size).
    Header(Vec<u8>),
    /// Passing over this many bytes of a box that is not `moov`.
    Skip(u64),
    /// Keeping a `moov` payload until it has this many more bytes.
    Moov(Vec<u8>, u64),
    /// Keeping the head of a WebM.
    Webm(Vec<u8>),
    /// Decided (or given up: then silent).
    Done(bool),
}

/// Feeds on an ISO base media file chunk by chunk; [`SoundScan::has_sound`] at the end.
pub struct SoundScan {
    step: Step,
    /// Nothing has been fed yet (the first byte tells WebM from MP4).
    first: bool,
}

impl Default for SoundScan {
    fn default() -> Self {
        SoundScan { step: Step::Header(Vec::with_capacity(16)), first: true }
    }
}

impl SoundScan {
    /// Takes the next bytes of the file.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if self.first && chunk.first() == Some(&EBML_FIRST) {
            self.step = Step::Webm(Vec::new());
        }
        self.first &= chunk.is_empty();
        while !chunk.is_empty() {
            match &mut self.step {
                Step::Done(_) => return,
                Step::Webm(head) => {
                    let n = (WEBM_HEAD_MAX - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..n]);
                    if head.len() == WEBM_HEAD_MAX {
                        self.step = Step::Done(webm::sound_in_head(head));
                    }
                    return;
                }
                Step::Skip(left) => {
                    let n = (*left).min(chunk.len() as u64);
                    *left -= n;
                    chunk = &chunk[n as usize..];
                    if *left == 0 {
                        self.step = Step::Header(Vec::with_capacity(16));
                    }
                }
                Step::Moov(kept, left) => {
                    let n = (*left).min(chunk.len() as u64) as usize;
                    kept.extend_from_slice(&chunk[..n]);
                    *left -= n as u64;
                    chunk = &chunk[n..];
                    if *left == 0 {
                        let found = iso::read_moov(kept).map(|m| m.has_sound).unwrap_or(false);
                        self.step = Step::Done(found);
                    }
                }
                Step::Header(header) => {
                    let wanted = if header.len() >= 8 && header[0..4] == [0, 0, 0, 1] { 16 } else { 8 };
                    let n = (wanted - header.len()).min(chunk.len());
                    header.extend_from_slice(&chunk[..n]);
                    chunk = &chunk[n..];
                    if header.len() == 8 && header[0..4] == [0, 0, 0, 1] {
                        continue; // a 64-bit size follows
                    }
                    if header.len() == wanted {
                        self.step = Self::after_header(header);
                    }
                }
            }
        }
    }

    /// Whether the file seen so far had a `moov` with a sound track.
    pub fn has_sound(&self) -> bool {
        match &self.step {
            Step::Webm(head) => webm::sound_in_head(head),
            step => matches!(step, Step::Done(true)),
        }
    }

    fn after_header(header: &[u8]) -> Step {
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            1 => header.get(8..16).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0),
            n => u64::from(n),
        };
        // a size of 0 (to the end of the file) or smaller than its header: nothing more to walk
        let Some(payload) = size.checked_sub(header.len() as u64).filter(|_| size != 0) else { return Step::Done(false) };
        match &header[4..8] {
            b"moov" if payload <= MOOV_MAX => Step::Moov(Vec::with_capacity(payload as usize), payload),
            b"moov" => Step::Done(false),
            _ if payload == 0 => Step::Header(Vec::with_capacity(16)),
            _ => Step::Skip(payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::iso::build::{movie, mp4_box};
    use super::*;

    fn scan(data: &[u8], chunk: usize) -> bool {
        let mut s = SoundScan::default();
        data.chunks(chunk).for_each(|c| s.feed(c));
        s.has_sound()
    }

    #[test]
    fn a_sound_track_is_found_however_the_bytes_arrive() {
        let with = movie(b"isom", &[b"vide", b"soun"], 4);
        let without = movie(b"isom", &[b"vide"], 4);
        for chunk in [1, 3, 7, 64, 100_000] {
            assert!(scan(&with, chunk), "chunks of {chunk}");
            assert!(!scan(&without, chunk), "chunks of {chunk}");
        }
    }

    #[test]
    fn moov_after_the_media_and_64_bit_sizes_are_followed() {
        let moov_of = |m: &[u8]| {
            let at = m.windows(4).position(|w| w == b"moov").unwrap() - 4;
            let len = u32::from_be_bytes(m[at..at + 4].try_into().unwrap()) as usize;
            m[at..at + len].to_vec()
        };
        let m = movie(b"isom", &[b"soun"], 4);
        let mut large_mdat = vec![0, 0, 0, 1];
        large_mdat.extend_from_slice(b"mdat");
        large_mdat.extend_from_slice(&(16u64 + 5).to_be_bytes());
        large_mdat.extend_from_slice(b"media");
        let tail = [mp4_box(b"ftyp", b"isom\0\0\0\0"), large_mdat, moov_of(&m)].concat();
        assert!(scan(&tail, 5));
        assert!(!scan(b"not a movie at all", 4));
    }

    #[test]
    fn a_webm_audio_track_is_found_in_its_head() {
        let webm = super::super::webm::build::webm();
        for chunk in [1, 9, 4096] {
            assert!(scan(&webm, chunk), "chunks of {chunk}");
        }
    }
}
