//! The audit trail as a security reviewer checks it: every access that reaches data is on
//! record before its answer leaves, admins' reads included, even across a killed process.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tower::ServiceExt;
use vitals_api::{AuditAction, AuditEvent};
use vitals_server::auth::session::{SessionContext, sweep_expired_sessions};
use vitals_server::config::{Config, Secret};
use vitals_server::state::{AppState, Clock, FixedClock, ManualClock};
use vitals_server::store::{
    AuditFilter, AuditLog, BatchedAudit, NewAuditEvent, NumberedAuditEvent, SqliteStore, StoreError,
};
use vitals_server::{app, demo_sources, local_auth, state_with_auth};

const SERVER: &str = env!("CARGO_BIN_EXE_vitals-server");
/// Tuesday 2026-11-24 10:20 UTC.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;
const PASSWORD: &str = "audit-test-password";
const METRIC_QUERY: &str = "sum(login_attempts_total)";

/// The audit trail in SQLite, refusing every write while `failing` is set (a full disk) and
/// holding each write until a permit is added while `holding` is set (a slow one).
struct Controlled {
    store: SqliteStore,
    failing: AtomicBool,
    holding: AtomicBool,
    released: Semaphore,
    writes: AtomicUsize,
}

impl Controlled {
    fn over(store: SqliteStore) -> Self {
        Self {
            store,
            failing: AtomicBool::new(false),
            holding: AtomicBool::new(false),
            released: Semaphore::new(0),
            writes: AtomicUsize::new(0),
        }
    }

    async fn write(&self) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        if self.holding.load(Ordering::SeqCst) {
            self.released.acquire().await.unwrap().forget();
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the disk is full".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl AuditLog for Controlled {
    async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        self.write().await?;
        self.store.append(event).await
    }

    async fn append_numbered(&self, entries: &[NumberedAuditEvent]) -> Result<(), StoreError> {
        self.write().await?;
        self.store.append_numbered(entries).await
    }

    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        self.store.query(filter).await
    }
}

/// Polls `done` every millisecond for at most five seconds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what} never happened"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A server on the demo clinic at [`CLINIC_MORNING_MS`] whose audit trail is `audit`, batched
/// as the server batches it.
fn state_with_audit(data: &Path, audit: Arc<dyn AuditLog>) -> AppState {
    state_at(data, audit, Arc::new(FixedClock(CLINIC_MORNING_MS)))
}

/// [`state_with_audit`] on `clock`.
fn state_at(data: &Path, audit: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> AppState {
    let config = Config {
        dist_dir: data.join("no-app"),
        data_dir: data.to_owned(),
        demo_password: Some(Secret(PASSWORD.into())),
        ..Config::default()
    };
    let mut auth = local_auth(&config, clock.clone()).unwrap();
    auth.audit = Arc::new(BatchedAudit::new(audit));
    state_with_auth(&config, &demo_sources(&config, clock.clone()), auth, clock).unwrap()
}

async fn call(router: &Router, method: Method, path: &str, cookie: &str) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::COOKIE, cookie)
        .header("x-vitals-csrf", "1");
    let body = if method == Method::POST {
        request = request.header(header::CONTENT_TYPE, "application/json");
        Body::from(json!({ "query": METRIC_QUERY }).to_string())
    } else {
        Body::empty()
    };
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_access_the_trail_cannot_record_is_refused_and_its_answer_withheld() {
    let data = tempfile::tempdir().unwrap();
    let audit = Arc::new(Controlled::over(SqliteStore::open(data.path()).unwrap()));
    let router = app(state_with_audit(data.path(), audit.clone()));
    let engineer = common::login(&router, "engineer", PASSWORD).await;
    let (status, answer) = call(&router, Method::POST, "/api/v1/metrics/query", &engineer).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.get("series").is_some(), "{answer}");

    audit.failing.store(true, Ordering::SeqCst);
    let (status, answer) = call(&router, Method::POST, "/api/v1/metrics/query", &engineer).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"]["code"], "audit_unavailable");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("answer is withheld"),
        "{answer}"
    );
    assert_eq!(
        answer.as_object().map(|body| body.len()),
        Some(1),
        "only the error: {answer}"
    );
}

