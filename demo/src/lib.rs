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
//! behind the server's source traits are public too: [`DemoClinic::run_log_query`],
//! [`DemoClinic::tail_batch`], [`DemoClinic::promql_range`], [`DemoClinic::promql_instant`],
//! [`DemoClinic::search_traces`] and [`DemoClinic::trace_by_id`].
//!
//! The crate reads no clock and runs no tasks: the server's adapter decides what "now" is
//! and where the work runs.

mod config;
mod error;
pub mod import;
mod journeys;
mod logql;
mod logs;
mod metrics;
mod people;
mod promql;
mod records;
mod simulation;
mod trace_filter;
mod traces;

#[cfg(test)]
use vitals_api::query::TimeRange;

pub use self::config::{DemoConfig, FailureWindow, InvalidDemoSetting};
pub use self::error::DemoError;
pub use self::logs::TailBatch;
use self::metrics::Catalogue;
use self::records::StreamTable;
use self::simulation::Simulation;

/// The simulated clinic behind all three signals.
#[derive(Debug, Clone)]
pub struct DemoClinic {
    simulation: Simulation,
    streams: StreamTable,
    catalogue: Catalogue,
}

impl DemoClinic {
    pub fn new(config: DemoConfig) -> Self {
        let simulation = Simulation::new(&config);
        Self {
            streams: StreamTable::new(simulation.clinics()),
            catalogue: Catalogue::new(simulation.clinics()),
            simulation,
        }
    }

    /// Whether the training failure (`GetItem` on `users` with key
    /// `timestamp = "latest"`) is running at this instant.
    pub fn failure_active(&self, t_ms: i64) -> bool {
        self.simulation.failure_active(t_ms)
    }

    /// The stretches of the range during which the training failure runs,
    /// merged where windows touch, each clipped to the range.
    #[cfg(test)]
    pub(crate) fn failure_windows_in(&self, range: TimeRange) -> Vec<TimeRange> {
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
}

#[cfg(test)]
mod tests;
