//! Prometheus metrics in the text exposition format (`GET /metrics`).
//!
//! Counters live here, in memory, reset at each start: requests and latency by route
//! pattern (never the raw path), provider errors by class, retention deletions. The gauges
//! read at scrape time (active jobs, credits, stored media, background workers) are rendered
//! by `http::metrics`. Nothing here is a secret or a person's data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 7] = [0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0];

#[derive(Default)]
struct RouteStats {
    /// Requests per status class: 1xx … 5xx.
    by_class: [u64; 5],
    /// Requests at or under each bucket's bound (not cumulative here; summed when shown).
    buckets: [u64; LATENCY_BUCKETS.len()],
    sum_seconds: f64,
    count: u64,
}

/// The in-memory counters; one per instance, in `AppState`.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    provider_errors: Mutex<BTreeMap<String, u64>>,
    retention_deletions: AtomicU64,
    notifications: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    /// Counts one answered request under its route pattern ("/media/{id}").
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.to_string()).or_default(),
        };
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        stats.by_class[class] += 1;
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            stats.buckets[bucket] += 1;
        }
        stats.sum_seconds += seconds;
        stats.count += 1;
    }

    /// Counts a job that failed for a reason: codes `provider.<class>` are provider errors, and
    /// `timeout` (the model's deadline passed) counts as class `deadline`.
    pub fn job_failed(&self, reason_code: &str) {
        let class = match reason_code {
            "timeout" => "deadline",
            code => match code.strip_prefix("provider.") {
                Some(class) => class,
                None => return,
            },
        };
        *self.provider_errors.lock().unwrap_or_else(|p| p.into_inner()).entry(class.to_string()).or_default() += 1;
    }

    /// Counts files deleted by a retention sweep.
    pub fn retention_deleted(&self, files: u64) {
        self.retention_deletions.fetch_add(files, Ordering::Relaxed);
    }

    /// Counts a notification that left (`sent`) or was given up (`failed`), by channel
    /// (`email`, `chat`).
    pub fn notification(&self, channel: &'static str, outcome: &'static str) {
        *self.notifications.lock().unwrap_or_else(|p| p.into_inner()).entry((channel, outcome)).or_default() += 1;
    }

    /// Writes the counters in the text format.
    pub fn render_counters(&self, out: &mut String) {
        header(out, "reelvault_http_requests_total", "counter", "HTTP requests answered, by route pattern and status class");
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        for (route, stats) in routes.iter() {
            for (i, n) in stats.by_class.iter().enumerate().filter(|(_, n)| **n > 0) {
                let _ = writeln!(out, "reelvault_http_requests_total{{route=\"{}\",status=\"{}xx\"}} {n}", escape(route), i + 1);
            }
        }
        header(out, "reelvault_http_request_duration_seconds", "histogram", "Time from request to response head, by route pattern");
        for (route, stats) in routes.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in LATENCY_BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                let _ = writeln!(out, "reelvault_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "reelvault_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "reelvault_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", stats.sum_seconds);
            let _ = writeln!(out, "reelvault_http_request_duration_seconds_count{{route=\"{route}\"}} {}", stats.count);
        }
        drop(routes);
        header(out, "reelvault_provider_errors_total", "counter", "Jobs that failed with a provider error, by class");
        for (class, n) in self.provider_errors.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "reelvault_provider_errors_total{{class=\"{}\"}} {n}", escape(class));
        }
        header(out, "reelvault_retention_deletions_total", "counter", "Files deleted by retention sweeps");
        let _ = writeln!(out, "reelvault_retention_deletions_total {}", self.retention_deletions.load(Ordering::Relaxed));
        header(out, "reelvault_notifications_total", "counter", "Notifications sent or given up after their last attempt, by channel");
        for ((channel, outcome), n) in self.notifications.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "reelvault_notifications_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {n}");
        }
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fill_status_classes_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe_request("/login", 200, Duration::from_millis(3));
        m.observe_request("/login", 401, Duration::from_millis(300));
        m.observe_request("/login", 503, Duration::from_secs(60));
        m.job_failed("provider.auth");
        m.job_failed("timeout");
        m.job_failed("interrupted");
        let mut out = String::new();
        m.render_counters(&mut out);
        assert!(out.contains("reelvault_http_requests_total{route=\"/login\",status=\"2xx\"} 1"), "{out}");
        assert!(out.contains("reelvault_http_requests_total{route=\"/login\",status=\"4xx\"} 1"), "{out}");
        assert!(out.contains("reelvault_http_request_duration_seconds_bucket{route=\"/login\",le=\"0.005\"} 1"), "{out}");
        assert!(out.contains("reelvault_http_request_duration_seconds_bucket{route=\"/login\",le=\"1\"} 2"), "{out}");
        assert!(out.contains("reelvault_http_request_duration_seconds_bucket{route=\"/login\",le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains("reelvault_provider_errors_total{class=\"auth\"} 1"), "{out}");
        assert!(out.contains("reelvault_provider_errors_total{class=\"deadline\"} 1"), "{out}");
        assert!(!out.contains("interrupted"), "not a provider error: {out}");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
