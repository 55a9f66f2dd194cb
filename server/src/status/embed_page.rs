//! The status page as an intranet iframe shows it: server-rendered HTML that needs no script
//! (it reloads itself with a meta refresh), readable at 320 px, light and dark as the reader's
//! system prefers, each state in words and an icon as well as colour. It carries aggregates
//! only: a component's name, state, sentence and since when; never a query, a log line, a
//! host name or anything about a patient.
//!
//! Pure: the HTML and the `frame-ancestors` policy are built here; the route serves them.

use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use vitals_api::{ComponentState, Notice, NoticeKind, StatusComponent, StatusResponse};

/// The page's one stylesheet, inline, allowed by its hash in the page's own policy. Colours
/// meet WCAG AA contrast on their background in both schemes.
pub const CSS: &str = "\
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1b1f24;--muted:#4a5561;--line:#d5dbe1;\
--ok:#0f6b2f;--slow:#7a4d00;--down:#a4161a;--planned:#1f4f99;--unknown:#4a5561}\
@media (prefers-color-scheme:dark){:root{--bg:#15191e;--fg:#eef1f4;--muted:#b4bec8;--line:#38414a;\
--ok:#6fd48f;--slow:#f2c14e;--down:#ff8a8a;--planned:#9cc2ff;--unknown:#c4ccd4}}\
*{box-sizing:border-box}body{margin:0;padding:12px;background:var(--bg);color:var(--fg);\
font:15px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;min-width:280px}\
h1{font-size:17px;margin:0 0 8px}p{margin:0}ul{list-style:none;margin:0;padding:0}\
li{border-top:1px solid var(--line);padding:8px 0}.name{font-weight:600}\
.state{font-weight:600;white-space:nowrap}.says{margin:2px 0}.since,.as-of{color:var(--muted);font-size:13px}\
.operational{color:var(--ok)}.degraded_performance{color:var(--slow)}.partial_outage,.major_outage{color:var(--down)}\
.under_maintenance{color:var(--planned)}.unknown{color:var(--unknown)}\
.head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 12px}main>.head{margin-bottom:8px}\
h2{font-size:16px;margin:12px 0 4px}.note{border:1px solid var(--line);padding:6px 8px;margin:0 0 8px}";

/// The words of the page in the hospital's language: English unless the status page's file
/// says otherwise (`language` and `[words]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Words {
    /// The `lang` of the page, such as `en`.
    pub lang: String,
    pub title: String,
    pub as_of: String,
    pub since: String,
    pub cannot_show: String,
    pub cannot_show_why: String,
    /// The heading above operations' notices.
    pub notices: String,
    pub incident: String,
    pub maintenance: String,
    /// "from … until …" of a maintenance window.
    pub from: String,
    pub until: String,
    pub updated: String,
    /// Before the state last known while a component's state is unknown.
    pub last_known: String,
    /// Ages: "{n} min ago", "{n} h ago", "{n} days ago".
    pub minutes_ago: String,
    pub hours_ago: String,
    pub days_ago: String,
    /// Said when the status could not be checked now and the last known one shows.
    pub stale: String,
    pub states: StateWords,
}

/// The name of each state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateWords {
    pub operational: String,
    pub degraded_performance: String,
    pub partial_outage: String,
    pub major_outage: String,
    pub under_maintenance: String,
    pub unknown: String,
}

impl Default for StateWords {
    fn default() -> Self {
        Self {
            operational: "Working".into(),
            degraded_performance: "Slower than usual".into(),
            partial_outage: "Partly not working".into(),
            major_outage: "Not working".into(),
            under_maintenance: "Planned maintenance".into(),
            unknown: "Status unknown".into(),
        }
    }
}

impl Default for Words {
    fn default() -> Self {
        Self {
            lang: "en".into(),
            title: "Clinic systems status".into(),
            as_of: "Checked".into(),
            since: "since".into(),
            cannot_show: "The status cannot be shown here".into(),
            cannot_show_why: "This page's link is not valid for this site, or has expired. \
                              Ask the clinic's administrators for a new one."
                .into(),
            notices: "Messages from the IT team".into(),
            incident: "Incident".into(),
            maintenance: "Planned maintenance".into(),
            from: "from".into(),
            until: "until".into(),
            updated: "Updated".into(),
            last_known: "Last known".into(),
            minutes_ago: "{n} min ago".into(),
            hours_ago: "{n} h ago".into(),
            days_ago: "{n} days ago".into(),
            stale: "Vitals cannot check right now; this is the status as of its last check.".into(),
            states: StateWords::default(),
        }
    }
}

