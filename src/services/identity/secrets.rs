//! Random bearer secrets (sessions, tokens, links) and the hashes under which they are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The prefix of personal API tokens, so they are recognisable in scripts and scanners.
pub const API_TOKEN_PREFIX: &str = "rv_";

/// A fresh 256-bit secret, URL-safe base64 (43 characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The storage key of a secret. Secrets are high-entropy, so a plain SHA-256 suffices.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `text` has the shape of a secret made by [`generate`] (cheap pre-check before
/// any lookup; rejects junk without touching the store).
pub fn looks_valid(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_well_formed() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(looks_valid(&a) && looks_valid(&b));
        assert_ne!(hash(&a), hash(&b));
        assert!(!looks_valid("short"));
        assert!(!looks_valid(&"%".repeat(43)));
    }
}
