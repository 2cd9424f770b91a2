//! `/media/{id}`: signed-URL media streaming with HTTP Range (decrypting only the chunks a
//! range needs), correct Content-Type, Length, Accept-Ranges, ETag and Content-Disposition.
//! Only images and videos are served inline; anything else is an `application/octet-stream`
//! attachment (see [`media_type::serving`]). Fetching a data export is audited.

use actix_web::body::SizedStream;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::state;
use super::client::client_info;
use super::responses::error_for_path;
use crate::domain::asset::Asset;
use crate::domain::ids::AssetId;
use crate::domain::media_type::{self, Serving};
use crate::error::AppError;
use crate::services::state::AppState;
use crate::services::studio::media::{self, LinkUse, MediaAccessError};

/// A parsed `Range: bytes=…` header (one range; multi-range requests get the whole file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    From(u64),
    Between(u64, u64),
    Last(u64),
}

impl ByteRange {
    /// Whether the range starts at the first byte (`bytes=0-`, `bytes=0-N`): how a player
    /// starts fetching a file, as opposed to seeking within it.
    fn starts_at_zero(self) -> bool {
        matches!(self, ByteRange::From(0) | ByteRange::Between(0, _))
    }
}

fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    match (start.trim(), end.trim()) {
        ("", n) => n.parse().ok().map(ByteRange::Last),
        (s, "") => s.parse().ok().map(ByteRange::From),
        (s, e) => Some(ByteRange::Between(s.parse().ok()?, e.parse().ok()?)),
    }
}

/// Resolves a range against a length into inclusive bounds; `Err(())` when unsatisfiable.
fn resolve(range: ByteRange, len: u64) -> Result<(u64, u64), ()> {
    if len == 0 {
        return Err(());
    }
    match range {
        ByteRange::From(s) if s < len => Ok((s, len - 1)),
        ByteRange::Between(s, e) if s <= e && s < len => Ok((s, e.min(len - 1))),
        ByteRange::Last(n) if n > 0 => Ok((len.saturating_sub(n), len - 1)),
        _ => Err(()),
    }
}

pub fn refuse(req: &HttpRequest, e: MediaAccessError) -> HttpResponse {
    let error = match &e {
        MediaAccessError::Expired => AppError::forbidden("media.link_expired", e.to_string()),
        MediaAccessError::Invalid => AppError::forbidden("media.link_invalid", e.to_string()),
        MediaAccessError::Range { len } => {
            return HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, format!("bytes */{len}")))
                .finish();
        }
        MediaAccessError::Service(crate::services::ServiceError::MediaUnavailable(reason)) => {
            AppError::from(crate::services::ServiceError::MediaUnavailable(reason.clone()))
        }
        MediaAccessError::Service(s) => AppError::from(crate::services::ServiceError::Internal(s.to_string())),
    };
    error_for_path(req.path(), &error)
}

/// `GET /media/{id}?…`: a signed link's file (a malformed id is 404 from the path extractor).
pub async fn serve(req: HttpRequest, id: web::Path<AssetId>) -> HttpResponse {
    let Ok(state) = state(&req) else { return error_for_path(req.path(), &AppError::internal()) };
    let query = req.query_string().to_string();
    let (asset, identity, link) = match media::authorize(&state, id.into_inner(), &query).await {
        Ok(found) => found,
        Err(e) => return refuse(&req, e),
    };
    let download = query.split('&').any(|p| p == "download=1");
    let fetch = Fetch { download, recorded: link == LinkUse::File };
    stream(&req, &state, &asset, identity, fetch).await
}

/// How a file is handed over.
#[derive(Debug, Clone, Copy)]
pub struct Fetch {
    /// As an attachment (saved as a file), whatever its type.
    pub download: bool,
    /// Whether the fetch is recorded (`media.downloaded`): not for a thumbnail link.
    pub recorded: bool,
}

/// Streams an asset the request may have (the caller checked that), honouring one `Range`,
/// with its type, length, ETag and a recognisable file name (`attachment` when
/// `fetch.download`, or when the file is not an image or video).
/// Shared by signed links and the OpenAI-compatible `/v1/videos/{id}/content`.
pub async fn stream(req: &HttpRequest, state: &AppState, asset: &Asset, identity: age::x25519::Identity, fetch: Fetch) -> HttpResponse {
    let download = fetch.download;
    let requested = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(parse_range);
    let etag = format!("\"{}\"", asset.sha256);
    // the name is ASCII letters, digits, dashes and a dot, so the plain RFC 6266 form suffices
    let name = media::download_name(state, asset).await;
    let (content_type, attachment) = match media_type::serving(&asset.content_type) {
        Serving::Inline(content_type) => (content_type, download),
        Serving::Attachment(content_type) => (content_type, true),
    };
    let disposition = format!("{}; filename=\"{name}\"", if attachment { "attachment" } else { "inline" });
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type)
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CONTENT_SECURITY_POLICY, crate::http::middleware::MEDIA_CSP))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"));
    let bounds = match requested {
        None => None,
        Some(range) => {
            let len = match media::length(state, asset, identity.clone()).await {
                Ok(len) => len,
                Err(e) => return refuse(req, e),
            };
            match resolve(range, len) {
                Ok(bounds) => Some((bounds, len)),
                Err(()) => return refuse(req, MediaAccessError::Range { len }),
            }
        }
    };
    let (len, stream) = match media::open(state, asset, identity, bounds.map(|(b, _)| b)).await {
        Ok(opened) => opened,
        Err(e) => return refuse(req, e),
    };
    // One audit row per fetch, once the file is open: a request with no Range, or one from the
    // first byte. A video being played or seeked sends a Range request per jump; those later
    // chunks are not audited one by one (the fetch that started them was).
    if fetch.recorded && requested.is_none_or(ByteRange::starts_at_zero) {
        let client = client_info(req, &state.config.trusted_proxies);
        if let Err(e) = media::record_download(state, asset, client, attachment).await {
            return refuse(req, MediaAccessError::Service(e));
        }
    }
    match bounds {
        None => response.body(SizedStream::new(len, stream)),
        Some(((start, end), total)) => {
            response.status(StatusCode::PARTIAL_CONTENT);
            response.insert_header((header::CONTENT_RANGE, format!("bytes {start}-{end}/{total}")));
            response.body(SizedStream::new(end - start + 1, stream))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_resolve_like_rfc_9110() {
        assert_eq!(parse_range("bytes=0-99"), Some(ByteRange::Between(0, 99)));
        assert_eq!(parse_range("bytes=100-"), Some(ByteRange::From(100)));
        assert_eq!(parse_range("bytes=-10"), Some(ByteRange::Last(10)));
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(resolve(ByteRange::Between(0, 999), 100), Ok((0, 99)));
        assert_eq!(resolve(ByteRange::Last(10), 100), Ok((90, 99)));
        assert_eq!(resolve(ByteRange::Last(1000), 100), Ok((0, 99)));
        assert_eq!(resolve(ByteRange::From(100), 100), Err(()));
        assert_eq!(resolve(ByteRange::Between(5, 4), 100), Err(()));
    }

    #[test]
    fn only_ranges_from_the_first_byte_count_as_a_fetch() {
        assert!(ByteRange::From(0).starts_at_zero() && ByteRange::Between(0, 1).starts_at_zero());
        assert!(
            !ByteRange::From(65_536).starts_at_zero()
                && !ByteRange::Between(10, 20).starts_at_zero()
                && !ByteRange::Last(10).starts_at_zero()
        );
    }
}
