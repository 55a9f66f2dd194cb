//! The service map over HTTP on the demo clinic: laid out for drawing, and during the training
//! failure (minutes 40–50) the login-api → DynamoDB edge shows its errors and one search lists
//! the failing traces.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::json;
use vitals_api::ServiceMap;

const PASSWORD: &str = "service-map-test-password";
/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// Minutes 40 to 50 of the hour before: the training failure runs.
const FAILING_FROM: &str = "2026-11-24T09:40:00Z";
const FAILING_TO: &str = "2026-11-24T09:50:00Z";

#[tokio::test]
async fn the_failing_edge_is_laid_out_and_one_search_lists_its_failed_calls() {
    let server = common::DemoServer::start(PASSWORD, CLINIC_MORNING_MS);
    let router = &server.router;
    let engineer = server.login("engineer").await;

    let path = format!("/api/v1/service-map?from={FAILING_FROM}&to={FAILING_TO}");
    let (status, body) = common::call(router, Method::GET, &path, &engineer, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let map: ServiceMap = serde_json::from_value(body).unwrap();
    let layout = map.layout.as_ref().expect("the server lays the map out");
    assert_eq!(layout.nodes.len(), map.nodes.len());
    let place = |name: &str| layout.nodes.iter().find(|node| node.name == name).unwrap();
    for edge in &map.edges {
        assert!(
            place(&edge.source).x < place(&edge.target).x,
            "{} → {} points right",
            edge.source,
            edge.target
        );
    }
    for (index, a) in layout.nodes.iter().enumerate() {
        for b in &layout.nodes[index + 1..] {
            let apart = (a.x - b.x).abs() >= layout.node_width || (a.y - b.y).abs() >= layout.node_height;
            assert!(apart, "{} and {} overlap", a.name, b.name);
        }
    }
    let failing = map
        .edges
        .iter()
        .find(|edge| edge.source == "login-api" && edge.target == "DynamoDB")
        .expect("login-api calls DynamoDB");
    assert!(failing.stats.errors > 0, "{failing:?}");

    // What clicking the edge asks: its calls that failed.
    let (status, found) = common::call(
        router,
        Method::POST,
        "/api/v1/traces/search",
        &engineer,
        Some(json!({"filter": "edge(\"login-api\", \"DynamoDB\") AND error", "from": FAILING_FROM, "to": FAILING_TO, "limit": 100})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let traces = found["traces"].as_array().unwrap();
    assert!(!traces.is_empty());
    assert!(traces.len() as u64 <= failing.stats.errors.max(100));
    for trace in traces {
        assert_eq!(trace["status"], "error", "{trace}");
        assert_eq!(trace["services"], json!(["login-api", "DynamoDB"]), "{trace}");
    }
}
