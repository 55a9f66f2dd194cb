//! The trace explorer in headless Chromium, on the demo clinic during its training failure: an
//! engineer goes from the red call on the service map to the failing `GetItem` in three clicks,
//! then to the trace's log lines and back; operations staff have no explorer and no trace API.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use vitals_tests::{Browser, TestServer, find_on_page, text_of, wait_until};

/// Tuesday 2026-11-24 10:50 UTC: ten minutes into the hour's training failure, when login-api's
/// `GetItem` on `users` answers ResourceNotFound.
const DURING_THE_FAILURE_MS: i64 = 1_795_517_400_000;
const WAIT: Duration = Duration::from_secs(30);

/// The path and query of the page shown now.
async fn address(client: &Client) -> Result<String> {
    let url = client.current_url().await?;
    Ok(format!("{}?{}", url.path(), url.query().unwrap_or_default()))
}

async fn wait_for_address(client: &Client, path: &str) -> Result<String> {
    let reached = wait_until(&format!("the page {path}"), WAIT, || async move {
        address(client).await.is_ok_and(|now| now.starts_with(path))
    })
    .await;
    let now = address(client).await?;
    ensure!(reached.is_ok(), "expected {path}, still at {now}");
    Ok(now)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_goes_from_the_red_call_to_the_failing_get_item_and_its_logs() -> Result<()> {
    let server = TestServer::start_at(DURING_THE_FAILURE_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "engineer").await?;

    // One: the map's red call from login-api to DynamoDB.
    client
        .goto(&server.url("/engineering/map?from=now-15m&to=now"))
        .await?;
    let red = find_on_page(
        client,
        Locator::Css("[data-testid=map-edge][data-health=failing][data-edge='login-api → DynamoDB']"),
    )
    .await
    .context("login-api → DynamoDB should be failing during the training failure")?;
    let label = red.find(Locator::Css("text")).await?;
    let words = label.text().await?;
    ensure!(
        words.contains("✖") && words.contains("% failed") && words.contains("/min"),
        "the red call says so in words, with its rate and latency: {words:?}"
    );
    label.click().await?;

    // Two: its failing traces, and nothing else.
    let search = wait_for_address(client, "/engineering/traces").await?;
    ensure!(
        search.contains("status=error"),
        "the failing traces are asked for: {search}"
    );
    find_on_page(client, Locator::Css("[data-testid=trace-row]")).await?;
    let rows = client.find_all(Locator::Css("[data-testid=trace-row]")).await?;
    ensure!(!rows.is_empty(), "failing traces are listed");
    for row in &rows {
        let text = row.text().await?;
        ensure!(
            text.contains("login-api") && text.contains("error (4xx)"),
            "every trace listed failed in login-api: {text:?}"
        );
    }
    text_of(client, "trace-scatter").await?;

    // A filter written by hand that the server cannot read is shown with its wrong part marked
    // (Chromium notes the 400 it answers; nothing else may be logged).
    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(
        errors.is_empty(),
        "the map and the search logged errors: {errors:#?}"
    );
    client
        .goto(
            &server.url(
                "/engineering/traces?filter=service(%22login-api%22)%20ANDD%20error&from=now-15m&to=now",
            ),
        )
        .await?;
    let problem = text_of(client, "filter-problem").await?;
    let marked = client
        .find(Locator::Css("[data-testid=filter-problem] mark"))
        .await?
        .text()
        .await?;
    ensure!(
        problem.contains("character")
            && !marked.trim().is_empty()
            && "service(\"login-api\") ANDD error".contains(marked.trim()),
        "the problem {problem:?} marks {marked:?}"
    );
    let errors = browser.console_errors().await?;
    ensure!(
        errors
            .iter()
            .all(|error| error.contains("/api/v1/traces/search") && error.contains("400")),
        "only the refused filter may be logged: {errors:#?}"
    );
    client.back().await?;
    find_on_page(client, Locator::Css("[data-testid=trace-link]")).await?;

    // Three: the trace opens on the call where it failed.
    client
        .find(Locator::Css("[data-testid=trace-link]"))
        .await?
        .click()
        .await?;
    wait_for_address(client, "/engineering/traces/").await?;
    let failed = text_of(client, "where-failed").await?;
    ensure!(
        failed.contains("DynamoDB.GetItem") && failed.contains("error (4xx)"),
        "the trace says where it failed: {failed:?}"
    );
    let details = text_of(client, "span-details").await?;
    ensure!(
        details.contains("DynamoDB.GetItem")
            && details.contains("ResourceNotFoundException")
            && details.contains("Requested resource not found")
            && details.contains("users"),
        "the failing call, its exception and its table: {details:?}"
    );
    ensure!(
        text_of(client, "span-outcome").await?.contains("error (4xx)"),
        "a 4xx is an error, not a fault"
    );
    let marked = client
        .find_all(Locator::Css("[data-testid=span-row][data-status='error (4xx)']"))
        .await?;
    let mut get_item_marked = false;
    for row in &marked {
        get_item_marked |= row.text().await?.contains("GetItem");
    }
    ensure!(get_item_marked, "the GetItem row is marked as an error");

    // The keyboard moves between spans.
    let before = text_of(client, "span-details").await?;
    client
        .find(Locator::Css("[data-testid=waterfall]"))
        .await?
        .send_keys("\u{E013}") // ArrowUp
        .await?;
    let moved = wait_until("the arrow key chooses the span above", WAIT, || {
        let before = before.clone();
        async move {
            text_of(client, "span-details")
                .await
                .is_ok_and(|now| now != before)
        }
    })
    .await;
    ensure!(moved.is_ok(), "↑ should choose another span");

    // Logs for this trace: the log view, the trace's id in its query, its lines found.
    let trace_id = address(client)
        .await?
        .trim_start_matches("/engineering/traces/")
        .trim_end_matches('?')
        .to_owned();
    client
        .find(Locator::Css("[data-testid=logs-for-trace]"))
        .await?
        .click()
        .await?;
    wait_for_address(client, "/engineering/logs").await?;
    let query = find_on_page(client, Locator::Id("log-query"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    ensure!(
        query.contains(&trace_id),
        "the query names the trace {trace_id}: {query:?}"
    );
    let found = wait_until("the trace's lines are listed", WAIT, || async move {
        text_of(client, "log-summary")
            .await
            .is_ok_and(|summary| !summary.starts_with("0 "))
    })
    .await;
    ensure!(
        found.is_ok(),
        "the trace's log lines: {:?}",
        text_of(client, "log-summary").await
    );

    // And back: a line's trace id opens the trace.
    client
        .find(Locator::Css("[data-testid=log-row]"))
        .await?
        .click()
        .await?;
    find_on_page(client, Locator::Css("[data-testid=line-trace-link]"))
        .await?
        .click()
        .await?;
    wait_for_address(client, "/engineering/traces/").await?;
    text_of(client, "where-failed").await?;

    // The same trace opens by its X-Ray id, pasted.
    client.goto(&server.url("/engineering/traces")).await?;
    let xray_id = format!("1-{}-{}", &trace_id[..8], &trace_id[8..]);
    let field = find_on_page(client, Locator::Css("[data-testid=open-trace-id]")).await?;
    field.send_keys(&format!("{xray_id}\n")).await?;
    let opened = wait_for_address(client, &format!("/engineering/traces/{xray_id}")).await?;
    let failed = text_of(client, "where-failed").await?;
    ensure!(
        failed.contains("DynamoDB.GetItem"),
        "{opened} opens the same trace: {failed:?}"
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the pages logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_staff_have_no_trace_explorer_and_its_api_refuses_them() -> Result<()> {
    let server = TestServer::start_at(DURING_THE_FAILURE_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "operations").await?;
    ensure!(
        client
            .find_all(Locator::Css("[data-testid=area-engineering]"))
            .await?
            .is_empty(),
        "no way into the engineering area in the top bar"
    );
    for page in ["/engineering/traces", "/engineering/map"] {
        client.goto(&server.url(page)).await?;
        let refused = text_of(client, "no-access").await?;
        ensure!(!refused.is_empty(), "{page} says the person has no access");
        ensure!(
            client
                .find_all(Locator::Css(
                    "[data-testid=trace-search], [data-testid=service-map]"
                ))
                .await?
                .is_empty(),
            "{page} shows nothing of the explorer"
        );
    }
    let api = server.client_as("operations").await?;
    let search = api
        .post(server.url("/api/v1/traces/search"))
        .json(&serde_json::json!({"service": "login-api"}))
        .send()
        .await?;
    ensure!(
        search.status() == 403,
        "trace search answered {}",
        search.status()
    );
    let map = api.get(server.url("/api/v1/service-map")).send().await?;
    ensure!(map.status() == 403, "the service map answered {}", map.status());
    browser.close().await
}
