//! The admin area: not built yet.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::area_placeholder::AreaPlaceholder;

/// Placeholder for administration.
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <AreaPlaceholder
            title="Admin"
            purpose="Administration of the portal, for admins."
            planned=&[
                "the audit trail: who looked at what, and who revealed masked data and why",
                "share links and the tokens that embed the status page in other pages",
                "maintenance notices shown on the status page",
            ]
        >
            <p>
                "Meanwhile, " <A href="/status">"Status"</A>
                " shows whether Vitals can reach its data sources."
            </p>
        </AreaPlaceholder>
    }
}
