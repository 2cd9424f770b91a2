//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, sent as `webhook-signature: v1,<base64>`. Used to verify
//! providers' callbacks and to sign the events this instance sends.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// The prefix of a signing secret in its shareable form (`whsec_<base64 of the key>`).
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the webhook timestamp is not a number")]
    BadTimestamp,
    #[error("the webhook timestamp is too old or in the future")]
    Stale,
    #[error("the webhook signature does not verify")]
    Mismatch,
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The `webhook-signature` value for one message: `v1,<base64>`.
pub fn sign(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(mac(key, id, &timestamp.to_string(), body)))
}

/// Checks a message: the timestamp (seconds) within `tolerance` of `now` (seconds), and any
/// of the space-separated `v1,<base64>` signatures matching.
pub fn verify(
    key: &[u8],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: u64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let sent: u64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    if now.abs_diff(sent) > tolerance.as_secs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(key, id, timestamp, body);
    let verified = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| STANDARD.decode(s).is_ok_and(|sig| bool::from(sig.as_slice().ct_eq(expected.as_slice()))));
    if verified { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// The key bytes of a `whsec_…` secret (`None` when it is not one).
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|k| !k.is_empty())
}

/// A fresh secret: 32 random bytes as `whsec_<base64>`.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only_and_in_time() {
        let secret = generate_secret();
        let key = secret_key(&secret).unwrap();
        assert_eq!(key.len(), 32);
        let sig = sign(&key, "msg_1", 1_700_000_000, b"{}");
        let tolerance = Duration::from_secs(300);
        verify(&key, "msg_1", "1700000000", &format!("v1,bm9wZQ== {sig}"), b"{}", 1_700_000_100, tolerance).unwrap();
        assert_eq!(verify(&key, "msg_1", "1700000000", &sig, b"{ }", 1_700_000_000, tolerance), Err(SignatureError::Mismatch));
        assert_eq!(verify(&key, "msg_2", "1700000000", &sig, b"{}", 1_700_000_000, tolerance), Err(SignatureError::Mismatch));
        assert_eq!(verify(&key, "msg_1", "1700000000", &sig, b"{}", 1_700_001_000, tolerance), Err(SignatureError::Stale));
        assert_eq!(verify(&[1, 2], "msg_1", "1700000000", &sig, b"{}", 1_700_000_000, tolerance), Err(SignatureError::Mismatch));
        assert!(secret_key("whsec_").is_none() && secret_key("nope").is_none());
    }
}
