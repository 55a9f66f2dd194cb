//! Service level objectives as code, beside the dashboards (`server/dashboards/slos.toml`): one
//! per business capability, with an objective over a goal window, an error budget over a longer
//! window, and good and all events counted per step from metrics or logs.
//!
//! Every problem names the file, the line, the objective and the key, and says what to write.

pub mod board;
pub mod budget;
pub mod words;

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;
use vitals_api::query::parse_duration_ms;

use crate::dashboards::FileError;
use crate::dashboards::definition::{Locator, Queries, Signal};
use budget::{DAY_MS, HOUR_MS};

/// The shipped objectives.
pub const SHIPPED: &str = include_str!("../../../dashboards/slos.toml");
pub const SHIPPED_FILE: &str = "slos.toml";

/// The step good and all events are counted in: the shortest window a burn-rate pair reads.
pub const STEP_MS: i64 = 5 * 60_000;
/// The longest budget window: with the four weeks of baselines before it, a range query stays
/// within the sources' 31 days and 11,000 points.
pub const MAX_BUDGET_MS: i64 = 28 * DAY_MS;

/// One objective, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub id: String,
    /// The capability, as people name it: "Logins succeed".
    pub name: String,
    pub description: String,
    /// What the sentences call the events as a group: "Logins".
    pub subject: String,
    /// One event and several: ("login", "logins").
    pub noun: (String, String),
    /// What a good event did: "succeeded", "were booked within 2 seconds".
    pub good_words: String,
    pub objective: f64,
    pub goal_ms: i64,
    pub budget_ms: i64,
    pub signal: Signal,
    /// Good events per step; `$__interval` is the step.
    pub good: Queries,
    /// All events per step.
    pub total: Queries,
    /// Where to look when the objective fails fast: its service and the lines of its failures.
    pub explain: Option<Explain>,
}

