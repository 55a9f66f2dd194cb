//! Harness for cross-process tests: the Vitals server on an ephemeral port, ChromeDriver, readiness waits.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use vitals_server::config::Config;
use vitals_server::state::FixedClock;

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

/// A Vitals server on the demo clinic, listening on a loopback ephemeral port; stops when dropped.
pub struct TestServer {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts the server with its clock fixed at `now_ms`, so the demo clinic shows known data.
    pub async fn start_at(now_ms: i64) -> Result<Self> {
        let config = Config {
            dist_dir: dist_dir()?,
            ..Config::default()
        };
        let mut state = vitals_server::demo_state(&config);
        state.clock = Arc::new(FixedClock(now_ms));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = vitals_server::app(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let server = Self { address, task };
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
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
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

/// A free loopback port; ChromeDriver cannot be told to pick one itself.
fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Headless Chromium driven through its own ChromeDriver process; both stop when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Result<Self> {
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
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1280,800",
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
pub mod moto;
pub mod prometheus;
