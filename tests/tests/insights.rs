//! Objectives on the demo clinic: sentences for operations, charts and queries for engineers,
//! and one evaluation per interval however many people ask.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use vitals_api::clock::ManualClock;
use vitals_api::query::TimeRange;
use vitals_api::{ExplanationList, SloDetail, SloList, SloState};
use vitals_server::insights::explain::ExplanationBoard;
use vitals_server::insights::slo::board::SloBoard;
use vitals_server::state::Clock;
use vitals_tests::counted::CountedMetrics;
use vitals_tests::{TestServer, test_config};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, nothing failing.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// 10:46, inside the login failure the demo runs from minute 40 to 50 of every hour.
const LOGIN_FAILING_MS: i64 = CLINIC_MORNING_MS + 26 * 60_000;
const VIEWERS: usize = 100;
/// 10:55, five minutes after that failure ended.
const AFTER_FAILURE_MS: i64 = CLINIC_MORNING_MS + 35 * 60_000;
/// 10:41, a minute into it.
const FAILURE_BEGUN_MS: i64 = CLINIC_MORNING_MS + 21 * 60_000;
/// 10:40 and 10:50 UTC.
const FAILURE_FROM_MS: i64 = CLINIC_MORNING_MS + 20 * 60_000;
const FAILURE_TO_MS: i64 = CLINIC_MORNING_MS + 30 * 60_000;

struct Setup {
    server: TestServer,
    clock: Arc<ManualClock>,
    calls: Arc<AtomicU64>,
    board: Arc<SloBoard>,
    explanations: Arc<ExplanationBoard>,
}

async fn server_at(now_ms: i64) -> Result<Setup> {
    let data = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(now_ms));
    let config = test_config(data.path());
    let mut sources = vitals_server::demo_sources(&config, clock.clone());
    let (metrics, calls) = CountedMetrics::wrap(sources.metrics.clone());
    sources.metrics = metrics;
    let state = vitals_server::build_state(&config, &sources, clock.clone() as Arc<dyn Clock>)?;
    let board = state.slos.clone();
    let explanations = state.explanations.clone();
    Ok(Setup {
        server: TestServer::start_with_state(state, data).await?,
        clock,
        calls,
        board,
        explanations,
    })
}

async fn get<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: String) -> Result<T> {
    let response = client.get(&url).send().await?;
    ensure!(response.status() == 200, "GET {url}: {}", response.status());
    Ok(response.json().await?)
}

#[tokio::test]
async fn operations_read_each_objective_in_a_sentence() -> Result<()> {
    let setup = server_at(LOGIN_FAILING_MS).await?;
    let operations = setup.server.client_as("operations").await?;
    let started = Instant::now();
    let list: SloList = get(&operations, setup.server.url("/api/v1/slos")).await?;
    eprintln!(
        "evaluating {} objectives over four weeks took {:?}",
        list.slos.len(),
        started.elapsed()
    );
    let ids: Vec<&str> = list.slos.iter().map(|slo| slo.id.as_str()).collect();
    ensure!(ids == ["logins", "registrations", "appointments-fast"], "{ids:?}");
    for slo in &list.slos {
        eprintln!("{}: {:?} {}", slo.id, slo.state, slo.sentence);
        ensure!(
            slo.state != SloState::NoData,
            "the demo measures {}: {slo:?}",
            slo.id
        );
        ensure!(
            slo.windows.len() == 2 && slo.windows[0].coverage > 0.99,
            "{slo:?}"
        );
    }
    // Ten minutes of every hour a third of logins fail: far below 99.5%.
    let logins = &list.slos[0];
    ensure!(logins.state == SloState::Missed, "{logins:?}");
    ensure!(
        logins
            .sentence
            .starts_with("Logins missed the 99.5% goal this week: only "),
        "{}",
        logins.sentence
    );
    ensure!(
        logins.sentence.contains("error budget is spent"),
        "{}",
        logins.sentence
    );
    ensure!(list.as_of == LOGIN_FAILING_MS, "{}", list.as_of);
    Ok(())
}

