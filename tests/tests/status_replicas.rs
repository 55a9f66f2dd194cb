//! Two `vitals-server` processes sharing one DynamoDB status table (moto), as replicas behind a
//! load balancer: however many clinicians look at the status through either at once, one of the
//! two evaluates it in the interval, and each change of state is written to the history once.
//!
//! The processes run on the real clock and the demo clinic, so what the components say depends
//! on the time of day; the test asserts only what holds at any time: the evaluations each
//! process counts on its `/metrics`, the records in the shared table, and the answers agreeing
//! with those records.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use vitals_api::{ComponentState, StatusResponse};
use vitals_server::status::board::NOT_CHECKED_YET;
use vitals_server::store::StatusStore;
use vitals_tests::moto::{MOTO_REGION, MotoServer};
use vitals_tests::server_process::{ServerProcess, server_binary};

const SESSION_TABLE: &str = "vitals-sessions-replicas";
const STATUS_TABLE: &str = "vitals-status-replicas";
/// Viewers asking each process at once.
const VIEWERS: usize = 200;
/// An interval far longer than the test, so every viewer asks within the first one.
const INTERVAL_SECONDS: u32 = 3_600;
/// How long both crowds together may take to be answered.
const ANSWERED_WITHIN: Duration = Duration::from_secs(60);
const EVALUATIONS: &str = "vitals_status_evaluations_total";

/// The wall clock the server processes run on, in milliseconds.
fn now_ms() -> Result<i64> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis(),
    )?)
}

/// What a viewer reads of one component: its state, the sentence and since when.
type Shown = Vec<(String, ComponentState, String, i64)>;

fn shown(answer: &StatusResponse) -> Shown {
    answer
        .components
        .iter()
        .map(|component| {
            (
                component.id.clone(),
                component.state,
                component.says.clone(),
                component.since,
            )
        })
        .collect()
}

/// `viewers` requests to GET /api/v1/status at once, as one logged-in clinician.
async fn crowd(
    client: &reqwest::Client,
    server: &ServerProcess,
    viewers: usize,
) -> Result<Vec<StatusResponse>> {
    let ask = || async {
        let response = client.get(server.url("/api/v1/status")).send().await?;
        ensure!(
            response.status() == 200,
            "GET /api/v1/status on {}: {}",
            server.address,
            response.status()
        );
        Ok(response.json::<StatusResponse>().await?)
    };
    futures::future::try_join_all((0..viewers).map(|_| ask())).await
}

