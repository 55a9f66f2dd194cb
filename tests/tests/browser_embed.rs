//! The embedded status page in headless Chromium, framed by an intranet page on an origin of its
//! own: an origin the embed link names shows each component and its state in words; any other
//! origin gets nothing in its frame; with scripts off the page still shows and keeps itself
//! up to date.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use axum::Router;
use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use vitals_api::clock::ManualClock;
use vitals_server::state::Clock;
use vitals_server::status::embed_page::escape;
use vitals_tests::{Browser, PAGE_WAIT, TestServer, find_on_page, test_config, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, outside the training failure window, when
/// every component of the demo clinic works.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

/// What the page says for each state the status API names, as a clinician reads it.
const STATE_WORDS: [(&str, &str); 6] = [
    ("operational", "Working"),
    ("degraded_performance", "Slower than usual"),
    ("partial_outage", "Partly not working"),
    ("major_outage", "Not working"),
    ("under_maintenance", "Planned maintenance"),
    ("unknown", "Status unknown"),
];

/// The Vitals server on the demo clinic, evaluating its status every `interval_seconds`, and
/// the clock it reads, which only the test moves.
async fn vitals(interval_seconds: u32) -> Result<(TestServer, Arc<ManualClock>)> {
    let data = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
    let mut config = test_config(data.path());
    config.status.interval_seconds = interval_seconds;
    let sources = vitals_server::demo_sources(&config, clock.clone());
    let state = vitals_server::build_state(&config, &sources, clock.clone() as Arc<dyn Clock>)?;
    Ok((TestServer::start_with_state(state, data).await?, clock))
}

/// Makes an embed link as admin that `origin` may frame; answers the iframe's full address.
async fn embed_link(server: &TestServer, origin: &str) -> Result<String> {
    let response = server
        .client_as("admin")
        .await?
        .post(server.url("/api/v1/embed-tokens"))
        .json(&json!({"origins": [origin], "expires_in_days": 30}))
        .send()
        .await?;
    ensure!(
        response.status() == 201,
        "making an embed link for {origin}: {}",
        response.status()
    );
    let made: Value = response.json().await?;
    let path = made["url"].as_str().context("the embed link has no address")?;
    Ok(server.url(path))
}

/// Each component the status API gives a clinician: its name and the words its state reads in.
async fn expected_components(server: &TestServer) -> Result<Vec<(String, &'static str)>> {
    let status: Value = server
        .client_as("clinician")
        .await?
        .get(server.url("/api/v1/status"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut expected = Vec::new();
    for component in status["components"].as_array().context("no components")? {
        let state = component["state"].as_str().unwrap_or_default();
        let words = STATE_WORDS
            .iter()
            .find(|(name, _)| *name == state)
            .with_context(|| format!("a state the page has no words for: {component}"))?
            .1;
        expected.push((component["name"].as_str().unwrap_or_default().to_owned(), words));
    }
    ensure!(!expected.is_empty(), "the status lists no component: {status}");
    Ok(expected)
}

/// A page of the clinic's intranet on a loopback origin of its own (its port tells it from the
/// Vitals server's), framing the address given as `?src=`; stops when dropped.
struct Intranet {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Intranet {
    /// Listens before it returns, so the browser's first request is already waited for.
    async fn start() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = Router::new().route("/", get(framing_page));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, task })
    }

    /// The origin an embed link names to let this page frame the status.
    fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The intranet page framing `src`.
    fn framing(&self, src: &str) -> String {
        let src: String = url::form_urlencoded::byte_serialize(src.as_bytes()).collect();
        format!("{}/?src={src}", self.origin())
    }
}

impl Drop for Intranet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The intranet page: a heading, a line its script rewrites (so a test can tell whether
/// scripts ran), and the status iframe, which marks itself once its document has loaded. Its
/// icon is inline, so the browser asks this server for nothing else.
async fn framing_page(Query(params): Query<HashMap<String, String>>) -> Html<String> {
    let src = escape(params.get("src").map_or("", String::as_str));
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
         <title>Clinic intranet</title></head>\
         <body><h1>Clinic intranet</h1><p id=\"scripts\">scripts off</p>\
         <script>document.getElementById('scripts').textContent = 'scripts on';</script>\
         <iframe id=\"status\" title=\"Clinic systems status\" src=\"{src}\" width=\"480\" height=\"600\" \
         onload=\"this.dataset.loaded = 'yes'\"></iframe></body></html>"
    ))
}

/// Enters the status iframe of the intranet page open in `client`.
async fn enter_status_frame(client: &Client) -> Result<()> {
    client.enter_parent_frame().await?;
    find_on_page(client, Locator::Id("status"))
        .await?
        .enter_frame()
        .await?;
    Ok(())
}

/// Each component the framed page lists: its name and its state as the reader sees it (the
/// icon, then the words).
async fn components_shown(client: &Client) -> Result<Vec<(String, String)>> {
    find_on_page(client, Locator::Css("main li")).await?;
    let mut shown = Vec::new();
    for item in client.find_all(Locator::Css("main li")).await? {
        let name = item.find(Locator::Css(".name")).await?.text().await?;
        let state = item.find(Locator::Css(".state")).await?.text().await?;
        shown.push((name, state));
    }
    Ok(shown)
}

