//! Small readers adapters share: a job's parameters by type, and image types from a format
//! name, a file extension or a URL.

use crate::domain::catalog::{ParamValue, Params, ReferenceRole};

/// A text parameter.
pub fn text_param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    match params.get(name) {
        Some(ParamValue::Text(t)) => Some(t.as_str()),
        _ => None,
    }
}

/// A whole-number parameter.
pub fn int_param(params: &Params, name: &str) -> Option<i64> {
    match params.get(name) {
        Some(ParamValue::Int(n)) => Some(*n),
        _ => None,
    }
}

/// The MIME type of an `output_format` (`png` unless it says JPEG or WebP).
pub fn image_type_of_format(format: &str) -> &'static str {
    match format {
        "jpeg" | "jpg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "image/png",
    }
}

/// The MIME type of an image URL, from its path's extension (`png` when unknown).
pub fn image_type_of_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    let extension = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    image_type_of_format(extension)
}

/// The file extension of an image type (`png` unless JPEG or WebP).
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    }
}

/// A reference as a `data:` URI (`data:image/png;base64,…`), for APIs that take media inline.
pub fn data_uri(content_type: &str, bytes: &[u8]) -> String {
    use base64::Engine;
    format!("data:{content_type};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The `content[]` item type and role of a reference in the shared text/image/video/audio
/// content-list format (MiniMax v2, Seedance): `("image_url", "first_frame")`, … `None` for a
/// role the format has no word for.
pub fn content_item_of(role: ReferenceRole) -> Option<(&'static str, &'static str)> {
    match role {
        ReferenceRole::FirstFrame => Some(("image_url", "first_frame")),
        ReferenceRole::LastFrame => Some(("image_url", "last_frame")),
        ReferenceRole::Reference => Some(("image_url", "reference_image")),
        // a video to extend or edit is a reference video in this format
        ReferenceRole::ReferenceVideo | ReferenceRole::SourceVideo => Some(("video_url", "reference_video")),
        ReferenceRole::ReferenceAudio => Some(("audio_url", "reference_audio")),
        ReferenceRole::DrivingAudio => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_types_from_formats_urls_and_back() {
        assert_eq!(image_type_of_format("jpg"), "image/jpeg");
        assert_eq!(image_type_of_url("https://cdn.example/a/b.JPEG?sig=1"), "image/jpeg");
        assert_eq!(image_type_of_url("https://cdn.example/a/b.webp#x"), "image/webp");
        assert_eq!(image_type_of_url("https://cdn.example/a/b"), "image/png");
        assert_eq!(extension_of("image/webp"), "webp");
        assert_eq!(extension_of("image/gif"), "png");
    }
}
