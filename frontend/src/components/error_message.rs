//! What went wrong, in a sentence, with a button to try again.

use leptos::prelude::*;

/// An error sentence and a "Try again" button; `busy` while a retry is running.
#[component]
pub fn ErrorMessage(
    #[prop(into)] message: Signal<String>,
    #[prop(into)] busy: Signal<bool>,
    #[prop(into)] on_retry: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="error-message" role="alert">
            <p class="error-text">{message}</p>
            <RetryButton busy on_retry />
        </div>
    }
}

/// The "Try again" button, also used beside data that could not be refreshed.
///
/// While busy it is `aria-disabled` rather than `disabled`, so that keyboard
/// focus stays on it during the retry.
#[component]
pub fn RetryButton(#[prop(into)] busy: Signal<bool>, #[prop(into)] on_retry: Callback<()>) -> impl IntoView {
    view! {
        <button
            type="button"
            class="retry"
            aria-disabled=move || busy.get().then_some("true")
            on:click=move |_| {
                if !busy.get_untracked() {
                    on_retry.run(());
                }
            }
        >
            {move || if busy.get() { "Trying…" } else { "Try again" }}
        </button>
    }
}

/// The sentence of the first error an `ErrorBoundary` caught.
pub fn first_error(errors: &ArcRwSignal<Errors>) -> Signal<String> {
    let errors = errors.clone();
    Signal::derive(move || {
        errors.with(|errors| {
            errors
                .iter()
                .next()
                .map(|(_, error)| error.to_string())
                .unwrap_or_default()
        })
    })
}
