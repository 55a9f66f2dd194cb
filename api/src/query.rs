//! Queries as sources receive them: a time range, and log and trace queries after the server
//! has normalised their times, limit and step, and the durations they are written with.
//! Shared by the server and the demo clinic.

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

/// Parses a Prometheus-style duration (`90s`, `5m`, `1h30m`, `2d`, `1w`, `250ms`) into
/// milliseconds; `None` for anything else, an overflow included. (The PromQL parser's own
/// reader takes a unit whose number does not fit as zero, so `1d99999999999h` would be a day.)
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let amount: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(amount.checked_mul(unit_ms)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_too_long_to_count_is_refused_not_shortened() {
        assert_eq!(parse_duration_ms("1d2h"), Some(93_600_000));
        assert_eq!(
            parse_duration_ms("1d99999999999h"),
            Some(86_400_000 + 99_999_999_999 * 3_600_000)
        );
        assert_eq!(parse_duration_ms("1d99999999999999h"), None);
        assert_eq!(parse_duration_ms("99999999999999999999s"), None);
        assert_eq!(parse_duration_ms("-5m"), None);
    }
}
