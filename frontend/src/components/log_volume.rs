//! How many lines a log query matches over its range, in bars stacked by level (each level in
//! words in the legend and its own pattern, not colour alone); dragging across the bars narrows
//! the range to the stretch dragged.

use std::collections::BTreeMap;

use leptos::prelude::*;
use vitals_api::{Direction, LogQueryRequest, LogQueryResponse, Series};

use crate::api;
use crate::components::drag_select::DragSelect;
use crate::components::query_syntax::LOGQL_FUNCTIONS;
use crate::components::time_picker::relative_ms;
use crate::format::{group_thousands, local_time_precise};

/// Bars across the range, about.
const BARS: i64 = 60;
/// The levels stacked, bottom first, and the words for each.
const LEVELS: [(&str, &str); 5] = [
    ("error", "errors"),
    ("warning", "warnings"),
    ("info", "info"),
    ("debug", "debug"),
    ("other", "no level"),
];

/// The step of the bars for a range of `range_ms`: a whole number of seconds, at least one.
pub fn step_seconds(range_ms: i64) -> i64 {
    (range_ms / BARS / 1_000).max(1)
}

/// The query counting `query`'s lines by level per step, or `None` for a query that is not a
/// log query (a metric query has no lines to count).
pub fn volume_query(query: &str, step_seconds: i64) -> Option<String> {
    let query = query.trim();
    let first: String = query
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !query.starts_with('{') || LOGQL_FUNCTIONS.contains(&first.as_str()) {
        return None;
    }
    Some(format!(
        "sum by (level) (count_over_time({query} [{step_seconds}s]))"
    ))
}

/// The level a series counts, folded into the five the chart stacks.
fn level_of(series: &Series) -> &'static str {
    match series
        .labels
        .get("level")
        .map(|level| level.to_ascii_lowercase())
        .as_deref()
    {
        Some("error" | "err" | "fatal" | "critical") => "error",
        Some("warn" | "warning") => "warning",
        Some("info") => "info",
        Some("debug" | "trace") => "debug",
        _ => "other",
    }
}

/// Counts per bar start (ms) and level.
pub fn stack(series: &[Series]) -> BTreeMap<i64, [f64; 5]> {
    let mut bars: BTreeMap<i64, [f64; 5]> = BTreeMap::new();
    for series in series {
        let level = level_of(series);
        let slot = LEVELS.iter().position(|(name, _)| *name == level).unwrap_or(4);
        for point in &series.points {
            if point.1.is_finite() {
                bars.entry(point.0).or_default()[slot] += point.1;
            }
        }
    }
    bars
}

/// The range `from`..`to` (as the time picker writes them) in milliseconds since the epoch.
pub fn range_ms(from: &str, to: &str, now_ms: i64) -> Option<(i64, i64)> {
    let instant = |text: &str| -> Option<i64> {
        if text.is_empty() || text == "now" {
            return Some(now_ms);
        }
        if let Some(ago) = relative_ms(text) {
            return Some(now_ms - ago);
        }
        let parsed = js_sys::Date::parse(text);
        (!parsed.is_nan()).then_some(parsed as i64)
    };
    let (from, to) = (instant(from)?, instant(to)?);
    (from < to).then_some((from, to))
}

