//! The server binary exporting its own traces over OTLP to a collector that records what it gets:
//! request spans with their upstream calls as children, over HTTP and gRPC, continuing an incoming
//! `traceparent`; an unreachable collector said once; nothing sent without an endpoint.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const SERVER: &str = env!("CARGO_BIN_EXE_vitals-server");
/// The longest any wait in these tests may take.
const WAIT: Duration = Duration::from_secs(20);

/// An export as the collector received it.
#[derive(Clone)]
enum Export {
    /// The body of a `POST /v1/traces`, decoded when the test reads it.
    Http(Bytes),
    Grpc(ExportTraceServiceRequest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Http,
    Grpc,
}

/// A collector on an ephemeral loopback port, speaking OTLP/HTTP and OTLP/gRPC.
#[derive(Clone, Default)]
struct Collector {
    exports: Arc<Mutex<Vec<Export>>>,
}

impl Collector {
    /// The collector and its endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let router = Router::new()
            .route("/v1/traces", post(export_over_http))
            .route_service(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                TraceServiceServer::new(collector.clone()),
            )
            .with_state(collector.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (collector, endpoint)
    }

    fn record(&self, export: Export) {
        self.exports.lock().unwrap().push(export);
    }

    fn export_count(&self) -> usize {
        self.exports.lock().unwrap().len()
    }

    /// Every span received so far, with how it came and its resource.
    fn spans(&self) -> Vec<Exported> {
        let exports = self.exports.lock().unwrap().clone();
        let mut spans = Vec::new();
        for export in exports {
            let (transport, request) = match export {
                Export::Http(body) => (
                    Transport::Http,
                    ExportTraceServiceRequest::decode(body).expect("an OTLP/HTTP export is protobuf"),
                ),
                Export::Grpc(request) => (Transport::Grpc, request),
            };
            for resource_spans in request.resource_spans {
                let resource = resource_spans
                    .resource
                    .map(|resource| attributes(&resource.attributes))
                    .unwrap_or_default();
                for span in resource_spans
                    .scope_spans
                    .into_iter()
                    .flat_map(|scope| scope.spans)
                {
                    spans.push(Exported {
                        transport,
                        resource: resource.clone(),
                        span,
                    });
                }
            }
        }
        spans
    }

