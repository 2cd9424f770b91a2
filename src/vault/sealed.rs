//! Short secrets (provider API keys) sealed to the instance master key, so the database
//! alone never holds a usable key.

use super::master_key::MasterKey;
use crate::config::Secret;

/// Why a sealed secret could not be made or opened. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("could not seal the secret: {0}")]
    Seal(#[from] age::EncryptError),
    #[error("could not open a sealed secret (wrong master key or damaged record): {0}")]
    Open(#[from] age::DecryptError),
    #[error("a sealed secret is not text")]
    Malformed,
}

pub fn seal(master: &MasterKey, secret: &str) -> Result<Vec<u8>, SealError> {
    Ok(age::encrypt(&master.recipient(), secret.as_bytes())?)
}

pub fn open(master: &MasterKey, sealed: &[u8]) -> Result<Secret, SealError> {
    let plain = age::decrypt(master.identity(), sealed)?;
    String::from_utf8(plain).map(Secret::new).map_err(|_| SealError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_master_key() {
        let master = MasterKey::ephemeral();
        let sealed = seal(&master, "sk-live-0123456789").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"0123456789"), "the sealed form must not contain the key");
        assert_eq!(open(&master, &sealed).unwrap().expose(), "sk-live-0123456789");
        assert!(open(&MasterKey::ephemeral(), &sealed).is_err());
    }
}
