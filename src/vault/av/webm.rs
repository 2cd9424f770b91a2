//! WebM (Matroska) files: elements that carry names, dates, devices or attachments (`Tags`,
//! `Attachments`, `Chapters`, the `Info` title, muxing and writing apps and date, track
//! names) become `Void` elements of the same length with a zeroed payload, so no position in
//! `SeekHead` or `Cues` moves; tracks and the duration (when the file states it) are read.
//! Walking stops at the first element of unknown size (a live recording's cluster).

use std::time::Duration;

const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const VOID: u8 = 0xEC;
/// Whole elements blanked wherever they are found at the segment's level.
const BLANKED: [u32; 3] = [0x1254_C367, 0x1941_A469, 0x1043_A770];
/// `Info` children blanked: Title, MuxingApp, WritingApp, DateUTC.
const BLANKED_INFO: [u32; 4] = [0x7BA9, 0x4D80, 0x5741, 0x4461];
/// `TrackEntry` children blanked: Name.
const BLANKED_TRACK: [u32; 1] = [0x536E];

/// What a walk of a WebM found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Found {
    /// From `Info`'s Duration and TimecodeScale, when stated.
    pub duration: Option<Duration>,
    pub has_video: bool,
    pub has_sound: bool,
}

/// One element: its id, where its header starts, where its payload starts and ends (`None`:
/// of unknown size).
struct Element {
    id: u32,
    start: usize,
    payload: usize,
    end: Option<usize>,
}

/// A variable-length integer at `at`: (value with the length marker kept or not, length).
fn vint(data: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *data.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let bytes = data.get(at..at + len)?;
    let mut value = if keep_marker { u64::from(first) } else { u64::from(first) & (0xFF >> len) };
    for b in &bytes[1..] {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

/// The element starting at `at` within `data[..limit]`.
fn element(data: &[u8], at: usize, limit: usize) -> Result<Element, String> {
    let cut = || "an element header is cut short".to_string();
    let (id, id_len) = vint(data, at, true).filter(|(_, l)| *l <= 4).ok_or_else(cut)?;
    let (size, size_len) = vint(data, at + id_len, false).ok_or_else(cut)?;
    let payload = at + id_len + size_len;
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    let end = if unknown {
        None
    } else {
        let end = usize::try_from(size).ok().and_then(|s| payload.checked_add(s)).filter(|e| *e <= limit);
        Some(end.ok_or_else(|| format!("the element {id:#X} runs past its parent"))?)
    };
    Ok(Element { id: id as u32, start: at, payload, end })
}

/// The children of `data[from..to]`, stopping after one of unknown size.
fn children(data: &[u8], from: usize, to: usize) -> Result<Vec<Element>, String> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let e = element(data, at, to)?;
        let next = e.end;
        out.push(e);
        match next {
            Some(end) => at = end,
            None => break,
        }
    }
    Ok(out)
}

/// Turns an element into a `Void` of the same length with a zeroed payload.
fn blank(data: &mut [u8], e: &Element) {
    let Some(end) = e.end else { return };
    let total = end - e.start;
    let size_len = (e.payload - e.start - 1).clamp(1, 8);
    let payload = total - 1 - size_len;
    data[e.start] = VOID;
    // the size, `size_len` bytes long: its length marker, then the value
    let mut size = (payload as u64).to_be_bytes()[8 - size_len..].to_vec();
    size[0] |= 0x80 >> (size_len - 1);
    data[e.start + 1..e.start + 1 + size_len].copy_from_slice(&size);
    data[end - payload..end].fill(0);
}

/// An unsigned integer or float payload.
fn uint(data: &[u8]) -> u64 {
    data.iter().take(8).fold(0, |n, b| (n << 8) | u64::from(*b))
}

fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        4 => Some(f64::from(f32::from_bits(uint(data) as u32))),
        8 => Some(f64::from_bits(uint(data))),
        _ => None,
    }
}

/// Whether the first bytes of a WebM (up to and past its `Tracks`) declare an audio track;
/// `false` when the tracks are not within `head`.
pub fn sound_in_head(head: &[u8]) -> bool {
    let Ok(header) = element(head, 0, head.len()) else { return false };
    let Some(at) = header.end else { return false };
    // the segment and its children as far as they fit
    let Ok(segment) = element(head, at, usize::MAX) else { return false };
    let mut at = segment.payload;
    while let Ok(e) = element(head, at, usize::MAX) {
        let Some(end) = e.end.filter(|end| *end <= head.len()) else { return false };
        if e.id == TRACKS {
            let Ok(entries) = children(head, e.payload, end) else { return false };
            return entries.iter().filter(|t| t.id == TRACK_ENTRY).any(|t| {
                let fields = children(head, t.payload, t.end.unwrap_or(end)).unwrap_or_default();
                fields.iter().any(|f| f.id == TRACK_TYPE && uint(&head[f.payload..f.end.unwrap_or(end)]) == 2)
            });
        }
        at = end;
    }
    false
}

