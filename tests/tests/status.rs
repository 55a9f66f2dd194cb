//! The status page's JSON: what each component says on the demo clinic, and one evaluation per
//! interval however many people ask at once (the upstream calls counted).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use vitals_api::clock::ManualClock;
use vitals_api::{ComponentState, StatusResponse};
use vitals_server::state::Clock;
use vitals_server::status::board::StatusBoard;
use vitals_tests::counted::CountedMetrics;
use vitals_tests::{TestServer, test_config};

/// Tuesday 2026-11-24 10:20 UTC: clinic hours, nothing failing.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
/// 10:46, inside the login failure the demo runs from minute 40 to 50.
const LOGIN_FAILING_MS: i64 = CLINIC_MORNING_MS + 26 * 60_000;
const VIEWERS: usize = 200;

/// A server on the demo clinic whose clock the test moves, and its counted metric calls.
async fn server_at(now_ms: i64) -> Result<(TestServer, Arc<ManualClock>, Arc<AtomicU64>, Arc<StatusBoard>)> {
    let data = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(now_ms));
    let config = test_config(data.path());
    let mut sources = vitals_server::demo_sources(&config, clock.clone());
    let (metrics, calls) = CountedMetrics::wrap(sources.metrics.clone());
    sources.metrics = metrics;
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

/// Posts `body` to `path` and reads the notice answered.
async fn send_notice(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    body: Value,
) -> Result<(u16, Value)> {
    let response = client.post(server.url(path)).json(&body).send().await?;
    Ok((response.status().as_u16(), response.json().await?))
}

fn component<'a>(answer: &'a StatusResponse, id: &str) -> Result<&'a vitals_api::StatusComponent> {
    answer
        .components
        .iter()
        .find(|component| component.id == id)
        .ok_or_else(|| anyhow::anyhow!("no component {id}: {answer:?}"))
}

#[tokio::test]
async fn operations_posts_a_maintenance_window_that_puts_its_components_under_maintenance_for_its_span()
-> Result<()> {
    let (server, clock, _, _) = server_at(CLINIC_MORNING_MS).await?;
    let operations = server.client_as("operations").await?;
    let clinician = server.client_as("clinician").await?;
    let hour = 3_600_000;
    let (code, window) = send_notice(
        &operations,
        &server,
        "/api/v1/notices",
        json!({
            "kind": "maintenance",
            "title": "Records system upgrade",
            "components": ["records"],
            "message": "Records open read-only during the upgrade.",
            "starts_at": CLINIC_MORNING_MS + hour,
            "ends_at": CLINIC_MORNING_MS + 2 * hour,
        }),
    )
    .await?;
    ensure!(code == 201, "posting: {code} {window}");
    let id = window["id"].as_str().unwrap_or_default().to_owned();

    // Announced: shown as a notice at once, the component still as its readings say.
    let before = status(&clinician, &server).await?;
    ensure!(before.notices.len() == 1, "the notice shows at once: {before:?}");
    ensure!(
        component(&before, "records")?.state == ComponentState::Operational,
        "not under maintenance before the window"
    );

    clock.advance(Duration::from_millis(hour as u64 + 60_000));
    // An hour idle ends a session: both log in again.
    let (operations, clinician) = (
        server.client_as("operations").await?,
        server.client_as("clinician").await?,
    );
    let during = status(&clinician, &server).await?;
    let records = component(&during, "records")?;
    ensure!(
        records.state == ComponentState::UnderMaintenance
            && records.says == "Records open read-only during the upgrade.",
        "under maintenance for the window's span, saying operations' words: {records:?}"
    );
    ensure!(
        component(&during, "login")?.state == ComponentState::Operational,
        "only the components the window names"
    );

    // Ended early: the readings' state shows again, and the window moves to the past.
    clock.advance(Duration::from_secs(600));
    let (code, ended) = send_notice(
        &operations,
        &server,
        &format!("/api/v1/notices/{id}/updates"),
        json!({"message": "Finished early.", "progress": "resolved"}),
    )
    .await?;
    ensure!(code == 200, "ending it: {code} {ended}");
    ensure!(ended["updates"].as_array().map(Vec::len) == Some(2), "{ended}");
    let after = status(&clinician, &server).await?;
    ensure!(
        component(&after, "records")?.state == ComponentState::Operational,
        "{after:?}"
    );
    ensure!(
        after.notices.is_empty() && after.past_incidents.len() == 1,
        "finished: among past incidents: {after:?}"
    );
    let history = &component(&after, "records")?.history[0];
    ensure!(
        history
            .bars
            .iter()
            .any(|bar| bar.worst == Some(ComponentState::UnderMaintenance)),
        "the window is in the history: {history:?}"
    );
    Ok(())
}

