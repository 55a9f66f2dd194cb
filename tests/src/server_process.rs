//! The built `vitals-server` binary run as its own process, configured as an operator does (by
//! environment variables), on loopback ports it picks itself: for tests of several replicas.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::{DEMO_PASSWORD, login_at, wait_for_process, wait_until};

/// How long a server may take from its start to answering `/readyz`.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How long one request of a test to the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A `vitals-server` process with the demo users, its data in a folder of its own; stopped
/// when dropped.
pub struct ServerProcess {
    /// The public listener.
    pub address: SocketAddr,
    /// The admin listener (`/metrics`).
    pub admin_address: SocketAddr,
    process: Child,
    log: PathBuf,
    _data: TempDir,
}

impl ServerProcess {
    /// Starts the built server with `settings` (environment variables) on top of its test
    /// defaults: loopback ephemeral ports, JSON logs, the demo users with [`DEMO_PASSWORD`],
    /// request limits no test reaches by accident, and no AWS settings from the machine it
    /// runs on. Waits until its start line names its ports and it answers `/readyz`.
    pub async fn start(settings: &[(&str, String)]) -> Result<Self> {
        let binary = server_binary()?;
        let data = tempfile::tempdir()?;
        let log = data.path().join("server.log");
        let output = fs::File::create(&log)?;
        let missing = |name: &str| data.path().join(name).to_string_lossy().into_owned();
        let mut command = Command::new(&binary);
        command
            .current_dir(data.path())
            .env_clear()
            .env("VITALS_LISTEN", "127.0.0.1:0")
            .env("VITALS_ADMIN_LISTEN", "127.0.0.1:0")
            .env("VITALS_DATA_DIR", data.path())
            .env("VITALS_DIST_DIR", data.path().join("no-app-built"))
            .env("VITALS_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("VITALS_LOG_FORMAT", "json")
            .env("VITALS_LIMITS_API_REQUESTS_PER_SECOND", "10000")
            .env("VITALS_LIMITS_API_BURST", "10000")
            // Only what the test gives: no profile, file or instance metadata of this machine.
            .env("AWS_CONFIG_FILE", missing("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", missing("no-aws-credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(settings.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output);
        let mut process = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let (address, admin_address) = match listening_on(&mut process, &log).await {
            Ok(addresses) => addresses,
            Err(error) => {
                let _ = process.kill();
                let _ = process.wait();
                return Err(error);
            }
        };
        let mut server = Self {
            address,
            admin_address,
            process,
            log,
            _data: data,
        };
        let ready = format!("http://{address}/readyz");
        wait_for_process(
            "vitals-server",
            &mut server.process,
            &ready,
            READY_WITHIN,
            &server.log,
        )
        .await?;
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// An HTTP client logged in as a demo user: every request carries the session and the
    /// CSRF header, and gives up after 30 seconds.
    pub async fn client_as(&self, user: &str) -> Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::COOKIE,
            login_at(self.address, user).await?.parse()?,
        );
        headers.insert("x-vitals-csrf", reqwest::header::HeaderValue::from_static("1"));
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .timeout(REQUEST_TIMEOUT)
            .build()?)
    }

    /// The value of the counter `name` (without labels) on the admin listener's `/metrics`.
    pub async fn counter(&self, name: &str) -> Result<u64> {
        let text = reqwest::get(format!("http://{}/metrics", self.admin_address))
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .with_context(|| format!("no counter {name} on /metrics:\n{text}"))
    }

    /// The memory the server's process holds now: its resident set (`VmRSS` in
    /// `/proc/<pid>/status`), in bytes.
    pub fn resident_bytes(&self) -> Result<u64> {
        let status_file = format!("/proc/{}/status", self.process.id());
        let status = fs::read_to_string(&status_file)
            .with_context(|| format!("cannot read {status_file}; the server's memory needs Linux"))?;
        status
            .lines()
            .find_map(|line| {
                line.strip_prefix("VmRSS:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kilobytes| kilobytes * 1024)
            .with_context(|| format!("{status_file} names no VmRSS:\n{status}"))
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The public and admin addresses the server's start line names, once it has logged it.
async fn listening_on(process: &mut Child, log: &Path) -> Result<(SocketAddr, SocketAddr)> {
    let start_line = || -> Option<(SocketAddr, SocketAddr)> {
        fs::read_to_string(log).ok()?.lines().find_map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).ok()?;
            let address = |field: &str| line[field].as_str()?.parse().ok();
            Some((address("public")?, address("admin")?))
        })
    };
    let mut exited = None;
    let waited = wait_until("vitals-server logs where it listens", READY_WITHIN, || {
        if exited.is_none() {
            exited = process.try_wait().ok().flatten();
        }
        let done = exited.is_some() || start_line().is_some();
        async move { done }
    })
    .await;
    let log = fs::read_to_string(log).unwrap_or_default();
    if let Some(status) = exited {
        bail!("vitals-server exited with {status} before it listened:\n{log}");
    }
    waited.with_context(|| format!("vitals-server's log:\n{log}"))?;
    start_line().with_context(|| format!("vitals-server named no ports:\n{log}"))
}

/// The `vitals-server` binary of this checkout, beside the tests' own (`target/debug`). Cargo
/// builds it with the server's tests (`cargo xtask test` does); a test of this package alone
/// builds only the library, so the binary is checked against the files it was built from
/// rather than trusted: a missing, foreign or outdated one is refused, saying how to build it.
pub fn server_binary() -> Result<PathBuf> {
    let build = || "build it with `cargo build -p vitals-server`";
    let tests = std::env::current_exe()?;
    let profile = tests
        .parent()
        .and_then(Path::parent)
        .context("the tests run from no target directory")?;
    let binary = profile.join("vitals-server");
    let built = match fs::metadata(&binary).and_then(|metadata| metadata.modified()) {
        Ok(built) => built,
        Err(_) => bail!("there is no server at {}; {}", binary.display(), build()),
    };
    // Cargo's list of the files the binary was built from.
    let dep_info = fs::read_to_string(profile.join("vitals-server.d"))
        .with_context(|| format!("{} has no dep-info beside it; {}", binary.display(), build()))?;
    let sources: Vec<&str> = dep_info
        .split_once(": ")
        .map(|(_, sources)| sources.split_whitespace().collect())
        .unwrap_or_default();
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/main.rs");
    let main = main.canonicalize().unwrap_or(main);
    if !sources.iter().any(|source| Path::new(source) == main) {
        bail!(
            "{} was built from another checkout than this one ({}); {}",
            binary.display(),
            main.display(),
            build()
        );
    }
    let changed_since = |source: &str| {
        fs::metadata(source)
            .and_then(|metadata| metadata.modified())
            .map_or(true, |modified| modified > built)
    };
    if let Some(source) = sources.into_iter().find(|source| changed_since(source)) {
        bail!(
            "{} is older than {source}, which it is built from; {}",
            binary.display(),
            build()
        );
    }
    Ok(binary)
}
