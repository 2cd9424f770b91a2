//! Polling helpers: a provider's job-status words sorted into phases.

use crate::providers::{UpstreamStatus, wire};

/// Where a job stands, as its status word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Succeeded,
    Failed,
    /// A word this build does not know (see `wire::unknown_status`).
    Unknown,
}

/// A provider's status words per phase (compared exactly; fold the case first where the
/// provider's is loose).
#[derive(Debug)]
pub struct StatusWords {
    /// The provider, named in the log line of an unknown word.
    pub provider: &'static str,
    pub pending: &'static [&'static str],
    pub succeeded: &'static [&'static str],
    pub failed: &'static [&'static str],
}

impl StatusWords {
    /// The phase of `word`.
    pub fn phase(&self, word: &str) -> Phase {
        let is = |list: &[&str]| list.contains(&word);
        if is(self.pending) {
            Phase::Pending
        } else if is(self.succeeded) {
            Phase::Succeeded
        } else if is(self.failed) {
            Phase::Failed
        } else {
            Phase::Unknown
        }
    }

    /// A word this build does not know: the job keeps waiting (see `wire::unknown_status`).
    pub fn unknown(&self, word: &str, progress: Option<u8>) -> UpstreamStatus {
        wire::unknown_status(self.provider, word, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_sort_into_phases() {
        let words = StatusWords { provider: "test", pending: &["queued"], succeeded: &["done"], failed: &["failed"] };
        assert_eq!(words.phase("queued"), Phase::Pending);
        assert_eq!(words.phase("QUEUED"), Phase::Unknown);
        assert_eq!(words.phase("done"), Phase::Succeeded);
        assert_eq!(words.phase("failed"), Phase::Failed);
        assert_eq!(words.phase("warming"), Phase::Unknown);
    }
}
