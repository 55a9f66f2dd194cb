//! The log explorer's patterns: the query's lines clustered into templates on the server, each
//! with its count, its lines over the range and whether it is new; choosing one narrows the
//! query to its lines.

use leptos::prelude::*;
use vitals_api::{
    Direction, LogPattern, LogPatternsRequest, LogPatternsResponse, LogQueryRequest, Point, Unit,
};

use crate::api;
use crate::components::loaded::Loaded;
use crate::components::masked::marked;
use crate::components::query_syntax::logql_problem;
use crate::components::sparkline::Sparkline;
use crate::format::{group_thousands, local_day_and_time};

/// What stands for the varying part of a template.
const WILDCARD: &str = "<*>";

/// A template as text with its varying parts marked, masks shown as masks.
fn template_view(template: &str) -> impl IntoView + use<> {
    let mut parts = Vec::new();
    for (index, fixed) in template.split(WILDCARD).enumerate() {
        if index > 0 {
            parts.push(
                view! { <span class="pattern-wildcard" title="varies from line to line">{WILDCARD}</span> }
                    .into_any(),
            );
        }
        parts.push(view! { <span>{marked(fixed)}</span> }.into_any());
    }
    parts
}

/// The sparkline's points: each count at the start of its part of the range.
pub fn sparkline_points(answer_from_ms: i64, bucket_ms: i64, counts: &[u32]) -> Vec<Point> {
    counts
        .iter()
        .enumerate()
        .map(|(index, count)| Point(answer_from_ms + index as i64 * bucket_ms, f64::from(*count)))
        .collect()
}

/// What the list says above it: how many lines, and what the bounds left out.
pub fn summary(answer: &LogPatternsResponse) -> String {
    let mut text = format!(
        "{} patterns in {} lines, most frequent first; new ones were not in the range just before.",
        group_thousands(answer.patterns.len() as i64 + i64::from(answer.more_patterns)),
        group_thousands(i64::from(answer.lines)),
    );
    if answer.truncated {
        let since = answer
            .mined_from_ms
            .map(|ms| format!(", written since {}", local_day_and_time(ms)))
            .unwrap_or_default();
        text.push_str(&format!(
            " Only the newest {} lines were clustered{since}; narrow the query or the range to cluster them all.",
            group_thousands(i64::from(answer.lines))
        ));
    }
    if answer.more_patterns > 0 {
        text.push_str(&format!(
            " The {} rarest are left out.",
            group_thousands(i64::from(answer.more_patterns))
        ));
    }
    text
}

#[component]
pub fn LogPatterns(
    query: Memo<String>,
    from: Memo<String>,
    to: Memo<String>,
    /// Runs a query: a pattern's, when one is chosen.
    on_pick: Callback<String>,
) -> impl IntoView {
    let answer = LocalResource::new(move || {
        let (from, to) = (from.get(), to.get());
        let request = LogPatternsRequest {
            logs: LogQueryRequest {
                query: query.get(),
                // New means not seen in the range of the same length just before.
                from: Some(from.clone()),
                to: Some(to),
                limit: None,
                direction: Direction::Backward,
                step: None,
            },
            baseline_from: None,
            baseline_to: Some(from),
        };
        async move {
            let query = &request.logs.query;
            if query.trim().is_empty() || logql_problem(query).is_some() {
                return Ok(None);
            }
            api::log_patterns(&request).await.map(Some)
        }
    });
    let retry = Callback::new(move |()| answer.refetch());
    view! {
        <Loaded lines=6 on_retry=retry>
            {move || {
                answer
                    .get()
                    .map(|answer| {
                        answer.map(|answer| match answer {
                            None => view! {
                                <p class="empty-state">"Write a log query and run it to see its lines as patterns."</p>
                            }
                            .into_any(),
                            Some(answer) if answer.patterns.is_empty() => view! {
                                <p class="empty-state" data-testid="patterns-empty">
                                    "No lines matched in this range. Widen the range or loosen the query."
                                </p>
                            }
                            .into_any(),
                            Some(answer) => view! { <PatternList answer on_pick /> }.into_any(),
                        })
                    })
            }}
        </Loaded>
    }
}

#[component]
fn PatternList(answer: LogPatternsResponse, on_pick: Callback<String>) -> impl IntoView {
    let summary = summary(&answer);
    let (from_ms, bucket_ms) = (answer.from_ms, answer.bucket_ms);
    let rows = answer
        .patterns
        .into_iter()
        .map(|pattern| view! { <PatternRow pattern from_ms bucket_ms on_pick /> })
        .collect_view();
    view! {
        <p class="list-summary" data-testid="patterns-summary">{summary}</p>
        <ol class="pattern-list" aria-label="Log patterns" data-testid="pattern-list">{rows}</ol>
    }
}

#[component]
fn PatternRow(pattern: LogPattern, from_ms: i64, bucket_ms: i64, on_pick: Callback<String>) -> impl IntoView {
    let LogPattern {
        template,
        count,
        sparkline,
        new,
        query,
        ..
    } = pattern;
    let points = sparkline_points(from_ms, bucket_ms, &sparkline);
    let count_words = match count {
        1 => "1 line".to_owned(),
        count => format!("{} lines", group_thousands(i64::from(count))),
    };
    let title = format!("Lines of this pattern ({count_words})");
    view! {
        <li class="pattern">
            <button
                type="button"
                class="pattern-pick"
                title="Show only the lines of this pattern"
                data-testid="pattern"
                on:click=move |_| on_pick.run(query.clone())
            >
                <span class="pattern-count">{count_words}</span>
                {new.then(|| view! { <span class="pattern-new" data-testid="pattern-new">"New"</span> })}
                <code class="pattern-template">{template_view(&template)}</code>
            </button>
            <div class="pattern-sparkline">
                <Sparkline points title unit=Unit::Count />
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(lines: u32, truncated: bool, more_patterns: u32) -> LogPatternsResponse {
        LogPatternsResponse {
            patterns: Vec::new(),
            lines,
            truncated,
            mined_from_ms: None,
            baseline_lines: None,
            more_patterns,
            unclustered_lines: 0,
            from_ms: 0,
            bucket_ms: 60_000,
        }
    }

    #[test]
    fn the_summary_says_what_the_bounds_left_out() {
        let whole = summary(&answer(380, false, 0));
        assert!(whole.starts_with("0 patterns in 380 lines"), "{whole}");
        assert!(!whole.contains("newest"), "{whole}");
        let cut = summary(&answer(5_000, true, 3));
        assert!(cut.contains("Only the newest 5,000 lines"), "{cut}");
        assert!(cut.contains("3 rarest are left out"), "{cut}");
    }

    #[test]
    fn each_count_stands_at_the_start_of_its_part_of_the_range() {
        assert_eq!(
            sparkline_points(1_000, 60_000, &[2, 0, 5]),
            vec![Point(1_000, 2.0), Point(61_000, 0.0), Point(121_000, 5.0)]
        );
    }
}
