//! The log explorer: a LogQL query over a time range, the lines newest first in a list that
//! draws only what is in view, each line's labels and fields, and for a line the server
//! masked, revealing it whole with a written reason.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use vitals_api::{Direction, LogLine, LogQueryRequest, LogQueryResponse, Series};

use crate::api::{self, percent_encode};
use crate::components::completion::{QueryEditor, Suggestions, starting_with};
use crate::components::loaded::Loaded;
use crate::components::log_volume::LogVolume;
use crate::components::logql_context::{PIPELINE_STAGES, Place, place_of};
use crate::components::masked::{MASK, RevealForm, marked};
use crate::components::query_examples::QueryExamples;
use crate::components::query_syntax::{LOGQL_FUNCTIONS, logql_problem};
use crate::components::time_picker::TimePicker;
use crate::components::virtual_list::VirtualList;
use crate::format::{local_day_and_time, local_time_precise};
use crate::pages::live_tail::LiveTail;
use crate::pages::log_patterns::LogPatterns;

/// Lines one query shows at most.
const LINE_LIMIT: u32 = 5_000;
/// Height of one row of the list, in pixels (the stylesheet's `.log-row` matches it).
const ROW_HEIGHT: f64 = 28.0;
/// Height of a row when lines wrap: up to three lines of text (`.wrapped .log-row`).
const WRAPPED_ROW_HEIGHT: f64 = 60.0;

/// Marks around drawing an answer's lines, and the measure between them the bench reads.
pub const LINES_ARRIVED_MARK: &str = "vitals:log-lines-arrived";
pub const LINES_DRAWN_MARK: &str = "vitals:log-lines-drawn";
pub const LIST_RENDER_MEASURE: &str = "vitals:log-list-render";

/// Queries to start from, for someone new to LogQL.
const EXAMPLES: [(&str, &str); 3] = [
    (
        r#"{service="login-api"} |= "GetItem""#,
        "login-api's DynamoDB reads",
    ),
    (
        r#"{service="patient-registration"} | logfmt | level="error""#,
        "failed registrations",
    ),
    (r#"{service=~".+"} |= "error""#, "every error line"),
];

/// What the explorer shows of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Lines,
    /// Its lines clustered into patterns.
    Patterns,
    /// New lines as they are written.
    Live,
}

/// The address of the explorer for a query and range, and what it shows of it.
fn logs_url(query: &str, from: &str, to: &str, shown: Shown) -> String {
    format!(
        "/engineering/logs?query={}&from={}&to={}{}",
        percent_encode(query),
        percent_encode(from),
        percent_encode(to),
        match shown {
            Shown::Lines => "",
            Shown::Patterns => "&view=patterns",
            Shown::Live => "&live=1",
        }
    )
}

