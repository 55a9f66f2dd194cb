//! The page for an area a person's roles do not include.

use leptos::prelude::*;
use leptos_router::components::A;

/// Says the area is not theirs and who can change that; `landing` is their start page.
#[component]
pub fn NoAccessPage(landing: &'static str) -> impl IntoView {
    crate::pages::set_page_title("No access");
    view! {
        <section class="area" aria-labelledby="no-access-heading" data-testid="no-access">
            <h1 id="no-access-heading">"You don't have access to this area"</h1>
            <p class="lead">
                "Your roles in Vitals do not include this area. If your work needs it, ask a Vitals admin to add you to its group."
            </p>
            <p>
                <A href=landing>"Go to your start page"</A>
            </p>
        </section>
    }
}
