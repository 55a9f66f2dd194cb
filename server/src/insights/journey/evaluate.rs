//! Reads each step's lines from the logs, page by page, turns the patient's identifier into a
//! pseudonymous id with the server's secret key at once (the identifier is dropped there), and
//! counts the funnel for the range and for the same period earlier.

use std::borrow::Cow;
use std::collections::HashSet;

use ring::hmac;
use vitals_api::{Direction, JourneyAnswer, JourneyGroup, JourneyStep, LogQueryResponse};

use super::funnel::{self, Funnel, StepLine};
use super::{Journey, words};
use crate::sources::{LogQuery, SourceError, Sources, TimeRange};

/// Lines asked for per page: the guard's default most.
const PAGE_LINES: u32 = 5_000;
/// The most lines read for one step over one range.
pub const MAX_STEP_LINES: usize = 200_000;

/// Makes pseudonymous ids: the same patient always gets the same id within this server's key,
/// and nobody without the key can tell whose id it is.
pub struct Pseudonyms {
    key: hmac::Key,
}

impl Pseudonyms {
    /// Ids under a key of their own derived from `secret`, so nothing else signed with the secret
    /// can be told from them.
    pub fn new(secret: &[u8]) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            b"vitals journey ids v1",
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    pub fn of(&self, identifier: &str) -> [u8; 32] {
        let mut id = [0u8; 32];
        id.copy_from_slice(hmac::sign(&self.key, identifier.as_bytes()).as_ref());
        id
    }
}

/// The value of `key` in a JSON line (`{"key": "value"}`, `{"key": 123}`) or a logfmt line
/// (`key=value`, `key="va lue"`); a key inside another field's quoted value is not it.
pub fn field_value<'a>(line: &'a str, key: &str) -> Option<Cow<'a, str>> {
    if line.trim_start().starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        return match value.get(key)? {
            serde_json::Value::String(text) => Some(Cow::Owned(text.clone())),
            serde_json::Value::Number(number) => Some(Cow::Owned(number.to_string())),
            _ => None,
        };
    }
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
        let name_start = at;
        while at < bytes.len() && bytes[at] != b'=' && bytes[at] != b' ' {
            at += 1;
        }
        let name = &line[name_start..at];
        if at >= bytes.len() || bytes[at] != b'=' {
            continue;
        }
        at += 1;
        let value = if bytes.get(at) == Some(&b'"') {
            at += 1;
            let start = at;
            while at < bytes.len() && bytes[at] != b'"' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            let value = &line[start..at.min(bytes.len())];
            at += 1;
            value
        } else {
            let start = at;
            while at < bytes.len() && bytes[at] != b' ' {
                at += 1;
            }
            &line[start..at]
        };
        if name == key {
            return Some(Cow::Borrowed(value));
        }
    }
    None
}

/// One step's lines over `range` as pseudonymous step lines, and whether there were more than
/// are read.
async fn step_lines(
    sources: &Sources,
    journey: &Journey,
    logs: &str,
    range: TimeRange,
    pseudonyms: &Pseudonyms,
) -> Result<(Vec<StepLine>, bool), SourceError> {
    let mut lines = Vec::new();
    let mut start_ms = range.start_ms;
    // Lines at the boundary millisecond of the last page, so the next page does not count them twice.
    let mut boundary: HashSet<(i64, [u8; 32])> = HashSet::new();
    loop {
        let answer = sources
            .logs
            .query(&LogQuery {
                query: logs.to_owned(),
                range: TimeRange::new(start_ms, range.end_ms),
                limit: PAGE_LINES,
                direction: Direction::Forward,
                step_ms: range.duration_ms().max(1_000),
            })
            .await?;
        let LogQueryResponse::Streams { lines: page } = answer else {
            return Err(SourceError::BadQuery {
                source_name: "the journey's file",
                reason: format!("the step query {logs} answers numbers, not lines; write a log query"),
            });
        };
        let full = page.len() >= PAGE_LINES as usize;
        let last_ms = page.iter().map(|line| line.time.div_euclid(1_000_000)).max();
        let mut next_boundary = HashSet::new();
        for line in &page {
            let Some(identifier) = field_value(&line.line, &journey.key) else {
                continue;
            };
            let id = pseudonyms.of(&identifier);
            let line_ms = line.time.div_euclid(1_000_000);
            if boundary.contains(&(line.time, id)) {
                continue;
            }
            if Some(line_ms) == last_ms {
                next_boundary.insert((line.time, id));
            }
            lines.push(StepLine {
                time_ns: line.time,
                journey: id,
                group: line.labels.get(&journey.group_by).cloned(),
            });
        }
        match last_ms {
            Some(last_ms) if full && last_ms < range.end_ms => {
                if lines.len() >= MAX_STEP_LINES {
                    return Ok((lines, true));
                }
                // The next page begins at the last line's millisecond; its lines seen already
                // are skipped.
                start_ms = last_ms.max(start_ms + 1);
                boundary = next_boundary;
            }
            _ => return Ok((lines, false)),
        }
    }
}

