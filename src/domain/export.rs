//! "Export my data": the record of a person's latest export (one per person) and its rules:
//! its life Queued -> Running -> Ready | Failed, how long a finished export is kept, and
//! when an interrupted one is given up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ids::{AssetId, UserId};
use super::time::Timestamp;

/// How long a finished export (its file and its record) is kept before it is removed.
pub const KEEP_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many times an export is started before an interruption (a restart, a crash) makes it
/// fail instead of starting again.
pub const MAX_ATTEMPTS: u32 = 3;

/// Where an export is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// Asked for; waiting for the background worker.
    Queued,
    /// The archive is being written.
    Running,
    /// The archive is stored and can be downloaded until it expires.
    Ready,
    /// It could not be written (the reason is in `error`).
    Failed,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Queued => "queued",
            ExportState::Running => "running",
            ExportState::Ready => "ready",
            ExportState::Failed => "failed",
        }
    }

    /// Still to be finished: a new request returns this one instead of starting another.
    pub fn is_unfinished(self) -> bool {
        matches!(self, ExportState::Queued | ExportState::Running)
    }
}

/// A person's latest export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub owner: UserId,
    pub state: ExportState,
    pub requested_at: Timestamp,
    /// When the worker last started writing it.
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// How many times the worker started it (see [`MAX_ATTEMPTS`]).
    pub attempts: u32,
    /// The stored archive (an asset of kind `Export`), once ready.
    pub asset: Option<AssetId>,
    /// The archive's size in bytes, once ready.
    pub bytes: Option<u64>,
    /// Why it failed, in words for people.
    pub error: Option<String>,
}

impl Export {
    /// A new request, queued now.
    pub fn requested(owner: UserId, now: Timestamp) -> Export {
        Export {
            owner,
            state: ExportState::Queued,
            requested_at: now,
            started_at: None,
            finished_at: None,
            attempts: 0,
            asset: None,
            bytes: None,
            error: None,
        }
    }

    /// When a finished export is removed (`None` while unfinished).
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.finished_at.filter(|_| !self.state.is_unfinished()).map(|t| t.plus(KEEP_FOR))
    }

    /// Whether it is finished and past its expiry at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    /// The worker starts (or restarts) writing it.
    pub fn start(&mut self, now: Timestamp) {
        self.state = ExportState::Running;
        self.started_at = Some(now);
        self.attempts += 1;
    }

    pub fn succeed(&mut self, now: Timestamp, asset: AssetId, bytes: u64) {
        self.state = ExportState::Ready;
        self.finished_at = Some(now);
        self.asset = Some(asset);
        self.bytes = Some(bytes);
        self.error = None;
    }

    pub fn fail(&mut self, now: Timestamp, error: impl Into<String>) {
        self.state = ExportState::Failed;
        self.finished_at = Some(now);
        self.asset = None;
        self.bytes = None;
        self.error = Some(error.into());
    }

    /// After a restart: an unfinished export is queued again, or failed once it has been
    /// started [`MAX_ATTEMPTS`] times. Returns whether it must run again.
    pub fn recover(&mut self, now: Timestamp) -> bool {
        if !self.state.is_unfinished() {
            return false;
        }
        if self.attempts >= MAX_ATTEMPTS {
            self.fail(now, format!("The export was interrupted {} times; start a new one.", self.attempts));
            return false;
        }
        self.state = ExportState::Queued;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_export_expires_after_a_week_and_an_unfinished_one_never() {
        let mut e = Export::requested(UserId::generate(), Timestamp(1_000));
        assert_eq!(e.expires_at(), None);
        e.start(Timestamp(2_000));
        assert!(!e.is_expired(Timestamp(i64::MAX)));
        e.succeed(Timestamp(3_000), AssetId::generate(), 10);
        assert_eq!(e.expires_at(), Some(Timestamp(3_000).plus(KEEP_FOR)));
        assert!(!e.is_expired(Timestamp(3_000).plus(KEEP_FOR).minus(Duration::from_millis(1))));
        assert!(e.is_expired(Timestamp(3_000).plus(KEEP_FOR)));
    }

    #[test]
    fn an_interrupted_export_runs_again_until_it_has_been_tried_enough() {
        let mut e = Export::requested(UserId::generate(), Timestamp(1));
        for _ in 1..MAX_ATTEMPTS {
            e.start(Timestamp(2));
            assert!(e.recover(Timestamp(3)));
            assert_eq!(e.state, ExportState::Queued);
        }
        e.start(Timestamp(4));
        assert!(!e.recover(Timestamp(5)));
        assert_eq!(e.state, ExportState::Failed);
        assert!(e.error.as_deref().is_some_and(|m| m.contains("interrupted")));
        assert!(!e.recover(Timestamp(6)), "a finished export stays as it is");
    }
}
