//! The API against its published OpenAPI document: schemathesis (from the test virtualenv)
//! fuzzes every operation logged in as each role, and no answer may be a 500 or differ from
//! the document.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use vitals_server::state::FixedClock;
use vitals_tests::{TestServer, moto, test_state};

/// Tuesday 2026-11-24 10:20 UTC, in clinic hours: the demo has data to answer with.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// Test cases per operation and run: enough to reach every documented answer, few enough to
/// keep the suite fast.
const EXAMPLES_PER_OPERATION: &str = "20";
/// A fixed seed, so a failure found once is found again.
const SEED: &str = "20261124";
/// One run is killed past this: a hung server or fuzzer must fail the test, not stall the suite.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// No answer may be a server error, and every answer must be as documented.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";
/// Left out of every run: the live tail is a WebSocket, which schemathesis cannot speak; logging
/// in and out would end the session the run is logged in with (a new login replaces the
/// browser's session), so those two are fuzzed only in the run without a session.
const NOT_FUZZED_LOGGED_IN: &str = "^(tail_logs|login|logout)$";
const NOT_FUZZED_ANONYMOUS: &str = "^tail_logs$";

/// Runs schemathesis against the document `server` publishes, sending `cookie` when given;
/// fails with schemathesis' report when it finds anything.
async fn fuzz(server: &TestServer, who: &str, cookie: Option<&str>) -> Result<()> {
    let schemathesis = moto::venv()?.join("bin/schemathesis");
    if !schemathesis.exists() {
        bail!(
            "schemathesis is not installed at {}; run the tests through `cargo xtask test`, which installs it",
            schemathesis.display()
        );
    }
    let mut command = tokio::process::Command::new(&schemathesis);
    command
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--max-examples", EXAMPLES_PER_OPERATION])
        .args(["--seed", SEED])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--header", &format!("{}: 1", vitals_api::CSRF_HEADER)])
        .args([
            "--exclude-operation-id-regex",
            if cookie.is_some() {
                NOT_FUZZED_LOGGED_IN
            } else {
                NOT_FUZZED_ANONYMOUS
            },
        ]);
    if let Some(cookie) = cookie {
        command.args(["--header", &format!("Cookie: {cookie}")]);
    }
    let report_dir = tempfile::tempdir()?;
    let run = command
        .current_dir(report_dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(RUN_LIMIT, run).await {
        Ok(output) => output.with_context(|| format!("cannot run {}", schemathesis.display()))?,
        Err(_) => bail!("schemathesis as {who} took longer than {RUN_LIMIT:?} and was stopped"),
    };
    if !output.status.success() {
        bail!(
            "schemathesis as {who} found answers that break the API document ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_to_every_role_matches_the_published_document() -> Result<()> {
    let (state, data) = test_state(None, Arc::new(FixedClock(CLINIC_MORNING_MS)))?;
    let server = TestServer::start_with_state(state, data).await?;
    let mut sessions = Vec::new();
    for role in ["clinician", "operations", "engineer", "admin"] {
        sessions.push((role, server.login(role).await?));
    }
    for (role, cookie) in &sessions {
        fuzz(&server, role, Some(cookie)).await?;
    }
    // Last, as its failed logins may lock this address out.
    fuzz(&server, "anonymous", None).await
}