#[component]
pub fn LogsPage() -> impl IntoView {
    crate::pages::set_page_title("Logs");
    let params = use_query_map();
    let navigate = use_navigate();
    let query = Memo::new(move |_| params.read().get("query").unwrap_or_default());
    let from = Memo::new(move |_| params.read().get("from").unwrap_or_else(|| "now-1h".to_owned()));
    let to = Memo::new(move |_| params.read().get("to").unwrap_or_else(|| "now".to_owned()));
    let draft = RwSignal::new(query.get_untracked());
    Effect::new(move |_| draft.set(query.get()));
    let live = Memo::new(move |_| params.read().get("live").is_some_and(|live| live == "1"));
    let patterns =
        Memo::new(move |_| !live.get() && params.read().get("view").is_some_and(|view| view == "patterns"));
    let shown = move || match (live.get_untracked(), patterns.get_untracked()) {
        (true, _) => Shown::Live,
        (false, true) => Shown::Patterns,
        (false, false) => Shown::Lines,
    };
    let go = Callback::new(move |(query, from, to, shown): (String, String, String, Shown)| {
        navigate(&logs_url(&query, &from, &to, shown), NavigateOptions::default());
    });
    let show = Callback::new(move |(query, from, to): (String, String, String)| {
        go.run((query, from, to, shown()));
    });
    let show_as = move |shown: Shown| {
        go.run((
            query.get_untracked(),
            from.get_untracked(),
            to.get_untracked(),
            shown,
        ))
    };
    // A chosen pattern's lines, in the list.
    let on_pick = Callback::new(move |query: String| {
        go.run((query, from.get_untracked(), to.get_untracked(), Shown::Lines));
    });
    let run = move |event: SubmitEvent| {
        event.prevent_default();
        show.run((draft.get_untracked(), from.get_untracked(), to.get_untracked()));
    };
    let on_range = Callback::new(move |(from, to): (String, String)| {
        show.run((query.get_untracked(), from, to));
    });
    let labels = LocalResource::new(move || {
        let (from, to) = (from.get(), to.get());
        async move { api::log_labels(&from, &to).await.unwrap_or_default() }
    });
    // Each label's values, asked for the first time the cursor is inside its quotes.
    let values = RwSignal::new(std::collections::HashMap::<String, Vec<String>>::new());
    let suggest = Callback::new(move |(text, cursor): (String, usize)| {
        let typed = |start: usize| text.get(start..cursor).unwrap_or_default().to_owned();
        let names = || labels.get_untracked().unwrap_or_default();
        match place_of(&text, cursor) {
            Place::Value { label, start } => {
                let known = values.with_untracked(|values| values.get(&label).cloned());
                match known {
                    Some(known) => Suggestions {
                        start,
                        words: starting_with(&typed(start), &known),
                    },
                    None => {
                        let (from, to) = (from.get_untracked(), to.get_untracked());
                        spawn_local(async move {
                            if let Ok(found) = api::log_label_values(&label, &from, &to).await {
                                values.update(|values| {
                                    values.insert(label, found);
                                });
                            }
                        });
                        Suggestions::default()
                    }
                }
            }
            Place::LabelName { start } => Suggestions {
                start,
                words: starting_with(&typed(start), &names()),
            },
            Place::Stage { start } => {
                let mut words: Vec<String> =
                    PIPELINE_STAGES.iter().map(|stage| (*stage).to_owned()).collect();
                words.extend(names());
                Suggestions {
                    start,
                    words: starting_with(&typed(start), &words),
                }
            }
            Place::Other { start } if cursor > start => {
                let words: Vec<String> = LOGQL_FUNCTIONS.iter().map(|name| (*name).to_owned()).collect();
                Suggestions {
                    start,
                    words: starting_with(&typed(start), &words),
                }
            }
            Place::Other { .. } => Suggestions::default(),
        }
    });
    let answer = LocalResource::new(move || {
        let following = live.get() || patterns.get();
        let request = LogQueryRequest {
            query: query.get(),
            from: Some(from.get()),
            to: Some(to.get()),
            limit: Some(LINE_LIMIT),
            direction: Direction::Backward,
            step: None,
        };
        async move {
            // An empty query, or one whose problem the editor already marks, is not sent; nor,
            // while the query is followed live or shown as patterns, are its lines asked for.
            if following || request.query.trim().is_empty() || logql_problem(&request.query).is_some() {
                return Ok(None);
            }
            api::query_logs(&request).await.map(Some)
        }
    });
    let retry = Callback::new(move |()| answer.refetch());

    view! {
        <section class="area logs" aria-labelledby="logs-heading">
            <h1 id="logs-heading">"Logs"</h1>
            <form class="query-bar" on:submit=run>
                <QueryEditor
                    id="log-query"
                    label="Log query (LogQL)"
                    placeholder=r#"{service="login-api"} |= "error""#
                    text=draft
                    suggest
                    check=logql_problem
                    on_run=Callback::new(move |()| show.run((draft.get_untracked(), from.get_untracked(), to.get_untracked())))
                />
                <TimePicker from=from to=to on_change=on_range />
                <button type="submit" class="button-primary" data-testid="run-query">
                    "Run query"
                </button>
            </form>
            <label class="wrap-toggle follow-toggle">
                <input
                    type="checkbox"
                    prop:checked=move || live.get()
                    disabled=move || query.with(|query| query.trim().is_empty())
                    on:change=move |event| {
                        show_as(if event_target_checked(&event) { Shown::Live } else { Shown::Lines })
                    }
                    data-testid="log-live"
                />
                " Follow live: new lines as they are written"
            </label>
            {move || {
                let query = query.get();
                live.get().then(|| view! { <LiveTail query /> })
            }}
            <div hidden=move || live.get()>
            // Not asked for while the query is followed live.
            {move || (!live.get()).then(|| view! { <LogVolume query from to on_range /> })}
            <div class="view-switch" role="group" aria-label="Show the query's">
                <button
                    type="button"
                    class="button-quiet"
                    aria-pressed=move || (!patterns.get()).to_string()
                    on:click=move |_| show_as(Shown::Lines)
                    data-testid="show-lines"
                >
                    "Lines"
                </button>
                <button
                    type="button"
                    class="button-quiet"
                    aria-pressed=move || patterns.get().to_string()
                    on:click=move |_| show_as(Shown::Patterns)
                    data-testid="show-patterns"
                >
                    "Patterns"
                </button>
            </div>
            {move || patterns.get().then(|| view! { <LogPatterns query from to on_pick /> })}
            <div hidden=move || patterns.get()>
            <Loaded lines=8 on_retry=retry>
                {move || {
                    answer
                        .get()
                        .map(|answer| {
                            answer.map(|answer| match answer {
                                None => view! {
                                    <QueryExamples
                                        intro="Write a LogQL query and run it. Patient details in the lines are masked; an engineer can reveal one line with a reason, which the audit trail keeps."
                                        examples=&EXAMPLES
                                        on_pick=Callback::new(move |query| show.run((query, from.get_untracked(), to.get_untracked())))
                                    />
                                }
                                .into_any(),
                                Some(LogQueryResponse::Streams { lines }) => view! { <LogList lines /> }.into_any(),
                                Some(LogQueryResponse::Matrix { series } | LogQueryResponse::Vector { series }) => {
                                    view! { <SeriesTable series /> }.into_any()
                                }
                            })
                        })
                }}
            </Loaded>
            </div>
            </div>
        </section>
    }
}

