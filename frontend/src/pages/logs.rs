//! The log explorer: a LogQL query over a time range, the lines newest first in a list that
//! draws only what is in view, each line's labels and fields, and for a line the server
//! masked, revealing it whole with a written reason.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use vitals_api::{Direction, LogLine, LogQueryRequest, LogQueryResponse, RevealRequest, Revealed, Series};

use crate::api::{self, percent_encode};
use crate::components::loaded::Loaded;
use crate::components::time_picker::TimePicker;
use crate::components::virtual_list::VirtualList;
use crate::format::{local_day_and_time, local_time_precise};

/// Lines one query shows at most.
const LINE_LIMIT: u32 = 5_000;
/// Height of one row of the list, in pixels (the stylesheet's `.log-row` matches it).
const ROW_HEIGHT: f64 = 28.0;
/// Height of a row when lines wrap: up to three lines of text (`.wrapped .log-row`).
const WRAPPED_ROW_HEIGHT: f64 = 60.0;
/// The shortest reason the server accepts for a reveal.
const MIN_REASON_CHARS: usize = 8;
/// What the server writes in place of a patient detail.
const MASK: &str = "[masked]";

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

/// The address of the explorer for a query and range.
fn logs_url(query: &str, from: &str, to: &str) -> String {
    format!(
        "/engineering/logs?query={}&from={}&to={}",
        percent_encode(query),
        percent_encode(from),
        percent_encode(to)
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
    let show = Callback::new(move |(query, from, to): (String, String, String)| {
        navigate(&logs_url(&query, &from, &to), NavigateOptions::default());
    });
    let run = move |event: SubmitEvent| {
        event.prevent_default();
        show.run((draft.get_untracked(), from.get_untracked(), to.get_untracked()));
    };
    let on_range = Callback::new(move |(from, to): (String, String)| {
        show.run((query.get_untracked(), from, to));
    });
    let answer = LocalResource::new(move || {
        let request = LogQueryRequest {
            query: query.get(),
            from: Some(from.get()),
            to: Some(to.get()),
            limit: Some(LINE_LIMIT),
            direction: Direction::Backward,
            step: None,
        };
        async move {
            if request.query.trim().is_empty() {
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
                <div class="field query-field">
                    <label for="log-query">"Log query (LogQL)"</label>
                    <textarea
                        id="log-query"
                        name="query"
                        rows="2"
                        spellcheck="false"
                        autocapitalize="none"
                        placeholder=r#"{service="login-api"} |= "error""#
                        prop:value=move || draft.get()
                        on:input=move |event| draft.set(event_target_value(&event))
                        on:keydown=move |event: leptos::ev::KeyboardEvent| {
                            // Ctrl+Enter runs the query, as in other query editors.
                            if event.key() == "Enter" && (event.ctrl_key() || event.meta_key()) {
                                event.prevent_default();
                                show.run((draft.get_untracked(), from.get_untracked(), to.get_untracked()));
                            }
                        }
                    ></textarea>
                </div>
                <TimePicker from=from to=to on_change=on_range />
                <button type="submit" class="button-primary" data-testid="run-query">
                    "Run query"
                </button>
            </form>
            <Loaded lines=8 on_retry=retry>
                {move || {
                    answer
                        .get()
                        .map(|answer| {
                            answer.map(|answer| match answer {
                                None => view! { <Examples show from to /> }.into_any(),
                                Some(LogQueryResponse::Streams { lines }) => view! { <LogList lines /> }.into_any(),
                                Some(LogQueryResponse::Matrix { series } | LogQueryResponse::Vector { series }) => {
                                    view! { <SeriesTable series /> }.into_any()
                                }
                            })
                        })
                }}
            </Loaded>
        </section>
    }
}

/// Before the first query: what to type, with examples that run when chosen.
#[component]
fn Examples(show: Callback<(String, String, String)>, from: Memo<String>, to: Memo<String>) -> impl IntoView {
    view! {
        <div class="notice">
            <p>"Write a LogQL query and run it. Patient details in the lines are masked; an engineer can reveal one line with a reason, which the audit trail keeps."</p>
            <ul class="examples">
                {EXAMPLES
                    .iter()
                    .map(|(query, words)| {
                        let query = (*query).to_owned();
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="link-button"
                                    on:click=move |_| show.run((query.clone(), from.get_untracked(), to.get_untracked()))
                                >
                                    {*words}
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
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

/// A line's text with each masked part set apart.
fn marked(text: &str) -> impl IntoView + use<> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MASK) {
        parts.push(view! { <span>{rest[..at].to_owned()}</span> }.into_any());
        parts.push(view! { <span class="masked" title="patient data, masked">{MASK}</span> }.into_any());
        rest = &rest[at + MASK.len()..];
    }
    parts.push(view! { <span>{rest.to_owned()}</span> }.into_any());
    parts
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
                <span class="log-text">{marked(&line.line)}</span>
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
            .map(|(name, value)| view! { <tr><th scope="row">{name.clone()}</th><td>{marked(value)}</td></tr> })
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
        </aside>
    }
}

/// Asks for a masked line whole, with a reason; shows it to this person only.
#[component]
fn RevealForm(reveal_ref: String) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let (problem, set_problem) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let (shown, set_shown) = signal(None::<String>);
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let why = reason.get_untracked().trim().to_owned();
        if why.chars().count() < MIN_REASON_CHARS {
            set_problem.set(Some(format!(
                "Say why you need to see this patient's details, in at least {MIN_REASON_CHARS} characters: the incident or ticket you are working on."
            )));
            return;
        }
        set_problem.set(None);
        set_busy.set(true);
        let request = RevealRequest {
            reveal_ref: reveal_ref.clone(),
            reason: why,
        };
        spawn_local(async move {
            match api::reveal(&request).await {
                Ok(Revealed::Line { line }) => set_shown.set(Some(line.line)),
                Ok(Revealed::Span { span }) => set_shown.set(Some(span.name)),
                Err(error) => set_problem.set(Some(error.to_string())),
            }
            set_busy.set(false);
        });
    };
    view! {
        <div class="reveal">
            <h3>"Patient details are masked in this line"</h3>
            {move || match shown.get() {
                Some(whole) => view! {
                    <p class="notice-text">"Shown to you only, and recorded in the audit trail with your reason."</p>
                    <pre class="revealed" data-testid="revealed-line">{whole}</pre>
                }
                .into_any(),
                None => view! {
                    <form on:submit=submit.clone()>
                        <div class="field">
                            <label for="reveal-reason">"Why do you need to see them?"</label>
                            <textarea
                                id="reveal-reason"
                                rows="2"
                                bind:value=reason
                                aria-describedby="reveal-help"
                            ></textarea>
                            <p id="reveal-help" class="field-help">"The audit trail keeps your reason beside your name."</p>
                        </div>
                        {move || problem.get().map(|problem| view! { <p class="error-text" role="alert">{problem}</p> })}
                        <button type="submit" class="button-primary" disabled=busy data-testid="reveal-submit">
                            "Reveal this line"
                        </button>
                    </form>
                }
                .into_any(),
            }}
        </div>
    }
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
}
