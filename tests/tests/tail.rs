//! The live log tail as a browser opens it: a WebSocket relaying the demo clinic's new lines.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use vitals_api::TailMessage;
use vitals_tests::TestServer;

/// Tuesday 2026-11-24 10:20 UTC: the tail starts in clinic hours and follows to the present.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

/// The WebSocket request an engineer's browser makes: the tail URL with the session cookie.
async fn tail_request(server: &TestServer, query: &str) -> Result<Request> {
    let query: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let url = format!(
        "ws://{}/api/v1/logs/tail?query={query}&from=now-10m&limit=20",
        server.address
    );
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", server.login("engineer").await?.parse()?);
    Ok(request)
}

#[tokio::test]
async fn tail_relays_batches_of_new_lines() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(tail_request(&server, r#"{service="login-api"}"#).await?).await?;
    let mut lines = Vec::new();
    for _ in 0..2 {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .context("no batch within 15 s")?
            .context("the tail closed")??;
        let Message::Text(text) = message else {
            bail!("expected a text message, got {message:?}");
        };
        match serde_json::from_str::<TailMessage>(&text)? {
            TailMessage::Lines { lines: batch } => {
                assert!(!batch.is_empty() && batch.len() <= 20, "{} lines", batch.len());
                lines.extend(batch);
            }
            TailMessage::Error { error } => bail!("the tail failed: {}", error.message),
        }
    }
    assert!(lines.iter().all(|line| line.labels["service"] == "login-api"));
    assert!(
        lines.windows(2).all(|pair| pair[0].time <= pair[1].time),
        "oldest first"
    );
    socket.close(None).await?;
    Ok(())
}

#[tokio::test]
async fn wrong_tail_query_is_refused_before_the_upgrade() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) =
        tokio_tungstenite::connect_async(tail_request(&server, r#"{service="login-api""#).await?).await
    else {
        bail!("an unclosed selector must not open a tail");
    };
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default())?;
    assert_eq!(body["error"]["code"], "bad_query");
    Ok(())
}