impl Words {
    /// The words of each state, in [`ComponentState`] order.
    pub fn states(&self) -> [&str; 6] {
        let states = &self.states;
        [
            &states.operational,
            &states.degraded_performance,
            &states.partial_outage,
            &states.major_outage,
            &states.under_maintenance,
            &states.unknown,
        ]
    }

    fn state(&self, state: ComponentState) -> &str {
        self.states()[index(state)]
    }

    /// How long ago `age_ms` was, in the page's words.
    fn ago(&self, age_ms: i64) -> String {
        let minutes = age_ms.max(0) / 60_000;
        let (template, n) = match minutes {
            0..120 => (&self.minutes_ago, minutes),
            120..2_880 => (&self.hours_ago, minutes / 60),
            _ => (&self.days_ago, minutes / 1_440),
        };
        template.replace("{n}", &n.to_string())
    }
}

fn index(state: ComponentState) -> usize {
    match state {
        ComponentState::Operational => 0,
        ComponentState::DegradedPerformance => 1,
        ComponentState::PartialOutage => 2,
        ComponentState::MajorOutage => 3,
        ComponentState::UnderMaintenance => 4,
        ComponentState::Unknown => 5,
    }
}

/// The icon beside each state's words: the state never rests on colour alone.
fn icon(state: ComponentState) -> &'static str {
    ["✓", "◐", "▲", "✖", "⚙", "?"][index(state)]
}

fn class(state: ComponentState) -> &'static str {
    [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
        "unknown",
    ][index(state)]
}

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `HH:MM UTC` of `ms`; the page shows times the same to every reader.
fn clock_time(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// `YYYY-MM-DD HH:MM UTC` of `ms`, for notices that may be days away.
fn date_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // Days since 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year}-{month:02}-{day:02} {}", clock_time(ms))
}

/// `style-src` for the page: its one inline stylesheet, by hash.
pub fn style_source() -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(CSS.as_bytes())))
}

fn head(words: &Words, refresh_seconds: Option<u32>) -> String {
    let refresh = refresh_seconds.map_or(String::new(), |seconds| {
        format!("<meta http-equiv=\"refresh\" content=\"{seconds}\">")
    });
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{refresh}\
         <title>{}</title><style>{CSS}</style></head>",
        escape(&words.lang),
        escape(&words.title)
    )
}

/// The page for `status`, reloading itself every `refresh_seconds`.
pub fn render(status: &StatusResponse, words: &Words, refresh_seconds: u32) -> String {
    let mut html = head(words, Some(refresh_seconds));
    let _ = write!(
        html,
        "<body><main><div class=\"head\"><h1>{}</h1><p class=\"as-of\">{} {}</p></div>",
        escape(&words.title),
        escape(&words.as_of),
        clock_time(status.as_of)
    );
    if status.stale.is_some() {
        let _ = write!(
            html,
            "<p class=\"note\" role=\"status\"><span aria-hidden=\"true\">⚠</span> {}</p>",
            escape(&words.stale)
        );
    }
    html.push_str("<ul>");
    for component in &status.components {
        component_item(&mut html, component, status.as_of, words);
    }
    html.push_str("</ul>");
    if !status.notices.is_empty() {
        let _ = write!(
            html,
            "<section aria-labelledby=\"notices\"><h2 id=\"notices\">{}</h2><ul>",
            escape(&words.notices)
        );
        for notice in &status.notices {
            notice_item(&mut html, notice, words);
        }
        html.push_str("</ul></section>");
    }
    html.push_str("</main></body></html>");
    html
}

