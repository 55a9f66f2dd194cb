//! The guardrails as a browser meets them: Vitals in front of a recorded Loki that hangs, dies, fails or floods.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vitals_server::config::{Config, LokiConfig, Secret};
use vitals_server::state::{Clock, FixedClock};
use vitals_server::{app, build_state, configured_sources};

/// Tuesday 2026-11-24 10:20 UTC, in clinic hours: "now" for every server of these tests.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const QUERY_RANGE: &str = "/loki/api/v1/query_range";

/// Loki's real answer to `{service="patient-registration"}`: 100 lines.
fn recorded_streams() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/loki/query_range_streams_selector.json"
    ))
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["body"].clone()
}

/// Vitals with its logs from Loki at `loki_url` and quick guardrails.
async fn vitals_in_front_of(loki_url: &str, tune: impl FnOnce(&mut Config)) -> Vitals {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: data.path().to_owned(),
        demo_password: Some(Secret(DEMO_PASSWORD.into())),
        loki: Some(LokiConfig {
            url: loki_url.parse().expect("a test URL"),
            tenant: None,
        }),
        ..Config::default()
    };
    config.guard.timeout_ms = 300;
    config.guard.breaker_failures = 3;
    config.guard.breaker_cooldown_ms = 200;
    tune(&mut config);
    config.validate().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(CLINIC_MORNING_MS));
    let sources = configured_sources(&config, clock.clone()).await.unwrap();
    let router = app(build_state(&config, &sources, clock).unwrap());
    let cookie = common::login(&router, "engineer", DEMO_PASSWORD).await;
    Vitals {
        router,
        cookie,
        _data: data,
    }
}

/// Vitals in front of the test's Loki, with an engineer logged in.
struct Vitals {
    router: Router,
    cookie: String,
    _data: tempfile::TempDir,
}

const DEMO_PASSWORD: &str = "guardrails-test-password";

fn log_query(query: &str) -> Request<Body> {
    let body =
        serde_json::json!({"query": query, "from": "2026-11-24T21:00:00Z", "to": "2026-11-24T23:00:00Z"});
    Request::post("/api/v1/logs/query")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, "theme=secret-session")
        .header(header::AUTHORIZATION, "Bearer secret-token")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn send(vitals: &Vitals, mut request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let cookie = format!(
        "{}; {}",
        request
            .headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("a=b"),
        vitals.cookie
    );
    request
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("x-vitals-csrf", "1".parse().unwrap());
    let response = vitals.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn hung_loki_is_a_504_within_the_timeout() {
    let loki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(recorded_streams())
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&loki)
        .await;
    let vitals = vitals_in_front_of(&loki.uri(), |_| {}).await;
    let started = Instant::now();
    let (status, _, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Loki"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dead_loki_is_a_502_naming_loki() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vitals = vitals_in_front_of(&format!("http://127.0.0.1:{port}"), |_| {}).await;
    let (status, _, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Loki"), "{message}");
    assert!(
        !message.contains(&port.to_string()),
        "the upstream address must not reach the browser: {message}"
    );
}

#[tokio::test]
async fn breaker_opens_after_failures_and_closes_when_loki_recovers() {
    let loki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(ResponseTemplate::new(500).set_body_string("too many outstanding requests"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&loki)
        .await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded_streams()))
        .with_priority(2)
        .mount(&loki)
        .await;
    let vitals = vitals_in_front_of(&loki.uri(), |config| config.guard.cache_ttl_ms = 0).await;
    for _ in 0..3 {
        let (status, _, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    }
    let calls_before = loki.received_requests().await.unwrap().len();
    let (status, headers, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "source_resting");
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        loki.received_requests().await.unwrap().len(),
        calls_before,
        "an open breaker calls nobody"
    );

    // After the cool-down one test query goes through, finds Loki well, and the breaker closes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
        if status == StatusCode::OK {
            assert_eq!(body["lines"].as_array().unwrap().len(), 100);
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(Instant::now() < deadline, "the breaker did not close within 5 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn fifty_identical_queries_make_one_upstream_call() {
    let loki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(recorded_streams())
                .set_delay(Duration::from_millis(150)),
        )
        .expect(1)
        .mount(&loki)
        .await;
    let vitals = vitals_in_front_of(&loki.uri(), |_| {}).await;
    let answers = futures::future::join_all(
        (0..50).map(|_| send(&vitals, log_query(r#"{service="patient-registration"}"#))),
    )
    .await;
    for (status, _, body) in answers {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["lines"].as_array().unwrap().len(), 100);
    }
    loki.verify().await;
}

#[tokio::test]
async fn browser_cookies_and_authorization_never_reach_loki() {
    let loki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded_streams()))
        .mount(&loki)
        .await;
    let vitals = vitals_in_front_of(&loki.uri(), |_| {}).await;
    let (status, _, _) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    let requests = loki.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    for name in ["cookie", "authorization", "x-scope-orgid"] {
        assert!(!requests[0].headers.contains_key(name), "{name} reached Loki");
    }
    let sent = format!("{:?}", requests[0]);
    assert!(
        !sent.contains("secret-session") && !sent.contains("secret-token"),
        "{sent}"
    );
}

#[tokio::test]
async fn oversize_answer_is_refused_with_the_limit() {
    let loki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded_streams()))
        .mount(&loki)
        .await;
    let vitals = vitals_in_front_of(&loki.uri(), |config| config.guard.max_log_lines = 20).await;
    let (status, _, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("20"), "the message names the limit: {message}");
}

#[tokio::test]
async fn range_longer_than_allowed_is_refused_before_loki_is_asked() {
    let loki = MockServer::start().await;
    let vitals = vitals_in_front_of(&loki.uri(), |config| config.guard.max_range_days = 7).await;
    let body = serde_json::json!({"query": r#"{service="records"}"#, "from": "now-30d"});
    let request = Request::post("/api/v1/logs/query")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, body) = send(&vitals, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "range_too_long");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("7 days"),
        "{body}"
    );
    assert!(loki.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn lokis_error_words_reach_the_browser_masked() {
    let loki = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(QUERY_RANGE))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "message": r#"parse error at line 1: unexpected patient_name="Jane Doe" near jane.doe@example.org"#
        })))
        .mount(&loki)
        .await;
    let vitals = vitals_in_front_of(&loki.uri(), |_| {}).await;
    let (status, _, body) = send(&vitals, log_query(r#"{service="patient-registration"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "Loki cannot run this query: parse error at line 1: unexpected patient_name=[redacted] near [email]"
    );
}
