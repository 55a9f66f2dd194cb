//! The status page everyone logged in sees, clinicians above all: whether registration,
//! logging in, appointments and records work, in words, with their last 24 hours, 7 days and
//! 90 days, operations' notices and past incidents. Operations and admins post and update the
//! notices here.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vitals_api::{
    ComponentState, Notice, NoticeKind, NoticeProgress, NoticeRequest, NoticeUpdateRequest, Role,
    StatusComponent, StatusHistory, StatusResponse,
};

use crate::api;
use crate::components::loaded::Loaded;
use crate::format::{duration_words, local_clock, local_day_and_time};
use crate::refresh::{LIVE_REFRESH, refresh_every};
use crate::session::{SessionState, use_session};

/// The spans of history, as the server names them and as the page says them.
const SPANS: [(&str, &str); 3] = [("24h", "24 hours"), ("7d", "7 days"), ("90d", "90 days")];

/// The components, notices and past incidents, checked again every [`LIVE_REFRESH`].
#[component]
pub fn StatusPage() -> impl IntoView {
    crate::pages::set_page_title("Status");
    let status = LocalResource::new(api::status);
    refresh_every(status, LIVE_REFRESH);
    let retry = Callback::new(move |()| status.refetch());
    let session = use_session();
    let may_post = Memo::new(move |_| {
        session
            .state()
            .with(|state| matches!(state, SessionState::LoggedIn(info) if info.may(Role::Operations)))
    });
    let span = RwSignal::new(0_usize);

    view! {
        <section class="area" aria-labelledby="status-heading">
            <h1 id="status-heading">"Status"</h1>
            <p class="lead">
                "Whether the systems the clinic relies on are working, in plain words, and what the IT team has said about them."
            </p>
            <Loaded lines=4 on_retry=retry>
                {move || {
                    status
                        .get()
                        .map(|answer| {
                            answer
                                .map(|status| {
                                    view! { <StatusReport status span may_post=may_post.get() on_change=retry /> }
                                })
                        })
                }}
            </Loaded>
        </section>
    }
}

/// The state's words with an icon, and its class: never colour alone.
pub fn state_words(state: ComponentState) -> (&'static str, &'static str) {
    match state {
        ComponentState::Operational => ("operational", "✓ Working"),
        ComponentState::DegradedPerformance => ("degraded", "◐ Slower than usual"),
        ComponentState::PartialOutage => ("partial", "▲ Partly not working"),
        ComponentState::MajorOutage => ("major", "✖ Not working"),
        ComponentState::UnderMaintenance => ("maintenance", "⚙ Planned maintenance"),
        ComponentState::Unknown => ("unknown", "? Status unknown"),
    }
}

#[component]
fn StatusReport(
    status: StatusResponse,
    span: RwSignal<usize>,
    may_post: bool,
    on_change: Callback<()>,
) -> impl IntoView {
    let checked = format!(
        "Checked at {}; checked again every {} seconds.",
        local_clock(status.as_of),
        status.interval_seconds
    );
    let stale = status.stale.clone().map(|why| {
        view! {
            <p class="status-stale" role="status">
                "⚠ "
                {why}
            </p>
        }
    });
    let components = status.components.clone();
    let has_notices = !status.notices.is_empty();
    let has_past = !status.past_incidents.is_empty();
    let editor = may_post.then(|| view! { <NoticeEditor components=status.components.clone() on_change /> });
    view! {
        {stale}
        <p class="status-checked">{checked}</p>
        {has_notices
            .then(|| {
                view! {
                    <section class="status-notices" aria-labelledby="notices-heading">
                        <h2 id="notices-heading">"Messages from the IT team"</h2>
                        <ul class="notice-list" data-testid="current-notices">
                            {status
                                .notices
                                .iter()
                                .map(|notice| {
                                    view! { <NoticeItem notice=notice.clone() components=components.clone() may_post on_change /> }
                                })
                                .collect_view()}
                        </ul>
                    </section>
                }
            })}
        <div class="status-spans" role="group" aria-label="History to show">
            <span class="status-spans-label" aria-hidden="true">"History: "</span>
            {SPANS
                .iter()
                .enumerate()
                .map(|(index, (_, words))| {
                    view! {
                        <button
                            type="button"
                            class="button-quiet"
                            aria-pressed=move || (span.get() == index).to_string()
                            on:click=move |_| span.set(index)
                        >
                            {format!("Last {words}")}
                        </button>
                    }
                })
                .collect_view()}
        </div>
        <ul class="status-components" data-testid="status-components">
            {status
                .components
                .into_iter()
                .map(|component| view! { <ComponentItem component as_of=status.as_of span /> })
                .collect_view()}
        </ul>
        {editor}
        {has_past
            .then(|| {
                view! {
                    <section class="status-past" aria-labelledby="past-heading">
                        <h2 id="past-heading">"Past incidents and maintenance"</h2>
                        <ul class="notice-list" data-testid="past-incidents">
                            {status
                                .past_incidents
                                .into_iter()
                                .map(|notice| view! { <NoticeItem notice components=Vec::new() may_post=false on_change /> })
                                .collect_view()}
                        </ul>
                    </section>
                }
            })}
    }
}

