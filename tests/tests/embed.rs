//! The embedded status page: admins make embed links, an iframe opens the page with no cookie,
//! framed only by the link's origins; a missing, expired, revoked, changed or other page's token
//! shows nothing; 1,000 viewers at once cost one evaluation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Result, ensure};
use reqwest::header::CONTENT_SECURITY_POLICY;
use serde_json::{Value, json};
use vitals_api::clock::ManualClock;
use vitals_server::state::{AppState, Clock};
use vitals_server::status::embed_token::EmbedClaims;
use vitals_tests::{TestServer, test_config};

/// Tuesday 2026-11-24 10:20 UTC.
const NOW_MS: i64 = 1_795_515_600_000;
const VIEWERS: usize = 1_000;

async fn server() -> Result<(TestServer, AppState, Arc<ManualClock>)> {
    let data = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let config = test_config(data.path());
    let sources = vitals_server::demo_sources(&config, clock.clone());
    let state = vitals_server::build_state(&config, &sources, clock.clone() as Arc<dyn Clock>)?;
    Ok((
        TestServer::start_with_state(state.clone(), data).await?,
        state,
        clock,
    ))
}

/// Makes an embed link as admin; answers its JSON.
async fn make_link(server: &TestServer, origins: &[&str], days: u32) -> Result<Value> {
    let admin = server.client_as("admin").await?;
    let response = admin
        .post(server.url("/api/v1/embed-tokens"))
        .json(&json!({"origins": origins, "expires_in_days": days}))
        .send()
        .await?;
    ensure!(
        response.status() == 201,
        "making an embed link: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// What an iframe gets for `url`, with no cookie: status, policy, page.
async fn open(server: &TestServer, url: &str) -> Result<(u16, String, String)> {
    let response = reqwest::get(server.url(url)).await?;
    let status = response.status().as_u16();
    let policy = response
        .headers()
        .get(CONTENT_SECURITY_POLICY)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, policy, response.text().await?))
}

fn shows_status(html: &str) -> bool {
    html.contains("Patient registration") || html.contains("Logging in")
}

#[tokio::test]
async fn an_iframe_opens_the_status_with_its_token_framed_by_exactly_its_origins() -> Result<()> {
    let (server, state, clock) = server().await?;
    let made = make_link(
        &server,
        &[
            "https://intranet.hospital.example",
            "https://Intranet.Hospital.Example/",
            "https://app.clinic.example:8443",
        ],
        30,
    )
    .await?;
    let url = made["url"].as_str().unwrap_or_default().to_owned();
    ensure!(url.starts_with("/embed/status?token=v1."), "{made}");
    ensure!(
        made["token"]["origins"]
            == json!([
                "https://intranet.hospital.example",
                "https://app.clinic.example:8443"
            ]),
        "origins written as browsers compare them, once each: {made}"
    );

    let (status, policy, html) = open(&server, &url).await?;
    ensure!(status == 200 && shows_status(&html), "{status}: {html}");
    ensure!(
        policy.contains("frame-ancestors https://intranet.hospital.example https://app.clinic.example:8443;"),
        "framed by exactly the link's origins: {policy}"
    );
    for leak in ["sum(", "{service", "trace_id", "127.0.0.1", "localhost"] {
        ensure!(
            !html.contains(leak),
            "the page carries aggregates only, not {leak:?}"
        );
    }

    // Refused: no token, a changed one, another page's, a revoked one, an expired one.
    let token = url.trim_start_matches("/embed/status?token=");
    let id = made["token"]["id"].as_str().unwrap_or_default();
    let other_page = state.embed_signer.sign(&EmbedClaims {
        id: id.to_owned(),
        page: "hospital".into(),
        expires_at_s: NOW_MS / 1_000 + 86_400,
    });
    let changed = format!("{}x", &token[..token.len() - 1]);
    for refused in [
        "/embed/status".to_owned(),
        format!("/embed/status?token={changed}"),
        format!("/embed/status?token={other_page}"),
    ] {
        let (status, policy, html) = open(&server, &refused).await?;
        ensure!(status == 403 && !shows_status(&html), "{refused}: {status}");
        ensure!(html.contains("cannot be shown"), "{refused}: says so in words");
        ensure!(policy.contains("frame-ancestors 'none'"), "{refused}: {policy}");
    }

    let admin = server.client_as("admin").await?;
    let revoked = admin
        .delete(server.url(&format!("/api/v1/embed-tokens/{id}")))
        .send()
        .await?;
    ensure!(revoked.status() == 204, "revoking: {}", revoked.status());
    let (status, _, html) = open(&server, &url).await?;
    ensure!(
        status == 403 && !shows_status(&html),
        "a revoked link shows nothing"
    );

    // Every change is on the audit trail.
    let trail: Value = admin
        .get(server.url("/api/v1/audit"))
        .send()
        .await?
        .json()
        .await?;
    let actions: Vec<&str> = trail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| event["action"].as_str())
        .collect();
    ensure!(
        actions.contains(&"embed_token_create") && actions.contains(&"embed_token_revoke"),
        "{actions:?}"
    );

    let fresh = make_link(&server, &["https://intranet.hospital.example"], 1).await?;
    let fresh_url = fresh["url"].as_str().unwrap_or_default().to_owned();
    ensure!(open(&server, &fresh_url).await?.0 == 200, "a new link works");
    clock.advance(Duration::from_secs(86_400));
    let (status, _, html) = open(&server, &fresh_url).await?;
    ensure!(
        status == 403 && !shows_status(&html),
        "an expired link shows nothing"
    );

    Ok(())
}

#[tokio::test]
async fn a_thousand_viewers_at_once_cost_one_evaluation() -> Result<()> {
    let (server, state, clock) = server().await?;
    let made = make_link(&server, &["https://intranet.hospital.example"], 30).await?;
    let url = server.url(made["url"].as_str().unwrap_or_default());
    let client = reqwest::Client::new();
    let served = Arc::new(AtomicU64::new(0));
    let view = || {
        let (client, url, served) = (client.clone(), url.clone(), served.clone());
        async move {
            let response = client.get(&url).send().await?;
            if response.status() == 200 && shows_status(&response.text().await?) {
                served.fetch_add(1, Ordering::SeqCst);
            }
            anyhow::Ok(())
        }
    };
    for interval in 1..=2_u64 {
        let viewers: Vec<_> = (0..VIEWERS).map(|_| tokio::spawn(view())).collect();
        for viewer in viewers {
            viewer.await??;
        }
        ensure!(
            state.status.evaluations() == interval,
            "interval {interval}: {VIEWERS} viewers, {} evaluations",
            state.status.evaluations()
        );
        clock.advance(Duration::from_secs(30));
    }
    ensure!(
        served.load(Ordering::SeqCst) == 2 * VIEWERS as u64,
        "every viewer saw the status"
    );
    Ok(())
}
