//! A role confined to label matchers reads only what they select, in logs and metrics, with
//! its own cache; queries that would escape are refused with the reason.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{DemoServer, call};
use serde_json::{Value, json};
use vitals_server::config::LabelScopeRule;

const PASSWORD: &str = "label-scope-test-password";
/// Tuesday 2026-11-24, 09:00 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_510_800_000;

/// Engineers see only the records service; admins are not confined.
fn server() -> DemoServer {
    DemoServer::start_with(PASSWORD, CLINIC_MORNING_MS, |config| {
        config.label_scopes = vec![LabelScopeRule {
            who: "engineer".into(),
            matchers: vec![r#"service="records""#.into()],
        }];
    })
}

async fn log_services(
    server: &DemoServer,
    cookie: &str,
    query: &str,
) -> (StatusCode, BTreeSet<String>, Value) {
    let (status, answer) = call(
        &server.router,
        Method::POST,
        "/api/v1/logs/query",
        cookie,
        Some(json!({"query": query, "from": "now-1h", "limit": 1000})),
    )
    .await;
    let services = answer["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|line| line["labels"]["service"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, services, answer)
}

#[tokio::test]
async fn a_confined_engineer_reads_only_their_streams_and_shares_no_cache_with_others() {
    let server = server();
    let engineer = server.login("engineer").await;
    let admin = server.login("admin").await;
    let everything = r#"{service=~".+"}"#;

    let (status, seen, answer) = log_services(&server, &engineer, everything).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(seen, BTreeSet::from(["records".to_owned()]));

    // The same query, just asked by the confined engineer, answers the admin in full.
    let (status, seen, _) = log_services(&server, &admin, everything).await;
    assert_eq!(status, StatusCode::OK);
    assert!(seen.len() >= 3 && seen.contains("login-api"), "{seen:?}");
    // And the admin's answer, now cached, does not reach the engineer.
    let (_, seen, _) = log_services(&server, &engineer, everything).await;
    assert_eq!(seen, BTreeSet::from(["records".to_owned()]));

    let (status, seen, _) = log_services(&server, &engineer, r#"{service="login-api"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert!(seen.is_empty(), "another service's lines: {seen:?}");
}

#[tokio::test]
async fn a_confined_engineers_metrics_are_their_services_only() {
    let server = server();
    let engineer = server.login("engineer").await;
    let query = "sum by (service) (rate(http_server_request_duration_seconds_count[5m]))";
    let (status, answer) = call(
        &server.router,
        Method::POST,
        "/api/v1/metrics/query",
        &engineer,
        Some(json!({"query": query, "from": "now-1h", "to": "now"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let series = answer["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{answer}");
    assert_eq!(series[0]["labels"]["service"], "records");
}

#[tokio::test]
async fn queries_that_would_escape_are_refused_with_the_reason() {
    let server = server();
    let engineer = server.login("engineer").await;
    for query in [
        r#"{service="records"} # } or {service="login-api"}"#,
        r#"{service="records"} |= '{'"#,
        r#"{service="records"}}"#,
    ] {
        let (status, _, answer) = log_services(&server, &engineer, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(r#"confined to {service="records"}"#),
            "{message}"
        );
    }
    let (status, answer) = call(
        &server.router,
        Method::POST,
        "/api/v1/metrics/query",
        &engineer,
        Some(json!({"query": "info(up)", "from": "now-1h", "to": "now"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("info()"));
}

#[tokio::test]
async fn a_confined_engineer_lists_only_the_label_values_their_scope_fixes() {
    let server = server();
    let engineer = server.login("engineer").await;
    let (status, answer) = server.get("/api/v1/logs/labels/service/values", &engineer).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["names"], json!(["records"]));
    let (status, answer) = server.get("/api/v1/logs/labels/level/values", &engineer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("query lines with a selector")
    );
    let admin = server.login("admin").await;
    let (_, answer) = server.get("/api/v1/logs/labels/service/values", &admin).await;
    assert!(answer["names"].as_array().unwrap().len() >= 3, "{answer}");
}
