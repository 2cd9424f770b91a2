//! ISO base media files (MP4, MOV, M4A): the box walk, metadata boxes blanked in place, the
//! duration from `mvhd` and the kinds of track from each `trak`'s `hdlr`.

use std::time::Duration;

/// Boxes that carry names, places, devices or free text: turned into `free` boxes of the same
/// size with a zeroed payload, so no chunk offset moves.
const BLANKED: [&[u8; 4]; 3] = [b"udta", b"meta", b"uuid"];

/// What a walk of a file's `moov` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Movie {
    /// From `mvhd`: `None` when the movie does not say (zero timescale or duration).
    pub duration: Option<Duration>,
    /// A `trak` whose handler is `vide`.
    pub has_video: bool,
    /// A `trak` whose handler is `soun`.
    pub has_sound: bool,
}

/// One box: where its payload starts and ends in the buffer it was found in.
struct BoxAt {
    kind: [u8; 4],
    start: usize,
    payload: usize,
    end: usize,
}

/// The boxes laid end to end in `data`; `Err` names the first that does not fit.
fn boxes(data: &[u8]) -> Result<Vec<BoxAt>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let header = data.get(at..at + 8).ok_or("a box header is cut short")?;
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, payload) = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => ((data.len() - at) as u64, at + 8),
            1 => {
                let large = data.get(at + 8..at + 16).ok_or("a box header is cut short")?;
                (u64::from_be_bytes(large.try_into().map_err(|_| "a box header is cut short")?), at + 16)
            }
            n => (u64::from(n), at + 8),
        };
        let end = usize::try_from(size).ok().and_then(|s| at.checked_add(s)).filter(|e| *e >= payload && *e <= data.len());
        let Some(end) = end else {
            return Err(format!("the {:?} box runs past the end of the file", String::from_utf8_lossy(&kind)));
        };
        out.push(BoxAt { kind, start: at, payload, end });
        at = end;
    }
    Ok(out)
}

/// Blanks the metadata boxes (see `BLANKED`) at the top level, in `moov` and in each
/// `trak`, zeroes the creation and modification dates, and reports what the movie holds.
/// `Err` says why the file is not a well-formed movie.
pub fn clean(data: &mut [u8]) -> Result<Movie, String> {
    let mut movie = None;
    for top in boxes(data)? {
        match &top.kind {
            b"moov" => movie = Some(clean_moov(&mut data[top.payload..top.end])?),
            kind if BLANKED.contains(&kind) => blank(data, &top),
            _ => {}
        }
    }
    movie.ok_or_else(|| "the file has no `moov` box (the movie's header)".to_string())
}

/// What a `moov` payload holds, without changing it (the audio-track check of outputs).
pub fn read_moov(moov: &[u8]) -> Result<Movie, String> {
    clean_moov(&mut moov.to_vec())
}

fn clean_moov(moov: &mut [u8]) -> Result<Movie, String> {
    let mut movie = Movie::default();
    for child in boxes(moov)? {
        match &child.kind {
            b"mvhd" => movie.duration = movie_duration(&mut moov[child.payload..child.end]),
            b"trak" => {
                let handler = clean_trak(&mut moov[child.payload..child.end])?;
                movie.has_video |= handler == Some(*b"vide");
                movie.has_sound |= handler == Some(*b"soun");
            }
            kind if BLANKED.contains(&kind) => blank(moov, &child),
            _ => {}
        }
    }
    Ok(movie)
}

/// Cleans one `trak` payload and returns its handler type.
fn clean_trak(trak: &mut [u8]) -> Result<Option<[u8; 4]>, String> {
    let mut handler = None;
    for child in boxes(trak)? {
        match &child.kind {
            b"tkhd" => zero_dates(&mut trak[child.payload..child.end]),
            b"mdia" => {
                let mdia = &mut trak[child.payload..child.end];
                for part in boxes(mdia)? {
                    match &part.kind {
                        b"mdhd" => zero_dates(&mut mdia[part.payload..part.end]),
                        // version and flags, pre_defined, then the handler type
                        b"hdlr" => handler = mdia.get(part.payload + 8..part.payload + 12).and_then(|h| h.try_into().ok()),
                        _ => {}
                    }
                }
            }
            kind if BLANKED.contains(&kind) => blank(trak, &child),
            _ => {}
        }
    }
    Ok(handler)
}

/// Turns a box into a `free` box of the same size with a zeroed payload.
fn blank(data: &mut [u8], found: &BoxAt) {
    data[found.start + 4..found.start + 8].copy_from_slice(b"free");
    data[found.payload..found.end].fill(0);
}

/// Zeroes the creation and modification dates of an `mvhd`, `tkhd` or `mdhd` payload
/// (version 0: two 32-bit fields; version 1: two 64-bit fields, after version and flags).
fn zero_dates(payload: &mut [u8]) {
    let width = if payload.first() == Some(&1) { 16 } else { 8 };
    if let Some(dates) = payload.get_mut(4..4 + width) {
        dates.fill(0);
    }
}

