//! The seam between the API and the backends: one trait per signal, and the demo clinic behind them.

pub mod demo;
pub mod guard;
pub mod loki;
pub mod prometheus;
mod prometheus_json;
pub mod xray;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
pub use vitals_api::query::{LogQuery, TimeRange, TraceQuery};
use vitals_api::{Backend, LogLine, LogQueryResponse, MetricQueryResponse, ServiceMap, Trace, TraceSummary};
use vitals_trace::SpanTable;

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
    /// The backend failed often enough lately that its circuit breaker rests it: no query is
    /// sent to it until `retry_after_seconds` have passed (503 with `Retry-After`).
    #[error(
        "{source_name} is failing, so Vitals stopped sending it queries to let it recover; \
         try again in {retry_after_seconds} s"
    )]
    Resting {
        source_name: &'static str,
        retry_after_seconds: u64,
    },
    /// The backend did not answer in time.
    #[error("{source_name} did not answer within {timeout_ms} ms")]
    Timeout {
        source_name: &'static str,
        timeout_ms: u64,
    },
}

impl SourceError {
    /// The source that failed, as people read its name ("Loki", "X-Ray").
    pub fn source_name(&self) -> &'static str {
        match self {
            Self::BadQuery { source_name, .. }
            | Self::NotFound { source_name, .. }
            | Self::Unavailable { source_name, .. }
            | Self::Resting { source_name, .. }
            | Self::Timeout { source_name, .. } => source_name,
        }
    }
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

/// Why an answer's body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The answer is larger than the cap the reader was given.
    TooLarge,
    /// The connection broke off while reading.
    Transport(reqwest::Error),
}

/// The whole body of `response`, refusing one larger than `max_bytes` as soon as it
/// is announced or read that far, so an oversize answer never fills memory.
pub(crate) async fn read_body_up_to(
    mut response: reqwest::Response,
    max_bytes: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or_default();
    if announced > max_bytes as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The query of a series lookup, as Prometheus' API takes it and Loki's copies: one
/// `match[]` a selector, then the range's bounds in the backend's own time unit.
pub(crate) fn series_params(
    matchers: &[&str],
    range: [(&'static str, String); 2],
) -> Vec<(&'static str, String)> {
    matchers
        .iter()
        .map(|matcher| ("match[]", (*matcher).to_owned()))
        .chain(range)
        .collect()
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
    /// One trace by id as a table of spans: what the trace routes read. A source that can make
    /// a large trace without a [`vitals_api::Span`] for each span answers it directly.
    async fn trace_table(&self, trace_id: &str) -> Result<SpanTable, SourceError> {
        let trace = self.trace(trace_id).await?;
        Ok(SpanTable::from_spans(&trace.trace_id, &trace.spans))
    }
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server that answers once with `head`, then writes `chunks` of a chunked body.
    async fn answering(head: &'static str, chunks: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(head.as_bytes()).await;
            for _ in 0..chunks {
                if stream.write_all(b"100\r\n").await.is_err()
                    || stream.write_all(&[b'x'; 256]).await.is_err()
                    || stream.write_all(b"\r\n").await.is_err()
                {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        });
        format!("http://{address}/")
    }

    async fn read(url: &str, max_bytes: usize) -> Result<Vec<u8>, BodyError> {
        let response = reqwest::get(url).await.unwrap();
        read_body_up_to(response, max_bytes).await
    }

    const CHUNKED: &str = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";

    #[tokio::test]
    async fn a_streamed_body_is_cut_off_once_past_the_cap() {
        let url = answering(CHUNKED, 1_000).await;
        assert!(matches!(read(&url, 1024).await, Err(BodyError::TooLarge)));
    }

    #[tokio::test]
    async fn an_announced_length_past_the_cap_is_refused_before_reading() {
        let url = answering("HTTP/1.1 200 OK\r\ncontent-length: 2048\r\n\r\n", 0).await;
        assert!(matches!(read(&url, 1024).await, Err(BodyError::TooLarge)));
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let url = answering(CHUNKED, 4).await;
        assert_eq!(read(&url, 1024).await.unwrap(), vec![b'x'; 1024]);
    }
}
