//! The demo's log source: runs the LogQL subset over the lines the clinic's events write.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use vitals_api::{Direction, LogLine, LogQueryResponse, Point, Series};

use super::DemoClinic;
use super::logql::{self, Grouping, LogQl, MetricExpr, Pipeline, RangeFunction, Stage};
use super::records::{LineFormat, LogRecord, records_in_step};
use super::simulation::{DAY_MS, steps_of};
use vitals_api::query::{LogQuery, TimeRange};

use crate::error::{DemoError, bad_query};

/// Loki refuses metric queries with more series than this; so does the demo.
const MAX_SERIES: usize = 500;

/// Loki's cap on points per series.
const MAX_POINTS: i64 = 11_000;

/// Label names and values are looked up in at most the last two days of a
/// range, as Loki answers them from a bounded index window.
const LABEL_LOOKBACK_MS: i64 = 2 * DAY_MS;

/// The labels of a metric series and the times (ns, ascending) of the lines it counts.
type SeriesLines = (BTreeMap<String, String>, Vec<i64>);

const PARSER_ERROR_JSON: &str = "JSONParserErr";
const PARSER_ERROR_LOGFMT: &str = "LogfmtParserErr";
const LABEL_FILTER_ERROR: &str = "LabelFilterErr";

/// A line seen through a query's stages: what the parsers extracted and any error they set.
struct LineView<'a> {
    record: &'a LogRecord,
    stream_labels: &'a vitals_api::Labels,
    clinics: &'a [String],
    parsed: bool,
    error: Option<&'static str>,
    text: Option<String>,
}

impl<'a> LineView<'a> {
    fn text(&mut self) -> &str {
        let (record, clinics) = (self.record, self.clinics);
        self.text.get_or_insert_with(|| record.text(clinics))
    }

    /// The value of a label as the query sees it: stream labels first, then
    /// extracted fields; a field that clashes with a stream label is renamed
    /// `<name>_extracted`, as Loki does.
    fn label(&self, name: &str, out: &mut String) -> bool {
        out.clear();
        if name == "__error__" {
            if let Some(error) = self.error {
                out.push_str(error);
                return true;
            }
            return false;
        }
        if let Some(value) = self.stream_labels.get(name) {
            out.push_str(value);
            return true;
        }
        if !self.parsed {
            return false;
        }
        let field_name = match name.strip_suffix("_extracted") {
            Some(base) if self.stream_labels.contains_key(base) => base,
            _ => name,
        };
        match self.record.fields.get(field_name) {
            Some(value) => {
                value.write_to(self.clinics, out);
                true
            }
            None => false,
        }
    }

    /// Every label of the line after its stages, as a metric query groups them.
    fn all_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.stream_labels.clone();
        if self.parsed {
            for (key, value) in self.record.fields.iter() {
                let mut text = String::new();
                value.write_to(self.clinics, &mut text);
                let name = if self.stream_labels.contains_key(*key) {
                    format!("{key}_extracted")
                } else {
                    (*key).to_owned()
                };
                labels.insert(name, text);
            }
        }
        if let Some(error) = self.error {
            labels.insert("__error__".into(), error.into());
        }
        labels
    }

    /// Runs the stages; false when a stage drops the line.
    fn passes(&mut self, stages: &[Stage], scratch: &mut String) -> bool {
        for stage in stages {
            let keep = match stage {
                Stage::LineContains(needle) => self.text().contains(needle.as_str()),
                Stage::LineLacks(needle) => !self.text().contains(needle.as_str()),
                Stage::LineMatches(regex) => regex.is_match(self.text()),
                Stage::LineNotMatches(regex) => !regex.is_match(self.text()),
                Stage::Json => {
                    self.parse_as(LineFormat::Json, PARSER_ERROR_JSON);
                    true
                }
                Stage::Logfmt => {
                    self.parse_as(LineFormat::Logfmt, PARSER_ERROR_LOGFMT);
                    true
                }
                Stage::LabelText { name, matcher } => {
                    self.label(name, scratch);
                    matcher.is_match(scratch)
                }
                Stage::LabelNumber {
                    name,
                    comparison,
                    value,
                } => {
                    // Loki's numeric filter: a line that already has an
                    // error passes, a missing label drops it, a value that
                    // is no number marks the line with an error.
                    if self.error.is_some() {
                        true
                    } else if !self.label(name, scratch) {
                        false
                    } else {
                        match scratch.parse::<f64>() {
                            Ok(number) => comparison.holds(number, *value),
                            Err(_) => {
                                self.error = Some(LABEL_FILTER_ERROR);
                                true
                            }
                        }
                    }
                }
            };
            if !keep {
                return false;
            }
        }
        true
    }

    fn parse_as(&mut self, format: LineFormat, error: &'static str) {
        if self.record.format == format {
            self.parsed = true;
        } else if self.error.is_none() {
            self.error = Some(error);
        }
    }
}

