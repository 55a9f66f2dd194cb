//! What went wrong in the last day: each stretch a goal failed fast, in the one sentence the
//! server tells, and for engineers the evidence behind it as links into their tools.

use leptos::prelude::*;
use vitals_api::{Evidence, Explanation, ExplanationList};

use crate::api::{self, percent_encode};
use crate::components::loaded::Loaded;
use crate::format::iso_time;
use crate::refresh::{LIVE_REFRESH, refresh_every};

/// The last day's explanations, checked again every [`LIVE_REFRESH`].
#[component]
pub fn WhatWentWrong() -> impl IntoView {
    let list = LocalResource::new(|| api::explanations("now-24h"));
    refresh_every(list, LIVE_REFRESH);
    let retry = Callback::new(move |()| list.refetch());
    view! {
        <section class="explanations" aria-labelledby="wrong-heading" data-testid="explanations">
            <h2 id="wrong-heading">"What went wrong in the last 24 hours"</h2>
            <Loaded lines=2 on_retry=retry>
                {move || list.get().map(|answer| answer.map(|list| view! { <Explanations list /> }))}
            </Loaded>
        </section>
    }
}

#[component]
fn Explanations(list: ExplanationList) -> impl IntoView {
    let cannot_tell = (!list.cannot_tell.is_empty()).then(|| {
        view! {
            <p class="explanation-unknown" role="status" data-testid="explanations-cannot-tell">
                <span aria-hidden="true">"? "</span>
                {cannot_tell_words(&list.cannot_tell)}
            </p>
        }
    });
    if list.explanations.is_empty() {
        if cannot_tell.is_some() {
            return cannot_tell.into_any();
        }
        return view! {
            <p class="empty-state" role="status">
                "✓ No goal failed fast in the last 24 hours."
            </p>
        }
        .into_any();
    }
    let earlier = (list.not_explained > 0).then(|| {
        let stretches = if list.not_explained == 1 {
            "stretch"
        } else {
            "stretches"
        };
        format!(
            "{} earlier {stretches} of failures are not shown.",
            list.not_explained
        )
    });
    view! {
        {cannot_tell}
        <ul class="explanation-list">
            {list
                .explanations
                .into_iter()
                .map(|explanation| view! { <ExplanationItem explanation /> })
                .collect_view()}
        </ul>
        {earlier.map(|words| view! { <p class="status-description">{words}</p> })}
    }
    .into_any()
}

/// Which goals Vitals cannot judge, and what that means for the list beside it.
fn cannot_tell_words(names: &[String]) -> String {
    let (goals, them) = match names {
        [one] => (format!("“{one}”"), "its"),
        _ => (
            names
                .iter()
                .map(|name| format!("“{name}”"))
                .collect::<Vec<_>>()
                .join(", "),
            "their",
        ),
    };
    format!(
        "Vitals cannot tell whether {goals} failed: {them} numbers cannot be read right now. \
         The goals below say why."
    )
}

#[component]
fn ExplanationItem(explanation: Explanation) -> impl IntoView {
    let state = if explanation.until.is_none() {
        "Going on"
    } else {
        "Over"
    };
    let on_status_page = (!explanation.components.is_empty())
        .then(|| format!("On the status page: {}.", explanation.components.join(", ")));
    let evidence = explanation.evidence.clone().map(|evidence| {
        let to = explanation.until.unwrap_or(explanation.since + 3_600_000);
        view! { <EvidenceLinks evidence from=explanation.since to /> }
    });
    view! {
        <li class="explanation" data-testid="explanation">
            <p class="explanation-head">
                <span class="status-state">
                    <span aria-hidden="true">"⚠ "</span>
                    {format!("{state}: {}", explanation.slo_name)}
                </span>
            </p>
            <p class="explanation-sentence" data-testid="explanation-sentence">{explanation.sentence.clone()}</p>
            {on_status_page.map(|words| view! { <p class="status-description">{words}</p> })}
            {evidence}
        </li>
    }
}

/// The evidence as links into the engineering tools, over the stretch of the failures.
#[component]
fn EvidenceLinks(evidence: Evidence, from: i64, to: i64) -> impl IntoView {
    let (from, to) = (percent_encode(&iso_time(from)), percent_encode(&iso_time(to)));
    let dependency = evidence.dependency.map(|dependency| {
        let href = format!("/engineering/map?from={from}&to={to}");
        let words = format!(
            "{} → {}: {} of {} calls failed ({:.0}%, {:.0}% before)",
            dependency.source,
            dependency.target,
            dependency.failed,
            dependency.calls,
            dependency.failed_share * 100.0,
            dependency.failed_share_before * 100.0
        );
        view! { <li>"Dependency: " <a href=href>{words}</a></li> }
    });
    let span = evidence.span.map(|span| {
        let href = format!("/engineering/traces/{}", percent_encode(&span.trace_id));
        let failure = [span.error, span.message]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let words = format!("trace {} failed at {} ({failure})", span.trace_id, span.name);
        view! {
            <li>
                "Span: " <a href=href data-testid="explanation-trace">{words}</a>
                {format!(" · {} failing traces found", span.failing_traces)}
            </li>
        }
    });
    let pattern = evidence.pattern.map(|pattern| {
        let href = format!(
            "/engineering/logs?query={}&from={from}&to={to}",
            percent_encode(&pattern.query)
        );
        let new = if pattern.new { ", new" } else { "" };
        view! {
            <li>
                "Log pattern: " <a href=href data-testid="explanation-pattern">
                    <code>{pattern.template}</code>
                </a> {format!(" ({} lines{new})", pattern.count)}
            </li>
        }
    });
    let nothing = dependency.is_none() && span.is_none() && pattern.is_none();
    view! {
        <ul class="evidence" aria-label=format!("Evidence in {}", evidence.service)>
            {dependency}
            {span}
            {pattern}
            {nothing.then(|| view! { <li>{format!("Nothing found in {}'s traces or logs.", evidence.service)}</li> })}
        </ul>
    }
}
