//! What every handler shares: the sources, the built app, the clock and the server's own telemetry.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use axum::extract::FromRef;

pub use vitals_api::clock::{Clock, FixedClock, ManualClock, SystemClock};

use crate::auth::session::{Auth, SessionContext};
use crate::dashboards::Dashboards;
use crate::dashboards::answers::PanelAnswers;
use crate::masking::Masker;
use crate::sources::Sources;
use crate::sources::guard::GuardedSources;
use crate::spa::Spa;
use crate::store::LinkPolicy;
use crate::telemetry::Telemetry;
use crate::traces::{TraceAnalyses, TraceConfig};

/// The state behind the router: one allocation shared by every request, so cloning it per
/// layer costs one reference count. Changing a field (tests fix the clock) copies it first.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct Shared {
    /// The sources as the server itself asks them (status page, readiness, home panels).
    pub sources: Sources,
    /// The same sources behind their guardrails, for per-caller scopes and statistics.
    pub guarded: GuardedSources,
    /// The dashboards, reloaded when their files change.
    pub dashboards: Arc<Dashboards>,
    /// Panel answers of the last few seconds, ready to send again.
    pub panel_answers: Arc<PanelAnswers>,
    /// Traces read lately, analysed, for the trace routes.
    pub trace_analyses: Arc<TraceAnalyses>,
    pub trace_config: TraceConfig,
    /// Masks patient data in every log line and span an answer carries.
    pub masker: Arc<Masker>,
    /// Logging in, sessions and the audit trail.
    pub auth: Arc<Auth>,
    /// How long share links work.
    pub link_policy: LinkPolicy,
    /// The longest time range a query may cover, in milliseconds.
    pub max_range_ms: i64,
    /// Signs and checks the embed tokens of the status page.
    pub embed_signer: Arc<crate::status::embed_token::EmbedSigner>,
    /// The embed route's token records and last page, so iframes refreshing cost little.
    pub embed_cache: Arc<crate::status::embed_cache::EmbedCache>,
    /// The status page: its components, evaluated once per interval for everyone.
    pub status: Arc<crate::status::board::StatusBoard>,
    /// The objectives, evaluated once per interval for everyone.
    pub slos: Arc<crate::insights::slo::board::SloBoard>,
    /// What went wrong when an objective failed fast, explained once per evaluation.
    pub explanations: Arc<crate::insights::explain::ExplanationBoard>,
    /// The patient journeys and their recent answers.
    pub journeys: Arc<crate::insights::journey::board::JourneyBoard>,
    /// The most points one series of a range query may have (`[guard] max_points_per_series`).
    pub max_points_per_series: usize,
    pub spa: Arc<Spa>,
    pub clock: Arc<dyn Clock>,
    pub telemetry: Arc<Telemetry>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Sessions and the clock, for the session extractors and the role gate.
impl FromRef<AppState> for SessionContext {
    fn from_ref(state: &AppState) -> Self {
        SessionContext {
            auth: state.auth.clone(),
            clock: state.clock.clone(),
        }
    }
}

/// The guarded sources, for the handlers' scoped sources.
impl FromRef<AppState> for Arc<Masker> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.masker)
    }
}

impl FromRef<AppState> for GuardedSources {
    fn from_ref(state: &AppState) -> Self {
        state.guarded.clone()
    }
}

/// The built app, for the handlers that serve it.
impl FromRef<AppState> for Arc<Spa> {
    fn from_ref(state: &AppState) -> Self {
        state.spa.clone()
    }
}

/// The server's own telemetry, for the request recorder and `/metrics`.
impl FromRef<AppState> for Arc<Telemetry> {
    fn from_ref(state: &AppState) -> Self {
        state.telemetry.clone()
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}
