//! The metrics explorer in headless Chromium on the demo clinic: names complete as they are
//! typed, the query is charted, each series can be hidden, and the same answer reads as a table.

use std::time::Duration;

use anyhow::{Result, ensure};
use fantoccini::{Client, Locator};
use vitals_tests::{Browser, TestServer, find_on_page, text_of, wait_until};

/// Tuesday 2026-11-24 10:50 UTC: clinic hours, during the training failure.
const DURING_THE_FAILURE_MS: i64 = 1_795_517_400_000;
const WAIT: Duration = Duration::from_secs(30);

/// How many lines the chart's legend lists now.
async fn legend_lines(client: &Client) -> Result<usize> {
    Ok(client.find_all(Locator::Css(".chart-legend li")).await?.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_completes_charts_hides_and_tabulates_a_query() -> Result<()> {
    let server = TestServer::start_at(DURING_THE_FAILURE_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "engineer").await?;

    client
        .goto(&server.url("/engineering/metrics?from=now-1h&to=now"))
        .await?;
    let editor = find_on_page(client, Locator::Id("metric-query")).await?;
    // The names arrive in the background; type once they can complete.
    let offered = wait_until("the metric names complete", WAIT, || {
        let editor = editor.clone();
        async move {
            let _ = editor.clear().await;
            if editor
                .send_keys("sum by (status) (rate(dynamodb_re")
                .await
                .is_err()
            {
                return false;
            }
            text_of(client, "metric-query-completions")
                .await
                .is_ok_and(|list| list.contains("dynamodb_requests_total"))
        }
    })
    .await;
    ensure!(
        offered.is_ok(),
        "dynamodb_re… should offer dynamodb_requests_total"
    );
    editor.send_keys("\u{E004}").await?; // Tab takes it
    editor.send_keys("[5m]))").await?;
    let query = editor.prop("value").await?.unwrap_or_default();
    ensure!(
        query == "sum by (status) (rate(dynamodb_requests_total[5m]))",
        "the name was completed in place: {query:?}"
    );
    editor.send_keys("\u{E009}\u{E007}").await?; // Ctrl+Enter runs it
    let summary = text_of(client, "metric-summary").await?;
    ensure!(
        summary.contains("series") && summary.contains("points"),
        "{summary}"
    );
    let charted = wait_until("the series are charted", WAIT, || async move {
        legend_lines(client).await.is_ok_and(|lines| lines >= 2)
    })
    .await;
    ensure!(charted.is_ok(), "a line per outcome in the legend");
    let before = legend_lines(client).await?;
    ensure!(
        client
            .current_url()
            .await?
            .query()
            .unwrap_or_default()
            .contains("dynamodb_requests_total"),
        "the address holds the query"
    );

    // A series hidden leaves the chart.
    client
        .find(Locator::Css(".series-toggles input[type=checkbox]"))
        .await?
        .click()
        .await?;
    let hidden = wait_until("a series is hidden", WAIT, || async move {
        legend_lines(client).await.is_ok_and(|lines| lines == before - 1)
    })
    .await;
    ensure!(hidden.is_ok(), "{before} lines before, one fewer after");

    // The same answer as a table: a row per series.
    client
        .find(Locator::Css("[data-testid=metric-table-toggle]"))
        .await?
        .click()
        .await?;
    let table = text_of(client, "metric-table").await?;
    ensure!(
        table.contains("status=\"ResourceNotFoundException\"") && table.contains("status=\"200\""),
        "each outcome is a row: {table}"
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}
