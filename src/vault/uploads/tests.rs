//! Tests of upload cleaning with images generated here (no binary fixtures).

use image::codecs::webp::WebPEncoder;
use image::{ImageEncoder, RgbImage, RgbaImage};

use super::*;

const MAX_BYTES: u64 = 20 * 1024 * 1024;
const MAX_PIXELS: u64 = 40_000_000;

fn pattern(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x + y) % 256) as u8]))
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(pattern(width, height)).write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85)).expect("encode jpeg");
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(pattern(width, height)).write_with_encoder(PngEncoder::new(&mut out)).expect("encode png");
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len()).expect("len").to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

const GPS_MARKER: &[u8] = b"WGS-84 REELVAULT-GPS";

/// An EXIF APP1 segment (little-endian TIFF) with Orientation = 6 (rotate 90° clockwise) and
/// a GPS IFD holding GPSLatitudeRef and a recognisable GPSMapDatum string.
fn exif_app1() -> Vec<u8> {
    let mut datum = GPS_MARKER.to_vec();
    datum.push(0);
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&value);
        e
    };
    let ifd0_at = 8u32;
    let gps_at = ifd0_at + 2 + 2 * 12 + 4;
    let data_at = gps_at + 2 + 2 * 12 + 4;
    let mut tiff = b"II\x2a\x00".to_vec();
    tiff.extend_from_slice(&ifd0_at.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x0112, 3, 1, [6, 0, 0, 0])); // Orientation, SHORT
    tiff.extend(entry(0x8825, 4, 1, gps_at.to_le_bytes())); // GPSInfo IFD pointer, LONG
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0")); // GPSLatitudeRef, ASCII
    let datum_len = u32::try_from(datum.len()).expect("len");
    tiff.extend(entry(0x0012, 2, datum_len, data_at.to_le_bytes())); // GPSMapDatum
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&datum);

    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&u16::try_from(payload.len() + 2).expect("len").to_be_bytes());
    app1.extend_from_slice(&payload);
    app1
}

