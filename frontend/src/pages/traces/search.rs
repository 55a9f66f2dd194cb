//! Trace search: by service, outcome, duration, HTTP status and path, an annotation, and an
//! X-Ray filter expression of one's own, over a time range. Above the results, a scatter of
//! duration over time (a dot opens its trace); below, the traces newest first. The search lives
//! in the address, so it can be shared and the back button returns to it.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use vitals_api::{SpanStatus, TraceSearchRequest, TraceSummary};

use crate::api::{self, percent_encode};
use crate::components::loaded::Loaded;
use crate::components::time_picker::TimePicker;
use crate::components::wrong_part::WrongPart;
use crate::format::local_time_precise;
use crate::pages::traces::{span_duration, status_words, trace_id_of, trace_url};

/// Traces one search shows at most.
const TRACE_LIMIT: u32 = 200;
/// The scatter's drawing area, in its own units (it scales to the page's width).
const SCATTER_WIDTH: f64 = 1000.0;
const SCATTER_HEIGHT: f64 = 180.0;

/// A search as the form and the address hold it: every field as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchForm {
    pub service: String,
    /// `ok`, `error`, `fault`, `throttle`, or empty for any.
    pub status: String,
    /// Seconds, as typed.
    pub min: String,
    pub max: String,
    pub http: String,
    pub path: String,
    /// `name=value`.
    pub annotation: String,
    pub filter: String,
    pub from: String,
    pub to: String,
}

/// The address's parameters, in the order they are written.
const FIELDS: [&str; 10] = [
    "service",
    "status",
    "min",
    "max",
    "http",
    "path",
    "annotation",
    "filter",
    "from",
    "to",
];

impl SearchForm {
    /// The search an address holds; a range of the last hour when it names none.
    pub fn from_pairs<'a>(get: impl Fn(&'a str) -> Option<String>) -> Self {
        let field = |name: &'a str| get(name).unwrap_or_default();
        let from = get("from").unwrap_or_else(|| "now-1h".to_owned());
        let to = get("to").unwrap_or_else(|| "now".to_owned());
        Self {
            service: field("service"),
            status: field("status"),
            min: field("min"),
            max: field("max"),
            http: field("http"),
            path: field("path"),
            annotation: field("annotation"),
            filter: field("filter"),
            from,
            to,
        }
    }

    /// The field the address calls `name`.
    fn field(&self, name: &str) -> &str {
        FIELDS
            .iter()
            .position(|field| *field == name)
            .map_or("", |at| self.values()[at])
    }

    /// The field the address calls `name`, to change.
    fn field_mut(&mut self, name: &str) -> &mut String {
        match name {
            "service" => &mut self.service,
            "status" => &mut self.status,
            "min" => &mut self.min,
            "max" => &mut self.max,
            "http" => &mut self.http,
            "path" => &mut self.path,
            "annotation" => &mut self.annotation,
            "from" => &mut self.from,
            "to" => &mut self.to,
            _ => &mut self.filter,
        }
    }

    fn values(&self) -> [&str; 10] {
        [
            &self.service,
            &self.status,
            &self.min,
            &self.max,
            &self.http,
            &self.path,
            &self.annotation,
            &self.filter,
            &self.from,
            &self.to,
        ]
    }

    /// The address of this search: only the fields that are set.
    pub fn url(&self) -> String {
        let pairs: Vec<String> = FIELDS
            .iter()
            .zip(self.values())
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| format!("{name}={}", percent_encode(value.trim())))
            .collect();
        format!("/engineering/traces?{}", pairs.join("&"))
    }

    /// The request this search sends, or what is wrong with a field, in words that say how to
    /// put it right.
    pub fn request(&self) -> Result<TraceSearchRequest, String> {
        let seconds = |text: &str, what: &str| -> Result<Option<f64>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
                _ => Err(format!(
                    "{what} is \"{text}\"; write a number of seconds, such as 0.5"
                )),
            }
        };
        let status = match self.status.trim() {
            "" => None,
            "ok" => Some(SpanStatus::Ok),
            "error" => Some(SpanStatus::Error),
            "fault" => Some(SpanStatus::Fault),
            "throttle" => Some(SpanStatus::Throttle),
            other => {
                return Err(format!(
                    "the outcome \"{other}\" is not one of ok, error, fault or throttle"
                ));
            }
        };
        let http_status = match self.http.trim() {
            "" => None,
            text => match text.parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => Some(code),
                _ => {
                    return Err(format!(
                        "the HTTP status is \"{text}\"; write a status code from 100 to 599, such as 404"
                    ));
                }
            },
        };
        let mut annotations = std::collections::BTreeMap::new();
        let annotation = self.annotation.trim();
        if !annotation.is_empty() {
            match annotation.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    annotations.insert(name.trim().to_owned(), value.trim().to_owned());
                }
                _ => {
                    return Err(format!(
                        "the annotation is \"{annotation}\"; write it as name=value, such as clinic=north"
                    ));
                }
            }
        }
        let min_duration_s = seconds(&self.min, "the shortest duration")?;
        let max_duration_s = seconds(&self.max, "the longest duration")?;
        if let (Some(min), Some(max)) = (min_duration_s, max_duration_s)
            && min > max
        {
            return Err(format!(
                "the shortest duration ({min} s) is longer than the longest ({max} s); swap them"
            ));
        }
        let text = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
        Ok(TraceSearchRequest {
            filter: self.filter.trim().to_owned(),
            service: text(&self.service),
            status,
            min_duration_s,
            max_duration_s,
            annotations,
            http_status,
            path: text(&self.path),
            from: text(&self.from),
            to: text(&self.to),
            limit: Some(TRACE_LIMIT),
        })
    }
}

