//! What the numbers mean: service level objectives with their error budgets, and baselines
//! that say whether now is unusual.

use serde::{Deserialize, Serialize};

use crate::Point;

/// How an objective stands over its goal window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SloState {
    /// The goal is met and the budget is not being used up fast.
    Met,
    /// The goal is met so far, but the budget is being used fast enough to run out.
    AtRisk,
    /// Fewer events went well than the goal asks.
    Missed,
    /// There are no measurements to tell.
    NoData,
}

/// How urgent a burn-rate alert is, as the SRE workbook's multi-window alerts grade them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BurnSeverity {
    /// Someone should look now: at this pace the budget is gone within days.
    Page,
    /// Worth a ticket: the budget is being used faster than it lasts.
    Ticket,
}

/// Good and all events over one window ending now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloWindow {
    /// The window in milliseconds.
    pub window_ms: i64,
    /// The window as people say it: "this week", "this month".
    pub label: String,
    pub good: f64,
    pub total: f64,
    /// Good over total; absent when there were no events.
    pub ratio: Option<f64>,
    /// The share of the window's steps that had measurements, 0 to 1.
    pub coverage: f64,
}

/// One multi-window burn-rate alert: the rate at which the budget is used over a long and a
/// short window (1 is exactly as fast as it lasts the budget window), firing when both exceed
/// the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BurnRate {
    pub long_ms: i64,
    pub short_ms: i64,
    pub threshold: f64,
    pub long: Option<f64>,
    pub short: Option<f64>,
    pub firing: bool,
    pub severity: BurnSeverity,
}

/// Whether a number is usual: the band the same hour of the last weeks spans, and where now is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Baseline {
    /// The lowest and highest of the same hour in the weeks before.
    pub low: f64,
    pub high: f64,
    /// How many earlier weeks had measurements (at most four).
    pub weeks: u32,
    pub now: Option<f64>,
    /// Where now is against the band.
    pub verdict: BaselineVerdict,
}

/// Now against the usual band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BaselineVerdict {
    Usual,
    Higher,
    Lower,
    /// Too few earlier weeks, or no measurement now.
    Unknown,
}

/// One objective as of the last evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloSummary {
    pub id: String,
    /// The business capability, as people name it: "Logins succeed".
    pub name: String,
    pub description: String,
    /// The share of events that must go well, such as 0.995.
    pub objective: f64,
    pub state: SloState,
    /// What it all means, in one or two sentences.
    pub sentence: String,
    /// The goal's window (first) and the error budget's window (second).
    pub windows: Vec<SloWindow>,
    /// The share of the budget window's error budget that is left: 1 is untouched, 0 spent,
    /// below 0 overspent. Absent without events.
    pub budget_remaining: Option<f64>,
    pub burn_rates: Vec<BurnRate>,
    /// The last hour's share of failed events against the same hour of the last four weeks.
    pub baseline: Option<Baseline>,
    /// When the budget began to be used faster than usual, if it is now.
    pub fast_since: Option<i64>,
}

/// `GET /api/v1/slos`: every objective, evaluated once per interval for everyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloList {
    /// Milliseconds since the epoch: when the objectives were evaluated.
    pub as_of: i64,
    pub interval_seconds: u32,
    pub slos: Vec<SloSummary>,
}

/// An objective's queries, for engineers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloQueries {
    /// `prometheus`, `loki` or `demo`.
    pub source: String,
    /// Good events per step (`$__interval` is the step).
    pub good: String,
    /// All events per step.
    pub total: String,
}

/// `GET /api/v1/slos/{id}?from=&to=`: one objective over a range, with its charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloDetail {
    pub summary: SloSummary,
    pub from: i64,
    pub to: i64,
    pub step_ms: i64,
    /// Good and all events within the range, and their ratio.
    pub range: SloWindow,
    /// The range in a sentence: "In the last 24 hours 99.1% of 2,340 logins succeeded, below the 99.5% goal."
    pub range_sentence: String,
    /// The one-hour burn rate at each step of the range.
    pub burn_1h: Vec<Point>,
    /// The six-hour burn rate at each step of the range.
    pub burn_6h: Vec<Point>,
    /// The budget window's error budget left at each step of the range, 0 to 1 (below 0 overspent).
    pub budget: Vec<Point>,
    /// Only for engineers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<SloQueries>,
}

/// A journey as the list names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneySummary {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The steps' names, in order.
    pub steps: Vec<String>,
    /// What one group is called ("clinic"); `var.clinic` picks one.
    pub group_noun: String,
}

