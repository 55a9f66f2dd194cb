//! The bar across the top of every page: the product name, the areas a person may use, and who is logged in.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::access::{Area, areas_for, landing_path, roles_words};
use crate::api::{self, ApiError};
use crate::session::{LoggedOut, SessionState, use_session};

/// Who is logged in, as the bar shows it.
#[derive(Debug, Clone, PartialEq)]
struct Person {
    user: String,
    roles: String,
    areas: Vec<Area>,
}

/// Product name, area links and the person's name with "Log out"; the router
/// marks the current area with `aria-current="page"`. Logged out, only the name.
#[component]
pub fn TopBar() -> impl IntoView {
    let state = use_session().state();
    // A memo, so that the bar is rebuilt only when the person changes, not
    // each time the session's end times are refreshed.
    let person = Memo::new(move |_| {
        state.with(|state| match state {
            SessionState::LoggedIn(info) => Some(Person {
                user: info.user.clone(),
                roles: roles_words(&info.roles),
                areas: areas_for(info),
            }),
            _ => None,
        })
    });
    let home =
        move || person.with(|person| person.as_ref().map_or("/", |person| landing_path(&person.areas)));
    view! {
        <header class="top-bar">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <A href=move || home().to_owned() exact=true attr:class="brand">
                <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
                    <polyline points="2,13 7,13 10,6 14,19 17,11 22,11" />
                </svg>
                <span>"Vitals"</span>
            </A>
            {move || {
                person
                    .get()
                    .map(|person| {
                        view! {
                            <AreaLinks areas=person.areas />
                            <SessionControls user=person.user roles=person.roles />
                        }
                    })
            }}
        </header>
    }
}

/// Links to the areas a person may use; home is the brand link.
#[component]
fn AreaLinks(areas: Vec<Area>) -> impl IntoView {
    view! {
        <nav class="areas" aria-label="Areas">
            <ul>
                {areas
                    .into_iter()
                    .filter(|area| *area != Area::Home)
                    .map(|area| {
                        view! {
                            <li>
                                <A href=area.path() attr:data-testid=format!("area-{}", area.key())>
                                    {area.label()}
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}

/// The person's name and roles, and the "Log out" button.
#[component]
fn SessionControls(user: String, roles: String) -> impl IntoView {
    let session = use_session();
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let log_out = move |_| {
        if busy.get_untracked() {
            return;
        }
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            match api::logout().await {
                // A 401 means the session had already ended: nobody is logged in either way.
                Ok(()) | Err(ApiError::Unauthorized { .. }) => session.end(LoggedOut::ByChoice),
                // The server may still hold the session, so the page does not pretend otherwise.
                Err(error) => set_error.set(Some(format!("Could not log out: {error}."))),
            }
            set_busy.set(false);
        });
    };
    view! {
        <div class="session">
            <p class="session-who">
                <span class="visually-hidden">"Logged in as "</span>
                <span class="session-user" data-testid="session-user">{user}</span>
                <span class="visually-hidden">", roles: "</span>
                <span class="session-roles" data-testid="session-roles">{roles}</span>
            </p>
            <button
                type="button"
                class="button-quiet"
                data-testid="logout"
                aria-disabled=move || busy.get().then_some("true")
                on:click=log_out
            >
                {move || if busy.get() { "Logging out…" } else { "Log out" }}
            </button>
            {move || error.get().map(|message| view! { <p class="session-error" role="alert">{message}</p> })}
        </div>
    }
}
