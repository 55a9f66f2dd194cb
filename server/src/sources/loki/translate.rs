//! Pure translation of Loki's answers into Vitals' types: query results, names, series, tail frames and error bodies.

use std::cmp::Reverse;
use std::fmt;

use reqwest::StatusCode;
use serde::de::{self, DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use url::Url;
use vitals_api::{Direction, Labels, LogLine, LogQueryResponse, Series};

use super::SOURCE_NAME;
use super::line_fields::line_fields;
use crate::sources::SourceError;
use crate::sources::prometheus_json::{InstantSample, RangeSeries, Sample};

/// Longest reason taken from an answer; an error page of a proxy in front of Loki can be long.
const MAX_REASON_CHARS: usize = 1000;

/// What `GET /loki/api/v1/status/buildinfo` says about the running Loki.
/// Fields are empty when Loki was built without version flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    pub build_user: String,
    pub build_date: String,
    pub go_version: String,
}

/// How much Loki's index holds for a query's streams over a range (`GET /loki/api/v1/index/stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct IndexStats {
    pub streams: u64,
    pub chunks: u64,
    pub bytes: u64,
    pub entries: u64,
}

/// The lines of one tail WebSocket frame, oldest first, and how many Loki dropped before it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TailFrame {
    pub lines: Vec<LogLine>,
    pub dropped_entries: usize,
}

/// `{"status": "success", "data": {"resultType", "result", "stats"}}` of `query` and `query_range`.
#[derive(Deserialize)]
struct QueryAnswer {
    data: QueryData,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Streams(Vec<LokiStream>),
    Matrix(Vec<RangeSeries>),
    Vector(Vec<InstantSample>),
    Scalar(Sample),
}

/// A stream: its labels and `values` of `["<nanoseconds>", "<line>"]`.
#[derive(Deserialize)]
struct LokiStream {
    #[serde(default)]
    stream: Labels,
    #[serde(default)]
    values: Vec<Entry>,
}

struct Entry {
    time_ns: i64,
    line: String,
}

/// `{"status": "success", "data": [...]}`; Loki leaves `data` out when the list is empty.
#[derive(Deserialize)]
struct ListAnswer<T> {
    data: Option<Vec<T>>,
}

/// One message of the tail WebSocket.
#[derive(Deserialize)]
struct TailAnswer {
    #[serde(default)]
    streams: Vec<LokiStream>,
    #[serde(default)]
    dropped_entries: Option<Vec<IgnoredAny>>,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Entry;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(r#"a Loki entry ["<nanoseconds>", "<line>"]"#)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
                let time: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let line: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                // Loki 3 may add structured metadata as a third element; the line itself is what Vitals shows.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                let time_ns = time
                    .parse()
                    .map_err(|_| de::Error::custom(format!("an entry time {time:?} is not nanoseconds")))?;
                Ok(Entry { time_ns, line })
            }
        }

        deserializer.deserialize_seq(EntryVisitor)
    }
}

/// The answer of `query_range` or `query`: lines for a log query (merged over
/// streams, ordered by `direction`, at most `limit`), series for a metric query.
pub(super) fn query_answer(
    body: &[u8],
    direction: Direction,
    limit: u32,
) -> Result<LogQueryResponse, SourceError> {
    let answer: QueryAnswer = read(body)?;
    Ok(match answer.data {
        QueryData::Streams(streams) => {
            let mut lines = lines_of(streams);
            match direction {
                Direction::Backward => lines.sort_by_key(|line| Reverse(line.time)),
                Direction::Forward => lines.sort_by_key(|line| line.time),
            }
            lines.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            LogQueryResponse::Streams {
                lines: with_fields(lines),
            }
        }
        QueryData::Matrix(series) => LogQueryResponse::Matrix {
            series: series.into_iter().map(RangeSeries::into_series).collect(),
        },
        QueryData::Vector(samples) => LogQueryResponse::Vector {
            series: samples
                .into_iter()
                .filter_map(InstantSample::into_series)
                .collect(),
        },
        // A query of numbers alone (`1 + 1`): one series without labels.
        QueryData::Scalar(Sample(point)) => LogQueryResponse::Vector {
            series: vec![Series {
                labels: Labels::new(),
                points: vec![point],
            }],
        },
    })
}

/// Label names (`/labels`) or label values (`/label/{name}/values`).
pub(super) fn name_list(body: &[u8]) -> Result<Vec<String>, SourceError> {
    let answer: ListAnswer<String> = read(body)?;
    Ok(answer.data.unwrap_or_default())
}

