//! The live log tail as a browser opens it: a WebSocket relaying the demo clinic's new lines while the session allows.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vitals_api::Role;
use vitals_api::TailMessage;
use vitals_server::config::Config;
use vitals_server::state::{AppState, Clock, ManualClock};
use vitals_server::store::{SessionId, SessionLookup};
use vitals_tests::{TestServer, test_config, wait_until};

/// Tuesday 2026-11-24 10:20 UTC: the tail starts in clinic hours and follows to the present.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// How long a test waits for an open tail to notice that it must close (it checks every second).
const CLOSES_WITHIN: Duration = Duration::from_secs(15);

type Tail = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The WebSocket request an engineer's browser makes: the tail URL with a new session's cookie.
async fn tail_request(server: &TestServer, query: &str) -> Result<Request> {
    let cookie = server.login("engineer").await?;
    server.tail_request(&cookie, query)
}

/// Opens a tail of the login API's lines in the session of `cookie`.
async fn open_tail(server: &TestServer, cookie: &str) -> Result<Tail> {
    let request = server.tail_request(cookie, r#"{service="login-api"}"#)?;
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// The reason of the close frame the server ends `tail` with, passing over the batches before it.
async fn close_reason(tail: &mut Tail) -> Result<String> {
    let deadline = tokio::time::Instant::now() + CLOSES_WITHIN;
    for _ in 0..10_000 {
        let message = tokio::time::timeout_at(deadline, tail.next())
            .await
            .with_context(|| format!("the tail was still open after {CLOSES_WITHIN:?}"))?;
        match message {
            Some(Ok(Message::Close(Some(frame)))) => return Ok(frame.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => bail!("the tail closed without saying why"),
            Some(Ok(_)) => {}
            Some(Err(error)) => bail!("the tail failed instead of closing: {error}"),
        }
    }
    bail!("the tail sent batch after batch without closing")
}

/// A server on the demo clinic whose clock the test moves, its configuration changed by `adjust`.
async fn server_at(clock: Arc<ManualClock>, adjust: impl FnOnce(&mut Config)) -> Result<TestServer> {
    Ok(server_and_state(clock, adjust).await?.0)
}

/// [`server_at`], and the state it serves, for a test that changes a session behind its back.
async fn server_and_state(
    clock: Arc<ManualClock>,
    adjust: impl FnOnce(&mut Config),
) -> Result<(TestServer, AppState)> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path());
    adjust(&mut config);
    let state = vitals_tests::demo_state(&config, clock)?;
    Ok((TestServer::start_with_state(state.clone(), data).await?, state))
}

/// `GET /api/v1/session` as the person at work: it keeps the session from idling out.
async fn use_session(server: &TestServer, cookie: &str) -> Result<()> {
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/session"))
        .header("cookie", cookie)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("the session answered {}", response.status());
    }
    Ok(())
}

/// The status and error code of an upgrade the server refused.
async fn refusal(request: Request) -> Result<(u16, serde_json::Value)> {
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) =
        tokio_tungstenite::connect_async(request).await
    else {
        bail!("the tail opened");
    };
    let body = serde_json::from_slice(response.body().as_deref().unwrap_or_default())?;
    Ok((response.status().as_u16(), body))
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