fn component_item(html: &mut String, component: &StatusComponent, as_of: i64, words: &Words) {
    let state = words.state(component.state);
    let _ = write!(
        html,
        "<li aria-label=\"{name}: {state}\"><div class=\"head\"><span class=\"name\">{name}</span>\
         <span class=\"state {class}\"><span aria-hidden=\"true\">{icon}</span> {state}</span></div>\
         <p class=\"says\">{says}</p><p class=\"since\">",
        name = escape(&component.name),
        state = escape(state),
        class = class(component.state),
        icon = icon(component.state),
        says = escape(&component.says),
    );
    if let Some(known) = component.last_known {
        let _ = write!(
            html,
            "{}: {}, {}",
            escape(&words.last_known),
            escape(words.state(known)),
            escape(&words.ago(as_of - component.since))
        );
    } else {
        let _ = write!(html, "{} {}", escape(&words.since), clock_time(component.since));
    }
    html.push_str("</p></li>");
}

fn notice_item(html: &mut String, notice: &Notice, words: &Words) {
    let (kind, icon) = match notice.kind {
        NoticeKind::Incident => (&words.incident, "⚠"),
        NoticeKind::Maintenance => (&words.maintenance, "⚙"),
    };
    let _ = write!(
        html,
        "<li><p class=\"name\"><span aria-hidden=\"true\">{icon}</span> {}: {}</p>",
        escape(kind),
        escape(&notice.title)
    );
    if let Some(update) = notice.updates.last() {
        let _ = write!(html, "<p class=\"says\">{}</p>", escape(&update.message));
    }
    let when = match (notice.kind, notice.ends_at, notice.updates.last()) {
        (NoticeKind::Maintenance, Some(ends_at), _) => format!(
            "{} {} {} {}",
            escape(&words.from),
            date_time(notice.starts_at),
            escape(&words.until),
            date_time(ends_at)
        ),
        (_, _, Some(update)) => format!("{} {}", escape(&words.updated), date_time(update.at)),
        _ => format!("{} {}", escape(&words.since), date_time(notice.starts_at)),
    };
    let _ = write!(html, "<p class=\"since\">{when}</p></li>");
}

/// The plain page a missing, expired, revoked, changed or other page's token gets: it says
/// the status cannot be shown, and shows none of it.
pub fn refused(words: &Words) -> String {
    format!(
        "{}<body><main><h1>{}</h1><p>{}</p></main></body></html>",
        head(words, None),
        escape(&words.cannot_show),
        escape(&words.cannot_show_why)
    )
}

