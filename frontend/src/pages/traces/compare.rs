//! Two traces side by side: where the second spent more or less time than the first, by
//! service and span by span, so "why is this one slow" has an answer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use vitals_api::traces::{TraceComparison, UnmatchedSpan};

use crate::api;
use crate::components::loaded::Loaded;
use crate::pages::traces::{span_duration, trace_url};

/// A difference in nanoseconds with its sign in words: `+12.0 ms slower`, `3.1 ms quicker`.
pub fn difference_words(ns: i64) -> String {
    match ns {
        0 => "the same".to_owned(),
        ns if ns > 0 => format!("+{} slower", span_duration(ns)),
        ns => format!("{} quicker", span_duration(-ns)),
    }
}

#[component]
pub fn TraceComparePage() -> impl IntoView {
    crate::pages::set_page_title("Compare traces");
    let params = use_params_map();
    let ids = Memo::new(move |_| {
        let params = params.read();
        (
            params.get("id").unwrap_or_default(),
            params.get("other").unwrap_or_default(),
        )
    });
    let answer = LocalResource::new(move || {
        let (a, b) = ids.get();
        async move { api::compare_traces(&a, &b).await }
    });
    let retry = Callback::new(move |()| answer.refetch());
    view! {
        <section class="area trace-compare" aria-labelledby="compare-heading">
            <p class="breadcrumb">
                <A href="/engineering/traces">"Traces"</A>
                " / compare"
            </p>
            <h1 id="compare-heading">"Two traces compared"</h1>
            <Loaded lines=8 on_retry=retry>
                {move || answer.get().map(|answer| answer.map(|comparison| view! { <Comparison comparison /> }))}
            </Loaded>
        </section>
    }
}

#[component]
fn Comparison(comparison: TraceComparison) -> impl IntoView {
    let side = |label: &'static str, trace: &vitals_api::traces::ComparedTrace| {
        view! {
            <div class="compared">
                <h2>{label}</h2>
                <p>
                    <A href=trace_url(&trace.trace_id)>{format!("{} {}", trace.service, trace.operation)}</A>
                </p>
                <p>{format!("{} · {} spans", span_duration(trace.duration), trace.span_count)}</p>
            </div>
        }
    };
    let services = comparison
        .by_service
        .iter()
        .map(|service| {
            view! {
                <tr>
                    <th scope="row">{service.service.clone()}</th>
                    <td class="numeric">{span_duration(service.self_time_a)}</td>
                    <td class="numeric">{span_duration(service.self_time_b)}</td>
                    <td class="numeric">{difference_words(service.difference)}</td>
                    <td class="numeric">{format!("{} / {}", service.spans_a, service.spans_b)}</td>
                </tr>
            }
        })
        .collect_view();
    let spans = comparison
        .spans
        .iter()
        .map(|span| {
            view! {
                <tr>
                    <th scope="row" style:padding-left=format!("{}px", 8 + span.depth.min(12) * 12)>
                        {format!("{} {}", span.service, span.name)}
                    </th>
                    <td class="numeric">{span_duration(span.self_time_a)}</td>
                    <td class="numeric">{span_duration(span.self_time_b)}</td>
                    <td class="numeric">{difference_words(span.difference)}</td>
                </tr>
            }
        })
        .collect_view();
    let unmatched = |title: String, spans: &[UnmatchedSpan]| {
        (!spans.is_empty()).then(|| {
            let items = spans
                .iter()
                .map(|span| view! { <li>{format!("{} {} · {}", span.service, span.name, span_duration(span.duration))}</li> })
                .collect_view();
            view! {
                <h2>{title}</h2>
                <ul class="plain-list">{items}</ul>
            }
        })
    };
    view! {
        <p class="compare-sentence" data-testid="compare-sentence">{comparison.sentence.clone()}</p>
        <div class="compared-pair">
            {side("First (compared against)", &comparison.a)}
            {side("Second", &comparison.b)}
        </div>
        <h2>"By service: time spent in each service's own work"</h2>
        <div class="table-scroll">
            <table class="sources">
                <thead>
                    <tr>
                        <th scope="col">"Service"</th>
                        <th scope="col">"First"</th>
                        <th scope="col">"Second"</th>
                        <th scope="col">"Difference"</th>
                        <th scope="col">"Spans"</th>
                    </tr>
                </thead>
                <tbody>{services}</tbody>
            </table>
        </div>
        <h2>"Span by span, the largest difference first"</h2>
        {if comparison.spans.is_empty() {
            view! { <p class="empty-state">"No span found in both traces took a different time."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                    <table class="sources">
                        <thead>
                            <tr>
                                <th scope="col">"Span"</th>
                                <th scope="col">"First"</th>
                                <th scope="col">"Second"</th>
                                <th scope="col">"Difference"</th>
                            </tr>
                        </thead>
                        <tbody>{spans}</tbody>
                    </table>
                </div>
            }
            .into_any()
        }}
        {unmatched(format!("Only in the first ({})", comparison.only_in_a), &comparison.only_in_a_first)}
        {unmatched(format!("Only in the second ({})", comparison.only_in_b), &comparison.only_in_b_first)}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_says_which_way_it_goes() {
        assert_eq!(difference_words(0), "the same");
        assert_eq!(difference_words(12_000_000), "+12.0 ms slower");
        assert_eq!(difference_words(-3_100_000), "3.1 ms quicker");
    }
}
