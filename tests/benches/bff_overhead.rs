//! Times the BFF's cached metric answers beside the same queries asked of Prometheus itself, and
//! beside nginx in front of the same Prometheus as a plain reverse proxy and as a proxy cache;
//! `cargo xtask bench` reads the lines it prints.
//!
//! A real Prometheus holds eight hours of the demo clinic; the Vitals server reads
//! it through `PrometheusSource`, with a logged-in engineer asking, and runs its
//! async work on one thread with a single-threaded runtime. The load comes from
//! another thread. Throughput per core is counted against the CPU time of the
//! server's threads (its runtime and the blocking pool its session store uses).
//! nginx runs one worker, whose CPU time its throughput per core is counted against. Each
//! figure is a line `what<TAB>measured<TAB>target<TAB>unit`, the target `-` where no issue
//! names one.

use std::cell::Cell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures::future::try_join_all;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use vitals_api::AuditEvent;
use vitals_demo::{DemoClinic, DemoConfig};
use vitals_server::config::{Config, LimitConfig, Secret};
use vitals_server::sources::guard::{GuardConfig, Guarded};
use vitals_server::sources::prometheus::{PrometheusConfig, PrometheusSource};
use vitals_server::sources::{MetricSource, TimeRange};
use vitals_server::state::{Clock, FixedClock};
use vitals_server::store::{AuditFilter, AuditLog, NewAuditEvent, NumberedAuditEvent, StoreError};
use vitals_tests::nginx::Nginx;
use vitals_tests::prometheus::PrometheusServer;
use vitals_tests::{DEMO_PASSWORD, TestServer, bench_scale, one_thread_server_cpu_used};

/// The server's allocator, as its binary runs with it.
#[global_allocator]
static ALLOCATOR: vitals_server::Allocator = vitals_server::Allocator;

/// 2026-11-24 04:00Z to just past 12:00Z: enough for the home panel's six-hour chart at [`NOW_MS`].
const DATA: TimeRange = TimeRange {
    start_ms: 1_795_492_800_000,
    end_ms: 1_795_521_600_001,
};
/// 10:30Z that day: the server's fixed clock and the time of every direct query.
const NOW_MS: i64 = 1_795_516_200_000;
const CHART_SPAN_SECONDS: i64 = 6 * 3600;
const CHART_STEP_SECONDS: i64 = 600;
const DAY_SECONDS: i64 = 86_400;

/// The registrations panel's queries, as `server/dashboards/clinic-now.toml` has the server
/// ask them: the last hour now and a day earlier, and a six-hour chart at ten minutes.
const REGISTERED: &str = r#"sum(increase(patient_registrations_total{result="success"}[3600s]))"#;
const REGISTRATIONS_CHART: &str = r#"sum(increase(patient_registrations_total{result="success"}[600s]))"#;
const PANEL_PATH: &str = "/api/v1/dashboards/clinic-now/panels/registrations";
/// Prometheus's handler for instant queries, as its own request counter names it.
const QUERY_HANDLER: &str = "/api/v1/query";

/// What Chromium sends, so both servers compress as they would for the browser app.
const BROWSER_ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Long enough that no measured request misses the cache: the targets are for cached answers.
const CACHE_TTL_MS: u64 = 600_000;

/// Keep-alive connections hammering at once in the throughput runs.
const CONNECTIONS: usize = 32;

const ADDED_LATENCY_P50_TARGET_MS: f64 = 0.15;
const ADDED_LATENCY_P99_TARGET_MS: f64 = 1.0;
const CACHED_THROUGHPUT_TARGET: f64 = 25_000.0;

/// When a run stops: after `count` rounds or `time`, whichever comes first.
#[derive(Clone, Copy)]
struct Bound {
    count: usize,
    time: Duration,
}

fn latency_warm_up() -> Bound {
    bench_scale(
        Bound {
            count: 1_000,
            time: Duration::from_secs(2),
        },
        Bound {
            count: 200,
            time: Duration::from_millis(500),
        },
    )
}

