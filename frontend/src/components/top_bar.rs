//! The bar across the top of every page: the product name and the areas of the portal.

use leptos::prelude::*;
use leptos_router::components::A;

/// The areas of the portal, in the order the top bar lists them.
const AREAS: [(&str, &str); 4] = [
    ("/business", "Business"),
    ("/engineering", "Engineering"),
    ("/status", "Status"),
    ("/admin", "Admin"),
];

/// Product name and area links; the router marks the current area with `aria-current="page"`.
#[component]
pub fn TopBar() -> impl IntoView {
    view! {
        <header class="top-bar">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <A href="/" exact=true attr:class="brand">
                <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
                    <polyline points="2,13 7,13 10,6 14,19 17,11 22,11" />
                </svg>
                <span>"Vitals"</span>
            </A>
            <nav class="areas" aria-label="Areas">
                <ul>
                    {AREAS
                        .into_iter()
                        .map(|(href, label)| view! {
                            <li>
                                <A href=href>{label}</A>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </nav>
        </header>
    }
}
