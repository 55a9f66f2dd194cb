//! Insights, and the first of them, goals: whether each thing the clinic relies on met its goal this week, how much room for
//! failures is left this month, and whether it is being used up faster than usual; in
//! sentences for operations, with burn-rate charts and the queries for engineers.

use leptos::prelude::*;
use vitals_api::{BaselineVerdict, ChartSeries, Role, SloDetail, SloList, SloState, SloSummary, Unit};

use crate::api;
use crate::components::chart::Chart;
use crate::components::loaded::Loaded;
use crate::format::local_clock;
use crate::refresh::{LIVE_REFRESH, refresh_every};
use crate::session::{SessionState, use_session};

/// Every objective, checked again every [`LIVE_REFRESH`].
#[component]
pub fn GoalsPage() -> impl IntoView {
    crate::pages::set_page_title("Goals");
    let list = LocalResource::new(api::slos);
    refresh_every(list, LIVE_REFRESH);
    let retry = Callback::new(move |()| list.refetch());
    view! {
        <section class="area" aria-labelledby="goals-heading">
            <InsightsNav />
            <h1 id="goals-heading">"Goals"</h1>
            <p class="lead">
                "Whether each thing the clinic relies on met its goal, and how much room for failures (the error budget) is left."
            </p>
            <crate::pages::explanations::WhatWentWrong />
            <h2 class="section-heading">"Each goal"</h2>
            <Loaded lines=6 on_retry=retry>
                {move || list.get().map(|answer| answer.map(|list| view! { <GoalList list /> }))}
            </Loaded>
        </section>
    }
}

/// The insights' own pages: goals, and each patient journey.
#[component]
pub fn InsightsNav() -> impl IntoView {
    let journeys = LocalResource::new(api::journeys);
    let location = leptos_router::hooks::use_location();
    let current = move |path: &str| {
        let here = location.pathname.get();
        let on = here == path || (path == GOALS_PATH && here == "/insights");
        on.then_some("page")
    };
    view! {
        <nav class="sub-nav" aria-label="Insights">
            <a href=GOALS_PATH aria-current=move || current(GOALS_PATH)>
                "Goals"
            </a>
            {move || {
                journeys
                    .get()
                    .and_then(Result::ok)
                    .map(|list| {
                        list.journeys
                            .into_iter()
                            .map(|journey| {
                                let path = format!("/insights/journeys/{}", journey.id);
                                let here = path.clone();
                                view! {
                                    <a href=path aria-current=move || current(&here)>
                                        {journey.name}
                                    </a>
                                }
                            })
                            .collect_view()
                    })
            }}
        </nav>
    }
}

/// Where the goals live.
pub const GOALS_PATH: &str = "/insights/slos";

/// The state in words with an icon, and its class: never colour alone.
pub fn goal_state_words(state: SloState) -> (&'static str, &'static str) {
    match state {
        SloState::Met => ("operational", "✓ Goal met"),
        SloState::AtRisk => ("degraded", "◐ At risk"),
        SloState::Missed => ("major", "✖ Goal missed"),
        SloState::NoData => ("unknown", "? Cannot tell"),
    }
}

