//! Grey placeholders in the shape of content that is still loading.

use leptos::prelude::*;

/// The shape of a stat card (title, number, sentence, chart) while its first answer loads.
#[component]
pub fn StatCardSkeleton() -> impl IntoView {
    view! {
        <div class="stat-body skeleton" aria-busy="true">
            <span class="visually-hidden">"Loading…"</span>
            <div class="skeleton-line skeleton-title"></div>
            <div class="skeleton-line skeleton-value"></div>
            <div class="skeleton-line"></div>
            <div class="skeleton-line skeleton-short"></div>
            <div class="skeleton-block"></div>
        </div>
    }
}

/// A few lines of text while a page's data loads.
#[component]
pub fn TextSkeleton(#[prop(default = 3)] lines: usize) -> impl IntoView {
    view! {
        <div class="skeleton" aria-busy="true">
            <span class="visually-hidden">"Loading…"</span>
            {(0..lines).map(|_| view! { <div class="skeleton-line"></div> }).collect_view()}
        </div>
    }
}