fn latency_run() -> Bound {
    bench_scale(
        Bound {
            count: 20_000,
            time: Duration::from_secs(10),
        },
        Bound {
            count: 2_000,
            time: Duration::from_secs(1),
        },
    )
}

fn throughput_warm_up() -> Bound {
    bench_scale(
        Bound {
            count: 50_000,
            time: Duration::from_secs(1),
        },
        Bound {
            count: 5_000,
            time: Duration::from_millis(300),
        },
    )
}

fn throughput_run() -> Bound {
    bench_scale(
        Bound {
            count: 500_000,
            time: Duration::from_secs(5),
        },
        Bound {
            count: 50_000,
            time: Duration::from_secs(1),
        },
    )
}

fn main() -> Result<()> {
    vitals_tests::bench_on_one_thread(run())
}

async fn run() -> Result<()> {
    // The server logs as in production, so the cost of its request spans is counted.
    vitals_server::telemetry::init_logging_and_traces(Config::default().log_format, None);
    let samples = DemoClinic::new(DemoConfig::default()).openmetrics(DATA);
    let prometheus = PrometheusServer::start_with_openmetrics(&samples).await?;
    let vitals = Vitals::start(&prometheus, Audit::Durable).await?;

    let direct = Requests::new(prometheus.address, HeaderMap::new())?;
    let at = (NOW_MS / 1000).to_string();
    let direct_query = direct.get(&prometheus_query(
        "query",
        &[("query", REGISTERED), ("time", &at)],
    ))?;
    let direct_panel = [
        direct_query.clone(),
        direct.get(&prometheus_query(
            "query",
            &[
                ("query", REGISTERED),
                ("time", &(NOW_MS / 1000 - DAY_SECONDS).to_string()),
            ],
        ))?,
        direct.get(&prometheus_query(
            "query_range",
            &[
                ("query", REGISTRATIONS_CHART),
                ("start", &(NOW_MS / 1000 - CHART_SPAN_SECONDS).to_string()),
                ("end", &at),
                ("step", &CHART_STEP_SECONDS.to_string()),
            ],
        ))?,
    ];
    let cached_query = metric_query(&vitals)?;
    // The page marks its panels' refreshes as background requests.
    let mut cached_panel = vitals.requests.get(PANEL_PATH)?;
    cached_panel
        .headers
        .insert("x-vitals-background", HeaderValue::from_static("1"));

    check_same_answer(&prometheus, &vitals, &cached_query).await?;
    // Fills the cache; from here on nothing may reach Prometheus.
    Connection::open(vitals.server.address)
        .await?
        .send(&cached_panel)
        .await?;
    let upstream_calls_before = vitals.metrics.stats().upstream_calls;

    let vitals_address = vitals.server.address;
    let query = std::slice::from_ref(&cached_query);
    let panel = std::slice::from_ref(&cached_panel);
    let direct_one = std::slice::from_ref(&direct_query);
    progress("latency: one query straight to Prometheus");
    let direct_query_latency = latency(prometheus.address, direct_one).await?;
    progress("latency: the same query, cached, through Vitals");
    let cached_query_latency = latency(vitals_address, query).await?;
    progress("latency: the registrations panel's three queries straight to Prometheus");
    let direct_panel_latency = latency(prometheus.address, &direct_panel).await?;
    progress("latency: the registrations panel, cached, through Vitals");
    let cached_panel_latency = latency(vitals_address, panel).await?;
    progress("throughput: one query straight to Prometheus");
    let direct_query_throughput = throughput(prometheus.address, direct_one).await?;
    progress("throughput: the same query, cached, through Vitals");
    let cached_query_throughput = throughput(vitals_address, query).await?;
    progress("throughput: the registrations panel's three queries straight to Prometheus");
    let direct_panel_throughput = throughput(prometheus.address, &direct_panel).await?;
    progress("throughput: the registrations panel, cached, through Vitals");
    let cached_panel_throughput = throughput(vitals_address, panel).await?;

    ensure_all_cached(&vitals, upstream_calls_before)?;
    drop(vitals);

    // The same query on a server that drops its audit entries: the difference is what
    // writing each one durably before answering costs.
    let unaudited = Vitals::start(&prometheus, Audit::Discarded).await?;
    let unaudited_query = metric_query(&unaudited)?;
    Connection::open(unaudited.server.address)
        .await?
        .send(&unaudited_query)
        .await?;
    let upstream_calls_before = unaudited.metrics.stats().upstream_calls;
    let unaudited_one = std::slice::from_ref(&unaudited_query);
    progress("latency: the cached query with its audit entry dropped");
    let unaudited_query_latency = latency(unaudited.server.address, unaudited_one).await?;
    progress("throughput: the cached query with its audit entry dropped");
    let unaudited_query_throughput = throughput(unaudited.server.address, unaudited_one).await?;
    ensure_all_cached(&unaudited, upstream_calls_before)?;
    drop(unaudited);

    // What an operator might put in front of Prometheus instead: nginx passing the same query
    // through, and nginx answering it from its cache.
    let nginx = Nginx::start_in_front_of(prometheus.address, "/-/ready").await?;
    progress("latency: the same query through nginx as a plain reverse proxy");
    let proxied_query_latency = latency(nginx.proxy_address, direct_one).await?;
    Connection::open(nginx.cache_address)
        .await?
        .send(&direct_query)
        .await?;
    let asked_before = prometheus.requests_answered(QUERY_HANDLER).await?;
    progress("latency: the same query from nginx's proxy cache");
    let nginx_cached_latency = latency(nginx.cache_address, direct_one).await?;
    progress("throughput: the same query from nginx's proxy cache");
    let nginx_cached_throughput =
        throughput_counting(nginx.cache_address, direct_one, || nginx.workers_cpu_used()).await?;
    let reached_prometheus = prometheus.requests_answered(QUERY_HANDLER).await? - asked_before;
    ensure!(
        reached_prometheus == 0,
        "{reached_prometheus} requests to nginx's cache reached Prometheus, so its figures are not for cached answers"
    );
    drop(nginx);

    let mut lines = Vec::new();
    for (what, cached, direct) in [
        (
            "BFF cached metric query, audit entry committed before the answer",
            &cached_query_latency,
            &direct_query_latency,
        ),
        (
            "BFF cached metric query, audit entry dropped (what durable audit adds is the difference)",
            &unaudited_query_latency,
            &direct_query_latency,
        ),
        (
            "BFF cached registrations panel (3 queries)",
            &cached_panel_latency,
            &direct_panel_latency,
        ),
    ] {
        lines.push(format!(
            "{what}, added latency p50 (direct Prometheus: {:.3} ms)\t{:.3}\t{ADDED_LATENCY_P50_TARGET_MS}\tms",
            direct.p50_ms, cached.p50_ms
        ));
        lines.push(format!(
            "{what}, added latency p99 (direct Prometheus: {:.3} ms)\t{:.3}\t{ADDED_LATENCY_P99_TARGET_MS}\tms",
            direct.p99_ms, cached.p99_ms
        ));
    }
    for (what, cached, direct) in [
        (
            "BFF cached metric query, audit entry committed before the answer",
            &cached_query_throughput,
            &direct_query_throughput,
        ),
        (
            "BFF cached metric query, audit entry dropped",
            &unaudited_query_throughput,
            &direct_query_throughput,
        ),
        (
            "BFF cached registrations panel",
            &cached_panel_throughput,
            &direct_panel_throughput,
        ),
    ] {
        progress(&format!(
            "{what}: {:.0} req/s on the wall clock, the server's threads busy {:.2} cores",
            cached.per_second(),
            cached.server_cores()
        ));
        lines.push(format!(
            "{what} throughput per core of the server's CPU time \
             (direct Prometheus, all cores: {:.0} answers/s)\t{:.0}\t{CACHED_THROUGHPUT_TARGET}\treq/s",
            direct.per_second(),
            cached.per_server_cpu_second()
        ));
    }
    let proxy_added_p50 = proxied_query_latency.p50_ms - direct_query_latency.p50_ms;
    lines.extend([
        format!(
            "nginx as a plain reverse proxy in front of the same Prometheus, added latency p50 \
             (proxied {:.3} ms less direct {:.3} ms)\t{proxy_added_p50:.3}\t-\tms",
            proxied_query_latency.p50_ms, direct_query_latency.p50_ms
        ),
        format!(
            "nginx as a proxy cache in front of the same Prometheus, cached query p50\t{:.3}\t-\tms",
            nginx_cached_latency.p50_ms
        ),
        format!(
            "nginx as a proxy cache in front of the same Prometheus, cached query p99\t{:.3}\t-\tms",
            nginx_cached_latency.p99_ms
        ),
        format!(
            "nginx as a proxy cache, cached query throughput per core of its one worker's CPU time \
             (wall clock: {:.0} answers/s)\t{:.0}\t-\treq/s",
            nginx_cached_throughput.per_second(),
            nginx_cached_throughput.per_server_cpu_second()
        ),
        format!(
            "BFF cached metric query p50 (audit committed) over nginx plain proxy's added latency p50\t{:.2}\t-\tratio",
            cached_query_latency.p50_ms / proxy_added_p50
        ),
        format!(
            "BFF cached metric query p50 (audit committed) over nginx proxy cache's cached p50\t{:.2}\t-\tratio",
            cached_query_latency.p50_ms / nginx_cached_latency.p50_ms
        ),
        format!(
            "BFF cached metric query throughput per core over nginx proxy cache's (higher: the BFF answers more)\t{:.2}\t-\tratio",
            cached_query_throughput.per_server_cpu_second() / nginx_cached_throughput.per_server_cpu_second()
        ),
    ]);
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// The cached metric query an engineer asks of `vitals`.
fn metric_query(vitals: &Vitals) -> Result<Call> {
    let at = (NOW_MS / 1000).to_string();
    vitals
        .requests
        .post_json("/api/v1/metrics/query", &json!({ "query": REGISTERED, "to": at }))
}

/// Fails unless no request since `upstream_calls_before` reached Prometheus.
fn ensure_all_cached(vitals: &Vitals, upstream_calls_before: u64) -> Result<()> {
    let upstream_calls = vitals.metrics.stats().upstream_calls - upstream_calls_before;
    ensure!(
        upstream_calls == 0,
        "{upstream_calls} measured requests reached Prometheus, so the figures are not for cached answers"
    );
    Ok(())
}

/// Whether the server under test keeps its audit trail as it does in production.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audit {
    /// In SQLite, each entry committed before its answer leaves.
    Durable,
    /// Dropped: a baseline that shows what the durable trail costs.
    Discarded,
}

