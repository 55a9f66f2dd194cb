//! Answering one panel: the server fills in its query for the source in use, asks it, and
//! turns the answer into a number, a sentence, a chart and rows.

use std::collections::BTreeMap;

use vitals_api::{
    Backend, BaselineVerdict, ChartSeries, Direction, Health, LogLine, LogQueryResponse, PanelData,
    PanelKind, PanelRow, Series, Unit,
};

use super::definition::{Dashboard, Panel, PanelPatterns, Signal};
use super::words::{self, Fill};
use crate::insights::baseline;
use crate::insights::patterns::{MinerSettings, mine, top_pattern_sentence};
use crate::masking::Masker;
use crate::sources::{LogQuery, SourceError, Sources, TimeRange};
use crate::timespec::step_for_points;

/// The finest step of a panel's chart: the clinic's metrics are scraped about this often.
const MIN_CHART_STEP_MS: i64 = 60_000;
/// About how many points a chart of its own draws (ten-minute steps over a day); the small
/// chart under a number, fewer.
const CHART_POINTS: i64 = 150;
const SPARKLINE_POINTS: i64 = 60;

/// The variables of one request, each resolved to the text its query gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Choices(BTreeMap<String, String>);

impl Choices {
    #[cfg(test)]
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(name, matches)| (name.to_owned(), matches.to_owned()))
                .collect(),
        )
    }

    /// The chosen value of every variable: the request's where it names one, the default otherwise.
    /// `asked` must already be checked against the allowlist.
    pub fn of(dashboard: &Dashboard, asked: &BTreeMap<String, String>) -> Self {
        Self(
            dashboard
                .variables
                .iter()
                .map(|variable| {
                    let chosen = asked.get(&variable.name).unwrap_or(&variable.default);
                    let matches = variable
                        .values
                        .iter()
                        .find(|value| &value.value == chosen)
                        .map_or_else(String::new, |value| value.matches.clone());
                    (variable.name.clone(), matches)
                })
                .collect(),
        )
    }
}

/// The query `panel` sends to the source behind `backend`, before its parameters are filled in.
pub fn query_for(panel: &Panel, backend: Backend) -> &str {
    let (real, demo) = match panel.signal {
        Signal::Metrics => (panel.queries.prometheus.as_deref(), panel.queries.demo.as_deref()),
        Signal::Logs => (panel.queries.loki.as_deref(), panel.queries.demo.as_deref()),
    };
    let chosen = if backend == Backend::Demo {
        demo.or(real)
    } else {
        real
    };
    chosen.unwrap_or_default()
}

