//! The captured Loki 2.6.1 answers in `tests/fixtures/loki/`, read for the unit and contract tests.

use std::path::Path;

use serde_json::Value;

/// Where the captures live, relative to the server crate.
pub const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/loki");

/// One captured exchange: `{"request": {"method", "path", "query"[, "headers"]}, "status", "headers", "body"}`.
pub struct Fixture {
    pub name: String,
    pub method: String,
    pub path: String,
    /// The query string as pairs; a repeated key (`match[]`) appears once per value.
    pub query: Vec<(String, String)>,
    /// Request headers Loki was sent, such as `X-Scope-OrgID`.
    pub request_headers: Vec<(String, String)>,
    pub status: u16,
    pub content_type: Option<String>,
    body: Value,
}

impl Fixture {
    /// Reads `name` (such as `labels.json` or `set-b/labels.json`); panics when it is not a capture.
    pub fn load(name: &str) -> Self {
        Self::from_capture(name, &read_json(name)).unwrap_or_else(|| panic!("{name} is not a capture"))
    }

    fn from_capture(name: &str, capture: &Value) -> Option<Self> {
        let request = capture.get("request")?;
        let pairs = |value: &Value| -> Vec<(String, String)> {
            let Some(object) = value.as_object() else {
                return Vec::new();
            };
            object
                .iter()
                .flat_map(|(key, value)| match value {
                    Value::Array(values) => values.iter().map(|value| (key.clone(), text(value))).collect(),
                    other => vec![(key.clone(), text(other))],
                })
                .collect()
        };
        Some(Self {
            name: name.to_owned(),
            method: request["method"].as_str()?.to_owned(),
            path: request["path"].as_str()?.to_owned(),
            query: pairs(&request["query"]),
            request_headers: pairs(&request["headers"]),
            status: u16::try_from(capture.get("status")?.as_u64()?).ok()?,
            content_type: capture["headers"]["content-type"].as_str().map(str::to_owned),
            body: capture["body"].clone(),
        })
    }

    /// The body as Loki sent it: raw text, or the captured JSON written out again.
    pub fn body(&self) -> String {
        text(&self.body)
    }

    /// A request header Loki was sent, such as `X-Scope-OrgID`, if it was.
    pub fn header(&self, key: &str) -> Option<&str> {
        let mut headers = self.request_headers.iter();
        headers
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// The value of a query parameter Loki was sent, if it was.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// A fixture file that is not a capture of one answer (push payloads, tail frames), as JSON.
pub fn read_json(name: &str) -> Value {
    let path = Path::new(FIXTURE_DIR).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {path:?}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{name} is not JSON: {error}"))
}

/// Every captured exchange (files with a request and a status), sorted by name.
pub fn all_captures() -> Vec<Fixture> {
    let names = all_fixture_names();
    names
        .iter()
        .filter_map(|name| Fixture::from_capture(name, &read_json(name)))
        .collect()
}

/// The text frames of a captured tail WebSocket, as Loki sent them.
pub fn tail_frames(name: &str) -> Vec<String> {
    let capture = read_json(name);
    let frames = capture.get("frames").unwrap_or(&capture["body"]);
    frames
        .as_array()
        .unwrap_or_else(|| panic!("{name} holds no frames"))
        .iter()
        .map(Value::to_string)
        .collect()
}

/// Every `.json` file of the captures, such as `labels.json` and `set-b/labels.json`, sorted.
pub fn all_fixture_names() -> Vec<String> {
    let mut names = Vec::new();
    for folder in ["", "set-b/"] {
        let entries = std::fs::read_dir(Path::new(FIXTURE_DIR).join(folder))
            .unwrap_or_else(|error| panic!("cannot list {FIXTURE_DIR}/{folder}: {error}"));
        for entry in entries {
            let file_name = entry.expect("a readable directory entry").file_name();
            let file_name = file_name.to_string_lossy();
            if file_name.ends_with(".json") {
                names.push(format!("{folder}{file_name}"));
            }
        }
    }
    names.sort();
    names
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