/// An audit trail that keeps nothing.
struct DiscardedAudit;

#[async_trait::async_trait]
impl AuditLog for DiscardedAudit {
    async fn append(&self, _event: NewAuditEvent) -> Result<(), StoreError> {
        Ok(())
    }

    async fn append_numbered(&self, _entries: &[NumberedAuditEvent]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn query(&self, _filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(Vec::new())
    }
}

fn progress(what: &str) {
    eprintln!("bff_overhead: {what}");
}

/// The Vitals server reading `prometheus` on one thread, and an engineer's session on it.
struct Vitals {
    server: TestServer,
    /// Requests carrying the engineer's session cookie.
    requests: Requests,
    /// The guarded metric source, whose counters show whether a request reached Prometheus.
    metrics: Guarded<dyn MetricSource>,
}

impl Vitals {
    async fn start(prometheus: &PrometheusServer, audit: Audit) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let config = Config {
            dist_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"),
            data_dir: data.path().to_owned(),
            demo_password: Some(Secret(DEMO_PASSWORD.into())),
            // The clock is fixed, so a person's request budget would never refill: the
            // limiter still runs on every request, but never refuses one here.
            limits: LimitConfig {
                api_requests_per_second: u32::MAX,
                api_burst: u32::MAX,
                ..LimitConfig::default()
            },
            guard: GuardConfig {
                cache_ttl_ms: CACHE_TTL_MS,
                ..GuardConfig::default()
            },
            ..Config::default()
        };
        let metrics = PrometheusConfig {
            url: prometheus.url("").parse()?,
            amp_region: None,
        };
        let source = PrometheusSource::new(metrics, config.guard.timeout()).await?;
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW_MS));
        let mut sources = vitals_server::demo_sources(&config, clock.clone());
        sources.metrics = Arc::new(source);
        let mut auth = vitals_server::local_auth(&config, clock.clone())?;
        if audit == Audit::Discarded {
            auth.audit = Arc::new(DiscardedAudit);
        }
        let state = vitals_server::state_with_auth(&config, &sources, auth, clock)?;
        let metrics = state.guarded.metrics.clone();
        let server = TestServer::start_on_one_thread(state, data).await?;
        let mut session = HeaderMap::new();
        session.insert(
            header::COOKIE,
            HeaderValue::from_str(&server.login("engineer").await?)?,
        );
        Ok(Self {
            requests: Requests::new(server.address, session)?,
            server,
            metrics,
        })
    }
}

