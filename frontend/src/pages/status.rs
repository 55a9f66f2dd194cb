//! The status page everyone logged in sees, clinicians above all: whether registration,
//! logging in, appointments and records work, in words, with their last 24 hours, 7 days and
//! 90 days, operations' notices and past incidents. Operations post and update the notices on
//! their own page (`notices.rs`).

use leptos::prelude::*;
use vitals_api::{
    ComponentState, Notice, NoticeKind, NoticeProgress, Role, StatusComponent, StatusHistory, StatusResponse,
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
            {move || {
                may_post
                    .get()
                    .then(|| {
                        view! {
                            <p>
                                <a href="/notices">"Post or update a notice"</a>
                            </p>
                        }
                    })
            }}
            <Loaded lines=4 on_retry=retry>
                {move || {
                    status
                        .get()
                        .map(|answer| {
                            answer
                                .map(|status| view! { <StatusReport status span /> })
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
fn StatusReport(status: StatusResponse, span: RwSignal<usize>) -> impl IntoView {
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
                                    view! { <NoticeItem notice=notice.clone() components=components.clone() now_ms=status.as_of /> }
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
        {has_past
            .then(|| {
                view! {
                    <section class="status-past" aria-labelledby="past-heading">
                        <h2 id="past-heading">"Past incidents and maintenance"</h2>
                        <ul class="notice-list" data-testid="past-incidents">
                            {status
                                .past_incidents
                                .into_iter()
                                .map(|notice| view! { <NoticeItem notice components=Vec::new() now_ms=status.as_of /> })
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

pub fn progress_words(progress: NoticeProgress) -> &'static str {
    match progress {
        NoticeProgress::Scheduled => "Scheduled",
        NoticeProgress::Investigating => "Looking into it",
        NoticeProgress::Identified => "Cause found",
        NoticeProgress::Monitoring => "Fixed, watching",
        NoticeProgress::Resolved => "Resolved",
    }
}

/// A notice: its kind and phase, title, window, what it concerns and its timeline, newest
/// first; `children` (the form that updates it) at the end. Where it stands is said as of
/// `now_ms`, the server's time of the answer.
#[component]
pub fn NoticeItem(
    notice: Notice,
    components: Vec<StatusComponent>,
    now_ms: i64,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
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
            {children.map(|children| children())}
        </li>
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
