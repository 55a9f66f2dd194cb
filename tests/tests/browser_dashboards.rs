//! The business views in headless Chromium: an operations colleague opens a dashboard, picks a
//! time range and a clinic, shares the view, and someone else opens the short link in a fresh
//! browser session to the same view.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, find_on_page, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, outside the training failure window.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const WAIT: Duration = Duration::from_secs(30);
const SENTENCE: &str = "[data-testid=stat-registered] [data-testid=panel-sentence]";

/// The text of the first element `css` selects, once it is there.
async fn text_at(client: &Client, css: &str) -> Result<String> {
    let element = find_on_page(client, Locator::Css(css)).await?;
    Ok(element.text().await?)
}

/// Waits until the address is `path` with every one of `query` in its query string.
async fn wait_for_view(client: &Client, path: &str, query: &[&str]) -> Result<()> {
    let arrived = wait_until(&format!("the page shows {path} {query:?}"), WAIT, || async move {
        client.current_url().await.is_ok_and(|url| {
            let pairs = url.query().unwrap_or_default().to_owned();
            url.path() == path
                && query
                    .iter()
                    .all(|pair| pairs.split('&').any(|part| part == *pair))
        })
    })
    .await;
    if arrived.is_err() {
        let at = client.current_url().await?;
        anyhow::bail!("the page should show {path} with {query:?} but is at {at}");
    }
    Ok(())
}

/// Waits until the registrations sentence says `words`; the sentence.
async fn sentence_saying(client: &Client, words: &str) -> Result<String> {
    let said = wait_until(&format!("the sentence says {words:?}"), WAIT, || async move {
        text_at(client, SENTENCE)
            .await
            .is_ok_and(|sentence| sentence.contains(words))
    })
    .await;
    let sentence = text_at(client, SENTENCE).await?;
    ensure!(
        said.is_ok(),
        "the registrations sentence should say {words:?}: {sentence:?}"
    );
    Ok(sentence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_view_opens_the_same_in_a_fresh_session() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let first = Browser::start().await?;
    let client = &first.client;
    client.goto(&server.url("/dashboards")).await?;
    first.log_in("operations", DEMO_PASSWORD).await?;
    find_on_page(
        client,
        Locator::Css("[data-testid=dashboard-patient-registrations]"),
    )
    .await?
    .click()
    .await?;
    wait_for_view(client, "/dashboards/patient-registrations", &[]).await?;
    sentence_saying(client, "in the last 24 hours").await?;

    client
        .find(Locator::Css("[data-testid=time-range]"))
        .await?
        .select_by_value("now-7d")
        .await?;
    wait_for_view(client, "/dashboards/patient-registrations", &["from=now-7d"]).await?;
    let every_clinic = sentence_saying(client, "in the last 7 days").await?;
    client
        .find(Locator::Css("[data-testid=var-clinic]"))
        .await?
        .select_by_value("north")
        .await?;
    let view = ["from=now-7d", "to=now", "var.clinic=north"];
    wait_for_view(client, "/dashboards/patient-registrations", &view).await?;
    // The panel asks again for North; until it answers, the sentence is every clinic's.
    let north = wait_until("the sentence is North's", WAIT, || async {
        text_at(client, SENTENCE)
            .await
            .is_ok_and(|sentence| sentence != every_clinic && sentence.contains("in the last 7 days"))
    })
    .await;
    let shared_sentence = text_at(client, SENTENCE).await?;
    ensure!(
        north.is_ok(),
        "picking North should change the sentence from every clinic's: {shared_sentence:?}"
    );
    let range_words = text_at(client, "[data-testid=range-words]").await?;
    ensure!(
        range_words == "Last 7 days",
        "the range in words: {range_words:?}"
    );

    client
        .find(Locator::Css("[data-testid=share]"))
        .await?
        .click()
        .await?;
    let address = find_on_page(client, Locator::Css("[data-testid=share-address]"))
        .await?
        .prop("value")
        .await?
        .context("the short link field has no value")?;
    ensure!(
        address.starts_with(&server.url("/s/")) && address.len() >= server.url("/s/").len() + 22,
        "a short link with a long random id: {address:?}"
    );
    let errors = first.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    first.close().await?;

    // Someone else, in a browser that has never logged in.
    let second = Browser::start().await?;
    let client = &second.client;
    client.goto(&address).await?;
    second.log_in("engineer", DEMO_PASSWORD).await?;
    wait_for_view(client, "/dashboards/patient-registrations", &view).await?;
    let opened_sentence = sentence_saying(client, "in the last 7 days").await?;
    ensure!(
        opened_sentence == shared_sentence,
        "the link should show what was shared: {opened_sentence:?} vs {shared_sentence:?}"
    );
    let clinic = client
        .find(Locator::Css("[data-testid=var-clinic]"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        clinic.as_deref() == Some("north"),
        "the clinic picked: {clinic:?}"
    );

    // A link nobody made says so in words.
    client.goto(&server.url("/s/AAAAAAAAAAAAAAAAAAAAAA")).await?;
    let said = wait_until("an unknown link is said to be unknown", WAIT, || async move {
        text_at(client, "[data-testid=link-problem]")
            .await
            .is_ok_and(|problem| problem.contains("no link has this address"))
    })
    .await;
    let problem = text_at(client, "[data-testid=link-problem]").await?;
    ensure!(said.is_ok(), "an unknown link: {problem:?}");
    second.close().await
}