/// What a search found: traces, or a filter the server could not read.
#[derive(Debug, Clone)]
enum Found {
    Traces(Vec<TraceSummary>),
    WrongFilter {
        filter: String,
        message: String,
        at: vitals_api::TextSpan,
    },
}

#[component]
pub fn TraceSearchPage() -> impl IntoView {
    crate::pages::set_page_title("Traces");
    let params = use_query_map();
    let navigate = use_navigate();
    let search = Memo::new(move |_| {
        let params = params.read();
        SearchForm::from_pairs(|name| params.get(name))
    });
    let draft = RwSignal::new(search.get_untracked());
    Effect::new(move |_| draft.set(search.get()));
    let (problem, set_problem) = signal(None::<String>);
    let go = Callback::new(move |form: SearchForm| match form.request() {
        Ok(_) => {
            set_problem.set(None);
            navigate(&form.url(), NavigateOptions::default());
        }
        Err(problem) => set_problem.set(Some(problem)),
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        go.run(draft.get_untracked());
    };
    let on_range = Callback::new(move |(from, to): (String, String)| {
        let mut form = draft.get_untracked();
        form.from = from;
        form.to = to;
        go.run(form);
    });
    let answer = LocalResource::new(move || {
        let search = search.get();
        let request = search.request();
        async move {
            match request {
                Ok(request) => match api::search_traces(&request).await {
                    Ok(answer) => Ok(Found::Traces(answer.traces)),
                    // A filter the server cannot read is shown with its wrong part marked.
                    Err(api::ApiError::WrongText { message, at, .. }) => Ok(Found::WrongFilter {
                        filter: search.filter,
                        message,
                        at,
                    }),
                    Err(error) => Err(error),
                },
                Err(problem) => Err(api::ApiError::Server {
                    status: 400,
                    code: "bad_search".to_owned(),
                    message: problem,
                }),
            }
        }
    });
    let retry = Callback::new(move |()| answer.refetch());
    let wanted_id = RwSignal::new(String::new());
    let (id_problem, set_id_problem) = signal(None::<String>);
    let open_id = {
        let navigate = use_navigate();
        move |event: SubmitEvent| {
            event.prevent_default();
            match trace_id_of(&wanted_id.get_untracked()) {
                Ok(id) => {
                    set_id_problem.set(None);
                    navigate(&trace_url(&id), NavigateOptions::default());
                }
                Err(problem) => set_id_problem.set(Some(problem)),
            }
        }
    };
    let from = Signal::derive(move || search.get().from);
    let to = Signal::derive(move || search.get().to);
    // One text box per field, bound to the draft.
    let input = move |name: &'static str, label: &'static str, hint: &'static str| {
        let id = format!("trace-{name}");
        view! {
            <div class="field">
                <label for=id.clone()>{label}</label>
                <input
                    id=id
                    type="text"
                    placeholder=hint
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || draft.with(|form| form.field(name).to_owned())
                    on:input=move |event| draft.update(|form| *form.field_mut(name) = event_target_value(&event))
                />
            </div>
        }
    };

    view! {
        <section class="area traces" aria-labelledby="traces-heading">
            <div class="area-head">
                <h1 id="traces-heading">"Traces"</h1>
                <A href="/engineering/map">"Service map"</A>
            </div>
            <form class="open-trace" on:submit=open_id>
                <label for="open-trace-id">"Open a trace by its id"</label>
                <input
                    id="open-trace-id"
                    type="text"
                    placeholder="1-5f84c7a1-0123456789abcdef01234567"
                    autocomplete="off"
                    spellcheck="false"
                    bind:value=wanted_id
                    data-testid="open-trace-id"
                />
                <button type="submit" class="button-quiet">"Open"</button>
                {move || id_problem.get().map(|problem| view! { <p class="error-text" role="alert">{problem}</p> })}
            </form>
            <form class="trace-search" on:submit=submit>
                <div class="search-fields">
                    {input("service", "Service", "login-api")}
                    <div class="field">
                        <label for="trace-status">"Outcome"</label>
                        <select
                            id="trace-status"
                            prop:value=move || draft.with(|form| form.status.clone())
                            on:change=move |event| draft.update(|form| form.status = event_target_value(&event))
                        >
                            <option value="">"Any"</option>
                            <option value="ok">"Ok"</option>
                            <option value="error">"Error (4xx)"</option>
                            <option value="fault">"Fault (5xx)"</option>
                            <option value="throttle">"Throttled (429)"</option>
                        </select>
                    </div>
                    {input("min", "Longer than (s)", "0.5")}
                    {input("max", "Shorter than (s)", "10")}
                    {input("http", "HTTP status", "404")}
                    {input("path", "Path contains", "/login")}
                    {input("annotation", "Annotation", "clinic=north")}
                </div>
                <div class="field query-field">
                    <label for="trace-filter">"X-Ray filter expression (optional)"</label>
                    <textarea
                        id="trace-filter"
                        rows="1"
                        spellcheck="false"
                        autocapitalize="none"
                        placeholder=r#"service("login-api") AND responsetime > 1"#
                        prop:value=move || draft.with(|form| form.filter.clone())
                        on:input=move |event| draft.update(|form| form.filter = event_target_value(&event))
                    ></textarea>
                </div>
                <div class="search-actions">
                    <TimePicker from to on_change=on_range />
                    <button type="submit" class="button-primary" data-testid="trace-search">
                        "Search traces"
                    </button>
                </div>
                {move || problem.get().map(|problem| view! { <p class="error-text" role="alert">{problem}</p> })}
            </form>
            <Loaded lines=6 on_retry=retry>
                {move || {
                    answer
                        .get()
                        .map(|answer| {
                            answer
                                .map(|found| match found {
                                    Found::Traces(traces) => view! { <Results traces /> }.into_any(),
                                    Found::WrongFilter { filter, message, at } => {
                                        view! { <WrongPart text=filter message at test_id="filter-problem" /> }.into_any()
                                    }
                                })
                        })
                }}
            </Loaded>
        </section>
    }
}

