//! Per-user keys: each user's age x25519 identity, stored wrapped (age-encrypted) to the
//! instance master key so that the database alone never holds a usable secret.

use age::secrecy::{ExposeSecret, SecretString};

use super::master_key::MasterKey;

/// Why a user key could not be made or opened. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not wrap the user key: {0}")]
    Wrap(#[from] age::EncryptError),
    #[error("could not unwrap the user key (wrong master key or damaged record): {0}")]
    Unwrap(#[from] age::DecryptError),
    #[error("the unwrapped user key is not an age x25519 identity")]
    Malformed,
}

/// A new identity and its wrapped form (what the database stores).
pub fn generate_wrapped(master: &MasterKey) -> Result<(age::x25519::Identity, Vec<u8>), KeyError> {
    let identity = age::x25519::Identity::generate();
    let wrapped = wrap(master, &identity)?;
    Ok((identity, wrapped))
}

/// The identity's secret, encrypted to the master key's x25519 recipient (never scrypt).
pub fn wrap(master: &MasterKey, identity: &age::x25519::Identity) -> Result<Vec<u8>, KeyError> {
    let secret = identity.to_string();
    Ok(age::encrypt(&master.recipient(), secret.expose_secret().as_bytes())?)
}

/// Opens a wrapped identity with the master key.
pub fn unwrap(master: &MasterKey, wrapped: &[u8]) -> Result<age::x25519::Identity, KeyError> {
    let plain = age::decrypt(master.identity(), wrapped)?;
    // `from_utf8` keeps the buffer, so the secret is zeroized when `secret` drops.
    let secret = SecretString::from(String::from_utf8(plain).map_err(|_| KeyError::Malformed)?);
    secret.expose_secret().trim().parse::<age::x25519::Identity>().map_err(|_| KeyError::Malformed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wrap_then_unwrap_gives_the_same_identity() {
        let master = MasterKey::ephemeral();
        let (identity, wrapped) = generate_wrapped(&master).unwrap();
        let secret = identity.to_string();
        let secret = secret.expose_secret().as_bytes();
        assert!(!wrapped.windows(secret.len()).any(|w| w == secret), "the wrapped form must not contain the secret");
        assert!(wrapped.starts_with(b"age-encryption.org/v1\n-> X25519 "));
        let back = unwrap(&master, &wrapped).unwrap();
        assert_eq!(back.to_string().expose_secret(), identity.to_string().expose_secret());
        assert_eq!(back.to_public().to_string(), identity.to_public().to_string());
    }

    #[test]
    fn another_master_cannot_unwrap() {
        let master = MasterKey::ephemeral();
        let other = MasterKey::ephemeral();
        let (_, wrapped) = generate_wrapped(&master).unwrap();
        assert!(matches!(unwrap(&other, &wrapped), Err(KeyError::Unwrap(_))));
    }

    #[test]
    fn damaged_records_are_refused() {
        let master = MasterKey::ephemeral();
        let (_, mut wrapped) = generate_wrapped(&master).unwrap();
        let last = wrapped.len() - 1;
        wrapped[last] ^= 1;
        assert!(matches!(unwrap(&master, &wrapped), Err(KeyError::Unwrap(_))));
        assert!(matches!(unwrap(&master, b"garbage"), Err(KeyError::Unwrap(_))));
        let not_a_key = age::encrypt(&master.recipient(), b"hello").unwrap();
        assert!(matches!(unwrap(&master, &not_a_key), Err(KeyError::Malformed)));
    }
}
