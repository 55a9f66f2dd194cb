//! Patient data is masked in every answer and read whole only by an engineer who says why:
//! log lines and spans of the demo clinic, reveals, refusals and the audit trail.

mod common;

use axum::http::{Method, StatusCode};
use common::{DemoServer, call};
use serde_json::{Value, json};

const PASSWORD: &str = "reveal-test-password";
/// Tuesday 2026-11-24, 09:00 UTC: the clinic registers patients all morning.
const CLINIC_MORNING_MS: i64 = 1_795_510_800_000;

/// The lines of patient registrations in the hour before the clinic's morning.
async fn registrations(server: &DemoServer, cookie: &str) -> Vec<Value> {
    let (status, answer) = call(
        &server.router,
        Method::POST,
        "/api/v1/logs/query",
        cookie,
        Some(json!({
            "query": r#"{service="patient-registration"} |= "registered""#,
            "from": "now-1h",
            "limit": 200,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["lines"].as_array().unwrap().clone()
}

async fn reveal(server: &DemoServer, cookie: &str, reference: &str, reason: &str) -> (StatusCode, Value) {
    call(
        &server.router,
        Method::POST,
        "/api/v1/reveal",
        cookie,
        Some(json!({"ref": reference, "reason": reason})),
    )
    .await
}

/// The lines of an answer that were masked, after checking that no line holds patient data
/// and that exactly the masked ones say how to reveal them.
fn masked(lines: Vec<Value>) -> Vec<Value> {
    assert!(
        lines.len() >= 10,
        "a clinic morning registers patients: {}",
        lines.len()
    );
    for line in &lines {
        let text = line["line"].as_str().unwrap();
        assert!(!holds_patient_detail(text), "unmasked: {text}");
        assert_eq!(
            text.contains("[masked]"),
            line["reveal_ref"].is_string(),
            "{line}"
        );
    }
    let masked: Vec<Value> = lines
        .into_iter()
        .filter(|line| line["reveal_ref"].is_string())
        .collect();
    assert!(!masked.is_empty(), "some registrations name their patient");
    assert!(masked.iter().all(|line| {
        line["line"]
            .as_str()
            .unwrap()
            .contains("patient_name=\"[masked]\"")
    }));
    masked
}

/// Whether `text` holds a record number or a birth date as the clinic's services write them.
fn holds_patient_detail(text: &str) -> bool {
    let after = |key: &str| {
        text.match_indices(key)
            .any(|(at, _)| text[at + key.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    after("mrn=") || after("dob=")
}

#[tokio::test]
async fn log_lines_are_masked_for_everyone_and_revealed_to_an_engineer_with_a_reason() {
    let server = DemoServer::start(PASSWORD, CLINIC_MORNING_MS);
    let engineer = server.login("engineer").await;
    let lines = masked(registrations(&server, &engineer).await);

    let reference = lines[0]["reveal_ref"].as_str().unwrap();
    let (status, refused) = reveal(&server, &engineer, reference, "  ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["code"], "reason_required", "{refused}");

    let reason = "INC-4521 registration double-booked";
    let (status, revealed) = reveal(&server, &engineer, reference, reason).await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    let whole = revealed["line"]["line"].as_str().unwrap();
    assert!(
        holds_patient_detail(whole),
        "the reveal shows the line whole: {whole}"
    );
    assert_eq!(revealed["line"]["time"], lines[0]["time"]);

    // Another engineer, and the same one asking again, still read it masked: nothing the
    // reveal showed was kept for the next answer.
    let other = server.login("engineer").await;
    for cookie in [&other, &engineer] {
        let again = registrations(&server, cookie).await;
        assert!(
            again
                .iter()
                .all(|line| !holds_patient_detail(line["line"].as_str().unwrap()))
        );
    }

    let admin = server.login("admin").await;
    let (status, trail) = server.get("/api/v1/audit?action=reveal", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let events = trail["events"].as_array().unwrap();
    let done: Vec<&Value> = events.iter().filter(|event| event["outcome"] == "ok").collect();
    assert_eq!(done.len(), 1, "{trail}");
    assert_eq!(done[0]["user"], "engineer");
    let target = done[0]["target"].as_str().unwrap();
    assert!(target.contains(reason), "the trail keeps the reason: {target}");
    assert!(
        target.contains("patient-registration"),
        "and where the line was: {target}"
    );
    assert!(
        !holds_patient_detail(target),
        "but never the patient data: {target}"
    );
    assert!(
        events.iter().any(|event| event["outcome"] == "error 400"),
        "the refused reveal is on the trail too: {trail}"
    );
}

#[tokio::test]
async fn clinicians_and_operations_can_never_reveal() {
    let server = DemoServer::start(PASSWORD, CLINIC_MORNING_MS);
    let engineer = server.login("engineer").await;
    let lines = masked(registrations(&server, &engineer).await);
    let reference = lines[0]["reveal_ref"].as_str().unwrap();
    for role in ["clinician", "operations"] {
        let cookie = server.login(role).await;
        let (status, answer) = reveal(&server, &cookie, reference, "I would like to see it").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {answer}");
        assert!(!holds_patient_detail(&answer.to_string()));
    }
}

#[tokio::test]
async fn a_made_up_reference_is_a_clear_error_and_shows_nothing() {
    let server = DemoServer::start(PASSWORD, CLINIC_MORNING_MS);
    let engineer = server.login("engineer").await;
    let reason = "checking what a wrong reference does";
    let (status, answer) = reveal(&server, &engineer, "row:7", reason).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "bad_ref");
    // A line that was never there: right form, wrong digest.
    let lines = masked(registrations(&server, &engineer).await);
    let reference = lines[0]["reveal_ref"].as_str().unwrap();
    let mut parts: Vec<&str> = reference.splitn(4, ':').collect();
    parts[2] = "0123456789abcdef";
    let (status, answer) = reveal(&server, &engineer, &parts.join(":"), reason).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("run the query again")
    );
}

#[tokio::test]
async fn spans_are_masked_in_every_trace_answer_and_revealed_whole() {
    let server = DemoServer::start(PASSWORD, CLINIC_MORNING_MS);
    let engineer = server.login("engineer").await;
    let (status, found) = call(
        &server.router,
        Method::POST,
        "/api/v1/traces/search",
        &engineer,
        Some(json!({"service": "records", "from": "now-1h", "limit": 50})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    // Some record views note the patient's record number on their first span.
    let mut disclosing = None;
    for found in found["traces"].as_array().unwrap() {
        let id = found["trace_id"].as_str().unwrap().to_owned();
        let (status, trace) = server.get(&format!("/api/v1/traces/{id}"), &engineer).await;
        assert_eq!(status, StatusCode::OK, "{trace}");
        for span in trace["spans"].as_array().unwrap() {
            assert!(!holds_patient_detail(&span.to_string()));
            let mrn = &span["attributes"]["patient.mrn"];
            assert!(mrn.is_null() || *mrn == "[masked]", "{span}");
            assert_eq!(span["reveal_ref"].is_string(), !mrn.is_null(), "{span}");
        }
        if trace["spans"][0]["attributes"]["patient.mrn"].is_string() {
            disclosing = Some((id, trace));
        }
    }
    let (id, trace) = disclosing.expect("a record view in the last hour names its patient");
    let root = &trace["spans"][0];
    let (status, summary) = server
        .get(&format!("/api/v1/traces/{id}/summary"), &engineer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary["root"]["attributes"]["patient.mrn"], "[masked]");
    let (status, window) = server
        .get(&format!("/api/v1/traces/{id}/window"), &engineer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        window["spans"][0]["span"]["attributes"]["patient.mrn"],
        "[masked]"
    );

    let reference = root["reveal_ref"].as_str().unwrap();
    let (status, revealed) = reveal(&server, &engineer, reference, "INC-4522 wrong patient linked").await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    let mrn = revealed["span"]["attributes"]["patient.mrn"].as_str().unwrap();
    assert!(
        mrn.bytes().all(|b| b.is_ascii_digit()) && !mrn.is_empty(),
        "{mrn}"
    );
}
