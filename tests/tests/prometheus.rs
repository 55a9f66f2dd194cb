//! The Prometheus source against a real Prometheus filled with the demo clinic: what the BFF answers equals Prometheus' own answer.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use vitals_demo::{DemoClinic, DemoConfig};
use vitals_server::sources::TimeRange;
use vitals_server::sources::prometheus::{PrometheusConfig, PrometheusSource};
use vitals_tests::TestServer;
use vitals_tests::prometheus::{PrometheusServer, state_with_metrics};

/// 2026-11-24, a Tuesday: samples from 07:00Z so that `[1h]` windows at 08:00 are full.
const SAMPLES_FROM_MS: i64 = 1_795_503_600_000;
/// Just past 12:00Z: ranges are closed-open, and the 12:00 sample is wanted.
const SAMPLES_TO_MS: i64 = 1_795_521_600_001;
const FROM: &str = "2026-11-24T08:00:00Z";
const TO: &str = "2026-11-24T12:00:00Z";
const FROM_SECONDS: &str = "1795507200";
const TO_SECONDS: &str = "1795521600";
const INSTANT: &str = "2026-11-24T10:30:00Z";
const INSTANT_SECONDS: &str = "1795516200";

/// Prometheus with the demo clinic's raw samples, and the BFF reading it through `PrometheusSource`.
struct Setup {
    prometheus: PrometheusServer,
    vitals: TestServer,
    client: reqwest::Client,
}

impl Setup {
    async fn start() -> Result<Self> {
        let clinic = DemoClinic::new(DemoConfig::default());
        let samples = clinic.openmetrics(TimeRange::new(SAMPLES_FROM_MS, SAMPLES_TO_MS));
        let prometheus = PrometheusServer::start_with_openmetrics(&samples).await?;
        let config = PrometheusConfig {
            url: prometheus.url("").parse()?,
            amp_region: None,
        };
        let source = PrometheusSource::new(config, Duration::from_secs(20)).await?;
        let (state, data) = state_with_metrics(Arc::new(source), SAMPLES_TO_MS)?;
        let vitals = TestServer::start_with_state(state, data).await?;
        let client = vitals.client_as("engineer").await?;
        Ok(Self {
            prometheus,
            vitals,
            client,
        })
    }

    /// `POST /api/v1/metrics/query` on the BFF: its status and JSON body.
    async fn query_bff(&self, body: Value) -> Result<(reqwest::StatusCode, Value)> {
        let response = self
            .client
            .post(self.vitals.url("/api/v1/metrics/query"))
            .header("x-vitals-csrf", "1")
            .json(&body)
            .send()
            .await?;
        Ok((response.status(), response.json().await?))
    }

    /// The same range query through the BFF and straight from Prometheus, compared point by point.
    async fn range_query_matches(&self, query: &str, step: Value, step_seconds: &str) -> Result<usize> {
        let (status, bff) = self
            .query_bff(json!({"query": query, "from": FROM, "to": TO, "step": step}))
            .await?;
        ensure!(status == 200, "the BFF answered {status} to {query}: {bff}");
        let direct = self
            .prometheus
            .api(
                "query_range",
                &[
                    ("query", query),
                    ("start", FROM_SECONDS),
                    ("end", TO_SECONDS),
                    ("step", step_seconds),
                ],
            )
            .await?;
        ensure!(
            bff["result_type"] == "matrix" && direct["resultType"] == "matrix",
            "{query}: {bff}"
        );
        ensure!(
            bff["step_seconds"].as_f64() == step_seconds.parse().ok(),
            "{query}: {}",
            bff["step_seconds"]
        );
        same_series(query, &bff, &direct)
    }
}

/// Each BFF series has Prometheus' labels, timestamps (ms for s) and values, in Prometheus' order.
fn same_series(query: &str, bff: &Value, direct: &Value) -> Result<usize> {
    let ours = bff["series"].as_array().context("the BFF answer has no series")?;
    let theirs = direct["result"]
        .as_array()
        .context("Prometheus' answer has no result")?;
    ensure!(
        !theirs.is_empty(),
        "{query}: Prometheus has no data for it; were the blocks loaded? {direct}"
    );
    ensure!(
        ours.len() == theirs.len(),
        "{query}: {} series through the BFF, {} from Prometheus",
        ours.len(),
        theirs.len()
    );
    let mut points = 0;
    for (our, their) in ours.iter().zip(theirs) {
        ensure!(
            our["labels"] == their["metric"],
            "{query}: labels {} vs {}",
            our["labels"],
            their["metric"]
        );
        let their_points: Vec<&Value> = match their.get("values") {
            Some(values) => values.as_array().context("values")?.iter().collect(),
            None => vec![&their["value"]],
        };
        let our_points = our["points"].as_array().context("points")?;
        ensure!(
            our_points.len() == their_points.len(),
            "{query} {}: point counts differ",
            our["labels"]
        );
        for (our_point, their_point) in our_points.iter().zip(their_points) {
            same_point(our_point, their_point).with_context(|| format!("{query} {}", our["labels"]))?;
            points += 1;
        }
    }
    Ok(points)
}

