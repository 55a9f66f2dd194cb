//! How big an answer may be: lines, series, points and bytes, each refused with what to narrow.

use std::io;

use serde::Serialize;
use vitals_api::{LogQueryResponse, MetricQueryResponse, Series, ServiceMap, Trace, TraceSummary};

use super::config::GuardConfig;

/// The caps one answer must stay under.
#[derive(Debug, Clone, Copy)]
pub(super) struct AnswerLimits {
    max_log_lines: usize,
    max_series: usize,
    max_points_per_series: usize,
    max_answer_bytes: u64,
}

impl AnswerLimits {
    pub(super) fn new(config: &GuardConfig) -> Self {
        Self {
            max_log_lines: config.max_log_lines,
            max_series: config.max_series,
            max_points_per_series: config.max_points_per_series,
            max_answer_bytes: config.max_answer_bytes(),
        }
    }

    /// The answer's approximate size as JSON in bytes, or why it is too big,
    /// as a sentence that names the limit and what to narrow.
    pub(super) fn check<T: Answer>(&self, answer: &T) -> Result<u64, String> {
        answer.check_counts(self)?;
        json_size_up_to(answer, self.max_answer_bytes).ok_or_else(|| {
            format!(
                "the answer is larger than {} MB, the limit for one answer; narrow the query with more label matchers, a shorter range or a lower limit",
                self.max_answer_bytes / (1024 * 1024)
            )
        })
    }

    fn check_series(&self, series: &[Series]) -> Result<(), String> {
        if series.len() > self.max_series {
            return Err(format!(
                "the answer has {} series, above the limit of {}; narrow the query with more label matchers or a shorter range",
                series.len(),
                self.max_series
            ));
        }
        let most_points = series.iter().map(|one| one.points.len()).max().unwrap_or(0);
        if most_points > self.max_points_per_series {
            return Err(format!(
                "a series of the answer has {most_points} points, above the limit of {} per series; use a longer step or a shorter range",
                self.max_points_per_series
            ));
        }
        Ok(())
    }
}

/// An answer the guard can cache and share: cloned for each caller, measured as JSON.
pub(super) trait Answer: Clone + Serialize + Send + Sync + 'static {
    /// Refuses an answer with more lines, series or points than the limits allow.
    fn check_counts(&self, _limits: &AnswerLimits) -> Result<(), String> {
        Ok(())
    }
}

impl Answer for LogQueryResponse {
    fn check_counts(&self, limits: &AnswerLimits) -> Result<(), String> {
        match self {
            Self::Streams { lines } if lines.len() > limits.max_log_lines => Err(format!(
                "the answer has {} log lines, above the limit of {}; ask for at most {} lines, or narrow the query with more label matchers or a shorter range",
                lines.len(),
                limits.max_log_lines,
                limits.max_log_lines
            )),
            Self::Streams { .. } => Ok(()),
            Self::Matrix { series } | Self::Vector { series } => limits.check_series(series),
        }
    }
}

impl Answer for MetricQueryResponse {
    fn check_counts(&self, limits: &AnswerLimits) -> Result<(), String> {
        limits.check_series(&self.series)
    }
}

impl Answer for Vec<String> {}
impl Answer for Vec<TraceSummary> {}
impl Answer for Trace {}
impl Answer for ServiceMap {}
impl Answer for () {}

/// Counts the bytes of `value` as JSON, stopping as soon as they pass `cap`
/// so an oversize answer costs no more than the cap to measure.
fn json_size_up_to(value: &impl Serialize, cap: u64) -> Option<u64> {
    let mut counter = ByteCounter { bytes: 0, cap };
    // The only write error is the counter passing the cap; the count says which.
    let _ = serde_json::to_writer(&mut counter, value);
    (counter.bytes <= cap).then_some(counter.bytes)
}

struct ByteCounter {
    bytes: u64,
    cap: u64,
}

impl io::Write for ByteCounter {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.bytes += buffer.len() as u64;
        if self.bytes > self.cap {
            return Err(io::Error::other("above the size limit"));
        }
        Ok(buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use vitals_api::{Labels, LogLine, Point, ResultType};

    use super::*;

    fn limits() -> AnswerLimits {
        AnswerLimits::new(&GuardConfig::default())
    }

    fn series(count: usize, points: usize) -> Vec<Series> {
        (0..count)
            .map(|index| Series {
                labels: Labels::from([("clinic".to_owned(), index.to_string())]),
                points: (0..points).map(|at| Point(at as i64, 1.0)).collect(),
            })
            .collect()
    }

    fn metric_answer(series: Vec<Series>) -> MetricQueryResponse {
        MetricQueryResponse {
            result_type: ResultType::Matrix,
            series,
            step_seconds: 60.0,
            warnings: vec![],
        }
    }

    #[test]
    fn an_answer_within_every_limit_is_measured() {
        let size = limits().check(&metric_answer(series(2, 3))).unwrap();
        let json = serde_json::to_vec(&metric_answer(series(2, 3))).unwrap();
        assert_eq!(size, json.len() as u64);
    }

    #[test]
    fn too_many_series_are_refused_naming_the_limit() {
        let reason = limits().check(&metric_answer(series(501, 1))).unwrap_err();
        assert_eq!(
            reason,
            "the answer has 501 series, above the limit of 500; narrow the query with more label matchers or a shorter range"
        );
    }

    #[test]
    fn too_many_points_in_one_series_are_refused_naming_the_limit() {
        let answer = LogQueryResponse::Matrix {
            series: series(1, 11_001),
        };
        let reason = limits().check(&answer).unwrap_err();
        assert!(
            reason.starts_with("a series of the answer has 11001 points, above the limit of 11000 per series; use a longer step"),
            "{reason}"
        );
    }

    #[test]
    fn too_many_log_lines_are_refused_naming_the_limit() {
        let line = LogLine {
            time: 1,
            labels: Labels::new(),
            line: "msg=ok".into(),
            fields: Default::default(),
            reveal_ref: None,
        };
        let answer = LogQueryResponse::Streams {
            lines: vec![line; 5_001],
        };
        let reason = limits().check(&answer).unwrap_err();
        assert!(
            reason.starts_with(
                "the answer has 5001 log lines, above the limit of 5000; ask for at most 5000 lines"
            ),
            "{reason}"
        );
    }

    #[test]
    fn an_answer_larger_than_the_byte_limit_is_refused_naming_it() {
        let limits = AnswerLimits::new(&GuardConfig {
            max_answer_mb: 1,
            ..GuardConfig::default()
        });
        let names = vec!["x".repeat(1024 * 1024)];
        let reason = limits.check(&names).unwrap_err();
        assert!(
            reason.starts_with("the answer is larger than 1 MB, the limit for one answer"),
            "{reason}"
        );
    }
}
