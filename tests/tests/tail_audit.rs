//! The live tail in the audit trail: opening one is recorded as what it is, before it opens.

use std::sync::Arc;

use anyhow::{Result, ensure};
use serde_json::Value;
use vitals_api::AuditAction;
use vitals_server::state::FixedClock;
use vitals_tests::{TestServer, test_state};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

#[tokio::test]
async fn an_opened_tail_is_recorded_as_a_tail_that_succeeded() -> Result<()> {
    let (state, data) = test_state(None, Arc::new(FixedClock(CLINIC_MORNING_MS)))?;
    let server = TestServer::start_with_state(state, data).await?;
    let cookie = server.login("engineer").await?;
    let request = server.tail_request(&cookie, r#"{service="records"}"#)?;
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await?;
    ensure!(response.status() == 101, "{}", response.status());

    // The entry was stored before the 101 left the server: no waiting for it here.
    let admin = server.client_as("admin").await?;
    let page: Value = admin
        .get(server.url(&format!("/api/v1/audit?action={}", AuditAction::LogsTail)))
        .send()
        .await?
        .json()
        .await?;
    let entries = page["events"].as_array().cloned().unwrap_or_default();
    ensure!(entries.len() == 1, "{page}");
    ensure!(entries[0]["user"] == "engineer", "{page}");
    ensure!(entries[0]["outcome"] == "ok", "{page}");
    ensure!(
        entries[0]["target"] == "/api/v1/logs/tail {service=\"records\"}",
        "{page}"
    );
    socket.close(None).await?;
    Ok(())
}
