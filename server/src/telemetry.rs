//! The server's own telemetry: Prometheus metrics for the admin listener, request ids and logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;
use crate::otel::TraceExport;
use crate::sources::guard::GuardMetrics;
use crate::status::board::StatusMetrics;
use crate::store::AuditMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    signal: String,
    backend: String,
}

type DurationFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Metrics the server keeps about itself.
pub struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
    source_up: Family<SourceLabels, Gauge>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new(None, None, None)
    }
}

impl Telemetry {
    /// The server's metrics, plus the guardrails' per-source figures, the audit writer's
    /// counters and the status page's evaluations when given.
    pub fn new(
        sources: Option<GuardMetrics>,
        audit: Option<AuditMetrics>,
        status: Option<StatusMetrics>,
    ) -> Self {
        let mut registry = Registry::with_prefix("vitals");
        if let Some(sources) = sources {
            registry.register_collector(Box::new(sources));
        }
        if let Some(audit) = audit {
            audit.register(&mut registry);
        }
        if let Some(status) = status {
            status.register(&mut registry);
        }
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let durations: DurationFamily = Family::new_with_constructor(|| {
            // 0.5 ms to about 16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            durations.clone(),
        );
        let source_up = Family::<SourceLabels, Gauge>::default();
        registry.register(
            "source_up",
            "Whether the last readiness probe of a source succeeded (1) or failed (0)",
            source_up.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            source_up,
        }
    }

    /// Records one answered request. `route` is the matched route template, never the raw path.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub fn set_source_up(&self, signal: &str, backend: &str, up: bool) {
        self.source_up
            .get_or_create(&SourceLabels {
                signal: signal.to_owned(),
                backend: backend.to_owned(),
            })
            .set(i64::from(up));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Counts and times every request by its route template, so raw paths never become labels.
pub async fn record_request(
    State(telemetry): State<Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| unmatched_route(request.uri().path()).to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    telemetry.observe_request(&method, &route, status, started.elapsed().as_secs_f64());
    // The request span (see `request_tracing`) learns the route template and the answer.
    let span = tracing::Span::current();
    span.record("http.route", route.as_str());
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    response
}

/// Groups what no route matched into a few labels.
fn unmatched_route(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "/api/unknown"
    } else {
        "/assets"
    }
}

/// `GET /metrics` on the admin listener.
pub async fn metrics(State(telemetry): State<Arc<Telemetry>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        telemetry.render(),
    )
        .into_response()
}

/// Request ids: a per-process random prefix and a counter, short enough to read in a log line.
#[derive(Clone)]
pub struct RequestIds {
    prefix: u32,
    next: std::sync::Arc<AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos() ^ (elapsed.as_secs() as u32))
            .unwrap_or_default();
        Self {
            prefix: seed ^ std::process::id().rotate_left(16),
            next: std::sync::Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let sequence = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{sequence:06}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Sets up structured logs (`RUST_LOG` refines the level, default `info`) and, when given,
/// the export of the spans they are grouped by.
pub fn init_logging_and_traces(format: LogFormat, traces: Option<&TraceExport>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let output = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let output = match format {
        LogFormat::Json => output.json().flatten_event(true).boxed(),
        LogFormat::Text => output.compact().boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(traces.map(TraceExport::layer))
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_requests_by_route_and_status() {
        let telemetry = Telemetry::default();
        telemetry.observe_request("GET", "/healthz", 200, 0.001);
        telemetry.observe_request("GET", "/healthz", 200, 0.002);
        telemetry.set_source_up("logs", "demo", true);
        let text = telemetry.render();
        assert!(
            text.contains("vitals_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("vitals_http_request_duration_seconds_count"),
            "{text}"
        );
        assert!(
            text.contains("vitals_source_up{signal=\"logs\",backend=\"demo\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn request_ids_are_unique() {
        let mut ids = RequestIds::default();
        let request = axum::http::Request::new(());
        let first = ids.make_request_id(&request).unwrap();
        let second = ids.make_request_id(&request).unwrap();
        assert_ne!(first.header_value(), second.header_value());
    }
}
