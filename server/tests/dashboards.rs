//! Dashboards over HTTP on the demo clinic: every shipped dashboard answers, a panel's number is
//! what the source says for the same range, business roles never send or see a query, and a
//! dashboard file changed on disk takes effect without a restart.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vitals_server::config::{Config, DashboardConfig, Secret};
use vitals_server::state::ManualClock;
use vitals_server::{app, demo_sources, local_auth, state_with_auth};

const PASSWORD: &str = "dashboards-test-password";
/// Tuesday 2026-11-24 10:20 UTC: "now" for the server of these tests.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const FROM: &str = "2026-11-23T10:20:00Z";
const TO: &str = "2026-11-24T10:20:00Z";

struct Server {
    router: Router,
    clock: Arc<ManualClock>,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        Self::with_dashboards(DashboardConfig::default()).unwrap()
    }

    fn with_dashboards(dashboards: DashboardConfig) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let config = Config {
            dist_dir: data.path().join("no-app"),
            data_dir: data.path().to_owned(),
            demo_password: Some(Secret(PASSWORD.into())),
            dashboards,
            ..Config::default()
        };
        let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
        let auth = local_auth(&config, clock.clone())?;
        let state = state_with_auth(
            &config,
            &demo_sources(&config, clock.clone()),
            auth,
            clock.clone(),
        )?;
        Ok(Self {
            router: app(state),
            clock,
            _data: data,
        })
    }

    async fn login(&self, user: &str) -> String {
        common::login(&self.router, user, PASSWORD).await
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, Value) {
        common::call(&self.router, Method::GET, path, cookie, None).await
    }
}

#[tokio::test]
async fn every_shipped_dashboard_answers_every_panel_on_the_demo_clinic() {
    let server = Server::start();
    let engineer = server.login("engineer").await;
    let (status, list) = server.get("/api/v1/dashboards", &engineer).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let dashboards = list["dashboards"].as_array().unwrap();
    let ids: Vec<&str> = dashboards.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "clinic-now",
            "patient-registrations",
            "doctor-interactions",
            "login-health",
            "queue-health",
            "service-overview"
        ]
    );
    for dashboard in dashboards {
        let id = dashboard["id"].as_str().unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            let panel_id = panel["id"].as_str().unwrap();
            let path = format!("/api/v1/dashboards/{id}/panels/{panel_id}?from={FROM}&to={TO}");
            let (status, data) = server.get(&path, &engineer).await;
            assert_eq!(status, StatusCode::OK, "{path}: {data}");
            let sentence = data["sentence"].as_str().unwrap();
            assert!(
                sentence.len() > 10 && !sentence.contains('{') && !sentence.contains('$'),
                "{path}: {sentence}"
            );
            let has_data = match data["kind"].as_str().unwrap() {
                "bar" | "table" => !data["rows"].as_array().unwrap().is_empty(),
                _ => data["series"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|series| !series["points"].as_array().unwrap().is_empty()),
            };
            assert!(has_data, "{path} has nothing to show on a busy day: {data}");
        }
    }
}

#[tokio::test]
async fn failed_logins_are_told_with_what_most_of_them_had_in_common() {
    let server = Server::start();
    let operations = server.login("operations").await;
    // Six hours of a morning: the demo's login failure ran in minute 40 to 50 of each.
    let path = "/api/v1/dashboards/login-health/panels/failed-logins?from=now-6h";
    let (status, panel) = server.get(path, &operations).await;
    assert_eq!(status, StatusCode::OK, "{panel}");
    assert!(panel["value"].as_f64().unwrap() > 0.0, "{panel}");
    let sentence = panel["sentence"].as_str().unwrap();
    // Every line of the login service's errors in those hours was the missing user record.
    assert!(
        sentence.contains(". All failed logins in the last 6 hours were 'GetItem failed'."),
        "{sentence}"
    );

    // A quiet hour before the failure: no failures, so no pattern is told.
    let path = "/api/v1/dashboards/login-health/panels/failed-logins?from=now-15m";
    let (_, quiet) = server.get(path, &operations).await;
    let sentence = quiet["sentence"].as_str().unwrap();
    assert!(!sentence.contains("were '"), "{sentence}");
}

