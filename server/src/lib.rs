//! Vitals server: the backend-for-frontend behind the browser app.

pub mod auth;
pub mod aws;
pub mod config;
pub mod dashboards;
pub mod envelope;
pub mod error;
pub mod insights;
pub mod masking;
pub mod otel;
pub mod reveal;
pub mod routes;
pub mod scope;
pub mod settings;
pub mod sources;
pub mod spa;
pub mod state;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod timespec;
pub mod traces;

/// The memory allocator the server runs with: the binary and the benchmarks that time the
/// server declare it as their global allocator. Many small, short-lived allocations per
/// request (headers, JSON, futures) are faster here than with the system's.
pub use mimalloc::MiMalloc as Allocator;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware;
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use vitals_api::{AuditAction, Role};

use crate::auth::audit::record_access;
use crate::auth::identity::{CognitoProvider, DemoProvider, IdentityProvider};
use crate::auth::limits::{ApiLimiter, LoginLimiter, TailLimits};
use crate::auth::session::{Auth, SessionContext};
use crate::config::Config;
use crate::dashboards::Dashboards;
use crate::dashboards::answers::PanelAnswers;
use crate::envelope::Envelope;
use crate::routes::gate::require_role;
use crate::scope::LabelScopes;
use crate::sources::Sources;
use crate::sources::demo::DemoSource;
use crate::sources::guard::{GuardedSources, Scope};
use crate::sources::loki::LokiSource;
use crate::sources::prometheus::PrometheusSource;
use crate::sources::xray::XRaySource;
use crate::spa::Spa;
use crate::state::{AppState, Clock, Shared};
use crate::status::board::StatusBoard;
use crate::store::{
    BatchedAudit, CachedSessions, DynamoAuditLog, DynamoLinkStore, DynamoSessionStore, DynamoStatusStore,
    SqliteStore,
};
use crate::store::{TokenKey, missing_with_cognito};
use crate::telemetry::{RequestIds, Telemetry};
use crate::traces::TraceAnalyses;

pub use vitals_api::MAX_BODY_BYTES;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The demo clinic for every signal, its live tail following `clock`.
pub fn demo_sources(config: &Config, clock: Arc<dyn Clock>) -> Sources {
    let demo = Arc::new(DemoSource::new(config.demo.clone(), clock));
    Sources {
        logs: demo.clone(),
        metrics: demo.clone(),
        traces: demo,
    }
}

