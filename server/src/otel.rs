//! OpenTelemetry trace export of the server's own requests and upstream calls, over OTLP to a collector.
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; on ECS that
//! is the ADOT collector sidecar, `http://localhost:4317`. `OTEL_EXPORTER_OTLP_PROTOCOL` picks `grpc`
//! (the default) or `http/protobuf`; the exporter reads the other standard `OTEL_EXPORTER_OTLP_*`
//! variables (timeout, headers, compression) and the batch processor the `OTEL_BSP_*` ones.
//!
//! Only this crate's spans are exported, and none of its log events: span fields are chosen to hold
//! route templates or paths without their query, methods, statuses and source names, never patient
//! data or secrets, and a new span in this crate must keep to that.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use opentelemetry::KeyValue;
use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::runtime;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::{Metadata, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";

/// How long the exit may wait for the last spans to reach the collector.
const FLUSH_ON_EXIT: Duration = Duration::from_secs(5);

/// Why trace export could not be set up; each names the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum TraceExportError {
    #[error(
        "`{variable}` is {value:?}; use `grpc` (the collector's port 4317) or `http/protobuf` (port 4318)"
    )]
    UnsupportedProtocol { variable: &'static str, value: String },
    #[error(
        "cannot set up trace export: {0}; check the OTEL_EXPORTER_OTLP_* variables \
         (the collector's plain http:// address, such as `{ENDPOINT}=http://localhost:4317`)"
    )]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The OTLP transport, as `OTEL_EXPORTER_OTLP_PROTOCOL` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Grpc,
    HttpProtobuf,
}

impl Transport {
    fn from_env(env: &HashMap<String, String>) -> Result<Self, TraceExportError> {
        let Some((variable, value)) = setting(env, TRACES_PROTOCOL).or_else(|| setting(env, PROTOCOL)) else {
            return Ok(Self::Grpc);
        };
        match value {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            _ => Err(TraceExportError::UnsupportedProtocol {
                variable,
                value: value.to_owned(),
            }),
        }
    }
}

/// A variable that is set to something other than blanks, with its name.
fn setting<'a>(env: &'a HashMap<String, String>, variable: &'static str) -> Option<(&'static str, &'a str)> {
    env.get(variable)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(|value| (variable, value))
}

/// The collector's address without any credentials or path, for log lines.
fn collector_address(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|url| Some(format!("{}:{}", url.host_str()?, url.port_or_known_default()?)))
        .unwrap_or_else(|| "the configured endpoint".to_owned())
}

/// The running export: a tracer provider whose batches go to the collector from a tokio task.
pub struct TraceExport {
    provider: SdkTracerProvider,
    collector: String,
    transport: Transport,
}

impl fmt::Display for TraceExport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.transport {
            Transport::Grpc => "gRPC",
            Transport::HttpProtobuf => "HTTP",
        };
        write!(formatter, "{} over OTLP/{transport}", self.collector)
    }
}

impl TraceExport {
    /// The export the environment asks for, or `None` when no collector endpoint is set.
    /// Must run inside the tokio runtime, which carries the batches.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Option<Self>, TraceExportError> {
        let Some((_, endpoint)) = setting(env, TRACES_ENDPOINT).or_else(|| setting(env, ENDPOINT)) else {
            return Ok(None);
        };
        if setting(env, SDK_DISABLED).is_some_and(|(_, value)| value.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        let transport = Transport::from_env(env)?;
        // The builders read the endpoint, timeout, headers and compression from the same variables.
        let exporter = match transport {
            Transport::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_protocol(Protocol::Grpc)
                .build()?,
            Transport::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .build()?,
        };
        let collector = collector_address(endpoint);
        let exporter = ReportOutages {
            inner: exporter,
            collector: collector.clone(),
            failing: AtomicBool::new(false),
        };
        // A bounded queue that drops spans when full, exported off the request path
        // under the exporter's timeout: a slow collector never holds up a request.
        let batches = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
        let service_name = setting(env, SERVICE_NAME).map_or("vitals", |(_, name)| name);
        let resource = Resource::builder()
            .with_service_name(service_name.to_owned())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(batches)
            .with_resource(resource)
            .build();
        Ok(Some(Self {
            provider,
            collector,
            transport,
        }))
    }

    /// The `tracing` layer that turns this crate's spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("vitals-server"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(filter_fn(is_exported))
    }

    /// Sends the spans still queued, waiting at most a few seconds for the collector.
    pub async fn shutdown(self) {
        // The provider blocks its caller until the batch task, on this runtime, has flushed.
        let provider = self.provider;
        let flushed = tokio::time::timeout(
            FLUSH_ON_EXIT,
            tokio::task::spawn_blocking(move || provider.shutdown()),
        )
        .await;
        match flushed {
            // A failed export has been reported as it failed, by `ReportOutages`.
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!("the last traces may not have reached the collector: {error}"),
            Err(_) => tracing::warn!(
                "the collector at {} did not take the last traces within {} s; they are dropped",
                self.collector,
                FLUSH_ON_EXIT.as_secs()
            ),
        }
    }
}

