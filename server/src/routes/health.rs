//! Liveness and readiness, for people and for the load balancer.

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use vitals_api::{Readiness, SourceStatus};

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
    security(()),
    responses(
        (status = 200, description = "each source and how it is doing; `degraded` still answers 200", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Json<Readiness> {
    let guarded = &state.guarded;
    let (logs, metrics, traces) = tokio::join!(
        probe("logs", guarded.logs.backend(), guarded.logs.probe()),
        probe("metrics", guarded.metrics.backend(), guarded.metrics.probe()),
        probe("traces", guarded.traces.backend(), guarded.traces.probe()),
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
            signal: signal.to_owned(),
            backend: backend.to_owned(),
            state: state.to_owned(),
            detail,
            checked_at,
            breaker: breaker_words(breaker).to_owned(),
        })
        .collect();
    for source in &sources {
        state
            .telemetry
            .set_source_up(&source.signal, &source.backend, source.state == "up");
    }
    let status = if sources.iter().all(|source| source.state == "up") {
        "ready"
    } else {
        "degraded"
    };
    Json(Readiness {
        status: status.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        sources,
    })
}

/// The breaker's state as readiness shows it.
fn breaker_words(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open { .. } => "open",
        BreakerState::HalfOpen => "half-open",
    }
}

/// Runs one source's probe: its signal, backend, `up`/`down` and a sentence.
async fn probe<'a>(
    signal: &'a str,
    backend: &'a str,
    check: impl Future<Output = Result<(), SourceError>>,
) -> (&'a str, &'a str, &'static str, String) {
    let (state, detail) = match tokio::time::timeout(PROBE_TIMEOUT, check).await {
        Ok(Ok(())) => ("up", format!("{backend} answered the last check")),
        Ok(Err(error)) => ("down", error.to_string()),
        Err(_) => (
            "down",
            format!("{backend} did not answer within {} s", PROBE_TIMEOUT.as_secs()),
        ),
    };
    (signal, backend, state, detail)
}
