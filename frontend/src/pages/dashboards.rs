//! `/dashboards`: the business views a person may open, each with what it is for.

use leptos::prelude::*;
use leptos_router::components::A;
use vitals_api::DashboardSummary;

use crate::api;
use crate::components::loaded::Loaded;

/// Every dashboard the person may open, as cards.
#[component]
pub fn DashboardsPage() -> impl IntoView {
    crate::pages::set_page_title("Dashboards");
    let list = LocalResource::new(api::dashboards);
    let retry = Callback::new(move |()| list.refetch());
    view! {
        <section class="panel" aria-labelledby="dashboards-heading">
            <div class="panel-head">
                <h1 id="dashboards-heading">"Dashboards"</h1>
            </div>
            <p class="lead">
                "How the clinic is running, in sentences and simple charts. Pick a time range and a clinic on each; "
                "the address always holds what you see, and Share makes a short link to it."
            </p>
            <Loaded lines=4 on_retry=retry>
                {move || list.get().map(|answer| answer.map(|list| view! { <DashboardCards dashboards=list.dashboards /> }))}
            </Loaded>
        </section>
    }
}

#[component]
fn DashboardCards(dashboards: Vec<DashboardSummary>) -> impl IntoView {
    if dashboards.is_empty() {
        return view! { <p class="audit-empty">"There are no dashboards for your role yet."</p> }.into_any();
    }
    view! {
        <ul class="dashboard-list">
            {dashboards
                .into_iter()
                .map(|dashboard| {
                    let href = format!("/dashboards/{}", dashboard.id);
                    let panels = dashboard.panels.len();
                    view! {
                        <li class="dashboard-item">
                            <h2>
                                <A href=href attr:data-testid=format!("dashboard-{}", dashboard.id)>
                                    {dashboard.title}
                                </A>
                            </h2>
                            <p>{dashboard.description}</p>
                            <p class="panel-note">{format!("{panels} panels")}</p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