/// Proves that the query the bench times answers the same through Vitals as from Prometheus, and that it has data.
async fn check_same_answer(
    prometheus: &PrometheusServer,
    vitals: &Vitals,
    cached_query: &Call,
) -> Result<()> {
    let at = (NOW_MS / 1000).to_string();
    let direct = prometheus
        .api("query", &[("query", REGISTERED), ("time", &at)])
        .await?;
    let mut identity = cached_query.clone();
    identity
        .headers
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    let body = Connection::open(vitals.server.address)
        .await?
        .send(&identity)
        .await?;
    let through_vitals: Value = serde_json::from_slice(&body)?;
    let direct_value: f64 = direct["result"][0]["value"][1]
        .as_str()
        .and_then(|text| text.parse().ok())
        .with_context(|| format!("Prometheus has no value for {REGISTERED}: {direct}"))?;
    let value = through_vitals["series"][0]["points"][0][1]
        .as_f64()
        .with_context(|| format!("Vitals has no value for {REGISTERED}: {through_vitals}"))?;
    ensure!(
        value == direct_value,
        "Vitals answers {value} and Prometheus {direct_value} for {REGISTERED}"
    );
    Ok(())
}

/// `/api/v1/<endpoint>?<params>` on Prometheus, form-encoded.
fn prometheus_query(endpoint: &str, params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/api/v1/{endpoint}?{query}")
}

