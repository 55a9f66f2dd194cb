//! What each guard counts, and the snapshot code reads of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::breaker::BreakerState;
use crate::sources::SourceError;

/// Upper bounds of the latency buckets, in seconds; the default timeout is 15 s.
const LATENCY_BOUNDS_SECONDS: [f64; 12] =
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0];

/// One source's counters since the server started.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardStatsSnapshot {
    /// `logs`, `metrics` or `traces`.
    pub signal: &'static str,
    /// The backend's name (`demo`, `loki`, `prometheus`, `xray`).
    pub backend: &'static str,
    /// Calls asked of the guard, however they were answered.
    pub calls: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Calls that waited for an identical call already in flight instead of making their own.
    pub coalesced: u64,
    /// Calls that reached the backend.
    pub upstream_calls: u64,
    pub failures: FailureCounts,
    pub breaker: BreakerState,
    pub breaker_opens: u64,
    /// Calls an open breaker answered without asking the backend.
    pub breaker_refusals: u64,
    pub latency: LatencySnapshot,
}

/// Calls that reached the backend and failed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureCounts {
    pub bad_query: u64,
    pub not_found: u64,
    pub unavailable: u64,
    pub timeout: u64,
    /// Answers refused for being above a size limit.
    pub oversize: u64,
}

/// Time the backend took to answer (or to time out), as a Prometheus histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// `(upper bound in seconds, calls in this bucket)`, not cumulative; the last
    /// bound is `f64::MAX` and stands for `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

/// The live counters behind a snapshot.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) calls: AtomicU64,
    pub(super) cache_hits: AtomicU64,
    pub(super) cache_misses: AtomicU64,
    pub(super) coalesced: AtomicU64,
    pub(super) upstream_calls: AtomicU64,
    pub(super) breaker_refusals: AtomicU64,
    pub(super) oversize: AtomicU64,
    bad_query: AtomicU64,
    not_found: AtomicU64,
    unavailable: AtomicU64,
    timeout: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS_SECONDS.len() + 1],
    latency_sum_micros: AtomicU64,
}

/// Adds one to a counter.
pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Stats {
    /// Records how one call to the backend ended and how long it took.
    pub(super) fn observe_upstream<T>(&self, outcome: &Result<T, SourceError>, took: Duration) {
        if let Err(error) = outcome {
            bump(match error {
                SourceError::BadQuery { .. } => &self.bad_query,
                SourceError::NotFound { .. } => &self.not_found,
                SourceError::Unavailable { .. } | SourceError::Resting { .. } => &self.unavailable,
                SourceError::Timeout { .. } => &self.timeout,
            });
        }
        let seconds = took.as_secs_f64();
        let bucket = LATENCY_BOUNDS_SECONDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS_SECONDS.len());
        bump(&self.latency_buckets[bucket]);
        self.latency_sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(super) fn snapshot(
        &self,
        signal: &'static str,
        backend: &'static str,
        breaker: BreakerState,
        breaker_opens: u64,
    ) -> GuardStatsSnapshot {
        let buckets: Vec<(f64, u64)> = LATENCY_BOUNDS_SECONDS
            .iter()
            .copied()
            .chain([f64::MAX])
            .zip(self.latency_buckets.iter().map(read))
            .collect();
        GuardStatsSnapshot {
            signal,
            backend,
            calls: read(&self.calls),
            cache_hits: read(&self.cache_hits),
            cache_misses: read(&self.cache_misses),
            coalesced: read(&self.coalesced),
            upstream_calls: read(&self.upstream_calls),
            failures: FailureCounts {
                bad_query: read(&self.bad_query),
                not_found: read(&self.not_found),
                unavailable: read(&self.unavailable),
                timeout: read(&self.timeout),
                oversize: read(&self.oversize),
            },
            breaker,
            breaker_opens,
            breaker_refusals: read(&self.breaker_refusals),
            latency: LatencySnapshot {
                count: buckets.iter().map(|(_, calls)| calls).sum(),
                buckets,
                sum_seconds: read(&self.latency_sum_micros) as f64 / 1e6,
            },
        }
    }
}