/// Whether a field names the trace a line was written in.
fn is_trace_id_field(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().replace(['-', '.'], "_").as_str(),
        "trace_id" | "traceid" | "xray_trace_id" | "aws_xray_trace_id"
    )
}

/// The words and mark of a line's level: never colour alone.
fn level_of(line: &LogLine) -> (&'static str, &'static str, &'static str) {
    let level = line
        .labels
        .get("level")
        .or_else(|| line.fields.get("level"))
        .map(|level| level.to_ascii_lowercase())
        .unwrap_or_default();
    match level.as_str() {
        "error" | "err" | "fatal" | "critical" => ("error", "✖", "level-error"),
        "warn" | "warning" => ("warning", "▲", "level-warning"),
        "debug" | "trace" => ("debug", "·", "level-debug"),
        "info" => ("info", "●", "level-info"),
        _ => ("—", "", "level-none"),
    }
}

/// The lines as newline-delimited JSON, as shown (masked), times by `time`.
pub fn ndjson(lines: &[LogLine], time: impl Fn(i64) -> String) -> String {
    let mut text = String::new();
    for line in lines {
        let row = serde_json::json!({
            "time": time(line.time.div_euclid(1_000_000)),
            "labels": line.labels,
            "line": line.line,
        });
        text.push_str(&row.to_string());
        text.push('\n');
    }
    text
}

