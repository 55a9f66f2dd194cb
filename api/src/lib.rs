//! The JSON contract between the Vitals server and its browser app.
//!
//! Both sides compile these types, so a renamed field breaks the build rather
//! than the page. Serde only: this crate must build for `wasm32-unknown-unknown`. The OpenAPI
//! schemas of the types sit behind the `openapi` feature, which only the server turns on.

pub mod audit;
pub mod clock;
pub mod insights;
pub mod links;
pub mod query;
pub mod query_limits;
pub mod traces;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use audit::AuditAction;
pub use insights::{
    Baseline, BaselineVerdict, BurnRate, BurnSeverity, DependencyEvidence, Evidence, Explanation,
    ExplanationList, JourneyAnswer, JourneyGroup, JourneyList, JourneyStep, JourneySummary, PatternEvidence,
    SloDetail, SloList, SloQueries, SloState, SloSummary, SloWindow, SpanEvidence,
};
pub use links::{LinkState, ShareLink, ShareLinkCreated, ShareLinkList, ShareLinkRequest, SharedView};

/// The header, with the value `1`, that every state-changing request from the app carries. A page
/// on another site cannot add it without a CORS preflight, which Vitals never grants.
pub const CSRF_HEADER: &str = "x-vitals-csrf";

/// The header, with the value `1`, on requests the page makes on its own (refreshing panels,
/// checking the session): those must not keep an unattended session alive.
pub const BACKGROUND_HEADER: &str = "x-vitals-background";

/// The largest request body the server accepts, in bytes; a larger one is answered 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Label names and values of a log stream or a metric series, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// The body of every error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable `code` and a lowercase sentence a user can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// Where in the query or filter the request sent the problem is, when it is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<TextSpan>,
}

/// A stretch of a text, in characters from its start: `end` is just after the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextSpan {
    pub start: u32,
    pub end: u32,
}

/// Liveness and readiness of the server and each source behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub version: String,
    pub sources: Vec<SourceStatus>,
    /// The dashboards loaded, and the files whose last change did not check out.
    #[serde(default)]
    pub dashboards: DashboardsReadiness,
}

/// How the dashboard files stand.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardsReadiness {
    /// How many dashboards answer.
    pub loaded: u32,
    /// A short sentence on the files, for people reading the page.
    pub detail: String,
    /// Each file whose last change did not check out, with its line and key; its last good
    /// version still answers.
    pub problems: Vec<String>,
}

/// Whether every source can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReadinessStatus {
    /// Every source answered its last check.
    Ready,
    /// At least one source did not; Vitals still serves what it can.
    Degraded,
}

/// One source (logs, metrics or traces) and how it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceStatus {
    pub signal: Signal,
    pub backend: Backend,
    pub state: SourceState,
    /// A short sentence on the last check, for people reading the page.
    pub detail: String,
    /// Milliseconds since the epoch: when the check ran.
    pub checked_at: i64,
    /// The circuit breaker in front of the source.
    pub breaker: Breaker,
}

/// What a source provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    Logs,
    Metrics,
    Traces,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
            Signal::Traces => "traces",
        }
    }
}

/// Which backend serves a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The demo clinic built into the server.
    Demo,
    Loki,
    Prometheus,
    /// Amazon Managed Service for Prometheus.
    Amp,
    /// AWS X-Ray.
    Xray,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Demo => "demo",
            Backend::Loki => "loki",
            Backend::Prometheus => "prometheus",
            Backend::Amp => "amp",
            Backend::Xray => "xray",
        }
    }
}

/// How a source did at its last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    Up,
    Down,
}

/// The circuit breaker in front of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Breaker {
    /// Queries go through.
    Closed,
    /// Resting after failures: queries are refused until it tries again.
    Open,
    /// One test query is running.
    HalfOpen,
}

/// Direction of a log query: newest first (`backward`) or oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Backward,
    Forward,
}

