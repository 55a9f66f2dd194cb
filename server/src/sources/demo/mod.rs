//! The embedded demo clinic: a deterministic simulation answering logs, metrics and traces.
//!
//! Every 30-second step's business events (registrations, appointments,
//! doctor interactions, logins, record views) are derived from a hash of the
//! seed and the step, so any range is produced on demand, nothing is stored,
//! and the same seed gives the same clinic. Log lines, metric samples and
//! traces are all rendered from those events, so they agree exactly: during
//! the configured failure windows the failed logins counted in the logs, in
//! `dynamodb_requests_total{status="ResourceNotFoundException"}` and in the
//! traces are the same requests.
//!
//! Public for `cargo xtask bench` and for tests that fill real backends:
//! [`DemoClinic::for_each_log_line`] and [`DemoClinic::log_lines`] (a range of
//! log lines, for Loki's push API), [`DemoClinic::raw_series`] and
//! [`DemoClinic::openmetrics`] (raw samples, for `promtool tsdb
//! create-blocks-from openmetrics`), [`DemoClinic::for_each_trace`] and
//! [`DemoClinic::traces`] (every trace, for X-Ray) and
//! [`DemoClinic::service_map_of`]. `server/benches/demo_day.rs` times a day
//! of each through `log_lines`, `raw_series` and `traces`; the `for_each_*`
//! forms stream a range without holding it in memory. The query entry points
//! behind the traits are public too: [`DemoClinic::run_log_query`], [`DemoClinic::promql_range`],
//! [`DemoClinic::promql_instant`], [`DemoClinic::search_traces`] and
//! [`DemoClinic::trace_by_id`].

mod logql;
mod logs;
mod metrics;
mod people;
mod promql;
mod records;
mod simulation;
mod trace_filter;
mod traces;

use std::sync::Arc;

use async_trait::async_trait;
use vitals_api::clock::Clock;
use vitals_api::{Backend, LogQueryResponse, MetricQueryResponse, ServiceMap, Trace, TraceSummary};

use self::metrics::Catalogue;
use self::records::StreamTable;
use self::simulation::Simulation;
use super::{LogQuery, LogSource, LogTail, MetricSource, SourceError, TimeRange, TraceQuery, TraceSource};
use crate::config::DemoConfig;

const BACKEND: &str = "demo";
/// How often the live tail looks for new lines; Loki pushes about as often.
const TAIL_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The simulated clinic behind all three signals.
#[derive(Clone)]
pub struct DemoClinic {
    simulation: Simulation,
    streams: StreamTable,
    catalogue: Catalogue,
    /// "Now" for the live tail: the server's clock, so a test that fixes it sees known lines.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DemoClinic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoClinic")
            .field("simulation", &self.simulation)
            .field("now_ms", &self.clock.now_ms())
            .finish_non_exhaustive()
    }
}

impl DemoClinic {
    /// The clinic of `config`, following `clock` when it tails.
    pub fn new(config: DemoConfig, clock: Arc<dyn Clock>) -> Self {
        let simulation = Simulation::new(&config);
        Self {
            streams: StreamTable::new(simulation.clinics()),
            catalogue: Catalogue::new(simulation.clinics()),
            simulation,
            clock,
        }
    }

    /// Whether the training failure (`GetItem` on `users` with key
    /// `timestamp = "latest"`) is running at this instant.
    pub fn failure_active(&self, t_ms: i64) -> bool {
        self.simulation.failure_active(t_ms)
    }

    /// The stretches of the range during which the training failure runs,
    /// merged where windows touch, each clipped to the range.
    pub fn failure_windows_in(&self, range: TimeRange) -> Vec<TimeRange> {
        let mut windows: Vec<TimeRange> = Vec::new();
        if !self.simulation.has_failure_windows() {
            return windows;
        }
        let minute = 60_000;
        let mut t = range.start_ms.div_euclid(minute) * minute;
        while t < range.end_ms {
            if self.failure_active(t) {
                let (start, end) = (t.max(range.start_ms), (t + minute).min(range.end_ms));
                match windows.last_mut() {
                    Some(last) if last.end_ms == start => last.end_ms = end,
                    _ => windows.push(TimeRange::new(start, end)),
                }
            }
            t += minute;
        }
        windows
    }

    /// The metric names Prometheus would list, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        self.catalogue.metric_names()
    }

    /// Runs a simulation off the async workers: a month-long query computes for
    /// a tenth of a second or more, which must not stall other requests.
    async fn off_the_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce(&DemoClinic) -> Result<T, SourceError> + Send + 'static,
    ) -> Result<T, SourceError> {
        let clinic = self.clone();
        tokio::task::spawn_blocking(move || work(&clinic))
            .await
            .unwrap_or_else(|err| {
                Err(SourceError::Unavailable {
                    source_name: BACKEND,
                    reason: format!("the simulation stopped unexpectedly ({err}); try again"),
                })
            })
    }
}

#[async_trait]
impl LogSource for DemoClinic {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query(&self, query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        let query = query.clone();
        self.off_the_runtime(move |clinic| clinic.run_log_query(&query))
            .await
    }

    async fn labels(&self, range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(self.log_label_names(range))
    }

    async fn label_values(&self, name: &str, range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(self.log_label_values(name, range))
    }

    async fn tail(&self, query: &str, start_ns: i64, limit: u32) -> Result<LogTail, SourceError> {
        self.tail_lines(query, start_ns, limit, TAIL_POLL)
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

#[async_trait]
impl MetricSource for DemoClinic {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        let query = query.to_owned();
        self.off_the_runtime(move |clinic| clinic.promql_range(&query, range.start_ms, range.end_ms, step_ms))
            .await
    }

    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        let query = query.to_owned();
        self.off_the_runtime(move |clinic| clinic.promql_instant(&query, at_ms))
            .await
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        Ok(DemoClinic::metric_names(self))
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

#[async_trait]
impl TraceSource for DemoClinic {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn search(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>, SourceError> {
        let query = query.clone();
        self.off_the_runtime(move |clinic| clinic.search_traces(&query))
            .await
    }

    async fn trace(&self, trace_id: &str) -> Result<Trace, SourceError> {
        self.trace_by_id(trace_id)
    }

    async fn service_map(&self, range: TimeRange) -> Result<ServiceMap, SourceError> {
        self.off_the_runtime(move |clinic| Ok(clinic.service_map_of(range)))
            .await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