/// Where the evidence of an objective's failures is: the service whose requests it counts (in
/// the traces and on the service map) and a log query keeping the lines of its failures.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    pub service: String,
    pub logs: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainFile {
    service: String,
    /// `{service="<service>", level="error"}` when absent.
    logs: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlosFile {
    #[serde(rename = "slo", default)]
    slos: Vec<Spanned<SloFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SloFile {
    id: String,
    name: String,
    description: String,
    subject: String,
    noun: [String; 2],
    good_words: String,
    objective: f64,
    #[serde(default = "default_goal_window")]
    goal_window: String,
    #[serde(default = "default_budget_window")]
    budget_window: String,
    #[serde(default = "default_signal")]
    signal: Signal,
    good: Queries,
    total: Queries,
    explain: Option<ExplainFile>,
}

fn default_goal_window() -> String {
    "7d".to_owned()
}

fn default_budget_window() -> String {
    "28d".to_owned()
}

fn default_signal() -> Signal {
    Signal::Metrics
}

/// Reads and checks a file of objectives.
pub fn parse(file: &str, text: &str) -> Result<Vec<Slo>, FileError> {
    let at = Locator { file, text };
    let line_of = |offset: usize| at.line_at(offset);
    let error = |line: Option<usize>, key: Option<String>, problem: String| at.error(line, key, problem);
    let parsed: SlosFile = at.read()?;
    let mut seen = HashSet::new();
    let mut slos = Vec::new();
    for spanned in parsed.slos {
        let line = Some(line_of(spanned.span().start));
        let slo = spanned.into_inner();
        let key = |name: &str| Some(format!("slo \"{}\" {name}", slo.id));
        let refuse = |name: &str, problem: String| error(line, key(name), problem);
        if !is_identifier(&slo.id) {
            return Err(error(
                line,
                Some("id".into()),
                format!(
                    "\"{}\" cannot be an objective's id: use lowercase letters, digits and dashes, such as logins",
                    slo.id
                ),
            ));
        }
        if !seen.insert(slo.id.clone()) {
            return Err(refuse(
                "id",
                "another objective has this id; give each its own".into(),
            ));
        }
        for (name, words) in [
            ("name", &slo.name),
            ("description", &slo.description),
            ("subject", &slo.subject),
            ("good_words", &slo.good_words),
            ("noun", &slo.noun[0]),
            ("noun", &slo.noun[1]),
        ] {
            if words.trim().is_empty() {
                return Err(refuse(
                    name,
                    format!("`{name}` is empty; write it in words a clinic manager uses"),
                ));
            }
        }
        if !(slo.objective > 0.5 && slo.objective < 1.0) {
            return Err(refuse(
                "objective",
                format!(
                    "{} is not a share between 0.5 and 1 (1 leaves no error budget); write one such as 0.995",
                    slo.objective
                ),
            ));
        }
        let window = |name: &str, text: &str| {
            parse_duration_ms(text)
                .filter(|ms| (HOUR_MS..=MAX_BUDGET_MS).contains(ms) && ms % STEP_MS == 0)
                .ok_or_else(|| {
                    refuse(
                        name,
                        format!("\"{text}\" is not a window of whole 5 minutes from 1h to 28d; write one such as 7d"),
                    )
                })
        };
        let goal_ms = window("goal_window", &slo.goal_window)?;
        let budget_ms = window("budget_window", &slo.budget_window)?;
        if budget_ms < goal_ms {
            return Err(refuse(
                "budget_window",
                format!(
                    "\"{}\" is shorter than the goal window \"{}\"; the budget is kept over the longer one",
                    slo.budget_window, slo.goal_window
                ),
            ));
        }
        for (name, queries) in [("good", &slo.good), ("total", &slo.total)] {
            let real = match slo.signal {
                Signal::Metrics => &queries.prometheus,
                Signal::Logs => &queries.loki,
            };
            let kind = match slo.signal {
                Signal::Metrics => "prometheus",
                Signal::Logs => "loki",
            };
            if real.as_deref().is_none_or(|query| query.trim().is_empty()) {
                return Err(refuse(
                    name,
                    format!(
                        "`{name}.{kind}` is missing: the events as a query counting them per step ($__interval)"
                    ),
                ));
            }
            for query in [&queries.prometheus, &queries.loki, &queries.demo]
                .into_iter()
                .flatten()
            {
                if let Some(other) = crate::dashboards::definition::parameters(query)
                    .find(|parameter| *parameter != "__interval")
                {
                    return Err(refuse(
                        name,
                        format!(
                            "`${other}` has no value here; an objective's query may use only $__interval, the step"
                        ),
                    ));
                }
            }
        }
        let explain = slo
            .explain
            .map(|explain| checked_explain(explain).map_err(|(name, problem)| refuse(name, problem)))
            .transpose()?;
        slos.push(Slo {
            id: slo.id,
            name: slo.name,
            description: slo.description,
            subject: slo.subject,
            noun: (slo.noun[0].clone(), slo.noun[1].clone()),
            good_words: slo.good_words,
            objective: slo.objective,
            goal_ms,
            budget_ms,
            signal: slo.signal,
            good: slo.good,
            total: slo.total,
            explain,
        });
    }
    Ok(slos)
}

/// An `explain` table checked: a service name the traces can be searched by, and a log query
/// that starts with a stream selector.
fn checked_explain(explain: ExplainFile) -> Result<Explain, (&'static str, String)> {
    let service = explain.service.trim().to_owned();
    let filter = crate::sources::xray::TraceFilter {
        service: Some(service.clone()),
        ..Default::default()
    };
    if filter.to_expression().is_err() || service.contains('"') {
        return Err((
            "explain.service",
            format!(
                "\"{service}\" is not a service name as traces carry it; write the one the service map shows, such as login-api"
            ),
        ));
    }
    let logs = explain
        .logs
        .unwrap_or_else(|| format!("{{service=\"{service}\", level=\"error\"}}"));
    if crate::reveal::stream_selector(&logs).is_none() {
        return Err((
            "explain.logs",
            format!(
                "\"{logs}\" is not a log query; write one that starts with a stream selector and keeps the failures' lines, such as {{service=\"{service}\", level=\"error\"}}"
            ),
        ));
    }
    Ok(Explain { service, logs })
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[slo]]
id = "logins"
name = "Logins succeed"
description = "Staff get in."
subject = "Logins"
noun = ["login", "logins"]
good_words = "succeeded"
objective = 0.995
good.prometheus = 'sum(increase(login_attempts_total{result="success"}[$__interval]))'
total.prometheus = 'sum(increase(login_attempts_total[$__interval]))'
"#;

    #[test]
    fn the_shipped_objectives_check_out() {
        let slos = parse(SHIPPED_FILE, SHIPPED).expect("the shipped objectives");
        assert!(slos.len() >= 3, "{slos:?}");
        assert!(slos.iter().any(|slo| slo.id == "logins"));
    }

    #[test]
    fn where_to_look_for_a_cause_defaults_to_the_services_error_lines() {
        let text = ONE.replace(
            "objective = 0.995",
            "objective = 0.995\nexplain.service = \"login-api\"",
        );
        let slos = parse("x.toml", &text).unwrap();
        assert_eq!(
            slos[0].explain,
            Some(Explain {
                service: "login-api".into(),
                logs: "{service=\"login-api\", level=\"error\"}".into(),
            })
        );
        assert_eq!(parse("x.toml", ONE).unwrap()[0].explain, None);
    }

    #[test]
    fn windows_default_to_a_week_and_four_weeks() {
        let slos = parse("x.toml", ONE).unwrap();
        assert_eq!((slos[0].goal_ms, slos[0].budget_ms), (7 * DAY_MS, 28 * DAY_MS));
    }

    #[test]
    fn each_mistake_names_its_key_and_says_what_to_write() {
        let cases = [
            (
                "objective = 0.995",
                "objective = 1.0",
                "slo \"logins\" objective",
                "0.995",
            ),
            (
                "objective = 0.995",
                "objective = 0.995\ngoal_window = \"40d\"",
                "slo \"logins\" goal_window",
                "such as 7d",
            ),
            (
                "objective = 0.995",
                "objective = 0.995\ngoal_window = \"28d\"\nbudget_window = \"7d\"",
                "slo \"logins\" budget_window",
                "shorter",
            ),
            (
                "total.prometheus = 'sum(increase(login_attempts_total[$__interval]))'",
                "total.prometheus = 'sum(increase(login_attempts_total{clinic=\"$clinic\"}[$__interval]))'",
                "slo \"logins\" total",
                "$clinic",
            ),
            (
                "total.prometheus = 'sum(increase(login_attempts_total[$__interval]))'",
                "total.loki = 'x'",
                "slo \"logins\" total",
                "total.prometheus",
            ),
            ("id = \"logins\"", "id = \"Logins!\"", "id", "lowercase"),
            (
                "objective = 0.995",
                "objective = 0.995\nexplain.service = \"  \"",
                "slo \"logins\" explain.service",
                "such as login-api",
            ),
            (
                "objective = 0.995",
                "objective = 0.995\nexplain.service = \"login-api\"\nexplain.logs = 'count_over_time(x[5m])'",
                "slo \"logins\" explain.logs",
                "stream selector",
            ),
        ];
        for (from, to, key, says) in cases {
            let error = parse("slos.toml", &ONE.replace(from, to)).expect_err(to);
            assert_eq!(error.key.as_deref(), Some(key), "{error}");
            assert!(error.problem.contains(says), "{error}");
            assert!(error.line.is_some(), "{error}");
        }
        let twice = format!("{ONE}{ONE}");
        assert!(
            parse("slos.toml", &twice)
                .unwrap_err()
                .problem
                .contains("another objective")
        );
        let unknown = parse("slos.toml", &ONE.replace("objective = 0.995", "objectiv = 0.995")).unwrap_err();
        assert!(unknown.problem.contains("objectiv"), "{unknown}");
    }
}
