//! Measures the embedded status page against its targets; `cargo xtask bench` reads the lines it
//! prints (`what<TAB>measured<TAB>target<TAB>unit`): the bytes a browser downloads for it, the
//! time from opening it in headless Chromium to its first paint on loopback, and the views a
//! second the server answers from its cached evaluation on one core.
//!
//! The Vitals server runs its async work on one thread with a single-threaded runtime; views
//! per core are counted against the CPU time of all its threads (that runtime and the blocking
//! pool its SQLite store reads through). The load comes from this thread, on another core.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures::future::try_join_all;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use vitals_server::config::Config;
use vitals_server::state::FixedClock;
use vitals_tests::{
    Browser, TestServer, bench_scale, one_thread_server_cpu_used, test_state, time_page_loads,
};

/// The server's allocator, as its binary runs with it.
#[global_allocator]
static ALLOCATOR: vitals_server::Allocator = vitals_server::Allocator;

/// Tuesday 2026-11-24 10:20 UTC: clinic hours on the demo clinic, the server's fixed clock, so
/// its one evaluation stays fresh for the whole run.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

/// What Chromium sends, so the server compresses (or not) as it would for a browser.
const BROWSER_ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

const TRANSFERRED_TARGET_KB: f64 = 30.0;
const FIRST_PAINT_TARGET_MS: f64 = 100.0;
const VIEWS_TARGET: f64 = 20_000.0;

const FIRST_PAINT_SCRIPT: &str =
    "return performance.getEntriesByName('first-contentful-paint').map(entry => entry.startTime);";
/// What the page loaded besides itself, and the bytes each took over the wire.
const RESOURCES_SCRIPT: &str =
    "return performance.getEntriesByType('resource').map(entry => entry.transferSize);";

/// Keep-alive connections asking for the page at once, as iframes on many screens do.
const CONNECTIONS: usize = 8;

/// When a run stops: after `count` views or `time`, whichever comes first.
#[derive(Clone, Copy)]
struct Bound {
    count: usize,
    time: Duration,
}

fn views_warm_up() -> Bound {
    bench_scale(
        Bound {
            count: 20_000,
            time: Duration::from_secs(1),
        },
        Bound {
            count: 2_000,
            time: Duration::from_millis(300),
        },
    )
}

fn views_run() -> Bound {
    bench_scale(
        Bound {
            count: 200_000,
            time: Duration::from_secs(10),
        },
        Bound {
            count: 20_000,
            time: Duration::from_secs(2),
        },
    )
}

fn main() -> Result<()> {
    vitals_tests::bench_on_one_thread(run())
}