/// Builds the requests the bench repeats for one server, with the headers the browser app sends.
struct Requests {
    headers: HeaderMap,
}

impl Requests {
    /// Requests to `address` that also carry `extra` headers, such as a session cookie.
    fn new(address: SocketAddr, extra: HeaderMap) -> Result<Self> {
        let mut headers = extra;
        headers.insert(header::HOST, HeaderValue::try_from(address.to_string())?);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(BROWSER_ACCEPT_ENCODING),
        );
        Ok(Self { headers })
    }

    fn get(&self, path: &str) -> Result<Call> {
        self.call(Method::GET, path, Bytes::new())
    }

    fn post_json(&self, path: &str, body: &Value) -> Result<Call> {
        let mut call = self.call(Method::POST, path, Bytes::from(body.to_string()))?;
        call.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        call.headers
            .insert("x-vitals-csrf", HeaderValue::from_static("1"));
        Ok(call)
    }

    fn call(&self, method: Method, path: &str, body: Bytes) -> Result<Call> {
        Ok(Call {
            method,
            uri: path.parse()?,
            headers: self.headers.clone(),
            body,
        })
    }
}

/// One request, sent again and again.
#[derive(Clone)]
struct Call {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Call {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One keep-alive HTTP/1.1 connection, one request at a time.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Self> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender })
    }

    /// Sends `call` and reads the whole answer, which must be a 200.
    async fn send(&mut self, call: &Call) -> Result<Bytes> {
        self.sender.ready().await?;
        let response = self.sender.send_request(call.request()).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        ensure!(
            status == StatusCode::OK,
            "{} {} answered {status}: {}",
            call.method,
            call.uri,
            String::from_utf8_lossy(&body)
        );
        Ok(body)
    }

    /// Sends each call of `round` in turn.
    async fn send_round(&mut self, round: &[Call]) -> Result<()> {
        for call in round {
            self.send(call).await?;
        }
        Ok(())
    }
}

