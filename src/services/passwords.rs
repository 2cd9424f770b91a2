//! Argon2id password hashing on the blocking pool, behind a small semaphore so a burst of
//! sign-ins cannot exhaust memory (each hash takes 19 MiB).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use super::{ServiceError, ServiceResult};

/// A hash of a random password nobody knows, with the default parameters: verified against
/// when the account does not exist, so that costs the same as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$GD5mWQ3EqTE5EdmgPVsnMJEGGZkoVJLC4mEyZHhVWOs";

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    verifications: Arc<AtomicU64>,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new(2)
    }
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), verifications: Arc::new(AtomicU64::new(0)) }
    }

    /// How many Argon2 verifications ran (real or dummy); exported as a metric.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: &str) -> ServiceResult<String> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await?
    }

    /// Verifies `password` against `phc`, or against the dummy hash when there is no
    /// account, so both paths cost one Argon2 verification.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> ServiceResult<bool> {
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        let counter = self.verifications.clone();
        self.run(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            let matches = Argon2::default().verify_password(password.as_bytes(), phc.as_deref().unwrap_or(DUMMY_HASH)).is_ok();
            matches && phc.is_some()
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
        let _permit = self.permits.acquire().await.map_err(|_| ServiceError::Internal("password hashing stopped".into()))?;
        tokio::task::spawn_blocking(f).await.map_err(|_| ServiceError::Internal("password hashing failed".into()))
    }
}

/// Hashes synchronously (for fixtures and the blocking pool).
pub fn hash_now(password: &str) -> ServiceResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("password hashing: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_and_verify() {
        let p = Passwords::default();
        let phc = p.hash("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(p.verify("correct horse battery", Some(&phc)).await.unwrap());
        assert!(!p.verify("wrong horse battery", Some(&phc)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_costs_one_real_verification_and_never_matches() {
        let p = Passwords::default();
        assert!(!p.verify("anything", None).await.unwrap());
        assert_eq!(p.verifications(), 1);
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash must parse, or the dummy path would be cheap");
    }
}
