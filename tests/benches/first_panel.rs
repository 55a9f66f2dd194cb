//! Times, in headless Chromium, how long a dashboard takes from navigation to its shell drawn
//! (the top bar and the page's frame, before any data) and to its first panel with data, with
//! the browser's and the server's caches warm; `cargo xtask bench` reads the lines it prints
//! (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! The page sets a `performance.mark` at each; its `startTime` counts from the navigation's start.

use std::time::Duration;

use anyhow::{Context, Result};
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, bench_scale, time_page_loads, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours on the demo clinic.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const PAGE: &str = "/dashboards/patient-registrations?from=now-24h&to=now&var.clinic=all";
const TARGET_MS: f64 = 400.0;
const MARK_SCRIPT: &str =
    "return performance.getEntriesByName('vitals:first-panel-data').map(entry => entry.startTime);";
const SHELL_SCRIPT: &str =
    "return performance.getEntriesByName('vitals:shell-drawn').map(entry => entry.startTime);";

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

async fn run() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/dashboards")).await?;
    browser.log_in("operations", DEMO_PASSWORD).await?;
    wait_until("the login lands", Duration::from_secs(30), || async {
        client
            .current_url()
            .await
            .is_ok_and(|url| url.path() == "/dashboards")
    })
    .await?;

    // Page loads timed, after one that warms the caches; fewer if the time budget runs out.
    let rounds = bench_scale(15, 5);
    let budget = bench_scale(Duration::from_secs(120), Duration::from_secs(30));
    let shell_times = std::cell::RefCell::new(Vec::new());
    let times = time_page_loads(client, &server.url(PAGE), MARK_SCRIPT, rounds, budget, || async {
        let shell = client.execute(SHELL_SCRIPT, Vec::new()).await?;
        let shell = shell
            .as_array()
            .and_then(|entries| entries.first()?.as_f64())
            .with_context(|| format!("the page set no vitals:shell-drawn mark: {shell}"))?;
        shell_times.borrow_mut().push(shell);
        Ok(())
    })
    .await?;
    let p50 = times[times.len() / 2];
    // The first load only warms the caches.
    let mut shell_times = shell_times.into_inner().split_off(1);
    shell_times.sort_by(f64::total_cmp);
    let shell_p50 = shell_times[shell_times.len() / 2];
    eprintln!(
        "first_panel: {} loads, fastest {:.0} ms, p50 {p50:.0} ms, slowest {:.0} ms",
        times.len(),
        times[0],
        times[times.len() - 1]
    );
    println!(
        "navigation to the shell drawn, a dashboard's top bar and frame (warm caches, p50 of {})\t{shell_p50:.1}\t-\tms",
        shell_times.len()
    );
    println!(
        "navigation to the first panel with data (warm caches, p50 of {})\t{p50:.1}\t{TARGET_MS}\tms",
        times.len()
    );
    browser.close().await
}
