//! Notices from operations, checked and changed: incidents with their timeline, maintenance
//! windows that put components under maintenance for their span.
//!
//! Pure: a request and the notice as stored come in, the notice to store (or why not) comes out.

use vitals_api::{Notice, NoticeKind, NoticeProgress, NoticeRequest, NoticeUpdate, NoticeUpdateRequest};

use super::definition::StatusPage;

/// The longest title, in characters: one line on a small screen.
pub const MAX_TITLE_CHARS: usize = 120;
/// The longest update, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// The longest maintenance window.
pub const MAX_WINDOW_MS: i64 = 14 * DAY_MS;
/// The most updates one notice takes: a long incident updated every 10 minutes for two days.
pub const MAX_UPDATES: usize = 300;
/// How far back past incidents reach on the status page.
pub const PAST_INCIDENTS_MS: i64 = 14 * DAY_MS;
/// How far back the notices listing reaches.
pub const LISTED_MS: i64 = 90 * DAY_MS;
const DAY_MS: i64 = 86_400_000;

/// Why a request cannot be taken: the field at fault and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

fn checked_title(title: &str) -> Result<String, Refusal> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(refuse(
            "invalid_title",
            format!("write a title of 1 to {MAX_TITLE_CHARS} characters that says what clinicians notice"),
        ));
    }
    Ok(title.to_owned())
}

fn checked_message(message: &str) -> Result<String, Refusal> {
    let message = message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(refuse(
            "invalid_message",
            format!(
                "write a message of 1 to {MAX_MESSAGE_CHARS} characters: what is happening and what to do meanwhile"
            ),
        ));
    }
    Ok(message.to_owned())
}

/// The components named, each once, in the page's order; every one must be on `page`.
fn checked_components(page: &StatusPage, components: &[String]) -> Result<Vec<String>, Refusal> {
    if let Some(unknown) = components
        .iter()
        .find(|id| !page.components.iter().any(|component| &component.id == *id))
    {
        let known: Vec<&str> = page.components.iter().map(|c| c.id.as_str()).collect();
        return Err(refuse(
            "invalid_components",
            format!(
                "\"{unknown}\" is not a component of the status page; name one or more of {}",
                known.join(", ")
            ),
        ));
    }
    let named: Vec<String> = page
        .components
        .iter()
        .filter(|component| components.contains(&component.id))
        .map(|component| component.id.clone())
        .collect();
    if named.is_empty() {
        return Err(refuse(
            "invalid_components",
            "name at least one component the notice concerns",
        ));
    }
    Ok(named)
}

/// The furthest a notice's start may lie from now, either way.
const MAX_START_DISTANCE_MS: i64 = 365 * DAY_MS;

/// A start within a year of `now_ms`, either way.
fn checked_start(starts_at: i64, now_ms: i64) -> Result<i64, Refusal> {
    if starts_at.saturating_sub(now_ms).saturating_abs() > MAX_START_DISTANCE_MS {
        return Err(refuse(
            "invalid_window",
            "`starts_at` is more than a year from now; give the time the incident began or the work starts",
        ));
    }
    Ok(starts_at)
}

/// A maintenance window's start and end, checked; incidents have no end.
fn checked_window(kind: NoticeKind, starts_at: i64, ends_at: Option<i64>) -> Result<Option<i64>, Refusal> {
    match (kind, ends_at) {
        (NoticeKind::Incident, None) => Ok(None),
        (NoticeKind::Incident, Some(_)) => Err(refuse(
            "invalid_window",
            "an incident has no planned end; resolve it with an update when it is over",
        )),
        (NoticeKind::Maintenance, None) => Err(refuse(
            "invalid_window",
            "a maintenance window needs `ends_at`: when the work will be over",
        )),
        (NoticeKind::Maintenance, Some(ends_at)) if ends_at <= starts_at => Err(refuse(
            "invalid_window",
            "the maintenance window ends before it starts; give an `ends_at` after `starts_at`",
        )),
        (NoticeKind::Maintenance, Some(ends_at)) if ends_at.saturating_sub(starts_at) > MAX_WINDOW_MS => {
            Err(refuse(
                "invalid_window",
                "a maintenance window lasts at most 14 days; post longer work as several windows",
            ))
        }
        (NoticeKind::Maintenance, Some(ends_at)) => Ok(Some(ends_at)),
    }
}

