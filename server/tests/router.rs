//! The public and admin routers, called in-process with `oneshot`: no port, no sleep.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vitals_server::config::{Config, Secret};
use vitals_server::state::{AppState, FixedClock};
use vitals_server::{admin_app, app};

/// Tuesday 2026-11-24 10:20 UTC, in clinic hours.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const INDEX_HTML: &str = "<!doctype html><html><head><script type=\"module\">import init from '/app.js'; init();</script></head><body></body></html>";
const ENGINEERING_HTML: &str = "<!doctype html><html><head><script type=\"module\">import init from '/eng.js'; init();</script></head><body></body></html>";
const MANAGE_HTML: &str = "<!doctype html><html><head><script type=\"module\">import init from '/manage.js'; init();</script></head><body></body></html>";
const INSIGHTS_HTML: &str = "<!doctype html><html><head><script type=\"module\">import init from '/insights.js'; init();</script></head><body></body></html>";
const HASHED_WASM: &str = "vitals-frontend-0123456789abcdef_bg.wasm";

/// A server over a small fake build of the app, with the clock fixed in clinic hours,
/// and an engineer logged in: every request it sends carries that session.
struct TestApp {
    state: AppState,
    cookie: String,
    _dist: tempfile::TempDir,
}

const DEMO_PASSWORD: &str = "router-test-password";

impl TestApp {
    async fn new() -> Self {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), INDEX_HTML).unwrap();
        std::fs::write(dist.path().join("engineering.html"), ENGINEERING_HTML).unwrap();
        std::fs::write(dist.path().join("manage.html"), MANAGE_HTML).unwrap();
        std::fs::write(dist.path().join("insights.html"), INSIGHTS_HTML).unwrap();
        std::fs::write(dist.path().join(HASHED_WASM), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dist.path().join("robots.txt"), "User-agent: *\nDisallow: /\n").unwrap();
        Self::with_dist(dist).await
    }

    async fn with_dist(dist: tempfile::TempDir) -> Self {
        let config = Config {
            dist_dir: dist.path().to_owned(),
            data_dir: dist.path().join("data"),
            demo_password: Some(Secret(DEMO_PASSWORD.into())),
            ..Config::default()
        };
        let state = demo_state(&config, Arc::new(FixedClock(CLINIC_MORNING_MS))).unwrap();
        let cookie = common::login(&app(state.clone()), "engineer", DEMO_PASSWORD).await;
        Self {
            state,
            cookie,
            _dist: dist,
        }
    }

    fn router(&self) -> Router {
        app(self.state.clone())
    }

    async fn get(&self, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let request = Request::get(path)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        send(self.router(), request).await
    }

    async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &self.cookie)
            .header("x-vitals-csrf", "1")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, _, body) = send(self.router(), request).await;
        (status, serde_json::from_slice(&body).unwrap())
    }
}