/// The volume of `query`'s lines over `from`..`to`; dragging across it calls `on_range` with
/// the stretch dragged, as RFC 3339 instants.
#[component]
pub fn LogVolume(
    #[prop(into)] query: Signal<String>,
    #[prop(into)] from: Signal<String>,
    #[prop(into)] to: Signal<String>,
    on_range: Callback<(String, String)>,
) -> impl IntoView {
    let answer = LocalResource::new(move || {
        let (query, from, to) = (query.get(), from.get(), to.get());
        async move {
            let now = js_sys::Date::now() as i64;
            let (start, end) = range_ms(&from, &to, now)?;
            let step = step_seconds(end - start);
            let volume = volume_query(&query, step)?;
            let request = LogQueryRequest {
                query: volume,
                from: Some(crate::format::iso_time(start)),
                to: Some(crate::format::iso_time(end)),
                limit: None,
                direction: Direction::Backward,
                step: Some(vitals_api::Step::Seconds(step as f64)),
            };
            // The volume is a help beside the lines: when it cannot be had, it is left out.
            match api::query_logs(&request).await {
                // No line in the range: the list says so, and no empty chart stands above it.
                Ok(LogQueryResponse::Matrix { series })
                    if series.iter().any(|series| !series.points.is_empty()) =>
                {
                    Some((start, end, step, series))
                }
                _ => None,
            }
        }
    });
    move || {
        answer.get().flatten().map(|(start, end, step, series)| {
            let bars = stack(&series);
            let total: f64 = bars.values().flat_map(|counts| counts.iter()).sum();
            let tallest = bars
                .values()
                .map(|counts| counts.iter().sum::<f64>())
                .fold(0.0_f64, f64::max)
                .max(1.0);
            let width = (end - start).max(1) as f64;
            let bar_width = (step * 1_000) as f64 / width * 100.0;
            let rects = bars
                .iter()
                .flat_map(|(at, counts)| {
                    let x = (at - start) as f64 / width * 100.0;
                    let mut below = 0.0;
                    counts
                        .iter()
                        .enumerate()
                        .filter(|(_, count)| **count > 0.0)
                        .map(|(slot, count)| {
                            let height = count / tallest * 100.0;
                            let y = 100.0 - below - height;
                            below += height;
                            let title = format!(
                                "{} {} from {}",
                                group_thousands(*count as i64),
                                LEVELS[slot].1,
                                local_time_precise(*at)
                            );
                            view! {
                                <rect
                                    class=format!("volume-{}", LEVELS[slot].0)
                                    x=format!("{x:.3}")
                                    y=format!("{y:.3}")
                                    width=format!("{:.3}", (bar_width * 0.9).max(0.2))
                                    height=format!("{height:.3}")
                                >
                                    <title>{title}</title>
                                </rect>
                            }
                        })
                        .collect::<Vec<_>>()
                })
                .collect_view();
            let legend = LEVELS
                .iter()
                .enumerate()
                .filter(|(slot, _)| bars.values().any(|counts| counts[*slot] > 0.0))
                .map(|(slot, (name, words))| {
                    let count: f64 = bars.values().map(|counts| counts[slot]).sum();
                    view! {
                        <li>
                            <span class=format!("volume-swatch volume-{name}") aria-hidden="true"></span>
                            {format!("{} {words}", group_thousands(count as i64))}
                        </li>
                    }
                })
                .collect_view();
            let select = Callback::new(move |(a, b): (f64, f64)| {
                let at = |fraction: f64| crate::format::iso_time(start + (fraction * width) as i64);
                on_range.run((at(a), at(b)));
            });
            view! {
                <figure class="log-volume" data-testid="log-volume">
                    <div class="volume-plot">
                        <svg viewBox="0 0 100 100" preserveAspectRatio="none" role="img" aria-label=format!("{} lines over the range, by level", group_thousands(total as i64))>
                            {rects}
                        </svg>
                        <DragSelect on_select=select />
                    </div>
                    <figcaption>
                        <ul class="volume-legend">{legend}</ul>
                        <span class="field-help">"Drag across the bars to narrow the range."</span>
                    </figcaption>
                </figure>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_api::Point;

    #[test]
    fn only_a_log_query_has_a_volume_and_its_bars_fit_the_range() {
        assert_eq!(
            volume_query(r#" {service="login-api"} |= "GetItem" "#, 60).as_deref(),
            Some(r#"sum by (level) (count_over_time({service="login-api"} |= "GetItem" [60s]))"#)
        );
        assert_eq!(volume_query(r#"count_over_time({a="b"}[5m])"#, 60), None);
        assert_eq!(volume_query("", 60), None);
        assert_eq!(step_seconds(3_600_000), 60);
        assert_eq!(step_seconds(10_000), 1, "never under a second");
    }

    #[test]
    fn counts_stack_by_level_with_unknown_levels_together() {
        let series = |level: Option<&str>, points: &[(i64, f64)]| Series {
            labels: level
                .map(|level| ("level".to_owned(), level.to_owned()))
                .into_iter()
                .collect(),
            points: points.iter().map(|(at, value)| Point(*at, *value)).collect(),
        };
        let bars = stack(&[
            series(Some("ERROR"), &[(0, 2.0), (60, 1.0)]),
            series(Some("info"), &[(0, 10.0)]),
            series(None, &[(60, 3.0)]),
            series(Some("notice"), &[(60, 1.0), (120, f64::NAN)]),
        ]);
        assert_eq!(bars[&0], [2.0, 0.0, 10.0, 0.0, 0.0]);
        assert_eq!(bars[&60], [1.0, 0.0, 0.0, 0.0, 4.0]);
        assert!(
            !bars.contains_key(&120),
            "a point that is not a number adds nothing"
        );
    }

    #[test]
    fn relative_ranges_resolve_against_now() {
        assert_eq!(range_ms("now-1h", "now", 7_200_000), Some((3_600_000, 7_200_000)));
        assert_eq!(
            range_ms("now", "now-1h", 7_200_000),
            None,
            "a range that ends before it starts"
        );
    }
}