/// An origin an admin may allow to frame the page: `https://host[:port]` (or `http://` for
/// `localhost`), written back in the form browsers compare. The error says what to write.
pub fn checked_origin(text: &str) -> Result<String, String> {
    let wrong = || {
        format!(
            "\"{text}\" is not an origin; write the scheme and host of the page that embeds the status, \
             such as https://intranet.hospital.example"
        )
    };
    let url = url::Url::parse(text.trim()).map_err(|_| wrong())?;
    let host = url.host_str().ok_or_else(wrong)?;
    let local = host == "localhost" || host == "127.0.0.1";
    let allowed_scheme = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !allowed_scheme {
        return Err(format!(
            "\"{text}\" is not served over HTTPS; only https:// origins (and http://localhost) may embed the status"
        ));
    }
    if host.contains('*') || !url.username().is_empty() || url.password().is_some() {
        return Err(wrong());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "\"{text}\" has a path; an origin is only the scheme, host and port, such as https://intranet.hospital.example"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// The `Content-Security-Policy` of the embed page: framed by exactly `origins` (by nobody
/// when there are none), its one stylesheet, and nothing else loaded or run.
pub fn content_security_policy(origins: &[String]) -> String {
    let ancestors = if origins.is_empty() {
        "'none'".to_owned()
    } else {
        origins.join(" ")
    };
    format!(
        "default-src 'none'; style-src {}; frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'",
        style_source()
    )
}

#[cfg(test)]
mod tests {
    use vitals_api::{StatusComponent, StatusResponse};

    use super::*;

    const AT: i64 = 1_795_517_160_000; // 10:46 UTC

    fn status() -> StatusResponse {
        let component = |id: &str, name: &str, state, says: &str| StatusComponent {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            state,
            says: says.into(),
            since: AT - 360_000,
            last_known: None,
            history: Vec::new(),
        };
        StatusResponse {
            as_of: AT,
            interval_seconds: 30,
            components: vec![
                component(
                    "registration",
                    "Patient registration",
                    ComponentState::Operational,
                    "Registration is working.",
                ),
                component(
                    "login",
                    "Logging in",
                    ComponentState::PartialOutage,
                    "Some people cannot log in; trying again may work.",
                ),
                component(
                    "records",
                    "Records <&>",
                    ComponentState::Unknown,
                    "Vitals cannot tell.",
                ),
            ],
            notices: Vec::new(),
            past_incidents: Vec::new(),
            stale: None,
        }
    }

    #[test]
    fn each_state_is_said_in_words_and_an_icon_with_a_label_for_screen_readers() {
        let html = render(&status(), &Words::default(), 30);
        assert!(html.starts_with("<!doctype html><html lang=\"en\">"));
        assert!(
            html.contains("<meta http-equiv=\"refresh\" content=\"30\">"),
            "reloads without a script"
        );
        assert!(html.contains("aria-label=\"Logging in: Partly not working\""));
        assert!(html.contains("<span aria-hidden=\"true\">▲</span> Partly not working"));
        assert!(html.contains("<span aria-hidden=\"true\">✓</span> Working"));
        assert!(html.contains("Some people cannot log in; trying again may work."));
        assert!(html.contains("since 10:40 UTC") && html.contains("Checked 10:46 UTC"));
        assert!(html.contains("Records &lt;&amp;&gt;"), "names are escaped");
        assert!(!html.contains("<script"), "needs no script");
        assert!(html.contains("prefers-color-scheme:dark"), "light and dark");
    }

    /// WCAG's contrast ratio of two `#rrggbb` colours.
    fn contrast(a: &str, b: &str) -> f64 {
        let luminance = |hex: &str| {
            let channel = |at: usize| {
                let c = f64::from(u8::from_str_radix(&hex[at..at + 2], 16).unwrap()) / 255.0;
                if c <= 0.039_28 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
        };
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// The `--name:#rrggbb` colours of one `:root{…}` block of the stylesheet.
    fn colours(block: &str) -> Vec<(&str, &str)> {
        block
            .split([';', '{', '}'])
            .filter_map(|declaration| declaration.trim().strip_prefix("--")?.split_once(':'))
            .filter(|(_, value)| value.starts_with('#') && value.len() == 7)
            .collect()
    }

    #[test]
    fn every_colour_meets_wcag_aa_contrast_on_its_background_light_and_dark() {
        let dark_at = CSS.find("prefers-color-scheme:dark").unwrap();
        for scheme in [&CSS[..dark_at], &CSS[dark_at..]] {
            let colours = colours(scheme);
            let background = colours.iter().find(|(name, _)| *name == "bg").unwrap().1;
            let text: Vec<_> = colours
                .iter()
                .filter(|(name, _)| !["bg", "line"].contains(name))
                .collect();
            assert_eq!(text.len(), 7, "{colours:?}");
            for (name, colour) in text {
                let ratio = contrast(colour, background);
                assert!(ratio >= 4.5, "--{name} {colour} on {background}: {ratio:.2}");
            }
        }
    }

    #[test]
    fn a_refused_token_gets_a_plain_page_without_any_status() {
        let html = refused(&Words::default());
        assert!(html.contains("The status cannot be shown here"));
        for state in Words::default().states() {
            assert!(!html.contains(state), "{state} must not show");
        }
        assert!(!html.contains("refresh"));
    }

    fn notice(kind: NoticeKind, ends_at: Option<i64>) -> Notice {
        Notice {
            id: "n1".into(),
            kind,
            title: "Records system <upgrade>".into(),
            components: vec!["records".into()],
            starts_at: AT - 3_600_000,
            ends_at,
            resolved_at: None,
            updates: vec![vitals_api::NoticeUpdate {
                at: AT - 600_000,
                by: "olivia".into(),
                progress: vitals_api::NoticeProgress::Scheduled,
                message: "Records open read-only until noon.".into(),
            }],
        }
    }

    #[test]
    fn notices_show_their_kind_latest_words_and_window_but_not_who_wrote_them() {
        let mut answer = status();
        answer.notices = vec![
            notice(NoticeKind::Maintenance, Some(AT + 3_600_000)),
            notice(NoticeKind::Incident, None),
        ];
        let html = render(&answer, &Words::default(), 30);
        assert!(html.contains("<h2 id=\"notices\">Messages from the IT team</h2>"));
        assert!(html.contains("⚙</span> Planned maintenance: Records system &lt;upgrade&gt;"));
        assert!(html.contains("⚠</span> Incident: Records system"));
        assert!(html.contains("Records open read-only until noon."));
        assert!(
            html.contains("from 2026-11-24 09:46 UTC until 2026-11-24 11:46 UTC"),
            "a window's span, with its date"
        );
        assert!(
            html.contains("Updated 2026-11-24 10:36 UTC"),
            "an incident's last update"
        );
        assert!(!html.contains("olivia"), "the embed names no member of staff");
        assert!(
            !render(&status(), &Words::default(), 30).contains("<h2"),
            "no notices, no heading"
        );
    }

    #[test]
    fn an_unknown_component_shows_its_last_known_state_and_its_age() {
        let mut answer = status();
        answer.components[2].last_known = Some(ComponentState::Operational);
        answer.components[2].since = AT - 12 * 60_000;
        let html = render(&answer, &Words::default(), 30);
        assert!(html.contains("Last known: Working, 12 min ago"), "{html}");
        answer.components[2].since = AT - 3 * 86_400_000;
        assert!(render(&answer, &Words::default(), 30).contains("Last known: Working, 3 days ago"));
        answer.stale = Some("the store failed".into());
        let html = render(&answer, &Words::default(), 30);
        assert!(
            html.contains(
                "role=\"status\"><span aria-hidden=\"true\">⚠</span> Vitals cannot check right now"
            )
        );
        assert!(
            !html.contains("the store failed"),
            "the server's reason stays on the server"
        );
    }

    #[test]
    fn the_page_speaks_the_configured_language() {
        let words: Words = toml::from_str(
            "lang = \"de\"\ntitle = \"Status der Kliniksysteme\"\n[states]\noperational = \"Funktioniert\"\n",
        )
        .unwrap();
        let html = render(&status(), &words, 30);
        assert!(html.starts_with("<!doctype html><html lang=\"de\">"));
        assert!(html.contains("<h1>Status der Kliniksysteme</h1>"));
        assert!(html.contains("✓</span> Funktioniert"));
        assert!(
            html.contains("Partly not working"),
            "words not given stay English"
        );
    }

    #[test]
    fn origins_are_checked_and_written_as_browsers_compare_them() {
        let table = [
            (
                "https://intranet.hospital.example",
                Ok("https://intranet.hospital.example"),
            ),
            (
                "https://Intranet.Hospital.Example:8443/",
                Ok("https://intranet.hospital.example:8443"),
            ),
            (
                "https://intranet.hospital.example:443",
                Ok("https://intranet.hospital.example"),
            ),
            ("http://localhost:3000", Ok("http://localhost:3000")),
            ("http://intranet.hospital.example", Err("HTTPS")),
            ("https://intranet.hospital.example/status", Err("has a path")),
            ("https://*.hospital.example", Err("not an origin")),
            ("intranet.hospital.example", Err("not an origin")),
            ("javascript:alert(1)", Err("not an origin")),
        ];
        for (given, expected) in table {
            match (checked_origin(given), expected) {
                (Ok(origin), Ok(wanted)) => assert_eq!(origin, wanted, "{given}"),
                (Err(problem), Err(wanted)) => assert!(problem.contains(wanted), "{given}: {problem}"),
                (got, wanted) => panic!("{given}: {got:?}, wanted {wanted:?}"),
            }
        }
    }

    #[test]
    fn the_policy_lets_exactly_the_allowed_origins_frame_the_page() {
        let origins = vec![
            "https://intranet.hospital.example".to_owned(),
            "https://app.clinic.example".to_owned(),
        ];
        let policy = content_security_policy(&origins);
        assert!(
            policy.contains("frame-ancestors https://intranet.hospital.example https://app.clinic.example;"),
            "{policy}"
        );
        assert!(
            policy.contains("default-src 'none'") && policy.contains(&style_source()),
            "{policy}"
        );
        assert!(content_security_policy(&[]).contains("frame-ancestors 'none'"));
        assert!(style_source().starts_with("'sha256-") && style_source().len() == "'sha256-'".len() + 44);
    }
}