/// The configured backend for each signal, the demo clinic for those not configured.
pub async fn configured_sources(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Sources> {
    let mut sources = demo_sources(config, clock);
    let timeout = config.guard.timeout();
    if let Some(loki) = &config.loki {
        let source = LokiSource::new(loki.clone(), timeout).context("cannot set up Loki (`loki`)")?;
        sources.logs = Arc::new(source);
    }
    if let Some(prometheus) = &config.prometheus {
        let source = PrometheusSource::new(prometheus.clone(), timeout)
            .await
            .context("cannot set up the metrics source (`prometheus`)")?;
        sources.metrics = Arc::new(source);
    }
    if let Some(xray) = &config.xray {
        let source = XRaySource::new(xray.clone(), timeout)
            .await
            .context("cannot set up X-Ray (`xray`)")?;
        sources.traces = Arc::new(source);
    }
    Ok(sources)
}

/// How long a session read from SQLite is remembered: only this server writes that file, and
/// every change it makes updates what it remembers.
const LOCAL_SESSION_MEMORY: Duration = Duration::from_secs(60);
/// How long a session read from DynamoDB is remembered: another replica's logout is seen at
/// most this late.
const SHARED_SESSION_MEMORY: Duration = Duration::from_secs(2);

/// Sessions and the audit trail in SQLite under `data_dir`, and the demo users when configured;
/// the API rate limit runs on `clock`.
pub fn local_auth(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Auth> {
    let store = Arc::new(SqliteStore::open(&config.data_dir).with_context(|| {
        format!(
            "cannot open the session store in {} (`data_dir`, VITALS_DATA_DIR)",
            config.data_dir.display()
        )
    })?);
    let provider = match &config.demo_password {
        Some(password) => Some(Arc::new(
            DemoProvider::new(password.0.clone(), config.listen).map_err(anyhow::Error::msg)?,
        ) as Arc<dyn IdentityProvider>),
        None => None,
    };
    let token_key = match &config.session.token_key {
        Some(key) => key.clone(),
        None => TokenKey::kept_in(&config.data_dir).map_err(anyhow::Error::msg)?,
    };
    Ok(Auth {
        provider,
        sessions: Arc::new(CachedSessions::new(store.clone(), LOCAL_SESSION_MEMORY)),
        audit: Arc::new(BatchedAudit::new(store.clone())),
        links: store.clone(),
        status: store,
        policy: config.session.clone(),
        token_key,
        login_limiter: LoginLimiter::new(
            config.limits.failed_logins_per_username,
            config.limits.failed_logins_per_client,
        ),
        api_limiter: ApiLimiter::new(
            config.limits.api_requests_per_second,
            config.limits.api_burst,
            clock,
        ),
        tail_limits: Arc::new(TailLimits::new(
            config.limits.tails_per_person,
            Duration::from_secs(u64::from(config.limits.tail_max_minutes) * 60),
            Duration::from_secs(u64::from(config.limits.tail_session_check_seconds)),
        )),
        trust_forwarded_for: config.trust_forwarded_for,
        label_scopes: LabelScopes::new(&config.label_scopes)?,
    })
}

/// How people log in and where sessions live, as configured: Cognito and DynamoDB when set.
pub async fn configured_auth(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Auth> {
    let mut auth = local_auth(config, clock.clone())?;
    let timeout = config.guard.timeout();
    if let Some(cognito) = &config.cognito {
        // A key of this process alone would log everyone out at each restart and differ between replicas.
        if config.session.token_key.is_none() {
            anyhow::bail!("`session.token_key` {}", missing_with_cognito());
        }
        let provider = CognitoProvider::new(cognito.clone(), timeout)
            .await
            .context("cannot set up Cognito (`cognito`)")?;
        auth.provider = Some(Arc::new(provider));
    }
    if let Some(dynamo) = &config.dynamodb {
        let sessions = DynamoSessionStore::new(dynamo, timeout, None)
            .await
            .context("cannot set up the DynamoDB session table (`dynamodb.table`, VITALS_SESSION_TABLE)")?;
        let audit = match &dynamo.audit_table {
            Some(_) => Some(
                DynamoAuditLog::new(dynamo, timeout, None, clock.clone())
                    .await
                    .context(
                        "cannot set up the DynamoDB audit table (`dynamodb.audit_table`, VITALS_AUDIT_TABLE)",
                    )?,
            ),
            None => None,
        };
        let links = match &dynamo.links_table {
            Some(_) => Some(DynamoLinkStore::new(dynamo, timeout, None).await.context(
                "cannot set up the DynamoDB share-link table (`dynamodb.links_table`, VITALS_DYNAMODB_LINKS_TABLE)",
            )?),
            None => None,
        };
        let status = match &dynamo.status_table {
            Some(_) => Some(DynamoStatusStore::new(dynamo, timeout, None).await.context(
                "cannot set up the DynamoDB status table (`dynamodb.status_table`, VITALS_DYNAMODB_STATUS_TABLE)",
            )?),
            None => None,
        };
        share_stores(&mut auth, sessions, audit, links);
        match status {
            Some(status) => auth.status = Arc::new(status),
            None => tracing::warn!(
                "sessions are shared in DynamoDB but the status page's history and lease stay on this \
                 replica's disk, so every replica evaluates it; set `dynamodb.status_table` \
                 (VITALS_DYNAMODB_STATUS_TABLE) so one evaluates for all"
            ),
        }
    }
    Ok(auth)
}

/// Puts sessions, and the audit trail and share links when they have a table, in DynamoDB,
/// shared by every replica. Without one of those tables each replica keeps its own on its
/// disk, and says so.
pub fn share_stores(
    auth: &mut Auth,
    sessions: DynamoSessionStore,
    audit: Option<DynamoAuditLog>,
    links: Option<DynamoLinkStore>,
) {
    auth.sessions = Arc::new(CachedSessions::new(Arc::new(sessions), SHARED_SESSION_MEMORY));
    match audit {
        Some(audit) => auth.audit = Arc::new(BatchedAudit::new(Arc::new(audit))),
        None => tracing::warn!(
            "sessions are shared in DynamoDB but the audit trail stays on this replica's disk; \
             set `dynamodb.audit_table` (VITALS_AUDIT_TABLE) so admins see every replica's entries"
        ),
    }
    match links {
        Some(links) => auth.links = Arc::new(links),
        None => tracing::warn!(
            "sessions are shared in DynamoDB but share links stay on this replica's disk; set \
             `dynamodb.links_table` (VITALS_DYNAMODB_LINKS_TABLE) so a link opens through every replica"
        ),
    }
}

/// The state for a configuration, its sources and its way of logging in: each source behind
/// its guardrails, the built app, the clock and the server's own telemetry.
///
/// Fails when a file of `dashboards.dir` does not check out, naming its file, line and key.
/// With a directory it is watched from here on, so this must run inside the runtime.
pub fn state_with_auth(
    config: &Config,
    sources: &Sources,
    auth: Auth,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    let dashboards =
        Arc::new(Dashboards::load(&config.dashboards).context("a dashboard file does not check out")?);
    dashboards
        .clone()
        .watch(std::time::Duration::from_millis(config.dashboards.reload_ms));
    let guarded = GuardedSources::new(sources, &config.guard);
    let slos = config.insights.slos()?;
    let status_page = match &config.status.file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "the status page's file {} (`status.file`) cannot be read; check the path and its permissions",
                    path.display()
                )
            })?;
            status::definition::parse(&path.display().to_string(), &text)
        }
        None => status::definition::parse(status::definition::SHIPPED_FILE, status::definition::SHIPPED),
    }
    .and_then(|page| page.with_objectives(&slos))
    .context("the status page's file does not check out")?;
    let explanations = Arc::new(insights::explain::ExplanationBoard::new(
        status_page.components_by_objective(),
    ));
    let status = Arc::new(StatusBoard::new(
        status_page,
        auth.status.clone(),
        config.status.interval_seconds,
    ));
    let slos = Arc::new(insights::slo::board::SloBoard::new(
        slos,
        config.insights.interval_seconds,
    ));
    let journeys = Arc::new(insights::journey::board::JourneyBoard::new(
        config.insights.journeys()?,
        auth.token_key.signing_secret(),
    ));
    let embed_cache = Arc::new(status::embed_cache::EmbedCache::new(
        i64::from(config.status.interval_seconds) * 1_000,
    ));
    let embed_signer = Arc::new(status::embed_token::EmbedSigner::new(
        auth.token_key.signing_secret(),
    ));
    Ok(AppState::new(Shared {
        dashboards,
        panel_answers: Arc::new(PanelAnswers::new(dashboards::NOW_GRAIN_MS)),
        trace_analyses: Arc::new(TraceAnalyses::new(&config.traces)),
        trace_config: config.traces.clone(),
        masker: Arc::new(config.masking.masker()),
        sources: guarded.for_scope(&Scope::server()),
        telemetry: Arc::new(Telemetry::new(
            Some(guarded.metrics()),
            auth.audit.metrics(),
            Some(status.metrics()),
        )),
        guarded,
        auth: Arc::new(auth),
        link_policy: config.links.clone(),
        max_range_ms: config.guard.max_range_ms(),
        max_points_per_series: config.guard.max_points_per_series,
        status,
        slos,
        explanations,
        journeys,
        embed_signer,
        embed_cache,
        spa: Arc::new(Spa::load(&config.dist_dir)),
        clock,
    }))
}