#[component]
fn GoalList(list: SloList) -> impl IntoView {
    let checked = format!(
        "Checked at {}; checked again every {} seconds.",
        local_clock(list.as_of),
        list.interval_seconds
    );
    if list.slos.is_empty() {
        return view! {
            <p class="empty-state" role="status">
                "No goals are set up yet. An engineer adds them beside the dashboards, in slos.toml."
            </p>
        }
        .into_any();
    }
    view! {
        <p class="status-checked">{checked}</p>
        <ul class="status-components" data-testid="goal-list">
            {list.slos.into_iter().map(|slo| view! { <GoalCard slo /> }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The budget left as a gauge with its words beside it.
fn budget_words(slo: &SloSummary) -> Option<String> {
    let left = slo.budget_remaining?;
    let window = slo
        .windows
        .get(1)
        .map_or("the budget window", |window| window.label.as_str());
    Some(if left > 0.0 {
        format!(
            "{}% of {window}'s error budget left",
            (left.min(1.0) * 100.0).round()
        )
    } else {
        format!("{}'s error budget spent", capitalised(window))
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The last hour against the same hour of the last weeks, in words.
fn baseline_words(slo: &SloSummary) -> Option<String> {
    let band = slo.baseline.as_ref()?;
    let now = band.now?;
    let percent = |share: f64| format!("{:.1}%", share * 100.0);
    let verdict = match band.verdict {
        BaselineVerdict::Usual => "as usual",
        BaselineVerdict::Higher => "more than usual",
        BaselineVerdict::Lower => "fewer than usual",
        BaselineVerdict::Unknown => return None,
    };
    Some(format!(
        "In the last hour {} failed, {verdict}: the same hour of the last {} weeks saw {} to {}.",
        percent(now),
        band.weeks,
        percent(band.low),
        percent(band.high)
    ))
}

#[component]
fn GoalCard(slo: SloSummary) -> impl IntoView {
    let (class, words) = goal_state_words(slo.state);
    let budget = budget_words(&slo);
    let gauge = slo.budget_remaining.map(|left| left.clamp(0.0, 1.0));
    let baseline = baseline_words(&slo);
    let open = RwSignal::new(false);
    let id = slo.id.clone();
    view! {
        <li class=format!("status-component goal state-{class}") data-testid=format!("goal-{}", slo.id)>
            <div class="status-component-head">
                <h2>{slo.name.clone()}</h2>
                <span class="status-state">{words}</span>
            </div>
            <p class="status-says" data-testid="goal-sentence">{slo.sentence.clone()}</p>
            {gauge
                .zip(budget)
                .map(|(gauge, budget)| {
                    view! {
                        <p class="goal-budget">
                            <meter min="0" max="1" low="0.25" high="0.5" optimum="1" value=gauge.to_string()>
                                {budget.clone()}
                            </meter>
                            " "
                            <span>{budget}</span>
                        </p>
                    }
                })}
            {baseline.map(|words| view! { <p class="status-description">{words}</p> })}
            <p class="status-description">{slo.description.clone()}</p>
            <button
                type="button"
                class="button-quiet"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|open| *open = !*open)
            >
                {move || if open.get() { "Hide the last day" } else { "Show the last day" }}
            </button>
            {move || open.get().then(|| view! { <GoalDetail id=id.clone() /> })}
        </li>
    }
}

/// One objective over the last day: its sentence, burn-rate and budget charts, and for
/// engineers its queries.
#[component]
fn GoalDetail(id: String) -> impl IntoView {
    let detail = LocalResource::new(move || api::slo(id.clone(), "now-24h"));
    let retry = Callback::new(move |()| detail.refetch());
    view! {
        <div class="goal-detail" data-testid="goal-detail">
            <Loaded lines=3 on_retry=retry>
                {move || detail.get().map(|answer| answer.map(|detail| view! { <GoalCharts detail /> }))}
            </Loaded>
        </div>
    }
}

#[component]
fn GoalCharts(detail: SloDetail) -> impl IntoView {
    let session = use_session();
    let engineer = session
        .state()
        .with_untracked(|state| matches!(state, SessionState::LoggedIn(info) if info.may(Role::Engineer)));
    let range = Signal::stored((detail.from, detail.to));
    let burn = vec![
        ChartSeries {
            name: "over 1 hour".into(),
            points: detail.burn_1h.clone(),
        },
        ChartSeries {
            name: "over 6 hours".into(),
            points: detail.burn_6h.clone(),
        },
    ];
    // An overspent budget is none left: below zero the numbers (-2480%) say nothing more.
    let budget = vec![ChartSeries {
        name: "error budget left".into(),
        points: detail
            .budget
            .iter()
            .map(|point| vitals_api::Point(point.0, point.1.max(0.0)))
            .collect(),
    }];
    let queries = detail.queries.clone().filter(|_| engineer);
    view! {
        <p data-testid="goal-range-sentence">{detail.range_sentence.clone()}</p>
        <p class="status-description">
            "How fast the error budget is used: 1 uses it up exactly over the month; above 14.4 for an hour someone should look now. A budget spent shows as 0 left."
        </p>
        <Chart series=Signal::stored(burn) unit=Unit::Number title="Burn rate" range />
        <Chart series=Signal::stored(budget) unit=Unit::Ratio title="Error budget left" range />
        {queries
            .map(|queries| {
                view! {
                    <h3>"Queries"</h3>
                    <p class="status-description">{format!("Counted per 5 minutes from {}.", queries.source)}</p>
                    <p>"Good events"</p>
                    <pre class="query">{queries.good}</pre>
                    <p>"All events"</p>
                    <pre class="query">{queries.total}</pre>
                }
            })}
    }
}