/// The lines, newest first, and the chosen line's details.
#[component]
fn LogList(lines: Vec<LogLine>) -> impl IntoView {
    let count = lines.len();
    if count == 0 {
        return view! { <p class="empty-state" data-testid="log-empty">"No lines matched in this range. Widen the range or loosen the query."</p> }
            .into_any();
    }
    crate::perf::mark(LINES_ARRIVED_MARK);
    // Once the rows are in the page, at the next frame: how long drawing the answer took.
    Effect::new(move |_| {
        request_animation_frame(|| {
            crate::perf::mark(LINES_DRAWN_MARK);
            crate::perf::measure(LIST_RENDER_MEASURE, LINES_ARRIVED_MARK, LINES_DRAWN_MARK);
        });
    });
    let masked = lines.iter().filter(|line| line.reveal_ref.is_some()).count();
    let lines = StoredValue::new(lines);
    let (chosen, set_chosen) = signal(None::<usize>);
    let wrap = RwSignal::new(false);
    let row_height = Signal::derive(move || {
        if wrap.get() {
            WRAPPED_ROW_HEIGHT
        } else {
            ROW_HEIGHT
        }
    });
    let row = Callback::new(move |index: usize| {
        let line = lines.with_value(|lines| lines[index].clone());
        let (level, mark, class) = level_of(&line);
        let service = line.labels.get("service").cloned().unwrap_or_default();
        let selected = move || chosen.get() == Some(index);
        view! {
            <button
                type="button"
                class="log-row"
                class:selected=selected
                aria-pressed=move || selected().to_string()
                data-testid="log-row"
                on:click=move |_| set_chosen.set(Some(index))
            >
                <span class="log-time">{local_time_precise(line.time.div_euclid(1_000_000))}</span>
                <span class=format!("log-level {class}")>
                    <span aria-hidden="true">{mark}</span>
                    " "
                    {level}
                </span>
                <span class="log-service">{service}</span>
                <span class="log-text">{marked(&row_text(&line.line))}</span>
            </button>
        }
        .into_any()
    });
    let summary = if masked > 0 {
        format!(
            "{count} lines, newest first; patient details masked in {masked}. Choose a line to see it in full."
        )
    } else {
        format!("{count} lines, newest first. Choose a line to see it in full.")
    };
    // The file is written when asked for, not with every answer: 5,000 lines are a megabyte.
    let download = move |event: leptos::ev::MouseEvent| {
        let text = lines.with_value(|lines| ndjson(lines, crate::format::iso_time));
        if let Some(link) = event
            .current_target()
            .and_then(|target| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target).ok())
        {
            let href = format!(
                "data:application/x-ndjson;charset=utf-8,{}",
                percent_encode(&text)
            );
            let _ = link.set_attribute("href", &href);
        }
    };
    view! {
        <div class="list-head">
            <p class="list-summary" data-testid="log-summary">{summary}</p>
            <label class="wrap-toggle">
                <input type="checkbox" bind:checked=wrap data-testid="log-wrap" />
                " Wrap lines (up to three lines each)"
            </label>
            <a class="button-quiet" href="#" download="vitals-logs.ndjson" on:click=download data-testid="log-download">
                "Download these lines"
            </a>
        </div>
        <div class="log-explorer" class:wrapped=move || wrap.get()>
            <VirtualList count=Signal::derive(move || count) row_height row label="Log lines" test_id="log-list" />
            {move || {
                chosen
                    .get()
                    .map(|index| {
                        let line = lines.with_value(|lines| lines[index].clone());
                        view! { <LineDetails line /> }
                    })
            }}
        </div>
    }
    .into_any()
}

/// One line in full: its time, labels, fields, and the reveal of a masked line.
#[component]
fn LineDetails(line: LogLine) -> impl IntoView {
    let rows = |pairs: &std::collections::BTreeMap<String, String>| {
        pairs
            .iter()
            .map(|(name, value)| {
                // A trace id opens its trace.
                let shown = if is_trace_id_field(name) && !value.contains(MASK) {
                    let href = crate::pages::traces::trace_url(value);
                    let text = value.clone();
                    view! {
                        <A href=href attr:data-testid="line-trace-link">
                            {text}
                        </A>
                    }
                    .into_any()
                } else {
                    marked(value).into_any()
                };
                view! { <tr><th scope="row">{name.clone()}</th><td>{shown}</td></tr> }
            })
            .collect_view()
    };
    let labels = rows(&line.labels);
    let fields = (!line.fields.is_empty()).then(|| {
        let fields = rows(&line.fields);
        view! {
            <h3>"Fields"</h3>
            <table class="pairs">
                <tbody>{fields}</tbody>
            </table>
        }
    });
    let reveal = line
        .reveal_ref
        .clone()
        .map(|reveal_ref| view! { <RevealForm reveal_ref /> });
    view! {
        <aside class="details" aria-labelledby="line-heading" data-testid="line-details">
            <h2 id="line-heading">{format!("Line at {}", local_day_and_time(line.time.div_euclid(1_000_000)))}</h2>
            <p class="details-line">{marked(&line.line)}</p>
            <h3>"Labels"</h3>
            <table class="pairs">
                <tbody>{labels}</tbody>
            </table>
            {fields}
            {reveal}
            <LineContext line=line.clone() />
        </aside>
    }
}

/// Lines of context asked for on each side of a line.
/// The most of a line a row shows: more than three wrapped lines of the widest list hold, so
/// a 12 KB JSON line costs its row no more than a short one (the line's details show it all).
const ROW_TEXT_BYTES: usize = 1_000;

/// The start of `line` a row shows: all of it when short, else its first
/// [`ROW_TEXT_BYTES`] (never cutting a character or a mask in two) and an ellipsis.
fn row_text(line: &str) -> std::borrow::Cow<'_, str> {
    if line.len() <= ROW_TEXT_BYTES {
        return line.into();
    }
    let mut cut = ROW_TEXT_BYTES;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    // A mask the cut falls in is kept whole.
    let search_from = cut.saturating_sub(MASK.len() - 1);
    if let Some(at) = line[search_from..].find(MASK).map(|at| search_from + at)
        && at < cut
    {
        cut = at + MASK.len();
    }
    format!("{}…", &line[..cut]).into()
}

