//! One trace: a waterfall that draws only the rows in view, with subtrees that fold, the
//! critical path marked, where the trace failed said up front, a time ruler and a minimap to
//! zoom by dragging, search within the trace, keyboard navigation, and each span's details.
//!
//! A trace over the server's span limit is never fetched whole: its overview comes first, then
//! windows of its spans by time range and subtree.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use vitals_api::traces::{TraceOverview, TraceWindow, WindowSpan};
use vitals_api::{Span, SpanKind, SpanStatus, Trace};
use vitals_trace::{SpanTable, Waterfall, waterfall::bar_within};

use crate::api;
use crate::components::drag_select::DragSelect;
use crate::components::loaded::Loaded;
use crate::components::masked::{RevealForm, marked};
use crate::components::virtual_list::VirtualList;
use crate::format::local_time_precise;
use crate::pages::traces::{counted, logs_for_trace, span_duration, status_words};
use crate::perf;

/// Height of one waterfall row, in pixels (the stylesheet's `.span-row` matches it).
const ROW_HEIGHT: f64 = 26.0;
/// Slices of the minimap.
const MINIMAP_BUCKETS: usize = 120;
/// Ticks of the time ruler, ends included.
const RULER_TICKS: usize = 5;
/// Indent per level of the tree, in pixels, and the deepest indent drawn.
const INDENT: u32 = 14;
const MAX_INDENT_LEVELS: u32 = 24;

/// Marks and measures the bench reads: from asking for the trace to the waterfall drawn, a
/// subtree folded or unfolded, and a huge trace's window from request to paint.
pub const TRACE_REQUESTED_MARK: &str = "vitals:trace-requested";
pub const WATERFALL_DRAWN_MARK: &str = "vitals:waterfall-drawn";
pub const WATERFALL_PAINT_MEASURE: &str = "vitals:waterfall-first-paint";
pub const TOGGLE_START_MARK: &str = "vitals:waterfall-toggle-start";
pub const TOGGLE_END_MARK: &str = "vitals:waterfall-toggle-end";
pub const TOGGLE_MEASURE: &str = "vitals:waterfall-toggle";
pub const WINDOW_REQUESTED_MARK: &str = "vitals:window-requested";
pub const WINDOW_DRAWN_MARK: &str = "vitals:window-drawn";
pub const WINDOW_MEASURE: &str = "vitals:trace-window";
/// From asking for a huge trace to its first window drawn (later windows re-measure it).
pub const HUGE_OPEN_MEASURE: &str = "vitals:huge-trace-open";

/// At the next frame, once what changed is in the page: `end` marked and measured from `start`.
fn measure_at_next_frame(start: &'static str, end: &'static str, measure: &'static str) {
    request_animation_frame(move || {
        perf::mark(end);
        perf::measure(measure, start, end);
    });
}

/// Where a bar's duration goes: after the bar, or before it when the bar reaches the right-hand
/// side, or inside it when there is no room on either side. Answers the class and the left edge.
pub fn label_place(bar: vitals_trace::Bar) -> (&'static str, f64) {
    let end = bar.left + bar.width;
    if end <= 0.75 {
        ("span-duration", end)
    } else if bar.left >= 0.25 {
        ("span-duration before", bar.left)
    } else {
        ("span-duration inside", bar.left)
    }
}

/// What opening a trace found: the trace whole, or a huge one's overview.
#[derive(Debug, Clone)]
enum Opened {
    Whole(Trace),
    Huge(Box<TraceOverview>),
}

#[component]
pub fn TraceViewPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    Effect::new(move |_| crate::pages::set_page_title(&format!("Trace {}", id.get())));
    let opened = LocalResource::new(move || {
        let id = id.get();
        async move {
            perf::mark(TRACE_REQUESTED_MARK);
            match api::trace(&id).await {
                Ok(trace) => Ok(Opened::Whole(trace)),
                Err(error) if api::is_too_large(&error) => api::trace_overview(&id)
                    .await
                    .map(|overview| Opened::Huge(Box::new(overview))),
                Err(error) => Err(error),
            }
        }
    });
    let retry = Callback::new(move |()| opened.refetch());
    view! {
        <section class="area trace-view" aria-labelledby="trace-heading">
            <p class="breadcrumb">
                <A href="/engineering/traces">"Traces"</A>
                " / "
                <span class="trace-id">{move || id.get()}</span>
            </p>
            <Loaded lines=10 on_retry=retry>
                {move || {
                    opened
                        .get()
                        .map(|opened| {
                            opened
                                .map(|opened| match opened {
                                    Opened::Whole(trace) if trace.spans.is_empty() => view! {
                                        <h1 id="trace-heading">"An empty trace"</h1>
                                        <p class="empty-state">"The trace has no spans yet; its services may still be sending them. Try again in a minute."</p>
                                    }
                                    .into_any(),
                                    Opened::Whole(trace) => view! { <WholeTrace trace /> }.into_any(),
                                    Opened::Huge(overview) => view! { <HugeTrace overview=*overview /> }.into_any(),
                                })
                        })
                }}
            </Loaded>
        </section>
    }
}

