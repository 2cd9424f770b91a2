//! Validation and cleaning of uploaded reference images: limits, magic bytes, re-encoding.
//!
//! [`sanitize`] accepts PNG, JPEG and WebP, decided by magic bytes only. It checks the byte
//! size, then the pixel count from the header before decoding anything, decodes under a memory
//! limit, applies the EXIF orientation, and re-encodes (JPEG as JPEG, PNG and WebP as PNG).
//! [`decode_cost`] tells from the header alone how much memory that will take.
//! Re-encoding writes pixels only, so EXIF (GPS included), XMP, IPTC, text chunks and ICC
//! profiles are all dropped. It is CPU-bound: call it from the blocking pool.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// JPEG re-encoding quality.
const JPEG_QUALITY: u8 = 90;
/// Decoder memory beyond the output buffer (tables, row buffers, ancillary chunks).
const DECODER_SLACK: u64 = 64 * 1024 * 1024;
/// Largest output buffer per pixel (16-bit RGBA).
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// An uploaded image after cleaning: re-encoded pixels and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanImage {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is larger than the limit of {max} bytes")]
    TooLarge { max: u64 },
    #[error("the upload is empty")]
    Empty,
    #[error("unsupported file type: only PNG, JPEG and WebP images are accepted")]
    UnsupportedType,
    #[error("the image is {width}x{height} pixels; at most {max} pixels are allowed")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image could not be read: {0}")]
    Corrupt(String),
    #[error("the image could not be re-encoded: {0}")]
    Encode(String),
}

/// The accepted formats, by magic bytes.
fn sniff(input: &[u8]) -> Option<ImageFormat> {
    if input.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if input.len() >= 12 && input.starts_with(b"RIFF") && &input[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// Whether a JPEG has an end-of-image marker after its first scan. Walks the marker segments
/// (so thumbnails inside APP1 do not count); entropy-coded data never holds FF D9 (FF bytes in
/// it are stuffed), so any FF D9 after the start of scan is the real end. Bytes after the end
/// (e.g. a motion photo's video) are allowed; they are dropped by re-encoding.
fn jpeg_has_end(input: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 1 < input.len() {
        if input[i] != 0xFF {
            return false;
        }
        match input[i + 1] {
            0xFF => i += 1, // fill byte
            0xDA => return input[i..].windows(2).any(|w| w == [0xFF, 0xD9]),
            0xD9 => return false,         // end before any scan
            0x01 | 0xD0..=0xD7 => i += 2, // markers without a length
            _ => {
                let Some(len) = input.get(i + 2..i + 4) else {
                    return false;
                };
                i += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
            }
        }
    }
    false
}

fn corrupt(err: ImageError) -> UploadError {
    match err {
        ImageError::Limits(_) => UploadError::Corrupt("decoding needs more memory than allowed".to_string()),
        other => UploadError::Corrupt(other.to_string()),
    }
}

/// The memory decoding and re-encoding `input` takes at most, in bytes, read from its header
/// alone (nothing is decoded): its decoded pixels, twice (the encoder may convert a copy).
/// Refuses what [`sanitize`] would refuse before decoding (size, type, pixel count).
pub fn decode_cost(input: &[u8], max_bytes: u64, max_pixels: u64) -> Result<u64, UploadError> {
    let (_, decoder) = open(input, max_bytes, max_pixels)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width).saturating_mul(u64::from(height));
    Ok(pixels.saturating_mul(u64::from(decoder.color_type().bytes_per_pixel())).saturating_mul(2))
}

/// Checks the size and type of `input` and parses its header into a decoder under a memory
/// limit, refusing more than `max_pixels` pixels before anything is decoded.
fn open(input: &[u8], max_bytes: u64, max_pixels: u64) -> Result<(ImageFormat, impl ImageDecoder + '_), UploadError> {
    if u64::try_from(input.len()).unwrap_or(u64::MAX) > max_bytes {
        return Err(UploadError::TooLarge { max: max_bytes });
    }
    if input.is_empty() {
        return Err(UploadError::Empty);
    }
    let format = sniff(input).ok_or(UploadError::UnsupportedType)?;
    // The JPEG decoder pads a truncated scan with grey instead of failing: check the end.
    if format == ImageFormat::Jpeg && !jpeg_has_end(input) {
        return Err(UploadError::Corrupt("the JPEG file is truncated (no end-of-image marker)".to_string()));
    }

    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL).saturating_add(DECODER_SLACK));
    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    reader.limits(limits);
    // Building the decoder parses headers only: nothing is decoded yet.
    let decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width).saturating_mul(u64::from(height)) > max_pixels {
        return Err(UploadError::TooManyPixels { width, height, max: max_pixels });
    }
    if width == 0 || height == 0 {
        return Err(UploadError::Corrupt("the image has no pixels".to_string()));
    }
    Ok((format, decoder))
}

/// Validates an uploaded image and re-encodes it without metadata.
pub fn sanitize(input: &[u8], max_bytes: u64, max_pixels: u64) -> Result<CleanImage, UploadError> {
    let (format, mut decoder) = open(input, max_bytes, max_pixels)?;
    // A broken EXIF block is no reason to refuse the pixels; it is dropped anyway.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());

    let (bytes, content_type) = match format {
        ImageFormat::Jpeg => (encode_jpeg(&image)?, "image/jpeg"),
        _ => (encode_png(image)?, "image/png"),
    };
    Ok(CleanImage { bytes, content_type, width, height })
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, UploadError> {
    let image = match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => image.clone(),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    let mut out = Vec::new();
    image.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)).map_err(|e| UploadError::Encode(e.to_string()))?;
    Ok(out)
}

fn encode_png(image: DynamicImage) -> Result<Vec<u8>, UploadError> {
    let image = match image.color() {
        ColorType::Rgb32F | ColorType::Rgba32F => DynamicImage::ImageRgba16(image.to_rgba16()),
        _ => image,
    };
    let mut out = Vec::new();
    image.write_with_encoder(PngEncoder::new(&mut out)).map_err(|e| UploadError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
