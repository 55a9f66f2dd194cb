//! The log explorer in headless Chromium: an engineer's query shows patient details masked,
//! the list keeps only the rows in view, a line is revealed with a reason, and an admin finds
//! the reveal and its reason on the audit trail.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use vitals_tests::{Browser, DEMO_PASSWORD, TestServer, find_on_page, text_of, wait_until};

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
    browser.open_as(&server, "engineer").await?;

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

    // The lines around it in its own stream, the chosen one marked among them.
    client
        .find(Locator::Css("[data-testid=show-context]"))
        .await?
        .click()
        .await?;
    text_of(client, "line-context").await?;
    let around = client
        .find_all(Locator::Css("[data-testid=line-context] li"))
        .await?
        .len();
    let marked_line = client
        .find_all(Locator::Css("[data-testid=line-context] li.this-line"))
        .await?
        .len();
    ensure!(
        around >= 3 && marked_line == 1,
        "{around} lines around the chosen one, which is marked once"
    );

    // A reason too short is refused on the page, before anything is asked.
    let reason = client.find(Locator::Id("reveal-reason")).await?;
    reason.send_keys("because").await?;
    client
        .find(Locator::Css("[data-testid=reveal-submit]"))
        .await?
        .click()
        .await?;
    let refusal = find_on_page(client, Locator::Css(".reveal .error-text")).await?;
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
    find_on_page(client, Locator::Css("[data-testid=logout]")).await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_editor_completes_values_and_marks_a_string_left_open() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "engineer").await?;
    client.goto(&server.url("/engineering/logs")).await?;
    let editor = find_on_page(client, Locator::Id("log-query")).await?;
    editor.send_keys(r#"{service="lo"#).await?;
    // The label's values are asked for once the cursor enters its quotes; a keystroke later
    // they are offered.
    let offered = wait_until("the service's values are offered", WAIT, || {
        let editor = editor.clone();
        async move {
            if editor.send_keys("\u{E003}o").await.is_err() {
                return false;
            }
            text_of(client, "log-query-completions")
                .await
                .is_ok_and(|list| list.contains("login-api"))
        }
    })
    .await;
    ensure!(offered.is_ok(), "login-api should be offered inside service=\"lo");
    editor.send_keys("\u{E004}").await?; // Tab takes it
    editor.send_keys(r#""} |= "GetItem"#).await?;
    let text = editor.prop("value").await?.unwrap_or_default();
    ensure!(
        text == r#"{service="login-api"} |= "GetItem"#,
        "completed in place: {text:?}"
    );

    // A string left open is marked where it starts, and the query is not sent.
    let problem = text_of(client, "query-problem").await?;
    let marked = client
        .find(Locator::Css("[data-testid=query-problem] mark"))
        .await?
        .text()
        .await?;
    ensure!(
        problem.contains("never closed") && marked.starts_with("\"GetItem"),
        "the problem {problem:?} marks {marked:?}"
    );
    editor.send_keys("\u{E009}\u{E007}").await?;
    ensure!(
        !client
            .current_url()
            .await?
            .query()
            .unwrap_or_default()
            .contains("query="),
        "a query with a problem the page can see is not run"
    );
    editor.send_keys("\u{E000}\"\u{E009}\u{E007}").await?;
    let ran = wait_until("the closed query runs", WAIT, || async move {
        client
            .current_url()
            .await
            .is_ok_and(|url| url.query().unwrap_or_default().contains("GetItem"))
    })
    .await;
    ensure!(ran.is_ok(), "once closed, Ctrl+Enter runs it");
    ensure!(
        client
            .find_all(Locator::Css("[data-testid=query-problem]"))
            .await?
            .is_empty(),
        "no problem is shown once the string is closed"
    );
    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dragging_across_the_volume_narrows_the_range() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "engineer").await?;
    // An hour of clinic morning, written out: the bars stand on the same hour as the lines.
    client
        .goto(&server.url(
            "/engineering/logs?query=%7Bservice%3D~%22.%2B%22%7D&from=2026-11-24T09%3A20%3A00Z&to=2026-11-24T10%3A20%3A00Z",
        ))
        .await?;
    let bars = wait_until("the volume is drawn", WAIT, || async move {
        client
            .find_all(Locator::Css("[data-testid=log-volume] rect"))
            .await
            .is_ok_and(|bars| bars.len() >= 30)
    })
    .await;
    ensure!(bars.is_ok(), "an hour of every service draws bars");
    let legend = text_of(client, "log-volume").await?;
    ensure!(legend.contains("info"), "the levels are named: {legend:?}");

    // Drag over the middle half of the bars.
    client
        .execute(
            "const layer = document.querySelector('[data-testid=log-volume] .drag-select'); \
             const box = layer.getBoundingClientRect(); \
             const at = (fraction, type) => layer.dispatchEvent(new PointerEvent(type, \
                 {bubbles: true, clientX: box.left + box.width * fraction, clientY: box.top + box.height / 2})); \
             at(0.25, 'pointerdown'); at(0.5, 'pointermove'); at(0.75, 'pointermove'); at(0.75, 'pointerup');",
            Vec::new(),
        )
        .await?;
    let narrowed = wait_until("the range narrows to the stretch dragged", WAIT, || async move {
        client.current_url().await.is_ok_and(|url| {
            let query = url.query().unwrap_or_default().to_owned();
            query.contains("from=2026-11-24T09%3A3") && query.contains("to=2026-11-24T10%3A0")
        })
    })
    .await;
    ensure!(
        narrowed.is_ok(),
        "from about 09:35 to 10:05: {}",
        client.current_url().await?
    );
    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_followed_live_shows_its_lines_and_its_rate_and_pauses() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "engineer").await?;
    explore(client, &server, r#"{service=~".+"}"#, "now-15m").await?;
    text_of(client, "log-summary").await?;
    client
        .find(Locator::Css("[data-testid=log-live]"))
        .await?
        .click()
        .await?;
    // The last minute arrives first, newest at the top, with the rate it came at.
    let following = wait_until("the tail follows", WAIT, || async move {
        text_of(client, "tail-status")
            .await
            .is_ok_and(|status| status.contains("Live") && status.contains("lines/s"))
    })
    .await;
    ensure!(following.is_ok(), "{:?}", text_of(client, "tail-status").await);
    let arrived = wait_until("lines arrive", WAIT, || async move {
        client
            .find_all(Locator::Css("[data-testid=tail-row]"))
            .await
            .is_ok_and(|rows| !rows.is_empty())
    })
    .await;
    ensure!(arrived.is_ok(), "the last minute's lines are shown");
    ensure!(
        client
            .current_url()
            .await?
            .query()
            .unwrap_or_default()
            .contains("live=1"),
        "the address says the query is followed"
    );
    let page = client.source().await?;
    ensure!(!page.contains("mrn=1"), "a record number reached the live page");

    client
        .find(Locator::Css("[data-testid=tail-pause]"))
        .await?
        .click()
        .await?;
    let status = text_of(client, "tail-status").await?;
    ensure!(
        status.contains("Paused") && status.contains("waiting"),
        "{status}"
    );
    client
        .find(Locator::Css("[data-testid=tail-pause]"))
        .await?
        .click()
        .await?;
    let status = text_of(client, "tail-status").await?;
    ensure!(status.contains("Live"), "{status}");

    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choosing_a_pattern_narrows_the_query_to_its_lines() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    browser.open_as(&server, "engineer").await?;
    // The hour before holds the training failure (09:40 to 09:50).
    client
        .goto(
            &server.url(
                "/engineering/logs?query=%7Bservice%3D%22login-api%22%7D&from=now-1h&to=now&view=patterns",
            ),
        )
        .await?;
    let summary = text_of(client, "patterns-summary").await?;
    ensure!(summary.contains("patterns in"), "{summary:?}");
    let mut failure = None;
    for pattern in client.find_all(Locator::Css("[data-testid=pattern]")).await? {
        let text = pattern.prop("textContent").await?.unwrap_or_default();
        if text.contains("GetItem failed") {
            ensure!(failure.is_none(), "the failure is one pattern");
            failure = Some((pattern, text));
        }
    }
    let (failure, text) = failure.context("the GetItem failure is a pattern")?;
    let wildcards = client.find_all(Locator::Css(".pattern-wildcard")).await?.len();
    ensure!(wildcards > 0, "what varies is marked: {text}");
    let count: usize = text
        .split(" line")
        .next()
        .and_then(|count| count.replace(',', "").trim().parse().ok())
        .context(format!("a count of lines: {text:?}"))?;

    failure.click().await?;
    let narrowed = wait_until("the query gains the pattern's filter", WAIT, || async move {
        client.current_url().await.is_ok_and(|url| {
            let query: String = url
                .query_pairs()
                .find(|(name, _)| name == "query")
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default();
            query.starts_with(r#"{service="login-api"} |~ "#) && !url.as_str().contains("view=patterns")
        })
    })
    .await;
    ensure!(narrowed.is_ok(), "{}", client.current_url().await?);
    let listed = wait_until("the pattern's lines are listed", WAIT, || async move {
        text_of(client, "log-summary")
            .await
            .is_ok_and(|summary| summary.starts_with(&format!("{count} lines")))
    })
    .await;
    ensure!(
        listed.is_ok(),
        "{count} lines: {:?}",
        text_of(client, "log-summary").await?
    );
    for row in client.find_all(Locator::Css("[data-testid=log-row]")).await? {
        let text = row.prop("textContent").await?.unwrap_or_default();
        ensure!(
            text.contains("GetItem failed"),
            "only the pattern's lines: {text}"
        );
    }
    let errors = browser.unexpected_console_errors(&server).await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await
}
