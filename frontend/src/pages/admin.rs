//! The admin area: the audit trail, who did what in Vitals, newest first; the share links; and
//! the embed links that let other pages frame the status page.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vitals_api::{AuditAction, AuditEvent};

use crate::api::{self, AUDIT_PAGE_LENGTH, AuditQuery};
use crate::components::loaded::Loaded;
use crate::format::local_day_and_time;
use crate::pages::embed_tokens::EmbedTokensSection;
use crate::pages::share_links::ShareLinksSection;

/// The audit trail with filters by person and action, and every share link.
#[component]
pub fn AdminPage() -> impl IntoView {
    crate::pages::set_page_title("Admin");
    let person = RwSignal::new(String::new());
    let action = RwSignal::new(None::<AuditAction>);
    let (query, set_query) = signal(AuditQuery::default());
    let entries = LocalResource::new(move || {
        let query = query.get();
        async move { api::audit(&query).await }
    });
    let retry = Callback::new(move |()| entries.refetch());
    let show = move |event: SubmitEvent| {
        event.prevent_default();
        let wanted = AuditQuery {
            user: person.get_untracked(),
            action: action.get_untracked(),
        };
        // The same filters again means "look again".
        if wanted == query.get_untracked() {
            entries.refetch();
        } else {
            set_query.set(wanted);
        }
    };

    view! {
        <section class="area" aria-labelledby="admin-heading">
            <h1 id="admin-heading">"Admin"</h1>
            <h2>"Audit trail"</h2>
            <p class="lead">
                "Who did what in Vitals: logins, logouts, ended sessions and every engineering query, newest first. "
                "Secrets and patient details are masked before an entry is stored."
            </p>
            <form class="audit-filter" on:submit=show>
                <div class="field">
                    <label for="audit-person">"Person"</label>
                    <input
                        id="audit-person"
                        name="user"
                        type="text"
                        autocomplete="off"
                        autocapitalize="none"
                        spellcheck="false"
                        placeholder="anyone"
                        bind:value=person
                    />
                </div>
                <div class="field">
                    <label for="audit-action">"Action"</label>
                    <select
                        id="audit-action"
                        name="action"
                        on:change=move |event| action.set(AuditAction::from_name(&event_target_value(&event)))
                    >
                        <option value="">"anything"</option>
                        {AuditAction::ALL
                            .iter()
                            .map(|action| view! { <option value=action.as_str()>{action.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <button type="submit" class="button-primary">
                    "Show"
                </button>
            </form>
            <Loaded lines=6 on_retry=retry>
                {move || entries.get().map(|answer| answer.map(|page| view! { <AuditTable events=page.events /> }))}
            </Loaded>
            <ShareLinksSection />
            <EmbedTokensSection />
        </section>
    }
}

/// One row per entry, or a sentence when none match.
#[component]
fn AuditTable(events: Vec<AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="audit-empty">"No entries match. Clear a filter to see more."</p> }
            .into_any();
    }
    let more = (events.len() >= AUDIT_PAGE_LENGTH).then(|| {
        view! {
            <p class="audit-more">
                {format!("Showing the newest {AUDIT_PAGE_LENGTH} entries. Filter by person or action to find older ones.")}
            </p>
        }
    });
    view! {
        // Wide tables scroll sideways on a narrow screen rather than squeeze their columns.
        <div class="table-scroll">
        <table class="sources audit" data-testid="audit-trail">
            <caption class="visually-hidden">"Audit entries, newest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"What"</th>
                    <th scope="col">"Asked"</th>
                    <th scope="col">"Outcome"</th>
                    <th scope="col">"From"</th>
                </tr>
            </thead>
            <tbody>
                {events
                    .into_iter()
                    .map(|event| {
                        view! {
                            <tr>
                                <td class="audit-when">{local_day_and_time(event.at)}</td>
                                <th scope="row">{event.user}</th>
                                <td>{event.action.label()}</td>
                                <td class="audit-asked">{event.target}</td>
                                <td>{event.outcome}</td>
                                <td>{event.client}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
        {more}
    }
    .into_any()
}
