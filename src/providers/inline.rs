//! Outputs that arrive inside an API's answer (base64 images from synchronous APIs): held in
//! memory between the answer and custody, never written to disk in plaintext. After a
//! restart they are gone, and custody fails with `provider.not_found` (the hold is released).

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use super::{ByteStream, ProviderError};
use crate::domain::generation::{OutputRef, UpstreamHandle};

/// The prefix of an inline output's location.
const PREFIX: &str = "inline:";

/// The outputs one adapter holds until custody takes them.
#[derive(Default)]
pub struct InlineOutputs {
    held: Mutex<HashMap<String, Bytes>>,
}

impl InlineOutputs {
    /// Holds the `n`th output of `job`; the location goes into the job's outputs.
    pub fn hold(&self, job: &str, n: usize, content_type: &str, bytes: Bytes) -> OutputRef {
        let location = format!("{PREFIX}{job}/{n}");
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(location.clone(), bytes);
        OutputRef::new(location, Some(content_type.to_string()))
    }

    /// Whether `output` is one of ours (else the adapter fetches it over HTTP).
    pub fn is_inline(output: &OutputRef) -> bool {
        output.location.starts_with(PREFIX)
    }

    /// Streams a held output (it stays held until [`InlineOutputs::forget`], so a retried
    /// custody finds it again).
    pub fn take(&self, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = held.get(&output.location).cloned().ok_or_else(|| {
            ProviderError::NotFound("the provider's answer was held in memory and the server restarted before it was stored".into())
        })?;
        if bytes.len() as u64 > cap {
            return Err(ProviderError::TooLarge { cap });
        }
        Ok(Box::pin(futures_util::stream::iter([Ok(bytes)])))
    }

    /// Cancels a job whose outputs came in the answer: nothing runs upstream after it, so
    /// only what is held here goes.
    pub fn cancel(&self, handle: &UpstreamHandle) -> Result<(), ProviderError> {
        self.forget(&handle.id);
        Ok(())
    }

    /// Deletes a job whose outputs came in the answer: nothing is kept upstream (`false`),
    /// only the copy held here goes.
    pub fn delete(&self, handle: &UpstreamHandle) -> Result<bool, ProviderError> {
        self.forget(&handle.id);
        Ok(false)
    }

    /// Drops every output held for `job` (after custody, or when it is abandoned).
    pub fn forget(&self, job: &str) {
        let prefix = format!("{PREFIX}{job}/");
        self.held.lock().unwrap_or_else(|p| p.into_inner()).retain(|k, _| !k.starts_with(&prefix));
    }
}

/// Decodes standard base64 (with or without padding, or a `data:` URI) as an output.
pub fn decode_base64(text: &str) -> Result<Bytes, ProviderError> {
    use base64::Engine;
    let payload = match text.strip_prefix("data:") {
        Some(uri) => uri.split_once(',').map(|(_, data)| data).unwrap_or_default(),
        None => text,
    };
    // padding optional; line breaks (some encoders wrap at 76 columns) dropped, in a copy
    // only when there are any
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let payload = payload.as_bytes();
    let cleaned: std::borrow::Cow<[u8]> = if payload.iter().any(u8::is_ascii_whitespace) {
        payload.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect::<Vec<u8>>().into()
    } else {
        payload.into()
    };
    LENIENT
        .decode(cleaned)
        .map(Bytes::from)
        .map_err(|e| ProviderError::Transient(format!("the provider sent an image that is not valid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[test]
    fn base64_outputs_decode_with_or_without_padding_line_breaks_or_a_data_uri() {
        let plain = b"any image bytes!";
        for text in [
            "YW55IGltYWdlIGJ5dGVzIQ==",
            "YW55IGltYWdlIGJ5dGVzIQ",
            "YW55IGlt\nYWdlIGJ5\r\ndGVzIQ==",
            "data:image/png;base64,YW55IGltYWdlIGJ5dGVzIQ==",
        ] {
            assert_eq!(decode_base64(text).unwrap(), Bytes::from_static(plain), "{text:?}");
        }
        assert_eq!(decode_base64("not base64!").unwrap_err().code(), "provider.transient");
    }

    #[tokio::test]
    async fn held_outputs_stream_back_until_forgotten() {
        let inline = InlineOutputs::default();
        let out = inline.hold("job1", 0, "image/png", Bytes::from_static(b"png bytes"));
        assert!(InlineOutputs::is_inline(&out));
        let mut stream = inline.take(&out, 100).unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), Bytes::from_static(b"png bytes"));
        assert_eq!(inline.take(&out, 3).err(), Some(ProviderError::TooLarge { cap: 3 }));
        inline.forget("job1");
        assert_eq!(inline.take(&out, 100).err().map(|e| e.code()), Some("provider.not_found"));
    }

    #[test]
    fn base64_with_or_without_padding_or_data_uri() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), Bytes::from_static(b"hello"));
        assert_eq!(decode_base64("aGVsbG8").unwrap(), Bytes::from_static(b"hello"));
        assert_eq!(decode_base64("data:image/png;base64,aGVsbG8=").unwrap(), Bytes::from_static(b"hello"));
        assert!(decode_base64("not base64 at all!").is_err());
    }
}