/// A trace sent whole, as a waterfall.
#[component]
fn WholeTrace(trace: Trace) -> impl IntoView {
    let trace_id = trace.trace_id.clone();
    let waterfall = Waterfall::new(SpanTable::from_spans(&trace.trace_id, &trace.spans));
    // The table keeps the spans' order, so a span's index finds its reveal reference here.
    let spans = StoredValue::new(trace.spans);
    let (start, end) = waterfall.span_of_time();
    let origins = waterfall.failure_origins();
    let root = waterfall.rows()[0];
    let failed = (0..waterfall.table().len() as u32)
        .filter(|span| waterfall.table().status(*span) != SpanStatus::Ok)
        .count();
    let services = {
        let mut services: Vec<&str> = (0..waterfall.table().len() as u32)
            .map(|span| waterfall.table().service(span))
            .collect();
        services.sort_unstable();
        services.dedup();
        services.len()
    };
    let deepest = (0..waterfall.table().len() as u32)
        .map(|span| waterfall.tree().depth(span))
        .max()
        .unwrap_or(0);
    let minimap = minimap_of(&waterfall, start, end);
    let heading = format!(
        "{} {}",
        waterfall.table().service(root),
        waterfall.table().name(root)
    );
    let facts = format!(
        "{} · {} · {} · {}",
        span_duration(end - start),
        counted(waterfall.table().len() as u64, "span", "spans"),
        counted(services as u64, "service", "services"),
        match failed {
            0 => "no span failed".to_owned(),
            n => format!("{} failed", counted(n as u64, "span", "spans")),
        }
    );
    // Where it failed, each distinct failure once with how often it happened.
    let mut origin_words: Vec<(u32, String, usize)> = Vec::new();
    for (span, words) in origins.iter().map(|span| {
        let table = waterfall.table();
        let attributes = table.attributes(*span);
        let why = attributes
            .get("exception.message")
            .or_else(|| attributes.get("error"))
            .map(|why| format!(": {why}"))
            .unwrap_or_default();
        (
            *span,
            format!(
                "{} {} — {}{why}",
                table.service(*span),
                table.name(*span),
                status_words(table.status(*span)).0
            ),
        )
    }) {
        match origin_words.iter().position(|(_, seen, _)| *seen == words) {
            Some(at) => origin_words[at].2 += 1,
            None if origin_words.len() < 3 => origin_words.push((span, words, 1)),
            None => {}
        }
    }

    let waterfall = StoredValue::new(waterfall);
    let version = RwSignal::new(0_u32);
    let count = Signal::derive(move || {
        version.track();
        waterfall.with_value(|waterfall| waterfall.rows().len())
    });
    let shown = RwSignal::new((start, end));
    let selected = RwSignal::new(origins.first().copied());
    let scroll_to = RwSignal::new(None::<usize>);
    let select = Callback::new(move |span: u32| {
        let row = waterfall
            .try_update_value(|waterfall| waterfall.show(span))
            .unwrap_or(0);
        version.update(|version| *version += 1);
        selected.set(Some(span));
        scroll_to.set(Some(row));
    });
    let toggle = Callback::new(move |span: u32| {
        perf::mark(TOGGLE_START_MARK);
        waterfall.update_value(|waterfall| waterfall.toggle(span));
        version.update(|version| *version += 1);
        measure_at_next_frame(TOGGLE_START_MARK, TOGGLE_END_MARK, TOGGLE_MEASURE);
    });
    // The first failure is chosen on opening, and the waterfall drawn: the bench's first paint.
    Effect::new(move |_| {
        if let Some(span) = selected.get_untracked() {
            select.run(span);
        }
        measure_at_next_frame(
            TRACE_REQUESTED_MARK,
            WATERFALL_DRAWN_MARK,
            WATERFALL_PAINT_MEASURE,
        );
    });

    let search = RwSignal::new(String::new());
    let matches = Memo::new(move |_| waterfall.with_value(|waterfall| waterfall.search(&search.get())));
    let next_match = move || {
        let found = matches.get_untracked();
        if found.is_empty() {
            return;
        }
        let current = selected.get_untracked();
        let next = current
            .and_then(|span| found.iter().position(|found| *found == span))
            .map_or(0, |at| (at + 1) % found.len());
        select.run(found[next]);
    };
    let next_error = move |_| {
        let next = waterfall.with_value(|waterfall| waterfall.next_failed(selected.get_untracked()));
        if let Some(span) = next {
            select.run(span);
        }
    };
    let levels = move |event: leptos::ev::Event| {
        let value = event_target_value(&event);
        perf::mark(TOGGLE_START_MARK);
        waterfall.update_value(|waterfall| match value.parse::<u32>() {
            Ok(depth) => waterfall.collapse_below(depth),
            Err(_) => waterfall.expand_all(),
        });
        version.update(|version| *version += 1);
        measure_at_next_frame(TOGGLE_START_MARK, TOGGLE_END_MARK, TOGGLE_MEASURE);
    };
    let keys = move |event: leptos::ev::KeyboardEvent| {
        let Some(span) = selected.get_untracked() else {
            if matches!(event.key().as_str(), "ArrowDown" | "ArrowUp") {
                event.prevent_default();
                select.run(root);
            }
            return;
        };
        let step = waterfall.with_value(|waterfall| {
            let rows = waterfall.rows();
            let row = waterfall.row_of(span)?;
            match event.key().as_str() {
                "ArrowDown" => rows.get(row + 1).copied().map(Step::Select),
                "ArrowUp" => row.checked_sub(1).map(|row| Step::Select(rows[row])),
                "ArrowRight" if waterfall.is_collapsed(span) => Some(Step::Toggle(span)),
                "ArrowLeft" if waterfall.has_children(span) && !waterfall.is_collapsed(span) => {
                    Some(Step::Toggle(span))
                }
                "ArrowLeft" => waterfall
                    .tree()
                    .ancestors(waterfall.table(), span)
                    .next()
                    .map(Step::Select),
                _ => None,
            }
        });
        if let Some(step) = step {
            event.prevent_default();
            match step {
                Step::Select(span) => select.run(span),
                Step::Toggle(span) => toggle.run(span),
            }
        }
    };

    let row = Callback::new(move |index: usize| {
        version.track();
        let (from, to) = shown.get();
        waterfall.with_value(|waterfall| {
            let Some(&span) = waterfall.rows().get(index) else {
                return ().into_any();
            };
            let table = waterfall.table();
            let status = table.status(span);
            let (words, mark, class) = status_words(status);
            let depth = waterfall.tree().depth(span);
            let folded = waterfall.is_collapsed(span);
            let fold = waterfall.has_children(span).then(|| {
                let hidden = waterfall.tree().descendants(span);
                let label = if folded {
                    format!("Show the {hidden} spans below")
                } else {
                    format!("Hide the {hidden} spans below")
                };
                view! {
                    <button
                        type="button"
                        class="fold"
                        aria-expanded=(!folded).to_string()
                        aria-label=label
                        on:click=move |_| toggle.run(span)
                    >
                        {if folded { "▸" } else { "▾" }}
                    </button>
                }
            });
            let bar = bar_within(table.start(span), table.end(span), from, to);
            let critical = waterfall.critical().contains(span);
            let duration = span_duration(table.end(span) - table.start(span));
            let label = if status == SpanStatus::Ok { duration } else { format!("{duration} · {words}") };
            let is_selected = move || selected.get() == Some(span);
            view! {
                <div
                    class=format!("span-row {class}")
                    class:selected=is_selected
                    class:critical=critical
                    class:match=move || matches.with(|found| found.contains(&span))
                    data-testid="span-row"
                    data-status=words
                >
                    <div class="span-name" style:padding-left=format!("{}px", depth.min(MAX_INDENT_LEVELS) * INDENT)>
                        {fold}
                        <button
                            type="button"
                            class="span-label"
                            aria-pressed=move || is_selected().to_string()
                            on:click=move |_| select.run(span)
                        >
                            {(status != SpanStatus::Ok).then(|| view! { <span class="status-mark" aria-hidden="true">{mark}</span> })}
                            {critical.then(|| view! { <span class="critical-mark" title="on the critical path">"◆"</span> })}
                            <span class="span-service">{table.service(span).to_owned()}</span>
                            " "
                            <span class="span-op">{table.name(span).to_owned()}</span>
                        </button>
                    </div>
                    <div class="span-timeline" on:click=move |_| select.run(span)>
                        {bar.map(|bar| {
                            view! {
                                <span
                                    class="span-bar"
                                    style:left=format!("{:.3}%", bar.left * 100.0)
                                    style:width=format!("{:.3}%", bar.width * 100.0)
                                ></span>
                                <span class=label_place(bar).0 style:left=format!("{:.3}%", label_place(bar).1 * 100.0)>
                                    {label.clone()}
                                </span>
                            }
                        })}
                    </div>
                </div>
            }
            .into_any()
        })
    });

    let details = move || {
        selected.get().map(|span| {
            let critical = waterfall.with_value(|waterfall| waterfall.critical().contains(span));
            let mut whole = waterfall.with_value(|waterfall| waterfall.table().span(span));
            whole.reveal_ref =
                spans.with_value(|spans| spans.get(span as usize).and_then(|span| span.reveal_ref.clone()));
            let (from, to) = (whole.start, whole.start + whole.duration.max(1));
            let zoom = Callback::new(move |()| shown.set((from, to)));
            view! { <SpanDetails span=whole critical trace_start=start on_zoom=zoom /> }
        })
    };
    let zoomed = move || shown.get() != (start, end);

    view! {
        <header class="trace-head">
            <h1 id="trace-heading">{heading}</h1>
            <p class="trace-facts" data-testid="trace-facts">{facts}</p>
            {(!origin_words.is_empty()).then(|| view! {
                <div class="where-failed" role="note" data-testid="where-failed">
                    <span class="status-mark" aria-hidden="true">"✖"</span>
                    " Where it failed: "
                    {origin_words
                        .into_iter()
                        .map(|(span, words, times)| {
                            let words = if times > 1 { format!("{words} ({times} times; this is the first)") } else { words };
                            view! {
                                <button type="button" class="link-button" on:click=move |_| select.run(span)>{words}</button>
                            }
                        })
                        .collect_view()}
                </div>
            })}
            <p class="trace-links">
                <A href=logs_for_trace(&trace_id, start, end) attr:data-testid="logs-for-trace">"Logs for this trace"</A>
            </p>
        </header>
        <div class="waterfall-tools" role="toolbar" aria-label="Waterfall">
            <button type="button" class="button-quiet" on:click=next_error disabled=failed == 0 data-testid="next-error">
                "Next error"
            </button>
            <label>
                "Show "
                <select on:change=levels data-testid="trace-levels">
                    <option value="all">"every level"</option>
                    {(0..deepest.min(8))
                        .map(|depth| view! { <option value=depth.to_string()>{format!("levels 0 to {depth}")}</option> })
                        .collect_view()}
                </select>
            </label>
            <form class="trace-find" on:submit=move |event| { event.prevent_default(); next_match(); }>
                <label for="trace-find">"Find in trace"</label>
                <input id="trace-find" type="search" placeholder="GetItem, users, 404" bind:value=search data-testid="trace-find" />
                <span class="field-help" aria-live="polite">
                    {move || {
                        let found = matches.with(Vec::len);
                        match (search.with(|text| text.trim().is_empty()), found) {
                            (true, _) => String::new(),
                            (false, 0) => "no span matches".to_owned(),
                            (false, 1) => "1 span; Enter goes to it".to_owned(),
                            (false, n) => format!("{n} spans; Enter goes to the next"),
                        }
                    }}
                </span>
            </form>
            {move || zoomed().then(|| view! {
                <button type="button" class="button-quiet" on:click=move |_| shown.set((start, end))>"Show the whole trace"</button>
            })}
        </div>
        <div class="waterfall-layout">
            <div class="waterfall" on:keydown=keys>
                <Minimap buckets=minimap start end shown on_select=Callback::new(move |range| shown.set(range)) />
                <Ruler trace_start=start shown />
                <VirtualList count row_height=Signal::derive(|| ROW_HEIGHT) row label="Spans of the trace" test_id="waterfall" scroll_to=Signal::derive(move || scroll_to.get()) />
                <p class="field-help">"↑ ↓ move between spans, ← → fold and unfold. ◆ marks the critical path: the work the trace's duration waited on."</p>
            </div>
            {details}
        </div>
    }
}

