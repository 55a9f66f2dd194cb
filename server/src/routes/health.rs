//! Liveness and readiness, for people and for the load balancer.

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use vitals_api::{
    Backend, Breaker, DashboardsReadiness, Readiness, ReadinessStatus, Signal, SourceState, SourceStatus,
};

use crate::dashboards::Catalog;
use crate::sources::guard::BreakerState;
use crate::sources::{LogSource, MetricSource, SourceError, TraceSource};
use crate::state::AppState;

/// How long one source's probe may take before readiness calls it down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "Liveness: the process answers",
    security(()),
    responses(
        (status = 200, description = "the process answers", body = String, content_type = "text/plain", example = "ok\n"),
    )
)]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: each source and whether it answers. An outage upstream makes the
/// server `degraded` but still 200: Vitals keeps serving and shows what is broken,
/// rather than the load balancer taking the portal away with the backend.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    summary = "Readiness: each source and whether it answers; `degraded` still answers 200",
    security(()),
    responses(
        (status = 200, description = "each source and how it is doing; `degraded` still answers 200", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Json<Readiness> {
    let guarded = &state.guarded;
    let (logs, metrics, traces) = tokio::join!(
        probe(Signal::Logs, guarded.logs.backend(), guarded.logs.probe()),
        probe(
            Signal::Metrics,
            guarded.metrics.backend(),
            guarded.metrics.probe()
        ),
        probe(Signal::Traces, guarded.traces.backend(), guarded.traces.probe()),
    );
    let checked_at = state.now_ms();
    let breakers = [
        guarded.logs.breaker_state(),
        guarded.metrics.breaker_state(),
        guarded.traces.breaker_state(),
    ];
    let sources: Vec<SourceStatus> = [logs, metrics, traces]
        .into_iter()
        .zip(breakers)
        .map(|((signal, backend, state, detail), breaker)| SourceStatus {
            signal,
            backend,
            state,
            detail,
            checked_at,
            breaker: breaker_as_shown(breaker),
        })
        .collect();
    for source in &sources {
        state.telemetry.set_source_up(
            source.signal.as_str(),
            source.backend.as_str(),
            source.state == SourceState::Up,
        );
    }
    let status = if sources.iter().all(|source| source.state == SourceState::Up) {
        ReadinessStatus::Ready
    } else {
        ReadinessStatus::Degraded
    };
    Json(Readiness {
        status,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        sources,
        dashboards: dashboards_readiness(&state.dashboards.catalog()),
    })
}

/// How many dashboards answer, and which files' last change did not check out.
fn dashboards_readiness(catalog: &Catalog) -> DashboardsReadiness {
    let problems: Vec<String> = catalog.problems().iter().map(ToString::to_string).collect();
    let loaded = catalog.all().len();
    let detail = match problems.len() {
        0 => format!("{loaded} dashboards loaded"),
        count => format!(
            "{loaded} dashboards loaded; {count} file(s) did not check out and keep their last good version"
        ),
    };
    DashboardsReadiness {
        loaded: u32::try_from(loaded).unwrap_or(u32::MAX),
        detail,
        problems,
    }
}

/// The breaker's state as readiness shows it, without the guard's timing.
fn breaker_as_shown(state: BreakerState) -> Breaker {
    match state {
        BreakerState::Closed => Breaker::Closed,
        BreakerState::Open { .. } => Breaker::Open,
        BreakerState::HalfOpen => Breaker::HalfOpen,
    }
}

/// Runs one source's probe: its signal, backend, whether it answered and a sentence.
async fn probe(
    signal: Signal,
    backend: Backend,
    check: impl Future<Output = Result<(), SourceError>>,
) -> (Signal, Backend, SourceState, String) {
    let name = backend.as_str();
    let (state, detail) = match tokio::time::timeout(PROBE_TIMEOUT, check).await {
        Ok(Ok(())) => (SourceState::Up, format!("{name} answered the last check")),
        Ok(Err(error)) => (SourceState::Down, error.to_string()),
        Err(_) => (
            SourceState::Down,
            format!("{name} did not answer within {} s", PROBE_TIMEOUT.as_secs()),
        ),
    };
    (signal, backend, state, detail)
}
