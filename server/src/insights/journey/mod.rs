//! The patient journey as code, beside the dashboards (`server/dashboards/journeys.toml`): a
//! funnel of any number of steps, each the log lines that say a patient reached it, joined by a
//! pseudonymous id the server makes from the patient's identifier with a secret key. Only counts
//! leave the server; neither the identifier nor its hash does.

pub mod board;
pub mod evaluate;
pub mod funnel;
pub mod words;

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;
use vitals_api::query::parse_duration_ms;

use crate::dashboards::FileError;
use crate::dashboards::definition::Locator;

pub const SHIPPED: &str = include_str!("../../../dashboards/journeys.toml");
pub const SHIPPED_FILE: &str = "journeys.toml";

/// One journey, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The field of each step's lines that names the patient (`patient_id`): hashed, never shown.
    pub key: String,
    /// The stream label the counts are split by (`clinic`), and what people call one of its values.
    pub group_by: String,
    pub group_noun: String,
    /// How far back the same period is compared: a week unless set.
    pub compare_ms: i64,
    pub steps: Vec<Step>,
}

/// One step: its name, what the sentence says a patient did, and the lines that say it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    /// "registered", "booked an appointment".
    pub did: String,
    /// A LogQL log query (a selector and filters) matching one line per time a patient did it.
    pub logs: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JourneysFile {
    #[serde(rename = "journey", default)]
    journeys: Vec<Spanned<JourneyFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JourneyFile {
    id: String,
    name: String,
    description: String,
    key: String,
    group_by: String,
    #[serde(default = "default_group_noun")]
    group_noun: String,
    #[serde(default = "default_compare")]
    compare: String,
    #[serde(rename = "step")]
    steps: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    did: String,
    logs: String,
}

fn default_group_noun() -> String {
    "clinic".to_owned()
}

fn default_compare() -> String {
    "7d".to_owned()
}

/// The most steps a journey may have.
const MAX_STEPS: usize = 12;

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Reads and checks a file of journeys.
pub fn parse(file: &str, text: &str) -> Result<Vec<Journey>, FileError> {
    let at = Locator { file, text };
    let line_of = |offset: usize| at.line_at(offset);
    let error = |line: Option<usize>, key: Option<String>, problem: String| at.error(line, key, problem);
    let parsed: JourneysFile = at.read()?;
    let mut seen = HashSet::new();
    let mut journeys = Vec::new();
    for spanned in parsed.journeys {
        let line = Some(line_of(spanned.span().start));
        let journey = spanned.into_inner();
        let refuse = |name: &str, problem: String| {
            error(line, Some(format!("journey \"{}\" {name}", journey.id)), problem)
        };
        if !is_name(&journey.id) || journey.id.contains('_') {
            return Err(error(
                line,
                Some("id".into()),
                format!(
                    "\"{}\" cannot be a journey's id: use lowercase letters, digits and dashes, such as patient-visit",
                    journey.id
                ),
            ));
        }
        if !seen.insert(journey.id.clone()) {
            return Err(refuse(
                "id",
                "another journey has this id; give each its own".into(),
            ));
        }
        for (name, value) in [("key", &journey.key), ("group_by", &journey.group_by)] {
            if !is_name(value) {
                return Err(refuse(
                    name,
                    format!(
                        "\"{value}\" is not a field or label name; write one such as patient_id or clinic"
                    ),
                ));
            }
        }
        for (name, words) in [
            ("name", &journey.name),
            ("description", &journey.description),
            ("group_noun", &journey.group_noun),
        ] {
            if words.trim().is_empty() {
                return Err(refuse(
                    name,
                    format!("`{name}` is empty; write it in words a clinic manager uses"),
                ));
            }
        }
        let compare_ms = parse_duration_ms(&journey.compare)
            .filter(|ms| (3_600_000..=28 * 86_400_000).contains(ms))
            .ok_or_else(|| {
                refuse(
                    "compare",
                    format!(
                        "\"{}\" is not a span from 1h to 28d; write one such as 7d",
                        journey.compare
                    ),
                )
            })?;
        if !(2..=MAX_STEPS).contains(&journey.steps.len()) {
            return Err(refuse(
                "step",
                format!(
                    "a journey has {} steps; give it 2 to {MAX_STEPS} [[journey.step]]",
                    journey.steps.len()
                ),
            ));
        }
        let mut steps = Vec::new();
        for (index, step) in journey.steps.into_iter().enumerate() {
            let key = |name: &str| format!("step {} {name}", index + 1);
            for (name, words) in [("name", &step.name), ("did", &step.did)] {
                if words.trim().is_empty() {
                    return Err(refuse(
                        &key(name),
                        format!("`{name}` is empty; say what the patient did"),
                    ));
                }
            }
            if !step.logs.trim_start().starts_with('{') {
                return Err(refuse(
                    &key("logs"),
                    "is not a log query; write a selector and filters such as {service=\"appointments\"} |= \"appointment booked\"".into(),
                ));
            }
            steps.push(Step {
                name: step.name,
                did: step.did,
                logs: step.logs,
            });
        }
        journeys.push(Journey {
            id: journey.id,
            name: journey.name,
            description: journey.description,
            key: journey.key,
            group_by: journey.group_by,
            group_noun: journey.group_noun,
            compare_ms,
            steps,
        });
    }
    Ok(journeys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_journey_checks_out() {
        let journeys = parse(SHIPPED_FILE, SHIPPED).expect("the shipped journeys");
        assert_eq!(journeys[0].id, "patient-visit");
        assert_eq!(journeys[0].steps.len(), 3);
        assert_eq!(journeys[0].compare_ms, 7 * 86_400_000);
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases = [
            (
                "key = \"patient_id\"",
                "key = \"patient id\"",
                "journey \"patient-visit\" key",
            ),
            (
                "compare = \"7d\"",
                "compare = \"90d\"",
                "journey \"patient-visit\" compare",
            ),
            (
                "logs = '{service=\"patient-registration\"} |= \"patient registered\"'",
                "logs = 'patient registered'",
                "journey \"patient-visit\" step 1 logs",
            ),
        ];
        for (from, to, key) in cases {
            let text = SHIPPED.replace(from, to);
            assert_ne!(text, SHIPPED, "{from}");
            let error = parse("journeys.toml", &text).expect_err(to);
            assert_eq!(error.key.as_deref(), Some(key), "{error}");
            assert!(error.line.is_some());
        }
    }
}