#[tokio::test]
async fn an_admin_reading_the_audit_trail_is_on_it() {
    let data = tempfile::tempdir().unwrap();
    let router = app(state_with_audit(
        data.path(),
        Arc::new(SqliteStore::open(data.path()).unwrap()),
    ));
    let admin = common::login(&router, "admin", PASSWORD).await;
    let (status, _) = call(&router, Method::GET, "/api/v1/audit?action=logs_query", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = call(&router, Method::GET, "/api/v1/audit?action=audit_read", &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let reads = page["events"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "the first read, not yet the second: {page}");
    assert_eq!(reads[0]["user"], "admin");
    assert_eq!(reads[0]["outcome"], "ok");
    assert_eq!(reads[0]["target"], "/api/v1/audit action=logs_query");
}

/// Every route that reaches data, as an engineer asks it, and the action it is recorded as.
const DATA_ROUTES: &[(&str, &str, AuditAction)] = &[
    ("POST", "/api/v1/logs/query", AuditAction::LogsQuery),
    ("POST", "/api/v1/logs/patterns", AuditAction::LogsQuery),
    ("GET", "/api/v1/logs/labels", AuditAction::LogsQuery),
    (
        "GET",
        "/api/v1/logs/labels/service/values",
        AuditAction::LogsQuery,
    ),
    ("POST", "/api/v1/metrics/query", AuditAction::MetricsQuery),
    ("GET", "/api/v1/metrics/names", AuditAction::MetricsQuery),
    ("POST", "/api/v1/traces/search", AuditAction::TracesQuery),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef",
        AuditAction::TracesQuery,
    ),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef/summary",
        AuditAction::TracesQuery,
    ),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef/window",
        AuditAction::TracesQuery,
    ),
    (
        "GET",
        "/api/v1/traces/0123456789abcdef0123456789abcdef/compare/0123456789abcdef0123456789abcdef",
        AuditAction::TracesQuery,
    ),
    ("GET", "/api/v1/service-map", AuditAction::ServiceMap),
    ("GET", "/api/v1/journeys/patient-visit", AuditAction::JourneyRead),
    ("POST", "/api/v1/reveal", AuditAction::Reveal),
    ("POST", "/api/v1/links", AuditAction::LinkCreate),
    (
        "GET",
        "/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA",
        AuditAction::LinkOpen,
    ),
    (
        "DELETE",
        "/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA",
        AuditAction::LinkRevoke,
    ),
];

