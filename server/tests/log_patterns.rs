//! `POST /api/v1/logs/patterns` on the demo clinic: its lines clustered into templates, the
//! training failure one of them, new beside a baseline without it, and its query keeping
//! exactly its lines.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use common::{DemoServer, call};
use vitals_api::query::TimeRange;
use vitals_demo::{DemoClinic, DemoConfig};

const PASSWORD: &str = "patterns-test-password";
/// Tuesday 2026-11-24 11:00 UTC: the hour before holds the training failure (minutes 40 to 50).
const NOW_MS: i64 = 1_795_478_400_000 + 11 * 3_600_000;

async fn post(server: &DemoServer, cookie: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(&server.router, Method::POST, path, cookie, Some(body)).await
}

#[tokio::test]
async fn the_getitem_failure_is_one_new_pattern_whose_query_keeps_its_lines() {
    let server = DemoServer::start(PASSWORD, NOW_MS);
    let engineer = server.login("engineer").await;
    let (status, answer) = post(
        &server,
        &engineer,
        "/api/v1/logs/patterns",
        json!({
            "query": "{service=\"login-api\"}",
            "from": "now-1h",
            // Five to ten until ten: no training failure then.
            "baseline_from": "now-65m",
            "baseline_to": "now-60m",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let patterns = answer["patterns"].as_array().unwrap();
    let failures: Vec<&Value> = patterns
        .iter()
        .filter(|pattern| pattern["template"].as_str().unwrap().contains("GetItem failed"))
        .collect();
    assert_eq!(failures.len(), 1, "{answer:#}");
    let failure = failures[0];
    assert_eq!(failure["new"], true, "{failure}");
    assert!(answer["baseline_lines"].as_u64().unwrap() > 0);
    assert!(
        patterns.iter().any(|pattern| pattern["new"] == false),
        "logins that work were there before: {answer:#}"
    );

    let (status, lines) = post(
        &server,
        &engineer,
        "/api/v1/logs/query",
        json!({"query": "{service=\"login-api\"} |= \"GetItem failed\"", "from": "now-1h", "limit": 5000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let expected = lines["lines"].as_array().unwrap().len();
    assert!(expected > 0);
    assert_eq!(failure["count"].as_u64().unwrap() as usize, expected);
    let sparkline: u64 = failure["sparkline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(sparkline as usize, expected);

    // Clicking the pattern runs its query: the same lines, and only those.
    let query = failure["query"].as_str().unwrap();
    assert!(query.starts_with("{service=\"login-api\"} |~ "), "{query}");
    let (status, filtered) = post(
        &server,
        &engineer,
        "/api/v1/logs/query",
        json!({"query": query, "from": "now-1h", "limit": 5000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    let filtered = filtered["lines"].as_array().unwrap();
    assert_eq!(filtered.len(), expected);
    assert!(
        filtered
            .iter()
            .all(|line| line["line"].as_str().unwrap().contains("GetItem failed"))
    );
}

#[tokio::test]
async fn no_patient_detail_reaches_a_template_or_an_example() {
    let server = DemoServer::start(PASSWORD, NOW_MS);
    let engineer = server.login("engineer").await;
    let (status, answer) = post(
        &server,
        &engineer,
        "/api/v1/logs/patterns",
        json!({"query": "{service=\"patient-registration\"}", "from": "now-6h"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|pattern| pattern["template"]
                .as_str()
                .unwrap()
                .contains("patient_name=\"[masked]\"")),
        "{answer:#}"
    );
    // The same lines as the demo clinic wrote them, unmasked: none of their patient details is
    // in the answer.
    let clinic = DemoClinic::new(DemoConfig::default());
    let written = clinic.log_lines(TimeRange::new(NOW_MS - 6 * 3_600_000, NOW_MS));
    let text = answer.to_string();
    let mut details = 0;
    for line in written.iter().filter(|line| line.line.contains("patient_name=")) {
        for field in ["patient_name=\"", "mrn=", "dob="] {
            let Some(at) = line.line.find(field) else {
                continue;
            };
            let value: String = line.line[at + field.len()..]
                .chars()
                .take_while(|c| !matches!(c, '"' | ' '))
                .collect();
            assert!(!text.contains(&value), "{value} in the answer");
            details += 1;
        }
    }
    assert!(details > 30, "{details} details looked for");
}

#[tokio::test]
async fn a_metric_query_or_a_bad_baseline_says_what_to_do() {
    let server = DemoServer::start(PASSWORD, NOW_MS);
    let engineer = server.login("engineer").await;
    for (body, code, says) in [
        (
            json!({"query": "sum(count_over_time({service=\"login-api\"}[5m]))"}),
            "not_a_log_query",
            "stream selector",
        ),
        (
            json!({"query": "{service=\"login-api\"}", "baseline_from": "yesterday"}),
            "invalid_time",
            "baseline_from",
        ),
        (
            json!({"query": "{service=\"login-api\"}", "baseline_from": "now-1h", "baseline_to": "now-2h"}),
            "invalid_time",
            "swap",
        ),
        (json!({"query": " "}), "empty_query", "write a query"),
    ] {
        let (status, answer) = post(&server, &engineer, "/api/v1/logs/patterns", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(says),
            "{answer}"
        );
    }
}
