//! Embedded css, js and icons: served with an ETag from the embedded hash, 304 on
//! revalidation, and a year of immutable caching when the URL names the current version.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

use super::responses::error_for_path;
use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// The version tag of an asset: the first 12 hex digits of its SHA-256.
pub fn version(path: &str) -> Option<String> {
    Assets::get(path).map(|f| hex::encode(&f.metadata.sha256_hash()[..6]))
}

/// The versioned URL of an asset, for templates.
pub fn url(path: &str) -> String {
    match version(path) {
        Some(v) => format!("/assets/{path}?v={v}"),
        None => format!("/assets/{path}"),
    }
}

#[derive(serde::Deserialize)]
pub struct VersionQuery {
    v: Option<String>,
}

pub async fn serve(req: HttpRequest, path: web::Path<String>, query: web::Query<VersionQuery>) -> HttpResponse {
    let Some(file) = Assets::get(path.as_str()) else {
        return error_for_path(req.path(), &AppError::not_found());
    };
    let hash = hex::encode(file.metadata.sha256_hash());
    let etag = format!("\"{hash}\"");
    let immutable = query.v.as_deref().is_some_and(|v| hash.starts_with(v) && v.len() == 12);
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return HttpResponse::NotModified().insert_header((header::ETAG, etag)).insert_header((header::CACHE_CONTROL, cache)).finish();
    }
    HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned())
}
