//! The server binary as an operator runs it: configuration errors, start, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Lines, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_vitals-server");
const DEMO_PASSWORD: &str = "cli-test-password";

#[test]
fn broken_config_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitals.toml");
    std::fs::write(&path, "[demo]\nseed = \"not a number\"\n").unwrap();
    let output = Command::new(SERVER).arg("--config").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seed"), "{stderr}");
}

#[test]
fn bad_listen_variable_is_named() {
    let output = Command::new(SERVER)
        .current_dir(tempfile::tempdir().unwrap().path())
        .env("VITALS_LISTEN", "everywhere")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("VITALS_LISTEN"), "{stderr}");
}

/// A demo server started as an operator starts it, with the address its start line names.
struct RunningServer {
    process: Child,
    lines: Lines<BufReader<ChildStdout>>,
    address: String,
    admin_address: String,
    _data: tempfile::TempDir,
}

impl RunningServer {
    fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut process = Command::new(SERVER)
            .current_dir(data.path())
            .env("VITALS_LISTEN", "127.0.0.1:0")
            .env("VITALS_ADMIN_LISTEN", "127.0.0.1:0")
            .env("VITALS_DIST_DIR", data.path())
            .env("VITALS_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // The start line names the address; wait for it rather than for a fixed time.
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let start_line = lines
            .by_ref()
            .take(50)
            .map_while(Result::ok)
            .find(|line| line.contains("open http://"))
            .expect("the server should say where it listens");
        let after = |marker: &str, end: char| {
            let start = start_line.find(marker).expect(marker) + marker.len();
            start_line[start..]
                .split(end)
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let address = after("open http://", '/');
        let admin_address = after("admin=", ' ');
        Self {
            process,
            lines,
            address,
            admin_address,
            _data: data,
        }
    }

    /// Sends one HTTP/1.1 request and reads the whole answer.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Stops the server with SIGTERM, as the platform does; the lines it logged after starting.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.process.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(exit) = self.process.try_wait().unwrap() {
                break exit;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(exit.success(), "{exit}");
        self.lines.map_while(Result::ok).collect()
    }
}

#[test]
fn serves_then_stops_cleanly_on_sigterm() {
    let server = RunningServer::start();
    let answer = server.send("GET", "/healthz", &[], "");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let rest = server.stop();
    assert!(rest.iter().any(|line| line.contains("stopped")), "{rest:?}");
}

/// `vitals-server --health`, as the container image's health check runs it beside the server.
fn health_check(admin_address: &str) -> std::process::Output {
    Command::new(SERVER)
        .arg("--health")
        .current_dir(tempfile::tempdir().unwrap().path())
        .env("VITALS_ADMIN_LISTEN", admin_address)
        .output()
        .unwrap()
}

#[test]
fn the_health_check_passes_while_the_server_serves_and_fails_once_it_stops() {
    let server = RunningServer::start();
    let admin_address = server.admin_address.clone();
    let healthy = health_check(&admin_address);
    assert!(healthy.status.success(), "{healthy:?}");
    server.stop();
    let unhealthy = health_check(&admin_address);
    assert_eq!(unhealthy.status.code(), Some(1), "{unhealthy:?}");
    let stderr = String::from_utf8_lossy(&unhealthy.stderr);
    assert!(
        stderr.contains("unhealthy") && stderr.contains(&admin_address),
        "{stderr}"
    );
}

#[test]
fn a_query_nested_fifty_thousand_deep_is_refused_and_the_server_lives_on() {
    let server = RunningServer::start();
    let login = server.send(
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json"), ("X-Vitals-Csrf", "1")],
        &format!(r#"{{"username":"engineer","password":"{DEMO_PASSWORD}"}}"#),
    );
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    let cookie = login
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| line[11..].trim())
        })
        .and_then(|value| value.split(';').next())
        .expect("the login answer sets the session cookie")
        .to_owned();

    let deep = format!("{}up{}", "sum(".repeat(50_000), ")".repeat(50_000));
    let answer = server.send(
        "POST",
        "/api/v1/metrics/query",
        &[
            ("Content-Type", "application/json"),
            ("X-Vitals-Csrf", "1"),
            ("Cookie", &cookie),
        ],
        &format!(r#"{{"query":"{deep}"}}"#),
    );
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "{}",
        &answer[..answer.len().min(500)]
    );
    assert!(answer.contains("\"bad_query\""), "{answer}");

    let health = server.send("GET", "/healthz", &[], "");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    server.stop();
}