/// `query` with `$__window`, `$__interval` and every variable filled in.
pub fn filled(query: &str, choices: &Choices, window_ms: i64, interval_ms: i64) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut rest = query;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..end];
        match name {
            "__window" => out.push_str(&seconds(window_ms)),
            "__interval" => out.push_str(&seconds(interval_ms)),
            _ => match choices.0.get(name) {
                Some(text) => out.push_str(text),
                None => {
                    out.push('$');
                    out.push_str(name);
                }
            },
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn seconds(ms: i64) -> String {
    format!("{}s", (ms / 1000).max(1))
}

/// The data of one panel over `range`, at `now_ms`.
pub async fn answer(
    sources: &Sources,
    masker: &Masker,
    panel: &Panel,
    choices: &Choices,
    range: TimeRange,
    now_ms: i64,
) -> Result<PanelData, SourceError> {
    let backend = match panel.signal {
        Signal::Metrics => sources.metrics.backend(),
        Signal::Logs => sources.logs.backend(),
    };
    let query = query_for(panel, backend);
    let window_ms = panel.window_ms.unwrap_or(range.duration_ms()).max(1000);
    let points = match panel.kind {
        PanelKind::Stat | PanelKind::Status => SPARKLINE_POINTS,
        _ => CHART_POINTS,
    };
    let step_ms = step_for_points(range, points).max(MIN_CHART_STEP_MS);
    let at = range.end_ms;
    let value_query = filled(query, choices, window_ms, step_ms);
    let chart_query = filled(query, choices, step_ms, step_ms);
    let wants_chart = !matches!(panel.kind, PanelKind::Bar | PanelKind::Table);
    let offset = words::comparison_offset_ms(panel.compare, range.duration_ms());

    let now = instant(sources, panel.signal, &value_query, at);
    let before = async {
        match offset {
            Some(offset) => instant(sources, panel.signal, &value_query, at - offset)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let chart = async {
        if wants_chart {
            over_time(sources, panel.signal, &chart_query, range, step_ms).await
        } else {
            Ok(Vec::new())
        }
    };
    // The four earlier weeks of a baseline, and the lines of a pattern sentence, are asked for
    // with the panel's own queries, so the first answer waits for the slowest query alone.
    let earlier = async {
        if panel.baseline {
            Ok(Some(earlier_weeks(sources, panel.signal, &value_query, at).await))
        } else {
            Ok(None)
        }
    };
    let pattern_lines = async {
        match &panel.patterns {
            Some(patterns) => Ok(pattern_lines(sources, patterns, choices, range).await),
            None => Ok(None),
        }
    };
    let (now, before, chart, earlier, pattern_lines) =
        tokio::try_join!(now, before, chart, earlier, pattern_lines)?;

    let value = total(&now);
    let previous = before.as_deref().and_then(total);
    let rows = grouped_rows(panel, &now);
    let health = match panel.kind {
        PanelKind::Bar | PanelKind::Table if panel.thresholds.is_some() => rows
            .iter()
            .map(|row| row.health)
            .max_by_key(|health| severity(*health))
            .unwrap_or(Health::Unknown),
        _ => words::judged(value, panel.thresholds.as_ref()),
    };
    let trend = offset.map(|_| {
        words::trend(
            value,
            previous,
            panel.compare,
            range.duration_ms(),
            panel.unit,
            panel.thresholds.as_ref(),
        )
    });
    let mut series = named_series(panel, chart);
    if panel.signal == Signal::Logs {
        // Loki leaves out the steps where nothing was logged: those counted nothing.
        for line in &mut series {
            line.points = with_zeros(&line.points, range, step_ms);
        }
    }
    let as_of = series
        .iter()
        .filter_map(|series| series.points.last().map(|point| point.0))
        .max()
        .unwrap_or(at)
        .min(at);
    let range_words = words::range_words(range, now_ms);
    let top = rows.first().map(|row| row.label.as_str());
    let template = sentence_template(panel, value, health);
    let mut sentence = words::render(
        template,
        &Fill {
            value,
            unit: panel.unit,
            noun: panel.noun.as_ref(),
            range: &range_words,
            trend: trend.as_ref(),
            top,
        },
    );
    if let Some(earlier) = &earlier
        && let Some(words) = baseline_words(panel, value, earlier)
    {
        sentence = format!("{} {words}", sentence.trim_end());
    }
    if let (Some(patterns), Some(lines)) = (&panel.patterns, &pattern_lines)
        && value.is_some_and(|value| value > 0.0)
        && let Some(top) = top_pattern(masker, patterns, range, lines, &range_words)
    {
        sentence = format!("{} {top}.", sentence.trim_end());
    }
    // A log count has no "newest point" to be late: a quiet minute is a zero, not a gap.
    let stale = if panel.signal == Signal::Metrics && series.iter().any(|series| !series.points.is_empty()) {
        words::staleness(as_of, range, now_ms, panel.stale_after_ms)
    } else {
        None
    };
    Ok(PanelData {
        id: panel.id.clone(),
        title: panel.title.clone(),
        kind: panel.kind,
        value: value.map(|value| rounded(value, panel.unit)),
        unit: panel.unit,
        health,
        sentence,
        trend,
        series,
        rows,
        stale,
        from: range.start_ms,
        to: range.end_ms,
        as_of,
        generated_at: now_ms,
    })
}

/// The panel's number in the same window at the same time of day and week, in each of the
/// last four weeks; a week that could not be read is `None`.
async fn earlier_weeks(sources: &Sources, signal: Signal, value_query: &str, at: i64) -> Vec<Option<f64>> {
    futures::future::join_all(
        (1..=baseline::WEEKS)
            .map(|week| instant(sources, signal, value_query, at - week * baseline::WEEK_MS)),
    )
    .await
    .into_iter()
    .map(|answer| answer.ok().as_deref().and_then(total))
    .collect()
}

/// Whether the number is usual, in a sentence: against the `earlier` weeks' numbers. `None`
/// when fewer than two weeks had data.
fn baseline_words(panel: &Panel, value: Option<f64>, earlier: &[Option<f64>]) -> Option<String> {
    // A change smaller than this is never unusual: one event, half a point of a share.
    let slack = match panel.unit {
        Unit::Ratio => 0.005,
        Unit::Count => 1.0,
        _ => 0.0,
    };
    let band = baseline::against(value, earlier, slack)?;
    let verdict = match band.verdict {
        BaselineVerdict::Usual => "That is usual",
        BaselineVerdict::Higher => "That is more than usual",
        BaselineVerdict::Lower => "That is less than usual",
        BaselineVerdict::Unknown => return None,
    };
    let (low, high) = (
        words::number(rounded(band.low, panel.unit), panel.unit),
        words::number(rounded(band.high, panel.unit), panel.unit),
    );
    let span = if low == high {
        low
    } else {
        format!("{low} to {high}")
    };
    Some(format!(
        "{verdict}: the same time in each of the last {} weeks saw {span}.",
        band.weeks
    ))
}

/// The most lines read for a panel's pattern sentence, newest first.
const PATTERN_LINES: u32 = 5_000;

/// The newest lines behind a panel's number, for its pattern sentence; `None` when they
/// cannot be read (the sentence is then left out, the number still answers).
async fn pattern_lines(
    sources: &Sources,
    patterns: &PanelPatterns,
    choices: &Choices,
    range: TimeRange,
) -> Option<Vec<LogLine>> {
    let query = LogQuery {
        query: filled(&patterns.query, choices, range.duration_ms(), range.duration_ms()),
        range,
        limit: PATTERN_LINES,
        direction: Direction::Backward,
        step_ms: 0,
    };
    match sources.logs.query(&query).await.ok()? {
        LogQueryResponse::Streams { lines } => Some(lines),
        _ => None,
    }
}

/// What most of the `lines` behind a panel's number have in common, as a sentence: "Most
/// failed logins in the last 6 hours (87%) were 'user record not found'". Mined after masking,
/// so no patient data becomes part of it; `None` when there are none.
fn top_pattern(
    masker: &Masker,
    patterns: &PanelPatterns,
    range: TimeRange,
    lines: &[LogLine],
    range_words: &str,
) -> Option<String> {
    let mined = mine(
        masker,
        range,
        lines.iter().map(|line| (line.time, line.line.as_str())),
        None,
        &MinerSettings::default(),
    );
    top_pattern_sentence(&mined.patterns, &patterns.what, range_words)
}

/// Counts are whole; other numbers keep their precision.
fn rounded(value: f64, unit: Unit) -> f64 {
    if unit == Unit::Count { value.round() } else { value }
}

fn severity(health: Health) -> u8 {
    match health {
        Health::Unknown => 0,
        Health::Good => 1,
        Health::Warning => 2,
        Health::Bad => 3,
    }
}

/// The sentence for what the panel found: `empty` without data, the health's own when it has one.
fn sentence_template(panel: &Panel, value: Option<f64>, health: Health) -> &str {
    let nothing = value.is_none_or(|value| value.abs() < 0.5 && panel.unit == Unit::Count);
    if nothing && let Some(empty) = &panel.empty {
        return empty;
    }
    let by_health = match health {
        Health::Good => panel.says.good.as_deref(),
        Health::Warning => panel.says.watch.as_deref(),
        Health::Bad => panel.says.bad.as_deref(),
        Health::Unknown => None,
    };
    by_health.unwrap_or(&panel.sentence)
}

/// The panel's number: the sum of every series the query answered, `None` without any.
pub(crate) fn total(answer: &[Series]) -> Option<f64> {
    let values: Vec<f64> = answer
        .iter()
        .filter_map(|series| series.points.last().map(|point| point.1))
        .filter(|value| value.is_finite())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// One row per value of the panel's legend label, largest first.
fn grouped_rows(panel: &Panel, answer: &[Series]) -> Vec<PanelRow> {
    let Some(legend) = &panel.legend else {
        return Vec::new();
    };
    let mut rows: Vec<PanelRow> = answer
        .iter()
        .map(|series| {
            let value = series
                .points
                .last()
                .map(|point| point.1)
                .filter(|value| value.is_finite())
                .map(|value| rounded(value, panel.unit));
            PanelRow {
                label: series
                    .labels
                    .get(legend)
                    .cloned()
                    .unwrap_or_else(|| "other".to_owned()),
                value,
                health: words::judged(value, panel.thresholds.as_ref()),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.value
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&a.value.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| a.label.cmp(&b.label))
    });
    rows
}

/// The chart's lines, named by the legend label or, for one line, by the panel.
fn named_series(panel: &Panel, answer: Vec<Series>) -> Vec<ChartSeries> {
    answer
        .into_iter()
        .map(|series| ChartSeries {
            name: panel
                .legend
                .as_ref()
                .and_then(|legend| series.labels.get(legend).cloned())
                .unwrap_or_else(|| panel.title.clone()),
            points: series
                .points
                .into_iter()
                .filter(|point| point.1.is_finite())
                .collect(),
        })
        .collect()
}

/// `points` on every step of the chart's grid, the missing steps as zero.
pub(crate) fn with_zeros(
    points: &[vitals_api::Point],
    range: TimeRange,
    step_ms: i64,
) -> Vec<vitals_api::Point> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    // The grid the source answered on: through its first point, one step apart.
    let start = first.0 - (first.0 - range.start_ms).div_euclid(step_ms) * step_ms;
    let mut given = points.iter().peekable();
    let mut filled = Vec::new();
    let mut at = start;
    while at <= range.end_ms {
        let value = match given.peek() {
            Some(point) if point.0 == at => given.next().map_or(0.0, |point| point.1),
            _ => 0.0,
        };
        filled.push(vitals_api::Point(at, value));
        at += step_ms;
    }
    filled
}

/// The query's answer at one moment.
pub(crate) async fn instant(
    sources: &Sources,
    signal: Signal,
    query: &str,
    at_ms: i64,
) -> Result<Vec<Series>, SourceError> {
    match signal {
        Signal::Metrics => Ok(sources.metrics.query_instant(query, at_ms).await?.series),
        Signal::Logs => {
            // Loki answers a metric query over a range; its last point is the moment asked for.
            let step_ms = MIN_CHART_STEP_MS;
            let answer = sources
                .logs
                .query(&LogQuery {
                    query: query.to_owned(),
                    range: TimeRange::new(at_ms - step_ms, at_ms),
                    limit: 1,
                    direction: Direction::Backward,
                    step_ms,
                })
                .await?;
            Ok(log_series(answer))
        }
    }
}

/// The query's answer every `step_ms` over `range`.
pub(crate) async fn over_time(
    sources: &Sources,
    signal: Signal,
    query: &str,
    range: TimeRange,
    step_ms: i64,
) -> Result<Vec<Series>, SourceError> {
    match signal {
        Signal::Metrics => Ok(sources.metrics.query_range(query, range, step_ms).await?.series),
        Signal::Logs => {
            let answer = sources
                .logs
                .query(&LogQuery {
                    query: query.to_owned(),
                    range,
                    limit: 1,
                    direction: Direction::Backward,
                    step_ms,
                })
                .await?;
            Ok(log_series(answer))
        }
    }
}

fn log_series(answer: LogQueryResponse) -> Vec<Series> {
    match answer {
        LogQueryResponse::Matrix { series } | LogQueryResponse::Vector { series } => series,
        LogQueryResponse::Streams { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_count_has_zeros_where_nothing_was_logged() {
        use vitals_api::Point;
        let range = TimeRange::new(0, 300_000);
        let filled = with_zeros(&[Point(120_000, 2.0), Point(240_000, 1.0)], range, 60_000);
        let values: Vec<(i64, f64)> = filled.iter().map(|point| (point.0, point.1)).collect();
        assert_eq!(
            values,
            [
                (0, 0.0),
                (60_000, 0.0),
                (120_000, 2.0),
                (180_000, 0.0),
                (240_000, 1.0),
                (300_000, 0.0)
            ]
        );
        assert!(with_zeros(&[], range, 60_000).is_empty());
    }

    #[test]
    fn parameters_are_filled_and_nothing_else_is_touched() {
        let choices = Choices([("clinic".to_owned(), ".+".to_owned())].into());
        assert_eq!(
            filled(
                r#"sum(increase(x{clinic=~"$clinic"}[$__window])) / label_replace(y, "a", "$1", "b", "(.*)") [$__interval]"#,
                &choices,
                3_600_000,
                60_000
            ),
            r#"sum(increase(x{clinic=~".+"}[3600s])) / label_replace(y, "a", "$1", "b", "(.*)") [60s]"#
        );
    }
}
