//! The patient journey: how many patients went from registering to booking to seeing a doctor,
//! per clinic, against the same period a week before, in a sentence and a table. The range and
//! the clinic are in the address, so the view can be shared.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use vitals_api::{JourneyAnswer, JourneyStep};

use crate::api;
use crate::components::loaded::Loaded;
use crate::components::time_picker::TimePicker;
use crate::format::group_thousands;
use crate::pages::goals::InsightsNav;

const DEFAULT_FROM: &str = "now-24h";

/// `/insights/journeys/:id?from=&to=&clinic=`.
#[component]
pub fn JourneyPage() -> impl IntoView {
    crate::pages::set_page_title("Patient journey");
    let params = use_params_map();
    let query = use_query_map();
    let navigate = use_navigate();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let from = Signal::derive(move || {
        query
            .read()
            .get("from")
            .unwrap_or_else(|| DEFAULT_FROM.to_owned())
    });
    let to = Signal::derive(move || query.read().get("to").unwrap_or_else(|| "now".to_owned()));
    let clinic = Signal::derive(move || query.read().get("clinic").unwrap_or_default());
    let show = Callback::new(move |(from, to, clinic): (String, String, String)| {
        let mut url = format!(
            "/insights/journeys/{}?from={}&to={}",
            api::percent_encode(&id.get_untracked()),
            api::percent_encode(&from),
            api::percent_encode(&to)
        );
        if !clinic.is_empty() {
            url.push_str(&format!("&clinic={}", api::percent_encode(&clinic)));
        }
        navigate(&url, NavigateOptions::default());
    });
    let answer = LocalResource::new(move || {
        let (id, from, to, clinic) = (id.get(), from.get(), to.get(), clinic.get());
        async move { api::journey(&id, &from, &to, &clinic).await }
    });
    let retry = Callback::new(move |()| answer.refetch());
    let on_range =
        Callback::new(move |(from, to): (String, String)| show.run((from, to, clinic.get_untracked())));
    view! {
        <section class="area" aria-labelledby="journey-heading">
            <InsightsNav />
            <h1 id="journey-heading">"Patient journey"</h1>
            <p class="lead">
                "How many patients went on from each step to the next, and how that compares with a week before. Patients are counted, never named."
            </p>
            <div class="dashboard-controls" role="group" aria-label="What the journey shows">
                <TimePicker from to on_change=on_range />
            </div>
            <Loaded lines=5 on_retry=retry>
                {move || {
                    answer
                        .get()
                        .map(|answer| {
                            answer
                                .map(|answer| {
                                    view! { <JourneyReport answer clinic show from to /> }
                                })
                        })
                }}
            </Loaded>
        </section>
    }
}

fn share_words(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), |share| format!("{}%", (share * 100.0).round()))
}

/// The change against the usual share in words and an arrow: never colour alone.
fn change_words(step: &JourneyStep) -> (&'static str, String) {
    match (step.share_of_previous, step.usual_share_of_previous) {
        (Some(now), Some(usual)) if now < usual - 0.03 => (
            "state-down",
            format!("▼ below the usual {}", share_words(Some(usual))),
        ),
        (Some(now), Some(usual)) if now > usual + 0.03 => (
            "state-up",
            format!("▲ above the usual {}", share_words(Some(usual))),
        ),
        (Some(_), Some(_)) => ("", "as usual".to_owned()),
        _ => ("", String::new()),
    }
}

#[component]
fn JourneyReport(
    answer: JourneyAnswer,
    clinic: Signal<String>,
    show: Callback<(String, String, String)>,
    from: Signal<String>,
    to: Signal<String>,
) -> impl IntoView {
    let noun = answer.group_noun.clone();
    let mut names: Vec<String> = answer.groups.iter().map(|group| group.name.clone()).collect();
    if let Some(group) = &answer.group {
        names.push(group.clone());
    }
    names.sort();
    names.dedup();
    let on_pick = move |event: leptos::ev::Event| {
        show.run((
            from.get_untracked(),
            to.get_untracked(),
            event_target_value(&event),
        ));
    };
    let label = format!("{}{}", noun[..1].to_uppercase(), &noun[1..]);
    let rows = answer
        .steps
        .iter()
        .map(|step| {
            let (class, change) = change_words(step);
            view! {
                <tr>
                    <th scope="row">{step.name.clone()}</th>
                    <td class="number">{group_thousands(step.reached as i64)}</td>
                    <td class="number">{share_words(step.share_of_previous)}</td>
                    <td class=class>{change}</td>
                    <td class="number">{group_thousands(step.reached_before as i64)}</td>
                </tr>
            }
        })
        .collect_view();
    let step_names: Vec<String> = answer
        .steps
        .iter()
        .skip(1)
        .map(|step| step.name.clone())
        .collect();
    let groups = (!answer.groups.is_empty()).then(|| {
        let header = step_names
            .iter()
            .map(|name| view! { <th scope="col">{name.clone()}</th> })
            .collect_view();
        let body = answer
            .groups
            .iter()
            .map(|group| {
                let cells = group
                    .steps
                    .iter()
                    .skip(1)
                    .map(|step| {
                        let (class, change) = change_words(step);
                        // The arrow shows the change to the eye; the words say it to a screen reader.
                        let arrow = change.split_whitespace().next().filter(|mark| ["▼", "▲"].contains(mark)).unwrap_or("");
                        view! {
                            <td class=class>
                                {format!("{} ({})", group_thousands(step.reached as i64), share_words(step.share_of_previous))}
                                " "
                                <span aria-hidden="true">{arrow.to_owned()}</span>
                                <span class="visually-hidden">{change}</span>
                            </td>
                        }
                    })
                    .collect_view();
                view! {
                    <tr>
                        <th scope="row">{group.name.clone()}</th>
                        <td class="number">{group.steps.first().map_or(0, |step| step.reached)}</td>
                        {cells}
                    </tr>
                }
            })
            .collect_view();
        let first = answer.steps.first().map(|step| step.name.clone()).unwrap_or_default();
        view! {
            <h2>{format!("By {noun}")}</h2>
            <div class="table-scroll">
                <table class="sources journey" data-testid="journey-groups">
                    <thead>
                        <tr>
                            <th scope="col">{label.clone()}</th>
                            <th scope="col">{first}</th>
                            {header}
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        }
    });
    view! {
        <div class="dashboard-controls" role="group" aria-label=format!("Which {noun}")>
            <div class="field">
                <label for="journey-clinic">{label.clone()}</label>
                <select id="journey-clinic" data-testid="journey-clinic" on:change=on_pick prop:value=move || clinic.get()>
                    <option value="">{format!("Every {noun}")}</option>
                    {names.into_iter().map(|name| view! { <option value=name.clone()>{name.clone()}</option> }).collect_view()}
                </select>
            </div>
        </div>
        <p class="status-says" data-testid="journey-sentence">{answer.sentence.clone()}</p>
        {answer.truncated.clone().map(|why| view! { <p class="status-stale" role="note">{why}</p> })}
        <div class="table-scroll">
            <table class="sources journey" data-testid="journey-steps">
                <caption class="visually-hidden">{answer.name.clone()}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Step"</th>
                        <th scope="col">"Patients"</th>
                        <th scope="col">"Of the step before"</th>
                        <th scope="col">"Against a week before"</th>
                        <th scope="col">"Patients a week before"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {groups}
    }
}
