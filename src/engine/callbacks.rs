//! Where providers may call back: each connection's callback URL, whose last path segment is
//! a secret derived from the master key (so a caller must know it to wake a job).

use hmac::{Hmac, Mac};

/// Builds and checks callback URLs; cheap to clone.
#[derive(Clone)]
pub struct Callbacks {
    /// The instance's public URL; without one, providers are never asked to call back.
    public_url: Option<url::Url>,
    key: [u8; 32],
}

impl Callbacks {
    pub fn new(public_url: Option<url::Url>, key: [u8; 32]) -> Self {
        Self { public_url, key }
    }

    /// The secret path segment of `connection`'s callback URL.
    pub fn secret(&self, connection: &str) -> String {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(connection.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Where `connection`'s provider may call back, when this instance has a public URL.
    pub fn url(&self, connection: &str) -> Option<url::Url> {
        let public = self.public_url.as_ref()?;
        let path = format!(
            "hooks/{}/{}",
            percent_encoding::utf8_percent_encode(connection, percent_encoding::NON_ALPHANUMERIC),
            self.secret(connection)
        );
        let mut base = public.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(&path).ok()
    }
}