#[tokio::test]
async fn a_panel_number_is_what_the_source_answers_for_the_same_range() {
    let server = Server::start();
    let engineer = server.login("engineer").await;
    let path = format!(
        "/api/v1/dashboards/patient-registrations/panels/registered?from={FROM}&to={TO}&var.clinic=north"
    );
    let (status, panel) = server.get(&path, &engineer).await;
    assert_eq!(status, StatusCode::OK, "{panel}");
    let value = panel["value"].as_f64().unwrap();
    assert!(value > 0.0, "{panel}");

    // The same question asked of the metrics explorer, with the query the dashboard lists.
    let (_, dashboard) = server
        .get("/api/v1/dashboards/patient-registrations", &engineer)
        .await;
    let query = dashboard["panels"][0]["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|query| query["source"] == "prometheus")
        .unwrap()["query"]
        .as_str()
        .unwrap()
        .replace("$clinic", "north")
        .replace("$__window", "86400s");
    let (status, answer) = common::call(
        &server.router,
        Method::POST,
        "/api/v1/metrics/query",
        &engineer,
        Some(json!({"query": query, "from": TO, "to": TO, "step": 60})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let from_source = answer["series"][0]["points"][0][1].as_f64().unwrap();
    assert_eq!(value, from_source.round(), "{panel}");
    let sentence = panel["sentence"].as_str().unwrap();
    assert!(
        sentence.starts_with(&format!(
            "{} patients registered in the last 24 hours",
            value as i64
        )),
        "{sentence}"
    );
    assert!(sentence.contains("than the same time last week"), "{sentence}");
    assert!(panel["trend"]["previous"].as_f64().is_some(), "{panel}");

    // Against the same day a week, two, three and four weeks before: the band in words.
    let mut earlier = Vec::new();
    for at in [
        "2026-11-17T10:20:00Z",
        "2026-11-10T10:20:00Z",
        "2026-11-03T10:20:00Z",
        "2026-10-27T10:20:00Z",
    ] {
        let (_, answer) = common::call(
            &server.router,
            Method::POST,
            "/api/v1/metrics/query",
            &engineer,
            Some(json!({"query": query, "from": at, "to": at, "step": 60})),
        )
        .await;
        earlier.push(answer["series"][0]["points"][0][1].as_f64().map(f64::round));
    }
    let earlier: Vec<f64> = earlier.into_iter().flatten().collect();
    assert_eq!(earlier.len(), 4, "the demo answers each earlier week");
    let low = earlier.iter().copied().fold(f64::INFINITY, f64::min);
    let high = earlier.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let grouped = |value: f64| {
        let digits = (value as i64).to_string();
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push(',');
            }
            out.push(digit);
        }
        out
    };
    let band = format!(
        "the same time in each of the last 4 weeks saw {} to {}.",
        grouped(low),
        grouped(high)
    );
    assert!(sentence.ends_with(&band), "{sentence} / {band}");
    let verdict = if value > high + ((high - low) * 0.25).max(1.0) {
        "That is more than usual"
    } else if value < low - ((high - low) * 0.25).max(1.0) {
        "That is less than usual"
    } else {
        "That is usual"
    };
    assert!(sentence.contains(verdict), "{sentence}: {verdict}");
}

#[tokio::test]
async fn people_asking_the_same_within_seconds_share_one_answer_and_other_roles_get_their_own() {
    let server = Server::start();
    let front_desk = server.login("operations").await;
    let manager = server.login("operations").await;
    let engineer = server.login("engineer").await;
    let made_at = async |path: &str, cookie: &str| {
        let (status, panel) = server.get(path, cookie).await;
        assert_eq!(status, StatusCode::OK, "{panel}");
        panel["generated_at"].as_i64().unwrap()
    };
    let relative = "/api/v1/dashboards/patient-registrations/panels/registered?from=now-24h&var.clinic=north";
    let pinned = format!("/api/v1/dashboards/patient-registrations/panels/registered?from={FROM}&to={TO}");

    let first = made_at(relative, &front_desk).await;
    assert_eq!(first, CLINIC_MORNING_MS);
    let pinned_first = made_at(&pinned, &front_desk).await;
    server.clock.advance(Duration::from_secs(2));
    assert_eq!(
        made_at(relative, &manager).await,
        first,
        "the same question two seconds later"
    );
    assert_eq!(made_at(&pinned, &manager).await, pinned_first);
    assert_eq!(
        made_at(relative, &engineer).await,
        CLINIC_MORNING_MS + 2_000,
        "another role's scope gets its own answer"
    );
    let south = relative.replace("north", "south");
    assert_eq!(
        made_at(&south, &manager).await,
        CLINIC_MORNING_MS + 2_000,
        "another clinic"
    );

    server.clock.advance(Duration::from_secs(3));
    assert_eq!(
        made_at(relative, &manager).await,
        CLINIC_MORNING_MS + 5_000,
        "five seconds on, a new answer"
    );
    assert_eq!(
        made_at(&pinned, &manager).await,
        CLINIC_MORNING_MS + 5_000,
        "a pinned range too"
    );
}

#[tokio::test]
async fn business_roles_send_only_allowlisted_values_and_never_see_a_query() {
    let server = Server::start();
    let operations = server.login("operations").await;
    let (status, dashboard) = server
        .get("/api/v1/dashboards/patient-registrations", &operations)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !dashboard.to_string().contains("increase("),
        "no query text for business roles: {dashboard}"
    );
    assert_eq!(dashboard["variables"][0]["name"], "clinic");

    let base = "/api/v1/dashboards/patient-registrations/panels/registered";
    let (status, answer) = server.get(&format!("{base}?var.clinic=west"), &operations).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "variable_not_allowed");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"west\" is not allowed for clinic; pick one of: all, north, south, east"),
        "{answer}"
    );
    let raw = "?query=sum(patient_registrations_total)";
    let (status, answer) = server.get(&format!("{base}{raw}"), &operations).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "unknown_parameter", "{answer}");
    let (status, answer) = server.get(&format!("{base}?var.clinic.x=1"), &operations).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    // The engineers' dashboard is not theirs, and its panels neither.
    let (status, list) = server.get("/api/v1/dashboards", &operations).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains("service-overview"), "{list}");
    let (status, _) = server
        .get("/api/v1/dashboards/service-overview/panels/requests", &operations)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