const CONTEXT_LINES: u32 = 10;
/// How far on each side of a line its context is looked for, in nanoseconds (five minutes).
const CONTEXT_REACH_NS: i64 = 300_000_000_000;

/// The stream selector of a line's labels, or `None` when a label is masked (its value is not
/// the one to ask for).
pub fn stream_selector(labels: &std::collections::BTreeMap<String, String>) -> Option<String> {
    if labels.is_empty() || labels.values().any(|value| value.contains(MASK)) {
        return None;
    }
    let matchers: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    Some(format!("{{{}}}", matchers.join(", ")))
}

/// An instant to the nanosecond, in RFC 3339: `2026-11-24T10:19:56.846123456Z`.
pub fn iso_nanos(ns: i64, iso_ms: impl Fn(i64) -> String) -> String {
    let ms = ns.div_euclid(1_000_000);
    let below = ns.rem_euclid(1_000_000);
    let text = iso_ms(ms);
    match text.strip_suffix('Z') {
        Some(head) => format!("{head}{below:06}Z"),
        None => text,
    }
}

/// The lines before and after one line in its own stream, asked for when wanted.
#[component]
fn LineContext(line: LogLine) -> impl IntoView {
    let Some(selector) = stream_selector(&line.labels) else {
        return ().into_any();
    };
    let (asked, set_asked) = signal(false);
    let at = line.time;
    let around = LocalResource::new(move || {
        let selector = selector.clone();
        let wanted = asked.get();
        async move {
            if !wanted {
                return Ok(None);
            }
            let iso = |ns: i64| iso_nanos(ns, crate::format::iso_time);
            let side = |from: i64, to: i64, direction: Direction| LogQueryRequest {
                query: selector.clone(),
                from: Some(iso(from)),
                to: Some(iso(to)),
                limit: Some(CONTEXT_LINES),
                direction,
                step: None,
            };
            let lines = |answer: LogQueryResponse| match answer {
                LogQueryResponse::Streams { lines } => lines,
                _ => Vec::new(),
            };
            let before = api::query_logs(&side(at - CONTEXT_REACH_NS, at, Direction::Backward)).await?;
            let after = api::query_logs(&side(at + 1, at + CONTEXT_REACH_NS, Direction::Forward)).await?;
            Ok::<_, api::ApiError>(Some((lines(before), lines(after))))
        }
    });
    let this_line = line.line.clone();
    view! {
        <div class="line-context">
            {move || match around.get() {
                None if asked.get() => view! { <p class="field-help">"Looking for the lines around it…"</p> }.into_any(),
                Some(Ok(Some((mut before, after)))) => {
                    // Oldest first, the line itself between, once.
                    before.retain(|other| !(other.time == at && other.line == this_line));
                    before.reverse();
                    let row = |time: i64, text: &str, class: &'static str| view! {
                        <li class=class>
                            <span class="log-time">{local_time_precise(time.div_euclid(1_000_000))}</span>
                            " "
                            <span>{marked(text)}</span>
                        </li>
                    };
                    let rows = before
                        .iter()
                        .map(|other| row(other.time, &other.line, ""))
                        .chain(std::iter::once(row(at, &this_line, "this-line")))
                        .chain(after.iter().filter(|other| other.time != at).map(|other| row(other.time, &other.line, "")))
                        .collect_view();
                    view! {
                        <h3>"In its stream"</h3>
                        <ol class="context-lines" data-testid="line-context">{rows}</ol>
                    }
                    .into_any()
                }
                Some(Err(error)) => view! { <p class="error-text" role="alert">{error.to_string()}</p> }.into_any(),
                _ => view! {
                    <button type="button" class="button-quiet" on:click=move |_| set_asked.set(true) data-testid="show-context">
                        {format!("Show up to {CONTEXT_LINES} lines before and after it")}
                    </button>
                }
                .into_any(),
            }}
        </div>
    }
    .into_any()
}