#[component]
fn ComponentItem(component: StatusComponent, as_of: i64, span: RwSignal<usize>) -> impl IntoView {
    let (class, words) = state_words(component.state);
    let when = match component.last_known {
        Some(known) => format!(
            "Last known: {}, {} ago.",
            state_words(known).1,
            duration_words(as_of - component.since)
        ),
        None => format!("Since {}.", local_day_and_time(component.since)),
    };
    let history = component.history;
    let name = component.name.clone();
    view! {
        <li class=format!("status-component state-{class}")>
            <div class="status-component-head">
                <h3>{component.name}</h3>
                <span class=format!("status-state state-{class}")>{words}</span>
            </div>
            <p class="status-says">{component.says}</p>
            <p class="status-when">{when}</p>
            <p class="status-description">{component.description}</p>
            {move || {
                let (key, words) = SPANS[span.get().min(SPANS.len() - 1)];
                history
                    .iter()
                    .find(|history| history.span == key)
                    .map(|history| view! { <HistoryBars history=history.clone() name=name.clone() words /> })
            }}
        </li>
    }
}

/// One span of a component's history: a bar per hour or day, said in words for screen readers.
#[component]
fn HistoryBars(history: StatusHistory, name: String, words: &'static str) -> impl IntoView {
    let summary = history_words(&history, words);
    view! {
        <div class="history">
            <div class="history-bars" role="img" aria-label=format!("{name}, last {words}: {summary}")>
                {history
                    .bars
                    .iter()
                    .map(|bar| {
                        let (class, state) = bar.worst.map_or(("none", "Not watched yet"), state_words);
                        view! {
                            <span
                                class=format!("history-bar state-{class}")
                                title=format!("{}: {state}", local_day_and_time(bar.from))
                            ></span>
                        }
                    })
                    .collect_view()}
            </div>
            <p class="history-summary" aria-hidden="true">{summary}</p>
        </div>
    }
}

/// The share of a span that was working, and how many bars had trouble, in words.
pub fn history_words(history: &StatusHistory, span_words: &str) -> String {
    let troubled = history
        .bars
        .iter()
        .filter(|bar| {
            bar.worst.is_some_and(|state| {
                !matches!(
                    state,
                    ComponentState::Operational | ComponentState::UnderMaintenance
                )
            })
        })
        .count();
    let unit = if history.span == "24h" { "hour" } else { "day" };
    let trouble = match troubled {
        0 => format!("no {unit} with trouble"),
        1 => format!("1 {unit} with trouble"),
        n => format!("{n} {unit}s with trouble"),
    };
    match history.up_share {
        Some(share) => format!(
            "working {}% of the last {span_words}; {trouble}",
            crate::format::decimal(share * 100.0, 1)
        ),
        None => "nothing recorded yet in this span".to_owned(),
    }
}

/// What kind of notice it is, and where it stands, in words.
pub fn notice_words(notice: &Notice, now_ms: i64) -> (&'static str, &'static str) {
    let kind = match notice.kind {
        NoticeKind::Incident => "⚠ Incident",
        NoticeKind::Maintenance => "⚙ Planned maintenance",
    };
    let phase = match (notice.kind, notice.finished_at()) {
        (_, Some(finished)) if finished <= now_ms => match notice.kind {
            NoticeKind::Incident => "resolved",
            NoticeKind::Maintenance => "finished",
        },
        (NoticeKind::Maintenance, _) if now_ms < notice.starts_at => "coming up",
        (NoticeKind::Maintenance, _) => "under way",
        (NoticeKind::Incident, _) => match notice.updates.last().map(|update| update.progress) {
            Some(NoticeProgress::Identified) => "cause found",
            Some(NoticeProgress::Monitoring) => "fixed, being watched",
            _ => "being looked into",
        },
    };
    (kind, phase)
}

fn progress_words(progress: NoticeProgress) -> &'static str {
    match progress {
        NoticeProgress::Scheduled => "Scheduled",
        NoticeProgress::Investigating => "Looking into it",
        NoticeProgress::Identified => "Cause found",
        NoticeProgress::Monitoring => "Fixed, watching",
        NoticeProgress::Resolved => "Resolved",
    }
}

