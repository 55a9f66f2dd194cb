//! Times the BFF's cached metric answers beside the same queries asked of Prometheus itself; `cargo xtask bench` reads the lines it prints.
//!
//! A real Prometheus holds eight hours of the demo clinic; the Vitals server reads
//! it through `PrometheusSource` and serves on one thread with a single-threaded
//! runtime, so its throughput is what one core serves. The load comes from
//! another thread. Each figure is a line `what<TAB>measured<TAB>target<TAB>unit`.

use std::cell::Cell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures::future::try_join_all;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use vitals_server::config::{Config, DemoConfig};
use vitals_server::sources::demo::DemoClinic;
use vitals_server::sources::guard::{GuardConfig, Guarded};
use vitals_server::sources::prometheus::{PrometheusConfig, PrometheusSource};
use vitals_server::sources::{MetricSource, TimeRange};
use vitals_server::state::{AppState, FixedClock};
use vitals_tests::prometheus::PrometheusServer;
use vitals_tests::wait_until;

/// 2026-11-24 04:00Z to just past 12:00Z: enough for the home panel's six-hour chart at [`NOW_MS`].
const DATA: TimeRange = TimeRange {
    start_ms: 1_795_492_800_000,
    end_ms: 1_795_521_600_001,
};
/// 10:30Z that day: the server's fixed clock and the time of every direct query.
const NOW_MS: i64 = 1_795_516_200_000;
const CHART_SPAN_SECONDS: i64 = 6 * 3600;
const CHART_STEP_SECONDS: i64 = 600;

/// The registrations panel's queries, as `server/src/dashboards/mod.rs` asks them.
const REGISTERED: &str = r#"sum(increase(patient_registrations_total{result="success"}[1h]))"#;
const TURNED_AWAY: &str = r#"sum(increase(patient_registrations_total{result!="success"}[1h]))"#;
const REGISTRATIONS_CHART: &str = r#"sum(increase(patient_registrations_total{result="success"}[10m]))"#;

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

const LATENCY_WARM_UP: Bound = Bound {
    count: 1_000,
    time: Duration::from_secs(2),
};
const LATENCY_RUN: Bound = Bound {
    count: 20_000,
    time: Duration::from_secs(10),
};
const THROUGHPUT_WARM_UP: Bound = Bound {
    count: 50_000,
    time: Duration::from_secs(1),
};
const THROUGHPUT_RUN: Bound = Bound {
    count: 500_000,
    time: Duration::from_secs(5),
};

