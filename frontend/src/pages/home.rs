//! The home page: how the clinic is doing right now.

use leptos::prelude::*;

use crate::components::stat_card::StatCard;
use crate::refresh::LIVE_REFRESH;

/// The dashboard whose panels the home page shows.
const CLINIC_NOW: &str = "clinic-now";

/// "The clinic right now": live registrations and login success.
#[component]
pub fn HomePage() -> impl IntoView {
    crate::pages::set_page_title("The clinic right now");
    view! {
        <section class="panel" aria-labelledby="clinic-now-heading">
            <div class="panel-head">
                <h1 id="clinic-now-heading">"The clinic right now"</h1>
                <p class="panel-note">{format!("Refreshed every {} seconds.", LIVE_REFRESH.as_secs())}</p>
            </div>
            <div class="card-grid">
                <StatCard dashboard=CLINIC_NOW panel="registrations" label="Patient registrations" />
                <StatCard dashboard=CLINIC_NOW panel="login-success" label="Login success" />
            </div>
        </section>
    }
}
