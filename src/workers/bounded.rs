//! Bounded work: streams and copies that run to an end on threads of their own (library ZIPs,
//! data exports, backups), counted by kind while they run, so the admin page and `/metrics`
//! show them beside the workers. Each is limited where it starts (places per person, one
//! backup at a time); here it is only seen.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::domain::time::Timestamp;

/// How much of one kind of bounded work runs and has run since the start.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub kind: &'static str,
    pub running: u64,
    pub finished: u64,
    pub last_finished_at: Option<Timestamp>,
}

/// The tallies by kind; cheap to clone.
#[derive(Clone, Default)]
pub struct BoundedWork(Arc<Mutex<BTreeMap<&'static str, Tally>>>);

/// One piece of bounded work in progress: counted as running until dropped, then as finished.
pub struct Running {
    work: BoundedWork,
    kind: &'static str,
}

impl BoundedWork {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Tally>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a piece of `kind` as running until the returned guard is dropped (move it to
    /// the thread doing the work).
    pub fn begin(&self, kind: &'static str) -> Running {
        self.lock().entry(kind).or_insert_with(|| Tally { kind, ..Tally::default() }).running += 1;
        Running { work: self.clone(), kind }
    }

    /// Every kind seen since the start, by name.
    pub fn status(&self) -> Vec<Tally> {
        self.lock().values().cloned().collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut tallies = self.work.lock();
        if let Some(tally) = tallies.get_mut(self.kind) {
            tally.running = tally.running.saturating_sub(1);
            tally.finished += 1;
            tally.last_finished_at = Some(Timestamp::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_counts_as_running_until_its_guard_goes() {
        let work = BoundedWork::default();
        let zip = work.begin("library-zip");
        let other = work.begin("library-zip");
        let backup = std::thread::spawn({
            let work = work.clone();
            move || drop(work.begin("backup"))
        });
        backup.join().unwrap();
        drop(other);
        let status = work.status();
        assert_eq!(
            status.iter().map(|t| (t.kind, t.running, t.finished)).collect::<Vec<_>>(),
            vec![("backup", 0, 1), ("library-zip", 1, 1)]
        );
        drop(zip);
        assert_eq!(work.status()[1].running, 0);
    }
}