fn main() -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    // The server logs as in production, so the cost of its request spans is counted.
    vitals_server::telemetry::init_logging(Config::default().log_format);
    let samples = DemoClinic::new(DemoConfig::default()).openmetrics(DATA);
    let prometheus = PrometheusServer::start_with_openmetrics(&samples).await?;
    let (vitals, guarded_metrics) = start_vitals(&prometheus).await?;
    check_same_answer(&prometheus, &vitals).await?;

    let direct = Requests::new(prometheus.address)?;
    let through_vitals = Requests::new(vitals.address)?;
    let at = (NOW_MS / 1000).to_string();
    let direct_query = direct.get(&prometheus_query(
        "query",
        &[("query", REGISTERED), ("time", &at)],
    ))?;
    let direct_panel = [
        direct_query.clone(),
        direct.get(&prometheus_query(
            "query",
            &[("query", TURNED_AWAY), ("time", &at)],
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
    let cached_query =
        through_vitals.post_json("/api/v1/metrics/query", &json!({ "query": REGISTERED, "to": at }))?;
    let cached_panel = through_vitals.get("/api/v1/dashboards/clinic-now/panels/registrations")?;

    // The first call of each fills the cache; from here on nothing may reach Prometheus.
    for call in [&cached_query, &cached_panel] {
        Connection::open(vitals.address).await?.send(call).await?;
    }
    let upstream_calls_before = guarded_metrics.stats().upstream_calls;

    progress("latency: one query straight to Prometheus");
    let direct_query_latency = latency(prometheus.address, std::slice::from_ref(&direct_query)).await?;
    progress("latency: the same query, cached, through Vitals");
    let cached_query_latency = latency(vitals.address, std::slice::from_ref(&cached_query)).await?;
    progress("latency: the registrations panel's three queries straight to Prometheus");
    let direct_panel_latency = latency(prometheus.address, &direct_panel).await?;
    progress("latency: the registrations panel, cached, through Vitals");
    let cached_panel_latency = latency(vitals.address, std::slice::from_ref(&cached_panel)).await?;
    progress("throughput: one query straight to Prometheus");
    let direct_throughput = Load::warmed_up(prometheus.address, &direct_query)
        .await?
        .run(&direct_query)
        .await?
        .per_second(None);
    progress("throughput: the same query, cached, through Vitals on one core");
    let mut load = Load::warmed_up(vitals.address, &cached_query).await?;
    let cpu_before = vitals.cpu_used()?;
    let answered = load.run(&cached_query).await?;
    let server_cpu = vitals.cpu_used()? - cpu_before;
    let cached_throughput = answered.per_second(Some(server_cpu));
    progress(&format!(
        "the server thread was on a core {:.0}% of the run and answered {:.0} requests a second",
        100.0 * server_cpu.as_secs_f64() / answered.wall.as_secs_f64(),
        answered.per_second(None)
    ));

    let upstream_calls = guarded_metrics.stats().upstream_calls - upstream_calls_before;
    ensure!(
        upstream_calls == 0,
        "{upstream_calls} measured requests reached Prometheus, so the figures are not for cached answers"
    );
    drop(vitals);

    let mut lines = Vec::new();
    for (what, cached, direct) in [
        (
            "BFF cached metric query",
            &cached_query_latency,
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
    lines.push(format!(
        "BFF cached metric query throughput per core, by its thread's CPU time \
         (direct Prometheus, all cores: {direct_throughput:.0} req/s)\t\
         {cached_throughput:.0}\t{CACHED_THROUGHPUT_TARGET}\treq/s"
    ));
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

fn progress(what: &str) {
    eprintln!("bff_overhead: {what}");
}

/// Starts Vitals on its own thread, reading metrics from `prometheus`; also returns
/// the guarded metric source, whose counters show whether a request reached Prometheus.
async fn start_vitals(prometheus: &PrometheusServer) -> Result<(OneCoreServer, Guarded<dyn MetricSource>)> {
    let config = Config {
        dist_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"),
        guard: GuardConfig {
            cache_ttl_ms: CACHE_TTL_MS,
            ..GuardConfig::default()
        },
        ..Config::default()
    };
    let source = PrometheusSource::new(PrometheusConfig {
        base_url: prometheus.url(""),
        amp_region: None,
        timeout: Duration::from_millis(config.guard.timeout_ms),
    })
    .await?;
    let mut sources = vitals_server::demo_sources(&config);
    sources.metrics = Arc::new(source);
    let mut state = vitals_server::build_state(&config, &sources);
    state.clock = Arc::new(FixedClock(NOW_MS));
    let guarded_metrics = state.guarded.metrics.clone();
    let server = OneCoreServer::start(state)?;
    let healthz = format!("http://{}/healthz", server.address);
    wait_until(
        "the Vitals server answers /healthz",
        Duration::from_secs(20),
        || async {
            reqwest::get(&healthz)
                .await
                .is_ok_and(|response| response.status().is_success())
        },
    )
    .await?;
    Ok((server, guarded_metrics))
}

/// Proves that the query the bench times answers the same through Vitals as from Prometheus, and that it has data.
async fn check_same_answer(prometheus: &PrometheusServer, vitals: &OneCoreServer) -> Result<()> {
    let at = (NOW_MS / 1000).to_string();
    let direct = prometheus
        .api("query", &[("query", REGISTERED), ("time", &at)])
        .await?;
    let through_vitals: Value = reqwest::Client::new()
        .post(format!("http://{}/api/v1/metrics/query", vitals.address))
        .header("x-vitals-csrf", "1")
        .json(&json!({ "query": REGISTERED, "to": at }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
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

/// The Vitals server on one OS thread with a single-threaded runtime; stops when dropped.
struct OneCoreServer {
    address: SocketAddr,
    /// The thread's `schedstat` in /proc, whose first field is its time on a CPU in nanoseconds.
    schedstat: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OneCoreServer {
    fn start(state: AppState) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (task_sender, task) = std::sync::mpsc::channel();
        let app = vitals_server::app(state).into_make_service_with_connect_info::<SocketAddr>();
        let thread = std::thread::Builder::new()
            .name("vitals-server".into())
            .spawn(move || {
                let _ = task_sender.send(std::fs::read_link("/proc/thread-self"));
                runtime.block_on(async move {
                    // Dropping the runtime after this ends every connection still open.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        let task = task
            .recv()?
            .context("cannot find the server thread in /proc; the throughput per core needs Linux")?;
        Ok(Self {
            address,
            schedstat: Path::new("/proc").join(task).join("schedstat"),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The CPU time the server thread has used so far.
    fn cpu_used(&self) -> Result<Duration> {
        let schedstat = std::fs::read_to_string(&self.schedstat)?;
        let nanoseconds = schedstat
            .split_whitespace()
            .next()
            .and_then(|field| field.parse().ok())
            .with_context(|| format!("{} reads {schedstat:?}", self.schedstat.display()))?;
        Ok(Duration::from_nanos(nanoseconds))
    }
}

impl Drop for OneCoreServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Builds the requests the bench repeats for one server, with the headers a browser would send.
struct Requests {
    host: HeaderValue,
}

impl Requests {
    fn new(address: SocketAddr) -> Result<Self> {
        Ok(Self {
            host: HeaderValue::try_from(address.to_string())?,
        })
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
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, self.host.clone());
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(BROWSER_ACCEPT_ENCODING),
        );
        Ok(Call {
            method,
            uri: path.parse()?,
            headers,
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
    async fn send(&mut self, call: &Call) -> Result<()> {
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
        Ok(())
    }
}

/// The middle and the slow tail of many sequential rounds.
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

/// Sends `calls` in turn on one connection, round after round: a warm-up, then
/// timed rounds; each round's time is one sample.
async fn latency(address: SocketAddr, calls: &[Call]) -> Result<Latency> {
    let mut connection = Connection::open(address).await?;
    timed_rounds(&mut connection, calls, LATENCY_WARM_UP).await?;
    let mut samples = timed_rounds(&mut connection, calls, LATENCY_RUN).await?;
    samples.sort_unstable();
    Ok(Latency {
        p50_ms: percentile_ms(&samples, 0.50),
        p99_ms: percentile_ms(&samples, 0.99),
    })
}

async fn timed_rounds(connection: &mut Connection, calls: &[Call], bound: Bound) -> Result<Vec<Duration>> {
    let deadline = Instant::now() + bound.time;
    let mut samples = Vec::with_capacity(bound.count);
    while samples.len() < bound.count && Instant::now() < deadline {
        let started = Instant::now();
        for call in calls {
            connection.send(call).await?;
        }
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

/// Many keep-alive connections to one server, each sending its next request as soon as the last is answered.
struct Load {
    connections: Vec<Connection>,
}

/// How many requests a run answered, and over how long.
struct Answered {
    count: usize,
    wall: Duration,
}

impl Answered {
    /// Requests per second of `time`: the wall clock, or the CPU time the server spent.
    fn per_second(&self, time: Option<Duration>) -> f64 {
        self.count as f64 / time.unwrap_or(self.wall).as_secs_f64()
    }
}

impl Load {
    /// Opens [`CONNECTIONS`] connections to `address` and sends `call` on them for a while.
    async fn warmed_up(address: SocketAddr, call: &Call) -> Result<Self> {
        let connections = try_join_all((0..CONNECTIONS).map(|_| Connection::open(address))).await?;
        let mut load = Self { connections };
        load.send_until(call, THROUGHPUT_WARM_UP).await?;
        Ok(load)
    }

    async fn run(&mut self, call: &Call) -> Result<Answered> {
        let started = Instant::now();
        let count = self.send_until(call, THROUGHPUT_RUN).await?;
        Ok(Answered {
            count,
            wall: started.elapsed(),
        })
    }

    /// Sends `call` on every connection until `bound`; returns how many were answered.
    async fn send_until(&mut self, call: &Call, bound: Bound) -> Result<usize> {
        let deadline = Instant::now() + bound.time;
        let left = Cell::new(bound.count);
        let take_one = || {
            let more = left.get() > 0 && Instant::now() < deadline;
            if more {
                left.set(left.get() - 1);
            }
            more
        };
        let answered = try_join_all(self.connections.iter_mut().map(|connection| async move {
            let mut answered = 0;
            while take_one() {
                connection.send(call).await?;
                answered += 1;
            }
            anyhow::Ok(answered)
        }))
        .await?;
        Ok(answered.iter().sum())
    }
}
