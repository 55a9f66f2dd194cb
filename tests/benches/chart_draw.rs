//! Draws a 100,001-point series in headless Chromium twice per page load: with Vitals' chart
//! in the metrics explorer (from the series handed over to its lines, legend and caption drawn,
//! `vitals:chart-draw`), then with uPlot from npm, given the very answer the explorer drew, at
//! the chart's size (from its construction to its `draw` hook). Prints both figures and their
//! ratio for `cargo xtask bench` (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! `cargo xtask bench` installs uPlot and names its script in `VITALS_UPLOT_SCRIPT`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use async_trait::async_trait;
use serde_json::Value;
use vitals_api::query::TimeRange;
use vitals_api::{Backend, MetricQueryResponse, Point, ResultType, Series};
use vitals_server::sources::{MetricSource, SourceError};
use vitals_tests::{Browser, TestServer, bench_scale, time_page_loads};

/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const METRIC: &str = "records_sync_queue_depth";
/// 100,000 steps of 6 s: 100,001 points.
const FROM: &str = "now-10000m";
const STEP: &str = "6s";
const CHART_SCRIPT: &str =
    "return performance.getEntriesByName('vitals:chart-draw').map(entry => entry.duration);";

/// Asks the API for the series the page drew and times uPlot drawing it at the chart's size.
const UPLOT_SCRIPT: &str = r#"
const [query, from, step, done] = arguments;
(async () => {
  const response = await fetch('/api/v1/metrics/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-vitals-csrf': '1' },
    body: JSON.stringify({ query, from, to: 'now', step }),
  });
  const points = (await response.json()).series[0].points;
  const xs = new Float64Array(points.length);
  const ys = new Float64Array(points.length);
  points.forEach(([time, value], i) => { xs[i] = time / 1000; ys[i] = Number(value); });
  const canvas = document.querySelector('.chart-canvas');
  const holder = document.createElement('div');
  document.body.append(holder);
  let drawn;
  const painted = new Promise(resolve => { drawn = resolve; });
  const start = performance.now();
  const plot = new uPlot({
    width: canvas.clientWidth,
    height: canvas.clientHeight,
    series: [{}, { label: 'queue depth', stroke: '#1f6feb', width: 2 }],
    hooks: { draw: [() => drawn(performance.now())] },
  }, [xs, ys], holder);
  const end = await painted;
  plot.destroy();
  holder.remove();
  done([end - start, points.length]);
})().catch(error => done(String(error)));
"#;

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

/// A metrics upstream with one long, busy series: a daily wave, a fast ripple, noise, and a
/// spike every few thousand points, one point per step.
struct LongSeries;

fn value_at(index: i64) -> f64 {
    let t = index as f64;
    let noise = ((index.wrapping_mul(2_654_435_761)) % 1_000) as f64 / 100.0;
    let spike = if index % 4_321 == 0 { 400.0 } else { 0.0 };
    120.0 + 60.0 * (t / 14_400.0 * std::f64::consts::TAU).sin() + 8.0 * (t / 37.0).sin() + noise + spike
}

#[async_trait]
impl MetricSource for LongSeries {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query_range(
        &self,
        _query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        let points = (0..=(range.end_ms - range.start_ms) / step_ms)
            .map(|index| Point(range.start_ms + index * step_ms, value_at(index)))
            .collect();
        Ok(MetricQueryResponse {
            result_type: ResultType::Matrix,
            series: vec![Series {
                labels: [("__name__".to_owned(), METRIC.to_owned())].into(),
                points,
            }],
            step_seconds: step_ms as f64 / 1_000.0,
            warnings: Vec::new(),
        })
    }

    async fn query_instant(&self, _query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        Ok(MetricQueryResponse {
            result_type: ResultType::Vector,
            series: vec![Series {
                labels: [("__name__".to_owned(), METRIC.to_owned())].into(),
                points: vec![Point(at_ms, value_at(0))],
            }],
            step_seconds: 0.0,
            warnings: Vec::new(),
        })
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        Ok(vec![METRIC.to_owned()])
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

async fn run() -> Result<()> {
    let uplot_path = std::env::var_os("VITALS_UPLOT_SCRIPT").context(
        "VITALS_UPLOT_SCRIPT is not set; run this bench through `cargo xtask bench`, which installs uPlot",
    )?;
    let uplot = std::fs::read_to_string(&uplot_path)
        .with_context(|| format!("cannot read uPlot's script at {}", uplot_path.to_string_lossy()))?;
    // Run as WebDriver script, uPlot's `var` stays inside it: hand it to the page.
    let load_uplot = format!("{uplot}\nwindow.uPlot = uPlot; return typeof window.uPlot;");

    let server = TestServer::start_changed(CLINIC_MORNING_MS, |config, sources| {
        config.guard.max_points_per_series = 110_000;
        sources.metrics = Arc::new(LongSeries);
    })
    .await?;
    let browser = Browser::start().await?;
    browser.open_as(&server, "engineer").await?;
    let client = &browser.client;
    let page = server.url(&format!(
        "/engineering/metrics?query={METRIC}&from={FROM}&to=now&step={STEP}"
    ));

    let uplot_times = std::cell::RefCell::new(Vec::new());
    let (rounds, budget) = (
        bench_scale(8, 3),
        bench_scale(Duration::from_secs(180), Duration::from_secs(60)),
    );
    let chart_times = time_page_loads(client, &page, CHART_SCRIPT, rounds, budget, || async {
        let loaded = client.execute(&load_uplot, Vec::new()).await?;
        ensure!(loaded == "function", "uPlot did not load: {loaded}");
        let args = vec![METRIC.into(), FROM.into(), STEP.into()];
        let answer: Value = client.execute_async(UPLOT_SCRIPT, args).await?;
        let (Some(time), Some(points)) = (answer[0].as_f64(), answer[1].as_u64()) else {
            bail!("uPlot could not draw the series: {answer}");
        };
        ensure!(
            points == 100_001,
            "the series should have 100,001 points, not {points}"
        );
        uplot_times.borrow_mut().push(time);
        Ok(())
    })
    .await?;
    let uplot_times = uplot_times.into_inner();
    let (chart, uplot) = (median(chart_times.clone()), median(uplot_times[1..].to_vec()));
    let ratio = chart / uplot;
    eprintln!(
        "chart_draw: Vitals' chart {chart_times:.1?} ms, uPlot {uplot_times:.1?} ms (the first load of each only warms up)"
    );
    println!(
        "100,001-point series drawn by the chart (p50; target: uPlot's p50)\t{chart:.1}\t{uplot:.1}\tms"
    );
    println!("the chart's draw time over uPlot's, same series and browser\t{ratio:.2}\t1.0\tratio");
    browser.close().await
}
