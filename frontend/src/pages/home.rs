//! The home page: how the clinic is doing right now, from the `clinic-now` dashboard.

use std::time::Duration;

use leptos::prelude::*;
use vitals_api::SharedView;

use crate::api;
use crate::components::loaded::Loaded;
use crate::components::panel_card::PanelCard;

/// The dashboard whose panels the home page shows.
const CLINIC_NOW: &str = "clinic-now";

/// "The clinic right now": the home dashboard's panels over its own default range.
#[component]
pub fn HomePage() -> impl IntoView {
    crate::pages::set_page_title("The clinic right now");
    let summary = LocalResource::new(|| api::dashboard(CLINIC_NOW));
    let retry = Callback::new(move |()| summary.refetch());
    let panels = move || {
        summary.get().map(|answer| {
            answer.map(|summary| {
                let refresh = Duration::from_secs(u64::from(summary.refresh_seconds.max(5)));
                let note = format!("Refreshed every {} seconds.", refresh.as_secs());
                let cards = summary
                    .panels
                    .into_iter()
                    .map(|panel| {
                        view! { <PanelCard dashboard=CLINIC_NOW panel view=SharedView::default() refresh /> }
                    })
                    .collect_view();
                view! {
                    <p class="panel-note">{note}</p>
                    <div class="card-grid">{cards}</div>
                }
            })
        })
    };
    view! {
        <section class="panel" aria-labelledby="clinic-now-heading">
            <div class="panel-head">
                <h1 id="clinic-now-heading">"The clinic right now"</h1>
            </div>
            <Loaded on_retry=retry>{panels}</Loaded>
        </section>
    }
}
