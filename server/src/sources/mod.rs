//! The seam between the API and the backends: one trait per signal, and the demo clinic behind them.

pub mod demo;
pub mod guard;
pub mod loki;
pub mod prometheus;
pub mod xray;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use vitals_api::{
    Backend, Direction, LogLine, LogQueryResponse, MetricQueryResponse, ServiceMap, Trace, TraceSummary,
};

/// A closed-open interval of time in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl TimeRange {
    pub fn new(start_ms: i64, end_ms: i64) -> Self {
        Self { start_ms, end_ms }
    }

    pub fn duration_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// A log query after the server has normalised times, limit and step.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub query: String,
    pub range: TimeRange,
    pub limit: u32,
    pub direction: Direction,
    /// Step between points of a metric (`count_over_time`, `rate`) query.
    pub step_ms: i64,
}

/// A trace search after the server has normalised times and limit.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQuery {
    /// An X-Ray filter expression, or empty for every trace.
    pub filter: String,
    pub range: TimeRange,
    pub limit: u32,
}

/// Why a source could not answer. Each variant says which source, so the
/// person reading the error knows where to look.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The query is wrong or outside what the source supports: the user can fix it.
    #[error("{source_name} cannot run this query: {reason}")]
    BadQuery {
        source_name: &'static str,
        reason: String,
    },
    /// The thing asked for does not exist (a trace id, say).
    #[error("{what} was not found in {source_name}")]
    NotFound { source_name: &'static str, what: String },
    /// The backend could not be reached or answered with a failure.
    #[error("{source_name} is unavailable: {reason}")]
    Unavailable {
        source_name: &'static str,
        reason: String,
    },
    /// The backend did not answer in time.
    #[error("{source_name} did not answer within {timeout_ms} ms")]
    Timeout {
        source_name: &'static str,
        timeout_ms: u64,
    },
}

/// New log lines as they arrive, in batches, oldest first; ends when the source closes it.
pub type LogTail = BoxStream<'static, Result<Vec<LogLine>, SourceError>>;

/// How long an idle pooled connection to a backend is kept for the next request.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);
const TCP_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(60);

/// The HTTP client a backend is asked through: pooled keep-alive connections, a connect
/// timeout, and redirects never followed (an upstream cannot send Vitals elsewhere).
pub(crate) fn http_client(connect_timeout: std::time::Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_keepalive(TCP_KEEPALIVE)
        .user_agent(concat!("vitals/", env!("CARGO_PKG_VERSION")))
}

/// A backend's name as people read it in errors: `loki` is "Loki", `xray` is "X-Ray".
pub fn display_name(backend: &'static str) -> &'static str {
    match backend {
        "loki" => "Loki",
        "prometheus" => "Prometheus",
        "amp" => "AMP",
        "xray" => "X-Ray",
        "demo" => "the demo clinic",
        other => other,
    }
}

/// Where log lines come from: Loki, or the demo clinic.
#[async_trait]
pub trait LogSource: Send + Sync {
    /// The backend, as readiness and errors show it.
    fn backend(&self) -> Backend;
    /// A log query (lines) or a metric query over logs (series).
    async fn query(&self, query: &LogQuery) -> Result<LogQueryResponse, SourceError>;
    async fn labels(&self, range: TimeRange) -> Result<Vec<String>, SourceError>;
    async fn label_values(&self, name: &str, range: TimeRange) -> Result<Vec<String>, SourceError>;
    /// Follows a log query live from `start_ns`, at most `limit` lines per batch.
    async fn tail(&self, query: &str, start_ns: i64, limit: u32) -> Result<LogTail, SourceError> {
        let _ = (query, start_ns, limit);
        Err(SourceError::BadQuery {
            source_name: self.backend().as_str(),
            reason: "live tail is not available from this source; run the query over a recent range instead"
                .into(),
        })
    }
    /// Checks the backend can answer, for readiness.
    async fn probe(&self) -> Result<(), SourceError>;
}

/// Where metrics come from: Prometheus, AMP, or the demo clinic.
#[async_trait]
pub trait MetricSource: Send + Sync {
    fn backend(&self) -> Backend;
    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError>;
    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError>;
    async fn metric_names(&self) -> Result<Vec<String>, SourceError>;
    async fn probe(&self) -> Result<(), SourceError>;
}

/// Where traces and the service map come from: X-Ray, or the demo clinic.
#[async_trait]
pub trait TraceSource: Send + Sync {
    fn backend(&self) -> Backend;
    /// Trace summaries in the range, newest first, at most `limit`.
    async fn search(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>, SourceError>;
    /// One trace by id (X-Ray `1-xxxxxxxx-24hex` or W3C 32 hex form).
    async fn trace(&self, trace_id: &str) -> Result<Trace, SourceError>;
    async fn service_map(&self, range: TimeRange) -> Result<ServiceMap, SourceError>;
    async fn probe(&self) -> Result<(), SourceError>;
}

/// The three sources the server answers from.
#[derive(Clone)]
pub struct Sources {
    pub logs: Arc<dyn LogSource>,
    pub metrics: Arc<dyn MetricSource>,
    pub traces: Arc<dyn TraceSource>,
}