/// `POST /api/v1/logs/query`. Times are RFC 3339 or relative (`now-1h`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"query": "{service=\"login-api\"}", "from": "now-15m", "limit": 20})))]
pub struct LogQueryRequest {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default)]
    pub direction: Direction,
    /// Only for metric queries: the step between points (`60s`, `5m` or seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

/// One log line with the labels of its stream and the fields parsed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub labels: Labels,
    pub line: String,
    /// Fields a parser (`| json`, `| logfmt`) extracted, or that the server
    /// recognised in a logfmt or JSON line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Set when the server masked patient data in this line: what an engineer sends to
    /// `POST /api/v1/reveal`, with a reason, to read it whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal_ref: Option<String>,
}

/// What a log query answers: lines for a log query, series for a metric query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result_type", rename_all = "lowercase")]
pub enum LogQueryResponse {
    Streams { lines: Vec<LogLine> },
    Matrix { series: Vec<Series> },
    Vector { series: Vec<Series> },
}

/// `POST /api/v1/logs/patterns`: the body of a log query, and a baseline range to compare
/// with. Times are RFC 3339 or relative (`now-1h`); `limit` is how many of the newest lines of
/// each range are mined (5,000 at most, and by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"query": "{service=\"login-api\"}", "from": "now-1h", "baseline_from": "now-1d-1h", "baseline_to": "now-1d"})))]
pub struct LogPatternsRequest {
    #[serde(flatten)]
    pub logs: LogQueryRequest,
    /// The start of the range to compare with: a pattern none of its lines fit is new. Set
    /// either end to compare; the other is a range as long as the query's away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_to: Option<String>,
}

/// Log lines clustered into templates, most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPatternsResponse {
    pub patterns: Vec<LogPattern>,
    /// Lines of the range mined.
    pub lines: u32,
    /// Whether the range may hold more lines than were mined: the patterns are then those of
    /// its newest `lines` lines, which start at `mined_from_ms`.
    pub truncated: bool,
    /// When the oldest mined line was written (ms since the epoch); absent without lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mined_from_ms: Option<i64>,
    /// Lines of the baseline range mined; absent without a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_lines: Option<u32>,
    /// Patterns left out of the list, the rarest, and the lines that fit no template once the
    /// most templates were made.
    #[serde(default)]
    pub more_patterns: u32,
    #[serde(default)]
    pub unclustered_lines: u32,
    /// Where the sparklines start (ms since the epoch) and how long each of their points is.
    pub from_ms: i64,
    pub bucket_ms: i64,
}

/// One template of log lines: masked text with `<*>` where its lines differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPattern {
    pub template: String,
    /// Lines of the range that fit it.
    pub count: u32,
    /// Its lines per equal part of the range, oldest first.
    pub sparkline: Vec<u32>,
    /// One of its lines, masked.
    pub example: String,
    /// Whether no line of the baseline range fits it (false without a baseline).
    pub new: bool,
    /// The LogQL line filter that keeps its lines (`|~ "…"`).
    pub line_filter: String,
    /// The query asked, narrowed to this pattern's lines.
    pub query: String,
}

/// One WebSocket message of `GET /api/v1/logs/tail`: new lines, oldest first, or why the tail ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TailMessage {
    Lines { lines: Vec<LogLine> },
    Error { error: ErrorDetail },
}

/// A list of names, for label names, label values and metric names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NameList {
    pub names: Vec<String>,
}

/// A step between points: a Prometheus duration (`60s`, `5m`) or seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Step {
    Seconds(f64),
    Duration(String),
}

/// `POST /api/v1/metrics/query`. Without `step` the server picks one for
/// about 500 points. With `from` equal to `to`, or no `from`, it is an
/// instant query at `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"query": "sum(login_attempts_total)", "from": "now-1h", "step": "60s"})))]
pub struct MetricQueryRequest {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

/// A value at a time: `[milliseconds since the epoch, value]`. JSON has no NaN or
/// infinity, so those values travel as the strings Prometheus uses: `"NaN"`, `"+Inf"`, `"-Inf"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point(pub i64, pub f64);

/// A point's value on the wire: a number, or one of Prometheus' names for the non-finite ones.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireValue {
    Number(f64),
    Name(String),
}

