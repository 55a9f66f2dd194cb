//! Logging in, sessions, roles and the envelope, as a browser and an attacker meet them.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vitals_server::app;
use vitals_server::config::{Config, Secret};
use vitals_server::state::{AppState, ManualClock};

/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const PASSWORD: &str = "auth-test-password";

struct TestApp {
    state: AppState,
    clock: Arc<ManualClock>,
    data: tempfile::TempDir,
}

impl TestApp {
    fn new() -> Self {
        Self::over(tempfile::tempdir().unwrap())
    }

    /// A server on an existing data folder: what a restart looks like.
    fn over(data: tempfile::TempDir) -> Self {
        Self::tuned(data, |_| {})
    }

    /// A server on `data` whose configuration `tune` changes first.
    fn tuned(data: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            dist_dir: data.path().join("no-app"),
            data_dir: data.path().to_owned(),
            demo_password: Some(Secret(PASSWORD.into())),
            ..Config::default()
        };
        tune(&mut config);
        let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
        let state = demo_state(&config, clock.clone()).unwrap();
        Self { state, clock, data }
    }

    fn router(&self) -> Router {
        app(self.state.clone())
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = self.router().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn login_attempt(&self, username: &str, password: &str) -> (StatusCode, HeaderMap, Value) {
        self.send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-vitals-csrf", "1")
                .body(Body::from(
                    json!({"username": username, "password": password}).to_string(),
                ))
                .unwrap(),
        )
        .await
    }

    /// Logs a demo user in; the `Cookie` value of the new session.
    async fn login(&self, username: &str) -> String {
        common::login(&self.router(), username, PASSWORD).await
    }

    async fn call(&self, method: Method, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("x-vitals-csrf", "1");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let body = match method {
            Method::POST => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json!({"query": "sum(login_attempts_total)", "filter": ""}).to_string())
            }
            _ => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn audit(&self, query: &str) -> Vec<Value> {
        let admin = self.login("admin").await;
        let (status, _, body) = self
            .call(Method::GET, &format!("/api/v1/audit?{query}"), Some(&admin))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().unwrap().clone()
    }
}

/// Every API route behind login, and the roles that may use it (admin may use all).
const ROUTES: &[(&str, &str, &[&str])] = &[
    ("GET", "/api/v1/status", &["clinician", "operations", "engineer"]),
    ("GET", "/api/v1/notices", &["clinician", "operations", "engineer"]),
    ("POST", "/api/v1/notices", &["operations"]),
    (
        "POST",
        "/api/v1/notices/AAAAAAAAAAAAAAAAAAAAAA/updates",
        &["operations"],
    ),
    ("GET", "/api/v1/dashboards", &["operations", "engineer"]),
    (
        "GET",
        "/api/v1/dashboards/clinic-now",
        &["operations", "engineer"],
    ),
    (
        "GET",
        "/api/v1/dashboards/clinic-now/panels/registrations",
        &["operations", "engineer"],
    ),
    ("GET", "/api/v1/slos", &["operations", "engineer"]),
    ("GET", "/api/v1/slos/logins", &["operations", "engineer"]),
    ("GET", "/api/v1/explanations", &["operations", "engineer"]),
    ("GET", "/api/v1/journeys", &["operations", "engineer"]),
    (
        "GET",
        "/api/v1/journeys/patient-visit?from=now-1h",
        &["operations", "engineer"],
    ),
    ("POST", "/api/v1/links", &["operations", "engineer"]),
    ("GET", "/api/v1/links", &["operations", "engineer"]),
    (
        "GET",
        "/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA",
        &["operations", "engineer"],
    ),
    (
        "DELETE",
        "/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA",
        &["operations", "engineer"],
    ),
    ("POST", "/api/v1/logs/query", &["engineer"]),
    ("POST", "/api/v1/logs/patterns", &["engineer"]),
    (
        "GET",
        "/api/v1/logs/tail?query=%7Bservice%3D%22records%22%7D",
        &["engineer"],
    ),
    ("GET", "/api/v1/logs/labels", &["engineer"]),
    ("GET", "/api/v1/logs/labels/service/values", &["engineer"]),
    ("POST", "/api/v1/metrics/query", &["engineer"]),
    ("GET", "/api/v1/metrics/names", &["engineer"]),
    ("POST", "/api/v1/traces/search", &["engineer"]),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef",
        &["engineer"],
    ),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef/summary",
        &["engineer"],
    ),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef/window",
        &["engineer"],
    ),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef/compare/0123456789abcdef0123456789abcdef",
        &["engineer"],
    ),
    ("GET", "/api/v1/service-map", &["engineer"]),
    ("POST", "/api/v1/reveal", &["engineer"]),
    ("GET", "/api/v1/audit", &[]),
    ("POST", "/api/v1/embed-tokens", &[]),
    ("GET", "/api/v1/embed-tokens", &[]),
    ("DELETE", "/api/v1/embed-tokens/AAAAAAAAAAAAAAAAAAAAAA", &[]),
];