/// `[ms, value]` against Prometheus' `[seconds, "value"]`. JSON has no NaN or
/// infinities: the API writes them as Prometheus' own names, `"NaN"`, `"+Inf"`, `"-Inf"`.
fn same_point(ours: &Value, theirs: &Value) -> Result<()> {
    let seconds = theirs[0].as_f64().context("a Prometheus timestamp")?;
    ensure!(
        ours[0].as_i64() == Some((seconds * 1000.0).round() as i64),
        "time {} vs {seconds} s",
        ours[0]
    );
    let text = theirs[1].as_str().context("a Prometheus value")?;
    let value: f64 = match text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => text.parse()?,
    };
    if value.is_finite() {
        // serde_json reads 17-digit floats up to one unit in the last place off (its exact
        // reader is a feature this workspace leaves off), so Prometheus' value is written
        // and read back the same way as the BFF's before the two are compared.
        let expected: f64 = serde_json::from_str(&serde_json::to_string(&value)?)?;
        ensure!(
            ours[1].as_f64() == Some(expected),
            "value {} vs {text} at {seconds}",
            ours[1]
        );
    } else {
        ensure!(
            ours[1].as_str() == Some(text),
            "value {} vs {text} at {seconds}",
            ours[1]
        );
    }
    Ok(())
}

#[tokio::test]
async fn queries_through_the_bff_answer_what_prometheus_answers() -> Result<()> {
    let setup = Setup::start().await?;

    let registrations = setup
        .range_query_matches(
            "sum by (clinic) (increase(patient_registrations_total[1h]))",
            json!("5m"),
            "300",
        )
        .await?;
    assert_eq!(
        registrations,
        3 * 49,
        "three clinics, a point every 5 minutes from 08:00 to 12:00"
    );

    setup
        .range_query_matches(
            "histogram_quantile(0.95, sum by (service, le) (rate(http_server_request_duration_seconds_bucket[5m])))",
            json!("60s"),
            "60",
        )
        .await?;
    setup
        .range_query_matches(
            r#"sum by (clinic) (rate(patient_registrations_total{result="success"}[15m])) / sum by (clinic) (rate(patient_registrations_total[15m]))"#,
            json!(120),
            "120",
        )
        .await?;

    let query = "sum by (operation, status) (increase(dynamodb_requests_total[1h]))";
    let (status, bff) = setup
        .query_bff(json!({"query": query, "from": INSTANT, "to": INSTANT}))
        .await?;
    assert_eq!(status, 200, "{bff}");
    assert_eq!(bff["result_type"], "vector");
    assert_eq!(bff["step_seconds"], 0.0);
    let direct = setup
        .prometheus
        .api("query", &[("query", query), ("time", INSTANT_SECONDS)])
        .await?;
    assert_eq!(direct["resultType"], "vector");
    same_series(query, &bff, &direct)?;
    Ok(())
}

#[tokio::test]
async fn a_panel_number_and_its_sentence_are_what_prometheus_answers_for_the_range() -> Result<()> {
    let setup = Setup::start().await?;
    let operations = setup.vitals.client_as("operations").await?;
    let panel: Value = operations
        .get(setup.vitals.url(&format!(
            "/api/v1/dashboards/patient-registrations/panels/registered?from={FROM}&to={TO}&var.clinic=north"
        )))
        .send()
        .await?
        .json()
        .await?;
    let value = panel["value"]
        .as_f64()
        .with_context(|| format!("the panel has no number: {panel}"))?;

    // The query the dashboard names for Prometheus, as an engineer reads it, filled in by hand.
    let dashboard: Value = setup
        .client
        .get(setup.vitals.url("/api/v1/dashboards/patient-registrations"))
        .send()
        .await?
        .json()
        .await?;
    let query = dashboard["panels"][0]["queries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|query| query["source"] == "prometheus")
        .and_then(|query| query["query"].as_str())
        .with_context(|| format!("no Prometheus query for engineers: {dashboard}"))?
        .replace("$clinic", "north")
        .replace("$__window", "14400s");
    let direct = setup
        .prometheus
        .api("query", &[("query", query.as_str()), ("time", TO_SECONDS)])
        .await?;
    let expected = direct["result"][0]["value"][1]
        .as_str()
        .and_then(|value| value.parse::<f64>().ok())
        .with_context(|| format!("Prometheus has no value for {query}: {direct}"))?;
    assert_eq!(value, expected.round(), "{panel}");
    assert!(value > 0.0, "a clinic morning has registrations: {panel}");
    let sentence = panel["sentence"].as_str().unwrap_or_default();
    assert!(
        sentence.starts_with(&format!("{value} patients registered in the last 4 hours")),
        "{sentence}"
    );
    // Prometheus holds no samples from a week before: the comparison says so in words.
    assert!(
        sentence.ends_with("with no data from the same time last week to compare."),
        "{sentence}"
    );
    ensure!(
        panel["series"][0]["points"]
            .as_array()
            .is_some_and(|points| points.len() > 10),
        "the panel's chart has points: {panel}"
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_query_through_the_bff_is_a_400_with_prometheus_parse_error() -> Result<()> {
    let setup = Setup::start().await?;

    let (status, body) = setup
        .query_bff(json!({"query": "sum(patient_registrations_total", "from": FROM, "to": TO}))
        .await?;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_query");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Prometheus"), "{message}");
    assert!(
        message.contains("parse error: unclosed left parenthesis"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn metric_names_come_from_prometheus() -> Result<()> {
    let setup = Setup::start().await?;

    let response = setup
        .client
        .get(setup.vitals.url("/api/v1/metrics/names"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let names: Value = response.json().await?;
    // `label/<name>/values` is GET-only in Prometheus.
    let direct: Value = reqwest::get(setup.prometheus.url("/api/v1/label/__name__/values"))
        .await?
        .json()
        .await?;
    assert_eq!(names["names"], direct["data"]);
    assert!(
        names["names"]
            .as_array()
            .is_some_and(|names| names.contains(&json!("patient_registrations_total"))),
        "{names}"
    );
    Ok(())
}