impl Serialize for Point {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self.1 {
            v if v.is_finite() => WireValue::Number(v),
            v if v.is_nan() => WireValue::Name("NaN".into()),
            v if v > 0.0 => WireValue::Name("+Inf".into()),
            _ => WireValue::Name("-Inf".into()),
        };
        (self.0, value).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (time, value): (i64, WireValue) = Deserialize::deserialize(deserializer)?;
        let value = match value {
            WireValue::Number(v) => v,
            WireValue::Name(name) if name == "NaN" => f64::NAN,
            WireValue::Name(name) if name == "+Inf" || name == "Inf" => f64::INFINITY,
            WireValue::Name(name) if name == "-Inf" => f64::NEG_INFINITY,
            WireValue::Name(other) => {
                return Err(serde::de::Error::custom(format!(
                    "a point's value must be a number, \"NaN\", \"+Inf\" or \"-Inf\", not \"{other}\""
                )));
            }
        };
        Ok(Point(time, value))
    }
}

/// A point on the wire is a pair, which no derive describes: `[integer, number | "NaN" | "+Inf" | "-Inf"]`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Point {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ArrayItems, ObjectBuilder, OneOfBuilder, SchemaFormat};
        use utoipa::openapi::{KnownFormat, Type};
        let time = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some("milliseconds since the epoch"));
        let value = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["NaN", "+Inf", "-Inf"])),
            );
        ArrayBuilder::new()
            .prefix_items([utoipa::openapi::Schema::from(time), value.into()])
            .items(ArrayItems::False)
            .min_items(Some(2))
            .max_items(Some(2))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Point {}

/// One series of a metric answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// The answer to a metric query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricQueryResponse {
    pub result_type: ResultType,
    pub series: Vec<Series>,
    /// The step the server used, in seconds (0 for an instant query).
    pub step_seconds: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The shape of a metric answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ResultType {
    /// A range query: series of points over time.
    Matrix,
    /// An instant query: one point per series.
    Vector,
    /// An instant query of a plain number: one series without labels.
    Scalar,
}

/// How a span or trace ended, in X-Ray's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SpanStatus {
    Ok,
    /// A client error (4xx).
    Error,
    /// A server error (5xx) or an exception.
    Fault,
    /// Throttled (429).
    Throttle,
}

/// One span of a trace. Times in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    pub service: String,
    pub name: String,
    /// Nanoseconds since the Unix epoch.
    pub start: i64,
    /// Nanoseconds.
    pub duration: i64,
    pub status: SpanStatus,
    pub kind: SpanKind,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Set when the server masked patient data in this span: what an engineer sends to
    /// `POST /api/v1/reveal`, with a reason, to read it whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal_ref: Option<String>,
}

/// What a span stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// A service answering a request.
    Server,
    /// A call out of a service, such as DynamoDB or SQS.
    Client,
    /// Work inside a service.
    Internal,
}

/// A whole trace: its spans, parents before children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
}

/// `POST /api/v1/traces/search`: the fields that are set must all hold. `filter` is an X-Ray
/// filter expression of one's own, or empty; the server joins it to the fields with `AND`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"service": "login-api", "status": "fault", "from": "now-15m", "limit": 20})))]
pub struct TraceSearchRequest {
    #[serde(default)]
    pub filter: String,
    /// Traces that pass through this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Traces with this outcome somewhere in them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SpanStatus>,
    /// Traces whose root took longer than this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration_s: Option<f64>,
    /// Traces whose root took less than this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_s: Option<f64>,
    /// Annotations with exactly these string values (`clinic` = `north`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Traces whose request was answered with this HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Traces whose request URL contains this text, such as `/login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One trace in a search answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceSummary {
    pub trace_id: String,
    /// The service that received the request.
    pub service: String,
    /// The entry operation, such as `POST /login`.
    pub name: String,
    /// Nanoseconds since the Unix epoch.
    pub start: i64,
    /// Nanoseconds.
    pub duration: i64,
    pub status: SpanStatus,
    pub http_status: Option<u16>,
    pub services: Vec<String>,
}

