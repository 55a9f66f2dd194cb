//! Before the first query of an explorer: what to write, and examples that run when chosen.

use leptos::prelude::*;

/// `intro`, then each example's words as a button that runs its query through `on_pick`.
#[component]
pub fn QueryExamples(
    intro: &'static str,
    /// Each example's query and what it shows, in words.
    examples: &'static [(&'static str, &'static str)],
    on_pick: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="notice">
            <p>{intro}</p>
            <ul class="examples">
                {examples
                    .iter()
                    .map(|(query, words)| {
                        view! {
                            <li>
                                <button type="button" class="link-button" on:click=move |_| on_pick.run((*query).to_owned())>
                                    {*words}
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
}
