//! The app as a person sees it: headless Chromium against a real server on the demo clinic.

use anyhow::Result;
use fantoccini::Locator;
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, find_on_page};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, outside the training failure window.
/// 10:46, inside the login failure the demo runs from minute 40 to 50.
const LOGIN_FAILING_MS: i64 = CLINIC_MORNING_MS + 26 * 60_000;
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

async fn stat_value(browser: &Browser, card: &str) -> Result<String> {
    let selector = format!("[data-testid={card}] [data-testid=stat-value]");
    let element = find_on_page(&browser.client, Locator::Css(&selector)).await?;
    Ok(element.text().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_shows_the_live_clinic_without_console_errors() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    browser.client.goto(&server.url("/")).await?;
    browser.log_in("operations", DEMO_PASSWORD).await?;

    let registrations = stat_value(&browser, "stat-registrations").await?;
    assert!(
        !registrations.is_empty() && registrations.chars().all(|c| c.is_ascii_digit() || c == ','),
        "registrations should be a whole number, got {registrations:?}"
    );
    assert!(
        registrations.replace(',', "").parse::<u64>()? > 0,
        "a clinic morning has registrations"
    );
    let logins = stat_value(&browser, "stat-login-success").await?;
    assert!(
        logins.ends_with('%'),
        "login success should be a percentage, got {logins:?}"
    );

    let nav = browser.client.find(Locator::Css("nav")).await?.text().await?;
    for area in ["Dashboards", "Status"] {
        assert!(
            nav.contains(area),
            "the top bar should offer {area} to operations: {nav:?}"
        );
    }

    let errors = browser.unexpected_console_errors(&server).await?;
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinician_reads_each_component_of_the_status_page_in_words() -> Result<()> {
    let server = TestServer::start_at(LOGIN_FAILING_MS).await?;
    let browser = Browser::start().await?;
    browser.client.goto(&server.url("/status")).await?;
    browser.log_in("clinician", DEMO_PASSWORD).await?;
    let page = find_on_page(&browser.client, Locator::Css("[data-testid=status-components]"))
        .await?
        .text()
        .await?;
    for name in [
        "Patient registration",
        "Logging in",
        "Appointments",
        "Patient records",
    ] {
        assert!(
            page.contains(name),
            "the status page should name {name}: {page:?}"
        );
    }
    assert!(page.contains("✓ Working"), "working components say so: {page:?}");
    assert!(
        page.contains("Partly not working") || page.contains("Not working"),
        "logging in is out during the failure, said in words: {page:?}"
    );
    assert!(
        page.contains("of the last 24 hours") || page.contains("nothing recorded yet in this span"),
        "each component's history is summed up in words: {page:?}"
    );
    assert!(
        browser
            .client
            .find_all(Locator::Css("[data-testid=source-list]"))
            .await?
            .is_empty(),
        "the sources' own health is for engineers, not on the clinicians' page"
    );
    let errors = browser.unexpected_console_errors(&server).await?;
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineers_see_whether_vitals_reaches_each_source() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    browser.client.goto(&server.url("/engineering/sources")).await?;
    browser.log_in("engineer", DEMO_PASSWORD).await?;
    let page = find_on_page(&browser.client, Locator::Css("[data-testid=source-list]"))
        .await?
        .text()
        .await?;
    for signal in ["logs", "metrics", "traces"] {
        assert!(
            page.to_lowercase().contains(signal),
            "the sources page should list {signal}: {page:?}"
        );
    }
    let errors = browser.unexpected_console_errors(&server).await?;
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_error_check_catches_a_failing_page() -> Result<()> {
    // The guard the other tests rely on must itself be able to fail.
    let browser = Browser::start().await?;
    browser
        .client
        .goto("data:text/html,<script>console.error('broken on purpose')</script><p id=done>done</p>")
        .await?;
    browser.client.wait().for_element(Locator::Id("done")).await?;
    let errors = browser.console_errors().await?;
    assert!(
        errors.iter().any(|error| error.contains("broken on purpose")),
        "the console error was not seen: {errors:#?}"
    );
    browser.close().await
}
