//! Sign-in throttling: every attempt is counted per account and per client address over a
//! sliding hour before its password is checked, in memory (a restart forgives, which an
//! attacker cannot cause); refusals while throttled are tallied here, not written one by one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::ids::AuditId;
use crate::domain::time::Timestamp;

/// The window over which attempts are counted, and over which refusals are summarised.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// Above this many tracked keys, stale ones are swept.
const SWEEP_ABOVE: usize = 10_000;
/// A throttled key's summary is rewritten at most this often while refusals go on.
pub const SUMMARY_REFRESH: Duration = Duration::from_secs(1);

/// Counts attempts per key and refuses keys at their limit.
pub struct Throttle {
    per_account: u32,
    per_address: u32,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    /// Attempts still counting against each key: failures, and attempts being checked now.
    attempts: HashMap<String, VecDeque<Instant>>,
    /// Refusals of each throttled key in its current summary window.
    refusals: HashMap<String, Tally>,
}

/// The refusals of one throttled key since `since`, summarised in the audit row `row`.
struct Tally {
    since: Instant,
    started: Timestamp,
    row: AuditId,
    count: u64,
    written_at: Option<Instant>,
}

/// An attempt counted before its password is checked. Dropped (or [`Reservation::failed`]),
/// it stays counted as a failure; [`Throttle::succeeded`] and [`Throttle::release`] settle it.
#[must_use = "a reservation counts as a failure unless settled"]
#[derive(Debug)]
pub struct Reservation {
    account: String,
    address: Option<String>,
    at: Instant,
}

impl Reservation {
    /// The password was wrong: the attempt stays counted.
    pub fn failed(self) {}
}

/// Why an attempt was refused before any password check.
#[derive(Debug)]
pub struct Refusal {
    /// How long until the throttled key accepts attempts again.
    pub retry_after: Duration,
    /// The summary row to write now, when one is due.
    pub summary: Option<RefusalSummary>,
}

/// What was throttled: the claimed account, or the client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottledKey {
    Account(String),
    Address(String),
}

/// The refusals of one throttled key so far in its window. Written under the same audit id
/// each time, so the window keeps one row whose figure grows.
#[derive(Debug, Clone)]
pub struct RefusalSummary {
    pub row: AuditId,
    pub started: Timestamp,
    pub key: ThrottledKey,
    pub refusals: u64,
}

impl RefusalSummary {
    /// The audit row's detail, e.g. "sign-in refused 412 times while throttled".
    pub fn detail(&self) -> String {
        let times = if self.refusals == 1 { "1 time".to_string() } else { format!("{} times", self.refusals) };
        format!("sign-in refused {times} while throttled")
    }
}

