//! Where operations and admins tell clinicians what is going on: post an incident or a
//! maintenance window, and add updates to the timeline of each current one. Part of the
//! second app, so the portal clinicians open stays small.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vitals_api::{Notice, NoticeKind, NoticeProgress, NoticeRequest, NoticeUpdateRequest, StatusComponent};

use crate::api;
use crate::components::loaded::Loaded;
use crate::pages::status::{NoticeItem, progress_words};

/// The form for a new notice, then every current notice with a form to update it.
#[component]
pub fn NoticesPage() -> impl IntoView {
    crate::pages::set_page_title("Notices");
    let status = LocalResource::new(api::status);
    let retry = Callback::new(move |()| status.refetch());
    view! {
        <section class="area" aria-labelledby="notices-page-heading">
            <h1 id="notices-page-heading">"Notices"</h1>
            <p class="lead">
                "Tell clinicians what is going on. A notice shows at once on the status page and on every page that embeds it; "
                "a maintenance window shows the systems it names as under maintenance for its span."
            </p>
            <p>
                <a href="/status">"See the status page as clinicians see it"</a>
            </p>
            <Loaded lines=4 on_retry=retry>
                {move || {
                    status
                        .get()
                        .map(|answer| {
                            answer
                                .map(|status| {
                                    let components = status.components.clone();
                                    let as_of = status.as_of;
                                    view! {
                                        <NoticeEditor components=status.components.clone() on_change=retry />
                                        <h2 class="notices-current">"Current notices"</h2>
                                        {status.notices.is_empty().then(|| view! { <p class="audit-empty">"There is no current notice."</p> })}
                                        <ul class="notice-list" data-testid="current-notices">
                                            {status
                                                .notices
                                                .into_iter()
                                                .map(|notice| {
                                                    let (id, kind) = (notice.id.clone(), notice.kind);
                                                    view! {
                                                        <NoticeItem notice components=components.clone() now_ms=as_of>
                                                            <UpdateForm id kind on_change=retry />
                                                        </NoticeItem>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                    }
                                })
                        })
                }}
            </Loaded>
        </section>
    }
}

/// Adds an update to a notice: its words, and where it stands now.
#[component]
fn UpdateForm(id: String, kind: NoticeKind, on_change: Callback<()>) -> impl IntoView {
    let message = RwSignal::new(String::new());
    let progress = RwSignal::new(None::<NoticeProgress>);
    let send = Action::new_local(move |request: &NoticeUpdateRequest| {
        let (id, request) = (id.clone(), request.clone());
        async move { api::update_notice(&id, &request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = send.value().get() {
            on_change.run(());
        }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        send.dispatch(NoticeUpdateRequest {
            message: message.get_untracked(),
            progress: progress.get_untracked(),
            title: None,
            components: None,
            starts_at: None,
            ends_at: None,
        });
    };
    let choices: &[NoticeProgress] = match kind {
        NoticeKind::Incident => &[
            NoticeProgress::Investigating,
            NoticeProgress::Identified,
            NoticeProgress::Monitoring,
            NoticeProgress::Resolved,
        ],
        NoticeKind::Maintenance => &[NoticeProgress::Resolved],
    };
    view! {
        <details class="notice-update">
            <summary>"Add an update"</summary>
            <form on:submit=submit>
                <label>
                    "What is new"
                    <textarea required rows="3" bind:value=message></textarea>
                </label>
                <label>
                    "Where it stands"
                    <select on:change=move |event| {
                        let chosen = event_target_value(&event);
                        progress.set(choices.iter().copied().find(|one| progress_words(*one) == chosen));
                    }>
                        <option value="">"Unchanged"</option>
                        {choices
                            .iter()
                            .map(|one| {
                                let words = match (kind, one) {
                                    (NoticeKind::Maintenance, NoticeProgress::Resolved) => "Finished: end it now",
                                    _ => progress_words(*one),
                                };
                                view! { <option value=progress_words(*one)>{words}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button type="submit" class="button-primary" disabled=move || send.pending().get()>
                    "Post the update"
                </button>
                <SendError value=Signal::derive(move || send.value().get()) />
            </form>
        </details>
    }
}

/// The error of the last send, said where the form is.
#[component]
fn SendError(#[prop(into)] value: Signal<Option<Result<Notice, api::ApiError>>>) -> impl IntoView {
    move || {
        value
            .get()
            .and_then(Result::err)
            .map(|error| view! { <p class="form-error" role="alert">{error.to_string()}</p> })
    }
}

/// Milliseconds since the epoch of a `datetime-local` field's value, read as local time.
fn local_input_ms(value: &str) -> Option<i64> {
    if value.is_empty() {
        return None;
    }
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value)).get_time();
    ms.is_finite().then_some(ms as i64)
}

/// Posts a new notice: an incident, or a maintenance window with its start and end.
#[component]
fn NoticeEditor(components: Vec<StatusComponent>, on_change: Callback<()>) -> impl IntoView {
    let kind = RwSignal::new(NoticeKind::Incident);
    let title = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let starts = RwSignal::new(String::new());
    let ends = RwSignal::new(String::new());
    let send = Action::new_local(|request: &NoticeRequest| {
        let request = request.clone();
        async move { api::post_notice(&request).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = send.value().get() {
            title.set(String::new());
            message.set(String::new());
            on_change.run(());
        }
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let maintenance = kind.get_untracked() == NoticeKind::Maintenance;
        send.dispatch(NoticeRequest {
            kind: kind.get_untracked(),
            title: title.get_untracked(),
            components: chosen.get_untracked(),
            message: message.get_untracked(),
            starts_at: if maintenance {
                local_input_ms(&starts.get_untracked())
            } else {
                None
            },
            ends_at: if maintenance {
                local_input_ms(&ends.get_untracked())
            } else {
                None
            },
        });
    };
    let maintenance = move || kind.get() == NoticeKind::Maintenance;
    view! {
        <section class="notice-editor" aria-labelledby="post-heading">
            <h2 id="post-heading">"Tell clinicians"</h2>
            <p class="lead">"Post an incident or a planned maintenance; it shows here and on every embedded status page at once."</p>
            <form on:submit=submit>
                <fieldset>
                    <legend>"Kind"</legend>
                    <label>
                        <input
                            type="radio"
                            name="notice-kind"
                            checked=move || !maintenance()
                            on:change=move |_| kind.set(NoticeKind::Incident)
                        />
                        "Incident: something is not working"
                    </label>
                    <label>
                        <input
                            type="radio"
                            name="notice-kind"
                            checked=maintenance
                            on:change=move |_| kind.set(NoticeKind::Maintenance)
                        />
                        "Planned maintenance"
                    </label>
                </fieldset>
                <label>
                    "Title"
                    <input type="text" required maxlength="120" bind:value=title />
                </label>
                <fieldset>
                    <legend>"Concerns"</legend>
                    {components
                        .into_iter()
                        .map(|component| {
                            let id = component.id.clone();
                            view! {
                                <label>
                                    <input
                                        type="checkbox"
                                        on:change=move |event| {
                                            let on = event_target_checked(&event);
                                            chosen
                                                .update(|chosen| {
                                                    chosen.retain(|one| one != &id);
                                                    if on {
                                                        chosen.push(id.clone());
                                                    }
                                                });
                                        }
                                    />
                                    {component.name}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <Show when=maintenance>
                    <label>
                        "Starts"
                        <input type="datetime-local" required bind:value=starts />
                    </label>
                    <label>
                        "Ends"
                        <input type="datetime-local" required bind:value=ends />
                    </label>
                </Show>
                <label>
                    "Message"
                    <textarea required rows="3" bind:value=message></textarea>
                </label>
                <button type="submit" class="button-primary" disabled=move || send.pending().get()>
                    "Post the notice"
                </button>
                <SendError value=Signal::derive(move || send.value().get()) />
            </form>
        </section>
    }
}
