//! Counters and the latency histogram `/metrics` shows, in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// How a `/validate` request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    /// Refused before a verdict: a malformed review (400) or a body too large (413).
    Invalid,
}

#[derive(Default)]
pub struct Metrics {
    allowed: AtomicU64,
    denied: AtomicU64,
    invalid: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    /// Policy evaluations run (cache misses that did not find a verdict after waiting for another).
    pub evaluations: AtomicU64,
    /// Images not checked within the deadline.
    pub timeouts: AtomicU64,
    /// Images whose check failed (registry unreachable, image missing).
    pub errors: AtomicU64,
    /// Images whose CI verdict (a verification summary) was trusted.
    pub vsa_trusted: AtomicU64,
    pub tls_reloads: AtomicU64,
    pub tls_reload_failures: AtomicU64,
}

impl Metrics {
    pub fn record(&self, outcome: Outcome, took: Duration) {
        let counter = match outcome {
            Outcome::Allowed => &self.allowed,
            Outcome::Denied => &self.denied,
            Outcome::Invalid => &self.invalid,
        };
        counter.fetch_add(1, Relaxed);
        let seconds = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, cache_entries: usize) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Relaxed);
        let _ = writeln!(out, "# HELP pare_admission_requests_total Admission reviews answered, by result.");
        let _ = writeln!(out, "# TYPE pare_admission_requests_total counter");
        for (result, counter) in [("allowed", &self.allowed), ("denied", &self.denied), ("invalid", &self.invalid)] {
            let _ = writeln!(out, "pare_admission_requests_total{{result=\"{result}\"}} {}", get(counter));
        }
        let _ = writeln!(out, "# HELP pare_admission_request_duration_seconds Time to answer an admission review.");
        let _ = writeln!(out, "# TYPE pare_admission_request_duration_seconds histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(out, "pare_admission_request_duration_seconds_bucket{{le=\"{bound}\"}} {}", get(bucket));
        }
        let count = get(&self.count);
        let _ = writeln!(out, "pare_admission_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        #[allow(clippy::cast_precision_loss)] // microseconds summed: exact below 2^53
        let sum = get(&self.sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "pare_admission_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "pare_admission_request_duration_seconds_count {count}");
        let counters = [
            ("pare_admission_cache_hits_total", "Images whose verdict came from the cache.", &self.cache_hits),
            ("pare_admission_cache_misses_total", "Images not in the cache when the review came.", &self.cache_misses),
            ("pare_admission_evaluations_total", "Policy evaluations run.", &self.evaluations),
            (
                "pare_admission_timeouts_total",
                "Images not checked within the deadline (answered by the failure policy).",
                &self.timeouts,
            ),
            (
                "pare_admission_check_errors_total",
                "Images whose check failed (answered by the failure policy).",
                &self.errors,
            ),
            (
                "pare_admission_vsa_trusted_total",
                "Images whose signed verification summary of this policy was trusted.",
                &self.vsa_trusted,
            ),
            ("pare_admission_tls_reloads_total", "TLS certificate reloads.", &self.tls_reloads),
            (
                "pare_admission_tls_reload_failures_total",
                "TLS certificate files that changed but did not load.",
                &self.tls_reload_failures,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", get(counter));
        }
        let _ = writeln!(out, "# HELP pare_admission_cache_entries Verdicts in the cache.");
        let _ =
            writeln!(out, "# TYPE pare_admission_cache_entries gauge\npare_admission_cache_entries {cache_entries}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record(Outcome::Allowed, Duration::from_micros(800));
        m.record(Outcome::Denied, Duration::from_millis(30));
        let text = m.render(0);
        for line in [
            "pare_admission_requests_total{result=\"allowed\"} 1",
            "pare_admission_requests_total{result=\"denied\"} 1",
            "pare_admission_request_duration_seconds_bucket{le=\"0.001\"} 1",
            "pare_admission_request_duration_seconds_bucket{le=\"0.025\"} 1",
            "pare_admission_request_duration_seconds_bucket{le=\"0.05\"} 2",
            "pare_admission_request_duration_seconds_bucket{le=\"+Inf\"} 2",
            "pare_admission_request_duration_seconds_sum 0.0308",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
