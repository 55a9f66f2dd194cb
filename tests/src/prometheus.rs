//! Harness for a real Prometheus (Debian's package): filled from OpenMetrics text by `promtool`, served on a loopback port.

use std::fs;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;
use vitals_server::config::Config;
use vitals_server::sources::{MetricSource, Sources};
use vitals_server::state::{AppState, Clock, FixedClock};

use crate::{free_port, test_state, wait_for_process};

/// How long Prometheus may take to open its blocks and answer `/-/ready`.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A Prometheus process on its own data, listening on a loopback port; stopped when dropped.
pub struct PrometheusServer {
    pub address: SocketAddr,
    process: Child,
    dir: TempDir,
}

impl PrometheusServer {
    /// Turns `text` (OpenMetrics, timestamps in seconds, ending `# EOF`) into TSDB
    /// blocks with `promtool`, then starts Prometheus on them with a retention long
    /// enough that blocks from the past are kept, and waits until it is ready.
    pub async fn start_with_openmetrics(text: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let samples = dir.path().join("samples.om");
        let tsdb = dir.path().join("tsdb");
        let config = dir.path().join("prometheus.yml");
        fs::write(&samples, text)?;
        // No scrape jobs: the data comes from the blocks alone.
        fs::write(&config, "")?;

        let backfill = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&samples)
            .arg(&tsdb)
            .output()
            .map_err(|error| not_installed("promtool", error))?;
        if !backfill.status.success() {
            bail!(
                "promtool could not turn the OpenMetrics text into blocks: {}",
                String::from_utf8_lossy(&backfill.stderr).trim()
            );
        }

        let address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let log = fs::File::create(dir.path().join("prometheus.log"))?;
        let process = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--storage.tsdb.retention.time=100y")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| not_installed("prometheus", error))?;
        let mut server = Self {
            address,
            process,
            dir,
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Asks Prometheus itself (`POST /api/v1/<endpoint>`, form-encoded) and returns its `data`.
    pub async fn api(&self, endpoint: &str, params: &[(&str, &str)]) -> Result<serde_json::Value> {
        let response = reqwest::Client::new()
            .post(self.url(&format!("/api/v1/{endpoint}")))
            .form(params)
            .send()
            .await
            .with_context(|| format!("Prometheus did not answer /api/v1/{endpoint}"))?;
        let mut answer: serde_json::Value = response.json().await?;
        if answer["status"] != "success" {
            bail!("Prometheus refused /api/v1/{endpoint} {params:?}: {answer}");
        }
        Ok(answer["data"].take())
    }

    /// How many requests Prometheus has answered on `handler` (such as `/api/v1/query`), from
    /// its own `prometheus_http_requests_total`: what shows that a cache in front of it answered.
    pub async fn requests_answered(&self, handler: &str) -> Result<u64> {
        let text = reqwest::get(self.url("/metrics"))
            .await?
            .error_for_status()?
            .text()
            .await?;
        let label = format!("handler=\"{handler}\"");
        Ok(text
            .lines()
            .filter(|line| line.starts_with("prometheus_http_requests_total{") && line.contains(&label))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }

    /// Waits until Prometheus is ready, or fails with its log if it exits first.
    async fn wait_until_ready(&mut self) -> Result<()> {
        let ready_url = self.url("/-/ready");
        let log_file = self.dir.path().join("prometheus.log");
        wait_for_process(
            "Prometheus",
            &mut self.process,
            &ready_url,
            READY_WITHIN,
            &log_file,
        )
        .await
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn not_installed(tool: &str, error: std::io::Error) -> anyhow::Error {
    if error.kind() == ErrorKind::NotFound {
        anyhow::anyhow!(
            "`{tool}` is not installed (Debian package prometheus); run the tests through \
             `cargo xtask test`, which installs them"
        )
    } else {
        anyhow::anyhow!("cannot run `{tool}`: {error}")
    }
}

/// A test server's state (demo logs and traces) with `metrics` as the metric source,
/// behind the same guardrails as in production, its clock fixed at `now_ms`.
pub fn state_with_metrics(
    metrics: Arc<dyn MetricSource>,
    now_ms: i64,
) -> Result<(AppState, tempfile::TempDir)> {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now_ms));
    let demo = vitals_server::demo_sources(&Config::default(), clock.clone());
    test_state(Some(&Sources { metrics, ..demo }), clock)
}
