//! Argon2id password hashing on the blocking pool, behind a small semaphore so a burst of
//! sign-ins cannot exhaust memory (each hash takes 19 MiB), with a bounded, fair queue in
//! front of it: one client address holds only a few places, and a full queue refuses at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::services::{ServiceError, ServiceResult};

/// A hash of a random password nobody knows, with the default parameters: verified against
/// when the account does not exist, so that costs the same as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$GD5mWQ3EqTE5EdmgPVsnMJEGGZkoVJLC4mEyZHhVWOs";

/// How many hashes one client address may have queued or running at once.
pub const PER_CLIENT_AT_ONCE: usize = 3;
/// How many hashes may be queued or running at once, from everyone.
pub const QUEUED_AT_MOST: usize = 64;

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    queue: Arc<Mutex<Queue>>,
    verifications: Arc<AtomicU64>,
}

/// Who holds the places in front of the hashing pool.
#[derive(Default)]
struct Queue {
    total: usize,
    per_client: HashMap<String, usize>,
}

/// A place in the queue, given back when dropped.
struct Place {
    queue: Arc<Mutex<Queue>>,
    client: Option<String>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.total -= 1;
        if let Some(client) = &self.client
            && let Some(n) = queue.per_client.get_mut(client)
        {
            *n -= 1;
            if *n == 0 {
                queue.per_client.remove(client);
            }
        }
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new(2)
    }
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue: Arc::new(Mutex::new(Queue::default())),
            verifications: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many Argon2 verifications ran (real or dummy); exported as a metric.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Hashes a new password for the client at address `from` (`None`: the command line).
    pub async fn hash(&self, from: Option<&str>, password: &str) -> ServiceResult<String> {
        let password = password.to_owned();
        self.run(from, move || hash_now(&password)).await?
    }

    /// Verifies `password` against `phc`, or against the dummy hash when there is no
    /// account, so both paths cost one Argon2 verification. `from` is the client address.
    pub async fn verify(&self, from: Option<&str>, password: &str, phc: Option<&str>) -> ServiceResult<bool> {
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        let counter = self.verifications.clone();
        self.run(from, move || {
            counter.fetch_add(1, Ordering::Relaxed);
            let matches = Argon2::default().verify_password(password.as_bytes(), phc.as_deref().unwrap_or(DUMMY_HASH)).is_ok();
            matches && phc.is_some()
        })
        .await
    }

    /// Takes a place in the queue for `from`, or refuses at once when that client already
    /// holds its share or the queue is full.
    fn enter(&self, from: Option<&str>) -> ServiceResult<Place> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = from
            && queue.per_client.get(client).copied().unwrap_or(0) >= PER_CLIENT_AT_ONCE
        {
            return Err(ServiceError::PasswordChecksBusy { this_client: true });
        }
        if queue.total >= QUEUED_AT_MOST {
            return Err(ServiceError::PasswordChecksBusy { this_client: false });
        }
        queue.total += 1;
        if let Some(client) = from {
            *queue.per_client.entry(client.to_string()).or_default() += 1;
        }
        Ok(Place { queue: self.queue.clone(), client: from.map(str::to_string) })
    }

    async fn run<T: Send + 'static>(&self, from: Option<&str>, f: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
        let _place = self.enter(from)?;
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
        let phc = p.hash(None, "correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(p.verify(None, "correct horse battery", Some(&phc)).await.unwrap());
        assert!(!p.verify(None, "wrong horse battery", Some(&phc)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_costs_one_real_verification_and_never_matches() {
        let p = Passwords::default();
        assert!(!p.verify(None, "anything", None).await.unwrap());
        assert_eq!(p.verifications(), 1);
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash must parse, or the dummy path would be cheap");
    }

    #[test]
    fn one_client_holds_only_its_share_of_the_queue_and_a_full_queue_refuses() {
        let p = Passwords::default();
        let mine: Vec<_> = (0..PER_CLIENT_AT_ONCE).map(|_| p.enter(Some("6.6.6.6")).unwrap()).collect();
        assert!(matches!(p.enter(Some("6.6.6.6")), Err(ServiceError::PasswordChecksBusy { this_client: true })));
        let other = p.enter(Some("7.7.7.7")).expect("another client still gets a place");
        drop(mine);
        assert!(p.enter(Some("6.6.6.6")).is_ok(), "places are given back");
        let rest: Vec<_> = (1..QUEUED_AT_MOST).map(|_| p.enter(None).unwrap()).collect();
        assert!(matches!(p.enter(Some("8.8.8.8")), Err(ServiceError::PasswordChecksBusy { this_client: false })));
        drop((other, rest));
        assert!(p.enter(Some("8.8.8.8")).is_ok());
    }
}
