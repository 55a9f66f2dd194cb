//! The status components as their file declares them (`server/dashboards/status.toml`), checked:
//! a plain-language name and description, and rules over metrics, logs, a dashboard panel's
//! threshold or a heartbeat's freshness, each setting one state with the sentence that says it.
//!
//! Every problem names the file, the line, the component and the key, and says what to write.

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;
use vitals_api::query::parse_duration_ms;

use super::embed_page::Words;
use super::rules::{Level, State, Test};
use crate::dashboards::FileError;
use crate::dashboards::definition::Locator;

/// The shipped components: registration, login, appointments and records.
pub const SHIPPED: &str = include_str!("../../dashboards/status.toml");
pub const SHIPPED_FILE: &str = "status.toml";
/// The status page's name in embed tokens: the one page there is.
pub const PAGE: &str = "clinic";

/// What the status page shows, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPage {
    /// How long a new state must hold before the page shows it, in milliseconds.
    pub hold_ms: i64,
    pub components: Vec<Component>,
    /// The embedded page's words, in the hospital's language.
    pub words: Words,
}

/// One thing clinicians rely on, named as they would name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub description: String,
    /// What the page says when no rule holds and nothing is missing.
    pub operational: String,
    /// What the page says when the readings needed to tell are missing.
    pub unknown: String,
    pub rules: Vec<Rule>,
}

/// One rule: its reading, the test on it, and the state and sentence when the test holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub state: State,
    pub says: String,
    pub reading: ReadingSource,
    pub test: Test,
}

/// Where a rule's reading comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadingSource {
    /// A PromQL query answering one number.
    Metric(String),
    /// A LogQL metric query answering one number.
    Logs(String),
    /// A dashboard panel's value, tested against the panel's own thresholds.
    Panel { dashboard: String, panel: String },
    /// The time of the newest sample a PromQL query has (a heartbeat).
    MetricHeartbeat(String),
    /// The time of the newest line a LogQL selector matches (a heartbeat).
    LogsHeartbeat(String),
    /// An objective's burn-rate alerts: watch while the slow (ticket) alert fires, bad while a
    /// fast (page) one does. Named by id in the file; [`StatusPage::with_objectives`] finds it.
    Slo {
        id: String,
        slo: Option<std::sync::Arc<crate::insights::slo::Slo>>,
    },
}

impl StatusPage {
    /// For each objective a rule reads (`slo = "…"`), the names of the components reading it.
    pub fn components_by_objective(&self) -> std::collections::HashMap<String, Vec<String>> {
        let mut found: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        for component in &self.components {
            for rule in &component.rules {
                if let ReadingSource::Slo { id, .. } = &rule.reading {
                    let names = found.entry(id.clone()).or_default();
                    if !names.contains(&component.name) {
                        names.push(component.name.clone());
                    }
                }
            }
        }
        found
    }

