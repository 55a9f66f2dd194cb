//! Refreshing a session's Cognito tokens: an outage keeps the session until its tokens expire, a refusal ends it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vitals_api::Role;
use vitals_server::auth::identity::{
    AuthError, ChallengeAnswer, Identity, IdentityProvider, LoginStep, PendingChallenge, Tokens,
};
use vitals_server::config::Config;
use vitals_server::state::{AppState, Clock, ManualClock};
use vitals_server::store::TokenKey;
use vitals_server::{app, demo_sources, local_auth, state_with_auth};

/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// How long the double's tokens last, as Cognito's access tokens do by default.
const TOKEN_LIFETIME_MS: i64 = 60 * 60_000;
const TOKEN_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Stands in for Cognito: logs anyone in as an engineer and answers every refresh with `refusal`.
struct FailingRefresh {
    clock: Arc<ManualClock>,
    refusal: AuthError,
    refreshes: AtomicUsize,
}

#[async_trait]
impl IdentityProvider for FailingRefresh {
    async fn login(&self, username: &str, _password: &str) -> Result<LoginStep, AuthError> {
        Ok(LoginStep::Authenticated(Identity {
            username: username.to_owned(),
            roles: vec![Role::Engineer],
            groups: Vec::new(),
            tokens: Some(Tokens {
                id_token: "id-token".into(),
                access_token: "access-token".into(),
                refresh_token: "refresh-token".into(),
                expires_at_ms: self.clock.now_ms() + TOKEN_LIFETIME_MS,
            }),
        }))
    }

    async fn answer_challenge(
        &self,
        _pending: &PendingChallenge,
        _answer: ChallengeAnswer,
    ) -> Result<LoginStep, AuthError> {
        Err(AuthError::ChallengeExpired)
    }

    async fn refresh(&self, _identity: &Identity) -> Result<Identity, AuthError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Err(self.refusal.clone())
    }

    async fn logout(&self, _identity: &Identity) -> Result<(), AuthError> {
        Ok(())
    }
}

struct TestApp {
    state: AppState,
    clock: Arc<ManualClock>,
    provider: Arc<FailingRefresh>,
    _data: tempfile::TempDir,
}

impl TestApp {
    fn new(refusal: AuthError) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config {
            dist_dir: data.path().join("no-app"),
            data_dir: data.path().to_owned(),
            ..Config::default()
        };
        config.session.token_key = Some(TokenKey::from_base64(TOKEN_KEY).expect("the test key is valid"));
        let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
        let provider = Arc::new(FailingRefresh {
            clock: clock.clone(),
            refusal,
            refreshes: AtomicUsize::new(0),
        });
        let mut auth = local_auth(&config, clock.clone()).unwrap();
        auth.provider = Some(provider.clone());
        let sources = demo_sources(&config, clock.clone());
        let state = state_with_auth(&config, &sources, auth, clock.clone()).unwrap();
        Self {
            state,
            clock,
            provider,
            _data: data,
        }
    }

    /// `GET /api/v1/session` after `minutes` more: the status and the error code, if any.
    async fn session_after(&self, minutes: u64, cookie: &str) -> (StatusCode, Value) {
        self.clock.advance(Duration::from_secs(minutes * 60));
        let request = Request::get("/api/v1/session")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_cognito_outage_keeps_the_session_until_its_tokens_expire() {
    let server = TestApp::new(AuthError::Unavailable("Cognito could not be reached".into()));
    let cookie = common::login(&app(server.state.clone()), "ana", "password").await;
    // Every 10 minutes for 50 minutes, within the idle limit and before the refresh margin.
    for _ in 0..5 {
        let (status, body) = server.session_after(10, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(server.provider.refreshes.load(Ordering::SeqCst), 0);
    for minutes in [6, 3] {
        let (status, body) = server.session_after(minutes, &cookie).await;
        assert_eq!(status, StatusCode::OK, "tokens still valid, Cognito down: {body}");
    }
    assert_eq!(
        server.provider.refreshes.load(Ordering::SeqCst),
        2,
        "each request tried again"
    );
    let (status, body) = server.session_after(2, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "session_expired");
    let (status, _) = server.session_after(0, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the ended session stays ended");
}

#[tokio::test]
async fn a_refresh_cognito_refuses_ends_the_session_at_once() {
    let server = TestApp::new(AuthError::TokenRejected(
        "Cognito refused the refresh token".into(),
    ));
    let cookie = common::login(&app(server.state.clone()), "ana", "password").await;
    for _ in 0..5 {
        let (status, body) = server.session_after(10, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = server.session_after(6, &cookie).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "session_expired");
}
