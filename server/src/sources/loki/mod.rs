//! Grafana Loki as the log source: its HTTP API and tail WebSocket behind the `LogSource` trait.
//!
//! `http` and `tail` talk to Loki; `translate` turns its answers (and its
//! plain-text errors) into Vitals' types without any I/O; `line_fields` reads
//! fields out of logfmt and JSON lines for any source.

mod http;
pub mod line_fields;
mod tail;
#[cfg(test)]
#[allow(dead_code, reason = "shared with the contract test, which uses other parts")]
mod test_fixtures;
mod translate;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use serde::Deserialize;
use url::Url;
use vitals_api::{Backend, Direction, Labels, LogLine, LogQueryResponse};

use self::http::{Endpoint, LokiHttp};
pub use self::translate::{BuildInfo, IndexStats};
use super::{LogQuery, LogSource, LogTail, SourceError, TimeRange, series_params};
use crate::settings::{InvalidSetting, check_http_url, without_credentials};

/// How errors and readiness name this source.
pub const SOURCE_NAME: &str = "Loki";

const QUERY_RANGE: Endpoint<'static> = &["loki", "api", "v1", "query_range"];
const QUERY: Endpoint<'static> = &["loki", "api", "v1", "query"];
const LABELS: Endpoint<'static> = &["loki", "api", "v1", "labels"];
const SERIES: Endpoint<'static> = &["loki", "api", "v1", "series"];
const INDEX_STATS: Endpoint<'static> = &["loki", "api", "v1", "index", "stats"];
const BUILD_INFO: Endpoint<'static> = &["loki", "api", "v1", "status", "buildinfo"];
const READY: Endpoint<'static> = &["ready"];

/// `[loki]`: where Loki is and which tenant to read (`VITALS_LOKI_URL`, `VITALS_LOKI_TENANT`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiConfig {
    /// Loki's base URL, such as `http://loki.internal:3100`; a path prefix is kept.
    pub url: Url,
    /// Sent as `X-Scope-OrgID` when Loki runs multi-tenant (`a|b` queries several).
    #[serde(default)]
    pub tenant: Option<String>,
}

