//! Figures about the media backend's operations (how many, how long, how many failed), kept
//! in atomics as they happen and read by the metrics endpoint and the admin pages.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// One kind of call to the object store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Head,
    Get,
    Put,
    CreateUpload,
    PutPart,
    CompleteUpload,
    AbortUpload,
    Delete,
    List,
}

impl Op {
    pub const ALL: [Op; 9] =
        [Op::Head, Op::Get, Op::Put, Op::CreateUpload, Op::PutPart, Op::CompleteUpload, Op::AbortUpload, Op::Delete, Op::List];

    /// The name in metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Op::Head => "head",
            Op::Get => "get",
            Op::Put => "put",
            Op::CreateUpload => "create_upload",
            Op::PutPart => "put_part",
            Op::CompleteUpload => "complete_upload",
            Op::AbortUpload => "abort_upload",
            Op::Delete => "delete",
            Op::List => "list",
        }
    }

    fn index(self) -> usize {
        Op::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// Upper bounds (seconds) of the latency histogram's buckets; a last one is +Inf.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct OpCounters {
    count: AtomicU64,
    errors: AtomicU64,
    micros: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
}

/// The figures of one operation, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct OpFigures {
    pub op: &'static str,
    pub count: u64,
    pub errors: u64,
    pub seconds: f64,
    /// (upper bound in seconds, calls that took at most that long), per `LATENCY_BUCKETS`.
    pub buckets: Vec<(f64, u64)>,
}

/// The media backend in a line, as the Background work page and `/api/v1/admin/media` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendHealth {
    /// `"local"` or `"s3"`.
    pub backend: &'static str,
    /// Recent latency of a call to the object store; `None` on the local disk or before the first.
    pub recent_latency: Option<Duration>,
    /// Failed calls to the object store since start-up (none on the local disk).
    pub errors: u64,
    /// The last failure: when, and the store's reason.
    pub last_error: Option<(SystemTime, String)>,
}

impl BackendHealth {
    /// The recent latency in milliseconds, to a tenth.
    pub fn latency_ms(&self) -> Option<f64> {
        self.recent_latency.map(|d| (d.as_secs_f64() * 10_000.0).round() / 10.0)
    }
}

/// The backend's figures since start-up.
#[derive(Default)]
pub struct BackendStats {
    ops: [OpCounters; Op::ALL.len()],
    /// Recent latency (exponentially weighted, microseconds) over every operation.
    recent_micros: AtomicU64,
    last_error: Mutex<Option<(SystemTime, String)>>,
}

impl std::fmt::Debug for BackendStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendStats").finish_non_exhaustive()
    }
}

impl BackendStats {
    /// Counts one finished call of `op` that took `took`; `error` when it failed.
    pub fn record(&self, op: Op, took: Duration, error: Option<&str>) {
        let counters = &self.ops[op.index()];
        counters.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        counters.micros.fetch_add(micros, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            counters.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        let old = self.recent_micros.load(Ordering::Relaxed);
        let recent = if old == 0 { micros } else { (old.saturating_mul(7).saturating_add(micros)) / 8 };
        self.recent_micros.store(recent.max(1), Ordering::Relaxed);
        if let Some(message) = error {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = self.last_error.lock() {
                *last = Some((SystemTime::now(), message.to_string()));
            }
        }
    }

    /// Every operation's figures, in `Op::ALL` order.
    pub fn figures(&self) -> Vec<OpFigures> {
        Op::ALL
            .iter()
            .map(|op| {
                let c = &self.ops[op.index()];
                let mut running = 0;
                let buckets = c
                    .buckets
                    .iter()
                    .zip(LATENCY_BUCKETS)
                    .map(|(b, bound)| {
                        running += b.load(Ordering::Relaxed);
                        (bound, running)
                    })
                    .collect();
                OpFigures {
                    op: op.name(),
                    count: c.count.load(Ordering::Relaxed),
                    errors: c.errors.load(Ordering::Relaxed),
                    seconds: c.micros.load(Ordering::Relaxed) as f64 / 1e6,
                    buckets,
                }
            })
            .collect()
    }

    /// The recent latency of a call, when there was one.
    pub fn recent_latency(&self) -> Option<Duration> {
        let micros = self.recent_micros.load(Ordering::Relaxed);
        (micros > 0).then(|| Duration::from_micros(micros))
    }

    /// Errors since start-up, over every operation.
    pub fn errors(&self) -> u64 {
        self.ops.iter().map(|c| c.errors.load(Ordering::Relaxed)).sum()
    }

    /// The last error and when it happened.
    pub fn last_error(&self) -> Option<(SystemTime, String)> {
        self.last_error.lock().ok().and_then(|last| last.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_operation_with_cumulative_buckets() {
        let stats = BackendStats::default();
        stats.record(Op::Get, Duration::from_millis(3), None);
        stats.record(Op::Get, Duration::from_millis(30), Some("boom"));
        let get = stats.figures().into_iter().find(|f| f.op == "get").unwrap();
        assert_eq!((get.count, get.errors), (2, 1));
        assert_eq!(get.buckets[0], (0.005, 1));
        assert_eq!(get.buckets.last().unwrap().1, 2);
        assert_eq!(stats.errors(), 1);
        assert_eq!(stats.last_error().unwrap().1, "boom");
        assert!(stats.recent_latency().is_some());
    }
}