/// Spans of this crate; never events, whose messages may quote what a user asked for.
fn is_exported(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    metadata.is_span()
        && target
            .strip_prefix("vitals_server")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The exporter, saying once when the collector stops answering and once when it is back,
/// rather than once per failed batch.
#[derive(Debug)]
struct ReportOutages<E> {
    inner: E,
    collector: String,
    failing: AtomicBool,
}

impl<E: SpanExporter> SpanExporter for ReportOutages<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        match &result {
            Err(error) if !self.failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                "cannot export traces to the collector at {}: {error}; spans are dropped until it answers \
                 (check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs)",
                self.collector
            ),
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(
                    "the collector at {} answers again; exporting traces",
                    self.collector
                );
            }
            _ => {}
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Continues the caller's W3C trace (`traceparent`, `tracestate`): the request span, made
/// inside this layer, becomes a child of the caller's span, as the load balancer or another
/// service started it. It must wrap the layer that makes the request span.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContinueTraceLayer;

impl<S> tower::Layer<S> for ContinueTraceLayer {
    type Service = ContinueTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContinueTrace { inner }
    }
}

/// See [`ContinueTraceLayer`].
#[derive(Clone, Debug)]
pub struct ContinueTrace<S> {
    inner: S,
}

impl<S, B> tower::Service<Request<B>> for ContinueTrace<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithContext<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Without a valid header this is an empty context, so the request starts its own trace.
        let caller = TraceContextPropagator::new().extract(&Headers(request.headers()));
        // The request span takes its parent from the context current when it is made: while
        // the inner service is called or, as axum's routes call theirs, first polled.
        let future = {
            let _attached = caller.clone().attach();
            self.inner.call(request)
        };
        future.with_context(caller)
    }
}

/// The W3C trace context (`traceparent`, `tracestate`) of the current span, as headers for an
/// upstream call, so a traced backend continues the trace under it. Empty while no trace is
/// exported: the current span then has no OpenTelemetry context to give.
pub fn trace_context_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(&mut headers));
    headers
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn grpc_is_the_default_protocol_and_http_protobuf_is_accepted() {
        assert_eq!(Transport::from_env(&env(&[])).unwrap(), Transport::Grpc);
        assert_eq!(
            Transport::from_env(&env(&[(PROTOCOL, "http/protobuf")])).unwrap(),
            Transport::HttpProtobuf
        );
        assert_eq!(
            Transport::from_env(&env(&[(PROTOCOL, "http/protobuf"), (TRACES_PROTOCOL, "grpc")])).unwrap(),
            Transport::Grpc
        );
    }

    #[test]
    fn an_unsupported_protocol_names_the_variable() {
        let error = Transport::from_env(&env(&[(PROTOCOL, "http/json")])).unwrap_err();
        assert!(error.to_string().contains(PROTOCOL), "{error}");
    }

    #[test]
    fn without_an_endpoint_nothing_is_set_up() {
        assert!(TraceExport::from_env(&env(&[])).unwrap().is_none());
        assert!(
            TraceExport::from_env(&env(&[(ENDPOINT, "  ")]))
                .unwrap()
                .is_none()
        );
        let disabled = env(&[(ENDPOINT, "http://127.0.0.1:4317"), (SDK_DISABLED, "true")]);
        assert!(TraceExport::from_env(&disabled).unwrap().is_none());
    }

    #[test]
    fn log_lines_name_the_collector_without_credentials() {
        assert_eq!(
            collector_address("http://user:secret@collector:4318/v1/traces"),
            "collector:4318"
        );
        assert_eq!(collector_address("http://localhost"), "localhost:80");
        assert_eq!(collector_address("not a url"), "the configured endpoint");
    }

    /// Names the spans and events that reach it.
    struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_new_span(
            &self,
            attributes: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let metadata = attributes.metadata();
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", metadata.target(), metadata.name()));
        }

        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("event from {}", event.metadata().target()));
        }
    }

    #[test]
    fn only_this_crates_spans_are_exported_and_no_events() {
        use tracing_subscriber::layer::SubscriberExt as _;

        let seen = std::sync::Arc::default();
        let subscriber = tracing_subscriber::registry()
            .with(Seen(std::sync::Arc::clone(&seen)).with_filter(filter_fn(is_exported)));
        tracing::subscriber::with_default(subscriber, || {
            let _request = tracing::info_span!("request").entered();
            tracing::warn!("a log line that may quote a query");
            let _connection = tracing::info_span!(target: "h2::proto", "connection").entered();
            let _lookalike = tracing::info_span!(target: "vitals_server_lookalike", "lookalike").entered();
        });
        assert_eq!(*seen.lock().unwrap(), ["vitals_server::otel::tests request"]);
    }
}
