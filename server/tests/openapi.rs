//! The published OpenAPI document: the committed copy is what the server serves, and the
//! document and the router name the same operations.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vitals_server::app;
use vitals_server::config::{Config, LimitConfig, Secret};
use vitals_server::state::FixedClock;

/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// Set to `1` to rewrite the committed document from the routes.
const UPDATE_VARIABLE: &str = "VITALS_UPDATE_OPENAPI";
const PASSWORD: &str = "openapi-test-password";
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

fn router(data: &tempfile::TempDir) -> Router {
    let config = Config {
        dist_dir: data.path().join("no-app"),
        data_dir: data.path().to_owned(),
        demo_password: Some(Secret(PASSWORD.into())),
        // A hundred probes in a row are no abuse; the per-person limit has its own tests.
        limits: LimitConfig {
            api_requests_per_second: 10_000,
            api_burst: 10_000,
            ..LimitConfig::default()
        },
        ..Config::default()
    };
    app(demo_state(&config, Arc::new(FixedClock(CLINIC_MORNING_MS))).unwrap())
}

fn committed_copy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/openapi.json")
}

/// Sends `method path` as an admin just logged in (the role gate answers before the router
/// looks at the method, and a logout must not end the next probe's session), with the CSRF
/// header so that state changes reach the router; the status and the body.
async fn send(router: &Router, method: Method, path: &str) -> (StatusCode, Vec<u8>) {
    let body = if method == Method::GET {
        Body::empty()
    } else {
        Body::from("{}")
    };
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, common::login(router, "admin", PASSWORD).await)
        .header(vitals_api::CSRF_HEADER, "1")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn served_document(router: &Router) -> Vec<u8> {
    let (status, body) = send(router, Method::GET, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    body
}

/// Every operation of the document: its method and its path with sample values for the parameters.
fn documented_operations(document: &Value) -> Vec<(Method, String)> {
    let samples = [
        ("{id}/panels", "clinic-now/panels"),
        ("{panel}", "registrations"),
        ("dashboards/{id}", "dashboards/clinic-now"),
        ("{name}", "service"),
        ("{id}", "0123456789abcdef0123456789abcdef"),
        ("{other}", "0123456789abcdef0123456789abcdef"),
    ];
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = samples.iter().fold(path.clone(), |path, (parameter, value)| {
            path.replace(parameter, value)
        });
        assert!(
            !concrete.contains('{'),
            "no sample value for a parameter of {path}"
        );
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase().parse().unwrap(), concrete.clone()));
        }
    }
    operations
}

/// Whether an answer came from a handler (or the gate before it) rather than from the router
/// finding no route: the fallback's 404 and axum's 405 are the router's.
fn reached_a_route(status: StatusCode, body: &[u8]) -> bool {
    let unrouted = String::from_utf8_lossy(body).contains("there is no API endpoint");
    status != StatusCode::METHOD_NOT_ALLOWED && !(status == StatusCode::NOT_FOUND && unrouted)
}

#[tokio::test]
async fn the_committed_document_is_the_one_the_server_publishes() {
    let data = tempfile::tempdir().unwrap();
    let served = served_document(&router(&data)).await;
    let path = committed_copy();
    if std::env::var(UPDATE_VARIABLE).as_deref() == Ok("1") {
        std::fs::write(&path, &served).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == served,
        "{} differs from the document the routes produce; regenerate it with \
         `{UPDATE_VARIABLE}=1 cargo test -p vitals-server --test openapi`, review the diff and commit it",
        path.display()
    );
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method_is() {
    let data = tempfile::tempdir().unwrap();
    let router = router(&data);
    let document: Value = serde_json::from_slice(&served_document(&router).await).unwrap();
    let operations = documented_operations(&document);
    assert!(
        operations.len() >= 20,
        "only {} operations documented",
        operations.len()
    );
    for (method, path) in &operations {
        let (status, body) = send(&router, method.clone(), path).await;
        assert!(
            reached_a_route(status, &body),
            "{method} {path} is documented but not routed: {status}"
        );
        let documented_methods: Vec<&Method> = operations
            .iter()
            .filter(|(_, other)| other == path)
            .map(|(method, _)| method)
            .collect();
        for other in METHODS.iter().filter(|other| !documented_methods.contains(other)) {
            let (status, body) = send(&router, other.clone(), path).await;
            assert!(
                !reached_a_route(status, &body),
                "{other} {path} is routed but not documented: {status}"
            );
        }
    }
}

/// A server on the demo clinic, the server and the clinic both reading "now" from `clock`.
fn demo_state(
    config: &vitals_server::config::Config,
    clock: std::sync::Arc<dyn vitals_server::state::Clock>,
) -> anyhow::Result<vitals_server::state::AppState> {
    vitals_server::build_state(config, &vitals_server::demo_sources(config, clock.clone()), clock)
}
