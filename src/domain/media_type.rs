//! What a stored file is, decided from its first bytes (never from what a provider claims), and
//! how our origin may serve it: only raster images, videos and audio are ever shown inline;
//! SVG (which can carry script) is known by its type but always served as an attachment.

/// How many leading bytes [`sniff`] looks at (enough for an SVG's XML prolog, comments and
/// doctype before its `<svg` element).
pub const SNIFF_LEN: usize = 1024;

/// The type of an SVG document.
pub const SVG: &str = "image/svg+xml";

/// The type of a file that is not a supported image, video or audio file.
pub const OPAQUE: &str = "application/octet-stream";

/// Types a browser may render from our origin: they cannot carry script.
const INLINE: [&str; 11] = [
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/avif",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "audio/wav",
    "audio/mpeg",
    "audio/mp4",
];

/// Types served as what they are, but only ever as attachments: archives this service makes
/// itself (data exports), and SVG documents (they can carry script).
const ATTACHMENTS: [&str; 2] = ["application/zip", SVG];

/// ISO base media brands of MP4 video.
const MP4_BRANDS: [&[u8; 4]; 14] =
    [b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"mmp4", b"MSNV", b"f4v "];

/// ISO base media brands of audio-only MP4 (M4A, audio books).
const M4A_BRANDS: [&[u8; 4]; 2] = [b"M4A ", b"M4B "];

/// The file-name extension of a stored type (`bin` for anything else).
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "image/avif" => "avif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "audio/wav" => "wav",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "application/zip" => "zip",
        SVG => "svg",
        _ => "bin",
    }
}

/// The image (SVG included), video or audio type of a file from its first bytes (at least
/// [`SNIFF_LEN`] when the file is that long); `None` for anything else (HTML, script, PDF,
/// unknown).
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if is_svg(head) {
        return Some(SVG);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Some("image/webp");
    }
    if head.starts_with(b"\x1a\x45\xdf\xa3") && head.windows(4).any(|w| w == b"webm") {
        return Some("video/webm");
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        return Some("audio/wav");
    }
    if is_mp3(head) {
        return Some("audio/mpeg");
    }
    match head.get(4..8) {
        Some(b"ftyp") => iso_media(head),
        // QuickTime files from before `ftyp` start with one of these atoms
        Some(b"moov" | b"mdat" | b"wide") => Some("video/quicktime"),
        _ => None,
    }
}

/// An ISO base media file (`ftyp` box) by its brands: AVIF, QuickTime or MP4.
fn iso_media(head: &[u8]) -> Option<&'static str> {
    let declared = head.get(0..4).map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize).unwrap_or(0);
    let end = declared.clamp(16, head.len().max(16)).min(head.len());
    let major = head.get(8..12)?;
    // the major brand, then the compatible brands (the minor version at 12..16 is skipped)
    let brands: Vec<&[u8]> = std::iter::once(major).chain(head.get(16..end).unwrap_or_default().chunks_exact(4)).collect();
    if brands.iter().any(|b| *b == b"avif" || *b == b"avis") {
        Some("image/avif")
    } else if M4A_BRANDS.iter().any(|m| m.as_slice() == major) {
        Some("audio/mp4")
    } else if major == b"qt  " {
        Some("video/quicktime")
    } else if brands.iter().any(|b| MP4_BRANDS.iter().any(|m| m.as_slice() == *b)) {
        Some("video/mp4")
    } else {
        None
    }
}

/// An SVG document: after an optional byte-order mark, whitespace, XML declaration,
/// processing instructions, comments and a doctype naming `svg`, the root element is `<svg`
/// (without a namespace prefix). Anything that ends before the root element is not taken for SVG.
fn is_svg(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    loop {
        rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(rest.len())..];
        let skipped = if rest.starts_with(b"<?") {
            after(rest, b"?>")
        } else if rest.starts_with(b"<!--") {
            after(rest, b"-->")
        } else if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<!doctype") {
            // the doctype names the root element (`svg`, not `html`)
            let name = rest[9..].trim_ascii_start();
            if !(name.len() > 3 && name[..3].eq_ignore_ascii_case(b"svg") && !name[3].is_ascii_alphanumeric()) {
                return false;
            }
            // a doctype may carry an internal subset in brackets
            match (rest.iter().position(|b| *b == b'['), rest.iter().position(|b| *b == b'>')) {
                (Some(open), Some(close)) if open < close => after(rest, b"]>"),
                _ => after(rest, b">"),
            }
        } else {
            break;
        };
        match skipped {
            Some(tail) => rest = tail,
            None => return false,
        }
    }
    rest.starts_with(b"<svg") && rest.get(4).is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
}

/// What follows the first `end` in `bytes`, if it is there.
fn after<'a>(bytes: &'a [u8], end: &[u8]) -> Option<&'a [u8]> {
    bytes.windows(end.len()).position(|w| w == end).map(|at| &bytes[at + end.len()..])
}

/// An MP3 file: an ID3v2 tag, or an MPEG audio frame header (sync, layer III, a valid bitrate
/// and sample rate) at the very start.
fn is_mp3(head: &[u8]) -> bool {
    if head.starts_with(b"ID3") {
        return true;
    }
    match head.get(0..3) {
        Some(&[0xFF, b1, b2]) => {
            b1 & 0xE0 == 0xE0 && (b1 >> 1) & 0b11 == 0b01 && (b2 >> 4) != 0 && (b2 >> 4) != 0xF && (b2 >> 2) & 0b11 != 0b11
        }
        _ => false,
    }
}

