//! Sign-in throttling: failed attempts counted per account and per client address over a
//! sliding hour, in memory (a restart forgives, which an attacker cannot cause).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window over which failures are counted.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// Above this many tracked keys, stale ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// Counts failures per key and refuses keys over their limit.
pub struct Throttle {
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self { per_account, per_address, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` when the account or the address is over its limit.
    pub fn check(&self, account: &str, address: Option<&str>, now: Instant) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys = vec![(format!("account:{account}"), self.per_account)];
        if let Some(a) = address {
            keys.push((format!("address:{a}"), self.per_address));
        }
        let mut wait = None;
        for (key, limit) in keys {
            if let Some(times) = map.get_mut(&key) {
                prune(times, now);
                if times.len() >= limit as usize {
                    let oldest = times.front().copied().unwrap_or(now);
                    let this_wait = WINDOW.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(this_wait, |w: Duration| w.max(this_wait)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Records one failed attempt for the account and the address.
    pub fn record_failure(&self, account: &str, address: Option<&str>, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        let mut push = |key: String, limit: u32| {
            let times = map.entry(key).or_default();
            prune(times, now);
            times.push_back(now);
            while times.len() > limit as usize {
                times.pop_front();
            }
        };
        push(format!("account:{account}"), self.per_account);
        if let Some(a) = address {
            push(format!("address:{a}"), self.per_address);
        }
    }

    /// Forgets an account's failures after it signs in successfully.
    pub fn clear_account(&self, account: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&format!("account:{account}"));
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_refused_after_its_limit_until_the_window_passes() {
        let t = Throttle::new(3, 100);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.check("a@x", Some("1.2.3.4"), start).is_ok());
            t.record_failure("a@x", Some("1.2.3.4"), start);
        }
        let wait = t.check("a@x", Some("5.6.7.8"), start).unwrap_err();
        assert_eq!(wait, WINDOW);
        assert!(t.check("b@x", Some("1.2.3.4"), start).is_ok(), "other accounts are unaffected");
        assert!(t.check("a@x", None, start + WINDOW).is_ok());
    }

    #[test]
    fn an_address_is_refused_across_accounts() {
        let t = Throttle::new(100, 2);
        let now = Instant::now();
        t.record_failure("a@x", Some("9.9.9.9"), now);
        t.record_failure("b@x", Some("9.9.9.9"), now);
        assert!(t.check("c@x", Some("9.9.9.9"), now).is_err());
        assert!(t.check("c@x", Some("8.8.8.8"), now).is_ok());
    }
}