/// A log query followed live. Lines have whole milliseconds, so each batch covers
/// `[end of the last batch, now)` and no line is handed out twice.
#[derive(Debug, Clone)]
pub struct TailBatch {
    pipeline: Pipeline,
    next_ms: i64,
    limit: usize,
}

impl TailBatch {
    /// The matching lines written before `now_ms` and not handed out yet, oldest first.
    pub fn next(&mut self, clinic: &DemoClinic, now_ms: i64) -> Vec<LogLine> {
        let now_ms = now_ms.max(self.next_ms);
        let lines = clinic.matching_lines(
            &self.pipeline,
            TimeRange::new(self.next_ms, now_ms),
            self.limit,
            Direction::Forward,
        );
        // A full batch may have left lines behind: continue right after the last one sent.
        self.next_ms = match lines.last() {
            Some(last) if lines.len() >= self.limit => last.time.div_euclid(1_000_000) + 1,
            _ => now_ms,
        };
        lines
    }
}

impl DemoClinic {
    /// Starts following a log query from `start_ns`: each [`TailBatch::next`] hands out the
    /// lines written since the previous one, at most `limit` at a time.
    pub fn follow(&self, query: &str, start_ns: i64, limit: u32) -> Result<TailBatch, DemoError> {
        match logql::parse(query).map_err(bad_query)? {
            LogQl::Log(pipeline) => Ok(TailBatch {
                pipeline,
                next_ms: start_ns.div_euclid(1_000_000),
                limit: limit as usize,
            }),
            LogQl::Metric(_) => Err(bad_query(
                "live tail follows log lines; tail the log query inside the metric function instead",
            )),
        }
    }

    /// Answers a LogQL query (lines or a metric over lines).
    pub fn run_log_query(&self, query: &LogQuery) -> Result<LogQueryResponse, DemoError> {
        match logql::parse(&query.query).map_err(bad_query)? {
            LogQl::Log(pipeline) => Ok(LogQueryResponse::Streams {
                lines: self.matching_lines(&pipeline, query.range, query.limit as usize, query.direction),
            }),
            LogQl::Metric(expr) => {
                let series = self.log_metric(&expr, query.range, query.step_ms)?;
                Ok(LogQueryResponse::Matrix { series })
            }
        }
    }

    /// Every line in the range, oldest first.
    pub fn log_lines(&self, range: TimeRange) -> Vec<LogLine> {
        let mut lines = Vec::new();
        self.for_each_log_line(range, |line| lines.push(line));
        lines
    }

    /// Hands every line in the range to `visit`, oldest first, without
    /// holding them all: how a test pushes days of lines into a real Loki in
    /// batches.
    pub fn for_each_log_line(&self, range: TimeRange, mut visit: impl FnMut(LogLine)) {
        let clinics = self.simulation.clinics();
        self.walk_records(range, Direction::Forward, |record| {
            visit(LogLine {
                time: record.time_ns,
                labels: self.streams.labels(record.stream).clone(),
                line: record.text(clinics),
                fields: record.field_map(clinics),
                reveal_ref: None,
            });
            ControlFlow::Continue(())
        });
    }

