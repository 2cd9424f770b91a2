//! Outputs on signed or public URLs: fetched without credentials, refused early when their
//! declared size is over the cap, streamed under it.

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
/// mean the URL expired or the file is gone (`NotFound`); other failures are classed by
/// status. `source` names the URL in messages ("Luma's output URL").
pub async fn fetch_keyless(client: &OutboundClient, url: &url::Url, cap: u64, source: &str) -> Result<ByteStream, ProviderError> {
    let response = wire::send(client.get(url)).await?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        let message = format!("{source} answered HTTP {status}");
        return Err(match status {
            403 | 404 | 410 => ProviderError::NotFound(message),
            _ => wire::classify(status, "", message, wire::retry_after(response.headers())),
        });
    }
    stream_body(response, cap)
}
