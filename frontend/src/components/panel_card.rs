//! One panel of a dashboard as a card: a number with its sentence and trend, a status in
//! words, a chart, bars or a table; its freshness; and its data as a CSV file.

use std::time::Duration;

use leptos::prelude::*;
use vitals_api::{
    Health, PanelData, PanelKind, PanelRow, PanelSummary, SharedView, Trend, TrendDirection, Unit,
};

use crate::api::{self, percent_encode};
use crate::components::chart::{Chart, ChartData};
use crate::components::error_message::{ErrorMessage, RetryButton, first_error};
use crate::components::skeleton::StatCardSkeleton;
use crate::components::sparkline::Sparkline;
use crate::format::{decimal, format_value, freshness_words, local_clock, plain_number};
use crate::refresh::every_while_visible;

/// A panel fetched for `view`, again whenever the view changes and every `refresh` while
/// `paused` is false.
///
/// While a refresh runs the card keeps showing what it has (a `Transition`, not a
/// `Suspense`); the skeleton appears only before the first answer. When a refresh fails
/// after data was shown, the data stays, greyed, with a sentence saying why.
#[component]
pub fn PanelCard(
    #[prop(into)] dashboard: String,
    panel: PanelSummary,
    #[prop(into)] view: Signal<SharedView>,
    refresh: Duration,
    #[prop(into, default = Signal::stored(false))] paused: Signal<bool>,
) -> impl IntoView {
    let panel_id = panel.id.clone();
    let answer = {
        let (dashboard, panel_id) = (dashboard.clone(), panel_id.clone());
        LocalResource::new(move || {
            let (dashboard, panel_id, view) = (dashboard.clone(), panel_id.clone(), view.get());
            async move { api::panel(&dashboard, &panel_id, &view).await }
        })
    };
    every_while_visible(refresh, move || {
        if !paused.get_untracked() {
            answer.refetch();
        }
    });
    let last_shown = StoredValue::new(None::<PanelData>);
    let (busy, set_busy) = signal(false);
    let retry = Callback::new(move |()| answer.refetch());
    let label = panel.title.clone();

    // Read synchronously rather than through `Suspend`: the render effect keeps the error
    // hook of its own `ErrorBoundary`, whereas two `Suspend`s resolving at once in Leptos 0.8
    // can throw into each other's boundary.
    let body = move || {
        answer.get().map(|result| match result {
            Ok(data) => {
                mark_first_data();
                last_shown.set_value(Some(data.clone()));
                Ok(view! { <PanelBody data refresh_error=None busy on_retry=retry /> })
            }
            Err(error) => match last_shown.get_value() {
                Some(data) => Ok(view! {
                    <PanelBody data refresh_error=Some(error.to_string()) busy on_retry=retry />
                }),
                None => Err(error),
            },
        })
    };
    let error_title = label.clone();
    let class = if panel.width > 1 {
        "stat-card panel-wide"
    } else {
        "stat-card"
    };

    view! {
        <article class=class data-testid=format!("stat-{panel_id}") aria-label=label>
            <Transition fallback=StatCardSkeleton set_pending=set_busy>
                <ErrorBoundary fallback=move |errors| {
                    view! {
                        <div class="stat-body health-unknown">
                            <h2 class="stat-title">{error_title.clone()}</h2>
                            <ErrorMessage message=first_error(&errors) busy on_retry=retry />
                        </div>
                    }
                }>{body}</ErrorBoundary>
            </Transition>
        </article>
    }
}

/// The performance mark a page load sets when its first panel shows data.
pub const FIRST_DATA_MARK: &str = "vitals:first-panel-data";

