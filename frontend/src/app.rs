//! The apps' shells: the session, the top bar and each app's routes.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    path,
};

use crate::access::Area;
use crate::components::require_session::RequireSession;
use crate::components::session_banner::SessionBanner;
use crate::components::top_bar::TopBar;
use crate::pages::{
    admin::AdminPage,
    dashboard::DashboardPage,
    dashboards::DashboardsPage,
    engineering::EngineeringPage,
    goals::GoalsPage,
    home::HomePage,
    journey::JourneyPage,
    login::LoginPage,
    logs::LogsPage,
    metrics::MetricsPage,
    not_found::NotFoundPage,
    notices::NoticesPage,
    short_link::ShortLinkPage,
    sources::SourcesPage,
    status::StatusPage,
    traces::{compare::TraceComparePage, map::ServiceMapPage, search::TraceSearchPage, view::TraceViewPage},
};
use crate::session::provide_session;

/// The portal: what clinicians, operations and engineers open first. The engineering, notices
/// and admin areas' routes load their own apps.
#[component]
pub fn PortalApp() -> impl IntoView {
    view! {
        <Shell>
            <Routes fallback=|| view! { <RequireSession><NotFoundPage /></RequireSession> }>
                <Route path=path!("/") view=behind_login(Area::Home, HomePage) />
                <Route path=path!("/dashboards") view=behind_login(Area::Dashboards, DashboardsPage) />
                <Route path=path!("/dashboards/:id") view=behind_login(Area::Dashboards, DashboardPage) />
                <Route path=path!("/s/:id") view=behind_login(Area::Dashboards, ShortLinkPage) />
                <Route path=path!("/engineering") view=OtherApp />
                <Route path=path!("/engineering/*rest") view=OtherApp />
                <Route path=path!("/status") view=behind_login(Area::Status, StatusPage) />
                <Route path=path!("/notices") view=OtherApp />
                <Route path=path!("/insights") view=OtherApp />
                <Route path=path!("/insights/*rest") view=OtherApp />
                <Route path=path!("/admin") view=OtherApp />
                <Route path=path!("/admin/*rest") view=OtherApp />
                <Route path=path!("/login") view=LoginPage />
            </Routes>
        </Shell>
    }
}

/// The engineering area; every other page, the login included, is another app's.
#[component]
pub fn EngineeringApp() -> impl IntoView {
    view! {
        <Shell>
            <Routes fallback=OtherApp>
                <Route path=path!("/engineering") view=behind_login(Area::Engineering, EngineeringPage) />
                <Route path=path!("/engineering/logs") view=behind_login(Area::Engineering, LogsPage) />
                <Route path=path!("/engineering/metrics") view=behind_login(Area::Engineering, MetricsPage) />
                <Route path=path!("/engineering/traces") view=behind_login(Area::Engineering, TraceSearchPage) />
                <Route path=path!("/engineering/traces/:id") view=behind_login(Area::Engineering, TraceViewPage) />
                <Route
                    path=path!("/engineering/traces/:id/compare/:other")
                    view=behind_login(Area::Engineering, TraceComparePage)
                />
                <Route path=path!("/engineering/map") view=behind_login(Area::Engineering, ServiceMapPage) />
                <Route path=path!("/engineering/sources") view=behind_login(Area::Engineering, SourcesPage) />
                <Route
                    path=path!("/engineering/*rest")
                    view=behind_login(Area::Engineering, EngineeringPage)
                />
            </Routes>
        </Shell>
    }
}

/// The notices and admin areas, away from the portal's download; every other page is another
/// app's.
#[component]
pub fn ManageApp() -> impl IntoView {
    view! {
        <Shell>
            <Routes fallback=OtherApp>
                <Route path=path!("/notices") view=behind_login(Area::Notices, NoticesPage) />
                <Route path=path!("/admin") view=behind_login(Area::Admin, AdminPage) />
                <Route path=path!("/admin/*rest") view=behind_login(Area::Admin, AdminPage) />
            </Routes>
        </Shell>
    }
}

/// The goals (objectives, what went wrong) and the patient journey: their charts and
/// explanations are an app of their own, so notices and admin stay small.
#[component]
pub fn InsightsApp() -> impl IntoView {
    view! {
        <Shell>
            <Routes fallback=OtherApp>
                <Route path=path!("/insights") view=behind_login(Area::Insights, GoalsPage) />
                <Route path=path!("/insights/slos") view=behind_login(Area::Insights, GoalsPage) />
                <Route path=path!("/insights/journeys/:id") view=behind_login(Area::Insights, JourneyPage) />
            </Routes>
        </Shell>
    }
}

/// The performance mark a page load sets at the frame its shell (the top bar and the main
/// region) is first drawn: what `cargo xtask bench` times from navigation on.
pub const SHELL_DRAWN_MARK: &str = "vitals:shell-drawn";

/// What every page shares: the session, the top bar, the session banner and the main region.
#[component]
fn Shell(children: Children) -> impl IntoView {
    provide_session();
    // Runs once the shell is in the page; the frame after is its first paint.
    Effect::new(|_| request_animation_frame(|| crate::perf::mark(SHELL_DRAWN_MARK)));
    view! {
        <Router>
            <TopBar />
            <SessionBanner />
            <main id="main" class="page" tabindex="-1">
                {children()}
            </main>
        </Router>
    }
}

/// A page of the other app: the browser loads it in place, keeping the address.
#[component]
fn OtherApp() -> impl IntoView {
    let location = use_location();
    Effect::new(move |_| {
        let _ = window().location().replace(&address(
            &location.pathname.get(),
            &location.search.get(),
            &location.hash.get(),
        ));
    });
    view! { <p class="page-loading" role="status">"Opening the page…"</p> }
}

/// The address of a page from the router's parts, which come with or without their `?` and `#`.
fn address(path: &str, search: &str, hash: &str) -> String {
    let mut address = path.to_owned();
    for (mark, part) in [('?', search), ('#', hash)] {
        let part = part.trim_start_matches(mark);
        if !part.is_empty() {
            address.push(mark);
            address.push_str(part);
        }
    }
    address
}

/// A route's view: `page` for people whose roles include `area`.
fn behind_login<V: IntoView + 'static>(
    area: Area,
    page: fn() -> V,
) -> impl Fn() -> AnyView + Clone + Send + Sync + 'static {
    move || view! { <RequireSession area>{page()}</RequireSession> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_apps_address_keeps_its_query_and_fragment() {
        assert_eq!(
            address("/login", "next=%2Fengineering", ""),
            "/login?next=%2Fengineering"
        );
        assert_eq!(address("/login", "?next=%2Fa", "#top"), "/login?next=%2Fa#top");
        assert_eq!(address("/dashboards", "", "top"), "/dashboards#top");
        assert_eq!(address("/engineering", "", ""), "/engineering");
    }
}