/// Every answer of one process is the same: one evaluation, or one read of the store, for all.
fn one_answer(name: &str, answers: &[StatusResponse]) -> Result<StatusResponse> {
    let first = answers.first().context("no answers")?;
    for answer in answers {
        ensure!(
            answer.as_of == first.as_of && shown(answer) == shown(first),
            "{name} gave two answers in one interval: {:?} at {}, then {:?} at {}",
            shown(first),
            first.as_of,
            shown(answer),
            answer.as_of
        );
    }
    Ok(first.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_on_one_table_evaluate_once_between_them_and_record_each_change_once()
-> Result<()> {
    let started = Instant::now();
    // Before anything starts: a missing or outdated server says so at once.
    server_binary()?;
    let moto = MotoServer::start().await?;
    moto.session_store(SESSION_TABLE).await?.ensure_table().await?;
    let history = moto.status_store(STATUS_TABLE).await?;
    history.ensure_table().await?;

    let settings = [
        ("VITALS_SESSION_TABLE", SESSION_TABLE.to_owned()),
        ("VITALS_DYNAMODB_STATUS_TABLE", STATUS_TABLE.to_owned()),
        ("VITALS_DYNAMODB_ENDPOINT", moto.url()),
        ("AWS_REGION", MOTO_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("VITALS_STATUS_INTERVAL_SECONDS", INTERVAL_SECONDS.to_string()),
    ];
    let (a, b) = tokio::try_join!(ServerProcess::start(&settings), ServerProcess::start(&settings))?;
    let (clinician_a, clinician_b) = tokio::try_join!(a.client_as("clinician"), b.client_as("clinician"))?;
    ensure!(
        (a.counter(EVALUATIONS).await?, b.counter(EVALUATIONS).await?) == (0, 0),
        "nobody has looked yet"
    );

    // Both crowds at once, so both processes reach for the lease together.
    let crowd_from_ms = now_ms()?;
    let (answers_a, answers_b) = tokio::time::timeout(
        ANSWERED_WITHIN,
        futures::future::try_join(crowd(&clinician_a, &a, VIEWERS), crowd(&clinician_b, &b, VIEWERS)),
    )
    .await
    .with_context(|| {
        format!(
            "{} viewers were not answered within {ANSWERED_WITHIN:?}",
            2 * VIEWERS
        )
    })??;
    let crowd_until_ms = now_ms()?;
    let (answer_a, answer_b) = (one_answer("a", &answers_a)?, one_answer("b", &answers_b)?);

    let evaluations = (a.counter(EVALUATIONS).await?, b.counter(EVALUATIONS).await?);
    ensure!(
        evaluations.0 + evaluations.1 == 1,
        "{} viewers on two processes: {evaluations:?} evaluations, one expected between them\n\
         a's log:\n{}\nb's log:\n{}",
        2 * VIEWERS,
        a.log(),
        b.log()
    );
    let (evaluated, read) = if evaluations.0 == 1 {
        (&answer_a, &answer_b)
    } else {
        (&answer_b, &answer_a)
    };
    ensure!(
        answer_a.components.len() == 4 && answer_a.interval_seconds == INTERVAL_SECONDS,
        "every component, evaluated every {INTERVAL_SECONDS} s: {:?} every {} s",
        shown(&answer_a),
        answer_a.interval_seconds
    );

    // The history: each component's first state recorded once, as the evaluating process showed it.
    let mut recorded = BTreeMap::new();
    for component in &evaluated.components {
        let changes = history.changes(&component.id, 0, now_ms()? + 60_000).await?;
        ensure!(
            changes.len() == 1,
            "{}: one change recorded, not {changes:?}",
            component.id
        );
        recorded.insert(component.id.clone(), changes[0].clone());
    }
    for (id, state, says, since) in shown(evaluated) {
        let change = &recorded[&id];
        ensure!(
            change.at_ms == since && change.says == says && state == change.state,
            "{id}: shown {state:?} since {since} ({says}), recorded {change:?}"
        );
    }

    // The other process shows what the evaluating one recorded, read from the table: the
    // records written before it read them. A component whose first record was not written yet
    // (the evaluation and the read run at once on a new table) it shows as not checked yet, and
    // reads again within a moment rather than a whole interval later: the lease says who
    // evaluates, not when the evaluation is written, so a first read can come too early.
    let mut read_too_early = Vec::new();
    for (id, state, says, since) in shown(read) {
        let change = &recorded[&id];
        if (state, &says, since) == (change.state, &change.says, change.at_ms) {
            continue;
        }
        ensure!(
            (state, says.as_str(), since) == (ComponentState::Unknown, NOT_CHECKED_YET, read.as_of),
            "{id}: the other process shows {state:?} since {since} ({says}), recorded {change:?}"
        );
        read_too_early.push(id);
    }
    for answer in [evaluated, read] {
        ensure!(
            (crowd_from_ms..=crowd_until_ms).contains(&answer.as_of),
            "each process answers as of its one look in this interval: {} outside {crowd_from_ms}..={crowd_until_ms}",
            answer.as_of
        );
    }
    eprintln!(
        "{} viewers on two processes, one evaluation, {} components read before their first \
         record, in {:?}",
        2 * VIEWERS,
        read_too_early.len(),
        started.elapsed()
    );
    Ok(())
}
