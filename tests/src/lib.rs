//! Harness for cross-process tests: the Vitals server on an ephemeral port, ChromeDriver, readiness waits.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use vitals_server::config::{Config, LimitConfig, Secret};
use vitals_server::sources::Sources;
use vitals_server::state::{AppState, Clock, FixedClock};

/// How long a browser test waits for an element or a page.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// The text of the element with `data-testid=test_id`, once it is there.
pub async fn text_of(client: &Client, test_id: &str) -> Result<String> {
    let element = find_on_page(client, Locator::Css(&format!("[data-testid={test_id}]"))).await?;
    Ok(element.text().await?)
}

/// The trace id of the demo clinic's nightly import of `spans` spans (10,000, 100,000 or
/// 1,000,000) within the twelve hours before the server's now, found through the trace search.
pub async fn nightly_import(server: &TestServer, spans: u64) -> Result<String> {
    let found: serde_json::Value = server
        .client_as("engineer")
        .await?
        .post(server.url("/api/v1/traces/search"))
        .json(&serde_json::json!({"filter": "service(\"records-import\")", "from": "now-12h", "limit": 10}))
        .send()
        .await?
        .json()
        .await?;
    found["traces"]
        .as_array()
        .context("the search answered no list")?
        .iter()
        .filter_map(|trace| trace["trace_id"].as_str())
        .find(|id| id.ends_with(&format!("{spans:012x}")))
        .map(str::to_owned)
        .with_context(|| format!("no import of {spans} spans in {found}"))
}

/// Loads `url` up to `rounds + 1` times within `budget`, each time polling `script` until it
/// answers an array whose first number is the figure wanted (a performance entry's time);
/// `check` then looks at the page. The first load only warms the caches, so the figures of
/// the others come back, sorted.
pub async fn time_page_loads<Check, Checked>(
    client: &Client,
    url: &str,
    script: &str,
    rounds: usize,
    budget: Duration,
    mut check: Check,
) -> Result<Vec<f64>>
where
    Check: FnMut() -> Checked,
    Checked: std::future::Future<Output = Result<()>>,
{
    let started = Instant::now();
    let mut figures = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        if started.elapsed() > budget {
            break;
        }
        client.goto(url).await?;
        let deadline = Instant::now() + PAGE_WAIT;
        let figure = loop {
            let answer = client.execute(script, Vec::new()).await?;
            if let Some(figure) = answer.as_array().and_then(|entries| entries.first()?.as_f64()) {
                break figure;
            }
            if Instant::now() > deadline {
                bail!("{url} set no figure for `{script}` within {PAGE_WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        check().await?;
        if round > 0 {
            figures.push(figure);
        }
    }
    if figures.is_empty() {
        bail!("no load of {url} was timed within {budget:?}");
    }
    figures.sort_by(f64::total_cmp);
    Ok(figures)
}

/// Whether `cargo xtask bench --quick` runs this bench: it then takes fewer rounds and shorter
/// loops, and prints the same figures.
pub fn quick_bench() -> bool {
    std::env::var_os("VITALS_BENCH_QUICK").is_some()
}

/// `whole` in a whole bench run, `quick` in a quick one.
pub fn bench_scale<T>(whole: T, quick: T) -> T {
    if quick_bench() { quick } else { whole }
}

/// Runs a bench's `run` to its end on a runtime of two worker threads: the bench's own
/// load or browser and the server it measures share them, as they share the machine's cores.
pub fn bench_on_two_threads(run: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run)
}

/// Runs a bench's `run` on one thread: the server under measure alone on its runtime, its
/// load coming from threads of the bench's own.
pub fn bench_on_one_thread(run: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run)
}

/// The built browser app: `cargo xtask test` builds it and says where.
pub fn dist_dir() -> Result<PathBuf> {
    let dist = std::env::var_os("VITALS_TEST_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    if !dist.join("index.html").exists() {
        bail!(
            "the browser app is not built at {}; run the tests through `cargo xtask test`, which builds it",
            dist.display()
        );
    }
    Ok(dist)
}

/// The demo users' password in every test server.
pub const DEMO_PASSWORD: &str = "vitals-test-password";

/// The configuration of a test server keeping its data in `data`: the demo users, the built
/// app when there is one, and request limits no test reaches by accident.
pub fn test_config(data: &std::path::Path) -> Config {
    Config {
        dist_dir: dist_dir().unwrap_or_else(|_| data.join("no-app-built")),
        data_dir: data.to_owned(),
        demo_password: Some(Secret(DEMO_PASSWORD.into())),
        // These tests read hundreds of traces as fast as they can; the limit itself has its own tests.
        limits: LimitConfig {
            api_requests_per_second: 10_000,
            api_burst: 10_000,
            // An open tail notices a session that ended within a second.
            tail_session_check_seconds: 1,
            ..LimitConfig::default()
        },
        ..Config::default()
    }
}