    /// The page with each `slo = "…"` rule joined to its objective, or the first rule naming
    /// an objective there is not, as an error that names the key.
    pub fn with_objectives(mut self, slos: &[crate::insights::slo::Slo]) -> Result<Self, FileError> {
        for component in &mut self.components {
            for (index, rule) in component.rules.iter_mut().enumerate() {
                if let ReadingSource::Slo { id, slo } = &mut rule.reading {
                    let found = slos.iter().find(|one| &one.id == id).ok_or_else(|| FileError {
                        file: SHIPPED_FILE.to_owned(),
                        line: None,
                        key: Some(format!("component \"{}\" rule {} slo", component.id, index + 1)),
                        problem: format!(
                            "there is no objective \"{id}\"; the objectives are {}",
                            slos.iter()
                                .map(|one| one.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?;
                    *slo = Some(std::sync::Arc::new(found.clone()));
                }
            }
        }
        Ok(self)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageFile {
    #[serde(default = "default_hold")]
    hold: String,
    /// The hospital's language (`de`, `fr-CH`): the embedded page's `lang`.
    language: Option<String>,
    /// The embedded page's words in that language; those not given stay English.
    words: Option<Words>,
    #[serde(rename = "component")]
    components: Vec<Spanned<ComponentFile>>,
}

fn default_hold() -> String {
    "2m".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentFile {
    id: String,
    name: String,
    description: String,
    operational: String,
    unknown: String,
    #[serde(rename = "rule", default)]
    rules: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    state: String,
    says: String,
    metric: Option<String>,
    logs: Option<String>,
    panel: Option<String>,
    heartbeat_metric: Option<String>,
    heartbeat_logs: Option<String>,
    slo: Option<String>,
    above: Option<f64>,
    below: Option<f64>,
    at: Option<Level>,
    older_than: Option<String>,
}

/// The states a rule may set: the others come from notices (under maintenance) and from
/// missing readings (unknown), and operational is what holds when no rule does.
const RULE_STATES: [(&str, State); 3] = [
    ("degraded_performance", State::DegradedPerformance),
    ("partial_outage", State::PartialOutage),
    ("major_outage", State::MajorOutage),
];

/// Reads and checks the status page's file.
pub fn parse(file: &str, text: &str) -> Result<StatusPage, FileError> {
    let at = Locator { file, text };
    let page: PageFile = at.read()?;
    let hold_ms = parse_duration_ms(&page.hold)
        .filter(|ms| (0..=86_400_000).contains(ms))
        .ok_or_else(|| {
            at.error(
                None,
                Some("hold".into()),
                format!(
                    "\"{}\" is not a duration of a day or less; write one such as 2m or 90s",
                    page.hold
                ),
            )
        })?;
    let mut seen = HashSet::new();
    let mut components = Vec::new();
    for spanned in page.components {
        let line = Some(at.line_at(spanned.span().start));
        let component = spanned.into_inner();
        let key = |name: &str| Some(format!("component \"{}\" {name}", component.id));
        if !is_identifier(&component.id) {
            return Err(at.error(
                line,
                Some("id".into()),
                format!(
                    "\"{}\" cannot be a component's id: use lowercase letters, digits and dashes, such as patient-registration",
                    component.id
                ),
            ));
        }
        if !seen.insert(component.id.clone()) {
            return Err(at.error(
                line,
                key("id"),
                "another component has this id; give each its own",
            ));
        }
        for (name, text) in [
            ("name", &component.name),
            ("description", &component.description),
            ("operational", &component.operational),
            ("unknown", &component.unknown),
        ] {
            if text.trim().is_empty() {
                return Err(at.error(
                    line,
                    key(name),
                    format!("`{name}` is empty; write it in words clinicians use"),
                ));
            }
        }
        let mut rules = Vec::new();
        for (index, rule) in component.rules.into_iter().enumerate() {
            let key = |name: &str| {
                Some(format!(
                    "component \"{}\" rule {} {name}",
                    component.id,
                    index + 1
                ))
            };
            rules.push(check_rule(rule).map_err(|(name, problem)| at.error(line, key(name), problem))?);
        }
        components.push(Component {
            id: component.id,
            name: component.name,
            description: component.description,
            operational: component.operational,
            unknown: component.unknown,
            rules,
        });
    }
    if components.is_empty() {
        return Err(at.error(
            None,
            Some("component".into()),
            "the page has no component; add a [[component]]",
        ));
    }
    let mut words = page.words.unwrap_or_default();
    if let Some(language) = page.language {
        let tag = |part: &str, at: usize| {
            let letters = if at == 0 { 2..=3 } else { 2..=8 };
            letters.contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
        };
        if !language.split('-').enumerate().all(|(at, part)| tag(part, at)) {
            return Err(at.error(
                None,
                Some("language".into()),
                format!("\"{language}\" is not a language tag; write one such as en, de or fr-CH"),
            ));
        }
        words.lang = language;
    }
    Ok(StatusPage {
        hold_ms,
        components,
        words,
    })
}

/// A rule checked, or the key that is wrong and why.
fn check_rule(rule: RuleFile) -> Result<Rule, (&'static str, String)> {
    let state = RULE_STATES
        .iter()
        .find(|(name, _)| *name == rule.state)
        .map(|(_, state)| *state)
        .ok_or_else(|| {
            (
                "state",
                format!(
                    "\"{}\" is not a state a rule sets; write degraded_performance, partial_outage or major_outage \
                     (maintenance comes from notices, unknown from missing readings)",
                    rule.state
                ),
            )
        })?;
    if rule.says.trim().is_empty() {
        return Err((
            "says",
            "`says` is empty; write the sentence clinicians read in this state".into(),
        ));
    }
    let sources = [
        rule.metric.is_some(),
        rule.logs.is_some(),
        rule.panel.is_some(),
        rule.heartbeat_metric.is_some(),
        rule.heartbeat_logs.is_some(),
        rule.slo.is_some(),
    ];
    if sources.iter().filter(|set| **set).count() != 1 {
        return Err((
            "metric",
            "a rule reads exactly one of `metric`, `logs`, `panel`, `heartbeat_metric`, `heartbeat_logs` or `slo`"
                .into(),
        ));
    }
    let threshold = || match (rule.above, rule.below) {
        (Some(limit), None) if limit.is_finite() => Ok(Test::Above(limit)),
        (None, Some(limit)) if limit.is_finite() => Ok(Test::Below(limit)),
        _ => Err((
            "above",
            "a rule on a number needs exactly one of `above` or `below`, a finite number".to_owned(),
        )),
    };
    let freshness = || {
        let older_than = rule.older_than.as_deref().unwrap_or_default();
        parse_duration_ms(older_than)
            .filter(|ms| *ms > 0)
            .map(Test::OlderThan)
            .ok_or_else(|| {
                (
                    "older_than",
                    format!("a heartbeat rule needs `older_than`, a duration such as 5m; \"{older_than}\" is not one"),
                )
            })
    };
    let (reading, test) = if let Some(query) = rule.metric {
        (ReadingSource::Metric(query), threshold()?)
    } else if let Some(query) = rule.logs {
        (ReadingSource::Logs(query), threshold()?)
    } else if let Some(query) = rule.heartbeat_metric {
        (ReadingSource::MetricHeartbeat(query), freshness()?)
    } else if let Some(query) = rule.heartbeat_logs {
        (ReadingSource::LogsHeartbeat(query), freshness()?)
    } else if let Some(id) = rule.slo {
        let test = match rule.at {
            Some(level @ (Level::Watch | Level::Bad)) => Test::Reaches(level),
            _ => {
                return Err((
                    "at",
                    "an objective's rule needs `at`: watch (its budget lasts less than the month) or bad (it is used up within days)"
                        .into(),
                ));
            }
        };
        (ReadingSource::Slo { id, slo: None }, test)
    } else {
        let panel = rule.panel.unwrap_or_default();
        let Some((dashboard, panel)) = panel
            .split_once('/')
            .filter(|(d, p)| is_identifier(d) && is_identifier(p))
        else {
            return Err((
                "panel",
                format!(
                    "\"{panel}\" does not name a panel; write dashboard/panel, such as login-health/login-success"
                ),
            ));
        };
        // Which side of the panel's thresholds is bad is the panel's own business.
        let test = match rule.at {
            Some(level @ (Level::Watch | Level::Bad)) => Test::Reaches(level),
            _ => return Err(("at", "a panel rule needs `at`: watch or bad".into())),
        };
        (
            ReadingSource::Panel {
                dashboard: dashboard.to_owned(),
                panel: panel.to_owned(),
            },
            test,
        )
    };
    Ok(Rule {
        state,
        says: rule.says,
        reading,
        test,
    })
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_page_names_the_four_things_clinicians_rely_on() {
        let page = parse(SHIPPED_FILE, SHIPPED).unwrap();
        let ids: Vec<_> = page.components.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["registration", "login", "appointments", "records"]);
        assert_eq!(page.hold_ms, 120_000);
        for component in &page.components {
            assert!(!component.rules.is_empty(), "{} has no rule", component.id);
        }
    }

    const GOOD: &str = r#"
hold = "90s"
[[component]]
id = "login"
name = "Logging in"
description = "Staff signing in."
operational = "Logins are working."
unknown = "Vitals cannot tell whether logins work."
[[component.rule]]
state = "partial_outage"
says = "Some people cannot log in."
metric = "sum(rate(login_attempts_total[5m]))"
below = 0.95
[[component.rule]]
state = "major_outage"
says = "The sign-in service stopped reporting."
heartbeat_logs = '{service="login-api"}'
older_than = "5m"
[[component.rule]]
state = "degraded_performance"
says = "Logins are slower than usual."
panel = "login-health/login-success"
at = "watch"
"#;

    #[test]
    fn rules_read_one_source_each_with_their_test() {
        let page = parse("status.toml", GOOD).unwrap();
        assert_eq!(page.hold_ms, 90_000);
        let rules = &page.components[0].rules;
        assert_eq!(rules[0].test, Test::Below(0.95));
        assert_eq!(
            rules[1].reading,
            ReadingSource::LogsHeartbeat("{service=\"login-api\"}".into())
        );
        assert_eq!(rules[1].test, Test::OlderThan(300_000));
        assert_eq!(rules[2].test, Test::Reaches(Level::Watch));
        assert_eq!(
            rules[2].reading,
            ReadingSource::Panel {
                dashboard: "login-health".into(),
                panel: "login-success".into()
            }
        );
    }

    #[test]
    fn the_embedded_page_speaks_the_hospitals_language_where_configured() {
        let page = parse(SHIPPED_FILE, SHIPPED).unwrap();
        assert_eq!(page.words.lang, "en", "English unless configured");
        let german = format!(
            "language = \"de-CH\"\n[words]\ntitle = \"Status der Kliniksysteme\"\n[words.states]\noperational = \"Funktioniert\"\n{}",
            &SHIPPED[SHIPPED.find("[[component]]").unwrap()..]
        );
        let page = parse(SHIPPED_FILE, &german).unwrap();
        assert_eq!(page.words.lang, "de-CH");
        assert_eq!(page.words.title, "Status der Kliniksysteme");
        assert_eq!(page.words.states.operational, "Funktioniert");
        assert_eq!(
            page.words.states.major_outage, "Not working",
            "words not given stay English"
        );
        let wrong = german.replace("de-CH", "German (Swiss)");
        let error = parse(SHIPPED_FILE, &wrong).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("language"), "{error}");
        let unknown = german.replace("title =", "heading =");
        let error = parse(SHIPPED_FILE, &unknown).unwrap_err();
        assert!(
            error.to_string().contains("heading"),
            "an unknown word names itself: {error}"
        );
    }

    #[test]
    fn each_mistake_names_its_key_and_what_to_write() {
        let table = [
            (
                "state = \"partial_outage\"",
                "state = \"unknown\"",
                "rule 1 state",
                "degraded_performance",
            ),
            (
                "below = 0.95",
                "",
                "rule 1 above",
                "exactly one of `above` or `below`",
            ),
            (
                "below = 0.95",
                "below = 0.95\nabove = 3",
                "rule 1 above",
                "exactly one",
            ),
            (
                "older_than = \"5m\"",
                "older_than = \"soon\"",
                "rule 2 older_than",
                "\"soon\" is not one",
            ),
            (
                "panel = \"login-health/login-success\"",
                "panel = \"login-success\"",
                "rule 3 panel",
                "dashboard/panel",
            ),
            ("at = \"watch\"", "", "rule 3 at", "watch or bad"),
            ("at = \"watch\"", "at = \"good\"", "rule 3 at", "watch or bad"),
            (
                "says = \"Some people cannot log in.\"",
                "says = \" \"",
                "rule 1 says",
                "sentence",
            ),
            (
                "metric = \"sum(rate(login_attempts_total[5m]))\"",
                "metric = \"up\"\nlogs = '{a=\"b\"}'",
                "rule 1 metric",
                "exactly one of",
            ),
            (
                "operational = \"Logins are working.\"",
                "operational = \"\"",
                "operational",
                "words clinicians use",
            ),
        ];
        for (from, to, key, problem) in table {
            let text = GOOD.replacen(from, to, 1);
            let error = parse("status.toml", &text).unwrap_err();
            assert!(
                error.key.as_deref().is_some_and(|k| k.ends_with(key)),
                "{from} → {to}: {error}"
            );
            assert!(error.problem.contains(problem), "{from} → {to}: {error}");
            assert_eq!(error.line, Some(3), "the component's line: {error}");
        }
        let error = parse(
            "status.toml",
            &GOOD.replace("hold = \"90s\"", "hold = \"2 days\""),
        )
        .unwrap_err();
        assert_eq!(error.key.as_deref(), Some("hold"), "{error}");
        let error = parse("status.toml", &GOOD.replace("id = \"login\"", "id = \"Log In\"")).unwrap_err();
        assert!(error.problem.contains("lowercase"), "{error}");
        let twice = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[component]]").unwrap()..]);
        assert!(
            parse("status.toml", &twice)
                .unwrap_err()
                .problem
                .contains("another component")
        );
        let typo = GOOD.replace("older_than", "older_then");
        let error = parse("status.toml", &typo).unwrap_err();
        assert!(
            error.problem.contains("older_then") && error.line.is_some(),
            "{error}"
        );
    }
}