fn account_key(account: &str) -> String {
    format!("account:{account}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

impl Throttle {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self { per_account, per_address, counts: Mutex::new(Counts::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt for the account and the address before its password is checked,
    /// or refuses it when either is at its limit (then the refusal is tallied). Checking and
    /// counting are one step, so a burst of concurrent attempts gets at most the limit checked.
    pub fn reserve(&self, account: &str, address: Option<&str>, now: Instant) -> Result<Reservation, Refusal> {
        let mut counts = self.lock();
        counts.sweep(now);
        let mut keys = vec![(account_key(account), self.per_account, ThrottledKey::Account(account.to_string()))];
        if let Some(a) = address {
            keys.push((address_key(a), self.per_address, ThrottledKey::Address(a.to_string())));
        }
        let mut refused: Option<(Duration, String, ThrottledKey)> = None;
        for (key, limit, which) in &keys {
            let Some(times) = counts.attempts.get_mut(key) else { continue };
            prune(times, now);
            if times.len() >= *limit as usize {
                let oldest = times.front().copied().unwrap_or(now);
                let wait = WINDOW.saturating_sub(now.duration_since(oldest));
                // the first throttled key (the account before the address) carries the tally
                refused = Some(match refused {
                    Some((w, k, t)) => (w.max(wait), k, t),
                    None => (wait, key.clone(), which.clone()),
                });
            }
        }
        if let Some((retry_after, key, which)) = refused {
            return Err(Refusal { retry_after, summary: counts.tally_refusal(key, which, now) });
        }
        for (key, _, _) in keys {
            counts.attempts.entry(key).or_default().push_back(now);
        }
        Ok(Reservation { account: account.to_string(), address: address.map(str::to_string), at: now })
    }

    /// The password was right: the account's failures are forgiven, and the attempt no
    /// longer counts against the address.
    pub fn succeeded(&self, reservation: Reservation) {
        let mut counts = self.lock();
        counts.attempts.remove(&account_key(&reservation.account));
        if let Some(a) = &reservation.address {
            counts.unreserve(&address_key(a), reservation.at);
        }
    }

    /// No password was checked (the check was refused): the attempt no longer counts.
    pub fn release(&self, reservation: Reservation) {
        let mut counts = self.lock();
        counts.unreserve(&account_key(&reservation.account), reservation.at);
        if let Some(a) = &reservation.address {
            counts.unreserve(&address_key(a), reservation.at);
        }
    }
}

impl Counts {
    fn sweep(&mut self, now: Instant) {
        if self.attempts.len() > SWEEP_ABOVE {
            self.attempts.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        if self.refusals.len() > SWEEP_ABOVE {
            self.refusals.retain(|_, tally| now.duration_since(tally.since) < WINDOW);
        }
    }

    fn unreserve(&mut self, key: &str, at: Instant) {
        if let Some(times) = self.attempts.get_mut(key) {
            if let Some(i) = times.iter().rposition(|t| *t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.attempts.remove(key);
            }
        }
    }

    /// Counts one refusal of `key`; returns its summary when the row is due: at the first
    /// refusal of a window, then at most once per [`SUMMARY_REFRESH`].
    fn tally_refusal(&mut self, key: String, which: ThrottledKey, now: Instant) -> Option<RefusalSummary> {
        let tally = self.refusals.entry(key).or_insert_with(|| Tally::new(now));
        if now.duration_since(tally.since) >= WINDOW {
            *tally = Tally::new(now);
        }
        tally.count += 1;
        let due = tally.written_at.is_none_or(|at| now.duration_since(at) >= SUMMARY_REFRESH);
        if !due {
            return None;
        }
        tally.written_at = Some(now);
        Some(RefusalSummary { row: tally.row, started: tally.started, key: which, refusals: tally.count })
    }
}

impl Tally {
    fn new(now: Instant) -> Self {
        Self { since: now, started: Timestamp::now(), row: AuditId::generate(), count: 0, written_at: None }
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
            t.reserve("a@x", Some("1.2.3.4"), start).unwrap().failed();
        }
        let refusal = t.reserve("a@x", Some("5.6.7.8"), start).unwrap_err();
        assert_eq!(refusal.retry_after, WINDOW);
        assert!(t.reserve("b@x", Some("1.2.3.4"), start).is_ok(), "other accounts are unaffected");
        assert!(t.reserve("a@x", None, start + WINDOW).is_ok());
    }

    #[test]
    fn an_address_is_refused_across_accounts() {
        let t = Throttle::new(100, 2);
        let now = Instant::now();
        t.reserve("a@x", Some("9.9.9.9"), now).unwrap().failed();
        t.reserve("b@x", Some("9.9.9.9"), now).unwrap().failed();
        assert!(t.reserve("c@x", Some("9.9.9.9"), now).is_err());
        assert!(t.reserve("c@x", Some("8.8.8.8"), now).is_ok());
    }

    #[test]
    fn attempts_being_checked_count_so_a_burst_gets_only_the_limit() {
        let t = Throttle::new(3, 100);
        let now = Instant::now();
        let held: Vec<_> = (0..10).filter_map(|_| t.reserve("a@x", Some("1.1.1.1"), now).ok()).collect();
        assert_eq!(held.len(), 3);
        let mut held = held.into_iter();
        t.release(held.next().unwrap());
        assert!(t.reserve("a@x", Some("1.1.1.1"), now).is_ok(), "a released attempt frees its place");
        t.succeeded(held.next().unwrap());
        assert!(t.reserve("a@x", Some("1.1.1.1"), now).is_ok(), "a success forgives the account");
    }

    #[test]
    fn refusals_are_summarised_once_per_refresh_under_one_row() {
        let t = Throttle::new(1, 100);
        let now = Instant::now();
        t.reserve("a@x", Some("1.1.1.1"), now).unwrap().failed();
        let first = t.reserve("a@x", Some("1.1.1.1"), now).unwrap_err().summary.expect("the first refusal is recorded");
        assert_eq!(first.refusals, 1);
        assert_eq!(first.key, ThrottledKey::Account("a@x".into()));
        for _ in 0..50 {
            assert!(t.reserve("a@x", Some("1.1.1.1"), now).unwrap_err().summary.is_none());
        }
        let later = t.reserve("a@x", Some("1.1.1.1"), now + SUMMARY_REFRESH).unwrap_err().summary.unwrap();
        assert_eq!((later.row, later.refusals), (first.row, 52));
        assert_eq!(later.detail(), "sign-in refused 52 times while throttled");
    }
}
