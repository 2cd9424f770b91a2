//! The age X25519 stanza that wraps a new file's key, computed with ring's X25519 (the age
//! crate's portable curve arithmetic costs about three times as much, once per file sealed):
//! the same stanza as age writes, so `age -d` and the age crate unwrap it as their own.

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::SystemRandom;

/// The stanza's tag, as the age format names it.
const TAG: &str = "X25519";
/// The HKDF info of the wrapping key.
const KEY_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// The human-readable part of a recipient's bech32 string.
const RECIPIENT_HRP: &str = "age";

/// Why a file key could not be wrapped.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    #[error("the recipient is not an age X25519 public key")]
    Recipient,
    #[error("the system's random source or X25519 failed")]
    Crypto,
}

/// Wraps `file_key` to `recipient`: a fresh ephemeral key, its shared secret with the
/// recipient, HKDF-SHA-256 of it (salted with both public keys) and the file key sealed under
/// that with ChaCha20-Poly1305 and a zero nonce.
pub fn wrap_file_key(recipient: &age::x25519::Recipient, file_key: &FileKey) -> Result<Stanza, WrapError> {
    let public = public_bytes(recipient)?;
    let rng = SystemRandom::new();
    let ephemeral = EphemeralPrivateKey::generate(&agreement::X25519, &rng).map_err(|_| WrapError::Crypto)?;
    let share = ephemeral.compute_public_key().map_err(|_| WrapError::Crypto)?;
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share.as_ref());
    salt[32..].copy_from_slice(&public);
    let wrapping = agreement::agree_ephemeral(ephemeral, &UnparsedPublicKey::new(&agreement::X25519, public), |shared| {
        // an all-zero secret means a low-order recipient key: refused, as age refuses it
        if shared.iter().all(|b| *b == 0) {
            return None;
        }
        Some(age_core::primitives::hkdf(&salt, KEY_LABEL, shared))
    })
    .map_err(|_| WrapError::Crypto)?
    .ok_or(WrapError::Recipient)?;
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &wrapping).map_err(|_| WrapError::Crypto)?);
    let mut body = file_key.expose_secret().to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), &mut body).map_err(|_| WrapError::Crypto)?;
    Ok(Stanza { tag: TAG.to_string(), args: vec![STANDARD_NO_PAD.encode(share.as_ref())], body })
}

/// The 32 bytes of `recipient`'s public key, from its `age1…` string.
fn public_bytes(recipient: &age::x25519::Recipient) -> Result<[u8; 32], WrapError> {
    let (hrp, data) = bech32::decode(&recipient.to_string()).map_err(|_| WrapError::Recipient)?;
    if hrp.as_str() != RECIPIENT_HRP {
        return Err(WrapError::Recipient);
    }
    data.try_into().map_err(|_| WrapError::Recipient)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use age::Identity;

    use super::*;

    #[test]
    fn the_age_crate_unwraps_the_stanza_to_the_same_file_key() {
        let identity = age::x25519::Identity::generate();
        let file_key = FileKey::new(Box::new([7u8; 16]));
        let stanza = wrap_file_key(&identity.to_public(), &file_key).unwrap();
        assert_eq!(stanza.tag, "X25519");
        assert_eq!(stanza.body.len(), 32);
        let unwrapped = identity.unwrap_stanza(&stanza).expect("an X25519 stanza").expect("it unwraps");
        assert_eq!(unwrapped.expose_secret(), file_key.expose_secret());
        // another identity cannot unwrap it
        let other = age::x25519::Identity::generate();
        assert!(!matches!(other.unwrap_stanza(&stanza), Some(Ok(_))));
    }

    #[test]
    fn each_wrap_uses_a_fresh_ephemeral_key() {
        let recipient = age::x25519::Identity::generate().to_public();
        let file_key = FileKey::new(Box::new([1u8; 16]));
        let (a, b) = (wrap_file_key(&recipient, &file_key).unwrap(), wrap_file_key(&recipient, &file_key).unwrap());
        assert_ne!(a.args, b.args);
        assert_ne!(a.body, b.body);
    }

    #[test]
    fn the_public_key_is_the_recipient_strings_payload() {
        let recipient = age::x25519::Recipient::from_str("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p").unwrap();
        let bytes = public_bytes(&recipient).unwrap();
        assert_eq!(bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("age").unwrap(), &bytes).unwrap(), recipient.to_string());
    }
}
