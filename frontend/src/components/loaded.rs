//! The one way a page shows what it loads: a skeleton before the first answer, then the
//! answer, or what went wrong with a button to try again.

use leptos::prelude::*;

use crate::components::error_message::{ErrorMessage, first_error};
use crate::components::skeleton::TextSkeleton;

/// Shows `children`, which read a resource and answer with a `Result`, inside one
/// `Transition` and `ErrorBoundary`: while a later load runs, what was shown stays (a
/// `Transition`, not a `Suspense`), and an error replaces it with its sentence.
///
/// Children read their resource synchronously (`resource.get()`) rather than through
/// `Suspend`: the render effect keeps the error hook of its own `ErrorBoundary`, whereas two
/// `Suspend`s resolving at once in Leptos 0.8 can throw into each other's boundary.
#[component]
pub fn Loaded(
    /// Lines of the skeleton shown before the first answer.
    #[prop(default = 3)]
    lines: usize,
    /// Asks again, from the error's "Try again" button.
    on_retry: Callback<()>,
    children: ChildrenFn,
) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    view! {
        <Transition fallback=move || view! { <TextSkeleton lines /> } set_pending=set_busy>
            <ErrorBoundary fallback=move |errors| {
                view! { <ErrorMessage message=first_error(&errors) busy on_retry /> }
            }>{children()}</ErrorBoundary>
        </Transition>
    }
}
