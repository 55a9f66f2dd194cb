//! A dashboard: its panels over a time range and with variables the person picks, all held in
//! the address so that copying it reproduces the view, refreshed on the dashboard's pace
//! until paused, and shareable as a short link.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use vitals_api::{DashboardSummary, ShareLinkCreated, ShareLinkRequest, SharedView};
use wasm_bindgen::JsValue;

use crate::api::{self, ApiError, percent_encode};
use crate::components::loaded::Loaded;
use crate::components::panel_card::PanelCard;
use crate::components::time_picker::{TimePicker, local_words, range_words};
use crate::format::local_day_and_time;

/// `/dashboards/{id}`: the dashboard named in the address.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let summary = LocalResource::new(move || {
        let id = id();
        async move { api::dashboard(&id).await }
    });
    let retry = Callback::new(move |()| summary.refetch());
    let failed = move || summary.get().is_some_and(|answer| answer.is_err());
    view! {
        {move || failed().then(|| view! { <h1>"Dashboard"</h1> })}
        <Loaded lines=4 on_retry=retry>
            {move || summary.get().map(|answer| answer.map(|summary| view! { <DashboardView summary /> }))}
        </Loaded>
        {move || failed().then(|| view! { <p><A href="/dashboards">"See every dashboard"</A></p> })}
    }
}

/// The view a query string holds: the range, and each variable's value or its default.
pub fn view_of(summary: &DashboardSummary, query: &ParamsMap) -> SharedView {
    let vars = summary
        .variables
        .iter()
        .map(|variable| {
            let asked = query
                .get_str(&format!("var.{}", variable.name))
                .filter(|value| variable.values.iter().any(|allowed| allowed.value == *value));
            (
                variable.name.clone(),
                asked.unwrap_or(&variable.default).to_owned(),
            )
        })
        .collect();
    SharedView {
        from: Some(query.get("from").unwrap_or_else(|| summary.default_from.clone())),
        to: Some(query.get("to").unwrap_or_else(|| "now".to_owned())),
        vars,
    }
}

/// The address of a dashboard's view, with the whole state in it.
pub fn dashboard_url(id: &str, view: &SharedView) -> String {
    let mut url = format!("/dashboards/{}", percent_encode(id));
    let mut pairs: Vec<(String, &str)> = Vec::new();
    if let Some(from) = &view.from {
        pairs.push(("from".into(), from));
    }
    if let Some(to) = &view.to {
        pairs.push(("to".into(), to));
    }
    pairs.extend(
        view.vars
            .iter()
            .map(|(name, value)| (format!("var.{name}"), value.as_str())),
    );
    for (index, (name, value)) in pairs.iter().enumerate() {
        url.push(if index == 0 { '?' } else { '&' });
        url.push_str(&format!("{}={}", percent_encode(name), percent_encode(value)));
    }
    url
}

/// The dashboard's header, controls and panels.
#[component]
fn DashboardView(summary: DashboardSummary) -> impl IntoView {
    crate::pages::set_page_title(&summary.title);
    let query = use_query_map();
    let navigate = use_navigate();
    let view = {
        let summary = summary.clone();
        Memo::new(move |_| view_of(&summary, &query.read()))
    };
    let show = {
        let id = summary.id.clone();
        Callback::new(move |next: SharedView| {
            navigate(&dashboard_url(&id, &next), NavigateOptions::default())
        })
    };
    let (paused, set_paused) = signal(false);
    let refresh = Duration::from_secs(u64::from(summary.refresh_seconds.max(5)));
    let from = Signal::derive(move || view.read().from.clone().unwrap_or_default());
    let to = Signal::derive(move || view.read().to.clone().unwrap_or_default());
    let on_range = Callback::new(move |(from, to): (String, String)| {
        let mut next = view.get_untracked();
        next.from = Some(from);
        next.to = Some(to);
        show.run(next);
    });
    let selectors = summary
        .variables
        .iter()
        .map(|variable| {
            let name = variable.name.clone();
            let field = format!("var-{}", variable.name);
            let current = {
                let name = name.clone();
                move || view.read().vars.get(&name).cloned().unwrap_or_default()
            };
            let on_pick = move |event: leptos::ev::Event| {
                let mut next = view.get_untracked();
                next.vars.insert(name.clone(), event_target_value(&event));
                show.run(next);
            };
            view! {
                <div class="field">
                    <label for=field.clone()>{variable.label.clone()}</label>
                    <select id=field.clone() data-testid=field on:change=on_pick prop:value=current>
                        {variable
                            .values
                            .iter()
                            .map(|value| view! { <option value=value.value.clone()>{value.label.clone()}</option> })
                            .collect_view()}
                    </select>
                </div>
            }
        })
        .collect_view();
    let id = summary.id.clone();
    let panels = summary
        .panels
        .iter()
        .cloned()
        .map(|panel| {
            view! { <PanelCard dashboard=id.clone() panel view=Signal::from(view) refresh paused /> }
        })
        .collect_view();
    let range_said = move || range_words(&from.get(), &to.get(), local_words);
    view! {
        <section class="panel dashboard" aria-labelledby="dashboard-heading">
            <div class="panel-head">
                <h1 id="dashboard-heading">{summary.title.clone()}</h1>
                <p class="panel-note" data-testid="range-words">{range_said}</p>
            </div>
            <p class="lead">{summary.description.clone()}</p>
            <div class="dashboard-controls" role="group" aria-label="What the dashboard shows">
                <TimePicker from to on_change=on_range />
                {selectors}
                <div class="refresh-control">
                    <button
                        type="button"
                        class="button-quiet"
                        data-testid="refresh-toggle"
                        aria-pressed=move || if paused.get() { "true" } else { "false" }
                        on:click=move |_| set_paused.update(|paused| *paused = !*paused)
                    >
                        {move || if paused.get() { "Resume auto-refresh" } else { "Pause auto-refresh" }}
                    </button>
                    <p class="panel-note" role="status">
                        {move || {
                            if paused.get() {
                                "Auto-refresh is paused.".to_owned()
                            } else {
                                format!("Refreshes every {} seconds.", refresh.as_secs())
                            }
                        }}
                    </p>
                </div>
                <ShareButton dashboard=summary.id.clone() view=Signal::from(view) />
            </div>
            <div class="card-grid dashboard-grid">{panels}</div>
        </section>
    }
}

