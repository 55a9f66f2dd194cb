//! Times, in headless Chromium, how long the log explorer takes to draw 5,000 lines once they
//! have arrived, and counts the elements its list keeps in the page; `cargo xtask bench` reads
//! the lines it prints (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! The page measures `vitals:log-list-render` from the answer's arrival to the frame after its
//! rows are in the page.

use std::time::Duration;

use anyhow::{Result, ensure};
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, time_page_loads, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours on the demo clinic.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// A day of every service: more than the 5,000 lines one query shows.
const PAGE: &str = "/engineering/logs?query=%7Bservice%3D~%22.%2B%22%7D&from=now-24h&to=now";
const ROUNDS: usize = 10;
const BUDGET: Duration = Duration::from_secs(120);
const TARGET_MS: f64 = 100.0;
const TARGET_NODES: f64 = 1_400.0;
const MEASURE_SCRIPT: &str =
    "return performance.getEntriesByName('vitals:log-list-render').map(entry => entry.duration);";
const COUNT_SCRIPT: &str = "const list = document.querySelector('[data-testid=log-list]'); \
    const summary = document.querySelector('[data-testid=log-summary]'); \
    return [list ? list.getElementsByTagName('*').length + 1 : -1, summary ? summary.textContent : ''];";

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/login")).await?;
    browser.log_in("engineer", DEMO_PASSWORD).await?;
    wait_until("the login lands", Duration::from_secs(30), || async {
        client.current_url().await.is_ok_and(|url| url.path() == "/")
    })
    .await?;

    let nodes = std::cell::Cell::new(0.0_f64);
    let times = time_page_loads(
        client,
        &server.url(PAGE),
        MEASURE_SCRIPT,
        ROUNDS,
        BUDGET,
        || async {
            let counted = client.execute(COUNT_SCRIPT, Vec::new()).await?;
            let summary = counted[1].as_str().unwrap_or_default();
            ensure!(
                summary.starts_with("5000 lines"),
                "the page should hold 5,000 lines: {summary:?}"
            );
            nodes.set(nodes.get().max(counted[0].as_f64().unwrap_or(f64::NAN)));
            Ok(())
        },
    )
    .await?;
    let nodes = nodes.get();
    let p50 = times[times.len() / 2];
    eprintln!(
        "log_list: {} loads, fastest {:.1} ms, p50 {p50:.1} ms, slowest {:.1} ms, {nodes} elements in the list",
        times.len(),
        times[0],
        times[times.len() - 1]
    );
    println!("5,000 log lines drawn once arrived (p50)\t{p50:.1}\t{TARGET_MS}\tms");
    println!("elements in the log list holding 5,000 lines\t{nodes}\t{TARGET_NODES}\tnodes");
    browser.close().await
}