#[tokio::test]
async fn notices_are_posted_by_operations_only_checked_and_audited() -> Result<()> {
    let (server, _, _, _) = server_at(CLINIC_MORNING_MS).await?;
    let operations = server.client_as("operations").await?;
    let clinician = server.client_as("clinician").await?;
    let incident = json!({
        "kind": "incident",
        "title": "Logging in fails for some staff",
        "components": ["login"],
        "message": "We are looking into it; use the paper form meanwhile.",
    });
    let (code, _) = send_notice(&clinician, &server, "/api/v1/notices", incident.clone()).await?;
    ensure!(
        code == 403,
        "clinicians read notices, they do not post them: {code}"
    );

    let mut wrong = incident.clone();
    wrong["components"] = json!(["pharmacy"]);
    let (code, error) = send_notice(&operations, &server, "/api/v1/notices", wrong).await?;
    ensure!(
        code == 400
            && error["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("pharmacy"),
        "a wrong component is named: {code} {error}"
    );

    let (code, posted) = send_notice(&operations, &server, "/api/v1/notices", incident).await?;
    ensure!(code == 201, "{code} {posted}");
    let id = posted["id"].as_str().unwrap_or_default();
    let update = |message: &str, progress: &str| json!({"message": message, "progress": progress});
    for (message, progress) in [
        ("The cause is found.", "identified"),
        ("Logins work again.", "resolved"),
    ] {
        let (code, body) = send_notice(
            &operations,
            &server,
            &format!("/api/v1/notices/{id}/updates"),
            update(message, progress),
        )
        .await?;
        ensure!(code == 200, "{code} {body}");
    }
    let (code, body) = send_notice(
        &operations,
        &server,
        &format!("/api/v1/notices/{id}/updates"),
        update("Again?", "investigating"),
    )
    .await?;
    ensure!(
        code == 400 && body["error"]["code"] == "notice_resolved",
        "a resolved notice takes no more updates: {code} {body}"
    );
    let (code, _) = send_notice(
        &operations,
        &server,
        "/api/v1/notices/AAAAAAAAAAAAAAAAAAAAAA/updates",
        update("Nothing here.", "resolved"),
    )
    .await?;
    ensure!(code == 404, "no such notice: {code}");

    let listed: Value = clinician
        .get(server.url("/api/v1/notices"))
        .send()
        .await?
        .json()
        .await?;
    let timeline: Vec<&str> = listed["past"][0]["updates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|update| update["progress"].as_str())
        .collect();
    ensure!(
        timeline == ["investigating", "identified", "resolved"],
        "the timeline, oldest first: {listed}"
    );

    let admin = server.client_as("admin").await?;
    let trail: Value = admin
        .get(server.url("/api/v1/audit"))
        .send()
        .await?
        .json()
        .await?;
    let notice_events: Vec<(&str, &str)> = trail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| {
            event["action"]
                .as_str()
                .is_some_and(|action| action.starts_with("notice_"))
        })
        .filter_map(|event| Some((event["action"].as_str()?, event["user"].as_str()?)))
        .collect();
    ensure!(
        notice_events
            .iter()
            .filter(|(action, _)| *action == "notice_post")
            .count()
            == 2
            && notice_events
                .iter()
                .filter(|(action, _)| *action == "notice_update")
                .count()
                == 4,
        "every change is audited, refused ones included: {notice_events:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_replica_taking_the_lease_back_shows_what_the_other_recorded_meanwhile_and_records_it_once()
-> Result<()> {
    use vitals_server::dashboards::Dashboards;
    use vitals_server::status::definition::{SHIPPED, SHIPPED_FILE, parse};
    use vitals_server::store::{SqliteStore, StatusStore};

    let data = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(data.path())?);
    let page = parse(SHIPPED_FILE, SHIPPED)?;
    let (a, b) = (
        StatusBoard::new(page.clone(), store.clone(), 30),
        StatusBoard::new(page, store.clone(), 30),
    );
    // 10:38, two minutes before the demo's login failure.
    let before_failure = CLINIC_MORNING_MS + 18 * 60_000;
    let clock = Arc::new(ManualClock::new(before_failure));
    let sources = vitals_server::demo_sources(&vitals_server::config::Config::default(), clock.clone());
    let catalog = Dashboards::shipped().catalog();
    let at = |interval: i64| before_failure + interval * 30_000;
    let login = |answer: &StatusResponse| (answer.components[1].state, answer.components[1].since);

    // b evaluates first, then stops being asked; a takes the lease over and sees logins fail.
    ensure!(
        login(&*b.status(&sources, &catalog, at(0)).await?).0 == ComponentState::Operational,
        "logging in works at 10:38"
    );
    let mut shown_by_a = None;
    for interval in 1..14 {
        shown_by_a = Some(login(&*a.status(&sources, &catalog, at(interval)).await?));
    }
    let shown_by_a = shown_by_a.context("a answered")?;
    ensure!(
        matches!(
            shown_by_a.0,
            ComponentState::PartialOutage | ComponentState::MajorOutage
        ),
        "a shows the failure at 10:44:30: {shown_by_a:?}"
    );

    // a stops being asked; b takes the lease back while logins still fail.
    for interval in 14..24 {
        let evaluated = b.evaluations();
        let shown_by_b = login(&*b.status(&sources, &catalog, at(interval)).await?);
        ensure!(b.evaluations() == evaluated + 1, "b holds the lease again");
        ensure!(
            shown_by_b == shown_by_a,
            "interval {interval}: b shows {shown_by_b:?} rather than what a recorded, {shown_by_a:?}"
        );
    }
    let outages: Vec<_> = store
        .changes("login", before_failure, at(24))
        .await?
        .into_iter()
        .filter(|change| change.state != ComponentState::Operational)
        .collect();
    ensure!(
        outages.len() == 1,
        "the failure is recorded once, not once per replica: {outages:?}"
    );
    Ok(())
}