/// [`components_shown`] again until it reads a whole page: the page reloads itself, and a read
/// that straddles a reload finds its elements gone.
async fn components_in_frame(client: &Client) -> Result<Vec<(String, String)>> {
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        match components_shown(client).await {
            Ok(shown) => return Ok(shown),
            Err(error) if Instant::now() > deadline => {
                return Err(error.context("the framed page never listed its components"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Fails unless `shown` lists every expected component, in order, each with its state's words.
fn ensure_shows(shown: &[(String, String)], expected: &[(String, &str)]) -> Result<()> {
    ensure!(
        shown.len() == expected.len(),
        "the frame shows {shown:?}, the status API lists {expected:?}"
    );
    for ((name, state), (expected_name, words)) in shown.iter().zip(expected) {
        ensure!(
            name == expected_name && state.ends_with(words),
            "the frame shows {name:?} as {state:?}; expected {expected_name:?} as {words:?}"
        );
        ensure!(
            state.len() > words.len(),
            "{name}'s state has no icon beside its words: {state:?}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_intranet_page_shows_each_component_and_its_state_in_words() -> Result<()> {
    let (server, _clock) = vitals(30).await?;
    let intranet = Intranet::start().await?;
    let embed = embed_link(&server, &intranet.origin()).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&intranet.framing(&embed)).await?;
    enter_status_frame(client).await?;

    let shown = components_in_frame(client).await?;
    ensure!(
        shown.contains(&("Patient registration".to_owned(), "✓ Working".to_owned())),
        "a clinic morning shows patient registration working: {shown:?}"
    );
    ensure_shows(&shown, &expected_components(&server).await?)?;
    let checked = client.find(Locator::Css(".as-of")).await?.text().await?;
    ensure!(checked == "Checked 10:20 UTC", "when it was checked: {checked:?}");

    // The page's one inline stylesheet passes its own policy: a blocked one would leave the
    // names in the browser's default weight and log the refusal.
    let weight = client
        .execute(
            "return getComputedStyle(document.querySelector('.name')).fontWeight;",
            Vec::new(),
        )
        .await?;
    ensure!(
        weight == json!("600"),
        "the page's styles did not apply: {weight}"
    );
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "the pages logged errors: {errors:#?}");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intranet_page_on_another_origin_gets_nothing_in_its_frame() -> Result<()> {
    let (server, _clock) = vitals(30).await?;
    let allowed = Intranet::start().await?;
    let other = Intranet::start().await?;
    let embed = embed_link(&server, &allowed.origin()).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&other.framing(&embed)).await?;

    // Chromium says why it refused the frame, naming the one origin the link allows; only once
    // it has, and the frame has loaded what it got instead, is the frame looked into.
    let mut refusals = Vec::new();
    let deadline = Instant::now() + PAGE_WAIT;
    while !refusals
        .iter()
        .any(|error: &String| error.contains("frame-ancestors") && error.contains(&allowed.origin()))
    {
        if Instant::now() > deadline {
            bail!("Chromium never said it refused the frame; it logged {refusals:#?}");
        }
        refusals.extend(browser.console_errors().await?);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_until("the frame has loaded", PAGE_WAIT, || async {
        match client.find(Locator::Id("status")).await {
            Ok(frame) => frame.attr("data-loaded").await.ok().flatten().is_some(),
            Err(_) => false,
        }
    })
    .await?;

    enter_status_frame(client).await?;
    let listed = client.find_all(Locator::Css("li")).await?;
    let text = client.find(Locator::Css("body")).await?.text().await?;
    ensure!(
        listed.is_empty() && !text.contains("Patient registration") && !text.contains("Working"),
        "a page on {} sees the status: {text:?}",
        other.origin()
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_scripts_off_the_page_shows_each_component_and_keeps_itself_up_to_date() -> Result<()> {
    let (server, clock) = vitals(5).await?;
    let intranet = Intranet::start().await?;
    let embed = embed_link(&server, &intranet.origin()).await?;
    let browser = Browser::start_without_scripts().await?;
    let client = &browser.client;
    client.goto(&intranet.framing(&embed)).await?;
    let scripts = client.find(Locator::Id("scripts")).await?.text().await?;
    ensure!(
        scripts == "scripts off",
        "the browser ran the intranet page's script"
    );

    enter_status_frame(client).await?;
    ensure_shows(
        &components_in_frame(client).await?,
        &expected_components(&server).await?,
    )?;

    // The page reloads itself every evaluation interval, no script needed: a minute later on
    // the server's clock, the frame says so by itself.
    clock.advance(Duration::from_secs(60));
    wait_until("the frame shows the next check", PAGE_WAIT, || async {
        match client.find(Locator::Css(".as-of")).await {
            Ok(checked) => checked.text().await.is_ok_and(|text| text == "Checked 10:21 UTC"),
            Err(_) => false,
        }
    })
    .await?;
    ensure_shows(
        &components_in_frame(client).await?,
        &expected_components(&server).await?,
    )?;
    browser.close().await
}