/// The funnel over `range`, and whether any step was read only in part.
async fn funnel_over(
    sources: &Sources,
    journey: &Journey,
    range: TimeRange,
    pseudonyms: &Pseudonyms,
) -> Result<(Funnel, bool), SourceError> {
    let reads = journey
        .steps
        .iter()
        .map(|step| step_lines(sources, journey, &step.logs, range, pseudonyms));
    let steps = futures::future::try_join_all(reads).await?;
    let truncated = steps.iter().any(|(_, truncated)| *truncated);
    let lines: Vec<Vec<StepLine>> = steps.into_iter().map(|(lines, _)| lines).collect();
    Ok((funnel::count(&lines), truncated))
}

/// The steps' counts with their shares, against the period compared with.
fn steps_of(journey: &Journey, now: &[u64], before: &[u64]) -> Vec<JourneyStep> {
    let share = |counts: &[u64], index: usize| {
        let previous = *counts.get(index.checked_sub(1)?)?;
        (previous > 0).then(|| counts.get(index).copied().unwrap_or(0) as f64 / previous as f64)
    };
    journey
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| JourneyStep {
            name: step.name.clone(),
            reached: now.get(index).copied().unwrap_or(0),
            share_of_previous: share(now, index),
            usual_share_of_previous: share(before, index),
            reached_before: before.get(index).copied().unwrap_or(0),
        })
        .collect()
}

/// The journey over `range`, compared with the same period `compare_ms` earlier, for one group
/// or all. `range_words` says the range in a sentence.
pub async fn answer(
    sources: &Sources,
    journey: &Journey,
    range: TimeRange,
    group: Option<&str>,
    range_words: &str,
    pseudonyms: &Pseudonyms,
) -> Result<JourneyAnswer, SourceError> {
    let earlier = TimeRange::new(
        range.start_ms - journey.compare_ms,
        range.end_ms - journey.compare_ms,
    );
    let ((now, cut_now), (before, cut_before)) = tokio::try_join!(
        funnel_over(sources, journey, range, pseudonyms),
        funnel_over(sources, journey, earlier, pseudonyms)
    )?;
    let zeros = vec![0; journey.steps.len()];
    let counts_of = |funnel: &Funnel, name: Option<&str>| -> Vec<u64> {
        match name {
            None => funnel.reached.clone(),
            Some(name) => funnel
                .by_group
                .get(name)
                .cloned()
                .unwrap_or_else(|| zeros.clone()),
        }
    };
    let steps = steps_of(journey, &counts_of(&now, group), &counts_of(&before, group));
    let groups: Vec<JourneyGroup> = if group.is_some() {
        Vec::new()
    } else {
        let names: std::collections::BTreeSet<&String> =
            now.by_group.keys().chain(before.by_group.keys()).collect();
        names
            .into_iter()
            .map(|name| JourneyGroup {
                name: name.clone(),
                steps: steps_of(
                    journey,
                    &counts_of(&now, Some(name)),
                    &counts_of(&before, Some(name)),
                ),
            })
            .collect()
    };
    let sentence = words::sentence(journey, &steps, &groups, range_words, group);
    Ok(JourneyAnswer {
        id: journey.id.clone(),
        name: journey.name.clone(),
        from: range.start_ms,
        to: range.end_ms,
        compared_from: earlier.start_ms,
        compared_to: earlier.end_ms,
        group_noun: journey.group_noun.clone(),
        group: group.map(str::to_owned),
        steps,
        groups,
        sentence,
        truncated: (cut_now || cut_before).then(|| {
            format!(
                "A step had more than {MAX_STEP_LINES} lines in the range; the counts are of the first {MAX_STEP_LINES}. Pick a shorter range."
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_is_read_from_logfmt_and_json_lines() {
        let logfmt = r#"level=info msg="appointment booked" clinic=north patient_id=p-123 doctor_id=d-9"#;
        let value = |line, key| field_value(line, key).map(Cow::into_owned);
        assert_eq!(value(logfmt, "patient_id").as_deref(), Some("p-123"));
        assert_eq!(
            value(r#"msg="x patient_id=p-1" patient_id="p-2""#, "patient_id").as_deref(),
            Some("p-2")
        );
        let json = r#"{"level":"info","patient_id": "p-77","n":5}"#;
        assert_eq!(value(json, "patient_id").as_deref(), Some("p-77"));
        assert_eq!(value(r#"{"patient_id":42}"#, "patient_id").as_deref(), Some("42"));
        assert_eq!(field_value("other_patient_id=p-5", "patient_id"), None);
        assert_eq!(field_value("no id here", "patient_id"), None);
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_between_keys() {
        let one = Pseudonyms::new(&[7; 32]);
        let other = Pseudonyms::new(&[8; 32]);
        assert_eq!(one.of("p-123"), one.of("p-123"));
        assert_ne!(one.of("p-123"), one.of("p-124"));
        assert_ne!(one.of("p-123"), other.of("p-123"));
        assert!(!one.of("p-123").windows(5).any(|part| part == b"p-123"));
    }
}
