//! The page for addresses the portal does not know.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

/// Says which address was not found and offers the way home.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    crate::pages::set_page_title("Page not found");
    let path = use_location().pathname;
    view! {
        <section class="area" aria-labelledby="not-found-heading">
            <h1 id="not-found-heading">"Page not found"</h1>
            <p class="lead">
                "There is no page at " <code>{move || path.get()}</code>
                ". The link may be old or mistyped."
            </p>
            <p>
                <A href="/">"Go to The clinic right now"</A>
            </p>
        </section>
    }
}
