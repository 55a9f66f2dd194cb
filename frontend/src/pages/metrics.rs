//! The metrics explorer: a PromQL query, completed from the metric names and PromQL's
//! functions, over a range (or at an instant), drawn on the shared chart (which decimates
//! long series per pixel) or listed as a table; each series can be hidden or shown alone, and
//! the step is shown and can be changed. The address holds the whole view.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use vitals_api::{ChartSeries, MetricQueryRequest, MetricQueryResponse, ResultType, Series, Step, Unit};

use crate::api::{self, percent_encode};
use crate::components::chart::Chart;
use crate::components::completion::{QueryEditor, word_suggestions};
use crate::components::loaded::Loaded;
use crate::components::query_examples::QueryExamples;
use crate::components::query_syntax::bracket_problem;
use crate::components::time_picker::TimePicker;
use crate::format::{format_value, local_time_precise};

/// PromQL's functions and aggregations, for completion.
pub const FUNCTIONS: [&str; 44] = [
    "abs",
    "absent",
    "absent_over_time",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "count_values",
    "delta",
    "deriv",
    "exp",
    "floor",
    "group",
    "histogram_quantile",
    "holt_winters",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "predict_linear",
    "quantile",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sort",
    "sort_desc",
    "stddev",
    "sum",
    "topk",
];

/// Queries to start from.
const EXAMPLES: [(&str, &str); 3] = [
    (
        r#"sum by (status) (rate(dynamodb_requests_total[5m]))"#,
        "DynamoDB calls per second, by outcome",
    ),
    (
        r#"sum(rate(login_attempts_total[5m]))"#,
        "login attempts per second",
    ),
    (
        r#"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))"#,
        "p95 request latency",
    ),
];

/// The view the address holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsView {
    pub query: String,
    pub from: String,
    pub to: String,
    /// A Prometheus duration (`60s`, `5m`), or empty for the server's choice.
    pub step: String,
    pub instant: bool,
    pub table: bool,
}

impl MetricsView {
    pub fn url(&self) -> String {
        let mut url = format!(
            "/engineering/metrics?query={}&from={}&to={}",
            percent_encode(&self.query),
            percent_encode(&self.from),
            percent_encode(&self.to)
        );
        if !self.step.trim().is_empty() {
            url.push_str(&format!("&step={}", percent_encode(self.step.trim())));
        }
        if self.instant {
            url.push_str("&instant=1");
        }
        if self.table {
            url.push_str("&view=table");
        }
        url
    }

    /// The request this view sends, or why the step cannot be read.
    pub fn request(&self) -> Result<MetricQueryRequest, String> {
        let step = match self.step.trim() {
            "" => None,
            step if is_duration(step) => Some(Step::Duration(step.to_owned())),
            step => {
                return Err(format!(
                    "the step \"{step}\" is not a duration: write a number and a unit, such as 30s, 5m or 1h"
                ));
            }
        };
        Ok(MetricQueryRequest {
            query: self.query.clone(),
            from: (!self.instant).then(|| self.from.clone()),
            to: Some(self.to.clone()),
            step: if self.instant { None } else { step },
        })
    }
}

/// Whether `text` is a Prometheus duration: digits and a unit, one or more times (`1h30m`).
fn is_duration(text: &str) -> bool {
    vitals_api::query::parse_duration_ms(text).is_some()
}

/// A series' name as PromQL writes it: `{status="200", table="users"}`.
pub fn series_name(series: &Series) -> String {
    let metric = series.labels.get("__name__").cloned().unwrap_or_default();
    let labels: Vec<String> = series
        .labels
        .iter()
        .filter(|(name, _)| *name != "__name__")
        .map(|(name, value)| format!("{name}=\"{value}\""))
        .collect();
    match (metric.is_empty(), labels.is_empty()) {
        (true, true) => "{}".to_owned(),
        (_, true) => metric,
        _ => format!("{metric}{{{}}}", labels.join(", ")),
    }
}