/// The view as a link shares it: relative times kept, or pinned to the moments they are now.
fn shared(view: &SharedView, pin: bool, now_ms: f64) -> SharedView {
    let pinned = |text: &Option<String>| {
        let text = text.clone()?;
        if !pin || !text.starts_with("now") {
            return Some(text);
        }
        let ago = text
            .strip_prefix("now-")
            .and_then(vitals_api::query::parse_duration_ms)
            .unwrap_or(0);
        let date = js_sys::Date::new(&JsValue::from_f64(now_ms - ago as f64));
        Some(String::from(date.to_iso_string()))
    };
    SharedView {
        from: pinned(&view.from),
        to: pinned(&view.to),
        vars: view.vars.clone(),
    }
}

/// "Share": a short link to this view, its address shown to copy, and until when it works.
#[component]
fn ShareButton(dashboard: String, view: Signal<SharedView>) -> impl IntoView {
    let (pin, set_pin) = signal(false);
    let share = Action::new_local(move |request: &ShareLinkRequest| {
        let request = request.clone();
        async move { api::share(&request).await }
    });
    let on_share = move |_| {
        let view = shared(&view.get_untracked(), pin.get_untracked(), js_sys::Date::now());
        share.dispatch(ShareLinkRequest {
            dashboard: dashboard.clone(),
            from: view.from,
            to: view.to,
            vars: view.vars,
            expires_in_days: None,
            never_expires: false,
        });
    };
    let result = move || {
        share
            .value()
            .get()
            .map(|answer: Result<ShareLinkCreated, ApiError>| match answer {
                Ok(created) => {
                    let origin = window().location().origin().unwrap_or_default();
                    let address = format!("{origin}{}", created.url);
                    let until = created.expires_at.map_or_else(
                        || "It does not expire.".to_owned(),
                        |at| {
                            format!(
                                "It works until {}, for people who may see this dashboard.",
                                local_day_and_time(at)
                            )
                        },
                    );
                    view! {
                <div class="share-result" role="status">
                    <label for="share-address">"Short link"</label>
                    <input
                        id="share-address"
                        data-testid="share-address"
                        readonly
                        prop:value=address
                        on:focus=move |event| {
                            if let Some(input) = event_target::<web_sys::HtmlInputElement>(&event).into() {
                                input.select();
                            }
                        }
                    />
                    <p class="panel-note">{until} " Revoke it on the admin page, under Share links."</p>
                </div>
            }
            .into_any()
                }
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })
    };
    view! {
        <div class="share-control">
            <label class="checkbox">
                <input
                    type="checkbox"
                    prop:checked=pin
                    on:change=move |event| set_pin.set(event_target_checked(&event))
                />
                "Pin the time range"
            </label>
            <button
                type="button"
                class="button-primary"
                data-testid="share"
                aria-disabled=move || share.pending().get().then_some("true")
                on:click=on_share
            >
                {move || if share.pending().get() { "Sharing…" } else { "Share" }}
            </button>
            {result}
        </div>
    }
}

/// Reading a query string goes through the router, which runs on a JavaScript engine.
#[cfg(all(test, target_arch = "wasm32"))]
mod in_the_browser_engine {
    use vitals_api::{VariableSummary, VariableValue};
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    fn summary() -> DashboardSummary {
        DashboardSummary {
            id: "patient-registrations".into(),
            title: "Patient registrations".into(),
            description: String::new(),
            default_from: "now-24h".into(),
            refresh_seconds: 60,
            variables: vec![VariableSummary {
                name: "clinic".into(),
                label: "Clinic".into(),
                values: ["all", "north"]
                    .map(|value| VariableValue {
                        value: value.into(),
                        label: value.into(),
                    })
                    .to_vec(),
                default: "all".into(),
            }],
            panels: Vec::new(),
        }
    }

    #[wasm_bindgen_test]
    fn an_empty_address_is_the_dashboards_defaults_and_a_full_one_is_kept() {
        let empty = view_of(&summary(), &ParamsMap::new());
        assert_eq!(empty.from.as_deref(), Some("now-24h"));
        assert_eq!(empty.to.as_deref(), Some("now"));
        assert_eq!(empty.vars["clinic"], "all");
        let query: ParamsMap = [("from", "now-7d"), ("to", "now-1d"), ("var.clinic", "north")]
            .into_iter()
            .collect();
        let full = view_of(&summary(), &query);
        assert_eq!(
            (full.from.as_deref(), full.to.as_deref()),
            (Some("now-7d"), Some("now-1d"))
        );
        assert_eq!(full.vars["clinic"], "north");
        assert_eq!(
            dashboard_url("patient-registrations", &full),
            "/dashboards/patient-registrations?from=now-7d&to=now-1d&var.clinic=north"
        );
    }

    #[wasm_bindgen_test]
    fn a_value_outside_the_allowlist_falls_back_to_the_default() {
        let query: ParamsMap = [("var.clinic", "west")].into_iter().collect();
        assert_eq!(view_of(&summary(), &query).vars["clinic"], "all");
    }
}
