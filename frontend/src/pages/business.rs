//! The business area (operations staff): not built yet.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::area_placeholder::AreaPlaceholder;
use crate::refresh::LIVE_REFRESH;

/// Placeholder for the plain-language business views.
#[component]
pub fn BusinessPage() -> impl IntoView {
    view! {
        <AreaPlaceholder
            title="Business"
            purpose="Plain-language views of how the clinic is running, for operations staff: \
                     sentences and simple charts, no query languages, and links you can share."
            planned=&[
                "patient registrations, by clinic and over time",
                "doctor interactions and appointments booked",
                "login success for patients and staff",
                "queue health: how many messages wait and for how long",
                "short links to share any of these views",
            ]
        >
            <p>
                "Until these views arrive, "
                <A href="/">"The clinic right now"</A>
                {format!(
                    " on the home page shows live patient registrations and login success, refreshed every {} seconds.",
                    LIVE_REFRESH.as_secs()
                )}
            </p>
        </AreaPlaceholder>
    }
}