async fn run() -> Result<()> {
    // The server logs as in production, so the cost of its request spans is counted.
    vitals_server::telemetry::init_logging_and_traces(Config::default().log_format, None);
    let (state, data) = test_state(None, Arc::new(FixedClock(CLINIC_MORNING_MS)))?;
    let server = TestServer::start_on_one_thread(state.clone(), data).await?;
    let made: Value = server
        .client_as("admin")
        .await?
        .post(server.url("/api/v1/embed-tokens"))
        .json(&json!({"origins": ["https://intranet.hospital.example"], "expires_in_days": 30}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let path = made["url"]
        .as_str()
        .with_context(|| format!("the embed link has no address: {made}"))?
        .to_owned();

    progress("bytes: the page as a browser asks for it");
    let page = Connection::open(server.address).await?.view(&path).await?;
    ensure!(
        page.status == StatusCode::OK,
        "the embed page answered {}",
        page.status
    );
    let encoding = page.encoding.clone().unwrap_or_else(|| "none".to_owned());
    if page.encoding.is_none() {
        ensure!(
            String::from_utf8_lossy(&page.body).contains("Patient registration"),
            "the embed page shows no component"
        );
    }

    progress("first paint: the page opened in headless Chromium");
    let browser = Browser::start().await?;
    let client = &browser.client;
    let resources = Cell::new((0_usize, 0_f64));
    let paints = time_page_loads(
        client,
        &server.url(&path),
        FIRST_PAINT_SCRIPT,
        // Page loads timed, after one that warms the caches; fewer if the time budget runs out.
        bench_scale(20, 5),
        bench_scale(Duration::from_secs(120), Duration::from_secs(30)),
        || {
            let resources = &resources;
            async move {
                let shown = client.source().await?;
                ensure!(
                    shown.contains("Patient registration"),
                    "the page in Chromium shows no component"
                );
                let sizes = client.execute(RESOURCES_SCRIPT, Vec::new()).await?;
                let sizes: Vec<f64> = sizes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_f64)
                    .collect();
                let (most, bytes) = resources.get();
                resources.set((most.max(sizes.len()), bytes.max(sizes.iter().sum())));
                Ok(())
            }
        },
    )
    .await?;
    browser.close().await?;
    let first_paint_p50 = paints[paints.len() / 2];
    progress(&format!(
        "{} loads: first contentful paint fastest {:.1} ms, p50 {first_paint_p50:.1} ms, slowest {:.1} ms",
        paints.len(),
        paints[0],
        paints[paints.len() - 1]
    ));
    let (sub_resources, sub_resource_bytes) = resources.get();
    let transferred_kb = (page.body.len() as f64 + sub_resource_bytes) / 1000.0;

    progress("views: the page again and again on keep-alive connections");
    let evaluations_before = state.status.evaluations();
    let mut connections = try_join_all((0..CONNECTIONS).map(|_| Connection::open(server.address))).await?;
    views_until(&mut connections, &path, page.body.len(), views_warm_up()).await?;
    let cpu_before = one_thread_server_cpu_used()?;
    let started = Instant::now();
    let views = views_until(&mut connections, &path, page.body.len(), views_run()).await?;
    let wall = started.elapsed();
    let server_cpu = one_thread_server_cpu_used()? - cpu_before;
    let evaluations = state.status.evaluations() - evaluations_before;
    ensure!(
        evaluations == 0,
        "{evaluations} evaluations during the views, so they were not answered from the cached one"
    );
    let per_second = views as f64 / wall.as_secs_f64();
    let per_core = views as f64 / server_cpu.as_secs_f64();
    let cores = server_cpu.as_secs_f64() / wall.as_secs_f64();
    progress(&format!(
        "{views} views in {wall:.2?}: {per_second:.0} views/s on the wall clock, the server's threads busy {cores:.2} cores"
    ));

    println!(
        "embed page transferred (body as sent for Accept-Encoding: {BROWSER_ACCEPT_ENCODING}, \
         Content-Encoding: {encoding}; {sub_resources} sub-resources)\t{transferred_kb:.2}\t{TRANSFERRED_TARGET_KB}\tKB"
    );
    println!(
        "embed page first contentful paint in headless Chromium on loopback (p50 of {} loads)\t{first_paint_p50:.1}\t{FIRST_PAINT_TARGET_MS}\tms",
        paints.len()
    );
    println!(
        "embed page views from the cached evaluation per core of the server's CPU time \
         (wall clock: {per_second:.0} views/s, {CONNECTIONS} keep-alive connections)\t{per_core:.0}\t{VIEWS_TARGET}\treq/s"
    );
    Ok(())
}

fn progress(what: &str) {
    eprintln!("embed_page: {what}");
}

/// One answer to the page: its status, `Content-Encoding`, and body as it came over the wire.
struct View {
    status: StatusCode,
    encoding: Option<String>,
    body: Bytes,
}

/// One keep-alive HTTP/1.1 connection asking for the page as a browser does, one view at a
/// time, reading bodies as sent (nothing decompresses them).
struct Connection {
    address: HeaderValue,
    sender: SendRequest<Empty<Bytes>>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Self> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            address: HeaderValue::try_from(address.to_string())?,
            sender,
        })
    }

    async fn view(&mut self, path: &str) -> Result<View> {
        let request = Request::get(path)
            .header(header::HOST, self.address.clone())
            .header(header::ACCEPT, "text/html")
            .header(header::ACCEPT_ENCODING, BROWSER_ACCEPT_ENCODING)
            .body(Empty::new())?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let encoding = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes();
        Ok(View {
            status,
            encoding,
            body,
        })
    }
}

/// Views `path` on every connection until `bound`, each asking again as soon as it has its
/// answer; every answer must be the whole page, `length` bytes. Returns how many were answered.
async fn views_until(
    connections: &mut [Connection],
    path: &str,
    length: usize,
    bound: Bound,
) -> Result<usize> {
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
            let view = connection.view(path).await?;
            ensure!(
                view.status == StatusCode::OK && view.body.len() == length,
                "a view answered {} with {} bytes rather than the page's {length}",
                view.status,
                view.body.len()
            );
            answered += 1;
        }
        anyhow::Ok(answered)
    }))
    .await?;
    Ok(answered.iter().sum())
}