const HOURLY: &str = r#"
title = "Front desk"
description = "Registrations at the front desk."

[[panel]]
id = "registered"
title = "Patients registered"
kind = "stat"
noun = ["patient", "patients"]
sentence = "{count} registered {range}."
query.prometheus = 'sum(increase(patient_registrations_total{result="success"}[$__window]))'
"#;

/// Asks `check` until it holds, for at most ten seconds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_changed_file_takes_effect_without_a_restart_and_a_broken_one_keeps_the_last_good() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("front-desk.toml");
    std::fs::write(&file, HOURLY).unwrap();
    let server = Server::with_dashboards(DashboardConfig {
        dir: Some(dir.path().to_owned()),
        reload_ms: 100,
    })
    .unwrap();
    let operations = server.login("operations").await;
    let (status, dashboard) = server.get("/api/v1/dashboards/front-desk", &operations).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dashboard["title"], "Front desk");

    std::fs::write(&file, HOURLY.replace("Front desk\"", "Reception\"")).unwrap();
    eventually("the new title", async || {
        let (_, dashboard) = server.get("/api/v1/dashboards/front-desk", &operations).await;
        dashboard["title"] == "Reception"
    })
    .await;

    std::fs::write(&file, HOURLY.replace("kind = \"stat\"", "kind = \"pie\"") + "\n").unwrap();
    eventually("readiness naming the broken file", async || {
        let (_, ready) = server.get("/readyz", "").await;
        ready["dashboards"]["problems"]
            .as_array()
            .is_some_and(|problems| !problems.is_empty())
    })
    .await;
    let (_, ready) = server.get("/readyz", "").await;
    let problem = ready["dashboards"]["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("front-desk.toml, line 8, `kind`") && problem.contains("pie"),
        "{problem}"
    );
    let (status, panel) = server
        .get("/api/v1/dashboards/front-desk/panels/registered", &operations)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the last good version still answers: {panel}"
    );
    let (_, dashboard) = server.get("/api/v1/dashboards/front-desk", &operations).await;
    assert_eq!(dashboard["title"], "Reception");
}

#[tokio::test]
async fn a_broken_file_at_start_stops_the_start_with_its_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("front-desk.toml"),
        HOURLY.replace("$__window", "$clinic"),
    )
    .unwrap();
    let error = Server::with_dashboards(DashboardConfig {
        dir: Some(dir.path().to_owned()),
        reload_ms: 100,
    })
    .err()
    .unwrap();
    let shown = format!("{error:#}");
    assert!(
        shown.contains("front-desk.toml, line 11, `panel[0].query.prometheus`: the query names $clinic"),
        "{shown}"
    );
    assert!(Path::new(&dir.path().join("front-desk.toml")).exists());
}