/// The answer to a trace search, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceSearchResponse {
    pub traces: Vec<TraceSummary>,
}

/// Calls and their outcomes over a time range, for a node or an edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallStats {
    pub requests: u64,
    /// Client errors (4xx).
    pub errors: u64,
    /// Server errors (5xx).
    pub faults: u64,
    pub throttles: u64,
    pub latency_avg_ms: f64,
    pub latency_p95_ms: f64,
}

/// A service, or an AWS resource it calls, on the service map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceNode {
    pub name: String,
    pub kind: NodeKind,
    pub stats: CallStats,
}

/// What a node of the service map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// One of the clinic's own services.
    Service,
    /// An AWS resource the services call: DynamoDB, SQS and the like.
    Aws,
}

/// Calls from one node to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceEdge {
    pub source: String,
    pub target: String,
    pub stats: CallStats,
}

/// `GET /api/v1/service-map`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceMap {
    pub nodes: Vec<ServiceNode>,
    pub edges: Vec<ServiceEdge>,
    /// Where to draw each node: callers left of the services they call, no two boxes overlapping.
    /// The server adds it to the answer; sources leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<ServiceMapLayout>,
}

/// The drawing of a service map: one box per node, in an area of `width` by `height`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceMapLayout {
    pub width: f64,
    pub height: f64,
    /// The size of every node's box.
    pub node_width: f64,
    pub node_height: f64,
    pub nodes: Vec<NodePosition>,
}

/// Where one node's box goes: its top-left corner, and its column counted from the callers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodePosition {
    pub name: String,
    pub layer: u32,
    pub x: f64,
    pub y: f64,
}

/// A dashboard as listed: what it is for, its variables and its panels. Business roles
/// get no query text; engineers see each panel's queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The range the dashboard opens on, as the time picker writes it (`now-24h`).
    pub default_from: String,
    /// How often the page refreshes its panels, in seconds.
    pub refresh_seconds: u32,
    /// The values a person may pick, in the order the page shows them.
    #[serde(default)]
    pub variables: Vec<VariableSummary>,
    pub panels: Vec<PanelSummary>,
}

/// A dashboard variable: the values it allows and the one it starts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariableSummary {
    /// The name in URLs and the panel API (`var.clinic=north`).
    pub name: String,
    /// What the selector is called on the page ("Clinic").
    pub label: String,
    pub values: Vec<VariableValue>,
    pub default: String,
}

/// One allowed value of a variable and how the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariableValue {
    pub value: String,
    pub label: String,
}

/// A panel as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PanelSummary {
    pub id: String,
    pub title: String,
    pub kind: PanelKind,
    pub unit: Unit,
    /// Columns of the grid the panel spans (1 or 2).
    pub width: u8,
    /// The queries behind the panel, for engineers only; absent for business roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<PanelQueryText>,
}

/// One query of a panel as an engineer reads it: for which source, and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PanelQueryText {
    /// `demo`, `prometheus` or `loki`.
    pub source: String,
    pub query: String,
}

/// How a panel shows its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// A headline number with its sentence, trend and a small chart.
    Stat,
    /// Lines over time.
    Timeseries,
    /// One bar per group (clinic, kind of interaction).
    Bar,
    /// One row per group.
    Table,
    /// Working, worth a look, or not working, in words.
    Status,
}

/// `GET /api/v1/dashboards`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardList {
    pub dashboards: Vec<DashboardSummary>,
}

/// How a panel's headline number should be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A count of things (registrations, logins).
    Count,
    /// A share from 0 to 1, shown as a percentage.
    Ratio,
    Seconds,
    /// Things per minute (messages processed).
    PerMinute,
    /// Any other number, such as a metric an engineer queries: as many digits as its size needs.
    Number,
}

