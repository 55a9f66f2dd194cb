//! Insights in headless Chromium, as operations read them: what went wrong in one sentence, each
//! goal's sentence and budget, the last day of one goal, and the patient journey's sentence for the
//! whole clinic and for one site.

use anyhow::{Result, ensure};
use fantoccini::Locator;
use vitals_tests::{Browser, TestServer, find_on_page, text_of, wait_until};

/// Tuesday 2026-11-24 10:46 UTC: inside the login failure the demo runs from minute 40 to 50.
const LOGIN_FAILING_MS: i64 = 1_795_515_600_000 + 26 * 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_read_goals_and_the_patient_journey_in_sentences() -> Result<()> {
    let server = TestServer::start_at(LOGIN_FAILING_MS).await?;
    let browser = Browser::start().await?;
    browser.open_as(&server, "operations").await?;
    let client = &browser.client;

    client.goto(&server.url("/insights/slos")).await?;
    let logins = find_on_page(client, Locator::Css("[data-testid=goal-logins]"))
        .await?
        .text()
        .await?;
    ensure!(logins.contains("Logins succeed"), "{logins}");
    ensure!(logins.contains("Goal missed"), "the state in words: {logins}");
    ensure!(
        logins.contains("Logins missed the 99.5% goal this week"),
        "the sentence: {logins}"
    );
    ensure!(
        logins.contains("error budget spent"),
        "the budget in words: {logins}"
    );
    let registrations = text_of(client, "goal-registrations").await?;
    ensure!(registrations.contains("Goal met"), "{registrations}");

    // What went wrong: the failure going on since 10:40, in one sentence, without the evidence.
    let explained = find_on_page(client, Locator::Css("[data-testid=explanation-sentence]"))
        .await?
        .text()
        .await?;
    ensure!(
        explained.starts_with("Since 10:40 UTC, about ")
            && explained.contains("fails: login-api cannot find a record in DynamoDB"),
        "{explained}"
    );
    let explanations = text_of(client, "explanations").await?;
    ensure!(
        explanations.contains("Going on: Logins succeed") && !explanations.contains("Log pattern"),
        "operations read the sentence, not the evidence: {explanations}"
    );

    // The last day of the logins goal: its range sentence and two charts, and no query text.
    find_on_page(client, Locator::Css("[data-testid=goal-logins] button"))
        .await?
        .click()
        .await?;
    let range = text_of(client, "goal-range-sentence").await?;
    ensure!(range.starts_with("In the last 24 hours"), "{range}");
    let detail = text_of(client, "goal-detail").await?;
    ensure!(
        !detail.contains("login_attempts_total"),
        "operations never see queries: {detail}"
    );

    // The journey, from the insights' own navigation.
    find_on_page(client, Locator::LinkText("From registering to seeing a doctor"))
        .await?
        .click()
        .await?;
    let sentence = text_of(client, "journey-sentence").await?;
    ensure!(sentence.starts_with("Of "), "{sentence}");
    ensure!(sentence.contains("patients who registered"), "{sentence}");
    let steps = text_of(client, "journey-steps").await?;
    for step in ["Registered", "Booked an appointment", "Saw a doctor"] {
        ensure!(steps.contains(step), "{step}: {steps}");
    }

    // One clinic, picked from the list: the address says it, and the sentence names it.
    find_on_page(
        client,
        Locator::Css("[data-testid=journey-clinic] option[value=south]"),
    )
    .await?
    .click()
    .await?;
    wait_until("the south clinic's journey", vitals_tests::PAGE_WAIT, || async {
        text_of(client, "journey-sentence")
            .await
            .is_ok_and(|sentence| sentence.contains("in clinic south"))
    })
    .await?;
    let url = client.current_url().await?;
    ensure!(
        url.query().is_some_and(|query| query.contains("clinic=south")),
        "{url}"
    );

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the pages logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineers_follow_an_explanation_to_the_trace_that_failed() -> Result<()> {
    let server = TestServer::start_at(LOGIN_FAILING_MS).await?;
    let browser = Browser::start().await?;
    browser.open_as(&server, "engineer").await?;
    let client = &browser.client;

    client.goto(&server.url("/insights/slos")).await?;
    let pattern = find_on_page(client, Locator::Css("[data-testid=explanation-pattern]"))
        .await?
        .text()
        .await?;
    ensure!(pattern.contains("GetItem failed"), "the log pattern: {pattern}");
    find_on_page(client, Locator::Css("[data-testid=explanation-trace]"))
        .await?
        .click()
        .await?;
    // The engineering app opens the trace, and shows where it failed.
    let failed = text_of(client, "where-failed").await?;
    ensure!(failed.contains("GetItem"), "{failed}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_out_of_reach_the_goals_say_they_cannot_tell_rather_than_all_is_well() -> Result<()> {
    let server = TestServer::start_with_metrics_down(LOGIN_FAILING_MS).await?;
    let browser = Browser::start().await?;
    browser.open_as(&server, "operations").await?;
    let client = &browser.client;

    client.goto(&server.url("/insights/slos")).await?;
    let unknown = find_on_page(client, Locator::Css("[data-testid=explanations-cannot-tell]"))
        .await?
        .text()
        .await?;
    ensure!(
        unknown.contains("Vitals cannot tell whether “Logins succeed”"),
        "{unknown}"
    );
    let explanations = text_of(client, "explanations").await?;
    ensure!(
        !explanations.contains("No goal failed"),
        "an unread goal is not reported as fine: {explanations}"
    );
    let logins = text_of(client, "goal-logins").await?;
    ensure!(logins.contains("Cannot tell"), "the goal in words: {logins}");
    browser.close().await
}
