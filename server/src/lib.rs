//! Vitals server: the backend-for-frontend behind the browser app.

pub mod config;
pub mod dashboards;
pub mod error;
pub mod routes;
pub mod sources;
pub mod spa;
pub mod state;
pub mod telemetry;
pub mod timespec;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::routing::{get, post};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::sources::Sources;
use crate::sources::demo::DemoClinic;
use crate::sources::guard::{GuardedSources, Scope};
use crate::sources::loki::{LokiConfig, LokiSource};
use crate::sources::prometheus::{PrometheusConfig, PrometheusSource};
use crate::sources::xray::{XRayConfig, XRaySource};
use crate::spa::Spa;
use crate::state::{AppState, SystemClock};
use crate::telemetry::{RequestIds, Telemetry};

/// Largest request body any endpoint accepts.
const MAX_BODY_BYTES: usize = 1024 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The demo clinic for every signal.
pub fn demo_sources(config: &Config) -> Sources {
    let demo = Arc::new(DemoClinic::new(config.demo.clone()));
    Sources {
        logs: demo.clone(),
        metrics: demo.clone(),
        traces: demo,
    }
}

/// The configured backend for each signal, the demo clinic for those not configured.
pub async fn configured_sources(config: &Config) -> anyhow::Result<Sources> {
    let mut sources = demo_sources(config);
    let timeout = Duration::from_millis(config.guard.timeout_ms);
    if let Some(loki) = &config.loki {
        let base_url = url::Url::parse(&loki.url).context("`loki.url` is not a URL")?;
        let source = LokiSource::new(LokiConfig {
            base_url,
            tenant: loki.tenant.clone(),
            timeout,
        })
        .context("cannot set up Loki (`loki`, VITALS_LOKI_URL)")?;
        sources.logs = Arc::new(source);
    }
    if let Some(prometheus) = &config.prometheus {
        let source = PrometheusSource::new(PrometheusConfig {
            base_url: prometheus.url.clone(),
            amp_region: prometheus.amp_region.clone(),
            timeout,
        })
        .await
        .context("cannot set up the metrics source (`prometheus`, VITALS_PROMETHEUS_URL)")?;
        sources.metrics = Arc::new(source);
    }
    if let Some(xray) = &config.xray {
        let source = XRaySource::new(XRayConfig {
            region: xray.region.clone(),
            endpoint: xray.endpoint.clone(),
            timeout,
        })
        .await
        .context("cannot set up X-Ray (`xray`, VITALS_XRAY_REGION)")?;
        sources.traces = Arc::new(source);
    }
    Ok(sources)
}

/// The state for a configuration and its sources: each source behind its guardrails,
/// the built app, the wall clock and the server's own telemetry.
pub fn build_state(config: &Config, sources: &Sources) -> AppState {
    let guarded = GuardedSources::new(sources, &config.guard);
    AppState {
        sources: guarded.for_scope(&Scope::server()),
        telemetry: Arc::new(Telemetry::new(Some(guarded.metrics()))),
        guarded,
        spa: Arc::new(Spa::load(&config.dist_dir)),
        clock: Arc::new(SystemClock),
    }
}

/// The state of a server on the demo clinic, as tests start it.
pub fn demo_state(config: &Config) -> AppState {
    build_state(config, &demo_sources(config))
}

/// The public listener: the browser app and the JSON API.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/dashboards", get(routes::dashboards::list))
        .route("/dashboards/{id}", get(routes::dashboards::get))
        .route("/dashboards/{id}/panels/{panel}", get(routes::dashboards::panel))
        .route("/logs/query", post(routes::engineering::query_logs))
        .route("/logs/labels", get(routes::engineering::log_labels))
        .route("/logs/tail", get(routes::tail::tail_logs))
        .route(
            "/logs/labels/{name}/values",
            get(routes::engineering::log_label_values),
        )
        .route("/metrics/query", post(routes::engineering::query_metrics))
        .route("/metrics/names", get(routes::engineering::metric_names))
        .route("/traces/search", post(routes::engineering::search_traces))
        .route("/traces/{id}", get(routes::engineering::get_trace))
        .route("/service-map", get(routes::engineering::service_map))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest));

    let app_routes = [
        "/",
        "/business",
        "/business/{*rest}",
        "/engineering",
        "/engineering/{*rest}",
        "/status",
        "/admin",
        "/admin/{*rest}",
        "/login",
    ];
    let mut router = Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz));
    for path in app_routes {
        router = router.route(path, get(spa::app_route));
    }
    let content_security_policy = state.spa.content_security_policy();
    router
        .fallback(spa::fallback)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::record_request,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(request_tracing())
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), RequestIds::default()))
        .with_state(state)
}

/// The admin listener: `/metrics` and health checks for the load balancer, never exposed to users.
pub fn admin_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(telemetry::metrics))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .with_state(state)
}

/// One span per request carrying its id, method and path, so every log line of a request can be found.
fn request_tracing() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&axum::http::Request<axum::body::Body>) -> tracing::Span + Clone,
> {
    TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            id = %request_id,
            method = %request.method(),
            path = %request.uri().path(),
        )
    })
}