/// How one thing clinicians rely on is doing, as the status page says it: the five states of a
/// status page, and the sixth it owes its readers when its measurements are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
    /// The readings needed to tell are missing.
    Unknown,
}

/// One component of the status page, as of its last evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusComponent {
    pub id: String,
    /// Its name in the words clinicians use ("Patient registration").
    pub name: String,
    pub description: String,
    pub state: ComponentState,
    /// The sentence that says the state ("Logins are slower than usual; most still work").
    pub says: String,
    /// Milliseconds since the epoch: since when the state has been shown.
    pub since: i64,
    /// While the state is unknown: the last state known, which held until `since`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_known: Option<ComponentState>,
    /// The last 24 hours, 7 days and 90 days, in bars, from the states recorded.
    pub history: Vec<StatusHistory>,
}

/// A component's recent past over one span, as bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusHistory {
    /// The span's name: `24h`, `7d` or `90d`.
    pub span: String,
    /// Of the time something was recorded in the span, the share that was operational or
    /// under planned maintenance; absent with nothing recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_share: Option<f64>,
    /// Oldest first: hourly bars for 24 hours, daily for 7 and 90 days.
    pub bars: Vec<StatusBar>,
}

/// One bar of a component's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusBar {
    /// Milliseconds since the epoch.
    pub from: i64,
    pub to: i64,
    /// The worst state shown in the bar; absent when nothing was recorded then (Vitals was not
    /// watching yet), which is said in words, never as operational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst: Option<ComponentState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_share: Option<f64>,
}

/// `GET /api/v1/status`: every component as of the last evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    /// Milliseconds since the epoch: when the components were last evaluated.
    pub as_of: i64,
    /// Seconds between evaluations: the status is computed once per interval for everyone.
    pub interval_seconds: u32,
    pub components: Vec<StatusComponent>,
    /// Open incidents and announced or running maintenance, newest first.
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// Incidents and windows finished in the last 14 days, newest first.
    #[serde(default)]
    pub past_incidents: Vec<Notice>,
    /// Set when the components could not be evaluated now: what is shown is the last known
    /// state, as of `as_of`, and this says why in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

/// What a notice tells people about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Something is not working and people are on it.
    Incident,
    /// Planned work with a start and an end; the components it names show as under
    /// maintenance for its span.
    Maintenance,
}

/// Where an incident stands, as each update says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeProgress {
    /// Planned maintenance announced.
    Scheduled,
    /// Looking into it.
    Investigating,
    /// The cause is known; a fix is under way.
    Identified,
    /// Fixed; watching that it stays so.
    Monitoring,
    /// Over: the notice moves to past incidents (a maintenance window ends early).
    Resolved,
}

/// One entry of a notice's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeUpdate {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// Who posted it.
    pub by: String,
    pub progress: NoticeProgress,
    pub message: String,
}

/// A notice from operations: an incident with its timeline, or a maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub id: String,
    pub kind: NoticeKind,
    /// One line for clinicians ("Logging in is failing for some staff").
    pub title: String,
    /// The ids of the status page's components it concerns.
    pub components: Vec<String>,
    /// Milliseconds since the epoch: when the incident began, or the window starts.
    pub starts_at: i64,
    /// When a maintenance window ends; incidents have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
    /// When it was resolved (or a window was ended early).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    /// Oldest first: the first is what was said when the notice was posted.
    pub updates: Vec<NoticeUpdate>,
}

impl Notice {
    /// When the notice stopped being current: resolved, or its window over; `None` while open.
    pub fn finished_at(&self) -> Option<i64> {
        match (self.resolved_at, self.kind, self.ends_at) {
            (Some(resolved), _, ends) => Some(ends.map_or(resolved, |ends| ends.min(resolved))),
            (None, NoticeKind::Maintenance, ends) => ends,
            (None, NoticeKind::Incident, _) => None,
        }
    }

    /// Whether the notice is current at `now_ms`: an incident until resolved; a window from
    /// before its start (announced) until it ends.
    pub fn is_current(&self, now_ms: i64) -> bool {
        self.finished_at().is_none_or(|finished| now_ms < finished)
    }