/// API routes open to anyone, logged in or not.
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
];

/// Routes that take a signed token in their address instead of a session (an iframe has no cookie).
const TOKEN_ROUTES: &[(&str, &str)] = &[("GET", "/embed/status")];

/// Routes of the session itself: anyone may log in, and the session tests cover the rest.
const SESSION_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/session/challenge"),
];

/// Whether a concrete path is one of the document's, `{name}` standing for one segment.
fn matches_template(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(part, segment)| part == segment || (part.starts_with('{') && part.ends_with('}')))
}

#[tokio::test]
async fn the_role_matrix_covers_every_route_of_the_published_document() {
    let app = TestApp::new();
    let (status, _, document) = app.call(Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let covered: Vec<(&str, &str)> = ROUTES
        .iter()
        .map(|(method, path, _)| (*method, *path))
        .chain(PUBLIC_ROUTES.iter().copied())
        .chain(SESSION_ROUTES.iter().copied())
        .chain(TOKEN_ROUTES.iter().copied())
        .collect();
    let mut missing = Vec::new();
    for (template, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let known = covered
                .iter()
                .any(|(covered_method, path)| *covered_method == method && matches_template(template, path));
            if !known {
                missing.push(format!("{method} {template}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add these to ROUTES with the roles that may use them: {missing:?}"
    );
}

#[tokio::test]
async fn public_routes_answer_every_role_and_strangers() {
    let app = TestApp::new();
    let mut sessions = vec![("anonymous", None)];
    for role in ["clinician", "operations", "engineer", "admin"] {
        sessions.push((role, Some(app.login(role).await)));
    }
    for (method, path) in PUBLIC_ROUTES {
        for (who, cookie) in &sessions {
            let (status, _, body) = app.call(method.parse().unwrap(), path, cookie.as_deref()).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{who} should reach {method} {path}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn token_routes_without_a_token_show_nothing_to_anyone_and_ask_no_source() {
    let app = TestApp::new();
    let mut sessions = vec![("stranger", None)];
    for role in ["clinician", "operations", "engineer", "admin"] {
        sessions.push((role, Some(app.login(role).await)));
    }
    for (method, path) in TOKEN_ROUTES {
        for (who, cookie) in &sessions {
            let (status, _, _) = app.call(method.parse().unwrap(), path, cookie.as_deref()).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{who}: {method} {path} without a token"
            );
        }
    }
    let upstream_calls: u64 = app
        .state
        .guarded
        .stats()
        .iter()
        .map(|stats| stats.upstream_calls)
        .sum();
    assert_eq!(upstream_calls, 0, "a session is no token: no source was asked");
}

#[tokio::test]
async fn every_route_refuses_without_a_session_and_asks_no_source() {
    let app = TestApp::new();
    for (method, path, _) in ROUTES {
        let (status, _, body) = app.call(method.parse().unwrap(), path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "unauthenticated", "{method} {path}");
    }
    let upstream_calls: u64 = app
        .state
        .guarded
        .stats()
        .iter()
        .map(|stats| stats.upstream_calls)
        .sum();
    assert_eq!(upstream_calls, 0, "a refused request must not reach a source");
}

#[tokio::test]
async fn each_role_reaches_its_routes_and_only_those() {
    let app = TestApp::new();
    for role in ["clinician", "operations", "engineer", "admin"] {
        let cookie = app.login(role).await;
        for (method, path, allowed) in ROUTES {
            let may = role == "admin" || allowed.contains(&role);
            let (status, _, body) = app.call(method.parse().unwrap(), path, Some(&cookie)).await;
            if may {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role} should reach {method} {path}, got {status}: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} must not reach {method} {path}: {body}"
                );
                assert_eq!(body["error"]["code"], "wrong_role");
            }
        }
    }
}

#[tokio::test]
async fn login_sets_a_strict_host_only_cookie_with_a_new_id_each_time() {
    let app = TestApp::new();
    let (status, headers, body) = app.login_attempt("engineer", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"], "engineer");
    assert_eq!(body["roles"], json!(["engineer"]));
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    for flag in [
        "__Host-vitals=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let id = common::cookie_of(&headers);
    assert!(id.len() > "__Host-vitals=".len() + 22, "at least 128 bits: {id}");
    let again = app.login("engineer").await;
    assert_ne!(id, again, "a new id at every login");
    assert!(
        !body.to_string().contains("token"),
        "no token reaches the browser: {body}"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::new();
    let (wrong_status, _, wrong) = app.login_attempt("engineer", "not-the-password").await;
    let (unknown_status, _, unknown) = app.login_attempt("nobody", "not-the-password").await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, unknown_status);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::new();
    let cookie = app.login("operations").await;
    let (status, _, _) = app.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = app.call(Method::DELETE, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _, _) = app.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_idle_session_ends_after_fifteen_minutes() {
    let app = TestApp::new();
    let cookie = app.login("engineer").await;
    app.clock.advance(Duration::from_secs(14 * 60));
    let (status, _, body) = app.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "still within the idle limit: {body}");
    assert_eq!(body["idle_expires_at"], CLINIC_MORNING_MS + 29 * 60_000);
    app.clock.advance(Duration::from_secs(16 * 60));
    let (status, _, body) = app.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "session_expired");
    let expiries = app.audit("action=session_expired").await;
    assert_eq!(expiries.len(), 1);
    assert_eq!(expiries[0]["user"], "engineer");
}

#[tokio::test]
async fn a_page_refreshing_itself_does_not_keep_the_session_alive() {
    let app = TestApp::new();
    let cookie = app.login("operations").await;
    for _ in 0..4 {
        app.clock.advance(Duration::from_secs(4 * 60));
        let request = Request::get("/api/v1/dashboards/clinic-now/panels/registrations")
            .header(header::COOKIE, &cookie)
            .header("x-vitals-background", "1")
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = app.send(request).await;
        if status != StatusCode::OK {
            assert_eq!(body["error"]["code"], "session_expired", "{body}");
            return;
        }
    }
    panic!("sixteen minutes of background refreshes kept an unattended session alive");
}

#[tokio::test]
async fn a_busy_session_still_ends_after_twelve_hours() {
    let app = TestApp::new();
    let cookie = app.login("engineer").await;
    for _ in 0..(12 * 6 - 1) {
        app.clock.advance(Duration::from_secs(10 * 60));
        let (status, _, body) = app.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["expires_at"], CLINIC_MORNING_MS + 12 * 3_600_000);
    }
    app.clock.advance(Duration::from_secs(10 * 60));
    let (status, _, _) = app.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let first = TestApp::new();
    let cookie = first.login("operations").await;
    let TestApp { data, .. } = first;
    let second = TestApp::over(data);
    let (status, _, body) = second.call(Method::GET, "/api/v1/session", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], "operations");
}

#[tokio::test]
async fn repeated_failures_lock_the_username_with_a_wait() {
    let app = TestApp::new();
    for _ in 0..5 {
        let (status, _, _) = app.login_attempt("engineer", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = app.login_attempt("engineer", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits: {body}"
    );
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let wait: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("minutes"),
        "{body}"
    );
    app.clock.advance(Duration::from_secs(wait));
    let (status, _, _) = app.login_attempt("engineer", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn state_changes_need_the_csrf_header_and_the_same_origin() {
    let app = TestApp::new();
    let cookie = app.login("engineer").await;
    let post = |extra: &[(&str, &str)]| {
        let mut request = Request::post("/api/v1/metrics/query")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &cookie);
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request
            .body(Body::from(
                json!({"query": "sum(login_attempts_total)"}).to_string(),
            ))
            .unwrap()
    };
    let (status, _, body) = app.send(post(&[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "csrf");
    let (status, _, _) = app
        .send(post(&[("x-vitals-csrf", "1"), ("sec-fetch-site", "cross-site")]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = app
        .send(post(&[
            ("x-vitals-csrf", "1"),
            ("origin", "https://evil.example"),
            ("host", "vitals.internal"),
        ]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = app
        .send(post(&[("x-vitals-csrf", "1"), ("sec-fetch-site", "same-origin")]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logout = Request::delete("/api/v1/session")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = app.send(logout).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "logging someone out is a state change too"
    );
}

#[tokio::test]
async fn a_body_over_one_megabyte_is_a_413() {
    let app = TestApp::new();
    let cookie = app.login("engineer").await;
    let huge = json!({"query": "x".repeat(1_100_000)}).to_string();
    let request = Request::post("/api/v1/logs/query")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &cookie)
        .header("x-vitals-csrf", "1")
        .body(Body::from(huge))
        .unwrap();
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn hsts_is_sent_behind_a_tls_load_balancer() {
    let app = TestApp::new();
    let request = Request::get("/healthz")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = app.send(request).await;
    assert!(
        headers[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let (_, headers, _) = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn the_audit_trail_records_who_did_what_without_secrets() {
    let app = TestApp::new();
    app.login_attempt("engineer", "wrong-password-1").await;
    let cookie = app.login("engineer").await;
    let query = json!({"query": "{service=\"login-api\"} |= \"GetItem\"", "from": "now-15m"});
    let request = Request::post("/api/v1/logs/query")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &cookie)
        .header("x-vitals-csrf", "1")
        .body(Body::from(query.to_string()))
        .unwrap();
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    app.call(Method::DELETE, "/api/v1/session", Some(&cookie)).await;

    let events = app.audit("user=engineer").await;
    let actions: Vec<&str> = events
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    for action in ["login_failed", "login", "logs_query", "logout"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let logs_query = events
        .iter()
        .find(|event| event["action"] == "logs_query")
        .unwrap();
    assert!(
        logs_query["target"].as_str().unwrap().contains("GetItem"),
        "{logs_query}"
    );
    assert_eq!(logs_query["outcome"], "ok");
    let everything = serde_json::to_string(&app.audit("").await).unwrap();
    let session_id = cookie.trim_start_matches("__Host-vitals=");
    for secret in [PASSWORD, "wrong-password-1", session_id] {
        assert!(
            !everything.contains(secret),
            "the audit trail holds a secret: {secret}"
        );
    }
    let filtered = app.audit("action=logout").await;
    assert!(filtered.iter().all(|event| event["action"] == "logout") && !filtered.is_empty());
}

#[tokio::test]
async fn only_admins_read_the_audit_trail() {
    let app = TestApp::new();
    let engineer = app.login("engineer").await;
    let (status, _, _) = app.call(Method::GET, "/api/v1/audit", Some(&engineer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_person_calling_too_fast_gets_a_429_with_a_wait_and_others_do_not() {
    let app = TestApp::tuned(tempfile::tempdir().unwrap(), |config| {
        config.limits.api_requests_per_second = 1;
        config.limits.api_burst = 3;
    });
    let engineer = app.login("engineer").await;
    let operations = app.login("operations").await;
    for _ in 0..3 {
        let (status, _, body) = app.call(Method::GET, "/api/v1/dashboards", Some(&engineer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = app.call(Method::GET, "/api/v1/dashboards", Some(&engineer)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_requests");
    assert_eq!(headers[header::RETRY_AFTER], "1");
    let (status, _, _) = app
        .call(Method::GET, "/api/v1/dashboards", Some(&operations))
        .await;
    assert_eq!(status, StatusCode::OK, "another person has their own allowance");
    app.clock.advance(Duration::from_secs(1));
    let (status, _, _) = app.call(Method::GET, "/api/v1/dashboards", Some(&engineer)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a second later the next request goes through"
    );
}

/// A server on the demo clinic, the server and the clinic both reading "now" from `clock`.
fn demo_state(
    config: &vitals_server::config::Config,
    clock: std::sync::Arc<dyn vitals_server::state::Clock>,
) -> anyhow::Result<vitals_server::state::AppState> {
    vitals_server::build_state(config, &vitals_server::demo_sources(config, clock.clone()), clock)
}