/// Marks, once per page load, when the first panel showed data: what `cargo xtask bench` times
/// from navigation on.
fn mark_first_data() {
    thread_local!(static MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if MARKED.with(|marked| marked.replace(true)) {
        return;
    }
    crate::perf::mark(FIRST_DATA_MARK);
}

/// The card's contents once the server has answered at least once.
#[component]
fn PanelBody(
    data: PanelData,
    /// Why the latest refresh failed, when the data shown is from an earlier answer.
    refresh_error: Option<String>,
    busy: ReadSignal<bool>,
    on_retry: Callback<()>,
) -> impl IntoView {
    let (health_class, health_icon, health_word) = health_look(data.health);
    let freshness = freshness_words(data.as_of, data.generated_at, &local_clock(data.generated_at));
    let out_of_date = refresh_error.is_some() || data.stale.is_some();
    // A chart or a list without thresholds passes no verdict: no badge says so.
    let judged = data.health != Health::Unknown || matches!(data.kind, PanelKind::Stat | PanelKind::Status);
    let csv = csv_href(&data);
    let csv_name = format!("{}.csv", data.id);
    // One paragraph for every kind, built by one piece of code: each `view!` of its own would
    // add its own code to the download.
    let sentence = {
        let sentence = data.sentence.clone();
        move || view! { <p class="stat-sentence" data-testid="panel-sentence">{sentence.clone()}</p> }
    };
    let kind_view = match data.kind {
        PanelKind::Stat | PanelKind::Status => {
            let headline = match data.value {
                Some(value) => view! {
                    <p class="stat-value" data-testid="stat-value">{format_value(value, data.unit)}</p>
                }
                .into_any(),
                None => view! { <p class="stat-no-value">"No data in this period"</p> }.into_any(),
            };
            let points = data
                .series
                .first()
                .map(|series| series.points.clone())
                .unwrap_or_default();
            let trend = data.trend.clone().map(|trend| {
                let said = data.sentence.contains(&trend.words);
                view! { <TrendLine trend said /> }
            });
            (
                headline,
                trend,
                sentence(),
                view! { <Sparkline points title=data.title.clone() unit=data.unit /> }.into_any(),
            )
                .into_any()
        }
        PanelKind::Timeseries => (
            sentence(),
            view! {
                <Chart
                    series=Signal::stored(data.series.clone())
                    unit=data.unit
                    title=data.title.clone()
                    range=Signal::stored((data.from, data.to))
                />
            }
            .into_any(),
        )
            .into_any(),
        PanelKind::Bar => (
            sentence(),
            view! { <Bars rows=data.rows.clone() unit=data.unit title=data.title.clone() /> }.into_any(),
        )
            .into_any(),
        PanelKind::Table => (
            sentence(),
            view! { <RowsTable rows=data.rows.clone() unit=data.unit title=data.title.clone() /> }.into_any(),
        )
            .into_any(),
    };
    view! {
        <div class=format!("stat-body {health_class}") class:out-of-date=out_of_date>
            <div class="stat-head">
                <h2 class="stat-title">{data.title.clone()}</h2>
                {judged.then(|| view! {
                    <span class="health-badge">
                        <span class="health-icon" aria-hidden="true">{health_icon}</span>
                        {health_word}
                    </span>
                })}
            </div>
            {kind_view}
            {data.stale.clone().map(|why| view! {
                <p class="stale-note" role="status">
                    {crate::format::as_sentence(&why)}
                </p>
            })}
            <div class="panel-foot">
                <p class=if freshness.stale { "stat-freshness stale" } else { "stat-freshness" }>
                    {freshness.words}
                </p>
                <a class="button-quiet csv-link" href=csv download=csv_name>
                    "Download CSV"
                    <span class="visually-hidden">{format!(" of {}", data.title)}</span>
                </a>
            </div>
            {refresh_error.map(|message| view! {
                <div class="refresh-error" role="status">
                    <p>"Could not refresh, so this shows the last answer: " {message}</p>
                    <RetryButton busy on_retry />
                </div>
            })}
        </div>
    }
}

/// Which way the number moved, in words and an arrow, coloured by whether that is good news;
/// the comparison itself too unless the sentence already `said` it.
#[component]
fn TrendLine(trend: Trend, said: bool) -> impl IntoView {
    let (arrow, direction) = match trend.direction {
        TrendDirection::Up => ("▲", "Up"),
        TrendDirection::Down => ("▼", "Down"),
        TrendDirection::Flat => ("▬", "Steady"),
    };
    let (class, _, verdict) = health_look(trend.health);
    let verdict = match trend.health {
        Health::Good => Some("good news"),
        Health::Warning | Health::Bad => Some(verdict),
        Health::Unknown => None,
    };
    view! {
        <p class=format!("trend {class}") data-testid="panel-trend">
            <span aria-hidden="true">{arrow} " "</span>
            {if said { direction.to_owned() } else { crate::format::as_sentence(&trend.words) }}
            {verdict.map(|verdict| view! { <span class="trend-verdict">{format!(" ({verdict})")}</span> })}
        </p>
    }
}

/// One bar per group, longest first, each with its number written beside it.
#[component]
fn Bars(rows: Vec<PanelRow>, unit: Unit, title: String) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="sparkline-empty">"No data in this period."</p> }.into_any();
    }
    let largest = rows
        .iter()
        .filter_map(|row| row.value)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    view! {
        <ul class="bars" aria-label=title>
            {rows
                .into_iter()
                .map(|row| {
                    let share = row.value.map_or(0.0, |value| (value / largest * 100.0).clamp(0.0, 100.0));
                    let shown = row.value.map_or_else(|| "no data".to_owned(), |value| format_value(value, unit));
                    view! {
                        <li class="bar-row">
                            <span class="bar-label">{row.label}</span>
                            <svg class="bar-track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                                <rect class="bar-fill" x="0" y="0" height="10" width=decimal(share, 2) />
                            </svg>
                            <span class="bar-value">{shown}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// One row per group, with its number and, when the panel judges them, its health in words.
#[component]
fn RowsTable(rows: Vec<PanelRow>, unit: Unit, title: String) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="sparkline-empty">"No data in this period."</p> }.into_any();
    }
    let judged = rows.iter().any(|row| row.health != Health::Unknown);
    view! {
        <div class="table-scroll">
            <table class="sources panel-table">
                <caption class="visually-hidden">{title}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Group"</th>
                        <th scope="col" class="number">"Value"</th>
                        {judged.then(|| view! { <th scope="col">"State"</th> })}
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let (class, icon, word) = health_look(row.health);
                            view! {
                                <tr>
                                    <th scope="row">{row.label}</th>
                                    <td class="number">
                                        {row.value.map_or_else(|| "no data".to_owned(), |value| format_value(value, unit))}
                                    </td>
                                    {judged.then(|| view! {
                                        <td class=class>
                                            <span aria-hidden="true">{icon} " "</span>
                                            {word}
                                        </td>
                                    })}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The CSS class, symbol and word that show a panel's health; the word and symbol carry the
/// meaning, the colour only repeats it.
pub fn health_look(health: Health) -> (&'static str, &'static str, &'static str) {
    match health {
        Health::Good => ("health-good", "✓", "Good"),
        Health::Warning => ("health-warning", "!", "Worth a look"),
        Health::Bad => ("health-bad", "✕", "Needs attention"),
        Health::Unknown => ("health-unknown", "–", "No verdict"),
    }
}

/// The panel's data as a `data:` URL of a CSV file: the rows of a bar or table panel, or one
/// column per line of a chart.
fn csv_href(data: &PanelData) -> String {
    format!(
        "data:text/csv;charset=utf-8,{}",
        percent_encode(&csv_text(data, crate::format::iso_time))
    )
}

/// The CSV of a panel, with times written by `time`.
pub fn csv_text(data: &PanelData, time: impl Fn(i64) -> String) -> String {
    let mut text = String::new();
    if !data.rows.is_empty() {
        text.push_str("group,value\r\n");
        for row in &data.rows {
            let value = row.value.map(plain_number).unwrap_or_default();
            text.push_str(&format!("{},{value}\r\n", csv_field(&row.label)));
        }
        return text;
    }
    // Every point the server sent, aligned on time as the chart's cursor reads them.
    let chart = ChartData::new(&data.series, (i64::MIN, i64::MAX));
    text.push_str("time");
    for series in &chart.series {
        text.push(',');
        text.push_str(&csv_field(&series.name));
    }
    text.push_str("\r\n");
    for &at in &chart.times {
        text.push_str(&time(at));
        for value in chart.values_at(at) {
            text.push(',');
            if let Some(value) = value {
                text.push_str(&plain_number(value));
            }
        }
        text.push_str("\r\n");
    }
    text
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-`
/// or `@` is escaped so a spreadsheet never runs it as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use vitals_api::{ChartSeries, Point};

    use super::*;

    fn panel(series: Vec<ChartSeries>, rows: Vec<PanelRow>) -> PanelData {
        PanelData {
            id: "p".into(),
            title: "P".into(),
            kind: PanelKind::Timeseries,
            value: None,
            unit: Unit::Count,
            health: Health::Unknown,
            sentence: String::new(),
            trend: None,
            series,
            rows,
            stale: None,
            from: 0,
            to: 0,
            as_of: 0,
            generated_at: 0,
        }
    }

    #[test]
    fn a_chart_becomes_one_column_per_line_aligned_on_time() {
        let data = panel(
            vec![
                ChartSeries {
                    name: "north".into(),
                    points: vec![Point(1, 3.0), Point(2, 4.0)],
                },
                ChartSeries {
                    name: "south, old wing".into(),
                    points: vec![Point(2, 5.0)],
                },
            ],
            Vec::new(),
        );
        assert_eq!(
            csv_text(&data, |ms| format!("t{ms}")),
            "time,north,\"south, old wing\"\r\nt1,3,\r\nt2,4,5\r\n"
        );
    }

    #[test]
    fn rows_become_groups_and_formulas_are_defused() {
        let data = panel(
            Vec::new(),
            vec![
                PanelRow {
                    label: "=HYPERLINK(\"x\")".into(),
                    value: Some(2.0),
                    health: Health::Good,
                },
                PanelRow {
                    label: "east".into(),
                    value: None,
                    health: Health::Unknown,
                },
            ],
        );
        assert_eq!(
            csv_text(&data, |ms| ms.to_string()),
            "group,value\r\n\"'=HYPERLINK(\"\"x\"\")\",2\r\neast,\r\n"
        );
    }
}