/// The state of a test server: the demo users, sessions in a fresh folder (kept alive by the
/// returned `TempDir`), the built app when there is one, `sources` or the demo clinic, and
/// "now" from `clock`.
pub fn test_state(sources: Option<&Sources>, clock: Arc<dyn Clock>) -> Result<(AppState, tempfile::TempDir)> {
    let data = tempfile::tempdir()?;
    let config = test_config(data.path());
    let state = match sources {
        Some(sources) => vitals_server::build_state(&config, sources, clock)?,
        None => demo_state(&config, clock)?,
    };
    Ok((state, data))
}

/// A Vitals server listening on a loopback ephemeral port; stops when dropped.
pub struct TestServer {
    pub address: SocketAddr,
    running: Running,
    _data: tempfile::TempDir,
}

/// Where a [`TestServer`] runs.
enum Running {
    /// On the runtime of whoever started it.
    Task(tokio::task::JoinHandle<()>),
    /// On a thread of its own with a single-threaded runtime, until told to stop.
    Thread {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

/// The name of every thread of a server started with [`TestServer::start_on_one_thread`], so
/// [`one_thread_server_cpu_used`] can add up their CPU time.
pub const SERVER_THREADS: &str = "vitals-server";

impl TestServer {
    /// Starts the server on the demo clinic with its clock fixed at `now_ms`, so it shows known data.
    pub async fn start_at(now_ms: i64) -> Result<Self> {
        dist_dir()?;
        let (state, data) = test_state(None, Arc::new(FixedClock(now_ms)))?;
        Self::start_with_state(state, data).await
    }

    /// Starts the server on the demo clinic with its clock fixed at `now_ms`, after `change` has
    /// had its configuration and sources: a bench's own upstream in place of one of the clinic's.
    pub async fn start_changed(now_ms: i64, change: impl FnOnce(&mut Config, &mut Sources)) -> Result<Self> {
        dist_dir()?;
        let data = tempfile::tempdir()?;
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(now_ms));
        let mut config = test_config(data.path());
        let mut sources = vitals_server::demo_sources(&config, clock.clone());
        change(&mut config, &mut sources);
        let state = vitals_server::build_state(&config, &sources, clock)?;
        Self::start_with_state(state, data).await
    }

    /// Starts the server on the demo clinic at `now_ms` with its metrics read from an address
    /// where nothing listens (port 9, discard, on loopback): every metric query fails at once,
    /// as when Prometheus is down, while logs and traces answer.
    pub async fn start_with_metrics_down(now_ms: i64) -> Result<Self> {
        let refused = vitals_server::sources::prometheus::PrometheusSource::new(
            vitals_server::sources::prometheus::PrometheusConfig {
                url: "http://127.0.0.1:9/".parse()?,
                amp_region: None,
            },
            Duration::from_secs(2),
        )
        .await?;
        Self::start_changed(now_ms, move |_, sources| sources.metrics = Arc::new(refused)).await
    }

    /// Starts a server on a prepared state (see [`test_state`]).
    pub async fn start_with_state(state: AppState, data: tempfile::TempDir) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = vitals_server::app(state).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self::ready(address, Running::Task(task), data).await
    }

    /// Starts a server on a prepared state with its async work on one thread (a
    /// single-threaded runtime of its own), every thread it runs on named [`SERVER_THREADS`]:
    /// what a bench measures per core, while its load comes from other threads.
    pub async fn start_on_one_thread(state: AppState, data: tempfile::TempDir) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(SERVER_THREADS)
            // A blocking thread that ended mid-run would take its CPU time out of the count.
            .thread_keep_alive(Duration::from_secs(3600))
            .build()?;
        let listener = StdListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = vitals_server::app(state).into_make_service_with_connect_info::<SocketAddr>();
        let thread = std::thread::Builder::new()
            .name(SERVER_THREADS.into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Dropping the runtime after this ends every connection still open.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        let running = Running::Thread {
            stop: Some(stop),
            thread: Some(thread),
        };
        Self::ready(address, running, data).await
    }

