//! Embed links for the status page: admins make one for the pages allowed to frame it (the
//! intranet, the clinic's app), copy its iframe once, see every link and revoke it.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vitals_api::{EmbedToken, EmbedTokenCreated, EmbedTokenRequest};

use crate::api;
use crate::components::loaded::Loaded;
use crate::format::local_day_and_time;

/// The form, the iframe of the link just made, and every link with a revoke button.
#[component]
pub fn EmbedTokensSection() -> impl IntoView {
    let tokens = LocalResource::new(api::embed_tokens);
    let retry = Callback::new(move |()| tokens.refetch());
    let origins = RwSignal::new(String::new());
    let days = RwSignal::new("90".to_owned());
    let create = Action::new_local(|request: &EmbedTokenRequest| {
        let request = request.clone();
        async move { api::create_embed_token(&request).await }
    });
    let revoke = Action::new_local(|id: &String| {
        let id = id.clone();
        async move { api::revoke_embed_token(&id).await }
    });
    Effect::new(move |_| {
        if create.version().get() > 0 || revoke.version().get() > 0 {
            tokens.refetch();
        }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        create.dispatch(EmbedTokenRequest {
            origins: origin_lines(&origins.get_untracked()),
            expires_in_days: days.get_untracked().trim().parse().ok(),
        });
    };
    let made = move || {
        create.value().get().map(|answer| match answer {
            Ok(created) => view! { <MadeLink created /> }.into_any(),
            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    };
    let revoke_failed = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class="form-error" role="alert">{error.to_string()}</p> })
    };

    view! {
        <section class="admin-section" aria-labelledby="embed-heading">
            <h2 id="embed-heading">"Embed links for the status page"</h2>
            <p class="lead">
                "Let another page, such as the hospital intranet, show the status page in a frame. "
                "Only the sites named here may frame it; the link needs no login and shows no patient data."
            </p>
            <form class="embed-form" on:submit=submit>
                <label>
                    "Sites allowed to frame it, one per line"
                    <textarea
                        required
                        rows="2"
                        placeholder="https://intranet.hospital.example"
                        bind:value=origins
                    ></textarea>
                </label>
                <label>
                    "Works for (days)"
                    <input type="number" min="1" max="365" required bind:value=days />
                </label>
                <button type="submit" class="button-primary" disabled=move || create.pending().get()>
                    "Make the link"
                </button>
            </form>
            {made}
            {revoke_failed}
            <Loaded on_retry=retry>
                {move || {
                    tokens
                        .get()
                        .map(|answer| answer.map(|list| view! { <TokensTable tokens=list.tokens revoke /> }))
                }}
            </Loaded>
        </section>
    }
}

/// The origins typed, one per line or separated by spaces or commas.
pub fn origin_lines(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|origin| !origin.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The iframe to paste into the framing page, with this server's address: shown only now.
pub fn iframe_snippet(origin: &str, url: &str) -> String {
    format!(
        "<iframe src=\"{origin}{url}\" title=\"Clinic systems status\" width=\"100%\" height=\"420\" style=\"border:0\"></iframe>"
    )
}

#[component]
fn MadeLink(created: EmbedTokenCreated) -> impl IntoView {
    let origin = window().location().origin().unwrap_or_default();
    let snippet = iframe_snippet(&origin, &created.url);
    view! {
        <div class="embed-made" role="status">
            <p>
                <strong>"The link is made."</strong>
                " Copy this into the page that shows the status; it is shown only now."
            </p>
            <textarea class="embed-snippet" readonly rows="3" aria-label="The iframe to paste" data-testid="embed-snippet">
                {snippet}
            </textarea>
        </div>
    }
}

#[component]
fn TokensTable(tokens: Vec<EmbedToken>, revoke: Action<String, Result<(), api::ApiError>>) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="audit-empty">"No embed link has been made yet."</p> }.into_any();
    }
    let now_ms = js_sys::Date::now() as i64;
    view! {
        <div class="table-scroll">
            <table class="sources audit" data-testid="embed-tokens">
                <caption class="visually-hidden">"Embed links, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Made"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"Framed by"</th>
                        <th scope="col">"Works until"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">
                            <span class="visually-hidden">"Revoke"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>
                    {tokens
                        .into_iter()
                        .map(|token| {
                            let (class, state) = token_state(&token, now_ms);
                            let id = token.id.clone();
                            let sites = token.origins.join(", ");
                            let label = format!("Revoke the embed link for {sites}");
                            view! {
                                <tr>
                                    <td class="audit-when">{local_day_and_time(token.created_at)}</td>
                                    <th scope="row">{token.created_by.clone()}</th>
                                    <td>{sites}</td>
                                    <td>{local_day_and_time(token.expires_at)}</td>
                                    <td class=format!("state {class}")>{state}</td>
                                    <td>
                                        {(class == "state-up")
                                            .then(|| {
                                                view! {
                                                    <button
                                                        type="button"
                                                        class="button-quiet"
                                                        aria-label=label
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

/// Whether a link works at `now_ms`, in words with an icon, and the class that colours them.
pub fn token_state(token: &EmbedToken, now_ms: i64) -> (&'static str, &'static str) {
    if token.revoked_at.is_some() {
        ("state-down", "✕ Revoked")
    } else if now_ms >= token.expires_at {
        ("state-down", "⌛ Expired")
    } else {
        ("state-up", "✓ Works")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_may_be_typed_one_per_line_or_in_a_row() {
        assert_eq!(
            origin_lines(" https://a.example\nhttps://b.example, https://c.example \n"),
            ["https://a.example", "https://b.example", "https://c.example"]
        );
        assert!(origin_lines("  \n ").is_empty());
    }

    #[test]
    fn the_snippet_frames_this_servers_embed_address() {
        let snippet = iframe_snippet("https://vitals.clinic.internal", "/embed/status?token=abc.def");
        assert!(
            snippet.starts_with("<iframe src=\"https://vitals.clinic.internal/embed/status?token=abc.def\"")
        );
        assert!(
            snippet.contains("title=\"Clinic systems status\""),
            "a frame needs a title for screen readers"
        );
    }

    #[test]
    fn a_links_state_is_said_in_words() {
        let mut token = EmbedToken {
            id: "t".into(),
            page: "clinic".into(),
            origins: vec!["https://a.example".into()],
            created_by: "admin".into(),
            created_at: 0,
            expires_at: 1_000,
            revoked_at: None,
        };
        assert_eq!(token_state(&token, 999), ("state-up", "✓ Works"));
        assert_eq!(token_state(&token, 1_000), ("state-down", "⌛ Expired"));
        token.revoked_at = Some(10);
        assert_eq!(token_state(&token, 20), ("state-down", "✕ Revoked"));
    }
}
