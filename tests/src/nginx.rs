//! Harness for nginx (Debian's package) in front of an upstream: as a plain reverse proxy and as a
//! proxy cache, from a configuration written into a folder of its own, on loopback ports.

use std::fs;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::{free_port, wait_for_process};

/// How long nginx may take from its start to answering through the proxy.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How long nginx may take to stop when asked, before it is killed.
const STOPS_WITHIN: Duration = Duration::from_secs(10);
/// How long the cache keeps an answer: longer than any bench run.
const CACHE_VALID: &str = "10m";

/// One nginx process (a master and one worker) in the foreground, its configuration, pid file,
/// logs, temporary files and cache in a folder of its own; stopped when dropped.
pub struct Nginx {
    /// Passes every request to the upstream on kept-alive connections.
    pub proxy_address: SocketAddr,
    /// The same, keeping each 200 answer for [`CACHE_VALID`] and answering from the cache.
    pub cache_address: SocketAddr,
    process: Child,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx in front of `upstream` and waits until its plain proxy answers
    /// `ready_path` from the upstream.
    pub async fn start_in_front_of(upstream: SocketAddr, ready_path: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let proxy_address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let cache_address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let config = dir.path().join("nginx.conf");
        fs::write(
            &config,
            configuration(dir.path(), upstream, proxy_address, cache_address)?,
        )?;
        let error_log = dir.path().join("error.log");
        let process = Command::new(program())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("stderr.log"))?)
            .spawn()
            .map_err(|error| {
                if error.kind() == ErrorKind::NotFound {
                    anyhow::anyhow!(
                        "nginx is not installed (Debian package nginx); `cargo xtask bench` installs it"
                    )
                } else {
                    anyhow::anyhow!("cannot run nginx: {error}")
                }
            })?;
        let mut nginx = Self {
            proxy_address,
            cache_address,
            process,
            dir,
        };
        let ready = format!("http://{proxy_address}{ready_path}");
        wait_for_process("nginx", &mut nginx.process, &ready, READY_WITHIN, &error_log).await?;
        Ok(nginx)
    }

    /// The CPU time nginx's workers have used so far, from each worker's `schedstat` in /proc
    /// (a worker is one thread), whose first field is its time on a CPU in nanoseconds.
    pub fn workers_cpu_used(&self) -> Result<Duration> {
        let master = self.process.id();
        let children_file = format!("/proc/{master}/task/{master}/children");
        let children = fs::read_to_string(&children_file)
            .with_context(|| format!("cannot read {children_file}; nginx's CPU time needs Linux"))?;
        let mut nanoseconds = 0;
        for worker in children.split_whitespace() {
            let schedstat = fs::read_to_string(format!("/proc/{worker}/schedstat"))?;
            nanoseconds += schedstat
                .split_whitespace()
                .next()
                .and_then(|field| field.parse::<u64>().ok())
                .with_context(|| format!("nginx worker {worker}'s schedstat reads {schedstat:?}"))?;
        }
        if children.trim().is_empty() {
            bail!("nginx has no worker process");
        }
        Ok(Duration::from_nanos(nanoseconds))
    }
}

impl Drop for Nginx {
    /// Asks nginx to stop at once (`nginx -s stop`, which its workers follow), and kills the
    /// master if it has not stopped in time.
    fn drop(&mut self) {
        let _ = Command::new(program())
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(self.dir.path().join("error.log"))
            .args(["-s", "stop"])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOPS_WITHIN;
        while Instant::now() < deadline {
            if !matches!(self.process.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Debian installs nginx in /usr/sbin, which is not on every user's `PATH`.
fn program() -> &'static str {
    if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

/// nginx's configuration: everything it writes inside `dir`, one worker (so its CPU time is one
/// core's), kept-alive connections on both sides that nginx does not close after its default
/// 1,000 requests (a bench sends far more on each), the access log on as nginx has it
/// by default, and a cache that keeps 200 answers whatever the upstream says of caching.
fn configuration(dir: &Path, upstream: SocketAddr, proxy: SocketAddr, cache: SocketAddr) -> Result<String> {
    let dir = dir.to_str().context("the temporary folder's path is not UTF-8")?;
    // As root nginx would hand its workers to `nobody`, who cannot enter the private folder.
    let user = if fs::metadata(dir)?.uid() == 0 {
        "user root;"
    } else {
        ""
    };
    Ok(format!(
        r#"daemon off;
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy_temp;
    fastcgi_temp_path {dir}/fastcgi_temp;
    uwsgi_temp_path {dir}/uwsgi_temp;
    scgi_temp_path {dir}/scgi_temp;
    proxy_cache_path {dir}/cache keys_zone=upstream:10m max_size=100m inactive=60m use_temp_path=off;
    keepalive_requests 1000000;
    upstream kept_alive {{
        server {upstream};
        keepalive 32;
        keepalive_requests 1000000;
    }}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    server {{
        listen {proxy};
        location / {{
            proxy_pass http://kept_alive;
        }}
    }}
    server {{
        listen {cache};
        location / {{
            proxy_pass http://kept_alive;
            proxy_cache upstream;
            proxy_cache_valid 200 {CACHE_VALID};
            proxy_ignore_headers Cache-Control Expires Set-Cookie;
            proxy_cache_lock on;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
"#
    ))
}