/// What a key does in the waterfall.
enum Step {
    Select(u32),
    Toggle(u32),
}

/// How many spans start in each slice of the trace, and whether any of them failed.
fn minimap_of(waterfall: &Waterfall, start: i64, end: i64) -> Vec<(u64, bool)> {
    let mut buckets = vec![(0_u64, false); MINIMAP_BUCKETS];
    let length = (end - start).max(1) as f64;
    let table = waterfall.table();
    for span in 0..table.len() as u32 {
        let at = (((table.start(span) - start) as f64 / length) * MINIMAP_BUCKETS as f64) as usize;
        let bucket = &mut buckets[at.min(MINIMAP_BUCKETS - 1)];
        bucket.0 += 1;
        bucket.1 |= table.status(span) != SpanStatus::Ok;
    }
    buckets
}

/// The whole trace in small: spans starting over time, failures marked, and the stretch shown
/// in the waterfall; dragging across it shows that stretch.
#[component]
fn Minimap(
    buckets: Vec<(u64, bool)>,
    start: i64,
    end: i64,
    #[prop(into)] shown: Signal<(i64, i64)>,
    on_select: Callback<(i64, i64)>,
) -> impl IntoView {
    let most = buckets.iter().map(|bucket| bucket.0).max().unwrap_or(1).max(1);
    let bars = buckets
        .iter()
        .map(|(count, failed)| {
            let height = format!(
                "{:.0}%",
                (*count as f64 / most as f64 * 100.0).max(if *count > 0 { 8.0 } else { 0.0 })
            );
            view! { <span class="minimap-bar" class:failed=*failed style:height=height></span> }
        })
        .collect_view();
    let length = (end - start).max(1) as f64;
    let window = move || {
        let (from, to) = shown.get();
        (
            format!("{:.2}%", (from - start) as f64 / length * 100.0),
            format!("{:.2}%", ((to - from) as f64 / length * 100.0).max(0.5)),
        )
    };
    let select = Callback::new(move |(a, b): (f64, f64)| {
        on_select.run((start + (a * length) as i64, start + (b * length) as i64));
    });
    view! {
        <div class="minimap" aria-label="The whole trace: drag across it to show a stretch" data-testid="minimap">
            <div class="minimap-bars" aria-hidden="true">{bars}</div>
            <span class="minimap-window" aria-hidden="true" style:left=move || window().0 style:width=move || window().1></span>
            <DragSelect on_select=select />
        </div>
    }
}

