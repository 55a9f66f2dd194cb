//! The sign-in page: not built yet.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::area_placeholder::AreaPlaceholder;

/// Placeholder for signing in with a clinic account.
#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <AreaPlaceholder
            title="Sign in"
            purpose="Signing in with your clinic account will happen on this page. \
                     It does not ask for a password yet, and nothing here stores one."
            planned=&[
                "sign-in with your clinic account",
                "setting a new password or entering a one-time code when your account asks for it",
                "signing out",
            ]
        >
            <p>
                "Meanwhile, go back to " <A href="/">"The clinic right now"</A> "."
            </p>
        </AreaPlaceholder>
    }
}