    /// Whether it puts `component` under maintenance at `now_ms`.
    pub fn maintains(&self, component: &str, now_ms: i64) -> bool {
        self.kind == NoticeKind::Maintenance
            && now_ms >= self.starts_at
            && self.is_current(now_ms)
            && self.components.iter().any(|one| one == component)
    }
}

/// `POST /api/v1/notices`: a new incident or maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeRequest {
    pub kind: NoticeKind,
    pub title: String,
    /// Component ids from the status page; at least one.
    pub components: Vec<String>,
    /// The first update's words.
    pub message: String,
    /// When it began or begins; now when absent. A maintenance window needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    /// When a maintenance window ends; required for maintenance, refused for incidents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
}

/// `POST /api/v1/notices/{id}/updates`: a new entry on the timeline, and what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeUpdateRequest {
    pub message: String,
    /// Where it stands now; `resolved` ends it. Unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<NoticeProgress>,
    /// A new title, components or window, when they change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
}

/// `GET /api/v1/notices`: current notices (open incidents, announced and running windows),
/// then those finished in the last 90 days, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeList {
    pub current: Vec<Notice>,
    pub past: Vec<Notice>,
}

/// `POST /api/v1/embed-tokens`: an embed link for the status page, for the pages that frame it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedTokenRequest {
    /// The origins allowed to frame the page, such as `https://intranet.hospital.example`.
    pub origins: Vec<String>,
    /// Days the link works: 1 to 365, 90 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// One embed token as admins list it; the signed token itself is shown once, when made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedToken {
    pub id: String,
    /// The status page it opens.
    pub page: String,
    pub origins: Vec<String>,
    pub created_by: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// The answer to `POST /api/v1/embed-tokens`: the token, and the address to put in the iframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedTokenCreated {
    pub token: EmbedToken,
    /// The signed token, as the iframe's address carries it; shown only now.
    pub secret: String,
    /// The iframe's address, relative to Vitals: `/embed/status?token=…`.
    pub url: String,
}

/// `GET /api/v1/embed-tokens`: every embed token, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedTokenList {
    pub tokens: Vec<EmbedToken>,
}

/// Whether the headline number is good news, worth a look, or bad news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Good,
    Warning,
    Bad,
    Unknown,
}

/// Which way the number moved since the period it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TrendDirection {
    Up,
    Down,
    Flat,
}

/// The number next to the same moment of an earlier period, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trend {
    pub direction: TrendDirection,
    /// "12% more than the same time last week".
    pub words: String,
    /// The earlier period's number.
    pub previous: Option<f64>,
    /// Whether the move is good news (fewer failures) or bad news (fewer registrations).
    pub health: Health,
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChartSeries {
    /// What the line is ("north", "success"); the panel's title when it has one line.
    pub name: String,
    pub points: Vec<Point>,
}

/// One group of a bar, table or status panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PanelRow {
    pub label: String,
    pub value: Option<f64>,
    pub health: Health,
}

/// `GET /api/v1/dashboards/{id}/panels/{panel}`: a number, a sentence and a
/// chart, in words an operations colleague can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PanelData {
    pub id: String,
    pub title: String,
    pub kind: PanelKind,
    /// The headline number; `None` when there is no data in the range.
    pub value: Option<f64>,
    pub unit: Unit,
    pub health: Health,
    /// One plain-language sentence about the number.
    pub sentence: String,
    /// The number next to an earlier period, when the panel compares.
    #[serde(default)]
    pub trend: Option<Trend>,
    /// The chart behind the number: one line, or one per group.
    pub series: Vec<ChartSeries>,
    /// The groups of a bar, table or status panel.
    #[serde(default)]
    pub rows: Vec<PanelRow>,
    /// Why the number may be out of date ("no new data for 12 minutes"), when it may be.
    #[serde(default)]
    pub stale: Option<String>,
    /// Milliseconds since the epoch: the range the panel covers.
    pub from: i64,
    pub to: i64,
    /// Milliseconds since the epoch: the newest data the panel saw.
    pub as_of: i64,
    /// Milliseconds since the epoch: when the server answered.
    pub generated_at: i64,
}