/// Time from the trace's start at even steps across the stretch shown; dragging across it
/// zooms in on the stretch dragged over.
#[component]
fn Ruler(trace_start: i64, shown: RwSignal<(i64, i64)>) -> impl IntoView {
    let ticks = move || {
        let (from, to) = shown.get();
        (0..RULER_TICKS)
            .map(|tick| {
                let fraction = tick as f64 / (RULER_TICKS - 1) as f64;
                let at = from + ((to - from) as f64 * fraction) as i64;
                let class = match tick {
                    0 => "tick first",
                    t if t == RULER_TICKS - 1 => "tick last",
                    _ => "tick",
                };
                view! { <span class=class style:left=format!("{:.1}%", fraction * 100.0)>{span_duration(at - trace_start)}</span> }
            })
            .collect_view()
    };
    let select = Callback::new(move |(a, b): (f64, f64)| {
        let (from, to) = shown.get_untracked();
        let length = (to - from) as f64;
        shown.set((from + (a * length) as i64, from + (b * length) as i64));
    });
    view! {
        <div class="ruler" aria-label="Time from the trace's start: drag across it to zoom in">
            <div class="ruler-ticks" aria-hidden="true">{ticks}</div>
            <DragSelect on_select=select />
        </div>
    }
}

/// Of some failed spans, those whose failure none of the others below them explains: a batch
/// that failed because one of its writes did is left out for the write.
pub fn failed_at_the_origin(failed: &[Span]) -> Vec<Span> {
    let parents: std::collections::HashSet<&str> = failed
        .iter()
        .filter_map(|span| span.parent_id.as_deref())
        .collect();
    failed
        .iter()
        .filter(|span| !parents.contains(span.span_id.as_str()))
        .cloned()
        .collect()
}