/// The label sets of `/series`.
pub(super) fn series_list(body: &[u8]) -> Result<Vec<Labels>, SourceError> {
    let answer: ListAnswer<Labels> = read(body)?;
    Ok(answer.data.unwrap_or_default())
}

pub(super) fn build_info(body: &[u8]) -> Result<BuildInfo, SourceError> {
    read(body)
}

pub(super) fn index_stats(body: &[u8]) -> Result<IndexStats, SourceError> {
    read(body)
}

/// One text message of `/loki/api/v1/tail`: `{"streams": [...], "dropped_entries": [...]}`.
pub(super) fn tail_frame(text: &str) -> Result<TailFrame, SourceError> {
    let answer: TailAnswer = read(text.as_bytes())?;
    let mut lines = lines_of(answer.streams);
    lines.sort_by_key(|line| line.time);
    Ok(TailFrame {
        lines: with_fields(lines),
        dropped_entries: answer.dropped_entries.map_or(0, |dropped| dropped.len()),
    })
}

/// What a non-success answer of `endpoint` means. Loki's error bodies are
/// plain text even when labelled JSON, so its own words become the reason.
pub(super) fn error_for_status(
    endpoint: &str,
    status: StatusCode,
    location: Option<&str>,
    body: &str,
) -> SourceError {
    let message = loki_message(body);
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    match status.as_u16() {
        300..=399 => unavailable(format!(
            "Loki answered with a redirect to {}; Vitals does not follow redirects: set VITALS_LOKI_URL to the final address",
            location.map_or_else(|| "an address it did not give".to_owned(), redirect_target)
        )),
        400 if message.is_empty() => SourceError::BadQuery {
            source_name: SOURCE_NAME,
            reason: "Loki refused the query without saying why".to_owned(),
        },
        400 => SourceError::BadQuery {
            source_name: SOURCE_NAME,
            reason: message,
        },
        401 | 403 => unavailable(format!(
            "Loki refused the request ({status}{said}): check the tenant (VITALS_LOKI_TENANT) and any credentials Loki's gateway expects"
        )),
        404 => unavailable(format!(
            "Loki has no endpoint {endpoint} ({status}{said}); is VITALS_LOKI_URL the Loki base URL?"
        )),
        429 => unavailable(format!(
            "Loki is turning queries away ({status}{said}): try again shortly"
        )),
        _ => unavailable(format!("Loki answered {status}{said}")),
    }
}

/// A `SourceError::Unavailable` from Loki.
pub(super) fn unavailable(reason: impl Into<String>) -> SourceError {
    SourceError::Unavailable {
        source_name: SOURCE_NAME,
        reason: reason.into(),
    }
}

/// Loki's words in an error body: `{"message"}` or `{"error"}` of a JSON body, else the text itself.
fn loki_message(body: &str) -> String {
    let text = body.trim();
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(text) {
        for key in ["message", "error"] {
            if let Some(serde_json::Value::String(message)) = object.get(key) {
                return shortened(message.trim());
            }
        }
    }
    shortened(text)
}

/// Where a redirect points, without user names, passwords or query strings,
/// which may carry tokens of a login page.
fn redirect_target(location: &str) -> String {
    match Url::parse(location) {
        Ok(mut url) => {
            // Neither fails for an address with a host; an address without one has neither to remove.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            shortened(url.as_str())
        }
        Err(_) => shortened(location.split(['?', '#']).next().unwrap_or_default()),
    }
}

fn shortened(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Every entry of every stream as a line carrying its stream's labels, fields not read yet.
fn lines_of(streams: Vec<LokiStream>) -> Vec<LogLine> {
    streams
        .into_iter()
        .flat_map(|stream| {
            let labels = stream.stream;
            stream.values.into_iter().map(move |entry| LogLine {
                time: entry.time_ns,
                labels: labels.clone(),
                line: entry.line,
                fields: Default::default(),
                reveal_ref: None,
            })
        })
        .collect()
}

/// Reads the fields of each line; done after the cut to `limit` so no line is parsed in vain.
fn with_fields(mut lines: Vec<LogLine>) -> Vec<LogLine> {
    for line in &mut lines {
        line.fields = line_fields(&line.line);
    }
    lines
}

fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|error| {
        unavailable(format!(
            "Loki's answer is not in the shape Vitals reads ({}); is VITALS_LOKI_URL the Loki base URL?",
            shortened(&error.to_string())
        ))
    })
}

#[cfg(test)]
mod tests;