#[component]
pub fn MetricsPage() -> impl IntoView {
    crate::pages::set_page_title("Metrics");
    let params = use_query_map();
    let navigate = use_navigate();
    let view_now = Memo::new(move |_| {
        let params = params.read();
        MetricsView {
            query: params.get("query").unwrap_or_default(),
            from: params.get("from").unwrap_or_else(|| "now-1h".to_owned()),
            to: params.get("to").unwrap_or_else(|| "now".to_owned()),
            step: params.get("step").unwrap_or_default(),
            instant: params.get("instant").is_some_and(|value| value == "1"),
            table: params.get("view").is_some_and(|value| value == "table"),
        }
    });
    let draft = RwSignal::new(view_now.get_untracked().query);
    let step = RwSignal::new(view_now.get_untracked().step);
    Effect::new(move |_| {
        let now = view_now.get();
        draft.set(now.query);
        step.set(now.step);
    });
    let show = Callback::new(move |view: MetricsView| navigate(&view.url(), NavigateOptions::default()));
    let run = Callback::new(move |()| {
        let mut view = view_now.get_untracked();
        view.query = draft.get_untracked();
        view.step = step.get_untracked();
        show.run(view);
    });
    let on_range = Callback::new(move |(from, to): (String, String)| {
        let mut view = view_now.get_untracked();
        (view.from, view.to) = (from, to);
        show.run(view);
    });
    let names = LocalResource::new(|| async { api::metric_names().await.unwrap_or_default() });
    let suggest = Callback::new(move |(text, cursor): (String, usize)| {
        let mut words: Vec<String> = FUNCTIONS.iter().map(|name| (*name).to_owned()).collect();
        if let Some(names) = names.get_untracked() {
            words.extend(names);
        }
        word_suggestions(&text, cursor, &words)
    });
    let answer = LocalResource::new(move || {
        let view = view_now.get();
        async move {
            // An empty query, or one whose problem the editor already marks, is not sent.
            if view.query.trim().is_empty() || bracket_problem(&view.query).is_some() {
                return Ok(None);
            }
            let request = view.request().map_err(|message| api::ApiError::Server {
                status: 400,
                code: "bad_step".to_owned(),
                message,
            })?;
            api::query_metrics(&request).await.map(Some)
        }
    });
    let retry = Callback::new(move |()| answer.refetch());
    let from = Signal::derive(move || view_now.get().from);
    let to = Signal::derive(move || view_now.get().to);
    let switch = move |change: fn(&mut MetricsView, bool), on: bool| {
        let mut view = view_now.get_untracked();
        change(&mut view, on);
        show.run(view);
    };
    view! {
        <section class="area metrics" aria-labelledby="metrics-heading">
            <h1 id="metrics-heading">"Metrics"</h1>
            <form class="query-bar" on:submit=move |event| { event.prevent_default(); run.run(()); }>
                <QueryEditor
                    id="metric-query"
                    label="Metric query (PromQL)"
                    placeholder="sum(rate(login_attempts_total[5m]))"
                    text=draft
                    suggest
                    check=bracket_problem
                    on_run=run
                />
                <TimePicker from to on_change=on_range />
                <div class="field step-field">
                    <label for="metric-step">"Step"</label>
                    <input id="metric-step" type="text" placeholder="auto" bind:value=step size="6" disabled=move || view_now.get().instant />
                </div>
                <button type="submit" class="button-primary" data-testid="run-metric-query">"Run query"</button>
            </form>
            <div class="view-switches" role="group" aria-label="How to show the answer">
                <label>
                    <input type="checkbox" prop:checked=move || view_now.get().instant on:change=move |event| switch(|view, on| view.instant = on, event_target_checked(&event)) />
                    " At one instant (the range's end)"
                </label>
                <label>
                    <input type="checkbox" prop:checked=move || view_now.get().table on:change=move |event| switch(|view, on| view.table = on, event_target_checked(&event)) data-testid="metric-table-toggle" />
                    " As a table"
                </label>
            </div>
            <Loaded lines=8 on_retry=retry>
                {move || {
                    answer
                        .get()
                        .map(|answer| {
                            answer
                                .map(|answer| match answer {
                                    None => view! {
                                        <QueryExamples
                                            intro="Write a PromQL query and run it; names and functions complete as you type."
                                            examples=&EXAMPLES
                                            on_pick=Callback::new(move |query| {
                                                let mut view = view_now.get_untracked();
                                                view.query = query;
                                                show.run(view);
                                            })
                                        />
                                    }
                                    .into_any(),
                                    Some(answer) => {
                                        let table = view_now.get_untracked().table;
                                        view! { <MetricAnswer answer table /> }.into_any()
                                    }
                                })
                        })
                }}
            </Loaded>
        </section>
    }
}

