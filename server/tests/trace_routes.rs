//! One trace over HTTP on the demo clinic: the nightly imports are found by search, the smallest
//! opens whole in waterfall order, the million-span one is refused whole and read through its
//! overview and windows instead, and two logins compare span by span.

mod common;

use axum::http::{Method, StatusCode};
use common::DemoServer;
use serde_json::{Value, json};

const PASSWORD: &str = "huge-traces-test-password";
/// Tuesday 2026-11-24 10:20 UTC: the night before holds the imports.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

/// A demo server at the clinic's morning.
fn start() -> DemoServer {
    DemoServer::start(PASSWORD, CLINIC_MORNING_MS)
}

/// The nightly imports of the night before, newest (largest) first.
async fn imports(server: &DemoServer, cookie: &str) -> Vec<Value> {
    let (status, found) = common::call(
        &server.router,
        Method::POST,
        "/api/v1/traces/search",
        cookie,
        Some(json!({"filter": "service(\"records-import\")", "from": "now-12h", "limit": 10})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found["traces"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_smallest_import_opens_whole_with_parents_before_children() {
    let server = start();
    let engineer = server.login("engineer").await;
    let imports = imports(&server, &engineer).await;
    assert_eq!(imports.len(), 3, "{imports:?}");
    let smallest = imports[2]["trace_id"].as_str().unwrap();

    let (status, trace) = server.get(&format!("/api/v1/traces/{smallest}"), &engineer).await;
    assert_eq!(status, StatusCode::OK, "{}", trace["error"]);
    let spans = trace["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 10_000);
    assert!(spans[0]["parent_id"].is_null(), "the root comes first");
    let mut seen = std::collections::HashSet::new();
    for span in spans {
        if let Some(parent) = span["parent_id"].as_str() {
            assert!(seen.contains(parent), "a parent before its child: {span}");
        }
        seen.insert(span["span_id"].as_str().unwrap().to_owned());
    }
}

#[tokio::test]
async fn a_million_span_import_is_read_through_its_overview_and_windows() {
    let server = start();
    let engineer = server.login("engineer").await;
    let imports = imports(&server, &engineer).await;
    let archive = imports[0]["trace_id"].as_str().unwrap();

    let (status, refused) = server.get(&format!("/api/v1/traces/{archive}"), &engineer).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused["error"]["code"], "trace_too_large");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1000000 spans") && message.contains("/summary"),
        "{message}"
    );

    let (status, overview) = server
        .get(&format!("/api/v1/traces/{archive}/summary"), &engineer)
        .await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    assert_eq!(overview["span_count"], 1_000_000);
    let per_depth: Vec<u64> = serde_json::from_value(overview["spans_per_depth"].clone()).unwrap();
    assert_eq!(per_depth.len(), 4, "root, batches, records, calls: {per_depth:?}");
    assert_eq!(per_depth.iter().sum::<u64>(), 1_000_000);
    assert!(overview["error_count"].as_u64().unwrap() > 0);
    let fault = overview["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|span| span["status"] == "fault" && span["name"] == "DynamoDB.PutItem")
        .expect("the archive import's failing call is listed");
    assert_eq!(fault["attributes"]["error"], "InternalServerError");
    assert!(!overview["critical_path"].as_array().unwrap().is_empty());

    // The whole trace at once: the root and its batches; the records wait below them.
    let (status, top) = server
        .get(&format!("/api/v1/traces/{archive}/window"), &engineer)
        .await;
    assert_eq!(status, StatusCode::OK, "{top}");
    assert_eq!(top["depth"], 1);
    let rows = top["spans"].as_array().unwrap();
    assert_eq!(rows.len() as u64, 1 + per_depth[1]);
    let batch = &rows[1];
    assert_eq!(
        batch["hidden"].as_u64().unwrap() as usize,
        100 + 100 + 10,
        "a batch's records and calls"
    );

    // One batch, all of it.
    let batch_id = batch["span"]["span_id"].as_str().unwrap();
    let (status, inside) = server
        .get(
            &format!("/api/v1/traces/{archive}/window?root={batch_id}"),
            &engineer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inside}");
    assert_eq!(inside["spans"].as_array().unwrap().len(), 1 + 210);
    assert_eq!(inside["root"], batch_id);

    // A time range inside the batch: only what overlaps it.
    let start = batch["span"]["start"].as_i64().unwrap();
    let (from, to) = (start + 50_000_000, start + 60_000_000);
    let (_, narrow) = server
        .get(
            &format!("/api/v1/traces/{archive}/window?root={batch_id}&from={from}&to={to}"),
            &engineer,
        )
        .await;
    let narrow_rows = narrow["spans"].as_array().unwrap();
    assert!(narrow_rows.len() < 40, "{} rows", narrow_rows.len());
    for row in narrow_rows {
        let (span_start, duration) = (
            row["span"]["start"].as_i64().unwrap(),
            row["span"]["duration"].as_i64().unwrap(),
        );
        assert!(span_start <= to && span_start + duration >= from, "{row}");
    }
}

#[tokio::test]
async fn wrong_windows_say_what_is_wrong_and_other_roles_are_refused() {
    let server = start();
    let engineer = server.login("engineer").await;
    let imports = imports(&server, &engineer).await;
    let smallest = imports[2]["trace_id"].as_str().unwrap();
    let window = format!("/api/v1/traces/{smallest}/window");

    let (status, body) = server
        .get(&format!("{window}?root=00000000000000ff"), &engineer)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("has no span"));
    let (status, body) = server.get(&format!("{window}?from=20&to=10"), &engineer).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_range"))
    );
    let (status, _) = server.get(&format!("{window}?depth=3"), &engineer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown parameter is refused");
    let (status, body) = server.get("/api/v1/traces/not-a-trace/summary", &engineer).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_trace_id"))
    );

    let operations = server.login("operations").await;
    let (status, _) = server
        .get(&format!("/api/v1/traces/{smallest}/summary"), &operations)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_logins_compare_and_the_slower_one_is_explained() {
    let server = start();
    let engineer = server.login("engineer").await;
    let (status, found) = common::call(
        &server.router,
        Method::POST,
        "/api/v1/traces/search",
        &engineer,
        Some(json!({"filter": "service(\"login-api\") AND http.url CONTAINS \"/login\"", "from": "now-1h", "limit": 200})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let mut logins = found["traces"].as_array().unwrap().clone();
    logins.sort_by_key(|trace| trace["duration"].as_i64().unwrap());
    let (quick, slow) = (&logins[0], &logins[logins.len() - 1]);
    assert!(
        slow["duration"].as_i64() > quick["duration"].as_i64(),
        "two logins of different lengths"
    );

    let path = format!(
        "/api/v1/traces/{}/compare/{}",
        quick["trace_id"].as_str().unwrap(),
        slow["trace_id"].as_str().unwrap()
    );
    let (status, comparison) = server.get(&path, &engineer).await;
    assert_eq!(status, StatusCode::OK, "{comparison}");
    assert_eq!(comparison["same_operation"], true);
    let difference = comparison["difference"].as_i64().unwrap();
    assert_eq!(
        difference,
        comparison["b"]["duration"].as_i64().unwrap() - comparison["a"]["duration"].as_i64().unwrap()
    );
    assert!(difference > 0);
    let sentence = comparison["sentence"].as_str().unwrap();
    assert!(sentence.starts_with("The second trace took"), "{sentence}");
    assert!(sentence.contains("longer"), "{sentence}");
    assert!(!comparison["by_service"].as_array().unwrap().is_empty());

    let (status, _) = server.get("/api/v1/traces/nope/compare/nope", &engineer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