/// A span's attributes grouped as engineers look for them: why it failed, AWS, HTTP,
/// annotations, metadata, and the rest.
pub fn attribute_groups(span: &Span) -> Vec<(&'static str, Vec<(String, String)>)> {
    let groups = [
        "Why it failed",
        "AWS",
        "HTTP",
        "Annotations",
        "Metadata",
        "Other attributes",
    ];
    let mut sorted: Vec<Vec<(String, String)>> = vec![Vec::new(); groups.len()];
    for (name, value) in &span.attributes {
        let group = if name == "error" || name.starts_with("exception.") || name.starts_with("cause.") {
            0
        } else if name.starts_with("aws.") || name == "peer.service" {
            1
        } else if name.starts_with("http.") {
            2
        } else if name.starts_with("annotation.") || name.starts_with("annotations.") {
            3
        } else if name.starts_with("metadata.") {
            4
        } else {
            5
        };
        sorted[group].push((name.clone(), value.clone()));
    }
    groups
        .into_iter()
        .zip(sorted)
        .filter(|(_, pairs)| !pairs.is_empty())
        .collect()
}

/// One span in full, beside the waterfall.
#[component]
fn SpanDetails(span: Span, critical: bool, trace_start: i64, on_zoom: Callback<()>) -> impl IntoView {
    let (words, mark, class) = status_words(span.status);
    let kind = match span.kind {
        SpanKind::Server => "a service answering a request",
        SpanKind::Client => "a call out of the service",
        SpanKind::Internal => "work inside the service",
    };
    let groups = attribute_groups(&span)
        .into_iter()
        .map(|(title, pairs)| {
            let failed = title == "Why it failed";
            view! {
                <h3>{title}</h3>
                <table class="pairs" class:failure=failed data-testid=if failed { "span-failure" } else { "" }>
                    <tbody>
                        {pairs
                            .into_iter()
                            .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td>{marked(&value)}</td></tr> })
                            .collect_view()}
                    </tbody>
                </table>
            }
        })
        .collect_view();
    let reveal = span
        .reveal_ref
        .clone()
        .map(|reveal_ref| view! { <RevealForm reveal_ref what="span" /> });
    view! {
        <aside class="details" aria-labelledby="span-heading" data-testid="span-details">
            <h2 id="span-heading">{format!("{} {}", span.service, span.name)}</h2>
            <dl class="span-facts">
                <dt>"Outcome"</dt>
                <dd class=class data-testid="span-outcome"><span aria-hidden="true">{mark}</span>" "{words}</dd>
                <dt>"Kind"</dt>
                <dd>{kind}</dd>
                <dt>"Started"</dt>
                <dd>{format!("{} into the trace, at {}", span_duration(span.start - trace_start), local_time_precise(span.start.div_euclid(1_000_000)))}</dd>
                <dt>"Took"</dt>
                <dd>{span_duration(span.duration)}{critical.then_some(", on the critical path")}</dd>
                <dt>"Span id"</dt>
                <dd class="trace-id">{span.span_id.clone()}</dd>
            </dl>
            <button type="button" class="button-quiet" on:click=move |_| on_zoom.run(())>"Zoom to this span"</button>
            {groups}
            {reveal}
        </aside>
    }
}

