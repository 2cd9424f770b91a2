//! Outputs on signed or public URLs: fetched without credentials, refused early when their
//! declared size is over the cap, streamed under it.

use super::ErrorTable;
use crate::providers::http::OutboundClient;
use crate::providers::{ByteStream, ProviderError, wire};

/// A successful download answer as a capped stream (refused at once when its
/// Content-Length is over `cap`).
pub fn stream_body(response: reqwest::Response, cap: u64) -> Result<ByteStream, ProviderError> {
    if response.content_length().is_some_and(|len| len > cap) {
        return Err(ProviderError::TooLarge { cap });
    }
    Ok(wire::download(response, cap))
}

/// Downloads `url` without any key (signed CDN URLs must never receive it). 403, 404 and 410
/// mean the URL expired or the file is gone: `NotFound` with the message `gone(status)`.
/// Other failures are read with the adapter's `errors` table, or classed by status alone.
pub async fn fetch_keyless(
    client: &OutboundClient,
    url: &url::Url,
    cap: u64,
    gone: impl Fn(u16) -> String,
    errors: Option<&ErrorTable>,
) -> Result<ByteStream, ProviderError> {
    let response = wire::send(client.get(url)).await?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return stream_body(response, cap);
    }
    Err(match (status, errors) {
        (403 | 404 | 410, _) => ProviderError::NotFound(gone(status)),
        (_, Some(errors)) => errors.error_from(response).await,
        (_, None) => wire::classify(status, "", gone(status), wire::retry_after(response.headers())),
    })
}
