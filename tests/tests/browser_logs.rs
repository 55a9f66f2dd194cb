//! The log explorer in headless Chromium: an engineer's query shows patient details masked,
//! the list keeps only the rows in view, a line is revealed with a reason, and an admin finds
//! the reveal and its reason on the audit trail.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, text_of, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, outside the training failure window.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const WAIT: Duration = Duration::from_secs(30);
const REASON: &str = "INC-4521 checking a double registration";

/// Opens the explorer on `query` from `from` until now.
async fn explore(client: &Client, server: &TestServer, query: &str, from: &str) -> Result<()> {
    let url = format!(
        "/engineering/logs?query={}&from={from}&to=now",
        url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
    );
    client.goto(&server.url(&url)).await?;
    Ok(())
}

/// Rows of the log list in the page right now.
async fn rows_in_page(client: &Client) -> Result<usize> {
    Ok(client
        .find_all(Locator::Css("[data-testid=log-row]"))
        .await?
        .len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_reveals_a_masked_line_with_a_reason_and_an_admin_finds_it() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&server.url("/login")).await?;
    browser.log_in("engineer", DEMO_PASSWORD).await?;
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=logout]"))
        .await?;

    // Five thousand lines, a day of every service: the list keeps only those in view.
    explore(client, &server, r#"{service=~".+"}"#, "now-24h").await?;
    let summary = text_of(client, "log-summary").await?;
    ensure!(
        summary.starts_with("5000 lines"),
        "a day, up to the limit of one query: {summary:?}"
    );
    let drawn = rows_in_page(client).await?;
    ensure!(
        (20..=120).contains(&drawn),
        "only the rows in view are drawn, not {drawn}"
    );

    // Wrapped, each row grows to three lines of text, and still only those in view are drawn.
    client
        .find(Locator::Css("[data-testid=log-wrap]"))
        .await?
        .click()
        .await?;
    let wrapped = wait_until("rows grow when lines wrap", WAIT, || async move {
        client
            .execute(
                "const row = document.querySelector('[data-testid=log-row]'); return row ? row.getBoundingClientRect().height : 0;",
                vec![],
            )
            .await
            .is_ok_and(|height| height.as_f64() == Some(60.0))
    })
    .await;
    ensure!(wrapped.is_ok(), "a wrapped row should be 60 px high");
    let drawn = rows_in_page(client).await?;
    ensure!(
        (12..=120).contains(&drawn),
        "wrapped, still only the rows in view: {drawn}"
    );

    explore(
        client,
        &server,
        r#"{service="patient-registration"} |= "registered""#,
        "now-1h",
    )
    .await?;
    // The list of the query before stays until the new answer replaces it.
    let answered = wait_until("the registrations are listed", WAIT, || async move {
        text_of(client, "log-summary").await.is_ok_and(|summary| {
            !summary.starts_with("5000 lines") && summary.contains("patient details masked in")
        })
    })
    .await;
    ensure!(answered.is_ok(), "{:?}", text_of(client, "log-summary").await?);
    let page = client.source().await?;
    ensure!(
        !page.contains("mrn=1") && !page.contains("mrn=2") && !page.contains("mrn=3"),
        "a record number reached the page"
    );

    // The download holds the lines as shown: masked.
    let download = client.find(Locator::Css("[data-testid=log-download]")).await?;
    download.click().await?;
    let href = download.attr("href").await?.unwrap_or_default();
    let file = client
        .execute(
            "return decodeURIComponent(arguments[0].slice(arguments[0].indexOf(',') + 1));",
            vec![serde_json::Value::String(href.clone())],
        )
        .await?;
    let file = file.as_str().unwrap_or_default();
    ensure!(
        href.starts_with("data:application/x-ndjson") && file.contains("[masked]") && !file.contains("mrn=1"),
        "the downloaded lines: {}",
        &file[..file.len().min(300)]
    );

    let mut masked_row = None;
    for row in client.find_all(Locator::Css("[data-testid=log-row]")).await? {
        // The whole text, clipped or not: a long line ends in an ellipsis on the page.
        let text = row.prop("textContent").await?.unwrap_or_default();
        if text.contains("[masked]") {
            masked_row = Some(row);
            break;
        }
    }
    masked_row
        .context("no masked line among the rows in view")?
        .click()
        .await?;
    text_of(client, "line-details").await?;

    // A reason too short is refused on the page, before anything is asked.
    let reason = client.find(Locator::Id("reveal-reason")).await?;
    reason.send_keys("because").await?;
    client
        .find(Locator::Css("[data-testid=reveal-submit]"))
        .await?
        .click()
        .await?;
    let refusal = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".reveal .error-text"))
        .await?;
    ensure!(refusal.text().await?.contains("at least 8 characters"));
    reason.clear().await?;
    reason.send_keys(REASON).await?;
    client
        .find(Locator::Css("[data-testid=reveal-submit]"))
        .await?
        .click()
        .await?;
    let whole = text_of(client, "revealed-line").await?;
    ensure!(
        whole.contains("mrn=") && !whole.contains("[masked]"),
        "the revealed line is whole: {whole:?}"
    );

    client
        .find(Locator::Css("[data-testid=logout]"))
        .await?
        .click()
        .await?;
    browser.log_in("admin", DEMO_PASSWORD).await?;
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=logout]"))
        .await?;
    client.goto(&server.url("/admin")).await?;
    let found = wait_until("the reveal is on the trail", WAIT, || async move {
        text_of(client, "audit-trail")
            .await
            .is_ok_and(|trail| trail.contains("Revealed masked patient data") && trail.contains(REASON))
    })
    .await;
    ensure!(
        found.is_ok(),
        "the trail: {:?}",
        text_of(client, "audit-trail").await?
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the pages logged errors: {errors:#?}");
    browser.close().await
}