/// A new notice from `request`, posted by `by` at `now_ms` under `id`.
pub fn posted(
    page: &StatusPage,
    request: &NoticeRequest,
    id: String,
    by: &str,
    now_ms: i64,
) -> Result<Notice, Refusal> {
    let starts_at = checked_start(request.starts_at.unwrap_or(now_ms), now_ms)?;
    let progress = match request.kind {
        NoticeKind::Incident => NoticeProgress::Investigating,
        NoticeKind::Maintenance => NoticeProgress::Scheduled,
    };
    Ok(Notice {
        id,
        kind: request.kind,
        title: checked_title(&request.title)?,
        components: checked_components(page, &request.components)?,
        starts_at,
        ends_at: checked_window(request.kind, starts_at, request.ends_at)?,
        resolved_at: None,
        updates: vec![NoticeUpdate {
            at: now_ms,
            by: by.to_owned(),
            progress,
            message: checked_message(&request.message)?,
        }],
    })
}

/// `notice` with `request` applied by `by` at `now_ms`: a new entry on its timeline, and the
/// title, components, window or progress it changes. A finished notice takes no more changes.
pub fn updated(
    page: &StatusPage,
    notice: &Notice,
    request: &NoticeUpdateRequest,
    by: &str,
    now_ms: i64,
) -> Result<Notice, Refusal> {
    if notice.resolved_at.is_some() {
        return Err(refuse(
            "notice_resolved",
            "this notice is resolved and takes no more updates; post a new notice",
        ));
    }
    if notice.updates.len() >= MAX_UPDATES {
        return Err(refuse(
            "too_many_updates",
            format!("a notice takes at most {MAX_UPDATES} updates; resolve it and post a new one"),
        ));
    }
    let mut changed = notice.clone();
    if let Some(title) = &request.title {
        changed.title = checked_title(title)?;
    }
    if let Some(components) = &request.components {
        changed.components = checked_components(page, components)?;
    }
    if request.starts_at.is_some() || request.ends_at.is_some() {
        changed.starts_at = checked_start(request.starts_at.unwrap_or(notice.starts_at), now_ms)?;
        changed.ends_at = checked_window(notice.kind, changed.starts_at, request.ends_at.or(notice.ends_at))?;
    }
    let progress = request
        .progress
        .or_else(|| notice.updates.last().map(|update| update.progress))
        .unwrap_or(NoticeProgress::Investigating);
    if progress == NoticeProgress::Resolved {
        changed.resolved_at = Some(now_ms);
    }
    changed.updates.push(NoticeUpdate {
        at: now_ms,
        by: by.to_owned(),
        progress,
        message: checked_message(&request.message)?,
    });
    Ok(changed)
}

/// The notices current at `now_ms` and those finished since `past_since_ms`, newest first.
pub fn current_and_past(notices: Vec<Notice>, now_ms: i64, past_since_ms: i64) -> (Vec<Notice>, Vec<Notice>) {
    let (current, past): (Vec<Notice>, Vec<Notice>) =
        notices.into_iter().partition(|notice| notice.is_current(now_ms));
    let past = past
        .into_iter()
        .filter(|notice| {
            notice
                .finished_at()
                .is_some_and(|finished| finished >= past_since_ms)
        })
        .collect();
    (current, past)
}