/// The movie's duration from an `mvhd` payload (dates zeroed on the way).
fn movie_duration(mvhd: &mut [u8]) -> Option<Duration> {
    zero_dates(mvhd);
    let (timescale, duration) = if mvhd.first() == Some(&1) {
        (u32::from_be_bytes(mvhd.get(20..24)?.try_into().ok()?), u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?))
    } else {
        (u32::from_be_bytes(mvhd.get(12..16)?.try_into().ok()?), u64::from(u32::from_be_bytes(mvhd.get(16..20)?.try_into().ok()?)))
    };
    let unknown = timescale == 0 || duration == 0 || duration == u64::MAX || duration == u64::from(u32::MAX);
    (!unknown).then(|| Duration::from_secs_f64(duration as f64 / f64::from(timescale)))
}

#[cfg(test)]
pub(crate) mod build {
    //! Small movies built byte by byte for tests.

    /// A box of `kind` around `payload`.
    pub fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    /// A version-0 `mvhd` of `seconds` at a timescale of 1000, dated 2024.
    pub fn mvhd(seconds: u32) -> Vec<u8> {
        let mut p = vec![0u8; 100];
        p[4..8].copy_from_slice(&3_800_000_000u32.to_be_bytes());
        p[8..12].copy_from_slice(&3_800_000_001u32.to_be_bytes());
        p[12..16].copy_from_slice(&1000u32.to_be_bytes());
        p[16..20].copy_from_slice(&(seconds * 1000).to_be_bytes());
        mp4_box(b"mvhd", &p)
    }

    /// A `trak` whose handler is `handler`, with a `udta` naming a place.
    pub fn trak(handler: &[u8; 4]) -> Vec<u8> {
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0u8; 12]);
        hdlr.extend_from_slice(b"Handler\0");
        let mdia = mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr));
        let udta = mp4_box(b"udta", &mp4_box(b"\xa9xyz", b"+48.8584+002.2945/"));
        mp4_box(b"trak", &[mdia, udta].concat())
    }

    /// A movie of `brand` with the given tracks, `seconds` long, carrying a camera name, a
    /// location and an XMP packet.
    pub fn movie(brand: &[u8; 4], handlers: &[&[u8; 4]], seconds: u32) -> Vec<u8> {
        let ftyp = mp4_box(b"ftyp", &[brand.as_slice(), &[0, 0, 0, 0], brand, b"isom"].concat());
        let mut moov = mvhd(seconds);
        for h in handlers {
            moov.extend(trak(h));
        }
        moov.extend(mp4_box(b"meta", &[&[0u8; 4][..], &mp4_box(b"ilst", b"\xa9nam Holiday in Paris; iPhone 15 Pro")].concat()));
        moov.extend(mp4_box(b"udta", &mp4_box(b"\xa9mak", b"Apple")));
        let xmp = mp4_box(b"uuid", b"\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac<x:xmpmeta>Alice</x:xmpmeta>");
        [ftyp, mp4_box(b"moov", &moov), xmp, mp4_box(b"mdat", b"\x01\x02\x03\x04sample data")].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    fn holds(data: &[u8], needle: &[u8]) -> bool {
        data.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn metadata_boxes_become_free_space_of_the_same_size() {
        let original = movie(b"mp42", &[b"vide", b"soun"], 12);
        let mut data = original.clone();
        let found = clean(&mut data).unwrap();
        assert_eq!(found, Movie { duration: Some(Duration::from_secs(12)), has_video: true, has_sound: true });
        assert_eq!(data.len(), original.len(), "no offset moves");
        for secret in [&b"Paris"[..], b"iPhone", b"Apple", b"+48.8584", b"Alice", b"udta", b"meta", b"uuid"] {
            assert!(!holds(&data, secret), "{:?} remains", String::from_utf8_lossy(secret));
        }
        assert!(holds(&data, b"sample data"), "the media data is untouched");
        assert!(!holds(&data, &3_800_000_000u32.to_be_bytes()), "the dates are zeroed");
        assert_eq!(clean(&mut data.clone()).unwrap(), found, "a cleaned file stays readable");
    }

    #[test]
    fn tracks_and_duration_are_read() {
        let audio = clean(&mut movie(b"M4A ", &[b"soun"], 61)).unwrap();
        assert_eq!((audio.has_video, audio.has_sound, audio.duration), (false, true, Some(Duration::from_secs(61))));
        let silent = clean(&mut movie(b"isom", &[b"vide"], 5)).unwrap();
        assert!(silent.has_video && !silent.has_sound);
    }

    #[test]
    fn broken_movies_are_refused() {
        let whole = movie(b"isom", &[b"vide"], 5);
        assert!(clean(&mut whole[..whole.len() - 3].to_vec()).unwrap_err().contains("runs past the end"));
        let no_moov = [mp4_box(b"ftyp", b"isom\0\0\0\0isom"), mp4_box(b"mdat", b"x")].concat();
        assert!(clean(&mut no_moov.clone()).unwrap_err().contains("moov"));
        let mut tiny_box = mp4_box(b"ftyp", b"isom\0\0\0\0");
        tiny_box[3] = 4; // a size smaller than its header
        assert!(clean(&mut tiny_box).is_err());
    }
}