/// What a person may do in Vitals, from their Cognito groups. `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Clinician,
    Operations,
    Engineer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Clinician, Role::Operations, Role::Engineer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Operations => "operations",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
        }
    }

    /// Whether holding this role allows what `needed` allows: admins hold every role.
    pub fn grants(self, needed: Role) -> bool {
        self == needed || self == Role::Admin
    }

    /// The role of a Cognito group name, if it is one of Vitals' groups.
    pub fn from_group(group: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == group)
    }
}

/// `POST /api/v1/session`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A further step Cognito asks for before the session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeKind {
    #[serde(rename = "NEW_PASSWORD_REQUIRED")]
    NewPasswordRequired,
    #[serde(rename = "SOFTWARE_TOKEN_MFA")]
    SoftwareTokenMfa,
    /// The pool requires MFA and the person has no authenticator app yet: they add one, then answer with its code.
    #[serde(rename = "MFA_SETUP")]
    MfaSetup,
}

/// What a person needs to add Vitals to an authenticator app, sent with the `MFA_SETUP` step only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticatorSetup {
    /// The secret key in groups of four (`ABCD EFGH …`), for typing into the app.
    pub secret_key: String,
    /// `otpauth://totp/Vitals:<username>?secret=…&issuer=Vitals`, for an app on the same device.
    pub uri: String,
    /// A QR code of `uri`: a whole SVG document, to scan with the app.
    pub qr_svg: String,
}

impl std::fmt::Debug for AuthenticatorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticatorSetup(<hidden>)")
    }
}

/// The answer to a login or a challenge: a session, or the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LoginResponse {
    Challenge {
        challenge: ChallengeKind,
        /// Only with `MFA_SETUP`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authenticator: Option<AuthenticatorSetup>,
    },
    Session(SessionInfo),
}

/// `POST /api/v1/session/challenge`: the new password, or the code of the authenticator app (`SOFTWARE_TOKEN_MFA`, `MFA_SETUP`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeRequest {
    pub challenge: ChallengeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl std::fmt::Debug for ChallengeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeRequest")
            .field("challenge", &self.challenge)
            .field("new_password", &self.new_password.as_ref().map(|_| "<hidden>"))
            .field("code", &self.code.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// `GET /api/v1/session`: who is logged in, and when the session ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub user: String,
    pub roles: Vec<Role>,
    /// Milliseconds since the epoch: the session ends then unless used again.
    pub idle_expires_at: i64,
    /// Milliseconds since the epoch: the session ends then whatever happens.
    pub expires_at: i64,
}

impl SessionInfo {
    /// Whether this person may use what `role` may; admins may use everything.
    pub fn may(&self, role: Role) -> bool {
        self.roles.iter().any(|held| held.grants(role))
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: i64,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The username, or the one tried for a failed login.
    pub user: String,
    pub action: AuditAction,
    /// What was asked, without secrets or patient data (a query, a trace id).
    pub target: String,
    /// `ok`, `denied`, `error` and the like.
    pub outcome: String,
    pub client: String,
}

/// `GET /api/v1/audit?user=&action=&from=&to=&limit=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
}

/// `POST /api/v1/reveal`: read one masked log line or span whole, saying why. The reason is
/// kept in the audit trail beside who asked and what was shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// The `reveal_ref` of a masked log line or span, as the answer carried it.
    #[serde(rename = "ref")]
    pub reveal_ref: String,
    /// Why the patient data is needed, in words (at least a few); kept in the audit trail.
    pub reason: String,
}