#[test]
fn jpeg_loses_exif_and_gps_and_is_turned_upright() {
    let plain = jpeg(40, 20);
    let mut tagged = plain[..2].to_vec(); // SOI
    tagged.extend(exif_app1());
    tagged.extend_from_slice(&plain[2..]);
    assert!(contains(&tagged, b"Exif") && contains(&tagged, GPS_MARKER));

    let clean = sanitize(&tagged, MAX_BYTES, MAX_PIXELS).expect("clean");
    assert_eq!(clean.content_type, "image/jpeg");
    assert!(clean.bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(!contains(&clean.bytes, b"Exif"), "EXIF survived");
    assert!(!contains(&clean.bytes, GPS_MARKER), "GPS survived");
    assert!(!contains(&clean.bytes, &[0xFF, 0xE1]), "an APP1 segment survived");
    // Orientation 6 rotates the 40x20 image to 20x40.
    assert_eq!((clean.width, clean.height), (20, 40));
    let decoded = image::load_from_memory(&clean.bytes).expect("decodes");
    assert_eq!((decoded.width(), decoded.height()), (20, 40));

    let untagged = sanitize(&plain, MAX_BYTES, MAX_PIXELS).expect("clean");
    assert_eq!((untagged.width, untagged.height), (40, 20));
}

#[test]
fn png_loses_text_chunks() {
    let plain = png(16, 12);
    let secret = b"Comment\0REELVAULT-SECRET-TEXT";
    let ihdr_end = 8 + 25;
    let mut tagged = plain[..ihdr_end].to_vec();
    tagged.extend(png_chunk(b"tEXt", secret));
    tagged.extend_from_slice(&plain[ihdr_end..]);
    assert!(image::load_from_memory(&tagged).is_ok(), "the tagged PNG is valid");

    let clean = sanitize(&tagged, MAX_BYTES, MAX_PIXELS).expect("clean");
    assert_eq!(clean.content_type, "image/png");
    assert_eq!((clean.width, clean.height), (16, 12));
    assert!(!contains(&clean.bytes, b"tEXt"));
    assert!(!contains(&clean.bytes, b"REELVAULT-SECRET-TEXT"));
    let decoded = image::load_from_memory(&clean.bytes).expect("decodes").to_rgb8();
    assert_eq!(decoded, pattern(16, 12), "PNG is lossless");
}

#[test]
fn webp_becomes_png() {
    let source = RgbaImage::from_fn(9, 7, |x, y| image::Rgba([x as u8 * 20, y as u8 * 30, 99, 200]));
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp).write_image(source.as_raw(), 9, 7, image::ExtendedColorType::Rgba8).expect("encode webp");
    assert!(webp.starts_with(b"RIFF"));

    let clean = sanitize(&webp, MAX_BYTES, MAX_PIXELS).expect("clean");
    assert_eq!(clean.content_type, "image/png");
    assert!(clean.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!((clean.width, clean.height), (9, 7));
    let decoded = image::load_from_memory(&clean.bytes).expect("decodes").to_rgba8();
    assert_eq!(decoded, source);
}

#[test]
fn other_types_are_refused_by_magic_bytes() {
    for input in [
        b"hello, this is a text file\n".as_slice(),
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"\x89PN",
    ] {
        let err = sanitize(input, MAX_BYTES, MAX_PIXELS).expect_err("refused");
        assert!(matches!(err, UploadError::UnsupportedType), "{err}");
        assert!(err.to_string().contains("PNG, JPEG and WebP"));
    }
    assert!(matches!(sanitize(b"", MAX_BYTES, MAX_PIXELS), Err(UploadError::Empty)));
}

#[test]
fn truncated_and_broken_images_are_corrupt() {
    let whole = png(64, 64);
    for cut in [9, 40, whole.len() / 2, whole.len() - 13] {
        let err = sanitize(&whole[..cut], MAX_BYTES, MAX_PIXELS).expect_err("truncated");
        assert!(matches!(err, UploadError::Corrupt(_)), "cut {cut}: {err}");
    }
    let whole = jpeg(64, 64);
    for cut in [4, 100, whole.len() / 2] {
        let err = sanitize(&whole[..cut], MAX_BYTES, MAX_PIXELS).expect_err("truncated");
        assert!(matches!(err, UploadError::Corrupt(_)), "jpeg cut {cut}: {err}");
    }
    // Data after the end-of-image marker (a motion photo's video) is fine and dropped.
    let mut trailing = whole.clone();
    trailing.extend_from_slice(b"\0\0\0\x18ftypmp42 not part of the image");
    let clean = sanitize(&trailing, MAX_BYTES, MAX_PIXELS).expect("trailing data");
    assert!(!contains(&clean.bytes, b"ftypmp42"));

    let err = sanitize(b"RIFF\x10\x00\x00\x00WEBPVP8 junk", MAX_BYTES, MAX_PIXELS).expect_err("broken webp");
    assert!(matches!(err, UploadError::Corrupt(_)), "{err}");
}

#[test]
fn huge_dimensions_are_refused_before_decoding() {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend(png_chunk(b"IHDR", &ihdr));
    // An empty zlib stream: the header is honest, the pixels are missing.
    bomb.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    bomb.extend(png_chunk(b"IEND", &[]));

    let err = sanitize(&bomb, MAX_BYTES, MAX_PIXELS).expect_err("too many pixels");
    assert!(matches!(err, UploadError::TooManyPixels { width: 30_000, height: 30_000, max: MAX_PIXELS }), "{err}");
    // With the limit raised it is only then decoded, and fails as corrupt (no pixel data),
    // within the decoder memory limit.
    let err = sanitize(&bomb, MAX_BYTES, 1_000_000_000).expect_err("no pixel data");
    assert!(matches!(err, UploadError::Corrupt(_)), "{err}");

    let small = png(100, 100);
    assert!(matches!(sanitize(&small, MAX_BYTES, 9_999), Err(UploadError::TooManyPixels { width: 100, height: 100, max: 9_999 })));
    assert!(sanitize(&small, MAX_BYTES, 10_000).is_ok());
}

#[test]
fn oversize_input_is_refused_first() {
    let small = png(100, 100);
    let len = small.len() as u64;
    assert!(matches!(
        sanitize(&small, len - 1, MAX_PIXELS),
        Err(UploadError::TooLarge { max }) if max == len - 1
    ));
    assert!(sanitize(&small, len, MAX_PIXELS).is_ok());
    // Size is checked before anything else, even the type.
    let junk = vec![0u8; 1000];
    assert!(matches!(sanitize(&junk, 999, MAX_PIXELS), Err(UploadError::TooLarge { max: 999 })));
}
