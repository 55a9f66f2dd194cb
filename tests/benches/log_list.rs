//! Times, in headless Chromium, how long the log explorer takes to draw its lines once they
//! have arrived, and counts the elements its list keeps in the page: 5,000 lines of the demo
//! clinic, then 200 lines of 12 KB of JSON each (the kind of line that froze other log views
//! at about a hundred). `cargo xtask bench` reads the lines it prints
//! (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! The page measures `vitals:log-list-render` from the answer's arrival to the frame after its
//! rows are in the page.

use std::time::Duration;

use anyhow::{Result, ensure};
use async_trait::async_trait;
use serde_json::{Value, json};
use vitals_api::query::{LogQuery, TimeRange};
use vitals_api::{Backend, LogLine, LogQueryResponse};
use vitals_server::sources::{LogSource, SourceError};
use vitals_tests::{Browser, TestServer, bench_scale, time_page_loads};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours on the demo clinic.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// A day of every service: more than the 5,000 lines one query shows.
const DEMO_PAGE: &str = "/engineering/logs?query=%7Bservice%3D~%22.%2B%22%7D&from=now-24h&to=now";
/// The records service's batch log, whose lines are large JSON documents.
const JSON_PAGE: &str = "/engineering/logs?query=%7Bservice%3D%22records-sync%22%7D&from=now-1h&to=now";
const JSON_LINES: usize = 200;
const JSON_LINE_BYTES: usize = 12 * 1024;
const TARGET_MS: f64 = 100.0;
const TARGET_NODES: f64 = 1_400.0;
const MEASURE_SCRIPT: &str =
    "return performance.getEntriesByName('vitals:log-list-render').map(entry => entry.duration);";
const COUNT_SCRIPT: &str = "const list = document.querySelector('[data-testid=log-list]'); \
    const summary = document.querySelector('[data-testid=log-summary]'); \
    return [list ? list.getElementsByTagName('*').length + 1 : -1, summary ? summary.textContent : ''];";

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

/// One batch-sync line: a JSON document of about `bytes` bytes, every field a plain value.
fn json_line(index: usize, bytes: usize) -> String {
    let mut items = Vec::new();
    let mut line = String::new();
    while line.len() < bytes {
        let n = items.len();
        items.push(json!({
            "record": format!("rec-{index:03}-{n:04}"),
            "table": "records-prod",
            "status": if n.is_multiple_of(17) { "retried" } else { "synced" },
            "attempt": 1 + n % 3,
            "duration_ms": 3 + (index * 7 + n * 13) % 90,
            "shard": format!("shard-{}", n % 8),
            "checksum": format!("{:016x}", (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n as u64),
        }));
        line = json!({
            "level": if index.is_multiple_of(25) { "warn" } else { "info" },
            "msg": "records batch synced",
            "service": "records-sync",
            "trace_id": format!("1-6743e2a0-{:024x}", index + 1),
            "batch": index,
            "items": items,
        })
        .to_string();
    }
    line
}

/// A log upstream that answers every query with the same 200 large JSON lines, newest first.
struct LargeJsonLines {
    lines: Vec<LogLine>,
}

impl LargeJsonLines {
    fn new(end_ms: i64) -> Self {
        let lines = (0..JSON_LINES)
            .map(|index| LogLine {
                time: (end_ms - index as i64 * 1_000) * 1_000_000,
                labels: [("service".to_owned(), "records-sync".to_owned())].into(),
                line: json_line(index, JSON_LINE_BYTES),
                fields: Default::default(),
                reveal_ref: None,
            })
            .collect();
        Self { lines }
    }
}

#[async_trait]
impl LogSource for LargeJsonLines {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query(&self, _query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        Ok(LogQueryResponse::Streams {
            lines: self.lines.clone(),
        })
    }

    async fn labels(&self, _range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(vec!["service".to_owned()])
    }

    async fn label_values(&self, _name: &str, _range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(vec!["records-sync".to_owned()])
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

/// The p50 time from the lines' arrival to their rows drawn, and the most elements the list
/// held, over the loads of `page` (each expected to say it holds `lines` lines).
async fn time_list(browser: &Browser, server: &TestServer, page: &str, lines: &str) -> Result<(f64, f64)> {
    browser.open_as(server, "engineer").await?;
    let client = &browser.client;
    let nodes = std::cell::Cell::new(0.0_f64);
    let times = time_page_loads(
        client,
        &server.url(page),
        MEASURE_SCRIPT,
        bench_scale(10, 3),
        bench_scale(Duration::from_secs(120), Duration::from_secs(30)),
        || async {
            let counted: Value = client.execute(COUNT_SCRIPT, Vec::new()).await?;
            let summary = counted[1].as_str().unwrap_or_default();
            ensure!(
                summary.starts_with(lines),
                "the page should hold {lines}: {summary:?}"
            );
            nodes.set(nodes.get().max(counted[0].as_f64().unwrap_or(f64::NAN)));
            Ok(())
        },
    )
    .await?;
    let (nodes, p50) = (nodes.get(), times[times.len() / 2]);
    eprintln!(
        "log_list {lines}: {} loads, fastest {:.1} ms, p50 {p50:.1} ms, slowest {:.1} ms, {nodes} elements in the list",
        times.len(),
        times[0],
        times[times.len() - 1]
    );
    Ok((p50, nodes))
}

async fn run() -> Result<()> {
    let browser = Browser::start().await?;

    let demo = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let (p50, nodes) = time_list(&browser, &demo, DEMO_PAGE, "5000 lines").await?;
    println!("5,000 log lines drawn once arrived (p50 of the loads)\t{p50:.1}\t{TARGET_MS}\tms");
    println!("elements in the log list holding 5,000 lines\t{nodes}\t{TARGET_NODES}\tnodes");

    let large = TestServer::start_changed(CLINIC_MORNING_MS, |_, sources| {
        sources.logs = std::sync::Arc::new(LargeJsonLines::new(CLINIC_MORNING_MS));
    })
    .await?;
    let (p50, nodes) = time_list(&browser, &large, JSON_PAGE, "200 lines").await?;
    println!("200 log lines of 12 KB JSON drawn once arrived (p50)\t{p50:.1}\t{TARGET_MS}\tms");
    println!("elements in the log list holding 200 lines of 12 KB JSON\t{nodes}\t{TARGET_NODES}\tnodes");
    browser.close().await
}
