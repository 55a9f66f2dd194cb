//! The gate in front of every page behind login: a session first, then a role that may use the area.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use crate::access::{Area, areas_for, landing_path};
use crate::components::error_message::ErrorMessage;
use crate::components::skeleton::TextSkeleton;
use crate::pages::no_access::NoAccessPage;
use crate::session::{LoggedOut, SessionState, login_path, use_session};

/// What the gate does with the page behind it.
#[derive(Debug, Clone, PartialEq)]
enum Access {
    /// The session check has not answered yet.
    Wait,
    /// The session check could not reach the server.
    Unreachable(String),
    /// Somewhere else first: the login page, or a person's start page.
    Redirect(String),
    Allowed,
    /// Logged in, but no role of theirs may use the area.
    Denied {
        landing: &'static str,
    },
}

/// The gate's decision for `area` (`None`: any logged-in person) at the address `here`.
///
/// The home page sends people who may not use it to their start page rather
/// than refusing them: it is where the brand link and a bare address lead.
fn access(state: &SessionState, area: Option<Area>, here: &str) -> Access {
    match state {
        SessionState::Checking => Access::Wait,
        SessionState::Unreachable(message) => Access::Unreachable(message.clone()),
        SessionState::LoggedOut(LoggedOut::ByChoice) => Access::Redirect("/login".to_owned()),
        SessionState::LoggedOut(_) => Access::Redirect(login_path(here)),
        SessionState::LoggedIn(info) => {
            let areas = areas_for(info);
            match area {
                // Home comes first among the areas, so a start page is never home itself here.
                Some(Area::Home) if !areas.contains(&Area::Home) => {
                    Access::Redirect(landing_path(&areas).to_owned())
                }
                Some(area) if !areas.contains(&area) => Access::Denied {
                    landing: landing_path(&areas),
                },
                _ => Access::Allowed,
            }
        }
    }
}

/// Shows `children` to a logged-in person who may use `area`; sends anyone
/// else to the login page (and back here afterwards), and tells a person
/// without the role that the area is not theirs.
#[component]
pub fn RequireSession(#[prop(optional)] area: Option<Area>, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let state = session.state();
    let location = use_location();
    // Read untracked: once the redirect to the login page has happened, this
    // gate must not take the login page's address for the one to return to.
    let here = move || {
        let search = location.search.get_untracked();
        let query = if search.is_empty() { "" } else { "?" };
        format!(
            "{}{query}{search}{}",
            location.pathname.get_untracked(),
            location.hash.get_untracked()
        )
    };
    // A memo, so that the page below is built again only when the decision
    // changes, not each time the session's end times are refreshed.
    let decision = Memo::new(move |_| state.with(|state| access(state, area, &here())));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Access::Redirect(target) = decision.get() {
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..NavigateOptions::default()
                },
            );
        }
    });
    let (checking, set_checking) = signal(false);
    let retry = Callback::new(move |()| {
        set_checking.set(true);
        spawn_local(async move {
            session.check().await;
            set_checking.set(false);
        });
    });
    move || match decision.get() {
        Access::Allowed => children().into_any(),
        Access::Denied { landing } => view! { <NoAccessPage landing /> }.into_any(),
        Access::Unreachable(message) => view! {
            <section class="area" aria-labelledby="unreachable-heading">
                <h1 id="unreachable-heading">"Vitals is out of reach"</h1>
                <ErrorMessage message busy=checking on_retry=retry />
            </section>
        }
        .into_any(),
        Access::Wait | Access::Redirect(_) => view! { <TextSkeleton lines=4 /> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_api::{Role, SessionInfo};

    fn logged_in(roles: &[Role]) -> SessionState {
        SessionState::LoggedIn(SessionInfo {
            user: "ana".into(),
            roles: roles.to_vec(),
            idle_expires_at: 0,
            expires_at: 0,
        })
    }

    #[test]
    fn logging_out_leads_to_the_plain_login_page() {
        assert_eq!(
            access(
                &SessionState::LoggedOut(LoggedOut::ByChoice),
                Some(Area::Admin),
                "/admin"
            ),
            Access::Redirect("/login".into())
        );
    }

    #[test]
    fn the_page_waits_for_the_first_session_check() {
        assert_eq!(
            access(&SessionState::Checking, Some(Area::Home), "/"),
            Access::Wait
        );
    }

    #[test]
    fn an_area_outside_the_roles_is_refused_without_a_redirect() {
        assert_eq!(
            access(&logged_in(&[Role::Engineer]), Some(Area::Admin), "/admin"),
            Access::Denied { landing: "/" }
        );
        assert_eq!(
            access(
                &logged_in(&[Role::Clinician]),
                Some(Area::Dashboards),
                "/dashboards"
            ),
            Access::Denied { landing: "/status" }
        );
    }

    #[test]
    fn home_sends_people_without_it_to_their_start_page() {
        assert_eq!(
            access(&logged_in(&[Role::Clinician]), Some(Area::Home), "/"),
            Access::Redirect("/status".into())
        );
        assert_eq!(
            access(&logged_in(&[]), Some(Area::Home), "/"),
            Access::Redirect("/status".into())
        );
    }

    #[test]
    fn areas_of_the_role_and_unknown_pages_are_shown() {
        assert_eq!(
            access(
                &logged_in(&[Role::Operations]),
                Some(Area::Dashboards),
                "/dashboards"
            ),
            Access::Allowed
        );
        assert_eq!(
            access(&logged_in(&[Role::Clinician]), None, "/nowhere"),
            Access::Allowed
        );
    }
}

/// What needs the browser's engine (the login address is encoded by `encodeURIComponent`);
/// `cargo xtask test` runs these through `wasm-bindgen-test-runner`.
#[cfg(all(test, target_arch = "wasm32"))]
mod in_the_browser_engine {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn nobody_logged_in_is_sent_to_log_in_and_back() {
        assert_eq!(
            access(
                &SessionState::LoggedOut(LoggedOut::NotYet),
                Some(Area::Status),
                "/status"
            ),
            Access::Redirect("/login?next=%2Fstatus".into())
        );
        assert_eq!(
            access(&SessionState::LoggedOut(LoggedOut::Ended), None, "/nowhere?x=1"),
            Access::Redirect("/login?next=%2Fnowhere%3Fx%3D1".into())
        );
    }
}
