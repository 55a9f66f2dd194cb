//! A trace too large to send whole: its overview, and windows of its spans.
//!
//! Over the server's span limit (20,000 by default) a trace is read through
//! `GET /api/v1/traces/{id}/summary`, which answers a [`TraceOverview`], and
//! `GET /api/v1/traces/{id}/window?from=&to=&root=`, which answers a [`TraceWindow`]: the spans
//! of one time range and subtree, as deep as fits in one answer, so the browser never holds the
//! whole trace.

use serde::{Deserialize, Serialize};

use crate::{Span, SpanStatus};

/// What a huge trace is made of, without its spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceOverview {
    pub trace_id: String,
    pub span_count: u64,
    /// The root span: the request or job the trace follows.
    pub root: Span,
    /// Nanoseconds since the Unix epoch: the earliest start of any span.
    pub start: i64,
    /// Nanoseconds from `start` to the latest end of any span.
    pub duration: i64,
    /// Every service with spans in the trace, the busiest first.
    pub services: Vec<ServiceSpans>,
    /// The chain of work the trace's duration waited on, in time order.
    pub critical_path: Vec<CriticalStep>,
    /// How many steps the critical path has; more than `critical_path` holds when it is long.
    pub critical_path_steps: u64,
    /// Spans that ended in an error, a fault or a throttle, in time order, the first of them.
    pub errors: Vec<Span>,
    /// How many spans ended badly in all.
    pub error_count: u64,
    /// How many spans sit at each depth: the root's children at 1, theirs at 2, and so on.
    pub spans_per_depth: Vec<u64>,
    /// How many spans start in each of equal slices of the trace's duration.
    pub spans_per_bucket: Vec<u64>,
    /// Nanoseconds each of `spans_per_bucket` covers.
    pub bucket_duration: i64,
    /// The most spans one window answers.
    pub window_limit: u32,
}

/// The spans of one service in a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceSpans {
    pub service: String,
    pub spans: u64,
    /// Spans of the service that ended in an error, fault or throttle.
    pub failed: u64,
}

/// One stretch of the critical path: the time when `span_id` was what the trace waited on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CriticalStep {
    pub span_id: String,
    pub service: String,
    pub name: String,
    /// Nanoseconds since the Unix epoch.
    pub start: i64,
    /// Nanoseconds since the Unix epoch.
    pub end: i64,
    pub status: SpanStatus,
}

/// The spans of a huge trace in one time range and subtree, in waterfall order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceWindow {
    pub trace_id: String,
    /// Nanoseconds since the Unix epoch: the window's start and end.
    pub from: i64,
    pub to: i64,
    /// The span whose subtree the window shows; the whole trace when absent.
    pub root: Option<String>,
    /// The spans that overlap the window, parents before their children, down to `depth`
    /// levels below the root: as deep as fits within the window limit.
    pub spans: Vec<WindowSpan>,
    /// How many levels below the root the window reaches; deeper spans are counted in each
    /// span's `hidden`, and a window rooted at that span shows them.
    pub depth: u32,
    /// How many spans of the subtree overlap the window in all.
    pub matching: u64,
    /// True when the root and its children alone are more than the limit, so `spans` holds only
    /// the first of them: a narrower window shows the rest.
    pub cut: bool,
}

/// One row of a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowSpan {
    pub span: Span,
    /// Levels below the trace's root.
    pub depth: u32,
    /// Spans below this one in the whole trace.
    pub descendants: u64,
    /// Spans below this one that the window leaves out: open a window rooted here to see them.
    pub hidden: u64,
    pub critical: bool,
}

/// Two traces set side by side, span by span and service by service: where the second one spent
/// more or less time than the first, so "why is this one slow" has an answer.
///
/// Spans are matched by their place in the tree: the services and operation names from the root
/// down to them, and which of their parent's children of the same service and name they are, in
/// start order. Self time is a span's duration less the time its children ran within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceComparison {
    /// The first trace, the one compared against.
    pub a: ComparedTrace,
    /// The second trace, the one asked about.
    pub b: ComparedTrace,
    /// Whether both roots are the same service and operation; comparing different operations is
    /// allowed, and the sentence says so.
    pub same_operation: bool,
    /// Nanoseconds the second trace took more than the first; negative when it was quicker.
    pub difference: i64,
    /// One plain English sentence on how long each took and what made most of the difference.
    pub sentence: String,
    /// How many spans of the first trace have a match in the second.
    pub matched: u64,
    /// Every service with spans in either trace, the largest difference in self time first.
    pub by_service: Vec<ServiceDifference>,
    /// Matched spans whose self time differs, the largest difference first: the first 50.
    pub spans: Vec<SpanDifference>,
    /// How many spans of the first trace have no match in the second.
    pub only_in_a: u64,
    /// How many spans of the second trace have no match in the first.
    pub only_in_b: u64,
    /// The first 50 spans found only in the first trace, in waterfall order.
    pub only_in_a_first: Vec<UnmatchedSpan>,
    /// The first 50 spans found only in the second trace, in waterfall order.
    pub only_in_b_first: Vec<UnmatchedSpan>,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComparedTrace {
    pub trace_id: String,
    /// The root span's service; empty for a trace without spans.
    pub service: String,
    /// The root span's operation name: what the trace follows. Empty for a trace without spans.
    pub operation: String,
    /// Nanoseconds since the Unix epoch: the earliest start of any span.
    pub start: i64,
    /// Nanoseconds from `start` to the latest end of any span.
    pub duration: i64,
    pub span_count: u64,
}

/// The self time of one service's spans in each trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDifference {
    pub service: String,
    /// Nanoseconds the service's spans ran, less the time their children ran within them, in the
    /// first trace.
    pub self_time_a: i64,
    /// The same in the second trace.
    pub self_time_b: i64,
    /// Nanoseconds `self_time_b` is more than `self_time_a`; negative when less.
    pub difference: i64,
    /// How many spans the service has in the first trace.
    pub spans_a: u64,
    /// How many spans the service has in the second trace.
    pub spans_b: u64,
}

/// A span found in both traces, with its time in each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanDifference {
    pub service: String,
    pub name: String,
    /// Levels below the root.
    pub depth: u32,
    /// Which of its parent's children with the same service and name the span is, from 0, in
    /// start order: the third of three calls is 2.
    pub occurrence: u32,
    /// The span's id in the first trace.
    pub span_id_a: String,
    /// The span's id in the second trace.
    pub span_id_b: String,
    /// Nanoseconds the span ran in the first trace.
    pub duration_a: i64,
    /// Nanoseconds the span ran in the second trace.
    pub duration_b: i64,
    /// Nanoseconds of the span's duration its children did not cover, in the first trace.
    pub self_time_a: i64,
    /// The same in the second trace.
    pub self_time_b: i64,
    /// Nanoseconds `self_time_b` is more than `self_time_a`; negative when less.
    pub difference: i64,
}

/// A span found in one trace only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnmatchedSpan {
    pub span_id: String,
    pub service: String,
    pub name: String,
    /// Levels below the root.
    pub depth: u32,
    /// Nanoseconds the span ran.
    pub duration: i64,
    /// Nanoseconds of its duration its children did not cover.
    pub self_time: i64,
}
