//! `/s/{id}`: a short link, opened. It becomes the dashboard's address with the view it holds,
//! or says in words why it no longer opens.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api;
use crate::components::loaded::Loaded;
use crate::pages::dashboard::dashboard_url;

/// Opens the link in the address and goes on to its view, in place of this page in history.
#[component]
pub fn ShortLinkPage() -> impl IntoView {
    crate::pages::set_page_title("Shared link");
    let params = use_params_map();
    let link = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move { api::open_link(&id).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(link)) = link.get() {
            navigate(
                &dashboard_url(&link.dashboard, &link.view),
                NavigateOptions {
                    replace: true,
                    ..NavigateOptions::default()
                },
            );
        }
    });
    let retry = Callback::new(move |()| link.refetch());
    view! {
        <section class="panel" aria-labelledby="short-link-heading">
            <h1 id="short-link-heading">"Shared link"</h1>
            <div data-testid="link-problem">
                <Loaded lines=2 on_retry=retry>
                    {move || {
                        link.get()
                            .map(|answer| answer.map(|_| view! { <p>"Opening the shared view…"</p> }))
                    }}
                </Loaded>
            </div>
            <p><A href="/dashboards">"See every dashboard"</A></p>
        </section>
    }
}
