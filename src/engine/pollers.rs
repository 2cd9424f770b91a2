//! The jobs waiting for their next poll, so something that knows more than the schedule can
//! wake one early: a provider's callback (always), or a person asking for the job's status
//! (only when its last poll is older than [`READ_POLL_GAP`] and the provider's own wait has
//! passed); and how long each model's jobs took, so the first polls land just after the
//! expected finish instead of one growing interval later.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest time between two polls of one job that a status read may cause: never more
/// than two polls a second per job, whoever reads.
pub const READ_POLL_GAP: Duration = Duration::from_millis(500);

/// One polling job: the signal that wakes it, and when it may next be polled on a read.
pub(crate) struct Poller {
    pub(crate) notify: tokio::sync::Notify,
    /// When a read may wake it: its last poll plus the larger of [`READ_POLL_GAP`] and the
    /// provider's hint.
    read_after: Mutex<Instant>,
}

impl Poller {
    /// Notes a poll now, after which the provider asked to wait `hint`.
    pub(crate) fn polled(&self, hint: Option<Duration>) {
        let wait = hint.map_or(READ_POLL_GAP, |h| h.max(READ_POLL_GAP));
        *self.read_after.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now() + wait;
    }
}

/// Polling jobs by (connection, upstream id).
#[derive(Default)]
pub(crate) struct Pollers(Mutex<HashMap<(String, String), Arc<Poller>>>);

/// Keeps a job reachable while it polls; unregisters on drop.
pub(crate) struct PollerGuard {
    pollers: Arc<Pollers>,
    key: (String, String),
    pub(crate) poller: Arc<Poller>,
}

impl Drop for PollerGuard {
    fn drop(&mut self) {
        self.pollers.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
    }
}

impl Pollers {
    /// Registers the job on `connection` with upstream id `upstream` as polling.
    pub(crate) fn register(self: &Arc<Self>, connection: &str, upstream: &str) -> PollerGuard {
        let key = (connection.to_string(), upstream.to_string());
        let poller = Arc::new(Poller { notify: tokio::sync::Notify::new(), read_after: Mutex::new(Instant::now()) });
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), poller.clone());
        PollerGuard { pollers: self.clone(), key, poller }
    }

    fn find(&self, connection: &str, upstream: &str) -> Option<Arc<Poller>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&(connection.to_string(), upstream.to_string())).cloned()
    }

    /// Wakes the job at once (a callback said it changed); `false` when none is polling.
    pub(crate) fn wake(&self, connection: &str, upstream: &str) -> bool {
        self.find(connection, upstream).map(|p| p.notify.notify_one()).is_some()
    }

    /// Wakes the job when a read may poll it now; `true` when it was woken.
    pub(crate) fn wake_if_due(&self, connection: &str, upstream: &str) -> bool {
        let Some(poller) = self.find(connection, upstream) else { return false };
        let mut after = poller.read_after.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now < *after {
            return false;
        }
        // the next read waits for this poll's gap even before the poll has run
        *after = now + READ_POLL_GAP;
        poller.notify.notify_one();
        true
    }
}

/// How long recent jobs of each model ran upstream (submitted to done), as a moving average.
#[derive(Default)]
pub(crate) struct Runtimes(Mutex<HashMap<String, Duration>>);

impl Runtimes {
    /// Notes that a job of `model` finished upstream after `took`.
    pub(crate) fn record(&self, model: &str, took: Duration) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let average = all.get(model).map_or(took, |old| old.mul_f64(0.7) + took.mul_f64(0.3));
        all.insert(model.to_string(), average);
    }

    /// The expected upstream run time of a job of `model`, once one has finished.
    pub(crate) fn expected(&self, model: &str) -> Option<Duration> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(model).copied()
    }
}

/// The wait before the next poll: `scheduled`, unless the expected finish (`expected` after
/// the submit, `elapsed` ago) comes sooner; then just after it.
pub(crate) fn next_poll(scheduled: Duration, elapsed: Duration, expected: Option<Duration>) -> Duration {
    const AFTER_FINISH: Duration = Duration::from_millis(50);
    match expected.map(|e| (e + AFTER_FINISH).checked_sub(elapsed)) {
        Some(Some(until_finish)) if until_finish < scheduled => until_finish.max(Duration::from_millis(50)),
        _ => scheduled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_wakes_a_job_at_most_once_per_gap_and_never_before_the_providers_wait() {
        let pollers = Arc::new(Pollers::default());
        assert!(!pollers.wake_if_due("c", "u"), "nothing polls yet");
        let guard = pollers.register("c", "u");
        assert!(pollers.wake_if_due("c", "u"), "never polled: due");
        assert!(!pollers.wake_if_due("c", "u"), "the gap holds even before the poll ran");
        guard.poller.polled(Some(Duration::from_secs(60)));
        assert!(!pollers.wake_if_due("c", "u"), "the provider asked to wait");
        assert!(pollers.wake("c", "u"), "a callback always wakes");
        drop(guard);
        assert!(!pollers.wake("c", "u"), "unregistered with its guard");
    }

    #[test]
    fn the_first_polls_land_just_after_the_expected_finish() {
        let s = Duration::from_secs;
        assert_eq!(next_poll(s(3), Duration::ZERO, None), s(3), "no history: the schedule");
        let soon = next_poll(s(3), Duration::from_millis(500), Some(s(1)));
        assert_eq!(soon, Duration::from_millis(550), "just after the expected finish");
        assert_eq!(next_poll(s(3), s(2), Some(s(1))), s(3), "past the expected finish: the schedule");
        let runtimes = Runtimes::default();
        runtimes.record("m", s(10));
        runtimes.record("m", s(20));
        assert_eq!(runtimes.expected("m"), Some(s(13)));
        assert_eq!(runtimes.expected("other"), None);
    }
}