#[tokio::test]
async fn a_tail_closes_when_its_person_logs_out() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let cookie = server.login("engineer").await?;
    let mut tail = open_tail(&server, &cookie).await?;
    let logout = reqwest::Client::new()
        .delete(server.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-vitals-csrf", "1")
        .send()
        .await?;
    assert_eq!(logout.status(), 204);
    let reason = close_reason(&mut tail).await?;
    assert!(reason.contains("log in again"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn a_tail_closes_when_its_session_idles_out() -> Result<()> {
    let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
    let server = server_at(clock.clone(), |_| {}).await?;
    let cookie = server.login("engineer").await?;
    let mut tail = open_tail(&server, &cookie).await?;
    // Watching a tail is not working in Vitals: the session idles out meanwhile.
    clock.advance(Duration::from_secs(16 * 60));
    let reason = close_reason(&mut tail).await?;
    assert!(reason.contains("log in again"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn a_tail_closes_at_the_absolute_session_limit() -> Result<()> {
    let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
    let server = server_at(clock.clone(), |config| {
        config.session.idle_timeout = Duration::from_secs(30 * 60);
        config.session.absolute_timeout = Duration::from_secs(3_600);
        config.limits.tail_max_minutes = 120;
    })
    .await?;
    let cookie = server.login("engineer").await?;
    let mut tail = open_tail(&server, &cookie).await?;
    for _ in 0..2 {
        clock.advance(Duration::from_secs(20 * 60));
        use_session(&server, &cookie).await?;
    }
    // 61 minutes after the login, 21 after the last use: past the absolute limit only.
    clock.advance(Duration::from_secs(21 * 60));
    let reason = close_reason(&mut tail).await?;
    assert!(reason.contains("log in again"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn a_tail_closes_when_its_person_loses_the_engineer_role() -> Result<()> {
    let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
    let (server, state) = server_and_state(clock.clone(), |_| {}).await?;
    let cookie = server.login("engineer").await?;
    let mut tail = open_tail(&server, &cookie).await?;
    // What a token refresh does when an admin takes the person out of the engineer group.
    let id = cookie
        .split_once('=')
        .and_then(|(_, value)| SessionId::parse(value))
        .context("the cookie holds a session id")?;
    let sessions = &state.auth.sessions;
    let SessionLookup::Active(mut record) = sessions.load(&id, clock.now_ms(), &state.auth.policy).await?
    else {
        bail!("the session is active");
    };
    record.roles = vec![Role::Operations];
    sessions.update(&id, &record).await?;
    let reason = close_reason(&mut tail).await?;
    assert!(reason.contains("engineer role"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn a_tail_open_past_its_time_limit_closes_asking_to_reopen_it() -> Result<()> {
    let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
    let server = server_at(clock.clone(), |config| {
        config.session.idle_timeout = Duration::from_secs(120 * 60);
    })
    .await?;
    let cookie = server.login("engineer").await?;
    let mut tail = open_tail(&server, &cookie).await?;
    clock.advance(Duration::from_secs(61 * 60));
    let reason = close_reason(&mut tail).await?;
    assert!(reason.contains("reopen"), "{reason}");
    use_session(&server, &cookie).await?;
    Ok(())
}

#[tokio::test]
async fn a_fourth_tail_of_one_person_is_refused_until_one_closes() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let cookie = server.login("engineer").await?;
    let mut tails = Vec::new();
    for _ in 0..3 {
        tails.push(open_tail(&server, &cookie).await?);
    }
    let (status, body) = refusal(server.tail_request(&cookie, r#"{service="records"}"#)?).await?;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "too_many_tails");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("close another tail"), "{message}");

    let other_person = server.login("admin").await?;
    open_tail(&server, &other_person).await?;

    let mut closing = tails.pop().context("three tails are open")?;
    closing.close(None).await?;
    wait_until("the closed tail gives its place back", CLOSES_WITHIN, || async {
        open_tail(&server, &cookie).await.is_ok()
    })
    .await
}

#[tokio::test]
async fn a_tail_upgrade_from_another_site_is_refused() -> Result<()> {
    let server = TestServer::start_at(CLINIC_MORNING_MS).await?;
    let cookie = server.login("engineer").await?;
    let mut cross_site = server.tail_request(&cookie, r#"{service="records"}"#)?;
    cross_site
        .headers_mut()
        .insert("origin", "https://evil.example".parse()?);
    let (status, body) = refusal(cross_site).await?;
    assert_eq!((status, &body["error"]["code"]), (403, &"csrf".into()), "{body}");

    let mut no_origin = server.tail_request(&cookie, r#"{service="records"}"#)?;
    no_origin.headers_mut().remove("origin");
    let (status, body) = refusal(no_origin).await?;
    assert_eq!(status, 403, "{body}");
    Ok(())
}