    /// The server at `address` once it answers `/healthz`.
    async fn ready(address: SocketAddr, running: Running, data: tempfile::TempDir) -> Result<Self> {
        let server = Self {
            address,
            running,
            _data: data,
        };
        wait_until(
            "the Vitals server answers /healthz",
            Duration::from_secs(20),
            || async {
                reqwest::get(server.url("/healthz"))
                    .await
                    .is_ok_and(|response| response.status().is_success())
            },
        )
        .await?;
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// An HTTP client logged in as a demo user: every request carries the session and the CSRF header.
    pub async fn client_as(&self, user: &str) -> Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, self.login(user).await?.parse()?);
        headers.insert("x-vitals-csrf", reqwest::header::HeaderValue::from_static("1"));
        Ok(reqwest::Client::builder().default_headers(headers).build()?)
    }

    /// The WebSocket request the Vitals page makes to follow `query` live in the session of
    /// `cookie` (see [`tail_request_at`]).
    pub fn tail_request(
        &self,
        cookie: &str,
        query: &str,
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
        tail_request_at(self.address, cookie, query)
    }

    /// Logs a demo user in and returns the `Cookie` header value of the session.
    pub async fn login(&self, user: &str) -> Result<String> {
        login_at(self.address, user).await
    }
}

/// The WebSocket request the Vitals page makes to the server at `address` to follow `query`
/// live in the session of `cookie`: it names the page's origin, as a browser does.
pub fn tail_request_at(
    address: SocketAddr,
    cookie: &str,
    query: &str,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let query: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let url = format!("ws://{address}/api/v1/logs/tail?query={query}&from=now-10m&limit=20");
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("cookie", cookie.parse()?);
    request
        .headers_mut()
        .insert("origin", format!("http://{address}").parse()?);
    Ok(request)
}

