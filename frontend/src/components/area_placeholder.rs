//! The page of an area that is not built yet: what it will hold, and where to go meanwhile.

use leptos::prelude::*;

/// A heading, a sentence on what the area is for, the views planned for it,
/// and `children` pointing at what already works.
#[component]
pub fn AreaPlaceholder(
    title: &'static str,
    purpose: &'static str,
    planned: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    crate::pages::set_page_title(title);
    view! {
        <section class="area" aria-labelledby="area-heading">
            <h1 id="area-heading">{title}</h1>
            <p class="lead">{purpose}</p>
            <div class="notice">
                <h2>"Not built yet"</h2>
                <p>"This area will hold:"</p>
                <ul class="planned">
                    {planned.iter().map(|item| view! { <li>{*item}</li> }).collect_view()}
                </ul>
            </div>
            <div class="meanwhile">{children()}</div>
        </section>
    }
}
