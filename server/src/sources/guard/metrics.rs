//! The guards' counters as a collector for the server's `/metrics`.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::stats::{FailureCounts, GuardStatsSnapshot};
use super::upstream::Upstream;

/// The guards' counters for the server's Prometheus registry:
/// `registry.register_collector(Box::new(guarded_sources.metrics()))`.
/// Every series is labelled with `signal` and `backend`, as `source_up` is.
pub struct GuardMetrics {
    upstreams: Vec<Arc<Upstream>>,
}

impl GuardMetrics {
    pub(super) fn new(upstreams: Vec<Arc<Upstream>>) -> Self {
        Self { upstreams }
    }
}

impl fmt::Debug for GuardMetrics {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GuardMetrics")
            .field("sources", &self.upstreams.len())
            .finish()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    signal: &'static str,
    backend: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    signal: &'static str,
    backend: &'static str,
    kind: &'static str,
}

type Counted = fn(&GuardStatsSnapshot) -> u64;

const COUNTERS: [(&str, &str, Counted); 7] = [
    (
        "source_guard_calls",
        "Calls asked of a source, however they were answered",
        |stats| stats.calls,
    ),
    (
        "source_guard_cache_hits",
        "Calls answered from the short-lived cache",
        |stats| stats.cache_hits,
    ),
    (
        "source_guard_cache_misses",
        "Calls the short-lived cache could not answer",
        |stats| stats.cache_misses,
    ),
    (
        "source_guard_coalesced",
        "Calls that shared an identical call already in flight",
        |stats| stats.coalesced,
    ),
    (
        "source_upstream_calls",
        "Calls that reached the backend",
        |stats| stats.upstream_calls,
    ),
    (
        "source_breaker_opens",
        "Times the circuit breaker opened",
        |stats| stats.breaker_opens,
    ),
    (
        "source_breaker_refusals",
        "Calls an open circuit breaker answered without asking the backend",
        |stats| stats.breaker_refusals,
    ),
];

type FailuresOfKind = fn(&FailureCounts) -> u64;

const FAILURE_KINDS: [(&str, FailuresOfKind); 5] = [
    ("bad_query", |failures| failures.bad_query),
    ("not_found", |failures| failures.not_found),
    ("unavailable", |failures| failures.unavailable),
    ("timeout", |failures| failures.timeout),
    ("oversize", |failures| failures.oversize),
];

impl Collector for GuardMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let snapshots: Vec<GuardStatsSnapshot> = self
            .upstreams
            .iter()
            .map(|upstream| upstream.snapshot())
            .collect();
        let labels = |stats: &GuardStatsSnapshot| SourceLabels {
            signal: stats.signal,
            backend: stats.backend,
        };
        for (name, help, value) in COUNTERS {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for stats in &snapshots {
                ConstCounter::new(value(stats)).encode(metric.encode_family(&labels(stats))?)?;
            }
        }
        let mut failures = encoder.encode_descriptor(
            "source_upstream_failures",
            "Calls to the backend that failed, by kind (oversize: the answer was above a size limit)",
            None,
            MetricType::Counter,
        )?;
        for stats in &snapshots {
            for (kind, value) in FAILURE_KINDS {
                let failure_labels = FailureLabels {
                    signal: stats.signal,
                    backend: stats.backend,
                    kind,
                };
                ConstCounter::new(value(&stats.failures)).encode(failures.encode_family(&failure_labels)?)?;
            }
        }
        let mut breaker = encoder.encode_descriptor(
            "source_breaker_state",
            "State of the circuit breaker: 0 closed, 1 half-open (one test query), 2 open",
            None,
            MetricType::Gauge,
        )?;
        for stats in &snapshots {
            ConstGauge::new(stats.breaker.as_gauge()).encode(breaker.encode_family(&labels(stats))?)?;
        }
        let mut latency = encoder.encode_descriptor(
            "source_upstream_duration_seconds",
            "Time the backend took to answer or to time out",
            None,
            MetricType::Histogram,
        )?;
        for stats in &snapshots {
            latency
                .encode_family(&labels(stats))?
                .encode_histogram::<SourceLabels>(
                    stats.latency.sum_seconds,
                    stats.latency.count,
                    &stats.latency.buckets,
                    None,
                )?;
        }
        Ok(())
    }
}