/// The state for a configuration and its sources, with sessions in SQLite and the demo users
/// when configured: what tests and `cargo xtask run` use.
pub fn build_state(config: &Config, sources: &Sources, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    state_with_auth(config, sources, local_auth(config, clock.clone())?, clock)
}

/// Answers larger than this are compressed when the browser accepts it.
const COMPRESS_ABOVE_BYTES: u16 = 4096;

/// The public listener: the browser app and the JSON API.
pub fn app(state: AppState) -> Router {
    let gate = |roles: &'static [Role]| {
        middleware::from_fn_with_state(
            SessionContext::from_ref(&state),
            move |State(sessions): State<SessionContext>, request, next| {
                require_role(sessions, roles, request, next)
            },
        )
    };
    // Inside a gate, so the access it records has a person behind it.
    let audited = |action: AuditAction, route: UtoipaMethodRouter<AppState>| {
        route.map(|route| {
            route.route_layer(middleware::from_fn_with_state(
                SessionContext::from_ref(&state),
                move |State(sessions): State<SessionContext>, request, next| {
                    record_access(sessions, action, request, next)
                },
            ))
        })
    };
    // Every logged-in role: clinicians above all.
    let everyone = OpenApiRouter::new()
        .routes(routes!(routes::status::get))
        .routes(routes!(routes::notices::list))
        .route_layer(gate(&[Role::Clinician, Role::Operations, Role::Engineer]));
    // Operations tells clinicians what is going on; admins may too.
    let notices = OpenApiRouter::new()
        .routes(audited(AuditAction::NoticePost, routes!(routes::notices::post)))
        .routes(audited(
            AuditAction::NoticeUpdate,
            routes!(routes::notices::update),
        ))
        .route_layer(gate(&[Role::Operations]));
    let business = OpenApiRouter::new()
        .routes(routes!(routes::dashboards::list))
        .routes(routes!(routes::dashboards::get))
        .routes(routes!(routes::dashboards::panel))
        .routes(routes!(routes::slos::list))
        .routes(routes!(routes::slos::get))
        .routes(routes!(routes::explanations::list))
        .routes(routes!(routes::journeys::list))
        .routes(audited(AuditAction::JourneyRead, routes!(routes::journeys::get)))
        .route_layer(gate(&[Role::Operations, Role::Engineer]));
    // Whoever may see a dashboard may share it; admins see and revoke every link.
    let links = OpenApiRouter::new()
        .routes(audited(AuditAction::LinkCreate, routes!(routes::links::create)))
        .routes(routes!(routes::links::list))
        .routes(audited(AuditAction::LinkOpen, routes!(routes::links::open)))
        .routes(audited(AuditAction::LinkRevoke, routes!(routes::links::revoke)))
        .route_layer(gate(&[Role::Operations, Role::Engineer]));
    let engineering = OpenApiRouter::new()
        .routes(audited(
            AuditAction::LogsQuery,
            routes!(routes::engineering::query_logs),
        ))
        .routes(audited(
            AuditAction::LogsQuery,
            routes!(routes::engineering::log_patterns),
        ))
        .routes(audited(
            AuditAction::LogsQuery,
            routes!(routes::engineering::log_labels),
        ))
        .routes(audited(AuditAction::LogsTail, routes!(routes::tail::tail_logs)))
        .routes(audited(
            AuditAction::LogsQuery,
            routes!(routes::engineering::log_label_values),
        ))
        .routes(audited(
            AuditAction::MetricsQuery,
            routes!(routes::engineering::query_metrics),
        ))
        .routes(audited(
            AuditAction::MetricsQuery,
            routes!(routes::engineering::metric_names),
        ))
        .routes(audited(
            AuditAction::TracesQuery,
            routes!(routes::engineering::search_traces),
        ))
        .routes(audited(
            AuditAction::TracesQuery,
            routes!(routes::traces::get_trace),
        ))
        .routes(audited(
            AuditAction::TracesQuery,
            routes!(routes::traces::trace_summary),
        ))
        .routes(audited(
            AuditAction::TracesQuery,
            routes!(routes::traces::trace_window),
        ))
        .routes(audited(
            AuditAction::TracesQuery,
            routes!(routes::traces::compare_traces),
        ))
        .routes(audited(
            AuditAction::ServiceMap,
            routes!(routes::engineering::service_map),
        ))
        .routes(audited(AuditAction::Reveal, routes!(routes::reveal::reveal)))
        .route_layer(gate(&[Role::Engineer]));
    let admin = OpenApiRouter::new()
        .routes(audited(AuditAction::AuditRead, routes!(routes::audit::list)))
        .routes(audited(
            AuditAction::EmbedTokenCreate,
            routes!(routes::embed::create),
        ))
        .routes(routes!(routes::embed::list))
        .routes(audited(
            AuditAction::EmbedTokenRevoke,
            routes!(routes::embed::revoke),
        ))
        .route_layer(gate(&[Role::Admin]));
    let api = OpenApiRouter::new()
        .routes(routes!(
            routes::session::login,
            routes::session::get,
            routes::session::logout
        ))
        .routes(routes!(routes::session::answer_challenge))
        .routes(routes!(routes::openapi::document))
        .merge(everyone)
        .merge(notices)
        .merge(business)
        .merge(links)
        .merge(engineering)
        .merge(admin)
        // Small answers are not worth compressing: brotli costs more time than the bytes it
        // saves. A panel's answer (a number, its sentence and a chart of a few dozen points, about
        // 2 KB) stays under the line; log lines and long series go over it.
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .compress_when(SizeAbove::new(COMPRESS_ABOVE_BYTES)),
        );
    // Every route of the API is registered from its `#[utoipa::path]`, so the document and the
    // router are built from the same list and cannot drift apart.
    let (router, document) = OpenApiRouter::with_openapi(routes::openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::embed::embed_status))
        .split_for_parts();
    let document = routes::openapi::ApiDocument::render(&document);

    let mut router = router.layer(Extension(document));
    // Each app's addresses answer its page; the engineering, notices and admin, and insights
    // areas are apps of their own, so the portal clinicians open stays small.
    for app in spa::App::ALL {
        for path in app.routes() {
            router = router.route(
                path,
                get(move |State(spa): State<Arc<Spa>>| async move { spa.page(app, StatusCode::OK) }),
            );
        }
    }
    let envelope = Arc::new(Envelope {
        content_security_policy: state.spa.content_security_policy(),
    });
    router
        .fallback(spa::fallback)
        .layer(middleware::from_fn_with_state(
            state.telemetry.clone(),
            telemetry::record_request,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(envelope, envelope::envelope))
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

/// One span per request carrying its id, method and path, so every log line of a request can be
/// found; the route template and status are added when routed and answered.
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
            "http.route" = tracing::field::Empty,
            "http.response.status_code" = tracing::field::Empty,
            "otel.kind" = "server",
            "otel.status_code" = tracing::field::Empty,
        )
    })
}