/// Logs a demo user in to the server at `address` and returns the `Cookie` header value of
/// the session.
pub async fn login_at(address: SocketAddr, user: &str) -> Result<String> {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/api/v1/session"))
        .header("x-vitals-csrf", "1")
        .json(&serde_json::json!({"username": user, "password": DEMO_PASSWORD}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("logging in as {user} answered {}", response.status());
    }
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .context("the login set no cookie")?;
    Ok(cookie.to_owned())
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match &mut self.running {
            Running::Task(task) => task.abort(),
            Running::Thread { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// The CPU time the threads of servers started with [`TestServer::start_on_one_thread`] have
/// used so far, from each thread's `schedstat` in /proc, whose first field is its time on a CPU
/// in nanoseconds.
pub fn one_thread_server_cpu_used() -> Result<Duration> {
    let tasks = std::fs::read_dir("/proc/self/task")
        .context("cannot list this process' threads in /proc; the throughput per core needs Linux")?;
    let mut nanoseconds = 0;
    for task in tasks {
        let task = task?.path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if name.trim_end() != SERVER_THREADS {
            continue;
        }
        let schedstat = std::fs::read_to_string(task.join("schedstat"))?;
        nanoseconds += schedstat
            .split_whitespace()
            .next()
            .and_then(|field| field.parse::<u64>().ok())
            .with_context(|| format!("{} reads {schedstat:?}", task.display()))?;
    }
    Ok(Duration::from_nanos(nanoseconds))
}

/// The element `locator` finds, once the page shows it (at most [`PAGE_WAIT`]). A search that
/// the page's navigation cuts short (one app handing over to another loads it in place) is
/// tried again on the page that follows.
pub async fn find_on_page(client: &Client, locator: Locator<'_>) -> Result<Element> {
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.wait().at_most(left).for_element(locator).await {
            Ok(element) => return Ok(element),
            Err(error) if cut_short_by_navigation(&error) && !left.is_zero() => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error).with_context(|| format!("waiting for {locator:?}")),
        }
    }
}

/// Whether a WebDriver command failed only because the page it acted on was being replaced:
/// Chromium's driver says "aborted by navigation", or the element found belongs to the old page.
fn cut_short_by_navigation(error: &fantoccini::error::CmdError) -> bool {
    use fantoccini::error::CmdError;
    match error {
        CmdError::NotW3C(serde_json::Value::String(message)) => message.contains("aborted by navigation"),
        _ => error.is_stale_element_reference(),
    }
}

/// Polls `check` until it holds, at most `limit`; fails naming what was awaited.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    while started.elapsed() < limit {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
    bail!("timed out after {limit:?} waiting until {what}")
}

/// Waits until `ready_url` answers 2xx, or fails at once when `process` exits first;
/// either failure carries the process's log, so a broken start explains itself.
pub async fn wait_for_process(
    name: &str,
    process: &mut Child,
    ready_url: &str,
    limit: Duration,
    log_file: &std::path::Path,
) -> Result<()> {
    let mut exited = None;
    let waited = wait_until(&format!("{name} answers {ready_url}"), limit, || {
        if exited.is_none() {
            exited = process.try_wait().ok().flatten();
        }
        let gave_up = exited.is_some();
        async move {
            gave_up
                || reqwest::get(ready_url)
                    .await
                    .is_ok_and(|response| response.status().is_success())
        }
    })
    .await;
    let log = || std::fs::read_to_string(log_file).unwrap_or_default();
    match (waited, exited) {
        (Ok(()), None) => Ok(()),
        (Ok(()), Some(status)) => bail!("{name} exited with {status} before it was ready:\n{}", log()),
        (Err(error), _) => bail!("{error}; {name}'s log:\n{}", log()),
    }
}

/// A free loopback port; ChromeDriver cannot be told to pick one itself.
fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether the pages a [`Browser`] opens may run their scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scripts {
    Run,
    Blocked,
}

/// Headless Chromium driven through its own ChromeDriver process; both stop when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Result<Self> {
        Self::launch(Scripts::Run).await
    }

    /// A Chromium whose pages run no script at all, as some hospitals set their browsers: what
    /// must work there is what the server renders.
    pub async fn start_without_scripts() -> Result<Self> {
        Self::launch(Scripts::Blocked).await
    }

    async fn launch(scripts: Scripts) -> Result<Self> {
        let port = free_port()?;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context(
                "cannot start chromedriver; `cargo xtask test` installs it (Debian package chromium-driver)",
            )?;
        let status_url = format!("http://127.0.0.1:{port}/status");
        wait_until("chromedriver is ready", Duration::from_secs(20), || async {
            match reqwest::get(&status_url).await {
                Ok(response) => response
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|body| body["value"]["ready"] == true),
                Err(_) => false,
            }
        })
        .await?;
        let profile = tempfile::tempdir()?;
        // Chromium's own content setting, as a hospital's policy sets it: WebDriver's commands
        // still reach the page, its scripts do not run.
        let prefs = match scripts {
            Scripts::Run => serde_json::json!({}),
            Scripts::Blocked => {
                serde_json::json!({ "profile.managed_default_content_settings.javascript": 2 })
            }
        };
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "prefs": prefs,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1280,800",
                    // Memory figures the bench reads (`performance.memory`, exact rather than
                    // rounded) and a collection it can ask for before reading them (`gc()`).
                    "--enable-precise-memory-info", "--js-flags=--expose-gc",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("the capabilities literal is an object"),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("cannot open a Chromium session through chromedriver")?;
        Ok(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Fills the login form and sends it. A page opened before logging in hands over to the
    /// login page, sometimes by loading another app in place; a command that navigation cuts
    /// short is tried again on the page that follows.
    pub async fn log_in(&self, username: &str, password: &str) -> Result<()> {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            match self.fill_login_form(username, password).await {
                Ok(()) => return Ok(()),
                Err(error) if cut_short_by_navigation(&error) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => {
                    return Err(error).context("cannot fill the login form");
                }
            }
        }
    }

    async fn fill_login_form(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(), fantoccini::error::CmdError> {
        let username_field = self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Id("username"))
            .await?;
        username_field.send_keys(username).await?;
        self.client
            .find(Locator::Id("password"))
            .await?
            .send_keys(password)
            .await?;
        self.client.find(Locator::Id("login-submit")).await?.click().await
    }

    /// Opens the login page of `server`, logs in as the demo user `username` and waits until the
    /// page shows the person logged in.
    pub async fn open_as(&self, server: &TestServer, username: &str) -> Result<()> {
        self.client.goto(&server.url("/login")).await?;
        self.log_in(username, DEMO_PASSWORD).await?;
        find_on_page(&self.client, Locator::Css("[data-testid=logout]")).await?;
        Ok(())
    }

    /// Console errors since the last call, less Chromium's note on a 401 from
    /// `/api/v1/session`: that is how the app learns nobody is logged in (and how a
    /// wrong password is refused). Every other error counts.
    pub async fn unexpected_console_errors(&self, server: &TestServer) -> Result<Vec<String>> {
        let expected = format!(
            "{} - Failed to load resource: the server responded with a status of 401",
            server.url("/api/v1/session")
        );
        Ok(self
            .console_errors()
            .await?
            .into_iter()
            .filter(|error| !error.starts_with(&expected))
            .collect())
    }

    /// Console messages of level SEVERE (errors) since the last call.
    pub async fn console_errors(&self) -> Result<Vec<String>> {
        let logs = self.client.issue_cmd(BrowserLog).await?;
        Ok(logs
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// Ends the browser session; ChromeDriver itself stops when the `Browser` is dropped.
    pub async fn close(self) -> Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("closing the browser session failed")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// ChromeDriver's log endpoint (outside the W3C standard, so fantoccini has no call for it).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
pub mod counted;
pub mod moto;
pub mod nginx;
pub mod prometheus;
pub mod server_process;

/// A server on the demo clinic, the server and the clinic both reading "now" from `clock`.
pub fn demo_state(
    config: &vitals_server::config::Config,
    clock: std::sync::Arc<dyn vitals_server::state::Clock>,
) -> anyhow::Result<vitals_server::state::AppState> {
    vitals_server::build_state(config, &vitals_server::demo_sources(config, clock.clone()), clock)
}
