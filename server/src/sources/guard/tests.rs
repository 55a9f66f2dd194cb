//! The guardrails against a fake backend that counts calls and can hang, fail, panic or wait to be released.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use prometheus_client::registry::Registry;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};
use vitals_api::{
    Backend, Direction, Labels, LogLine, LogQueryResponse, MetricQueryResponse, ResultType, ServiceMap,
    Trace, TraceSummary,
};

use super::*;
use futures::StreamExt;

use crate::sources::{LogQuery, LogTail, TimeRange, TraceQuery};

/// What the fake backend does with the next call.
#[derive(Clone)]
enum Behaviour {
    Answer,
    Hang,
    Fail(SourceError),
    Panic,
    /// Answers once the test calls `notify_one` on it.
    WaitFor(Arc<Notify>),
}

struct FakeBackend {
    behaviour: Mutex<Behaviour>,
    log_lines: AtomicUsize,
    calls: AtomicUsize,
    /// Calls whose future was dropped before it finished.
    abandoned: Arc<AtomicUsize>,
}

/// Counts a call as abandoned unless it is disarmed before being dropped.
struct AbandonWatch {
    abandoned: Arc<AtomicUsize>,
    finished: bool,
}

impl Drop for AbandonWatch {
    fn drop(&mut self) {
        if !self.finished {
            self.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl FakeBackend {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            behaviour: Mutex::new(Behaviour::Answer),
            log_lines: AtomicUsize::new(1),
            calls: AtomicUsize::new(0),
            abandoned: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn respond<T>(&self, answer: impl FnOnce() -> T) -> Result<T, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let behaviour = self.behaviour.lock().unwrap().clone();
        let mut watch = AbandonWatch {
            abandoned: Arc::clone(&self.abandoned),
            finished: false,
        };
        match behaviour {
            Behaviour::Answer => {}
            Behaviour::Hang => std::future::pending::<()>().await,
            Behaviour::Fail(error) => {
                watch.finished = true;
                return Err(error);
            }
            Behaviour::Panic => {
                watch.finished = true;
                panic!("the fake backend panics, as asked");
            }
            Behaviour::WaitFor(release) => release.notified().await,
        }
        watch.finished = true;
        Ok(answer())
    }

    fn log_answer(&self) -> LogQueryResponse {
        let line = LogLine {
            time: 1,
            labels: Labels::from([("service".to_owned(), "login-api".to_owned())]),
            line: "msg=ok".into(),
            fields: Default::default(),
            reveal_ref: None,
        };
        LogQueryResponse::Streams {
            lines: vec![line; self.log_lines.load(Ordering::SeqCst)],
        }
    }
}

#[async_trait]
impl LogSource for FakeBackend {
    fn backend(&self) -> Backend {
        Backend::Loki
    }
    async fn query(&self, _query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        self.respond(|| self.log_answer()).await
    }
    async fn labels(&self, _range: TimeRange) -> Result<Vec<String>, SourceError> {
        self.respond(|| vec!["service".to_owned()]).await
    }
    async fn label_values(&self, name: &str, _range: TimeRange) -> Result<Vec<String>, SourceError> {
        self.respond(|| vec![format!("{name}-value")]).await
    }
    async fn tail(&self, _query: &str, _start_ns: i64, _limit: u32) -> Result<LogTail, SourceError> {
        let batch = match self.log_answer() {
            LogQueryResponse::Streams { lines } => lines,
            _ => vec![],
        };
        self.respond(|| futures::stream::iter([Ok(batch)]).boxed()).await
    }
    async fn probe(&self) -> Result<(), SourceError> {
        self.respond(|| ()).await
    }
}

#[async_trait]
impl MetricSource for FakeBackend {
    fn backend(&self) -> Backend {
        Backend::Loki
    }
    async fn query_range(
        &self,
        _query: &str,
        _range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        self.respond(|| metric_answer(step_ms as f64 / 1000.0)).await
    }
    async fn query_instant(&self, _query: &str, _at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        self.respond(|| metric_answer(0.0)).await
    }
    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        self.respond(|| vec!["up".to_owned()]).await
    }
    async fn probe(&self) -> Result<(), SourceError> {
        self.respond(|| ()).await
    }
}

#[async_trait]
impl TraceSource for FakeBackend {
    fn backend(&self) -> Backend {
        Backend::Loki
    }
    async fn search(&self, _query: &TraceQuery) -> Result<Vec<TraceSummary>, SourceError> {
        self.respond(Vec::new).await
    }
    async fn trace(&self, trace_id: &str) -> Result<Trace, SourceError> {
        self.respond(|| Trace {
            trace_id: trace_id.to_owned(),
            spans: vec![],
        })
        .await
    }
    async fn service_map(&self, _range: TimeRange) -> Result<ServiceMap, SourceError> {
        self.respond(|| ServiceMap {
            nodes: vec![],
            edges: vec![],
            layout: None,
        })
        .await
    }
    async fn probe(&self) -> Result<(), SourceError> {
        self.respond(|| ()).await
    }
}

fn metric_answer(step_seconds: f64) -> MetricQueryResponse {
    MetricQueryResponse {
        result_type: ResultType::Matrix,
        series: vec![],
        step_seconds,
        warnings: vec![],
    }
}

const TIMEOUT: Duration = Duration::from_secs(2);
const COOLDOWN: Duration = Duration::from_secs(30);
const TTL: Duration = Duration::from_secs(10);

/// The three sources, each answered by `backend`.
fn all_from(backend: &Arc<FakeBackend>) -> Sources {
    Sources {
        logs: Arc::clone(backend) as Arc<dyn LogSource>,
        metrics: Arc::clone(backend) as Arc<dyn MetricSource>,
        traces: Arc::clone(backend) as Arc<dyn TraceSource>,
    }
}

fn config() -> GuardConfig {
    GuardConfig {
        timeout_ms: 2_000,
        breaker_failures: 3,
        breaker_cooldown_ms: 30_000,
        cache_ttl_ms: 10_000,
        ..GuardConfig::default()
    }
}

fn guarded_logs(backend: &Arc<FakeBackend>) -> Guarded<dyn LogSource> {
    Guarded::new(Arc::clone(backend) as Arc<dyn LogSource>, &config())
        .for_scope(&Scope::new("roles:engineer"))
}

fn log_query(text: &str) -> LogQuery {
    LogQuery {
        query: text.to_owned(),
        range: TimeRange::new(1_700_000_000_000, 1_700_000_600_000),
        limit: 100,
        direction: Direction::Backward,
        step_ms: 0,
    }
}

fn unavailable() -> SourceError {
    SourceError::Unavailable {
        source_name: "fake",
        reason: "connection refused".into(),
    }
}

/// Lets the other tasks run until `condition` holds; bounded so a broken guard fails the test instead of hanging it.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if condition() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("gave up waiting until {what}");
}