/// A metric query over logs: each series and its latest value.
#[component]
fn SeriesTable(series: Vec<Series>) -> impl IntoView {
    if series.is_empty() {
        return view! { <p class="empty-state">"The query matched no series in this range."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="sources">
                <caption class="visually-hidden">"Series the query counted"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Series"</th>
                        <th scope="col">"Points"</th>
                        <th scope="col">"Latest"</th>
                    </tr>
                </thead>
                <tbody>
                    {series
                        .into_iter()
                        .map(|series| {
                            let name = series
                                .labels
                                .iter()
                                .map(|(name, value)| format!("{name}=\"{value}\""))
                                .collect::<Vec<_>>()
                                .join(", ");
                            let latest = series.points.last().map(|point| crate::format::plain_number(point.1)).unwrap_or_default();
                            view! {
                                <tr>
                                    <th scope="row">{format!("{{{name}}}")}</th>
                                    <td>{series.points.len()}</td>
                                    <td>{latest}</td>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_shows_its_start_in_its_row_and_never_half_a_mask() {
        assert_eq!(row_text("level=info msg=ok"), "level=info msg=ok");
        let exact = "x".repeat(ROW_TEXT_BYTES);
        assert_eq!(row_text(&exact), exact, "a line of exactly the limit is whole");
        let long = "y".repeat(12 * 1024);
        let shown = row_text(&long);
        assert_eq!(shown.len(), ROW_TEXT_BYTES + '…'.len_utf8());
        assert!(shown.ends_with('…'));
        // A cut inside a two-byte character moves back to its start.
        let accented = format!("{}é{}", "a".repeat(ROW_TEXT_BYTES - 1), "b".repeat(50));
        assert_eq!(
            row_text(&accented),
            format!("{}…", "a".repeat(ROW_TEXT_BYTES - 1))
        );
        // A cut inside a mask keeps the mask whole.
        let masked = format!("{}{MASK}{}", "c".repeat(ROW_TEXT_BYTES - 3), "d".repeat(50));
        assert_eq!(
            row_text(&masked),
            format!("{}{MASK}…", "c".repeat(ROW_TEXT_BYTES - 3))
        );
    }

    #[test]
    fn downloaded_lines_are_one_json_object_each_as_shown() {
        let line = LogLine {
            time: 1_795_515_600_123_000_000,
            labels: [("service".to_owned(), "records".to_owned())].into(),
            line: "patient_name=\"[masked]\" viewed".to_owned(),
            fields: Default::default(),
            reveal_ref: Some("line:1:00ff00ff00ff00ff:{a=\"b\"}".to_owned()),
        };
        let text = ndjson(&[line.clone(), line], |ms| ms.to_string());
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|row| serde_json::from_str(row).unwrap())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["time"], "1795515600123");
        assert_eq!(rows[0]["labels"]["service"], "records");
        assert_eq!(rows[0]["line"], "patient_name=\"[masked]\" viewed");
        assert!(rows[0].get("reveal_ref").is_none());
    }

    #[test]
    fn a_lines_level_is_said_in_words_with_a_mark() {
        let line = |level: &str| LogLine {
            time: 0,
            labels: [("level".to_owned(), level.to_owned())].into(),
            line: String::new(),
            fields: Default::default(),
            reveal_ref: None,
        };
        assert_eq!(level_of(&line("ERROR")).0, "error");
        assert_eq!(level_of(&line("warn")).1, "▲");
        assert_eq!(level_of(&line("whatever")).0, "—");
    }

    #[test]
    fn a_lines_stream_is_its_labels_unless_one_is_masked() {
        let labels = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            stream_selector(&labels(&[("service", "records"), ("env", "prod")])).as_deref(),
            Some(r#"{env="prod", service="records"}"#)
        );
        assert_eq!(
            stream_selector(&labels(&[("note", r#"say "hi""#)])).as_deref(),
            Some(r#"{note="say \"hi\""}"#)
        );
        assert_eq!(stream_selector(&labels(&[("patient", MASK)])), None);
        assert_eq!(stream_selector(&labels(&[])), None);
    }

    #[test]
    fn instants_keep_their_nanoseconds() {
        let iso = |ms: i64| format!("T{ms}.000Z");
        assert_eq!(iso_nanos(1_500_000_123, iso), "T1500.000000123Z");
        assert_eq!(iso_nanos(2_000_000, |_| "no zone".to_owned()), "no zone");
    }

    #[test]
    fn trace_id_fields_are_known_by_their_usual_names() {
        for name in [
            "trace_id",
            "traceId",
            "trace.id",
            "xray_trace_id",
            "AWS-XRAY-TRACE-ID",
        ] {
            assert!(is_trace_id_field(name), "{name}");
        }
        assert!(!is_trace_id_field("span_id"));
    }
}