/// The maintenance window that puts `component` under maintenance at `now_ms`, if any.
pub fn maintaining<'a>(notices: &'a [Notice], component: &str, now_ms: i64) -> Option<&'a Notice> {
    notices.iter().find(|notice| notice.maintains(component, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::definition::{SHIPPED, SHIPPED_FILE, parse};

    const NOW: i64 = 1_795_515_600_000;
    const HOUR: i64 = 3_600_000;

    fn page() -> StatusPage {
        parse(SHIPPED_FILE, SHIPPED).unwrap()
    }

    fn incident() -> NoticeRequest {
        NoticeRequest {
            kind: NoticeKind::Incident,
            title: "  Logging in fails for some staff ".into(),
            components: vec!["login".into()],
            message: "We are looking into it. Use the paper form meanwhile.".into(),
            starts_at: None,
            ends_at: None,
        }
    }

    fn maintenance(starts_at: i64, ends_at: Option<i64>) -> NoticeRequest {
        NoticeRequest {
            kind: NoticeKind::Maintenance,
            title: "Records system upgrade".into(),
            components: vec!["records".into(), "appointments".into()],
            message: "Records cannot be opened during the upgrade.".into(),
            starts_at: Some(starts_at),
            ends_at,
        }
    }

    fn update(message: &str, progress: Option<NoticeProgress>) -> NoticeUpdateRequest {
        NoticeUpdateRequest {
            message: message.into(),
            progress,
            title: None,
            components: None,
            starts_at: None,
            ends_at: None,
        }
    }

    #[test]
    fn a_posted_incident_starts_now_investigating_with_its_first_words() {
        let notice = posted(&page(), &incident(), "n1".into(), "olivia", NOW).unwrap();
        assert_eq!(notice.title, "Logging in fails for some staff");
        assert_eq!(notice.starts_at, NOW);
        assert_eq!(notice.updates.len(), 1);
        assert_eq!(notice.updates[0].progress, NoticeProgress::Investigating);
        assert_eq!(notice.updates[0].by, "olivia");
        assert!(notice.is_current(NOW + 48 * HOUR), "open until resolved");
    }

    #[test]
    fn components_come_in_the_pages_order_each_once_and_must_be_on_the_page() {
        let mut request = maintenance(NOW, Some(NOW + HOUR));
        request.components = vec!["records".into(), "appointments".into(), "records".into()];
        let notice = posted(&page(), &request, "n1".into(), "olivia", NOW).unwrap();
        let page = page();
        let order: Vec<&str> = page
            .components
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| *id == "records" || *id == "appointments")
            .collect();
        assert_eq!(notice.components, order);

        request.components = vec!["pharmacy".into()];
        let refusal = posted(&page, &request, "n1".into(), "olivia", NOW).unwrap_err();
        assert_eq!(refusal.code, "invalid_components");
        assert!(refusal.message.contains("\"pharmacy\""), "{}", refusal.message);
        assert!(
            refusal.message.contains("login"),
            "names the known ones: {}",
            refusal.message
        );
        request.components = Vec::new();
        assert_eq!(
            posted(&page, &request, "n1".into(), "olivia", NOW)
                .unwrap_err()
                .code,
            "invalid_components"
        );
    }

    #[test]
    fn wrong_requests_are_refused_saying_what_to_change() {
        let cases: Vec<(NoticeRequest, &str)> = vec![
            (
                NoticeRequest {
                    title: " ".into(),
                    ..incident()
                },
                "invalid_title",
            ),
            (
                NoticeRequest {
                    title: "x".repeat(MAX_TITLE_CHARS + 1),
                    ..incident()
                },
                "invalid_title",
            ),
            (
                NoticeRequest {
                    message: String::new(),
                    ..incident()
                },
                "invalid_message",
            ),
            (
                NoticeRequest {
                    ends_at: Some(NOW + HOUR),
                    ..incident()
                },
                "invalid_window",
            ),
            (maintenance(NOW, None), "invalid_window"),
            (maintenance(NOW, Some(NOW)), "invalid_window"),
            (maintenance(NOW, Some(NOW + 15 * 24 * HOUR)), "invalid_window"),
            (maintenance(i64::MIN, Some(i64::MAX)), "invalid_window"),
            (
                maintenance(NOW + 400 * 24 * HOUR, Some(NOW + 401 * 24 * HOUR)),
                "invalid_window",
            ),
            (
                NoticeRequest {
                    starts_at: Some(i64::MIN),
                    ..incident()
                },
                "invalid_window",
            ),
        ];
        for (request, code) in cases {
            let refusal = posted(&page(), &request, "n1".into(), "olivia", NOW).unwrap_err();
            assert_eq!(refusal.code, code, "{request:?}");
            assert!(!refusal.message.is_empty());
        }
    }

    #[test]
    fn a_window_maintains_its_components_only_for_its_span() {
        let notice = posted(
            &page(),
            &maintenance(NOW + HOUR, Some(NOW + 3 * HOUR)),
            "m1".into(),
            "olivia",
            NOW,
        )
        .unwrap();
        let notices = [notice];
        let cases = [
            (NOW, "records", false, "announced, not begun"),
            (NOW + HOUR, "records", true, "from its start"),
            (NOW + 2 * HOUR, "appointments", true, "every component it names"),
            (NOW + 2 * HOUR, "login", false, "only the components it names"),
            (NOW + 3 * HOUR, "records", false, "over at its end"),
        ];
        for (at, component, expected, why) in cases {
            assert_eq!(maintaining(&notices, component, at).is_some(), expected, "{why}");
        }
        let (current, past) = current_and_past(notices.to_vec(), NOW, NOW - PAST_INCIDENTS_MS);
        assert_eq!((current.len(), past.len()), (1, 0), "announced is current");
        let (current, past) = current_and_past(notices.to_vec(), NOW + 4 * HOUR, NOW);
        assert_eq!((current.len(), past.len()), (0, 1), "over is past");
    }

    #[test]
    fn updates_add_to_the_timeline_and_resolving_ends_the_notice() {
        let page = page();
        let notice = posted(&page, &incident(), "n1".into(), "olivia", NOW).unwrap();
        let identified = updated(
            &page,
            &notice,
            &update(
                "The sign-in service lost its database; restarting it.",
                Some(NoticeProgress::Identified),
            ),
            "omar",
            NOW + HOUR,
        )
        .unwrap();
        assert_eq!(identified.updates.len(), 2);
        assert_eq!(identified.updates[1].progress, NoticeProgress::Identified);
        let more = updated(
            &page,
            &identified,
            &update("Still restarting.", None),
            "omar",
            NOW + 2 * HOUR,
        )
        .unwrap();
        assert_eq!(
            more.updates[2].progress,
            NoticeProgress::Identified,
            "progress carries on"
        );
        assert!(more.is_current(NOW + 2 * HOUR));
        let resolved = updated(
            &page,
            &more,
            &update("Logins work again.", Some(NoticeProgress::Resolved)),
            "omar",
            NOW + 3 * HOUR,
        )
        .unwrap();
        assert_eq!(resolved.resolved_at, Some(NOW + 3 * HOUR));
        assert!(!resolved.is_current(NOW + 3 * HOUR));
        let refusal = updated(&page, &resolved, &update("Again?", None), "omar", NOW + 4 * HOUR).unwrap_err();
        assert_eq!(refusal.code, "notice_resolved");
    }

    #[test]
    fn ending_a_window_early_or_moving_it_changes_when_it_maintains() {
        let page = page();
        let notice = posted(
            &page,
            &maintenance(NOW, Some(NOW + 4 * HOUR)),
            "m1".into(),
            "olivia",
            NOW,
        )
        .unwrap();
        let done = updated(
            &page,
            &notice,
            &update("Finished early.", Some(NoticeProgress::Resolved)),
            "olivia",
            NOW + HOUR,
        )
        .unwrap();
        assert!(done.maintains("records", NOW + HOUR - 1));
        assert!(!done.maintains("records", NOW + HOUR), "over once resolved");
        let mut longer = update("Taking longer: one more hour.", None);
        longer.ends_at = Some(NOW + 5 * HOUR);
        let extended = updated(&page, &notice, &longer, "olivia", NOW + 3 * HOUR).unwrap();
        assert!(extended.maintains("records", NOW + 4 * HOUR + 1));
        longer.ends_at = Some(NOW - HOUR);
        assert_eq!(
            updated(&page, &notice, &longer, "olivia", NOW + 3 * HOUR)
                .unwrap_err()
                .code,
            "invalid_window"
        );
    }
}
