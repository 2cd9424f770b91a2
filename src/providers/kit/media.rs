//! Small readers adapters share: a job's parameters by type, and image types from a format
//! name, a file extension or a URL.

use crate::domain::catalog::{ParamValue, Params};

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