#[tokio::test]
async fn every_route_that_reaches_data_is_on_record_under_its_action() {
    let data = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(data.path()).unwrap();
    let router = app(state_with_audit(data.path(), Arc::new(store.clone())));
    let engineer = common::login(&router, "engineer", PASSWORD).await;
    for (method, path, action) in DATA_ROUTES {
        call(&router, method.parse().unwrap(), path, &engineer).await;
        let newest = store.query(&AuditFilter::default()).await.unwrap();
        assert_eq!(
            (newest[0].action, newest[0].target.split(' ').next()),
            (*action, Some(*path)),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_filter_on_an_action_the_trail_does_not_record_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let router = app(state_with_audit(
        data.path(),
        Arc::new(SqliteStore::open(data.path()).unwrap()),
    ));
    let admin = common::login(&router, "admin", PASSWORD).await;
    let (status, answer) = call(&router, Method::GET, "/api/v1/audit?action=error%20101", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "invalid_action");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("logs_tail"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_server_stopping_mid_sweep_records_what_the_sweep_expired() {
    let data = tempfile::tempdir().unwrap();
    let audit = Arc::new(Controlled::over(SqliteStore::open(data.path()).unwrap()));
    let clock = Arc::new(ManualClock::new(CLINIC_MORNING_MS));
    let state = state_at(data.path(), audit.clone(), clock.clone());
    common::login(&app(state.clone()), "engineer", PASSWORD).await;
    clock.advance(Duration::from_secs(60 * 60));

    // The sweep has removed the session and is recording its end when the server stops.
    audit.holding.store(true, Ordering::SeqCst);
    let writes_before = audit.writes.load(Ordering::SeqCst);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(sweep_expired_sessions(SessionContext::from_ref(&state), stopping));
    until("the sweep records an expiry", || {
        audit.writes.load(Ordering::SeqCst) > writes_before
    })
    .await;
    stop.send(true).unwrap();
    tokio::task::yield_now().await;
    assert!(
        !sweeper.is_finished(),
        "the sweeper stopped before its entries were stored"
    );
    audit.released.add_permits(1);
    sweeper.await.unwrap();

    let expiries = audit
        .query(&AuditFilter {
            action: Some(AuditAction::SessionExpired),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(expiries.len(), 1);
    assert_eq!(expiries[0].user, "engineer");
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn no_audit_action_is_written_as_text() {
    let quoted: Vec<String> = AuditAction::ALL
        .iter()
        .map(|action| format!("\"{}\"", action.as_str()))
        .collect();
    let action_word = regex::Regex::new(r"\baction\b").unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut text_actions = Vec::new();
    for dir in ["server/src", "frontend/src"] {
        for file in rust_files(&workspace.join(dir)) {
            let source = std::fs::read_to_string(&file).unwrap();
            for (number, line) in source.lines().enumerate() {
                if action_word.is_match(line) && quoted.iter().any(|name| line.contains(name.as_str())) {
                    text_actions.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        text_actions.is_empty(),
        "audit actions written as text rather than as `AuditAction`:\n{}",
        text_actions.join("\n")
    );
}

/// A running server binary; killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server binary on the demo clinic with its data in `data`; returns it and the
/// address it says it listens on, once it says so.
async fn start_binary(data: &Path) -> (Process, String) {
    let log = data.join("server.log");
    let process = Process(
        Command::new(SERVER)
            .current_dir(data)
            .env("VITALS_LISTEN", "127.0.0.1:0")
            .env("VITALS_ADMIN_LISTEN", "127.0.0.1:0")
            .env("VITALS_DIST_DIR", data)
            .env("VITALS_DATA_DIR", data.join("store"))
            .env("VITALS_DEMO_PASSWORD", PASSWORD)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(start) = text.find("open http://") {
            let rest = &text[start + "open http://".len()..];
            let address = rest.split('/').next().unwrap().to_owned();
            return (process, address);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server never said where it listens:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acknowledged_audit_entries_survive_a_killed_process() {
    const QUERIES: usize = 40;
    let data = tempfile::tempdir().unwrap();
    let (mut server, address) = start_binary(data.path()).await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("http://{address}/api/v1/session"))
        .header("x-vitals-csrf", "1")
        .json(&json!({"username": "engineer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "{}", login.status());
    let cookie = common::cookie_of(login.headers());
    // Concurrent, so entries share commits as they do under load.
    let queries = (0..QUERIES).map(|_| {
        client
            .post(format!("http://{address}/api/v1/metrics/query"))
            .header("cookie", &cookie)
            .header("x-vitals-csrf", "1")
            .json(&json!({ "query": METRIC_QUERY }))
            .send()
    });
    for answer in futures::future::join_all(queries).await {
        assert_eq!(answer.unwrap().status(), reqwest::StatusCode::OK);
    }

    // SIGKILL: no shutdown, no final flush.
    server.0.kill().unwrap();
    server.0.wait().unwrap();

    let store = SqliteStore::open(&data.path().join("store")).unwrap();
    let recorded = store
        .query(&AuditFilter {
            user: Some("engineer".into()),
            action: Some(AuditAction::MetricsQuery),
            limit: 1_000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(recorded.len(), QUERIES, "every answered query is on record");
    assert!(recorded.iter().all(|entry| entry.outcome == "ok"));
}