/// The scatter and the list of what a search found.
#[component]
fn Results(traces: Vec<TraceSummary>) -> impl IntoView {
    if traces.is_empty() {
        return view! {
            <p class="empty-state" data-testid="trace-empty">
                "No traces matched in this range. Widen the range or loosen the search."
            </p>
        }
        .into_any();
    }
    let failed = traces
        .iter()
        .filter(|trace| trace.status != SpanStatus::Ok)
        .count();
    let count = traces.len();
    let longest = traces
        .iter()
        .map(|trace| trace.duration)
        .max()
        .unwrap_or(1)
        .max(1);
    let summary = match failed {
        0 => format!("{count} traces, newest first; all ended well."),
        _ => format!("{count} traces, newest first; {failed} ended in an error, fault or throttle."),
    };
    let (compare, set_compare) = signal(Vec::<String>::new());
    let rows = traces
        .iter()
        .map(|trace| {
            let (words, mark, class) = status_words(trace.status);
            let id = trace.trace_id.clone();
            let chosen_id = id.clone();
            let width = format!("{:.1}%", trace.duration as f64 / longest as f64 * 100.0);
            view! {
                <tr data-testid="trace-row" class=class>
                    <td>{local_time_precise(trace.start.div_euclid(1_000_000))}</td>
                    <th scope="row">
                        <A href=trace_url(&trace.trace_id) attr:data-testid="trace-link">
                            {format!("{} {}", trace.service, trace.name)}
                        </A>
                    </th>
                    <td class="trace-services">{trace.services.join(" → ")}</td>
                    <td class="numeric">
                        {span_duration(trace.duration)}
                        <span class="duration-bar" aria-hidden="true">
                            <span style:width=width></span>
                        </span>
                    </td>
                    <td class=format!("status-cell {class}")>
                        <span aria-hidden="true">{mark}</span>
                        " "
                        {words}
                        {trace.http_status.map(|code| format!(" · HTTP {code}"))}
                    </td>
                    <td>
                        <label class="compare-pick">
                            <input
                                type="checkbox"
                                prop:checked=move || compare.with(|ids| ids.contains(&chosen_id))
                                on:change=move |event| {
                                    let on = event_target_checked(&event);
                                    set_compare.update(|ids| {
                                        ids.retain(|other| *other != id);
                                        if on {
                                            ids.push(id.clone());
                                            if ids.len() > 2 {
                                                ids.remove(0);
                                            }
                                        }
                                    });
                                }
                            />
                            <span class="visually-hidden">"Compare this trace"</span>
                        </label>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let compare_link = move || {
        compare.with(|ids| match ids.as_slice() {
            [a, b] => view! {
                <A href=format!("/engineering/traces/{}/compare/{}", percent_encode(a), percent_encode(b)) attr:class="button-primary" attr:data-testid="compare-link">
                    "Compare the two chosen traces"
                </A>
            }
            .into_any(),
            _ => view! { <span class="field-help">"Tick two traces of one operation to compare them."</span> }.into_any(),
        })
    };
    view! {
        <Scatter traces=traces.clone() />
        <div class="list-head">
            <p class="list-summary" data-testid="trace-summary">{summary}</p>
            {compare_link}
        </div>
        <div class="table-scroll">
            <table class="traces-table">
                <caption class="visually-hidden">"Traces found, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Root operation"</th>
                        <th scope="col">"Services"</th>
                        <th scope="col">"Duration"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Compare"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Duration over time, a dot per trace; failed traces are crosses, so the outcome does not
/// rest on colour. A dot opens its trace.
#[component]
fn Scatter(traces: Vec<TraceSummary>) -> impl IntoView {
    let first = traces.iter().map(|trace| trace.start).min().unwrap_or(0);
    let last = traces.iter().map(|trace| trace.start).max().unwrap_or(first);
    let longest = traces
        .iter()
        .map(|trace| trace.duration)
        .max()
        .unwrap_or(1)
        .max(1);
    let navigate = use_navigate();
    let dots = traces
        .iter()
        .map(|trace| {
            let (x, y) = scatter_point(trace.start, trace.duration, (first, last), longest);
            let (words, _, class) = status_words(trace.status);
            let label = format!(
                "{} {}, {}, {} at {}",
                trace.service,
                trace.name,
                span_duration(trace.duration),
                words,
                local_time_precise(trace.start.div_euclid(1_000_000))
            );
            let url = trace_url(&trace.trace_id);
            let navigate = navigate.clone();
            let shape = if trace.status == SpanStatus::Ok {
                view! { <circle cx=x cy=y r="5" /> }.into_any()
            } else {
                let d = format!("M{} {}l10 10m0 -10l-10 10", x - 5.0, y - 5.0);
                view! { <path d=d /> }.into_any()
            };
            view! {
                <g class=format!("dot {class}") on:click=move |_| navigate(&url, NavigateOptions::default())>
                    <title>{label}</title>
                    {shape}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="scatter" data-testid="trace-scatter">
            <svg
                viewBox=format!("0 0 {SCATTER_WIDTH} {SCATTER_HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-label="Duration of each trace over time; the table below lists the same traces"
            >
                <line class="axis" x1="0" y1=SCATTER_HEIGHT x2=SCATTER_WIDTH y2=SCATTER_HEIGHT />
                {dots}
            </svg>
            <figcaption>
                <span>{local_time_precise(first.div_euclid(1_000_000))}</span>
                <span>{format!("up to {} · ● ended well · ✖ failed · click a mark to open its trace", span_duration(longest))}</span>
                <span>{local_time_precise(last.div_euclid(1_000_000))}</span>
            </figcaption>
        </figure>
    }
}

/// Where a trace's mark sits in the scatter: time across, duration up, inside a margin.
pub fn scatter_point(start: i64, duration: i64, (first, last): (i64, i64), longest: i64) -> (f64, f64) {
    const MARGIN: f64 = 8.0;
    let across = if last > first {
        (start - first) as f64 / (last - first) as f64
    } else {
        0.5
    };
    let up = duration.max(0) as f64 / longest.max(1) as f64;
    (
        MARGIN + across * (SCATTER_WIDTH - 2.0 * MARGIN),
        SCATTER_HEIGHT - MARGIN - up * (SCATTER_HEIGHT - 2.0 * MARGIN),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> SearchForm {
        SearchForm::from_pairs(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn a_search_round_trips_through_its_address_and_becomes_the_request_it_means() {
        let search = form(&[
            ("service", "login-api"),
            ("status", "error"),
            ("min", "0.25"),
            ("http", "404"),
            ("annotation", "clinic = north"),
            ("filter", r#"edge("login-api", "DynamoDB")"#),
        ]);
        let url = search.url();
        assert!(
            url.starts_with("/engineering/traces?service=login-api&status=error&min=0.25"),
            "{url}"
        );
        assert!(
            !url.contains("max="),
            "fields left empty stay out of the address: {url}"
        );
        let request = search.request().unwrap();
        assert_eq!(request.service.as_deref(), Some("login-api"));
        assert_eq!(request.status, Some(SpanStatus::Error));
        assert_eq!(request.min_duration_s, Some(0.25));
        assert_eq!(request.http_status, Some(404));
        assert_eq!(
            request.annotations.get("clinic").map(String::as_str),
            Some("north")
        );
        assert_eq!(request.filter, r#"edge("login-api", "DynamoDB")"#);
        assert_eq!(
            request.from.as_deref(),
            Some("now-1h"),
            "an hour when no range is named"
        );
    }

    #[test]
    fn a_wrong_field_is_named_with_what_to_write_instead() {
        let cases = [
            (("min", "fast"), "the shortest duration is \"fast\""),
            (("max", "-1"), "the longest duration is \"-1\""),
            (("http", "4040"), "write a status code from 100 to 599"),
            (("status", "broken"), "not one of ok, error, fault or throttle"),
            (("annotation", "north"), "write it as name=value"),
        ];
        for ((field, value), words) in cases {
            let problem = form(&[(field, value)]).request().unwrap_err();
            assert!(problem.contains(words), "{field}={value}: {problem}");
        }
        let swapped = form(&[("min", "5"), ("max", "1")]).request().unwrap_err();
        assert!(swapped.contains("swap them"), "{swapped}");
    }

    #[test]
    fn the_newest_and_slowest_traces_sit_right_and_high() {
        let range = (1_000, 2_000);
        let (x_old, y_short) = scatter_point(1_000, 10, range, 100);
        let (x_new, y_long) = scatter_point(2_000, 100, range, 100);
        assert!(x_old < x_new);
        assert!(y_long < y_short, "longer is higher up (smaller y)");
        assert!((0.0..=SCATTER_WIDTH).contains(&x_new) && (0.0..=SCATTER_HEIGHT).contains(&y_short));
        assert_eq!(
            scatter_point(5, 0, (5, 5), 1).0,
            SCATTER_WIDTH / 2.0,
            "one instant sits mid-way"
        );
    }
}
