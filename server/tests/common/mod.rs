//! What the server's integration tests share: logging a demo user in and calling the API as them.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vitals_server::config::{Config, Secret};
use vitals_server::state::ManualClock;
use vitals_server::{app, demo_sources, local_auth, state_with_auth};

/// The `Cookie` value of the session a login answer set.
pub fn cookie_of(headers: &HeaderMap) -> String {
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Logs `username` in as the browser app does; the `Cookie` value of the new session.
pub async fn login(router: &Router, username: &str, password: &str) -> String {
    let request = Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-vitals-csrf", "1")
        .body(Body::from(
            serde_json::json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "logging in as {username}");
    cookie_of(response.headers())
}

/// Calls the API as the browser app does, with the session `cookie`; the status and the JSON
/// answer (`null` when the body is not JSON).
#[allow(dead_code, reason = "not every test file calls the API beyond logging in")]
pub async fn call(
    router: &Router,
    method: Method,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header("x-vitals-csrf", "1");
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A server on the demo clinic with its demo users, whose clock starts at `now_ms`.
#[allow(dead_code, reason = "not every test file starts its server this way")]
pub struct DemoServer {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub password: &'static str,
    _data: tempfile::TempDir,
}

#[allow(dead_code, reason = "not every test file starts its server this way")]
impl DemoServer {
    pub fn start(password: &'static str, now_ms: i64) -> Self {
        Self::start_with(password, now_ms, |_| {})
    }

    /// A demo server whose configuration `configure` changes first.
    pub fn start_with(password: &'static str, now_ms: i64, configure: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config {
            dist_dir: data.path().join("no-app"),
            data_dir: data.path().to_owned(),
            demo_password: Some(Secret(password.into())),
            ..Config::default()
        };
        configure(&mut config);
        config.validate().unwrap();
        let clock = Arc::new(ManualClock::new(now_ms));
        let auth = local_auth(&config, clock.clone()).unwrap();
        let state = state_with_auth(
            &config,
            &demo_sources(&config, clock.clone()),
            auth,
            clock.clone(),
        )
        .unwrap();
        Self {
            router: app(state),
            clock,
            password,
            _data: data,
        }
    }

    /// Where the server keeps its store.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// The `Cookie` value of a new session of the demo user `user`.
    pub async fn login(&self, user: &str) -> String {
        login(&self.router, user, self.password).await
    }

    pub async fn get(&self, path: &str, cookie: &str) -> (StatusCode, Value) {
        call(&self.router, Method::GET, path, cookie, None).await
    }
}
