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
use sha2::{Digest, Sha256};
use vitals_api::{ComponentState, StatusResponse};

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
.head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 12px}main>.head{margin-bottom:8px}";

/// The words of the page in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Words {
    /// The `lang` of the page, such as `en`.
    pub lang: &'static str,
    pub title: &'static str,
    pub as_of: &'static str,
    pub since: &'static str,
    pub cannot_show: &'static str,
    pub cannot_show_why: &'static str,
    /// The name of each state, in [`ComponentState`] order.
    pub states: [&'static str; 6],
}

impl Words {
    pub const ENGLISH: Words = Words {
        lang: "en",
        title: "Clinic systems status",
        as_of: "Checked",
        since: "since",
        cannot_show: "The status cannot be shown here",
        cannot_show_why: "This page's link is not valid for this site, or has expired. \
                          Ask the clinic's administrators for a new one.",
        states: [
            "Working",
            "Slower than usual",
            "Partly not working",
            "Not working",
            "Planned maintenance",
            "Status unknown",
        ],
    };

    fn state(&self, state: ComponentState) -> &'static str {
        self.states[index(state)]
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
        words.lang,
        escape(words.title)
    )
}

/// The page for `status`, reloading itself every `refresh_seconds`.
pub fn render(status: &StatusResponse, words: &Words, refresh_seconds: u32) -> String {
    let mut html = head(words, Some(refresh_seconds));
    let _ = write!(
        html,
        "<body><main><div class=\"head\"><h1>{}</h1><p class=\"as-of\">{} {}</p></div><ul>",
        escape(words.title),
        words.as_of,
        clock_time(status.as_of)
    );
    for component in &status.components {
        let state = words.state(component.state);
        let _ = write!(
            html,
            "<li aria-label=\"{name}: {state}\"><div class=\"head\"><span class=\"name\">{name}</span>\
             <span class=\"state {class}\"><span aria-hidden=\"true\">{icon}</span> {state}</span></div>\
             <p class=\"says\">{says}</p><p class=\"since\">{since} {at}</p></li>",
            name = escape(&component.name),
            state = escape(state),
            class = class(component.state),
            icon = icon(component.state),
            says = escape(&component.says),
            since = words.since,
            at = clock_time(component.since),
        );
    }
    html.push_str("</ul></main></body></html>");
    html
}

/// The plain page a missing, expired, revoked, changed or other page's token gets: it says
/// the status cannot be shown, and shows none of it.
pub fn refused(words: &Words) -> String {
    format!(
        "{}<body><main><h1>{}</h1><p>{}</p></main></body></html>",
        head(words, None),
        escape(words.cannot_show),
        escape(words.cannot_show_why)
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
        }
    }

    #[test]
    fn each_state_is_said_in_words_and_an_icon_with_a_label_for_screen_readers() {
        let html = render(&status(), &Words::ENGLISH, 30);
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
        let html = refused(&Words::ENGLISH);
        assert!(html.contains("The status cannot be shown here"));
        for state in Words::ENGLISH.states {
            assert!(!html.contains(state), "{state} must not show");
        }
        assert!(!html.contains("refresh"));
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
