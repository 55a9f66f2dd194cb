//! Queries as sources receive them: a time range, and log and trace queries after the server
//! has normalised their times, limit and step. Shared by the server and the demo clinic.

use crate::Direction;

/// A closed-open interval of time in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl TimeRange {
    pub fn new(start_ms: i64, end_ms: i64) -> Self {
        Self { start_ms, end_ms }
    }

    pub fn duration_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// A log query after the server has normalised times, limit and step.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub query: String,
    pub range: TimeRange,
    pub limit: u32,
    pub direction: Direction,
    /// Step between points of a metric (`count_over_time`, `rate`) query.
    pub step_ms: i64,
}

/// A trace search after the server has normalised times and limit.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQuery {
    /// An X-Ray filter expression, or empty for every trace.
    pub filter: String,
    pub range: TimeRange,
    pub limit: u32,
}
