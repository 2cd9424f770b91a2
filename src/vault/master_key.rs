//! The instance master key: an age x25519 identity in a file of its own (mode 0600), kept
//! apart from the data directory. Created on first start; every other instance secret
//! (CSRF, URL signing) is derived from it, so none is stored beside the data.

use std::io::Write;
use std::path::Path;

use age::secrecy::ExposeSecret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why the master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("master key file {0} does not hold an age identity (AGE-SECRET-KEY-1…)")]
    Malformed(String),
}

/// The loaded master identity.
pub struct MasterKey {
    identity: age::x25519::Identity,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Loads the key at `path`, creating it (mode 0600) when it does not exist.
    /// Returns the key and whether it was created now.
    pub fn load_or_create(path: &Path) -> Result<(MasterKey, bool), MasterKeyError> {
        let io = |source| MasterKeyError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                let line = text.lines().map(str::trim).find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap_or("");
                let identity = line.parse::<age::x25519::Identity>().map_err(|_| MasterKeyError::Malformed(path.display().to_string()))?;
                Ok((MasterKey { identity }, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let identity = age::x25519::Identity::generate();
                let mut file = create_private(path).map_err(io)?;
                let body = format!(
                    "# reelvault master key: without it the encrypted data cannot be read. Keep a copy apart from backups.\n# public key: {}\n{}\n",
                    identity.to_public(),
                    identity.to_string().expose_secret()
                );
                file.write_all(body.as_bytes()).and_then(|_| file.sync_all()).map_err(io)?;
                Ok((MasterKey { identity }, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A 32-byte key for one purpose, derived from the master secret.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let secret = self.identity.to_string();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes keys of any length");
        mac.update(b"reelvault/derive/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    /// The master identity itself, for unwrapping what was encrypted to [`Self::recipient`].
    pub(crate) fn identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// A key that exists only in memory (tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn ephemeral() -> MasterKey {
        MasterKey { identity: age::x25519::Identity::generate() }
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the master key file is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let (a, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (b, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(a.derive("csrf"), b.derive("csrf"));
        assert_ne!(a.derive("csrf"), a.derive("media"));
        assert_eq!(a.recipient().to_string(), b.recipient().to_string());
    }

    #[test]
    fn a_malformed_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(MasterKey::load_or_create(&path), Err(MasterKeyError::Malformed(_))));
    }
}
