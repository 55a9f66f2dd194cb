//! Liveness and readiness, for people and for the load balancer.

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use vitals_api::{Readiness, SourceStatus};

use crate::sources::SourceError;
use crate::state::AppState;

/// How long one source's probe may take before readiness calls it down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: each source and whether it answers. An outage upstream makes the
/// server `degraded` but still 200: Vitals keeps serving and shows what is broken,
/// rather than the load balancer taking the portal away with the backend.
pub async fn readyz(State(state): State<AppState>) -> Json<Readiness> {
    let sources = &state.sources;
    let (logs, metrics, traces) = tokio::join!(
        probe("logs", sources.logs.backend(), sources.logs.probe()),
        probe("metrics", sources.metrics.backend(), sources.metrics.probe()),
        probe("traces", sources.traces.backend(), sources.traces.probe()),
    );
    let sources = vec![logs, metrics, traces];
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

async fn probe(
    signal: &str,
    backend: &str,
    check: impl Future<Output = Result<(), SourceError>>,
) -> SourceStatus {
    let (state, detail) = match tokio::time::timeout(PROBE_TIMEOUT, check).await {
        Ok(Ok(())) => ("up", format!("{backend} answers")),
        Ok(Err(error)) => ("down", error.to_string()),
        Err(_) => (
            "down",
            format!("{backend} did not answer within {} s", PROBE_TIMEOUT.as_secs()),
        ),
    };
    SourceStatus {
        signal: signal.to_owned(),
        backend: backend.to_owned(),
        state: state.to_owned(),
        detail,
    }
}