#[tokio::test]
async fn many_viewers_cost_one_evaluation_per_interval() -> Result<()> {
    let setup = server_at(CLINIC_MORNING_MS).await?;
    let client = setup.server.client_as("operations").await?;
    let ask_all = || {
        futures::future::join_all(
            (0..VIEWERS).map(|_| get::<SloList>(&client, setup.server.url("/api/v1/slos"))),
        )
    };
    for answer in ask_all().await {
        ensure!(answer?.as_of == CLINIC_MORNING_MS, "one answer for everyone");
    }
    // Two range queries (good and all events) per objective.
    ensure!(
        setup.calls.load(Ordering::SeqCst) == 6,
        "{} calls",
        setup.calls.load(Ordering::SeqCst)
    );
    ensure!(
        setup.board.evaluations() == 1,
        "{} evaluations",
        setup.board.evaluations()
    );
    setup.clock.advance(Duration::from_secs(60));
    for answer in ask_all().await {
        ensure!(
            answer?.as_of == CLINIC_MORNING_MS + 60_000,
            "the next interval's answer"
        );
    }
    ensure!(
        setup.calls.load(Ordering::SeqCst) == 12,
        "{} calls",
        setup.calls.load(Ordering::SeqCst)
    );
    ensure!(
        setup.board.evaluations() == 2,
        "{} evaluations",
        setup.board.evaluations()
    );
    Ok(())
}

#[tokio::test]
async fn a_detail_draws_burn_rates_and_the_budget_and_shows_queries_to_engineers_only() -> Result<()> {
    let setup = server_at(LOGIN_FAILING_MS).await?;
    let url = setup.server.url("/api/v1/slos/logins?from=now-24h");
    let engineer: SloDetail = get(&setup.server.client_as("engineer").await?, url.clone()).await?;
    let operations: SloDetail = get(&setup.server.client_as("operations").await?, url).await?;
    ensure!(
        engineer
            .queries
            .as_ref()
            .is_some_and(|q| q.good.contains("login_attempts_total")),
        "{:?}",
        engineer.queries
    );
    ensure!(operations.queries.is_none(), "operations never see query text");
    ensure!(
        engineer.range_sentence.starts_with("In the last 24 hours ")
            && engineer.range_sentence.contains("below the 99.5% goal"),
        "{}",
        engineer.range_sentence
    );
    // A day of 5-minute steps, thinned to at most 300 points.
    ensure!(
        (250..=300).contains(&engineer.burn_1h.len()),
        "{}",
        engineer.burn_1h.len()
    );
    let peak = engineer.burn_1h.iter().map(|point| point.1).fold(0.0, f64::max);
    ensure!(
        peak > 14.4,
        "the failing ten minutes burn the budget fast: peak {peak}"
    );
    ensure!(
        !engineer.budget.is_empty() && engineer.budget.iter().all(|point| point.1 < 0.0),
        "spent all day"
    );

    let client = setup.server.client_as("operations").await?;
    let too_early = client
        .get(setup.server.url("/api/v1/slos/logins?from=now-30d"))
        .send()
        .await?;
    ensure!(too_early.status() == 400, "{}", too_early.status());
    let body = too_early.text().await?;
    ensure!(body.contains("last four weeks"), "{body}");
    let unknown = client
        .get(setup.server.url("/api/v1/slos/nothing"))
        .send()
        .await?;
    ensure!(unknown.status() == 404, "{}", unknown.status());
    Ok(())
}

/// Monday 2026-11-23 08:00 to 12:00 UTC, on whole steps of the demo's 30 seconds.
const MORNING_FROM: &str = "2026-11-23T08:00:00Z";
const MORNING_TO: &str = "2026-11-23T12:00:00Z";

