//! The share links people made: what each opens, who shared it, until when it works, and a
//! way to revoke it.

use leptos::prelude::*;
#[cfg(test)]
use vitals_api::SharedView;
use vitals_api::{LinkState, ShareLink};

use crate::api;
use crate::components::loaded::Loaded;
use crate::format::local_day_and_time;

/// The links list with a revoke button on each working one; an admin sees everyone's.
#[component]
pub fn ShareLinksSection() -> impl IntoView {
    let links = LocalResource::new(api::links);
    let retry = Callback::new(move |()| links.refetch());
    let revoke = Action::new_local(|id: &String| {
        let id = id.clone();
        async move { api::revoke_link(&id).await }
    });
    // Each finished revocation shows the list as it now is.
    Effect::new(move |_| {
        if revoke.version().get() > 0 {
            links.refetch();
        }
    });
    let revoke_failed = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class="form-error" role="alert">{error.to_string()}</p> })
    };

    view! {
        <section class="admin-section" aria-labelledby="links-heading">
            <h2 id="links-heading">"Share links"</h2>
            <p class="lead">
                "Short links to a view of a dashboard. A link works until it expires or someone revokes it; "
                "opening one still needs a login and a role that may see the dashboard."
            </p>
            {revoke_failed}
            <Loaded on_retry=retry>
                {move || {
                    links
                        .get()
                        .map(|answer| answer.map(|list| view! { <LinksTable links=list.links revoke /> }))
                }}
            </Loaded>
        </section>
    }
}

/// One row per link, or a sentence when there are none.
#[component]
fn LinksTable(links: Vec<ShareLink>, revoke: Action<String, Result<(), api::ApiError>>) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="audit-empty">"Nobody has shared a link yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="sources audit" data-testid="share-links">
                <caption class="visually-hidden">"Share links, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Shared"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"Opens"</th>
                        <th scope="col">"Works until"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">
                            <span class="visually-hidden">"Revoke"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>
                    {links
                        .into_iter()
                        .map(|link| {
                            let (state_class, state) = state_words(link.state);
                            let working = link.state == LinkState::Works;
                            let id = link.id.clone();
                            let until = link
                                .expires_at
                                .map_or_else(|| "never expires".to_owned(), local_day_and_time);
                            view! {
                                <tr>
                                    <td class="audit-when">{local_day_and_time(link.created_at)}</td>
                                    <th scope="row">{link.created_by.clone()}</th>
                                    <td>
                                        {link.dashboard.clone()}
                                        " "
                                        <span class="link-range">{range_words(&link)}</span>
                                    </td>
                                    <td>{until}</td>
                                    <td class=format!("state {state_class}")>{state}</td>
                                    <td>
                                        {working
                                            .then(|| {
                                                view! {
                                                    <button
                                                        type="button"
                                                        class="button-quiet"
                                                        aria-label=format!("Revoke the link to {} shared by {}", link.dashboard, link.created_by)
                                                        disabled=move || revoke.pending().get()
                                                        on:click=move |_| {
                                                            revoke.dispatch(id.clone());
                                                        }
                                                    >
                                                        "Revoke"
                                                    </button>
                                                }
                                            })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Whether a link works, as the server says, in words with an icon and the class that colours them.
fn state_words(state: LinkState) -> (&'static str, &'static str) {
    match state {
        LinkState::Works => ("state-up", "✓ Works"),
        LinkState::Expired => ("state-down", "⌛ Expired"),
        LinkState::Revoked => ("state-down", "✕ Revoked"),
    }
}

/// The time range a link opens, as written when it was shared.
fn range_words(link: &ShareLink) -> String {
    match (&link.view.from, &link.view.to) {
        (None, None) => "(its usual range)".to_owned(),
        (from, to) => format!(
            "({} to {})",
            from.as_deref().unwrap_or("the usual start"),
            to.as_deref().unwrap_or("now")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> ShareLink {
        ShareLink {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            url: "/s/AAAAAAAAAAAAAAAAAAAAAA".into(),
            dashboard: "clinic-now".into(),
            view: SharedView {
                from: Some("now-24h".into()),
                ..SharedView::default()
            },
            created_by: "operations".into(),
            created_at: 1_000,
            expires_at: Some(5_000),
            revoked_at: None,
            state: LinkState::Works,
        }
    }

    #[test]
    fn a_links_state_is_said_in_words_with_an_icon() {
        assert_eq!(state_words(LinkState::Works), ("state-up", "✓ Works"));
        assert_eq!(state_words(LinkState::Expired), ("state-down", "⌛ Expired"));
        assert_eq!(state_words(LinkState::Revoked), ("state-down", "✕ Revoked"));
    }

    #[test]
    fn the_range_reads_as_it_was_shared() {
        assert_eq!(range_words(&link()), "(now-24h to now)");
        let usual = ShareLink {
            view: SharedView::default(),
            ..link()
        };
        assert_eq!(range_words(&usual), "(its usual range)");
    }
}