async fn send(router: Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn client_routes_answer_the_app_with_200() {
    let app = TestApp::new().await;
    for path in [
        "/",
        "/dashboards",
        "/dashboards/patient-registrations",
        "/s/AAAAAAAAAAAAAAAAAAAAAA",
        "/status",
        "/login",
    ] {
        let (status, headers, body) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, INDEX_HTML.as_bytes(), "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_engineering_notices_admin_and_insights_areas_answer_their_own_apps_allowed_by_the_same_policy() {
    let app = TestApp::new().await;
    for (path, html) in [
        ("/engineering", ENGINEERING_HTML),
        ("/engineering/traces/abc", ENGINEERING_HTML),
        ("/engineering/logs", ENGINEERING_HTML),
        ("/notices", MANAGE_HTML),
        ("/admin", MANAGE_HTML),
        ("/admin/audit", MANAGE_HTML),
        ("/insights", INSIGHTS_HTML),
        ("/insights/slos", INSIGHTS_HTML),
        ("/insights/journeys/registration", INSIGHTS_HTML),
    ] {
        let (status, headers, body) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, html.as_bytes(), "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        // Every page's inline loader, by hash, and nothing inline besides.
        assert_eq!(policy.matches("'sha256-").count(), 4, "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }
    let (_, _, body) = app.get("/engineering-notes").await;
    assert_eq!(
        body,
        INDEX_HTML.as_bytes(),
        "only the area's own paths are the engineering app"
    );
}

#[tokio::test]
async fn unknown_page_gets_the_app_with_a_real_404() {
    let (status, _, body) = TestApp::new().await.get("/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, INDEX_HTML.as_bytes());
}

#[tokio::test]
async fn missing_asset_is_a_plain_404() {
    let (status, headers, body) = TestApp::new()
        .await
        .get("/vitals-frontend-ffffffffffffffff_bg.wasm")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_ne!(body, INDEX_HTML.as_bytes());
}

#[tokio::test]
async fn hashed_wasm_is_immutable_and_typed_as_wasm() {
    let (status, headers, _) = TestApp::new().await.get(&format!("/{HASHED_WASM}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn unhashed_file_must_be_revalidated() {
    let (status, headers, _) = TestApp::new().await.get("/robots.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

#[tokio::test]
async fn precompressed_asset_is_served_brotli_when_accepted() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), INDEX_HTML).unwrap();
    std::fs::write(dist.path().join("style-0123456789abcdef.css"), "body{}").unwrap();
    std::fs::write(dist.path().join("style-0123456789abcdef.css.br"), b"brotli bytes").unwrap();
    let app = TestApp::with_dist(dist).await;
    let request = Request::get("/style-0123456789abcdef.css")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(app.router(), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert_eq!(body, b"brotli bytes");
}

#[tokio::test]
async fn traversal_does_not_leave_the_dist_folder() {
    let app = TestApp::new().await;
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fetc/passwd.txt",
    ] {
        let (status, _, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("[workspace]"), "{path}");
    }
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404() {
    let (status, headers, body) = TestApp::new().await.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let body = json(&body);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nothing-here")
    );
}

#[tokio::test]
async fn a_malformed_query_string_is_a_json_400() {
    let (status, headers, body) = TestApp::new()
        .await
        .get("/api/v1/logs/tail?query=%7Bservice%3D%22api%22%7D&limit=lots")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let body = json(&body);
    assert_eq!(body["error"]["code"], "invalid_query_string");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("limit"),
        "{body}"
    );
}

#[tokio::test]
async fn path_and_upgrade_errors_are_json_400s() {
    let app = TestApp::new().await;
    for (path, code) in [
        ("/api/v1/traces/%FF%FE", "invalid_path"),
        (
            "/api/v1/logs/tail?query=%7Bservice%3D%22api%22%7D",
            "not_a_websocket",
        ),
    ] {
        let (status, headers, body) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{path}");
        assert_eq!(json(&body)["error"]["code"], code, "{path}");
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::new().await;
    for path in ["/", "/api/v1/dashboards", "/healthz"] {
        let (_, headers, _) = app.get(path).await;
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("script-src 'self' 'sha256-"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert!(headers.contains_key("x-request-id"), "{path}");
    }
    let (_, headers, _) = app.get("/api/v1/dashboards").await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn a_refused_cross_site_request_carries_the_security_headers_too() {
    let app = TestApp::new().await;
    let request = Request::post("/api/v1/metrics/query")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &app.cookie)
        .body(Body::from(r#"{"query": "up"}"#))
        .unwrap();
    let (status, headers, body) = send(app.router(), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json(&body)["error"]["code"], "csrf");
    assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
}

#[tokio::test]
async fn health_and_readiness_list_each_source() {
    let app = TestApp::new().await;
    let (status, _, body) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"ok\n");
    let (status, _, body) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let readiness = json(&body);
    assert_eq!(readiness["status"], "ready");
    let signals: Vec<&str> = readiness["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|source| {
            assert_eq!(source["backend"], "demo");
            assert_eq!(source["state"], "up");
            source["signal"].as_str().unwrap()
        })
        .collect();
    assert_eq!(signals, ["logs", "metrics", "traces"]);
}

#[tokio::test]
async fn admin_listener_exposes_metrics_of_the_public_one() {
    let app = TestApp::new().await;
    app.get("/healthz").await;
    // Two looks at the status within one interval: one evaluation.
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/status").await.0, StatusCode::OK);
    }
    // The engineer's login is the one audit entry so far.
    app.state.auth.audit.flush().await;
    let (status, headers, body) = send(
        admin_app(app.state.clone()),
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("openmetrics")
    );
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("vitals_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("vitals_audit_entries_written_total 1"), "{text}");
    assert!(text.contains("vitals_audit_entries_lost_total 0"), "{text}");
    assert!(text.contains("vitals_status_evaluations_total 1"), "{text}");
    let (status, _, _) = send(
        admin_app(app.state.clone()),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn missing_build_says_how_to_build() {
    let app = TestApp::with_dist(tempfile::tempdir().unwrap()).await;
    let (status, _, body) = app.get("/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&body).contains("cargo xtask run"));
}

#[tokio::test]
async fn home_panels_answer_numbers_and_sentences() {
    let app = TestApp::new().await;
    let (status, _, body) = app
        .get("/api/v1/dashboards/clinic-now/panels/registrations")
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let panel = json(&body);
    assert!(panel["value"].as_f64().unwrap() > 0.0, "{panel}");
    assert!(
        panel["sentence"]
            .as_str()
            .unwrap()
            .contains("registered in the last hour"),
        "{panel}"
    );
    assert!(
        panel["series"][0]["points"].as_array().unwrap().len() >= 30,
        "six hours at ten minutes: {panel}"
    );
    assert_eq!(panel["generated_at"], CLINIC_MORNING_MS);

    let (status, _, body) = app
        .get("/api/v1/dashboards/clinic-now/panels/login-success")
        .await;
    assert_eq!(status, StatusCode::OK);
    let panel = json(&body);
    let ratio = panel["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ratio), "{panel}");
    assert_eq!(panel["unit"], "ratio");
}

#[tokio::test]
async fn unknown_panel_is_a_json_404() {
    let (status, _, body) = TestApp::new()
        .await
        .get("/api/v1/dashboards/clinic-now/panels/nope")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json(&body)["error"]["message"].as_str().unwrap().contains("nope"));
}

#[tokio::test]
async fn unsupported_query_is_a_400_that_names_the_part() {
    let app = TestApp::new().await;
    let (status, body) = app
        .post_json(
            "/api/v1/metrics/query",
            serde_json::json!({"query": "topk(3, login_attempts_total)"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_query");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("topk"),
        "{body}"
    );
}

#[tokio::test]
async fn metric_query_over_the_demo_answers_a_matrix() {
    let (status, body) = TestApp::new()
        .await
        .post_json(
            "/api/v1/metrics/query",
            serde_json::json!({"query": "sum by (clinic) (increase(patient_registrations_total[1h]))",
                               "from": "now-3h", "to": "now", "step": "30m"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result_type"], "matrix");
    assert_eq!(body["step_seconds"], 1800.0);
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 3, "one series per clinic: {body}");
    assert!(
        series.iter().all(|s| s["points"].as_array().unwrap().len() == 7),
        "{body}"
    );
}

#[tokio::test]
async fn log_query_answers_lines_with_labels() {
    let (status, body) = TestApp::new()
        .await
        .post_json(
            "/api/v1/logs/query",
            serde_json::json!({"query": "{service=\"login-api\"}", "from": "now-15m", "limit": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result_type"], "streams");
    let lines = body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 20);
    assert!(lines.iter().all(|line| line["labels"]["service"] == "login-api"));
}

#[tokio::test]
async fn bad_body_and_times_get_clear_errors() {
    let app = TestApp::new().await;
    let (status, body) = app
        .post_json("/api/v1/logs/query", serde_json::json!({"qurey": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("query"),
        "{body}"
    );

    let (status, body) = app
        .post_json(
            "/api/v1/logs/query",
            serde_json::json!({"query": "{service=\"records\"}", "from": "last tuesday"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_time");

    let request = Request::post("/api/v1/metrics/query")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::COOKIE, &app.cookie)
        .header("x-vitals-csrf", "1")
        .body(Body::from("sum(up)"))
        .unwrap();
    let (status, _, body) = send(app.router(), request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json(&body)["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn traces_and_service_map_answer_from_the_demo() {
    let app = TestApp::new().await;
    let (status, body) = app
        .post_json(
            "/api/v1/traces/search",
            serde_json::json!({"from": "now-10m", "limit": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let traces = body["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 5);
    let id = traces[0]["trace_id"].as_str().unwrap();
    let (status, _, body) = app.get(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let trace = json(&body);
    assert_eq!(trace["trace_id"], id);
    assert!(!trace["spans"].as_array().unwrap().is_empty());

    let (status, _, body) = app.get("/api/v1/service-map?from=now-1h").await;
    assert_eq!(status, StatusCode::OK);
    let map = json(&body);
    let nodes: Vec<&str> = map["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    for service in ["patient-registration", "appointments", "login-api", "records"] {
        assert!(nodes.contains(&service), "{service} missing from {nodes:?}");
    }
}

#[test]
fn broken_config_file_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitals.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:8080\"\n[demo]\nfailure_window = []\n",
    )
    .unwrap();
    let err = Config::load(Some(Path::new(&path)), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("failure_window"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[tokio::test]
async fn large_api_answers_are_compressed_and_small_ones_are_not() {
    let app = TestApp::new().await;
    let logs = Request::post("/api/v1/logs/query")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &app.cookie)
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .header("x-vitals-csrf", "1")
        .body(Body::from(
            serde_json::json!({"query": "{env=\"prod\"}", "from": "now-1h", "limit": 200}).to_string(),
        ))
        .unwrap();
    let (status, headers, _) = send(app.router(), logs).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "br");

    let small = Request::get("/api/v1/session")
        .header(header::COOKIE, &app.cookie)
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(app.router(), small).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !headers.contains_key(header::CONTENT_ENCODING),
        "{} bytes",
        body.len()
    );
}

#[tokio::test]
async fn deeply_nested_queries_are_a_400_for_logs_metrics_and_traces() {
    let app = TestApp::new().await;
    for depth in [5_000, 10_000] {
        let deep = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        for (path, body) in [
            ("/api/v1/logs/query", serde_json::json!({ "query": deep })),
            ("/api/v1/metrics/query", serde_json::json!({ "query": deep })),
            ("/api/v1/traces/search", serde_json::json!({ "filter": deep })),
        ] {
            let (status, body) = app.post_json(path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {depth}: {body}");
            assert_eq!(body["error"]["code"], "bad_query", "{path} {depth}");
            let message = body["error"]["message"].as_str().unwrap();
            // X-Ray takes filters of 2,000 characters at most, so a deep one is first too long.
            assert!(
                message.contains("split it into several queries")
                    || message.contains("above the limit of 2000; shorten it"),
                "{message}"
            );
        }
    }
}

#[tokio::test]
async fn overflowing_ranges_and_steps_are_a_400() {
    let app = TestApp::new().await;
    for (body, code) in [
        (
            serde_json::json!({"query": "up", "from": "now-99999999999d"}),
            "invalid_time",
        ),
        (
            serde_json::json!({"query": "up", "to": "now+9223372036854775807ms"}),
            "invalid_time",
        ),
        (
            serde_json::json!({"query": "up", "from": "1e300", "to": "now"}),
            "invalid_time",
        ),
        (
            serde_json::json!({"query": "up", "from": "now", "to": "now-1h"}),
            "invalid_time",
        ),
        (
            serde_json::json!({"query": "up", "from": "now-1h", "step": 1e300}),
            "invalid_step",
        ),
    ] {
        let (status, answer) = app.post_json("/api/v1/metrics/query", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}");
    }
    let (status, _, body) = app.get("/api/v1/service-map?from=now-99999999999d").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"]["code"], "invalid_time");
}

#[tokio::test]
async fn every_api_answer_is_no_store_refusals_included() {
    let app = TestApp::new().await;
    let logged_out = |request: axum::http::request::Builder| request;
    let logged_in =
        |request: axum::http::request::Builder| request.header(header::COOKIE, app.cookie.as_str());
    let with_csrf = |request: axum::http::request::Builder| {
        request
            .header(header::COOKIE, app.cookie.as_str())
            .header("x-vitals-csrf", "1")
    };
    let json_body = || Body::from(r#"{"query": "up"}"#);
    let cases: Vec<(Request<Body>, StatusCode)> = vec![
        (
            logged_in(Request::get("/api/v1/dashboards"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::OK,
        ),
        (
            logged_in(Request::get("/api/v1/nothing-here"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            logged_in(Request::get("/api")).body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            logged_out(Request::get("/api/v1/dashboards"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            logged_in(Request::get("/api/v1/audit"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            logged_in(Request::post("/api/v1/metrics/query"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            with_csrf(Request::put("/api/v1/metrics/query"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            with_csrf(Request::post("/api/v1/metrics/query"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(vec![b' '; vitals_server::MAX_BODY_BYTES + 1]))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            with_csrf(Request::post("/api/v1/metrics/query"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(json_body())
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            with_csrf(Request::post("/api/v1/metrics/query"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"query": "up", "from": "now", "to": "now-1h"}"#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (request, expected) in cases {
        let described = format!("{} {}", request.method(), request.uri());
        let (status, headers, _) = send(app.router(), request).await;
        assert_eq!(status, expected, "{described}");
        assert_eq!(
            headers
                .get(header::CACHE_CONTROL)
                .map(|value| value.to_str().unwrap()),
            Some("no-store"),
            "{described}"
        );
    }
}

#[test]
fn demo_users_are_refused_on_a_listener_off_loopback_even_without_validation() {
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "0.0.0.0:8080".parse().unwrap(),
        data_dir: data.path().to_owned(),
        demo_password: Some(Secret(DEMO_PASSWORD.into())),
        ..Config::default()
    };
    let error = demo_state(&config, Arc::new(FixedClock(CLINIC_MORNING_MS)))
        .err()
        .expect("demo users off loopback are refused")
        .to_string();
    assert!(error.contains("VITALS_LISTEN is 0.0.0.0:8080"), "{error}");
}

/// The shapes of answers the browser app and other clients read, snapshotted on the demo
/// clinic at a fixed instant: a renamed or dropped field shows up as a diff to review
/// (`cargo insta review`, or `INSTA_UPDATE=always` and read the `.snap` diff).
#[tokio::test]
async fn answer_shapes_stay_as_clients_read_them() {
    let app = TestApp::new().await;
    let (status, metrics) = app
        .post_json(
            "/api/v1/metrics/query",
            serde_json::json!({"query": "sum by (clinic) (increase(patient_registrations_total[1h]))",
                               "from": "now-2h", "to": "now", "step": "1h"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
    insta::assert_json_snapshot!("metric_range_answer", metrics);

    let (status, traces) = app
        .post_json(
            "/api/v1/traces/search",
            serde_json::json!({"from": "now-5m", "limit": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{traces}");
    insta::assert_json_snapshot!("trace_search_answer", traces);

    let (status, refusal) = app
        .post_json(
            "/api/v1/logs/query",
            serde_json::json!({"query": "{service=\"login-api\"", "from": "now-5m"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refusal}");
    insta::assert_json_snapshot!("bad_query_answer", refusal);

    let (status, _, session) = app.get("/api/v1/session").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("session_answer", json(&session));
}

/// A server on the demo clinic, the server and the clinic both reading "now" from `clock`.
fn demo_state(
    config: &vitals_server::config::Config,
    clock: std::sync::Arc<dyn vitals_server::state::Clock>,
) -> anyhow::Result<vitals_server::state::AppState> {
    vitals_server::build_state(config, &vitals_server::demo_sources(config, clock.clone()), clock)
}

#[tokio::test]
async fn trace_search_fields_reach_the_source_as_the_filter_they_mean() {
    let app = TestApp::new().await;
    let search = |body: serde_json::Value| app.post_json("/api/v1/traces/search", body);
    let (status, all) = search(serde_json::json!({"from": "now-1h", "limit": 200})).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let (status, faults) = search(serde_json::json!({
        "from": "now-1h", "limit": 200, "service": "login-api", "status": "error", "filter": "responsetime > 0"
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{faults}");
    let (all, faults) = (
        all["traces"].as_array().unwrap(),
        faults["traces"].as_array().unwrap(),
    );
    assert!(
        !faults.is_empty() && faults.len() < all.len(),
        "the fields narrow the search: {} of {}",
        faults.len(),
        all.len()
    );
    for trace in faults {
        assert_eq!(trace["status"], "error", "{trace}");
        let services: Vec<&str> = trace["services"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert!(services.contains(&"login-api"), "{trace}");
    }

    for (body, says) in [
        (serde_json::json!({"service": "login\"api"}), "service name"),
        (
            serde_json::json!({"min_duration_s": 2.0, "max_duration_s": 1.0}),
            "swap them",
        ),
        (
            serde_json::json!({"annotations": {"bad key": "x"}}),
            "annotation key",
        ),
    ] {
        let (status, answer) = search(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_query");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
}
