//! The status page's JSON: what each component says on the demo clinic, and one evaluation per
//! interval however many people ask at once (the upstream calls counted).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Result, ensure};
use async_trait::async_trait;
use vitals_api::clock::ManualClock;
use vitals_api::query::TimeRange;
use vitals_api::{Backend, ComponentState, MetricQueryResponse, StatusResponse};
use vitals_server::sources::{MetricSource, SourceError};
use vitals_server::state::Clock;
use vitals_server::status::board::StatusBoard;
use vitals_tests::{TestServer, test_config};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, nothing failing.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// 10:46, inside the login failure the demo runs from minute 40 to 50.
const LOGIN_FAILING_MS: i64 = CLINIC_MORNING_MS + 26 * 60_000;
const VIEWERS: usize = 200;

/// The demo clinic's metrics, every call counted.
struct Counted {
    inner: Arc<dyn MetricSource>,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl MetricSource for Counted {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query_range(query, range, step_ms).await
    }

    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query_instant(query, at_ms).await
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        self.inner.metric_names().await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        self.inner.probe().await
    }
}

/// A server on the demo clinic whose clock the test moves, and its counted metric calls.
async fn server_at(now_ms: i64) -> Result<(TestServer, Arc<ManualClock>, Arc<AtomicU64>, Arc<StatusBoard>)> {
    let data = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(now_ms));
    let config = test_config(data.path());
    let mut sources = vitals_server::demo_sources(&config, clock.clone());
    let calls = Arc::new(AtomicU64::new(0));
    sources.metrics = Arc::new(Counted {
        inner: sources.metrics.clone(),
        calls: calls.clone(),
    });
    let state = vitals_server::build_state(&config, &sources, clock.clone() as Arc<dyn Clock>)?;
    let board = state.status.clone();
    Ok((
        TestServer::start_with_state(state, data).await?,
        clock,
        calls,
        board,
    ))
}

async fn status(client: &reqwest::Client, server: &TestServer) -> Result<StatusResponse> {
    let response = client.get(server.url("/api/v1/status")).send().await?;
    ensure!(
        response.status() == 200,
        "GET /api/v1/status: {}",
        response.status()
    );
    Ok(response.json().await?)
}

#[tokio::test]
async fn clinicians_read_each_component_in_words_and_logins_out_during_the_failure() -> Result<()> {
    let (server, _, _, _) = server_at(LOGIN_FAILING_MS).await?;
    let clinician = server.client_as("clinician").await?;
    let answer = status(&clinician, &server).await?;
    let names: Vec<_> = answer.components.iter().map(|c| c.name.as_str()).collect();
    ensure!(
        names
            == [
                "Patient registration",
                "Logging in",
                "Appointments",
                "Patient records"
            ],
        "{names:?}"
    );
    let login = &answer.components[1];
    ensure!(
        matches!(
            login.state,
            ComponentState::PartialOutage | ComponentState::MajorOutage
        ),
        "logging in during the failure: {login:?}"
    );
    ensure!(login.says.contains("log in"), "said in words: {login:?}");
    ensure!(
        answer.components[0].state == ComponentState::Operational,
        "{answer:?}"
    );
    ensure!(
        answer.interval_seconds == 30 && answer.as_of == LOGIN_FAILING_MS,
        "{answer:?}"
    );
    Ok(())
}

#[tokio::test]
async fn many_viewers_at_once_cost_one_evaluation_per_interval() -> Result<()> {
    let (server, clock, calls, board) = server_at(CLINIC_MORNING_MS).await?;
    let client = server.client_as("clinician").await?;
    let ask_all = || futures::future::join_all((0..VIEWERS).map(|_| status(&client, &server)));

    for answer in ask_all().await {
        ensure!(
            answer?.as_of == CLINIC_MORNING_MS,
            "one answer for everyone in the interval"
        );
    }
    let first = calls.load(Ordering::SeqCst);
    ensure!(first > 0, "the evaluation asked the metrics");
    ensure!(
        board.evaluations() == 1,
        "{VIEWERS} viewers, {} evaluations",
        board.evaluations()
    );
    for answer in ask_all().await {
        answer?;
    }
    ensure!(
        calls.load(Ordering::SeqCst) == first,
        "{VIEWERS} more viewers in the same interval asked nothing more"
    );

    // The next interval: one more evaluation, whoever asks.
    clock.advance(Duration::from_secs(30));
    for answer in ask_all().await {
        ensure!(
            answer?.as_of == CLINIC_MORNING_MS + 30_000,
            "the new interval's answer"
        );
    }
    let second = calls.load(Ordering::SeqCst);
    ensure!(
        second > first && second <= 2 * first,
        "one evaluation for the second interval: {first} calls, then {second}"
    );
    ensure!(
        board.evaluations() == 2,
        "two intervals, {} evaluations",
        board.evaluations()
    );
    Ok(())
}

#[tokio::test]
async fn two_replicas_on_one_store_evaluate_once_between_them_and_show_the_same() -> Result<()> {
    use vitals_server::dashboards::Dashboards;
    use vitals_server::status::definition::{SHIPPED, SHIPPED_FILE, parse};
    use vitals_server::store::SqliteStore;

    let data = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(data.path())?);
    let page = parse(SHIPPED_FILE, SHIPPED)?;
    let (a, b) = (
        StatusBoard::new(page.clone(), store.clone(), 30),
        StatusBoard::new(page, store, 30),
    );
    let clock = Arc::new(ManualClock::new(LOGIN_FAILING_MS));
    let sources = vitals_server::demo_sources(&vitals_server::config::Config::default(), clock.clone());
    let catalog = Dashboards::shipped().catalog();

    let evaluated = a.status(&sources, &catalog, LOGIN_FAILING_MS).await?;
    let read = b.status(&sources, &catalog, LOGIN_FAILING_MS).await?;
    ensure!(
        (a.evaluations(), b.evaluations()) == (1, 0),
        "the lease holder alone evaluates"
    );
    ensure!(
        evaluated.components == read.components,
        "the other replica shows what the holder recorded:\n{evaluated:?}\n{read:?}"
    );

    // Later intervals, both asking at once: still one evaluation each interval between them.
    for interval in 1..=4 {
        let now = LOGIN_FAILING_MS + interval * 30_000;
        let (x, y) = tokio::join!(
            a.status(&sources, &catalog, now),
            b.status(&sources, &catalog, now)
        );
        let (x, y) = (x?, y?);
        ensure!(
            a.evaluations() + b.evaluations() == 1 + interval as u64,
            "interval {interval}: {} + {} evaluations",
            a.evaluations(),
            b.evaluations()
        );
        let states = |answer: &StatusResponse| answer.components.iter().map(|c| c.state).collect::<Vec<_>>();
        ensure!(states(&x) == states(&y), "interval {interval}: {x:?}\n{y:?}");
    }
    Ok(())
}