/// A trace too large to send whole: its overview, and its spans a window at a time.
#[component]
fn HugeTrace(overview: TraceOverview) -> impl IntoView {
    let trace_id = overview.trace_id.clone();
    let start = overview.start;
    let end = overview.start + overview.duration.max(1);
    let origins = failed_at_the_origin(&overview.errors);
    let most_failed = origins.first().cloned();
    let window = RwSignal::new((start, end, None::<String>));
    let answer = LocalResource::new({
        let trace_id = trace_id.clone();
        move || {
            let (from, to, root) = window.get();
            let trace_id = trace_id.clone();
            async move {
                perf::mark(WINDOW_REQUESTED_MARK);
                api::trace_window(&trace_id, from, to, root.as_deref()).await
            }
        }
    });
    let retry = Callback::new(move |()| answer.refetch());
    let buckets: Vec<(u64, bool)> = overview
        .spans_per_bucket
        .iter()
        .map(|count| (*count, false))
        .collect();
    let buckets = StoredValue::new(buckets);
    let on_range = Callback::new(move |(from, to): (i64, i64)| {
        window.update(|window| {
            window.0 = from;
            window.1 = to;
        });
    });
    let open_at = Callback::new(move |span: Span| {
        let root = span.parent_id.clone().unwrap_or(span.span_id.clone());
        window.set((start, end, Some(root)));
    });
    let services = overview
        .services
        .iter()
        .take(8)
        .map(|service| {
            let failed = (service.failed > 0).then(|| format!(", {} failed", service.failed));
            view! { <li>{format!("{}: {}", service.service, counted(service.spans, "span", "spans"))}{failed}</li> }
        })
        .collect_view();
    let no_errors = origins.is_empty();
    let errors = origins
        .iter()
        .take(10)
        .map(|span| {
            let (words, mark, _) = status_words(span.status);
            let label = format!("{} {} — {words}", span.service, span.name);
            let span = span.clone();
            view! {
                <li>
                    <span aria-hidden="true">{mark}</span>" "
                    <button type="button" class="link-button" on:click=move |_| open_at.run(span.clone())>{label}</button>
                </li>
            }
        })
        .collect_view();
    let facts = format!(
        "{} · {} · {} failed · {} on the critical path",
        span_duration(overview.duration),
        counted(overview.span_count, "span", "spans"),
        counted(overview.error_count, "span", "spans"),
        counted(overview.critical_path_steps, "step", "steps")
    );
    view! {
        <header class="trace-head">
            <h1 id="trace-heading">{format!("{} {}", overview.root.service, overview.root.name)}</h1>
            <p class="trace-facts" data-testid="trace-facts">{facts}</p>
            <p class="notice-text">
                {format!(
                    "A large trace: it is shown a window at a time, up to {} each. Drag across the overview to choose a stretch, or open the spans below any row.",
                    counted(u64::from(overview.window_limit), "span", "spans")
                )}
            </p>
            {most_failed.map(|span| view! {
                <p class="where-failed" data-testid="where-failed">
                    <span class="status-mark" aria-hidden="true">"✖"</span>
                    {format!(" First failure: {} {} — {}", span.service, span.name, status_words(span.status).0)}
                </p>
            })}
            <p class="trace-links">
                <A href=logs_for_trace(&trace_id, start, end) attr:data-testid="logs-for-trace">"Logs for this trace"</A>
            </p>
        </header>
        <div class="huge-overview">
            <div>
                <h2>"Services"</h2>
                <ul class="plain-list">{services}</ul>
            </div>
            <div>
                <h2>"Where it failed"</h2>
                {if no_errors {
                    view! { <p>"None."</p> }.into_any()
                } else {
                    view! { <ul class="plain-list" data-testid="huge-failed">{errors}</ul> }.into_any()
                }}
            </div>
        </div>
        <div class="waterfall-tools" role="toolbar" aria-label="Window">
            {move || {
                let (from, to, root) = window.get();
                let whole = from == start && to == end && root.is_none();
                (!whole).then(|| view! {
                    <button type="button" class="button-quiet" on:click=move |_| window.set((start, end, None))>"Back to the whole trace"</button>
                })
            }}
        </div>
        <Loaded lines=8 on_retry=retry>
            {move || answer.get().map(|answer| answer.map(|window_spans| view! {
                <WindowRows
                    window=window_spans
                    trace=(start, end)
                    buckets=buckets.get_value()
                    on_range
                    on_open=Callback::new(move |span_id: String| window.update(|window| window.2 = Some(span_id)))
                />
            }))}
        </Loaded>
    }
}