/// Blanks the metadata of a WebM in place and reports what it holds.
pub fn clean(data: &mut [u8]) -> Result<Found, String> {
    let len = data.len();
    let top = children(data, 0, len)?;
    let segment = top.iter().find(|e| e.id == SEGMENT).ok_or("it has no Segment")?;
    let mut found = Found::default();
    let (mut scale, mut duration) = (1_000_000u64, None);
    for e in children(data, segment.payload, segment.end.unwrap_or(len))? {
        let end = e.end.unwrap_or(len);
        match e.id {
            id if BLANKED.contains(&id) => blank(data, &e),
            INFO => {
                for c in children(data, e.payload, end)? {
                    let value = &data[c.payload..c.end.unwrap_or(end)];
                    match c.id {
                        TIMECODE_SCALE => scale = uint(value),
                        DURATION => duration = float(value),
                        id if BLANKED_INFO.contains(&id) => blank(data, &c),
                        _ => {}
                    }
                }
            }
            TRACKS => {
                for entry in children(data, e.payload, end)?.into_iter().filter(|c| c.id == TRACK_ENTRY) {
                    for c in children(data, entry.payload, entry.end.unwrap_or(end))? {
                        match c.id {
                            TRACK_TYPE => {
                                let kind = uint(&data[c.payload..c.end.unwrap_or(end)]);
                                found.has_video |= kind == 1;
                                found.has_sound |= kind == 2;
                            }
                            id if BLANKED_TRACK.contains(&id) => blank(data, &c),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    found.duration = duration.filter(|d| d.is_finite() && *d > 0.0).map(|d| Duration::from_secs_f64(d * scale as f64 / 1e9));
    Ok(found)
}

#[cfg(test)]
pub(crate) mod build {
    //! Small WebM files built element by element for tests.

    use super::*;

    /// An element with a 1-byte size (payloads under 127 bytes) or an 8-byte one.
    pub fn el(id: u32, payload: &[u8], wide: bool) -> Vec<u8> {
        let id_bytes: Vec<u8> = id.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        let size = if wide {
            let mut s = (payload.len() as u64).to_be_bytes();
            s[0] = 0x01;
            s.to_vec()
        } else {
            vec![0x80 | payload.len() as u8]
        };
        [id_bytes, size, payload.to_vec()].concat()
    }

    /// A WebM with a titled, dated `Info`, a named video track, an audio track, a cluster and tags.
    pub fn webm() -> Vec<u8> {
        let header = el(0x1A45_DFA3, &el(0x4282, b"webm", false), false);
        let info = el(
            INFO,
            &[
                el(TIMECODE_SCALE, &[0x0F, 0x42, 0x40], false),
                el(DURATION, &2500f32.to_bits().to_be_bytes(), false),
                el(0x7BA9, b"Alice at the beach", false),
                el(0x4D80, b"Lavf60", false),
                el(0x4461, &[1, 2, 3, 4, 5, 6, 7, 8], false),
            ]
            .concat(),
            false,
        );
        let video =
            el(TRACK_ENTRY, &[el(0xD7, &[1], false), el(TRACK_TYPE, &[1], false), el(0x536E, b"Pixel 8 camera", false)].concat(), false);
        let audio = el(TRACK_ENTRY, &[el(0xD7, &[2], false), el(TRACK_TYPE, &[2], false)].concat(), false);
        let tracks = el(TRACKS, &[video, audio].concat(), false);
        let cluster = el(0x1F43_B675, b"frames", false);
        let tags = el(0x1254_C367, &el(0x7373, b"ARTIST=Alice Example", false), true);
        [header, el(SEGMENT, &[info, tracks, cluster, tags].concat(), true)].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::build::{el, webm};
    use super::*;

    #[test]
    fn names_dates_and_tags_become_void_of_the_same_length() {
        let original = webm();
        let mut data = original.clone();
        let found = clean(&mut data).unwrap();
        assert_eq!(found, Found { duration: Some(Duration::from_millis(2500)), has_video: true, has_sound: true });
        assert_eq!(data.len(), original.len());
        for secret in [&b"Alice"[..], b"Lavf", b"Pixel", &[1, 2, 3, 4, 5, 6, 7, 8]] {
            assert!(!data.windows(secret.len()).any(|w| w == secret), "{secret:?} remains");
        }
        assert!(data.windows(6).any(|w| w == b"frames"), "media untouched");
        assert_eq!(clean(&mut data.clone()).unwrap(), found, "a cleaned file still reads");
    }

    #[test]
    fn the_sound_track_is_found_in_the_head_of_a_stream() {
        let whole = webm();
        let tracks_end = whole.windows(6).position(|w| w == b"frames").unwrap();
        assert!(sound_in_head(&whole[..tracks_end]), "the tracks come before the media");
        assert!(!sound_in_head(&whole[..40]), "tracks not yet seen");
        let silent: Vec<u8> = {
            let mut w = whole.clone();
            let at = w.windows(3).position(|x| x == [TRACK_TYPE as u8, 0x81, 2]).unwrap();
            w[at + 2] = 1;
            w
        };
        assert!(!sound_in_head(&silent));
    }

    #[test]
    fn broken_files_are_refused() {
        let whole = webm();
        assert!(clean(&mut whole[..whole.len() - 4].to_vec()).is_err());
        assert!(clean(&mut el(0x1A45_DFA3, b"", false)).unwrap_err().contains("no Segment"));
    }
}