/// What a file input for a reference of `media` offers to pick (its `accept` attribute); the
/// server decides from the bytes either way.
pub fn upload_accept(media: super::catalog::InputMedia) -> &'static str {
    match media {
        super::catalog::InputMedia::Image => "image/png,image/jpeg,image/webp",
        super::catalog::InputMedia::Video => "video/mp4,video/quicktime,video/webm,.mp4,.mov,.webm",
        super::catalog::InputMedia::Audio => "audio/wav,audio/x-wav,audio/mpeg,audio/mp4,.wav,.mp3,.m4a",
    }
}

/// How our origin serves a stored file of a recorded type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// An image, video or audio file: shown (played) in the page, or saved when the person asks.
    Inline(&'static str),
    /// Anything else (SVG, archives, unknown): always saved as a file, never rendered from our
    /// origin.
    Attachment(&'static str),
}

/// How to serve a file recorded as `content_type` (files stored before types were decided from
/// the bytes may carry whatever a provider claimed: those are attachments of [`OPAQUE`]).
pub fn serving(content_type: &str) -> Serving {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if let Some(known) = INLINE.iter().find(|t| **t == essence) {
        return Serving::Inline(known);
    }
    match ATTACHMENTS.iter().find(|t| **t == essence) {
        Some(known) => Serving::Attachment(known),
        None => Serving::Attachment(OPAQUE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut out = (size as u32).to_be_bytes().to_vec();
        out.extend_from_slice(b"ftyp");
        out.extend_from_slice(major);
        out.extend_from_slice(&[0, 0, 2, 0]);
        for brand in compatible {
            out.extend_from_slice(*brand);
        }
        out.extend_from_slice(b"\0\0\0\x08free");
        out
    }

    #[test]
    fn images_and_videos_are_told_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"), Some("video/webm"));
        assert_eq!(sniff(&ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"])), Some("video/mp4"));
        assert_eq!(sniff(&ftyp(b"mp42", &[])), Some("video/mp4"));
        assert_eq!(sniff(&ftyp(b"avif", &[b"mif1", b"miaf"])), Some("image/avif"));
        assert_eq!(sniff(&ftyp(b"mif1", &[b"avif", b"miaf"])), Some("image/avif"));
        assert_eq!(sniff(&ftyp(b"qt  ", &[b"qt  "])), Some("video/quicktime"));
        assert_eq!(sniff(b"\0\0\0\x08wide\0\0\0\x10mdat"), Some("video/quicktime"));
    }

    #[test]
    fn everything_else_is_unknown() {
        for head in [
            &b"<!doctype html><script>alert(1)</script>"[..],
            b"<!doctype html><svg onload=\"alert(1)\"/>",
            b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"/>",
            b"<svgx/>",
            b"<!-- never closed <svg>",
            b"alert(document.cookie)",
            b"%PDF-1.7\n",
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska",
            b"",
            b"\x89PN",
        ] {
            assert_eq!(sniff(head), None, "{:?}", String::from_utf8_lossy(head));
        }
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1", b"heic"])), None, "HEIF is not an image we serve");
        assert_eq!(sniff(&ftyp(b"mp42", &[b"M4A "])), Some("video/mp4"), "an MP4 container plays as video");
    }

    #[test]
    fn audio_is_told_by_its_bytes() {
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\0"), Some("audio/mpeg"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64, 0, 0]), Some("audio/mpeg"), "a bare MPEG-1 layer III frame");
        assert_eq!(sniff(&ftyp(b"M4A ", &[b"M4A ", b"mp42", b"isom"])), Some("audio/mp4"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0xF0, 0x64]), None, "a bitrate index of 15 is not a frame");
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), None, "ADTS (layer 0) is not MP3");
    }

    #[test]
    fn only_images_videos_and_audio_are_served_inline() {
        assert_eq!(serving("image/png"), Serving::Inline("image/png"));
        assert_eq!(serving("Video/MP4; codecs=avc1"), Serving::Inline("video/mp4"));
        assert_eq!(serving("audio/mpeg"), Serving::Inline("audio/mpeg"));
        assert_eq!(serving("application/zip"), Serving::Attachment("application/zip"));
        assert_eq!(serving("image/SVG+xml; charset=utf-8"), Serving::Attachment(SVG), "SVG can carry script: never inline");
        for other in ["text/html", "audio/x-unknown", "application/javascript", "application/pdf", "text/plain", "", OPAQUE] {
            assert_eq!(serving(other), Serving::Attachment(OPAQUE), "{other}");
        }
    }

    #[test]
    fn svg_documents_are_known_after_a_prolog_comments_and_a_doctype() {
        for head in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"[..],
            b"<svg>",
            b"\xef\xbb\xbf  \n<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg\n width=\"8\">",
            b"<?xml version=\"1.0\"?>\n<!-- Generator: Recraft -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<svg version=\"1.1\">",
            b"<!doctype svg [ <!ENTITY a \"b\"> ]><svg/>",
        ] {
            assert_eq!(sniff(head), Some(SVG), "{:?}", String::from_utf8_lossy(head));
        }
    }
}