#[component]
fn NoticeItem(
    notice: Notice,
    components: Vec<StatusComponent>,
    may_post: bool,
    on_change: Callback<()>,
) -> impl IntoView {
    let now_ms = js_sys::Date::now() as i64;
    let (kind, phase) = notice_words(&notice, now_ms);
    let window = notice.ends_at.map(|ends_at| {
        format!(
            "From {} to {}.",
            local_day_and_time(notice.starts_at),
            local_day_and_time(ends_at)
        )
    });
    let names: Vec<String> = notice
        .components
        .iter()
        .map(|id| {
            components
                .iter()
                .find(|component| &component.id == id)
                .map_or_else(|| id.clone(), |component| component.name.clone())
        })
        .collect();
    let open = notice.resolved_at.is_none();
    let id = notice.id.clone();
    view! {
        <li class="notice-card">
            <p class="notice-kind">
                <strong>{kind}</strong>
                {format!(" · {phase}")}
            </p>
            <h3>{notice.title.clone()}</h3>
            {window.map(|window| view! { <p class="notice-window">{window}</p> })}
            {(!names.is_empty()).then(|| view! { <p class="notice-concerns">{format!("Concerns: {}.", names.join(", "))}</p> })}
            <ol class="notice-timeline" aria-label="Updates, newest first">
                {notice
                    .updates
                    .iter()
                    .rev()
                    .map(|update| {
                        view! {
                            <li>
                                <span class="notice-when">
                                    {format!("{} · {}", local_day_and_time(update.at), progress_words(update.progress))}
                                </span>
                                <p>{update.message.clone()}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {(may_post && open).then(|| view! { <UpdateForm id kind=notice.kind on_change /> })}
        </li>
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

#[cfg(test)]
mod tests {
    use vitals_api::{NoticeUpdate, StatusBar};

    use super::*;

    #[test]
    fn every_state_is_said_in_words_with_an_icon() {
        let states = [
            ComponentState::Operational,
            ComponentState::DegradedPerformance,
            ComponentState::PartialOutage,
            ComponentState::MajorOutage,
            ComponentState::UnderMaintenance,
            ComponentState::Unknown,
        ];
        let words: Vec<&str> = states.iter().map(|state| state_words(*state).1).collect();
        for said in &words {
            let (icon, rest) = said.split_once(' ').unwrap();
            assert!(!icon.is_empty() && !rest.is_empty(), "{said}");
        }
        let mut unique = words.clone();
        unique.dedup();
        assert_eq!(unique.len(), states.len(), "{words:?}");
    }

    fn bar(worst: Option<ComponentState>) -> StatusBar {
        StatusBar {
            from: 0,
            to: 1,
            worst,
            up_share: None,
        }
    }

    #[test]
    fn a_span_of_history_is_said_in_words() {
        let history = StatusHistory {
            span: "7d".into(),
            up_share: Some(0.987),
            bars: vec![
                bar(Some(ComponentState::Operational)),
                bar(Some(ComponentState::PartialOutage)),
                bar(Some(ComponentState::UnderMaintenance)),
                bar(None),
            ],
        };
        assert_eq!(
            history_words(&history, "7 days"),
            "working 98.7% of the last 7 days; 1 day with trouble"
        );
        let empty = StatusHistory {
            span: "24h".into(),
            up_share: None,
            bars: vec![bar(None)],
        };
        assert_eq!(
            history_words(&empty, "24 hours"),
            "nothing recorded yet in this span"
        );
    }

    #[test]
    fn a_notice_says_where_it_stands() {
        let mut notice = Notice {
            id: "n".into(),
            kind: NoticeKind::Maintenance,
            title: "Upgrade".into(),
            components: vec!["records".into()],
            starts_at: 1_000,
            ends_at: Some(2_000),
            resolved_at: None,
            updates: vec![NoticeUpdate {
                at: 500,
                by: "olivia".into(),
                progress: NoticeProgress::Scheduled,
                message: "Soon.".into(),
            }],
        };
        assert_eq!(notice_words(&notice, 900), ("⚙ Planned maintenance", "coming up"));
        assert_eq!(notice_words(&notice, 1_500).1, "under way");
        assert_eq!(notice_words(&notice, 2_000).1, "finished");
        notice.kind = NoticeKind::Incident;
        notice.ends_at = None;
        notice.updates[0].progress = NoticeProgress::Identified;
        assert_eq!(notice_words(&notice, 1_500), ("⚠ Incident", "cause found"));
        notice.resolved_at = Some(1_600);
        assert_eq!(notice_words(&notice, 1_700).1, "resolved");
    }
}
