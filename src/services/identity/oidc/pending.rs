//! Sign-ins under way: what a callback needs (PKCE verifier, nonce, provider, where to go
//! after), found by the `state` parameter, usable once, bound to the browser that started it
//! by a cookie secret, and forgotten after ten minutes. Kept in memory: a restart in the
//! middle of a sign-in means signing in again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a started sign-in may take.
pub const PENDING_TTL: Duration = Duration::from_secs(600);

/// At most this many sign-ins may be under way at once (the oldest are dropped beyond it).
const MAX_PENDING: usize = 10_000;

/// One sign-in under way.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub provider: String,
    pub verifier: String,
    pub nonce: String,
    /// The local path to return to.
    pub next: String,
    /// The hash of the secret in the browser's cookie.
    pub browser: [u8; 32],
    started: Instant,
}

impl PendingSignIn {
    pub fn new(provider: &str, verifier: String, nonce: String, next: String, browser: [u8; 32]) -> PendingSignIn {
        PendingSignIn { provider: provider.to_string(), verifier, nonce, next, browser, started: Instant::now() }
    }
}

/// The sign-ins under way, by the hash of their state.
#[derive(Default)]
pub struct PendingSignIns {
    by_state: Mutex<HashMap<[u8; 32], PendingSignIn>>,
}

impl PendingSignIns {
    /// Remembers `pending` under `state`, dropping expired entries (and the oldest when full).
    pub fn insert(&self, state: &str, pending: PendingSignIn) {
        let Ok(mut map) = self.by_state.lock() else { return };
        map.retain(|_, p| p.started.elapsed() < PENDING_TTL);
        if map.len() >= MAX_PENDING
            && let Some(oldest) = map.iter().min_by_key(|(_, p)| p.started).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(super::hash(state), pending);
    }

    /// Takes the sign-in started with `state` (it cannot be taken again); `None` when unknown,
    /// used or expired.
    pub fn take(&self, state: &str) -> Option<PendingSignIn> {
        let pending = self.by_state.lock().ok()?.remove(&super::hash(state))?;
        (pending.started.elapsed() < PENDING_TTL).then_some(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_usable_once() {
        let pending = PendingSignIns::default();
        pending.insert("s1", PendingSignIn::new("corp", "v".into(), "n".into(), "/".into(), [0; 32]));
        assert!(pending.take("other").is_none());
        assert_eq!(pending.take("s1").map(|p| p.provider), Some("corp".to_string()));
        assert!(pending.take("s1").is_none(), "a replayed state is refused");
    }
}
