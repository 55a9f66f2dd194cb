//! The app shell: the session, the top bar and the routes of the portal.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::access::Area;
use crate::components::require_session::RequireSession;
use crate::components::session_banner::SessionBanner;
use crate::components::top_bar::TopBar;
use crate::pages::{
    admin::AdminPage, dashboard::DashboardPage, dashboards::DashboardsPage, engineering::EngineeringPage,
    home::HomePage, login::LoginPage, not_found::NotFoundPage, short_link::ShortLinkPage, status::StatusPage,
};
use crate::session::provide_session;

/// The whole app: every page shares the top bar; the router picks the page,
/// and every page but the login page needs a session.
#[component]
pub fn App() -> impl IntoView {
    provide_session();
    view! {
        <Router>
            <TopBar />
            <SessionBanner />
            <main id="main" class="page" tabindex="-1">
                <Routes fallback=|| view! { <RequireSession><NotFoundPage /></RequireSession> }>
                    <Route path=path!("/") view=behind_login(Area::Home, HomePage) />
                    <Route path=path!("/dashboards") view=behind_login(Area::Dashboards, DashboardsPage) />
                    <Route path=path!("/dashboards/:id") view=behind_login(Area::Dashboards, DashboardPage) />
                    <Route path=path!("/s/:id") view=behind_login(Area::Dashboards, ShortLinkPage) />
                    <Route path=path!("/engineering") view=behind_login(Area::Engineering, EngineeringPage) />
                    <Route
                        path=path!("/engineering/*rest")
                        view=behind_login(Area::Engineering, EngineeringPage)
                    />
                    <Route path=path!("/status") view=behind_login(Area::Status, StatusPage) />
                    <Route path=path!("/admin") view=behind_login(Area::Admin, AdminPage) />
                    <Route path=path!("/login") view=LoginPage />
                </Routes>
            </main>
        </Router>
    }
}

/// A route's view: `page` for people whose roles include `area`.
fn behind_login<V: IntoView + 'static>(
    area: Area,
    page: fn() -> V,
) -> impl Fn() -> AnyView + Clone + Send + Sync + 'static {
    move || view! { <RequireSession area>{page()}</RequireSession> }.into_any()
}