#[tokio::test]
async fn the_journey_counts_equal_the_demo_clinics_ground_truth_and_carry_no_identifier() -> Result<()> {
    use vitals_api::JourneyAnswer;
    use vitals_demo::{DemoClinic, DemoConfig};

    let setup = server_at(CLINIC_MORNING_MS).await?;
    let operations = setup.server.client_as("operations").await?;
    let url = |extra: &str| {
        setup.server.url(&format!(
            "/api/v1/journeys/patient-visit?from={MORNING_FROM}&to={MORNING_TO}{extra}"
        ))
    };
    let response = operations.get(url("")).send().await?;
    ensure!(response.status() == 200, "{}", response.status());
    let body = response.text().await?;
    let answer: JourneyAnswer = serde_json::from_str(&body)?;

    let clinic = DemoClinic::new(DemoConfig::default());
    let range = TimeRange::new(1_795_420_800_000, 1_795_420_800_000 + 4 * 3_600_000);
    ensure!(
        answer.from == range.start_ms && answer.to == range.end_ms,
        "{answer:?}"
    );
    let counts: Vec<u64> = answer.steps.iter().map(|step| step.reached).collect();
    ensure!(
        counts == clinic.journey_truth(range, None),
        "{counts:?} against the demo's own count {:?}",
        clinic.journey_truth(range, None)
    );
    for group in &answer.groups {
        let counts: Vec<u64> = group.steps.iter().map(|step| step.reached).collect();
        ensure!(
            counts == clinic.journey_truth(range, Some(&group.name)),
            "{}: {counts:?}",
            group.name
        );
    }
    ensure!(answer.groups.len() == 3, "{:?}", answer.groups);
    // The week before is counted the same way.
    let before = TimeRange::new(range.start_ms - 7 * 86_400_000, range.end_ms - 7 * 86_400_000);
    let reached_before: Vec<u64> = answer.steps.iter().map(|step| step.reached_before).collect();
    ensure!(
        reached_before == clinic.journey_truth(before, None),
        "{reached_before:?}"
    );
    ensure!(
        answer
            .sentence
            .starts_with(&format!("Of {} patients who registered", counts[0])),
        "{}",
        answer.sentence
    );
    // Counts only: no patient id, and no pseudonym, in the answer.
    ensure!(!body.contains("p-") && !body.contains("patient_id"), "{body}");
    ensure!(
        !body
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|run| run.len() >= 16 && run.chars().any(|c| c.is_ascii_alphabetic())),
        "nothing that looks like a hash: {body}"
    );

    // One clinic: the south loses more patients before booking.
    let south: JourneyAnswer = get(&operations, url("&var.clinic=south")).await?;
    let south_counts: Vec<u64> = south.steps.iter().map(|step| step.reached).collect();
    ensure!(
        south_counts == clinic.journey_truth(range, Some("south")),
        "{south_counts:?}"
    );
    ensure!(south.sentence.contains("in clinic south"), "{}", south.sentence);

    for (extra, says) in [
        ("&var.clinic=north&var.clinic=south", "given twice"),
        ("&var.ward=x", "takes from, to and var.clinic"),
        ("&var.clinic=no%20such", "takes a clinic name"),
    ] {
        let refused = operations.get(url(extra)).send().await?;
        ensure!(refused.status() == 400, "{extra}: {}", refused.status());
        let text = refused.text().await?;
        ensure!(text.contains(says), "{extra}: {text}");
    }
    Ok(())
}