impl LokiConfig {
    /// Checks what the types alone cannot; each error names the key under `[loki]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_http_url("loki.url", &self.url)?;
        if let Some(tenant) = &self.tenant
            && (tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(InvalidSetting::new(
                "loki.tenant",
                "is empty or has spaces or characters X-Scope-OrgID cannot carry; use the tenant id \
                 Loki expects, or leave VITALS_LOKI_TENANT unset when Loki runs without multi-tenancy",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for LokiConfig {
    // The tenant names a customer of Loki; it stays out of logs.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LokiConfig")
            .field("url", &without_credentials(&self.url))
            .field("tenant", &self.tenant.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Why a Loki source cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum LokiConfigError {
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error("the Loki timeout must be longer than zero")]
    ZeroTimeout,
    #[error("the HTTP client for Loki could not be built: {0}")]
    Client(#[source] reqwest::Error),
    #[error("the TLS settings for Loki's tail could not be built: {0}")]
    Tls(#[source] rustls::Error),
}

/// Logs from Grafana Loki, through one pooled HTTP client; share it behind an `Arc`.
pub struct LokiSource {
    http: LokiHttp,
}

impl LokiSource {
    /// A source for `config`, each call waiting at most `timeout`.
    pub fn new(config: LokiConfig, timeout: Duration) -> Result<Self, LokiConfigError> {
        Ok(Self {
            http: LokiHttp::new(config, timeout)?,
        })
    }

    /// An instant query (`/loki/api/v1/query`) at `at_ms`: a metric query's
    /// value then; a log query over the single instant finds nothing.
    pub async fn query_instant(
        &self,
        query: &str,
        at_ms: i64,
        limit: u32,
        direction: Direction,
    ) -> Result<LogQueryResponse, SourceError> {
        let params = [
            ("query", query.to_owned()),
            ("time", nanoseconds(at_ms)),
            ("limit", limit.to_string()),
            ("direction", direction_param(direction).to_owned()),
        ];
        let body = self.http.get(QUERY, &params).await?;
        translate::query_answer(&body, direction, limit)
    }

    /// The label sets of the streams matching any of `matchers` (`{service="login-api"}`).
    pub async fn series(&self, matchers: &[&str], range: TimeRange) -> Result<Vec<Labels>, SourceError> {
        let params = series_params(matchers, range_params(range));
        let body = self.http.get(SERIES, &params).await?;
        translate::series_list(&body)
    }

    /// How many streams, chunks, bytes and entries a query would touch.
    pub async fn index_stats(&self, query: &str, range: TimeRange) -> Result<IndexStats, SourceError> {
        let mut params = vec![("query", query.to_owned())];
        params.extend(range_params(range));
        let body = self.http.get(INDEX_STATS, &params).await?;
        translate::index_stats(&body)
    }

    /// Which Loki answers: version, revision and build date.
    pub async fn build_info(&self) -> Result<BuildInfo, SourceError> {
        let body = self.http.get(BUILD_INFO, &[]).await?;
        translate::build_info(&body)
    }

    /// Follows a log query live from `start_ns` (nanoseconds): first the
    /// lines since then (at most `limit`), then each new batch Loki pushes.
    /// Opening waits at most the configured timeout; the stream then lasts
    /// until Loki closes it or it is dropped.
    pub async fn tail(
        &self,
        query: &str,
        start_ns: i64,
        limit: u32,
    ) -> Result<impl Stream<Item = Result<Vec<LogLine>, SourceError>> + Send + use<>, SourceError> {
        tail::open(&self.http, query, start_ns, limit).await
    }
}

#[async_trait]
impl LogSource for LokiSource {
    fn backend(&self) -> Backend {
        Backend::Loki
    }

    async fn query(&self, query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        let mut params = vec![("query", query.query.clone())];
        params.extend(range_params(query.range));
        params.push(("limit", query.limit.to_string()));
        params.push(("direction", direction_param(query.direction).to_owned()));
        // Loki only uses the step for metric queries; left out, it picks one itself.
        if query.step_ms > 0 {
            params.push(("step", seconds(query.step_ms)));
        }
        let body = self.http.get(QUERY_RANGE, &params).await?;
        translate::query_answer(&body, query.direction, query.limit)
    }

    async fn labels(&self, range: TimeRange) -> Result<Vec<String>, SourceError> {
        let body = self.http.get(LABELS, &range_params(range)).await?;
        translate::name_list(&body)
    }

    async fn label_values(&self, name: &str, range: TimeRange) -> Result<Vec<String>, SourceError> {
        let endpoint = ["loki", "api", "v1", "label", name, "values"];
        let body = self.http.get(&endpoint, &range_params(range)).await?;
        translate::name_list(&body)
    }

    /// Loki is up when `/ready` answers 200; while it starts it answers 503 with the reason.
    async fn tail(&self, query: &str, start_ns: i64, limit: u32) -> Result<LogTail, SourceError> {
        Ok(Box::pin(LokiSource::tail(self, query, start_ns, limit).await?))
    }

    async fn probe(&self) -> Result<(), SourceError> {
        self.http.get(READY, &[]).await.map(drop)
    }
}

/// `start` and `end` in nanoseconds, as Loki reads times.
fn range_params(range: TimeRange) -> [(&'static str, String); 2] {
    [
        ("start", nanoseconds(range.start_ms)),
        ("end", nanoseconds(range.end_ms)),
    ]
}

fn nanoseconds(ms: i64) -> String {
    ms.saturating_mul(1_000_000).to_string()
}

/// A step in seconds, with a fraction only when it has one (`300`, `1.5`).
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        (ms as f64 / 1000.0).to_string()
    }
}

fn direction_param(direction: Direction) -> &'static str {
    match direction {
        Direction::Backward => "backward",
        Direction::Forward => "forward",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_steps_are_written_as_loki_reads_them() {
        assert_eq!(nanoseconds(1_795_554_000_000), "1795554000000000000");
        assert_eq!(seconds(300_000), "300");
        assert_eq!(seconds(1_500), "1.5");
        assert_eq!(seconds(100), "0.1");
    }

    #[test]
    fn config_debug_hides_the_tenant() {
        let config = LokiConfig {
            url: Url::parse("http://loki:3100").unwrap(),
            tenant: Some("clinic-north".to_owned()),
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("clinic-north"), "{debug}");
        assert!(debug.contains("<set>"), "{debug}");
    }

    #[test]
    fn unusable_configs_are_refused_with_the_reason() {
        let config = |url: &str, tenant: Option<&str>, timeout_ms: u64| {
            let config = LokiConfig {
                url: Url::parse(url).unwrap(),
                tenant: tenant.map(str::to_owned),
            };
            (config, Duration::from_millis(timeout_ms))
        };
        let refusal = |(config, timeout)| {
            LokiSource::new(config, timeout)
                .err()
                .map(|error| error.to_string())
        };
        assert!(refusal(config("ftp://loki", None, 1000)).is_some_and(|e| e.contains("`loki.url`")));
        assert!(
            refusal(config("http://u:p@loki", None, 1000))
                .is_some_and(|e| e.contains("user name or password"))
        );
        assert!(refusal(config("http://loki", Some(""), 1000)).is_some_and(|e| e.contains("tenant")));
        assert!(refusal(config("http://loki", Some("a b"), 1000)).is_some_and(|e| e.contains("tenant")));
        assert!(refusal(config("http://loki", None, 0)).is_some_and(|e| e.contains("timeout")));
        assert!(refusal(config("https://loki/prefix/", Some("a|b"), 1000)).is_none());
    }
}
