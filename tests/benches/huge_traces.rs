//! Times the server's side of opening huge traces on the demo clinic's nightly imports, over
//! HTTP on loopback: a 10,000-span trace whole (tree and critical path included), and the
//! overview and windows of the 1,000,000-span one. `cargo xtask bench` reads the lines it prints
//! (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! The targets are the from request to paint; these figures are the server's share of
//! them, so the browser keeps the rest of each budget.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use vitals_tests::{TestServer, bench_scale, nightly_import};

/// Tuesday 2026-11-24 10:20 UTC: the night before holds the imports.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const WHOLE_TARGET_MS: f64 = 250.0;
const WINDOW_TARGET_MS: f64 = 300.0;
const OPEN_TARGET_MS: f64 = 2_000.0;

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

async fn run() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let client = server.client_as("engineer").await?;
    let (small, huge) = (
        nightly_import(&server, 10_000).await?,
        nightly_import(&server, 1_000_000).await?,
    );
    let get = |path: String| {
        let client = client.clone();
        let url = server.url(&path);
        async move {
            let started = Instant::now();
            let response = client.get(url).send().await?;
            ensure!(
                response.status().is_success(),
                "{path} answered {}",
                response.status()
            );
            let body: Value = response.json().await?;
            Ok::<_, anyhow::Error>((started.elapsed().as_secs_f64() * 1000.0, body))
        }
    };

    // Cold: fetched, generated and analysed on the first request.
    let (small_cold, _) = get(format!("/api/v1/traces/{small}")).await?;
    let (huge_cold, overview) = get(format!("/api/v1/traces/{huge}/summary")).await?;
    let batch = {
        let (_, top) = get(format!("/api/v1/traces/{huge}/window")).await?;
        top["spans"][1]["span"]["span_id"]
            .as_str()
            .context("the top window has no batch")?
            .to_owned()
    };
    let start = overview["start"].as_i64().context("no start")?;
    let narrow = format!(
        "/api/v1/traces/{huge}/window?from={}&to={}",
        start + 60_000_000_000,
        start + 61_000_000_000
    );

    let mut rows = vec![
        (
            "a 10,000-span trace whole, first request (fetch, tree, critical path, JSON)".to_owned(),
            small_cold,
            WHOLE_TARGET_MS,
        ),
        (
            "a 1,000,000-span trace's overview, first request (generated, analysed)".to_owned(),
            huge_cold,
            OPEN_TARGET_MS,
        ),
    ];
    // Timed repeats of each warm request, after the first; fewer if the budget runs out.
    let runs = bench_scale(9, 3);
    let budget = bench_scale(Duration::from_secs(60), Duration::from_secs(20));
    let started = Instant::now();
    for (what, path, target) in [
        (
            "a 10,000-span trace whole, warm",
            format!("/api/v1/traces/{small}"),
            WHOLE_TARGET_MS,
        ),
        (
            "a 1,000,000-span trace: its top window (root and batches)",
            format!("/api/v1/traces/{huge}/window"),
            WINDOW_TARGET_MS,
        ),
        (
            "a 1,000,000-span trace: one batch's window",
            format!("/api/v1/traces/{huge}/window?root={batch}"),
            WINDOW_TARGET_MS,
        ),
        (
            "a 1,000,000-span trace: a one-second window",
            narrow.clone(),
            WINDOW_TARGET_MS,
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..runs {
            if started.elapsed() > budget && !times.is_empty() {
                break;
            }
            times.push(get(path.clone()).await?.0);
        }
        times.sort_by(f64::total_cmp);
        rows.push((
            format!("{what} (p50 of {})", times.len()),
            times[times.len() / 2],
            target,
        ));
    }
    for (what, ms, target) in rows {
        println!("{what}, server side\t{ms:.2}\t{target}\tms");
    }
    Ok(())
}