/// The series: a chart (or a table), the step, and a toggle per series.
#[component]
fn MetricAnswer(answer: MetricQueryResponse, table: bool) -> impl IntoView {
    if answer.series.is_empty() {
        return view! {
            <p class="empty-state" data-testid="metric-empty">"The query matched no series in this range. Check the metric's name and labels, or widen the range."</p>
        }
        .into_any();
    }
    let points: usize = answer.series.iter().map(|series| series.points.len()).sum();
    let step_words = match answer.result_type {
        ResultType::Matrix => format!(
            "{} series, {} points, one every {}.",
            answer.series.len(),
            crate::format::group_thousands(points as i64),
            crate::format::duration_words((answer.step_seconds * 1000.0) as i64)
        ),
        ResultType::Vector | ResultType::Scalar => format!("{} series at one instant.", answer.series.len()),
    };
    let warnings = answer
        .warnings
        .iter()
        .map(|warning| view! { <li>{warning.clone()}</li> })
        .collect_view();
    let names: Vec<String> = answer.series.iter().map(series_name).collect();
    let hidden = RwSignal::new(vec![false; names.len()]);
    let all = StoredValue::new(answer.series);
    let shown_series = Signal::derive(move || {
        hidden.with(|hidden| {
            all.with_value(|all| {
                all.iter()
                    .zip(hidden)
                    .filter(|(_, hidden)| !**hidden)
                    .map(|(series, _)| ChartSeries {
                        name: series_name(series),
                        points: series.points.clone(),
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    let range = all.with_value(|all| {
        let times = all
            .iter()
            .flat_map(|series| series.points.iter().map(|point| point.0));
        let first = times.clone().min().unwrap_or(0);
        (first, times.max().unwrap_or(first))
    });
    let toggles = names
        .iter()
        .enumerate()
        .map(|(at, name)| {
            view! {
                <li>
                    <label>
                        <input
                            type="checkbox"
                            prop:checked=move || hidden.with(|hidden| !hidden[at])
                            on:change=move |event| hidden.update(|hidden| hidden[at] = !event_target_checked(&event))
                        />
                        " "
                        <code>{name.clone()}</code>
                    </label>
                    <button
                        type="button"
                        class="link-button"
                        on:click=move |_| hidden.update(|hidden| hidden.iter_mut().enumerate().for_each(|(other, hide)| *hide = other != at))
                    >
                        "only this"
                    </button>
                </li>
            }
        })
        .collect_view();
    let shown = if table || answer.result_type != ResultType::Matrix {
        view! { <MetricTable series=all.get_value() /> }.into_any()
    } else {
        view! { <Chart series=shown_series unit=Unit::Number title="The query's series" range=Signal::stored(range) /> }.into_any()
    };
    view! {
        <p class="list-summary" data-testid="metric-summary">{step_words}</p>
        {(!answer.warnings.is_empty()).then(|| view! { <ul class="warnings" role="note">{warnings}</ul> })}
        {shown}
        <details class="series-toggles" open=names.len() <= 12>
            <summary>"Series shown"</summary>
            <ul class="plain-list">{toggles}</ul>
            <button type="button" class="button-quiet" on:click=move |_| hidden.update(|hidden| hidden.fill(false))>"Show every series"</button>
        </details>
    }
    .into_any()
}

/// Each series with its points summed up: the latest value, the lowest and the highest.
#[component]
fn MetricTable(series: Vec<Series>) -> impl IntoView {
    let rows = series
        .iter()
        .map(|series| {
            let values = series
                .points
                .iter()
                .map(|point| point.1)
                .filter(|value| value.is_finite());
            let lowest = values.clone().fold(f64::INFINITY, f64::min);
            let highest = values.fold(f64::NEG_INFINITY, f64::max);
            let latest = series.points.last().copied();
            let number = |value: f64| {
                if value.is_finite() {
                    format_value(value, Unit::Number)
                } else {
                    "—".to_owned()
                }
            };
            view! {
                <tr>
                    <th scope="row"><code>{series_name(series)}</code></th>
                    <td class="numeric">{latest.map(|point| number(point.1)).unwrap_or_default()}</td>
                    <td class="numeric">{number(lowest)}</td>
                    <td class="numeric">{number(highest)}</td>
                    <td>{latest.map(|point| local_time_precise(point.0)).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="sources" data-testid="metric-table">
                <caption class="visually-hidden">"The query's series"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Series"</th>
                        <th scope="col">"Latest"</th>
                        <th scope="col">"Lowest"</th>
                        <th scope="col">"Highest"</th>
                        <th scope="col">"At"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_round_trips_and_becomes_its_request() {
        let view = MetricsView {
            query: "sum(rate(x[5m]))".into(),
            from: "now-6h".into(),
            to: "now".into(),
            step: "5m".into(),
            instant: false,
            table: true,
        };
        let url = view.url();
        assert!(
            url.contains("step=5m") && url.contains("view=table") && !url.contains("instant"),
            "{url}"
        );
        let request = view.request().unwrap();
        assert_eq!(request.step, Some(Step::Duration("5m".into())));
        assert_eq!(request.from.as_deref(), Some("now-6h"));

        let instant = MetricsView {
            instant: true,
            ..view.clone()
        }
        .request()
        .unwrap();
        assert_eq!(
            (instant.from, instant.step),
            (None, None),
            "an instant query has no range or step"
        );

        let wrong = MetricsView {
            step: "five".into(),
            ..view
        }
        .request()
        .unwrap_err();
        assert!(wrong.contains("such as 30s, 5m or 1h"), "{wrong}");
    }

    #[test]
    fn steps_are_prometheus_durations() {
        for good in ["30s", "5m", "1h30m", "250ms", "1d"] {
            assert!(is_duration(good), "{good}");
        }
        for bad in ["", "5", "m5", "5 m", "1.5m", "5x"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn series_are_named_as_promql_writes_them() {
        let series = |labels: &[(&str, &str)]| Series {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            points: Vec::new(),
        };
        assert_eq!(series_name(&series(&[])), "{}");
        assert_eq!(series_name(&series(&[("__name__", "up")])), "up");
        assert_eq!(
            series_name(&series(&[("__name__", "up"), ("job", "api"), ("env", "prod")])),
            r#"up{env="prod", job="api"}"#
        );
    }
}