/// What a reveal shows: the line or the span, unmasked. Never cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Revealed {
    Line { line: LogLine },
    Span { span: Span },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_answers_are_a_challenge_or_a_session() {
        let challenge: LoginResponse = serde_json::from_str(r#"{"challenge":"SOFTWARE_TOKEN_MFA"}"#).unwrap();
        assert_eq!(
            challenge,
            LoginResponse::Challenge {
                challenge: ChallengeKind::SoftwareTokenMfa,
                authenticator: None,
            }
        );
        let setup = LoginResponse::Challenge {
            challenge: ChallengeKind::MfaSetup,
            authenticator: Some(AuthenticatorSetup {
                secret_key: "ABCD EFGH".into(),
                uri: "otpauth://totp/Vitals:ana?secret=ABCDEFGH&issuer=Vitals".into(),
                qr_svg: "<svg/>".into(),
            }),
        };
        let json = serde_json::to_value(&setup).unwrap();
        assert_eq!(json["challenge"], "MFA_SETUP");
        assert_eq!(json["authenticator"]["secret_key"], "ABCD EFGH");
        assert_eq!(serde_json::from_value::<LoginResponse>(json).unwrap(), setup);
        assert!(
            !format!("{setup:?}").contains("ABCD"),
            "the secret never shows in debug output"
        );
        let session = SessionInfo {
            user: "ana".into(),
            roles: vec![Role::Engineer],
            idle_expires_at: 1,
            expires_at: 2,
        };
        let json = serde_json::to_value(LoginResponse::Session(session.clone())).unwrap();
        assert_eq!(json["roles"][0], "engineer");
        assert!(session.may(Role::Engineer) && !session.may(Role::Admin));
    }

    #[test]
    fn readiness_words_travel_as_plain_strings() {
        let source = SourceStatus {
            signal: Signal::Traces,
            backend: Backend::Xray,
            state: SourceState::Down,
            detail: String::new(),
            checked_at: 1,
            breaker: Breaker::HalfOpen,
        };
        let json = serde_json::to_value(&source).unwrap();
        assert_eq!(
            [
                &json["signal"],
                &json["backend"],
                &json["state"],
                &json["breaker"]
            ],
            ["traces", "xray", "down", "half-open"]
        );
        assert_eq!(json["backend"], Backend::Xray.as_str());
        assert_eq!(
            serde_json::to_value(ReadinessStatus::Degraded).unwrap(),
            "degraded"
        );
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let login = LoginRequest {
            username: "ana".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let challenge = ChallengeRequest {
            challenge: ChallengeKind::NewPasswordRequired,
            new_password: Some("s3cret!".into()),
            code: None,
        };
        assert!(!format!("{challenge:?}").contains("s3cret"));
    }

    #[test]
    fn point_is_a_compact_pair() {
        let json = serde_json::to_string(&Point(1_700_000_000_000, 2.5)).unwrap();
        assert_eq!(json, "[1700000000000,2.5]");
    }

    #[test]
    fn non_finite_values_travel_as_prometheus_names() {
        let points = [
            Point(1, f64::NAN),
            Point(2, f64::INFINITY),
            Point(3, f64::NEG_INFINITY),
        ];
        let json = serde_json::to_string(&points).unwrap();
        assert_eq!(json, r#"[[1,"NaN"],[2,"+Inf"],[3,"-Inf"]]"#);
        let back: Vec<Point> = serde_json::from_str(&json).unwrap();
        assert!(back[0].1.is_nan());
        assert_eq!(back[1].1, f64::INFINITY);
        assert_eq!(back[2].1, f64::NEG_INFINITY);
        assert!(serde_json::from_str::<Point>(r#"[1,"lots"]"#).is_err());
    }

    #[test]
    fn log_answer_is_tagged_by_result_type() {
        let answer = LogQueryResponse::Streams { lines: vec![] };
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["result_type"], "streams");
        assert!(json["lines"].as_array().unwrap().is_empty());
    }

    #[test]
    fn step_accepts_seconds_or_duration() {
        let seconds: Step = serde_json::from_str("30").unwrap();
        let duration: Step = serde_json::from_str("\"5m\"").unwrap();
        assert_eq!(seconds, Step::Seconds(30.0));
        assert_eq!(duration, Step::Duration("5m".into()));
    }
}
