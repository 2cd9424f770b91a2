//! Polling helpers: a provider's job-status words sorted into phases.

/// Where a job stands, as its status word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Succeeded,
    Failed,
    /// A word this build does not know (see `wire::unknown_status`).
    Unknown,
}

/// A provider's status words per phase (compared without regard to case).
#[derive(Debug)]
pub struct StatusWords {
    pub pending: &'static [&'static str],
    pub succeeded: &'static [&'static str],
    pub failed: &'static [&'static str],
}

impl StatusWords {
    /// The phase of `word`.
    pub fn phase(&self, word: &str) -> Phase {
        let is = |list: &[&str]| list.iter().any(|w| w.eq_ignore_ascii_case(word));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_sort_into_phases() {
        let words = StatusWords { pending: &["queued"], succeeded: &["done"], failed: &["failed"] };
        assert_eq!(words.phase("QUEUED"), Phase::Pending);
        assert_eq!(words.phase("done"), Phase::Succeeded);
        assert_eq!(words.phase("failed"), Phase::Failed);
        assert_eq!(words.phase("warming"), Phase::Unknown);
    }
}
