//! The app shell: the top bar and the routes of the portal.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::components::top_bar::TopBar;
use crate::pages::{
    admin::AdminPage, business::BusinessPage, engineering::EngineeringPage, home::HomePage, login::LoginPage,
    not_found::NotFoundPage, status::StatusPage,
};

/// The whole app: every page shares the top bar; the router picks the page.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <TopBar />
            <main id="main" class="page" tabindex="-1">
                <Routes fallback=|| view! { <NotFoundPage /> }>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/business") view=BusinessPage />
                    <Route path=path!("/business/*rest") view=BusinessPage />
                    <Route path=path!("/engineering") view=EngineeringPage />
                    <Route path=path!("/engineering/*rest") view=EngineeringPage />
                    <Route path=path!("/status") view=StatusPage />
                    <Route path=path!("/admin") view=AdminPage />
                    <Route path=path!("/login") view=LoginPage />
                </Routes>
            </main>
        </Router>
    }
}
