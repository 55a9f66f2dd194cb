//! Follows a log query live in headless Chromium at 10 lines a second and reads the memory the
//! page holds from its `vitals:tail-memory` marks (every ten seconds: the app's WebAssembly
//! memory and the JavaScript heap, after a collection). The upstream holds its lines back until
//! the page has marked its memory once with no line (the baseline), then sends the last 200
//! seconds' 2,000 lines at once, as a tail that starts in the past does, which fills the tail's
//! buffer, and from then on 10 lines a second. The run is shortened to 100 seconds from there
//! (50 in a quick run; `VITALS_BENCH_TAIL_SECONDS` sets it); the growth over 30 minutes is what
//! the run grew from the baseline plus the rate it still grew with the buffer full, carried on
//! to 30 minutes. `cargo xtask bench` reads the line it prints
//! (`what<TAB>measured<TAB>target<TAB>unit`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Notify;
use vitals_api::query::{LogQuery, TimeRange};
use vitals_api::{Backend, LogLine, LogQueryResponse};
use vitals_server::sources::{LogSource, LogTail, SourceError};
use vitals_tests::{Browser, PAGE_WAIT, TestServer, bench_scale};

/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const LINES_PER_SECOND: u64 = 10;
/// The tail keeps its newest 2,000 lines: 200 s of them at 10 lines a second.
const BUFFER_LINES: u64 = 2_000;
/// Lines of the backlog per batch.
const BACKLOG_BATCH: usize = 100;
/// Marks from the backlog's arrival until the page has settled, left out of the rate.
const SETTLING_SECONDS: f64 = 20.0;
const PROMISED_SECONDS: f64 = 1_800.0;
const TARGET_MB: f64 = 20.0;
const PAGE: &str =
    "/engineering/logs?query=%7Bservice%3D%22registration-api%22%7D&from=now-15m&to=now&live=1";
const MARKS: &str = "return performance.getEntriesByName('vitals:tail-memory') \
    .map(mark => [mark.startTime / 1000, mark.detail.bytes, mark.detail.lines]);";

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

/// A log upstream whose tail, once `release` is notified, brings the last [`BUFFER_LINES`]
/// registration lines at once and then one every 100 ms, in real time; some of them name a
/// patient, as the clinic's services still do, so the server masks as it would.
struct SteadyTail {
    release: Arc<Notify>,
}

fn tail_line(n: u64, time_ns: i64) -> LogLine {
    let line = if n.is_multiple_of(10) {
        format!(
            "level=warn msg=\"registration needs review\" patient_name=\"Ada Lovelace\" mrn=MRN-{:07} clinic=north request_id=req-{n:08x} duration_ms={}",
            4_000_000 + n,
            40 + n % 300
        )
    } else {
        format!(
            "level=info msg=\"registration saved\" clinic={} request_id=req-{n:08x} trace_id=1-6743e2a0-{n:024x} duration_ms={}",
            ["north", "south", "east"][(n % 3) as usize],
            40 + n % 300
        )
    };
    LogLine {
        time: time_ns,
        labels: [("service".to_owned(), "registration-api".to_owned())].into(),
        line,
        fields: Default::default(),
        reveal_ref: None,
    }
}

#[async_trait]
impl LogSource for SteadyTail {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query(&self, _query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        Ok(LogQueryResponse::Streams { lines: Vec::new() })
    }

    async fn labels(&self, _range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(vec!["service".to_owned()])
    }

    async fn label_values(&self, _name: &str, _range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(vec!["registration-api".to_owned()])
    }