    /// Waits, bounded, for a request span with upstream children matching `wanted`.
    async fn request_trace(&self, wanted: impl Fn(&RequestTrace) -> bool) -> RequestTrace {
        let found = eventually(|| request_traces(&self.spans()).into_iter().find(&wanted)).await;
        found.unwrap_or_else(|| {
            let received: Vec<String> = self.spans().iter().map(Exported::summary).collect();
            panic!("no request span with the upstream calls wanted among {received:#?}")
        })
    }
}

async fn export_over_http(State(collector): State<Collector>, body: Bytes) -> impl IntoResponse {
    collector.record(Export::Http(body));
    (
        [(CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.record(Export::Grpc(request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[derive(Clone, Debug)]
struct Exported {
    transport: Transport,
    resource: HashMap<String, String>,
    span: Span,
}

impl Exported {
    /// Name, trace, span and parent ids, for failure messages.
    fn summary(&self) -> String {
        format!(
            "{} trace {} span {} parent {}",
            self.span.name,
            hex(&self.span.trace_id),
            hex(&self.span.span_id),
            hex(&self.span.parent_span_id)
        )
    }
}

/// A request span and the upstream calls made under it.
#[derive(Debug)]
struct RequestTrace {
    request: Exported,
    upstream: Vec<Exported>,
}

impl RequestTrace {
    fn signals(&self) -> BTreeSet<String> {
        self.upstream
            .iter()
            .filter_map(|call| attributes(&call.span.attributes).remove("signal"))
            .collect()
    }
}

fn request_traces(spans: &[Exported]) -> Vec<RequestTrace> {
    spans
        .iter()
        .filter(|exported| exported.span.name == "request")
        .map(|request| RequestTrace {
            request: request.clone(),
            upstream: spans
                .iter()
                .filter(|exported| {
                    exported.span.name == "upstream"
                        && exported.span.trace_id == request.span.trace_id
                        && exported.span.parent_span_id == request.span.span_id
                })
                .cloned()
                .collect(),
        })
        .filter(|trace| !trace.upstream.is_empty())
        .collect()
}

/// String and integer attributes, by key.
fn attributes(pairs: &[KeyValue]) -> HashMap<String, String> {
    pairs
        .iter()
        .filter_map(|pair| {
            let value = match pair.value.as_ref()?.value.as_ref()? {
                Value::StringValue(text) => text.clone(),
                Value::IntValue(number) => number.to_string(),
                Value::BoolValue(flag) => flag.to_string(),
                _ => return None,
            };
            Some((pair.key.clone(), value))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Polls `check` until it finds something, or gives up after [`WAIT`].
async fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = check();
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The server binary on ephemeral loopback ports, working in `data`, with `env` as its only
/// `OTEL_*` variables.
fn server_command(data: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(SERVER);
    command
        .current_dir(data)
        .env("VITALS_LISTEN", "127.0.0.1:0")
        .env("VITALS_ADMIN_LISTEN", "127.0.0.1:0")
        .env("VITALS_DIST_DIR", data)
        .env("VITALS_DATA_DIR", data)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("OTEL_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
}

/// The running server binary, its log lines collected as it prints them.
struct Server {
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
    reading: JoinHandle<()>,
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts the server with `env` as its only `OTEL_*` variables.
    async fn start(env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut child = server_command(data.path(), env)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The start line names the address; wait for it rather than for a fixed time.
        let address = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.lock().unwrap().push(line.clone());
                if let Some(start) = line.find("open http://") {
                    let rest = &line[start + "open http://".len()..];
                    return rest.split('/').next().unwrap().to_owned();
                }
            }
            panic!(
                "the server stopped before saying where it listens: {:?}",
                log.lock().unwrap()
            );
        })
        .await
        .expect("the server should say where it listens");
        let reading = tokio::spawn({
            let log = Arc::clone(&log);
            async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().unwrap().push(line);
                }
            }
        });
        Self {
            child,
            address,
            log,
            reading,
            _data: data,
        }
    }

    /// `GET path` with extra headers; the whole answer, status line first.
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> String {
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.address
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = TcpStream::connect(&self.address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
            .await
            .expect("the server should answer")
            .unwrap();
        answer
    }

    fn logged(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// SIGTERM, as ECS stops a task; the server must exit cleanly. Returns its log.
    async fn stop(mut self) -> Vec<String> {
        let id = self.child.id().expect("the server is still running").to_string();
        let status = Command::new("kill").arg("-TERM").arg(id).status().await.unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the server should stop after SIGTERM")
            .unwrap();
        tokio::time::timeout(WAIT, &mut self.reading)
            .await
            .expect("the log ends when the server exits")
            .unwrap();
        let log = self.log.lock().unwrap().clone();
        assert!(exit.success(), "{exit}: {log:?}");
        log
    }
}

fn assert_answered(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn request_span_and_its_upstream_calls_reach_an_http_collector() {
    let (collector, endpoint) = Collector::start().await;
    let server = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ])
    .await;
    assert_answered(&server.get("/readyz", &[]).await);
    let log = server.stop().await;
    assert!(
        log.iter()
            .any(|line| line.contains("exporting traces to 127.0.0.1:") && line.contains("OTLP/HTTP")),
        "{log:?}"
    );

    // Readiness probes each source: three upstream calls under the one request.
    let trace = collector.request_trace(|trace| trace.signals().len() == 3).await;
    assert_eq!(
        trace.signals(),
        BTreeSet::from(["logs", "metrics", "traces"].map(String::from))
    );
    assert!(
        trace.request.span.parent_span_id.is_empty(),
        "a request without traceparent starts a trace"
    );
    let request = attributes(&trace.request.span.attributes);
    assert_eq!(
        request.get("method").map(String::as_str),
        Some("GET"),
        "{request:?}"
    );
    assert_eq!(
        request.get("path").map(String::as_str),
        Some("/readyz"),
        "{request:?}"
    );
    for call in &trace.upstream {
        assert_eq!(
            attributes(&call.span.attributes)
                .get("backend")
                .map(String::as_str),
            Some("demo")
        );
    }
    for exported in collector.spans() {
        assert_eq!(exported.transport, Transport::Http);
        assert_eq!(
            exported.resource.get("service.name").map(String::as_str),
            Some("vitals")
        );
        assert_eq!(
            exported.resource.get("service.version").map(String::as_str),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert!(
            exported.span.events.is_empty(),
            "log events stay out of spans: {:?}",
            exported.span
        );
    }
}

#[tokio::test]
async fn an_incoming_traceparent_is_continued_and_the_query_stays_out() {
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span_id = "00f067aa0ba902b7";
    let (collector, endpoint) = Collector::start().await;
    let server = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ])
    .await;
    let traceparent = format!("00-{trace_id}-{caller_span_id}-01");
    let answer = server
        .get("/readyz?token=s3cret-token", &[("traceparent", &traceparent)])
        .await;
    assert_answered(&answer);
    server.stop().await;

    let trace = collector
        .request_trace(|trace| hex(&trace.request.span.trace_id) == trace_id)
        .await;
    assert_eq!(hex(&trace.request.span.parent_span_id), caller_span_id);
    assert!(!trace.upstream.is_empty());
    for exported in collector.spans() {
        let text = format!("{:?}", exported.span);
        assert!(!text.contains("s3cret"), "a query string reached a span: {text}");
    }
}

#[tokio::test]
async fn grpc_is_the_default_protocol_and_the_service_name_can_be_set() {
    let (collector, endpoint) = Collector::start().await;
    let server = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_SERVICE_NAME", "vitals-staging"),
    ])
    .await;
    assert_answered(&server.get("/readyz", &[]).await);
    server.stop().await;

    let trace = collector.request_trace(|_| true).await;
    assert_eq!(trace.request.transport, Transport::Grpc);
    assert_eq!(
        trace.request.resource.get("service.name").map(String::as_str),
        Some("vitals-staging")
    );
}

#[tokio::test]
async fn an_unreachable_collector_is_reported_once_and_requests_still_answer() {
    // A port that was just free: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ])
    .await;
    assert_answered(&server.get("/readyz", &[]).await);
    let reported = eventually(|| (server.logged("cannot export traces") > 0).then_some(())).await;
    assert!(
        reported.is_some(),
        "the failed export was not reported: {:?}",
        server.log.lock().unwrap()
    );
    // More spans after the report: their failed export, at the latest the flush on exit, says nothing new.
    assert_answered(&server.get("/readyz", &[]).await);
    assert_answered(&server.get("/healthz", &[]).await);
    let log = server.stop().await;
    let reports: Vec<&String> = log
        .iter()
        .filter(|line| line.contains("cannot export traces"))
        .collect();
    assert_eq!(reports.len(), 1, "{log:?}");
    assert!(reports[0].contains("WARN"), "{log:?}");
}

#[tokio::test]
async fn nothing_is_exported_without_an_endpoint() {
    let (collector, _endpoint) = Collector::start().await;
    let server = Server::start(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).await;
    assert_answered(&server.get("/readyz", &[]).await);
    // Once the server has exited, nothing more can arrive.
    let log = server.stop().await;
    assert!(
        !log.iter().any(|line| line.contains("exporting traces")),
        "{log:?}"
    );
    assert_eq!(collector.export_count(), 0);
}

#[tokio::test]
async fn an_unusable_export_setting_stops_the_start_naming_the_variable() {
    let data = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
    ] {
        let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")];
        env.push((variable, value));
        let output = server_command(data.path(), &env).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(variable), "{stderr}");
    }
}

/// A Prometheus stand-in: answers every instant query with a scalar and keeps the
/// `traceparent` header of each request it gets (`None` when there is none).
#[derive(Clone, Default)]
struct RecordingPrometheus {
    traceparents: Arc<Mutex<Vec<Option<String>>>>,
}

impl RecordingPrometheus {
    /// The stand-in and its base URL, as `VITALS_PROMETHEUS_URL` takes it.
    async fn start() -> (Self, String) {
        let prometheus = Self::default();
        let router = Router::new()
            .route("/api/v1/query", get(answer_query).post(answer_query))
            .with_state(prometheus.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (prometheus, url)
    }

    fn traceparents(&self) -> Vec<Option<String>> {
        self.traceparents.lock().unwrap().clone()
    }
}

async fn answer_query(
    State(prometheus): State<RecordingPrometheus>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let traceparent = headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    prometheus.traceparents.lock().unwrap().push(traceparent);
    (
        [(CONTENT_TYPE, "application/json")],
        r#"{"status":"success","data":{"resultType":"scalar","result":[1795516200,"1"]}}"#,
    )
}

#[tokio::test]
async fn upstream_calls_carry_the_trace_context_only_while_traces_are_exported() {
    let (prometheus, prometheus_url) = RecordingPrometheus::start().await;
    let (collector, endpoint) = Collector::start().await;
    let server = Server::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("VITALS_PROMETHEUS_URL", &prometheus_url),
    ])
    .await;
    assert_answered(&server.get("/readyz", &[]).await);
    server.stop().await;

    let from_prometheus = |call: &Exported| {
        attributes(&call.span.attributes)
            .get("backend")
            .map(String::as_str)
            == Some("prometheus")
    };
    let trace = collector
        .request_trace(|trace| trace.upstream.iter().any(from_prometheus))
        .await;
    let call = trace.upstream.iter().find(|call| from_prometheus(call)).unwrap();
    let expected = format!("00-{}-{}-01", hex(&call.span.trace_id), hex(&call.span.span_id));
    let received = prometheus.traceparents();
    assert!(
        received.contains(&Some(expected.clone())),
        "Prometheus should be asked as a child of the upstream span {expected}: {received:?}"
    );
    let request = attributes(&trace.request.span.attributes);
    assert_eq!(
        request.get("http.route").map(String::as_str),
        Some("/readyz"),
        "{request:?}"
    );
    assert_eq!(
        request.get("http.response.status_code").map(String::as_str),
        Some("200"),
        "{request:?}"
    );

    // Without an endpoint there is no trace to continue, and nothing is sent.
    let (quiet, quiet_url) = RecordingPrometheus::start().await;
    let server = Server::start(&[("VITALS_PROMETHEUS_URL", &quiet_url)]).await;
    assert_answered(&server.get("/readyz", &[]).await);
    server.stop().await;
    let received = quiet.traceparents();
    assert!(
        !received.is_empty() && received.iter().all(Option::is_none),
        "{received:?}"
    );
}
