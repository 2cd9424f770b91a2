//! Polling helpers: a provider's job-status words sorted into phases.

use crate::domain::generation::OutputRef;
use crate::providers::{ProviderError, UpstreamStatus, wire};

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

    /// The status of a job whose word is `word` and whose answer tells no progress: pending
    /// (poll again when the engine likes), `succeeded()`, failed with `failure()`, or unknown.
    pub fn status(
        &self,
        word: &str,
        succeeded: impl FnOnce() -> UpstreamStatus,
        failure: impl FnOnce() -> ProviderError,
    ) -> UpstreamStatus {
        match self.phase(word) {
            Phase::Pending => UpstreamStatus::Pending { progress: None, poll_after: None },
            Phase::Succeeded => succeeded(),
            Phase::Failed => UpstreamStatus::Failed(failure()),
            Phase::Unknown => self.unknown(word, None),
        }
    }
}

/// A finished job's status: its `outputs`, or, when the provider reported success without
/// any, a transient failure saying `missing`.
pub fn outputs_or_missing(outputs: Vec<OutputRef>, missing: &str) -> UpstreamStatus {
    if outputs.is_empty() {
        return UpstreamStatus::Failed(ProviderError::Transient(missing.into()));
    }
    UpstreamStatus::Succeeded { outputs, usage: None }
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
