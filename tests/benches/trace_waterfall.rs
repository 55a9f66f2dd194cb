//! Times, in headless Chromium, the trace view on the demo clinic's nightly imports: a
//! 10,000-span trace from asking for it to its waterfall drawn (critical path included) and a
//! subtree folded; the 100,000-span one opened through its overview to its first window drawn;
//! and a window of the 1,000,000-span one from request to paint. `cargo xtask bench` reads the
//! lines it prints (`what<TAB>measured<TAB>target<TAB>unit`).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use fantoccini::{Client, Locator};
use vitals_tests::{
    Browser, DEMO_PASSWORD, TestServer, bench_scale, nightly_import, time_page_loads, wait_until,
};

/// Tuesday 2026-11-24 10:20 UTC: the night before holds the imports.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const WAIT: Duration = Duration::from_secs(60);
const FIRST_PAINT_TARGET_MS: f64 = 250.0;
const TOGGLE_TARGET_MS: f64 = 50.0;
const OPEN_TARGET_MS: f64 = 2_000.0;
const WINDOW_TARGET_MS: f64 = 300.0;

/// The durations of the performance entries called `name`, oldest first.
fn entries(name: &str) -> String {
    format!("return performance.getEntriesByName('{name}').map(entry => entry.duration);")
}

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

/// The `n`th entry called `name`, once the page has measured it.
async fn nth_entry(client: &Client, name: &str, n: usize) -> Result<f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = client.execute(&entries(name), Vec::new()).await?;
        if let Some(figure) = answer.as_array().and_then(|all| all.get(n)?.as_f64()) {
            return Ok(figure);
        }
        if Instant::now() > deadline {
            bail!("the page measured no {name} number {n} within {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Clicks the first fold button in the list's visible part, from the page itself: rows above
/// and below the view are in the page too (drawn ahead of a scroll), and a WebDriver click would
/// first scroll the list to them.
async fn click_fold(client: &Client) -> Result<()> {
    const CLICK: &str = "const list = document.querySelector('[data-testid=waterfall]').getBoundingClientRect(); \
        const fold = [...document.querySelectorAll('[data-testid=span-row] .fold')] \
            .find(button => { const at = button.getBoundingClientRect(); return at.top >= list.top && at.bottom <= list.bottom; }); \
        if (fold) { fold.click(); } return !!fold;";
    let clicked = client.execute(CLICK, Vec::new()).await?;
    if clicked.as_bool() != Some(true) {
        bail!("no fold button in view");
    }
    Ok(())
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

async fn run() -> Result<()> {
    // Page loads timed, after one that warms the caches; fewer if the time budget runs out.
    let rounds = bench_scale(6, 2);
    let budget = bench_scale(Duration::from_secs(120), Duration::from_secs(40));
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let (small, large, huge) = (
        nightly_import(&server, 10_000).await?,
        nightly_import(&server, 100_000).await?,
        nightly_import(&server, 1_000_000).await?,
    );

    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/login")).await?;
    browser.log_in("engineer", DEMO_PASSWORD).await?;
    wait_until("the login lands", Duration::from_secs(30), || async {
        client.current_url().await.is_ok_and(|url| url.path() == "/")
    })
    .await?;

    // 10,000 spans: asked for, fetched, laid out, drawn; then the root folded and unfolded.
    let toggles = std::cell::RefCell::new(Vec::new());
    let paints = time_page_loads(
        client,
        &server.url(&format!("/engineering/traces/{small}")),
        &entries("vitals:waterfall-first-paint"),
        rounds,
        budget,
        || async {
            // The first fold in view: its subtree goes, then comes back.
            click_fold(client).await?;
            let folded = nth_entry(client, "vitals:waterfall-toggle", 0).await?;
            click_fold(client).await?;
            let unfolded = nth_entry(client, "vitals:waterfall-toggle", 1).await?;
            toggles.borrow_mut().extend([folded, unfolded]);
            Ok(())
        },
    )
    .await?;
    let paint = median(paints.clone());
    let toggle = median(toggles.into_inner());

    // 100,000 spans: over the limit sent whole, opened through the overview and a window.
    let opens = time_page_loads(
        client,
        &server.url(&format!("/engineering/traces/{large}")),
        &entries("vitals:huge-trace-open"),
        rounds.min(4),
        budget,
        || async { Ok(()) },
    )
    .await?;
    let open = median(opens);

    // 1,000,000 spans: the first window, then one rooted at a failed span's parent.
    let mut windows = Vec::new();
    let started = Instant::now();
    for _ in 0..rounds.min(4) {
        if started.elapsed() > budget && !windows.is_empty() {
            break;
        }
        client
            .goto(&server.url(&format!("/engineering/traces/{huge}")))
            .await?;
        windows.push(nth_entry(client, "vitals:trace-window", 0).await?);
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("[data-testid=huge-failed] button"))
            .await?
            .click()
            .await?;
        windows.push(nth_entry(client, "vitals:trace-window", 1).await?);
    }
    let window = median(windows.clone());
    eprintln!("trace_waterfall: 10k first paint {paints:?}, 1M windows {windows:?}",);
    println!(
        "a 10,000-span trace, asked for to waterfall drawn (p50)\t{paint:.1}\t{FIRST_PAINT_TARGET_MS}\tms"
    );
    println!("a 10,000-span trace, a subtree folded or unfolded (p50)\t{toggle:.1}\t{TOGGLE_TARGET_MS}\tms");
    println!(
        "a 100,000-span trace opened: overview and first window drawn (p50)\t{open:.1}\t{OPEN_TARGET_MS}\tms"
    );
    println!(
        "a 1,000,000-span trace, one window from request to paint (p50)\t{window:.1}\t{WINDOW_TARGET_MS}\tms"
    );
    browser.close().await
}