async fn fail_times(logs: &Guarded<dyn LogSource>, times: usize) {
    for _ in 0..times {
        let error = logs
            .query(&log_query("{service=\"login-api\"}"))
            .await
            .unwrap_err();
        assert!(!matches!(error, SourceError::Resting { .. }), "{error}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_backend_times_out_within_the_timeout_and_its_call_is_dropped() {
    let backend = FakeBackend::new();
    backend.set(Behaviour::Hang);
    let logs = guarded_logs(&backend);
    let started = Instant::now();
    let error = logs.query(&log_query("{service=\"records\"}")).await.unwrap_err();
    assert_eq!(
        error,
        SourceError::Timeout {
            source_name: "Loki",
            timeout_ms: 2_000
        }
    );
    assert_eq!(started.elapsed(), TIMEOUT);
    assert_eq!(backend.abandoned.load(Ordering::SeqCst), 1);
    assert_eq!(logs.stats().failures.timeout, 1);
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_after_failures_in_a_row_and_then_answers_without_the_backend() {
    let backend = FakeBackend::new();
    backend.set(Behaviour::Fail(unavailable()));
    let logs = guarded_logs(&backend);
    fail_times(&logs, 3).await;
    assert_eq!(
        logs.breaker_state(),
        BreakerState::Open {
            retry_after: COOLDOWN
        }
    );

    let started = Instant::now();
    let error = logs
        .query(&log_query("{service=\"login-api\"}"))
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Resting { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "Loki is failing, so Vitals stopped sending it queries to let it recover; try again in 30 s"
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(backend.calls(), 3);
    let stats = logs.stats();
    assert_eq!((stats.breaker_opens, stats.breaker_refusals), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn timeouts_count_as_failures_for_the_breaker() {
    let backend = FakeBackend::new();
    backend.set(Behaviour::Hang);
    let logs = guarded_logs(&backend);
    fail_times(&logs, 3).await;
    assert!(matches!(logs.breaker_state(), BreakerState::Open { .. }));
}

#[tokio::test(start_paused = true)]
async fn after_the_cooldown_a_successful_test_query_closes_the_breaker() {
    let backend = FakeBackend::new();
    backend.set(Behaviour::Fail(unavailable()));
    let logs = guarded_logs(&backend);
    fail_times(&logs, 3).await;
    tokio::time::advance(COOLDOWN).await;
    backend.set(Behaviour::Answer);

    logs.query(&log_query("{service=\"login-api\"}")).await.unwrap();
    assert_eq!(backend.calls(), 4);
    assert_eq!(logs.breaker_state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn after_the_cooldown_a_failed_test_query_opens_the_breaker_again() {
    let backend = FakeBackend::new();
    backend.set(Behaviour::Fail(unavailable()));
    let logs = guarded_logs(&backend);
    fail_times(&logs, 3).await;
    tokio::time::advance(COOLDOWN).await;

    fail_times(&logs, 1).await;
    assert_eq!(backend.calls(), 4);
    assert!(matches!(logs.breaker_state(), BreakerState::Open { .. }));
    let error = logs
        .query(&log_query("{service=\"login-api\"}"))
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Resting { .. }), "{error}");
    assert_eq!(backend.calls(), 4);
    assert_eq!(logs.stats().breaker_opens, 2);
}

#[tokio::test(start_paused = true)]
async fn bad_queries_and_missing_things_do_not_trip_the_breaker() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    backend.set(Behaviour::Fail(SourceError::BadQuery {
        source_name: "fake",
        reason: "parse error".into(),
    }));
    fail_times(&logs, 5).await;
    backend.set(Behaviour::Fail(SourceError::NotFound {
        source_name: "fake",
        what: "stream".into(),
    }));
    fail_times(&logs, 5).await;
    assert_eq!(logs.breaker_state(), BreakerState::Closed);
    assert_eq!(backend.calls(), 10);
    let failures = logs.stats().failures;
    assert_eq!((failures.bad_query, failures.not_found), (5, 5));
}

#[tokio::test(start_paused = true)]
async fn fifty_identical_concurrent_queries_make_one_backend_call() {
    let backend = FakeBackend::new();
    let release = Arc::new(Notify::new());
    backend.set(Behaviour::WaitFor(Arc::clone(&release)));
    let logs = guarded_logs(&backend);
    let query = log_query("sum(count_over_time({service=\"appointments\"}[5m]))");

    let callers = futures::future::join_all((0..50).map(|_| logs.query(&query)));
    let releaser = async {
        wait_until("one backend call and 49 waiting callers", || {
            backend.calls() == 1 && logs.stats().coalesced == 49
        })
        .await;
        release.notify_one();
    };
    let (answers, ()) = tokio::join!(callers, releaser);

    let expected = backend.log_answer();
    assert_eq!(answers.len(), 50);
    assert!(answers.iter().all(|answer| answer.as_ref() == Ok(&expected)));
    assert_eq!(backend.calls(), 1);
    let stats = logs.stats();
    assert_eq!((stats.calls, stats.coalesced, stats.upstream_calls), (50, 49, 1));
    assert_eq!(logs.lanes.query.in_flight_len(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_first_caller_does_not_fail_the_callers_sharing_its_call() {
    let backend = FakeBackend::new();
    let release = Arc::new(Notify::new());
    backend.set(Behaviour::WaitFor(Arc::clone(&release)));
    let logs = guarded_logs(&backend);
    let query = log_query("{service=\"records\"}");
    let start_caller = || {
        let logs = logs.clone();
        let query = query.clone();
        tokio::spawn(async move { logs.query(&query).await })
    };

    let first = start_caller();
    wait_until("the first caller reaches the backend", || backend.calls() == 1).await;
    let second = start_caller();
    wait_until("the second caller joins the first", || {
        logs.stats().coalesced == 1
    })
    .await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    release.notify_one();

    assert_eq!(second.await.unwrap(), Ok(backend.log_answer()));
    assert_eq!(backend.calls(), 1);
    assert_eq!(backend.abandoned.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_call_whose_callers_all_went_away_still_finishes_and_is_cached() {
    let backend = FakeBackend::new();
    let release = Arc::new(Notify::new());
    backend.set(Behaviour::WaitFor(Arc::clone(&release)));
    let logs = guarded_logs(&backend);
    let query = log_query("{service=\"records\"}");
    let caller = {
        let (logs, query) = (logs.clone(), query.clone());
        tokio::spawn(async move { logs.query(&query).await })
    };
    wait_until("the caller reaches the backend", || backend.calls() == 1).await;
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    release.notify_one();
    wait_until("the call leaves the in-flight map", || {
        logs.lanes.query.in_flight_len() == 0
    })
    .await;

    assert_eq!(logs.query(&query).await, Ok(backend.log_answer()));
    assert_eq!(backend.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn cached_answers_are_reused_within_the_ttl_and_not_after() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    let query = log_query("{service=\"login-api\"}");
    logs.query(&query).await.unwrap();
    tokio::time::advance(TTL - Duration::from_millis(1)).await;
    logs.query(&query).await.unwrap();
    assert_eq!(backend.calls(), 1);

    tokio::time::advance(Duration::from_millis(1)).await;
    logs.query(&query).await.unwrap();
    assert_eq!(backend.calls(), 2);
    let stats = logs.stats();
    assert_eq!((stats.cache_hits, stats.cache_misses), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn answers_are_never_shared_across_scopes() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    let operations = logs.for_scope(&Scope::new("roles:operations"));
    let query = log_query("{service=\"login-api\"}");
    for _ in 0..2 {
        logs.query(&query).await.unwrap();
        operations.query(&query).await.unwrap();
    }
    assert_eq!(backend.calls(), 2);
    assert_eq!(logs.stats().cache_hits, 2);
}

#[tokio::test(start_paused = true)]
async fn queries_differing_only_in_whitespace_share_one_answer() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    logs.query(&log_query("{service=\"login-api\"}  |=  \"a  b\""))
        .await
        .unwrap();
    logs.query(&log_query(" {service=\"login-api\"} |= \"a  b\"\n"))
        .await
        .unwrap();
    logs.query(&log_query("{service=\"login-api\"} |= \"a b\""))
        .await
        .unwrap();
    assert_eq!(backend.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn errors_are_not_cached() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    let query = log_query("{service=\"login-api\"}");
    backend.set(Behaviour::Fail(unavailable()));
    assert_eq!(logs.query(&query).await, Err(unavailable()));
    backend.set(Behaviour::Answer);
    assert_eq!(logs.query(&query).await, Ok(backend.log_answer()));
    assert_eq!(backend.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_oversize_answer_is_refused_naming_the_limit_and_not_cached() {
    let backend = FakeBackend::new();
    backend.log_lines.store(5_001, Ordering::SeqCst);
    let logs = guarded_logs(&backend);
    let query = log_query("{service=\"records\"}");
    for _ in 0..2 {
        let error = logs.query(&query).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "Loki cannot run this query: the answer has 5001 log lines, above the limit of 5000; \
             ask for at most 5000 lines, or narrow the query with more label matchers or a shorter range"
        );
    }
    assert_eq!(backend.calls(), 2);
    assert_eq!(logs.stats().failures.oversize, 2);
    assert_eq!(logs.breaker_state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_backend_call_answers_unavailable_and_leaves_nothing_in_flight() {
    let backend = FakeBackend::new();
    backend.set(Behaviour::Panic);
    let logs = guarded_logs(&backend);
    let error = logs.query(&log_query("{service=\"records\"}")).await.unwrap_err();
    assert!(
        matches!(&error, SourceError::Unavailable { reason, .. } if reason.contains("try again")),
        "{error}"
    );
    assert_eq!(logs.lanes.query.in_flight_len(), 0);
    backend.set(Behaviour::Answer);
    logs.query(&log_query("{service=\"records\"}")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn readiness_probes_are_guarded_but_never_cached() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    logs.probe().await.unwrap();
    logs.probe().await.unwrap();
    assert_eq!(backend.calls(), 2);
    backend.set(Behaviour::Hang);
    assert!(matches!(logs.probe().await, Err(SourceError::Timeout { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_live_tail_reaches_the_backend_every_time_unless_the_breaker_is_open() {
    let backend = FakeBackend::new();
    let logs = guarded_logs(&backend);
    for _ in 0..2 {
        let mut tail = logs.tail("{service=\"records\"}", 0, 100).await.unwrap();
        assert_eq!(tail.next().await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(backend.calls(), 2);

    backend.set(Behaviour::Fail(unavailable()));
    fail_times(&logs, 3).await;
    let error = logs.tail("{service=\"records\"}", 0, 100).await.err().unwrap();
    assert!(matches!(error, SourceError::Resting { .. }), "{error}");
    assert_eq!(backend.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn every_trait_method_is_cached_by_its_own_arguments() {
    let backend = FakeBackend::new();
    let sources = all_from(&backend);
    let guarded = GuardedSources::new(&sources, &config()).for_scope(&Scope::new("roles:engineer"));
    let range = TimeRange::new(0, 3_600_000);
    let search = TraceQuery {
        filter: String::new(),
        range,
        limit: 20,
    };
    for _ in 0..2 {
        guarded.logs.labels(range).await.unwrap();
        guarded.logs.label_values("service", range).await.unwrap();
        guarded.logs.label_values("clinic", range).await.unwrap();
        guarded.metrics.query_range("up", range, 60_000).await.unwrap();
        guarded.metrics.query_range("up", range, 30_000).await.unwrap();
        guarded.metrics.query_instant("up", 0).await.unwrap();
        guarded.metrics.metric_names().await.unwrap();
        guarded.traces.search(&search).await.unwrap();
        guarded.traces.trace("1-abc").await.unwrap();
        guarded.traces.service_map(range).await.unwrap();
    }
    assert_eq!(backend.calls(), 10);
    assert_eq!(guarded.metrics.backend(), Backend::Loki);
}

#[tokio::test(start_paused = true)]
async fn one_scope_gets_the_same_handles_and_another_scope_its_own_answers() {
    let backend = FakeBackend::new();
    let sources = all_from(&backend);
    let guarded = GuardedSources::new(&sources, &config());
    let engineer = Scope::new("roles:engineer");
    let first = guarded.for_scope(&engineer);
    let again = guarded.for_scope(&engineer);
    assert!(Arc::ptr_eq(&first.metrics, &again.metrics));
    let operations = guarded.for_scope(&Scope::new("roles:operations"));
    assert!(!Arc::ptr_eq(&first.metrics, &operations.metrics));
    first.metrics.metric_names().await.unwrap();
    again.metrics.metric_names().await.unwrap();
    operations.metrics.metric_names().await.unwrap();
    assert_eq!(
        backend.calls(),
        2,
        "the kept handle shares its scope's cache, and only its scope's"
    );
}

#[tokio::test(start_paused = true)]
async fn counters_reach_the_prometheus_registry_by_signal_and_backend() {
    let backend = FakeBackend::new();
    let sources = all_from(&backend);
    let guarded = GuardedSources::new(&sources, &config());
    let scoped = guarded.for_scope(&Scope::new("roles:engineer"));
    scoped
        .logs
        .query(&log_query("{service=\"records\"}"))
        .await
        .unwrap();
    scoped
        .logs
        .query(&log_query("{service=\"records\"}"))
        .await
        .unwrap();
    backend.set(Behaviour::Fail(unavailable()));
    scoped.metrics.metric_names().await.unwrap_err();

    let mut registry = Registry::with_prefix("vitals");
    registry.register_collector(Box::new(guarded.metrics()));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for expected in [
        "vitals_source_guard_calls_total{signal=\"logs\",backend=\"loki\"} 2",
        "vitals_source_guard_cache_hits_total{signal=\"logs\",backend=\"loki\"} 1",
        "vitals_source_upstream_calls_total{signal=\"logs\",backend=\"loki\"} 1",
        "vitals_source_upstream_failures_total{signal=\"metrics\",backend=\"loki\",kind=\"unavailable\"} 1",
        "vitals_source_breaker_state{signal=\"traces\",backend=\"loki\"} 0",
        "vitals_source_upstream_duration_seconds_count{signal=\"logs\",backend=\"loki\"} 1",
        "vitals_source_upstream_duration_seconds_bucket{le=\"+Inf\",signal=\"logs\",backend=\"loki\"} 1",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    let [logs, metrics, traces] = guarded.stats();
    assert_eq!(
        (logs.signal, metrics.signal, traces.signal),
        ("logs", "metrics", "traces")
    );
}

#[tokio::test(start_paused = true)]
async fn a_query_too_deep_or_too_long_never_reaches_the_backend() {
    let backend = FakeBackend::new();
    let sources =
        GuardedSources::new(&all_from(&backend), &config()).for_scope(&Scope::new("roles:engineer"));
    let deep = format!("{}up{}", "(".repeat(65), ")".repeat(65));
    let long = format!("{{service=\"{}\"}}", "a".repeat(16 * 1024));
    let range = TimeRange::new(1_700_000_000_000, 1_700_000_600_000);
    for query in [deep, long] {
        let refusals = [
            sources.logs.query(&log_query(&query)).await.map(drop),
            sources.logs.tail(&query, 0, 10).await.map(drop),
            sources.metrics.query_range(&query, range, 60_000).await.map(drop),
            sources
                .metrics
                .query_instant(&query, range.end_ms)
                .await
                .map(drop),
            sources
                .traces
                .search(&TraceQuery {
                    filter: query.clone(),
                    range,
                    limit: 10,
                })
                .await
                .map(drop),
        ];
        for refusal in refusals {
            let Err(SourceError::BadQuery { reason, .. }) = refusal else {
                panic!("expected a bad query, got {refusal:?}");
            };
            assert!(reason.contains("split it into several queries"), "{reason}");
        }
    }
    assert_eq!(backend.calls(), 0);
}
