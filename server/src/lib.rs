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
use crate::spa::Spa;
use crate::state::{AppState, SystemClock};
use crate::telemetry::{RequestIds, Telemetry};

/// Largest request body any endpoint accepts.
const MAX_BODY_BYTES: usize = 1024 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the state for a configuration: sources, the built app and the wall clock.
pub fn state_from_config(config: &Config) -> AppState {
    let demo = Arc::new(DemoClinic::new(config.demo.clone()));
    AppState {
        sources: Sources {
            logs: demo.clone(),
            metrics: demo.clone(),
            traces: demo,
        },
        spa: Arc::new(Spa::load(&config.dist_dir)),
        clock: Arc::new(SystemClock),
        telemetry: Arc::new(Telemetry::new()),
    }
}

/// The public listener: the browser app and the JSON API.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/dashboards", get(routes::dashboards::list))
        .route("/dashboards/{id}", get(routes::dashboards::get))
        .route("/dashboards/{id}/panels/{panel}", get(routes::dashboards::panel))
        .route("/logs/query", post(routes::engineering::query_logs))
        .route("/logs/labels", get(routes::engineering::log_labels))
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