/// The middle and the slow tail of many sequential rounds.
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

/// Sends `round` on one connection again and again: a warm-up, then timed rounds,
/// each round's time one sample.
async fn latency(address: SocketAddr, round: &[Call]) -> Result<Latency> {
    let mut connection = Connection::open(address).await?;
    timed_rounds(&mut connection, round, latency_warm_up()).await?;
    let mut samples = timed_rounds(&mut connection, round, latency_run()).await?;
    samples.sort_unstable();
    Ok(Latency {
        p50_ms: percentile_ms(&samples, 0.50),
        p99_ms: percentile_ms(&samples, 0.99),
    })
}

async fn timed_rounds(connection: &mut Connection, round: &[Call], bound: Bound) -> Result<Vec<Duration>> {
    let deadline = Instant::now() + bound.time;
    let mut samples = Vec::with_capacity(bound.count);
    while samples.len() < bound.count && Instant::now() < deadline {
        let started = Instant::now();
        connection.send_round(round).await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// The sample at `fraction` of `sorted` (nearest rank), in milliseconds.
fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    let rank = (sorted.len() as f64 * fraction).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .map_or(f64::NAN, |sample| sample.as_secs_f64() * 1000.0)
}

/// How many rounds a throughput run answered, over how long, and the CPU time the Vitals server spent meanwhile.
struct Throughput {
    rounds: usize,
    wall: Duration,
    server_cpu: Duration,
}

impl Throughput {
    fn per_second(&self) -> f64 {
        self.rounds as f64 / self.wall.as_secs_f64()
    }

    fn per_server_cpu_second(&self) -> f64 {
        self.rounds as f64 / self.server_cpu.as_secs_f64()
    }

    fn server_cores(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
}

/// Sends `round` on [`CONNECTIONS`] keep-alive connections at once, each starting its next
/// round as soon as the last is answered: a warm-up, then a measured run, with the CPU time
/// of the Vitals server's threads counted.
async fn throughput(address: SocketAddr, round: &[Call]) -> Result<Throughput> {
    throughput_counting(address, round, one_thread_server_cpu_used).await
}

/// [`throughput`] with the CPU time of whichever server answers counted by `server_cpu_used`.
async fn throughput_counting(
    address: SocketAddr,
    round: &[Call],
    server_cpu_used: impl Fn() -> Result<Duration>,
) -> Result<Throughput> {
    let mut connections = try_join_all((0..CONNECTIONS).map(|_| Connection::open(address))).await?;
    rounds_until(&mut connections, round, throughput_warm_up()).await?;
    let cpu_before = server_cpu_used()?;
    let started = Instant::now();
    let rounds = rounds_until(&mut connections, round, throughput_run()).await?;
    Ok(Throughput {
        rounds,
        wall: started.elapsed(),
        server_cpu: server_cpu_used()? - cpu_before,
    })
}

/// Sends `round` on every connection until `bound`; returns how many rounds were answered.
async fn rounds_until(connections: &mut [Connection], round: &[Call], bound: Bound) -> Result<usize> {
    let deadline = Instant::now() + bound.time;
    let left = Cell::new(bound.count);
    let take_one = || {
        let more = left.get() > 0 && Instant::now() < deadline;
        if more {
            left.set(left.get() - 1);
        }
        more
    };
    let answered = try_join_all(connections.iter_mut().map(|connection| async move {
        let mut answered = 0;
        while take_one() {
            connection.send_round(round).await?;
            answered += 1;
        }
        anyhow::Ok(answered)
    }))
    .await?;
    Ok(answered.iter().sum())
}