/// One window of a huge trace, as waterfall rows.
#[component]
fn WindowRows(
    window: TraceWindow,
    /// The whole trace's start and end, in nanoseconds.
    trace: (i64, i64),
    /// The overview's spans per slice of the trace, for the minimap.
    buckets: Vec<(u64, bool)>,
    /// Asks for a window of another stretch.
    on_range: Callback<(i64, i64)>,
    /// Asks for a window rooted at a span.
    on_open: Callback<String>,
) -> impl IntoView {
    let (trace_start, trace_end) = trace;
    request_animation_frame(|| {
        perf::mark(WINDOW_DRAWN_MARK);
        perf::measure(WINDOW_MEASURE, WINDOW_REQUESTED_MARK, WINDOW_DRAWN_MARK);
        perf::measure(HUGE_OPEN_MEASURE, TRACE_REQUESTED_MARK, WINDOW_DRAWN_MARK);
    });
    let summary = format!(
        "{} of the {} in this window, {} deep{}",
        crate::format::group_thousands(window.spans.len() as i64),
        counted(window.matching, "span", "spans"),
        counted(u64::from(window.depth), "level", "levels"),
        if window.cut {
            "; too many side by side: narrow the window to see the rest"
        } else {
            ""
        }
    );
    let (from, to) = (window.from, window.to.max(window.from + 1));
    let base = window.spans.first().map_or(0, |row| row.depth);
    let rows: StoredValue<Vec<WindowSpan>> = StoredValue::new(window.spans);
    let count = rows.with_value(Vec::len);
    let selected = RwSignal::new(None::<usize>);
    let row = Callback::new(move |index: usize| {
        rows.with_value(|rows| {
            let Some(row) = rows.get(index) else {
                return ().into_any();
            };
            let span = &row.span;
            let (words, mark, class) = status_words(span.status);
            let bar = bar_within(span.start, span.start + span.duration.max(0), from, to);
            let open = (row.hidden > 0).then(|| {
                let span_id = span.span_id.clone();
                view! {
                    <button type="button" class="fold" aria-label=format!("Open the {} spans below", row.hidden) on:click=move |_| on_open.run(span_id.clone())>
                        {format!("+{}", row.hidden)}
                    </button>
                }
            });
            let is_selected = move || selected.get() == Some(index);
            let label = if span.status == SpanStatus::Ok { span_duration(span.duration) } else { format!("{} · {words}", span_duration(span.duration)) };
            view! {
                <div class=format!("span-row {class}") class:selected=is_selected class:critical=row.critical data-testid="span-row">
                    <div class="span-name" style:padding-left=format!("{}px", (row.depth - base).min(MAX_INDENT_LEVELS) * INDENT)>
                        {open}
                        <button type="button" class="span-label" aria-pressed=move || is_selected().to_string() on:click=move |_| selected.set(Some(index))>
                            {(span.status != SpanStatus::Ok).then(|| view! { <span class="status-mark" aria-hidden="true">{mark}</span> })}
                            {row.critical.then(|| view! { <span class="critical-mark" title="on the critical path">"◆"</span> })}
                            <span class="span-service">{span.service.clone()}</span>
                            " "
                            <span class="span-op">{span.name.clone()}</span>
                        </button>
                    </div>
                    <div class="span-timeline" on:click=move |_| selected.set(Some(index))>
                        {bar.map(|bar| view! {
                            <span class="span-bar" style:left=format!("{:.3}%", bar.left * 100.0) style:width=format!("{:.3}%", bar.width * 100.0)></span>
                            <span class=label_place(bar).0 style:left=format!("{:.3}%", label_place(bar).1 * 100.0)>{label.clone()}</span>
                        })}
                    </div>
                </div>
            }
            .into_any()
        })
    });
    let details = move || {
        selected.get().and_then(|index| {
            rows.with_value(|rows| rows.get(index).cloned()).map(|row| {
                let span_id = row.span.span_id.clone();
                view! { <SpanDetails span=row.span critical=row.critical trace_start on_zoom=Callback::new(move |()| on_open.run(span_id.clone())) /> }
            })
        })
    };
    view! {
        <p class="list-summary" data-testid="window-summary">{summary}</p>
        <div class="waterfall-layout">
            <div class="waterfall">
                <Minimap buckets start=trace_start end=trace_end shown=Signal::derive(move || (from, to)) on_select=on_range />
                <Ruler trace_start shown=RwSignal::new((from, to)) />
                <VirtualList count=Signal::derive(move || count) row_height=Signal::derive(|| ROW_HEIGHT) row label="Spans of this window" test_id="waterfall" />
            </div>
            {details}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_sits_where_there_is_room_for_it() {
        let place = |left: f64, width: f64| label_place(vitals_trace::Bar { left, width });
        assert_eq!(place(0.1, 0.2), ("span-duration", 0.30000000000000004));
        assert_eq!(place(0.5, 0.4), ("span-duration before", 0.5));
        assert_eq!(place(0.0, 1.0), ("span-duration inside", 0.0));
    }

    #[test]
    fn a_failure_explained_by_one_below_it_is_left_for_that_one() {
        let span = |id: &str, parent: Option<&str>| Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_owned),
            service: "records-import".into(),
            name: id.into(),
            start: 0,
            duration: 1,
            status: SpanStatus::Error,
            kind: SpanKind::Internal,
            attributes: Default::default(),
            reveal_ref: None,
        };
        let failed = [
            span("batch", Some("root")),
            span("write", Some("batch")),
            span("other", Some("root")),
        ];
        let names: Vec<String> = failed_at_the_origin(&failed)
            .into_iter()
            .map(|span| span.name)
            .collect();
        assert_eq!(names, ["write", "other"]);
    }

    #[test]
    fn attributes_are_grouped_as_engineers_look_for_them() {
        let span = Span {
            trace_id: "t".into(),
            span_id: "s".into(),
            parent_id: None,
            service: "login-api".into(),
            name: "DynamoDB.GetItem".into(),
            start: 0,
            duration: 1,
            status: SpanStatus::Error,
            kind: SpanKind::Client,
            attributes: [
                ("error", "ResourceNotFoundException"),
                ("exception.message", "Requested resource not found"),
                ("aws.table_name", "users"),
                ("aws.dynamodb.key", "timestamp = \"latest\""),
                ("http.status_code", "400"),
                ("annotation.clinic", "north"),
                ("region", "eu-west-1"),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
            reveal_ref: None,
        };
        let groups = attribute_groups(&span);
        let titles: Vec<&str> = groups.iter().map(|(title, _)| *title).collect();
        assert_eq!(
            titles,
            ["Why it failed", "AWS", "HTTP", "Annotations", "Other attributes"]
        );
        assert_eq!(groups[0].1.len(), 2);
        assert!(
            groups[1]
                .1
                .iter()
                .any(|(name, value)| name == "aws.table_name" && value == "users")
        );
    }
}