    /// Walks the lines whose times lie in the range, step by step in the
    /// given direction, until `visit` breaks.
    fn walk_records(
        &self,
        range: TimeRange,
        direction: Direction,
        mut visit: impl FnMut(&LogRecord) -> ControlFlow<()>,
    ) {
        let (start_ns, end_ns) = (range.start_ms * 1_000_000, range.end_ms * 1_000_000);
        let mut events = Vec::new();
        let mut records = Vec::new();
        let steps = steps_of(range);
        let ordered_steps: Box<dyn Iterator<Item = i64>> = match direction {
            Direction::Forward => Box::new(steps),
            Direction::Backward => Box::new(steps.rev()),
        };
        for step in ordered_steps {
            records_in_step(&self.simulation, &self.streams, step, &mut events, &mut records);
            if direction == Direction::Backward {
                records.reverse();
            }
            for record in records
                .iter()
                .filter(|r| r.time_ns >= start_ns && r.time_ns < end_ns)
            {
                if visit(record).is_break() {
                    return;
                }
            }
        }
    }

    fn matching_lines(
        &self,
        pipeline: &Pipeline,
        range: TimeRange,
        limit: usize,
        direction: Direction,
    ) -> Vec<LogLine> {
        let mut lines = Vec::new();
        if limit == 0 {
            return lines;
        }
        let clinics = self.simulation.clinics();
        let mut run = PipelineRun::new(self, pipeline);
        self.walk_records(range, direction, |record| {
            let Some(mut view) = run.view(record) else {
                return ControlFlow::Continue(());
            };
            let mut labels = view.stream_labels.clone();
            if let Some(error) = view.error {
                labels.insert("__error__".into(), error.into());
            }
            // A line filter may have formatted the line already.
            let line = view.text.take().unwrap_or_else(|| record.text(clinics));
            lines.push(LogLine {
                time: record.time_ns,
                labels,
                line,
                fields: record.field_map(clinics),
                reveal_ref: None,
            });
            if lines.len() >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        lines
    }

    fn log_metric(
        &self,
        expr: &MetricExpr,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<Vec<Series>, DemoError> {
        if step_ms <= 0 {
            return Err(bad_query(
                "the step of a metric query must be positive; use a step such as 60s",
            ));
        }
        if range.end_ms < range.start_ms {
            return Err(bad_query("the end of the range is before its start; swap them"));
        }
        if (range.end_ms - range.start_ms) / step_ms + 1 > MAX_POINTS {
            return Err(bad_query(format!(
                "the query would return more than {MAX_POINTS} points per series; use a larger step"
            )));
        }
        // The chain of sums, outermost first, down to the range function.
        let mut sums: Vec<&Option<Grouping>> = Vec::new();
        let mut node = expr;
        let (function, pipeline, window_ms) = loop {
            match node {
                MetricExpr::Sum { grouping, inner } => {
                    sums.push(grouping);
                    node = inner;
                }
                MetricExpr::Range {
                    function,
                    pipeline,
                    window_ms,
                } => break (*function, pipeline, *window_ms),
            }
        };
        // The innermost sum is applied to each line's labels directly, which
        // gives the same numbers as grouping the series afterwards while
        // keeping per-line label sets (trace ids and all) out of memory.
        let line_grouping = sums.pop();
        let eval_times: Vec<i64> = (0..)
            .map(|i| range.start_ms + i * step_ms)
            .take_while(|&t| t <= range.end_ms)
            .collect();
        let series_times = self.line_times_by_series(pipeline, range, window_ms, line_grouping)?;
        let window_ns = window_ms * 1_000_000;
        let mut series: Vec<Series> = series_times
            .into_iter()
            .map(|(labels, times)| {
                let mut points = Vec::new();
                let (mut first, mut last) = (0, 0);
                for &t in &eval_times {
                    let t_ns = t * 1_000_000;
                    while last < times.len() && times[last] <= t_ns {
                        last += 1;
                    }
                    while first < last && times[first] <= t_ns - window_ns {
                        first += 1;
                    }
                    let count = (last - first) as f64;
                    if count > 0.0 {
                        let value = match function {
                            RangeFunction::CountOverTime => count,
                            RangeFunction::Rate => count / (window_ms as f64 / 1000.0),
                        };
                        points.push(Point(t, value));
                    }
                }
                Series { labels, points }
            })
            .filter(|series| !series.points.is_empty())
            .collect();
        for grouping in sums.into_iter().rev() {
            series = sum_series(series, grouping.as_ref());
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(series)
    }

    /// Times (ns, ascending) of the lines each series counts, over the lines
    /// in (start − window, end].
    fn line_times_by_series(
        &self,
        pipeline: &Pipeline,
        range: TimeRange,
        window_ms: i64,
        grouping: Option<&Option<Grouping>>,
    ) -> Result<Vec<SeriesLines>, DemoError> {
        let first_ns = (range.start_ms - window_ms) * 1_000_000;
        let last_ns = range.end_ms * 1_000_000;
        let scan = TimeRange::new(range.start_ms - window_ms, range.end_ms + 1);
        let mut run = PipelineRun::new(self, pipeline);
        let mut index_of: HashMap<BTreeMap<String, String>, usize> = HashMap::new();
        let mut series: Vec<SeriesLines> = Vec::new();
        let mut failure = None;
        self.walk_records(scan, Direction::Forward, |record| {
            if record.time_ns <= first_ns || record.time_ns > last_ns {
                return ControlFlow::Continue(());
            }
            let Some(view) = run.view(record) else {
                return ControlFlow::Continue(());
            };
            let labels = view.all_labels();
            if let Some(error) = view.error {
                failure = Some(pipeline_error(error, &labels));
                return ControlFlow::Break(());
            }
            let labels = match grouping {
                Some(grouping) => project(labels, grouping.as_ref()),
                None => labels,
            };
            let index = match index_of.get(&labels) {
                Some(&index) => index,
                None if series.len() >= MAX_SERIES => {
                    failure = Some(bad_query(format!(
                        "maximum of series ({MAX_SERIES}) reached for a single query; aggregate with sum by (…) \
                         or narrow the selector"
                    )));
                    return ControlFlow::Break(());
                }
                None => {
                    index_of.insert(labels.clone(), series.len());
                    series.push((labels, Vec::new()));
                    series.len() - 1
                }
            };
            series[index].1.push(record.time_ns);
            ControlFlow::Continue(())
        });
        match failure {
            Some(error) => Err(error),
            None => Ok(series),
        }
    }

    /// Label names of the streams with lines in the range.
    pub fn log_label_names(&self, range: TimeRange) -> Vec<String> {
        let names: BTreeSet<String> = self
            .streams_present(range)
            .into_iter()
            .flat_map(|index| self.streams.labels(index).keys().cloned())
            .collect();
        names.into_iter().collect()
    }

    /// Values of one label over the streams with lines in the range.
    pub fn log_label_values(&self, name: &str, range: TimeRange) -> Vec<String> {
        let values: BTreeSet<String> = self
            .streams_present(range)
            .into_iter()
            .filter_map(|index| self.streams.labels(index).get(name).cloned())
            .collect();
        values.into_iter().collect()
    }

    fn streams_present(&self, range: TimeRange) -> Vec<usize> {
        let scan = TimeRange::new(range.start_ms.max(range.end_ms - LABEL_LOOKBACK_MS), range.end_ms);
        let mut seen = vec![false; self.streams.len()];
        self.walk_records(scan, Direction::Forward, |record| {
            seen[record.stream] = true;
            ControlFlow::Continue(())
        });
        (0..seen.len()).filter(|&index| seen[index]).collect()
    }
}

/// A log query's selector and stages, run line by line.
struct PipelineRun<'a> {
    clinic: &'a DemoClinic,
    pipeline: &'a Pipeline,
    /// Whether the selector picks each stream of the table.
    selected: Vec<bool>,
    scratch: String,
}

impl<'a> PipelineRun<'a> {
    fn new(clinic: &'a DemoClinic, pipeline: &'a Pipeline) -> Self {
        let selected = (0..clinic.streams.len())
            .map(|index| {
                let labels = clinic.streams.labels(index);
                pipeline.selector.iter().all(|matcher| {
                    matcher
                        .matcher
                        .is_match(labels.get(&matcher.name).map_or("", String::as_str))
                })
            })
            .collect();
        Self {
            clinic,
            pipeline,
            selected,
            scratch: String::new(),
        }
    }

    /// The line as the stages leave it, or `None` when the selector or a stage drops it.
    fn view<'r>(&mut self, record: &'r LogRecord) -> Option<LineView<'r>>
    where
        'a: 'r,
    {
        if !self.selected[record.stream] {
            return None;
        }
        let mut view = LineView {
            record,
            stream_labels: self.clinic.streams.labels(record.stream),
            clinics: self.clinic.simulation.clinics(),
            parsed: false,
            error: None,
            text: None,
        };
        view.passes(&self.pipeline.stages, &mut self.scratch)
            .then_some(view)
    }
}

/// Loki's answer when a parser failed on a line a metric query counts.
fn pipeline_error(error: &str, labels: &BTreeMap<String, String>) -> DemoError {
    let series = labels
        .iter()
        .filter(|(name, _)| {
            // The stream's own labels and the error identify the series; the
            // extracted fields would only repeat the line.
            matches!(
                name.as_str(),
                "__error__" | "service" | "env" | "clinic" | "level"
            )
        })
        .map(|(name, value)| format!("{name}=\"{value}\""))
        .collect::<Vec<_>>()
        .join(", ");
    bad_query(format!(
        "pipeline error: '{error}' for series: '{{{series}}}'. use a label filter to intentionally skip this error \
         (e.g. | __error__!=\"{error}\"), or select only streams whose lines have that format"
    ))
}

/// The labels a `by`/`without` grouping keeps.
fn project(labels: BTreeMap<String, String>, grouping: Option<&Grouping>) -> BTreeMap<String, String> {
    match grouping {
        None => BTreeMap::new(),
        Some(grouping) if grouping.without => labels
            .into_iter()
            .filter(|(name, _)| !grouping.labels.contains(name))
            .collect(),
        Some(grouping) => labels
            .into_iter()
            .filter(|(name, _)| grouping.labels.contains(name))
            .collect(),
    }
}

/// `sum` over series: points at the same time add up.
fn sum_series(series: Vec<Series>, grouping: Option<&Grouping>) -> Vec<Series> {
    let mut groups: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>> = BTreeMap::new();
    for one in series {
        let points = groups.entry(project(one.labels, grouping)).or_default();
        for Point(t, value) in one.points {
            *points.entry(t).or_insert(0.0) += value;
        }
    }
    groups
        .into_iter()
        .map(|(labels, points)| Series {
            labels,
            points: points.into_iter().map(|(t, v)| Point(t, v)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::{EventKind, LoginResult};
    use crate::tests::{HOUR, TUESDAY, TUESDAY_MORNING, clinic};

    fn query(text: &str, range: TimeRange, step_ms: i64) -> LogQuery {
        LogQuery {
            query: text.into(),
            range,
            limit: 5000,
            direction: Direction::Forward,
            step_ms,
        }
    }

    fn lines(response: LogQueryResponse) -> Vec<LogLine> {
        match response {
            LogQueryResponse::Streams { lines } => lines,
            other => panic!("expected lines, got {other:?}"),
        }
    }

    fn series(response: LogQueryResponse) -> Vec<Series> {
        match response {
            LogQueryResponse::Matrix { series } => series,
            other => panic!("expected a matrix, got {other:?}"),
        }
    }

    #[test]
    fn count_over_time_counts_the_lines_of_each_window() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR);
        let answer = clinic
            .run_log_query(&query(
                r#"sum(count_over_time({service="appointments"}[5m]))"#,
                range,
                300_000,
            ))
            .unwrap();
        let series = series(answer);
        assert_eq!(series.len(), 1);
        let all = clinic.log_lines(TimeRange::new(range.start_ms - 300_000, range.end_ms + 1));
        for Point(t, value) in &series[0].points {
            let expected = all
                .iter()
                .filter(|line| line.labels["service"] == "appointments")
                .filter(|line| line.time > (t - 300_000) * 1_000_000 && line.time <= t * 1_000_000)
                .count();
            assert_eq!(*value, expected as f64, "at {t}");
        }
        assert_eq!(series[0].points.len(), 13);
    }

    #[test]
    fn line_filter_and_json_label_filter_select_the_failed_logins() {
        let clinic = clinic();
        // 10:40–10:50 is a failure window.
        let window = TimeRange::new(
            TUESDAY + 10 * HOUR + 40 * 60_000,
            TUESDAY + 10 * HOUR + 50 * 60_000,
        );
        let mut failed = 0;
        clinic.simulation.for_each_event(window, |event| {
            if event.kind
                == (EventKind::LoginAttempt {
                    result: LoginResult::NotFound,
                })
            {
                failed += 1;
            }
        });
        assert!(failed > 0);
        let by_text = lines(
            clinic
                .run_log_query(&query(
                    r#"{service="login-api"} |= "ResourceNotFoundException""#,
                    window,
                    0,
                ))
                .unwrap(),
        );
        let by_label = lines(
            clinic
                .run_log_query(&query(
                    r#"{service="login-api", env="prod"} | json | status=404"#,
                    window,
                    0,
                ))
                .unwrap(),
        );
        let by_regex = lines(
            clinic
                .run_log_query(&query(r#"{service=~"login.*"} |~ "Resource[A-Za-z]+Exception" | json | error="ResourceNotFoundException""#, window, 0))
                .unwrap(),
        );
        assert_eq!(by_text.len(), failed);
        assert_eq!(by_label.len(), failed);
        assert_eq!(by_regex.len(), failed);
        assert_eq!(by_label[0].fields["key"], "latest");
    }

    #[test]
    fn logfmt_label_filter_and_sum_by_split_by_level() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 9 * HOUR, TUESDAY + 12 * HOUR);
        let all = clinic.log_lines(TimeRange::new(range.start_ms - HOUR, range.end_ms + 1));
        let registrations = |level: &str| {
            all.iter()
                .filter(|l| l.labels["service"] == "patient-registration" && l.labels["level"] == level)
                .filter(|l| l.time > (range.end_ms - HOUR) * 1_000_000 && l.time <= range.end_ms * 1_000_000)
                .count() as f64
        };
        let answer = clinic
            .run_log_query(&query(
                r#"sum by (level) (count_over_time({service="patient-registration"} | logfmt | msg=~"patient.*|registration.*" [1h]))"#,
                range,
                HOUR,
            ))
            .unwrap();
        let series = series(answer);
        let value_at_end = |level: &str| {
            series
                .iter()
                .find(|s| s.labels.get("level").map(String::as_str) == Some(level))
                .and_then(|s| s.points.iter().find(|p| p.0 == range.end_ms))
                .map_or(0.0, |p| p.1)
        };
        assert_eq!(value_at_end("info"), registrations("info"));
        assert_eq!(value_at_end("error"), registrations("error"));
        assert!(value_at_end("info") > 0.0);
        assert!(series.iter().all(|s| s.labels.keys().all(|k| k == "level")));

        let errors = lines(
            clinic
                .run_log_query(&query(
                    r#"{service="patient-registration"} | logfmt | level="error" | duration_ms >= 0"#,
                    TimeRange::new(range.end_ms - HOUR, range.end_ms),
                    0,
                ))
                .unwrap(),
        );
        assert_eq!(errors.len() as f64, registrations("error"));
        assert!(errors.iter().all(|l| l.line.contains("registration failed")));
    }

    #[test]
    fn rate_divides_the_count_by_the_window() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 10 * HOUR + 600_000);
        let count = series(
            clinic
                .run_log_query(&query(r#"sum(count_over_time({env="prod"}[1m]))"#, range, 60_000))
                .unwrap(),
        );
        let rate = series(
            clinic
                .run_log_query(&query(r#"sum(rate({env="prod"}[1m]))"#, range, 60_000))
                .unwrap(),
        );
        for (c, r) in count[0].points.iter().zip(&rate[0].points) {
            assert_eq!(c.0, r.0);
            assert!((c.1 / 60.0 - r.1).abs() < 1e-12);
        }
    }

    #[test]
    fn json_parser_over_logfmt_lines_fails_a_metric_query_like_loki() {
        let clinic = clinic();
        // A whole day, so the staging stream's logfmt warnings are in range.
        let range = TimeRange::new(TUESDAY, TUESDAY + 24 * HOUR);
        let err = clinic
            .run_log_query(&query(
                r#"sum by (status) (count_over_time({service="login-api"} | json [15m]))"#,
                range,
                900_000,
            ))
            .unwrap_err();
        let DemoError::BadQuery(reason) = err else {
            panic!("expected a bad query")
        };
        assert!(reason.contains("JSONParserErr"), "{reason}");
        let skipped = clinic.run_log_query(&query(
            r#"sum by (status) (count_over_time({service="login-api"} | json | __error__="" [15m]))"#,
            range,
            900_000,
        ));
        assert!(skipped.is_ok(), "{skipped:?}");
    }

    #[test]
    fn limit_and_direction_pick_the_newest_or_oldest_lines() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR);
        let mut backward = query(r#"{env="prod"}"#, range, 0);
        backward.limit = 7;
        backward.direction = Direction::Backward;
        let newest = lines(clinic.run_log_query(&backward).unwrap());
        let all = clinic.log_lines(range);
        let prod: Vec<&LogLine> = all.iter().filter(|l| l.labels["env"] == "prod").collect();
        assert_eq!(newest.len(), 7);
        assert_eq!(newest[0].time, prod[prod.len() - 1].time);
        assert!(newest.windows(2).all(|pair| pair[0].time >= pair[1].time));
        let mut forward = backward.clone();
        forward.direction = Direction::Forward;
        let oldest = lines(clinic.run_log_query(&forward).unwrap());
        assert_eq!(oldest[0].time, prod[0].time);
    }

    #[test]
    fn every_line_carries_stream_labels_and_parsed_fields() {
        let clinic = clinic();
        let lines = clinic.log_lines(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 10 * HOUR + 600_000));
        assert!(!lines.is_empty());
        for line in &lines {
            assert!(line.labels.contains_key("service") && line.labels.contains_key("level"));
            assert_eq!(line.fields["level"], line.labels["level"]);
            if line.labels["env"] == "prod" {
                assert_eq!(line.fields["trace_id"].len(), 32);
            }
        }
    }

    #[test]
    fn label_names_and_values_come_from_the_range() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR);
        assert_eq!(
            clinic.log_label_names(range),
            vec!["clinic", "env", "level", "service"]
        );
        assert_eq!(
            clinic.log_label_values("service", range),
            vec!["appointments", "login-api", "patient-registration", "records"]
        );
        assert_eq!(
            clinic.log_label_values("clinic", range),
            vec!["east", "north", "south"]
        );
        assert!(clinic.log_label_values("nope", range).is_empty());
    }

    #[test]
    fn tail_hands_out_each_new_line_once_in_order() {
        let clinic = clinic();
        let start_ns = (TUESDAY_MORNING - 10 * 60_000) * 1_000_000;
        let mut tail = clinic.follow("{env=\"prod\"}", start_ns, 25).unwrap();
        let mut seen = Vec::new();
        for _ in 0..2 {
            let batch = tail.next(&clinic, TUESDAY_MORNING);
            assert_eq!(batch.len(), 25, "ten busy minutes fill whole batches");
            seen.extend(batch);
        }
        // Time moves on: the next batches hold what the clinic wrote meanwhile, and nothing later.
        let later = TUESDAY_MORNING + 15 * 60_000;
        loop {
            let batch = tail.next(&clinic, later);
            if batch.is_empty() {
                break;
            }
            seen.extend(batch);
        }
        assert!(
            seen.iter().all(|line| line.time < later * 1_000_000),
            "nothing from past now"
        );
        assert!(
            seen.last().unwrap().time >= (TUESDAY_MORNING + 10 * 60_000) * 1_000_000,
            "reached the new lines"
        );
        assert!(
            seen.windows(2).all(|pair| pair[0].time <= pair[1].time),
            "oldest first"
        );
        let mut keys: Vec<(i64, &str)> = seen.iter().map(|line| (line.time, line.line.as_str())).collect();
        keys.dedup();
        assert_eq!(keys.len(), seen.len(), "no line twice");
    }

    #[test]
    fn tail_has_nothing_new_while_time_stands_still() {
        let clinic = clinic();
        let start_ns = (TUESDAY_MORNING - 60_000) * 1_000_000;
        let mut tail = clinic.follow("{env=\"prod\"}", start_ns, 1_000).unwrap();
        let first = tail.next(&clinic, TUESDAY_MORNING);
        assert!(!first.is_empty());
        assert!(first.iter().all(|line| line.time < TUESDAY_MORNING * 1_000_000));
        assert!(tail.next(&clinic, TUESDAY_MORNING).is_empty());
    }

    #[test]
    fn tail_of_a_metric_query_says_what_to_tail() {
        let Err(err) = clinic().follow("count_over_time({env=\"prod\"}[5m])", 0, 10) else {
            panic!("a metric query cannot be tailed");
        };
        assert!(err.to_string().contains("live tail follows log lines"), "{err}");
    }
}