#[tokio::test]
async fn the_login_failure_is_explained_by_its_getitem_its_trace_and_its_pattern() -> Result<()> {
    // Clinicians look at the status page during the failure, so its history records it.
    let setup = server_at(FAILURE_BEGUN_MS + 60_000).await?;
    let clinician = setup.server.client_as("clinician").await?;
    for _ in 0..2 {
        let status: serde_json::Value = get(&clinician, setup.server.url("/api/v1/status")).await?;
        ensure!(status["components"].is_array(), "{status}");
        setup.clock.advance(Duration::from_secs(180));
    }
    setup.clock.advance(Duration::from_millis(
        (AFTER_FAILURE_MS - FAILURE_BEGUN_MS - 420_000) as u64,
    ));
    let engineer = setup.server.client_as("engineer").await?;
    // 10:35 to 10:55: the failure from 10:40 to 10:50 and quiet minutes around it.
    let url = setup.server.url("/api/v1/explanations?from=now-20m&to=now");
    let list: ExplanationList = get(&engineer, url.clone()).await?;
    ensure!(list.explanations.len() == 1, "{list:#?}");
    let explanation = &list.explanations[0];
    eprintln!("{}", explanation.sentence);
    ensure!(explanation.slo == "logins", "{explanation:?}");
    ensure!(
        explanation.since == FAILURE_FROM_MS && explanation.until == Some(FAILURE_TO_MS),
        "from 10:40 to 10:50: {explanation:?}"
    );
    ensure!(
        explanation
            .sentence
            .starts_with("From 10:40 UTC to 10:50 UTC, about ")
            && explanation.sentence.contains(
                "failed: login-api could not find a record in DynamoDB (GetItem answered ResourceNotFound; "
            ),
        "{}",
        explanation.sentence
    );
    let evidence = explanation
        .evidence
        .as_ref()
        .context("engineers see the evidence")?;
    let dependency = evidence.dependency.as_ref().context("the dependency")?;
    ensure!(
        (dependency.source.as_str(), dependency.target.as_str()) == ("login-api", "DynamoDB")
            && dependency.failed_share_before == 0.0,
        "{dependency:?}"
    );
    let span = evidence.span.as_ref().context("the failing span")?;
    ensure!(
        span.name == "DynamoDB.GetItem"
            && span.operation.as_deref() == Some("GetItem")
            && span.error.as_deref() == Some("ResourceNotFoundException"),
        "{span:?}"
    );
    let trace = engineer
        .get(setup.server.url(&format!("/api/v1/traces/{}", span.trace_id)))
        .send()
        .await?;
    ensure!(trace.status() == 200, "the trace opens: {}", trace.status());
    let pattern = evidence.pattern.as_ref().context("the log pattern")?;
    ensure!(
        pattern.template.contains("GetItem failed") && pattern.new,
        "{pattern:?}"
    );
    // The demo's logs, metrics and traces tell of the same requests: each failed GetItem is one
    // line of the pattern.
    ensure!(
        u64::from(pattern.count) == dependency.failed,
        "{} lines, {} failed calls",
        pattern.count,
        dependency.failed
    );
    ensure!(
        explanation
            .sentence
            .contains(&format!("; {} times)", dependency.failed)),
        "{}",
        explanation.sentence
    );
    let lines: serde_json::Value = engineer
        .post(setup.server.url("/api/v1/logs/query"))
        .header(vitals_api::CSRF_HEADER, "1")
        .json(&serde_json::json!({"query": pattern.query, "from": "now-20m", "to": "now", "limit": 5000}))
        .send()
        .await?
        .json()
        .await?;
    let shown = lines["lines"].as_array().map_or(0, Vec::len);
    ensure!(
        shown == pattern.count as usize,
        "the pattern's query keeps its {} lines: {shown} ({})",
        pattern.count,
        pattern.query
    );

    // Operations read the same sentence, without the evidence.
    let operations = setup.server.client_as("operations").await?;
    let theirs: ExplanationList = get(&operations, url).await?;
    ensure!(
        theirs.explanations.len() == 1
            && theirs.explanations[0].sentence == explanation.sentence
            && theirs.explanations[0].evidence.is_none(),
        "{theirs:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_quiet_range_has_no_explanation_and_a_failure_is_explained_a_minute_in() -> Result<()> {
    let setup = server_at(AFTER_FAILURE_MS).await?;
    let engineer = setup.server.client_as("engineer").await?;
    // 10:00 to 10:35: nothing failed, so nothing is made up.
    let quiet: ExplanationList = get(
        &engineer,
        setup.server.url("/api/v1/explanations?from=now-55m&to=now-20m"),
    )
    .await?;
    ensure!(
        quiet.explanations.is_empty() && quiet.not_explained == 0 && quiet.cannot_tell.is_empty(),
        "{quiet:?}"
    );

    let setup = server_at(FAILURE_BEGUN_MS).await?;
    let operations = setup.server.client_as("operations").await?;
    let list: ExplanationList =
        get(&operations, setup.server.url("/api/v1/explanations?from=now-30m")).await?;
    ensure!(list.explanations.len() == 1, "{list:?}");
    let explanation = &list.explanations[0];
    ensure!(
        explanation.until.is_none()
            && explanation.since == FAILURE_FROM_MS
            && explanation.sentence.contains(
                "fails: login-api cannot find a record in DynamoDB (GetItem answers ResourceNotFound; "
            ),
        "{explanation:?}"
    );
    Ok(())
}

#[tokio::test]
async fn objectives_whose_numbers_cannot_be_read_are_named_not_passed_over_as_fine() -> Result<()> {
    // No objective can be read, in the middle of the login failure.
    let server = TestServer::start_with_metrics_down(LOGIN_FAILING_MS).await?;
    let operations = server.client_as("operations").await?;
    let list: ExplanationList = get(&operations, server.url("/api/v1/explanations?from=now-30m")).await?;
    ensure!(list.explanations.is_empty(), "no cause is guessed: {list:?}");
    ensure!(
        list.cannot_tell
            == [
                "Logins succeed",
                "Registrations complete",
                "Appointments are booked within a second"
            ],
        "every objective with an explanation, by name: {:?}",
        list.cannot_tell
    );
    Ok(())
}

#[tokio::test]
async fn many_viewers_cost_one_explanation_per_evaluation() -> Result<()> {
    let setup = server_at(AFTER_FAILURE_MS).await?;
    let client = setup.server.client_as("operations").await?;
    let url = setup.server.url("/api/v1/explanations?from=now-20m&to=now");
    let answers =
        futures::future::join_all((0..VIEWERS).map(|_| get::<ExplanationList>(&client, url.clone()))).await;
    let mut sentences = std::collections::BTreeSet::new();
    for answer in answers {
        let answer = answer?;
        ensure!(answer.explanations.len() == 1, "{answer:?}");
        sentences.insert(answer.explanations[0].sentence.clone());
    }
    ensure!(sentences.len() == 1, "one answer for everyone: {sentences:?}");
    ensure!(
        setup.explanations.explained() == 1,
        "{} explanations",
        setup.explanations.explained()
    );
    // The objectives' evaluation (two range queries each) and the failure's minutes (two).
    ensure!(
        setup.calls.load(Ordering::SeqCst) == 8,
        "{} calls",
        setup.calls.load(Ordering::SeqCst)
    );
    // The next evaluation explains again, once.
    setup.clock.advance(Duration::from_secs(60));
    get::<ExplanationList>(&client, url.clone()).await?;
    get::<ExplanationList>(&client, url).await?;
    ensure!(
        setup.explanations.explained() == 2,
        "{} explanations",
        setup.explanations.explained()
    );
    Ok(())
}