    async fn tail(&self, _query: &str, start_ns: i64, _limit: u32) -> Result<LogTail, SourceError> {
        let every = Duration::from_millis(1_000 / LINES_PER_SECOND);
        let line = move |n: u64| tail_line(n, start_ns + (n * every.as_nanos() as u64) as i64);
        let release = self.release.clone();
        let backlog = futures::stream::once(async move { release.notified().await }).flat_map(move |()| {
            let batches: Vec<_> = (0..BUFFER_LINES)
                .map(line)
                .collect::<Vec<_>>()
                .chunks(BACKLOG_BATCH)
                .map(|batch| Ok(batch.to_vec()))
                .collect();
            futures::stream::iter(batches)
        });
        let steady = futures::stream::unfold(
            (BUFFER_LINES, tokio::time::interval(every)),
            move |(n, mut ticker)| async move {
                ticker.tick().await;
                Some((Ok(vec![line(n)]), (n + 1, ticker)))
            },
        );
        Ok(Box::pin(backlog.chain(steady)))
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

/// The least-squares slope of `points` (x, y).
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mean_x, mean_y) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), point| (x + point.0 / n, y + point.1 / n));
    let (covariance, variance) = points.iter().fold((0.0, 0.0), |(c, v), (x, y)| {
        (c + (x - mean_x) * (y - mean_y), v + (x - mean_x).powi(2))
    });
    if variance == 0.0 {
        0.0
    } else {
        covariance / variance
    }
}

async fn run() -> Result<()> {
    let run_seconds = std::env::var("VITALS_BENCH_TAIL_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse::<u64>().ok())
        .unwrap_or(bench_scale(100, 50));
    let release = Arc::new(Notify::new());
    let server = TestServer::start_changed(CLINIC_MORNING_MS, |_, sources| {
        sources.logs = Arc::new(SteadyTail {
            release: release.clone(),
        });
    })
    .await?;
    let browser = Browser::start().await?;
    browser.open_as(&server, "engineer").await?;
    let client = &browser.client;
    client.goto(&server.url(PAGE)).await?;

    // The baseline: the page's first mark, before any line.
    let deadline = Instant::now() + PAGE_WAIT;
    let baseline = loop {
        let marks: Value = client.execute(MARKS, Vec::new()).await?;
        if let Some(first) = marks.as_array().and_then(|marks| marks.first().cloned()) {
            break first;
        }
        if Instant::now() > deadline {
            bail!("the page set no vitals:tail-memory mark within {PAGE_WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if baseline[2].as_f64() != Some(0.0) {
        bail!("the page's first mark already held lines: {baseline}");
    }
    release.notify_one();

    let started = Instant::now();
    let deadline = started + Duration::from_secs(run_seconds) + PAGE_WAIT;
    // (seconds since the page opened, bytes held, lines kept) per mark.
    let mut samples: Vec<(f64, f64, f64)> = Vec::new();
    while started.elapsed() < Duration::from_secs(run_seconds) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let marks: Value = client.execute(MARKS, Vec::new()).await?;
        samples = marks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|mark| Some((mark[0].as_f64()?, mark[1].as_f64()?, mark[2].as_f64()?)))
            .collect();
        if Instant::now() > deadline {
            break;
        }
    }
    let (Some(first), Some(last)) = (samples.first().copied(), samples.last().copied()) else {
        bail!("the page set no vitals:tail-memory mark in {run_seconds} s");
    };
    if last.2 < BUFFER_LINES as f64 {
        bail!("the tail kept only {} lines: the lines did not arrive", last.2);
    }
    let full: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(at, _, _)| *at - first.0 >= SETTLING_SECONDS)
        .map(|(at, bytes, _)| (*at, *bytes))
        .collect();
    let grown = last.1 - first.1;
    let still_growing = if full.len() >= 2 {
        slope(&full).max(0.0)
    } else {
        grown / (last.0 - first.0).max(1.0)
    };
    let measured_seconds = last.0 - first.0;
    let projected = grown + still_growing * (PROMISED_SECONDS - measured_seconds).max(0.0);
    let mb = |bytes: f64| bytes / 1_000_000.0;
    eprintln!(
        "live_tail: {} marks over {measured_seconds:.0} s; {:.1} MB at first, {:.1} MB at last ({} lines kept), grew {:.2} MB; \
         {:.3} MB a minute once the buffer was full ({} marks), so {:.2} MB over 30 minutes",
        samples.len(),
        mb(first.1),
        mb(last.1),
        last.2,
        mb(grown),
        mb(still_growing * 60.0),
        full.len(),
        mb(projected)
    );
    println!(
        "live tail memory growth over 30 min at 10 lines/s ({measured_seconds:.0} s run, extrapolated)\t{:.2}\t{TARGET_MB}\tMB",
        mb(projected)
    );
    browser.close().await
}