/// `GET /api/v1/journeys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyList {
    pub journeys: Vec<JourneySummary>,
}

/// How many journeys reached one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyStep {
    pub name: String,
    pub reached: u64,
    /// Of those who reached the step before, the share who reached this one.
    pub share_of_previous: Option<f64>,
    /// The same in the period compared with.
    pub usual_share_of_previous: Option<f64>,
    /// How many reached it in the period compared with.
    pub reached_before: u64,
}

/// One group's steps (one clinic's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyGroup {
    pub name: String,
    pub steps: Vec<JourneyStep>,
}

/// `GET /api/v1/journeys/{id}?from=&to=&var.clinic=`: the funnel over a range, compared with the
/// same period earlier. Counts only: no identifier, and no pseudonym, leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JourneyAnswer {
    pub id: String,
    pub name: String,
    pub from: i64,
    pub to: i64,
    pub compared_from: i64,
    pub compared_to: i64,
    pub group_noun: String,
    /// The group asked for with `var.<group>`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub steps: Vec<JourneyStep>,
    /// Each group's steps, when no group was asked for.
    pub groups: Vec<JourneyGroup>,
    pub sentence: String,
    /// Set when a step had more lines than are read; the counts are then of the lines read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// `GET /api/v1/explanations`: what went wrong in a range, each told in one sentence and tied
/// to the evidence engineers would find by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplanationList {
    /// Milliseconds since the epoch: the objectives' evaluation the episodes were found in.
    pub as_of: i64,
    pub from: i64,
    pub to: i64,
    /// Newest first. Empty when nothing went wrong: no cause is ever guessed.
    pub explanations: Vec<Explanation>,
    /// Episodes of the range older than those explained, left out to bound the work.
    pub not_explained: u32,
    /// The names of the objectives whose numbers could not be read, so whether they failed
    /// is not known: "Logins succeed". An empty list of explanations then means nothing.
    #[serde(default)]
    pub cannot_tell: Vec<String>,
}

/// One stretch of time an objective was failing fast, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// The objective that turned bad: "logins".
    pub slo: String,
    /// Its name: "Logins succeed".
    pub slo_name: String,
    /// Milliseconds since the epoch: when the failures began, to the minute.
    pub since: i64,
    /// When they ended; absent while they go on.
    pub until: Option<i64>,
    /// The share of the objective's events that failed meanwhile.
    pub failed_share: f64,
    /// The failed events meanwhile.
    pub failed: u64,
    /// What happened and why, for everyone: "Since 14:40 UTC, about 2 logins in 3 fail:
    /// login-api cannot find a record in DynamoDB (GetItem answers ResourceNotFound; 412 times so far)."
    pub sentence: String,
    /// The status page's components that read this objective, and those recorded degraded or
    /// out meanwhile: what clinicians were told.
    pub components: Vec<String>,
    /// What the sentence rests on; for engineers only.
    pub evidence: Option<Evidence>,
}

/// The evidence behind an explanation, each part found deterministically in the sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// The service whose requests the objective counts.
    pub service: String,
    /// The dependency whose failures rose at the same time, from the service map's edges.
    pub dependency: Option<DependencyEvidence>,
    /// The span where a failing trace of the service failed first.
    pub span: Option<SpanEvidence>,
    /// The log pattern of the service's failures in the stretch.
    pub pattern: Option<PatternEvidence>,
}

/// A call from the service to something it depends on, before and during the failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependencyEvidence {
    pub source: String,
    pub target: String,
    pub calls: u64,
    /// Calls that failed (errors, faults and throttles) during the failures.
    pub failed: u64,
    /// The share of calls that failed during the failures, and over as long before them.
    pub failed_share: f64,
    pub failed_share_before: f64,
}

/// The span a failing trace failed at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanEvidence {
    pub trace_id: String,
    pub service: String,
    /// The span's name: "DynamoDB.GetItem".
    pub name: String,
    /// The operation it called, when an AWS call: "GetItem".
    pub operation: Option<String>,
    /// The error it ended with: "ResourceNotFoundException".
    pub error: Option<String>,
    /// Its exception message, masked.
    pub message: Option<String>,
    /// Failing traces of the service found in the stretch (up to the search's limit).
    pub failing_traces: u32,
}

/// A log pattern of the service's failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatternEvidence {
    /// Masked, with `<*>` where lines differ.
    pub template: String,
    /// Lines of the stretch that fit it.
    pub count: u32,
    /// Whether no line of as long before the stretch fits it.
    pub new: bool,
    /// The log query that keeps its lines, for the log explorer.
    pub query: String,
}
