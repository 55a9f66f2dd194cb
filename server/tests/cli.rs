//! The server binary as an operator runs it: configuration errors, start, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_vitals-server");

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

#[test]
fn serves_then_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Command::new(SERVER)
        .current_dir(data.path())
        .env("VITALS_LISTEN", "127.0.0.1:0")
        .env("VITALS_ADMIN_LISTEN", "127.0.0.1:0")
        .env("VITALS_DIST_DIR", data.path())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The start line names the address; wait for it rather than for a fixed time.
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .take(50)
        .map_while(Result::ok)
        .find_map(|line| {
            let start = line.find("open http://")? + "open http://".len();
            Some(line[start..].split('/').next()?.to_owned())
        })
        .expect("the server should say where it listens");

    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|line| line.contains("stopped")), "{rest:?}");
}
