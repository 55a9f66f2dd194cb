//! A dashboard as its TOML file declares it, checked: variables with allowlisted values,
//! panels with a query per source kind, thresholds with a meaning, a unit and a sentence.
//!
//! Every problem names the file, the line and the key, and says what to write instead.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;
use vitals_api::query::parse_duration_ms;
use vitals_api::{PanelKind, Role, Unit};

/// A dashboard, ready to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Where the list puts it: lower first, then by title.
    pub order: i64,
    pub default_from: String,
    pub refresh_seconds: u32,
    /// Who may open it, besides admins.
    pub roles: Vec<Role>,
    pub variables: Vec<Variable>,
    pub panels: Vec<Panel>,
}

/// A variable and the values a person may choose.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub label: String,
    pub default: String,
    pub values: Vec<VariableValue>,
}

/// One allowed value: what the URL carries, what the page shows, and what the query gets.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableValue {
    pub value: String,
    pub label: String,
    /// The text put in place of `$name` in a query: a label matcher's regular expression.
    pub matches: String,
}

/// Which signal a panel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// Prometheus or AMP, or the demo clinic's metrics.
    Metrics,
    /// Loki, or the demo clinic's logs.
    Logs,
}

/// The earlier period a number is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    None,
    /// The same time one day earlier.
    Day,
    /// The same time one week earlier.
    Week,
    /// The range just before this one.
    Previous,
}

/// Which way is good news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

/// Where a number turns from good to worth a look (`watch`) and to bad.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub better: Better,
    pub watch: f64,
    pub bad: f64,
}

/// The query of a panel for each kind of source.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queries {
    /// For the demo clinic; the panel's Prometheus or Loki query when left out.
    pub demo: Option<String>,
    pub prometheus: Option<String>,
    pub loki: Option<String>,
}

/// Sentences that replace `sentence` when the panel's health is one of these.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaysWhen {
    pub good: Option<String>,
    pub watch: Option<String>,
    pub bad: Option<String>,
}

/// A panel: how it reads its source and how it says what it found.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub id: String,
    pub title: String,
    pub kind: PanelKind,
    pub unit: Unit,
    pub width: u8,
    pub signal: Signal,
    pub queries: Queries,
    /// The label whose values name the lines, bars or rows.
    pub legend: Option<String>,
    /// A fixed window for the number (`15m`) instead of the whole range.
    pub window_ms: Option<i64>,
    pub compare: Compare,
    pub thresholds: Option<Thresholds>,
    pub sentence: String,
    /// Said when there is no data, or the number is zero.
    pub empty: Option<String>,
    pub says: SaysWhen,
    /// After how long without new data the panel says it may be out of date.
    pub stale_after_ms: i64,
    /// Words for the things counted, one and many ("patient", "patients").
    pub noun: Option<(String, String)>,
    /// Log lines whose most common pattern the sentence tells, when the number is above zero.
    pub patterns: Option<PanelPatterns>,
    /// Whether the sentence says if the number is usual against the same time of the last
    /// four weeks.
    pub baseline: bool,
}

/// `patterns.query` and `patterns.what`: the lines behind a panel's number (a log selector with
/// any filters) and what they are, so the sentence can add "Most failed logins in the last 6
/// hours (87%) were 'user record not found'".
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelPatterns {
    pub query: String,
    pub what: String,
}

/// A problem in a dashboard file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub problem: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(formatter, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(formatter, ", `{key}`")?;
        }
        write!(formatter, ": {}", self.problem)
    }
}

impl std::error::Error for FileError {}

const DEFAULT_STALE_AFTER_MS: i64 = 10 * 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardFile {
    title: String,
    description: String,
    #[serde(default = "default_order")]
    order: i64,
    #[serde(default = "default_from")]
    default_from: String,
    #[serde(default = "default_refresh")]
    refresh_seconds: u32,
    #[serde(default = "default_roles")]
    roles: Vec<Role>,
    #[serde(default, rename = "variable")]
    variables: Vec<Spanned<VariableFile>>,
    #[serde(rename = "panel")]
    panels: Vec<Spanned<PanelFile>>,
}

fn default_order() -> i64 {
    100
}

fn default_from() -> String {
    "now-24h".to_owned()
}

fn default_refresh() -> u32 {
    60
}

fn default_roles() -> Vec<Role> {
    vec![Role::Operations, Role::Engineer]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariableFile {
    name: String,
    label: String,
    default: String,
    values: Vec<ValueFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueFile {
    value: String,
    label: Option<String>,
    matches: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanelFile {
    id: String,
    title: String,
    kind: PanelKind,
    #[serde(default = "default_unit")]
    unit: Unit,
    #[serde(default = "default_width")]
    width: u8,
    #[serde(default = "default_signal")]
    signal: Signal,
    query: Queries,
    legend: Option<String>,
    window: Option<String>,
    #[serde(default = "default_compare")]
    compare: Compare,
    thresholds: Option<Thresholds>,
    sentence: String,
    empty: Option<String>,
    #[serde(default)]
    says: SaysWhen,
    stale_after: Option<String>,
    noun: Option<[String; 2]>,
    patterns: Option<PanelPatterns>,
    #[serde(default)]
    baseline: bool,
}

fn default_unit() -> Unit {
    Unit::Count
}

fn default_width() -> u8 {
    1
}

fn default_signal() -> Signal {
    Signal::Metrics
}

fn default_compare() -> Compare {
    Compare::None
}

/// The placeholders a sentence may use.
const PLACEHOLDERS: [&str; 5] = ["value", "count", "range", "trend", "top"];

/// What a query may name besides the dashboard's variables.
const BUILT_INS: [&str; 2] = ["__window", "__interval"];

/// Reads and checks one dashboard file; `file` is how errors name it, `id` the dashboard's id.
pub fn parse(file: &str, id: &str, text: &str) -> Result<Dashboard, FileError> {
    let at = Locator { file, text };
    if !is_identifier(id) {
        return Err(at.error(
            None,
            None,
            "the file name is the dashboard's id: use lowercase letters, digits and dashes, such as patient-registrations.toml",
        ));
    }
    let parsed: DashboardFile = toml::from_str(text).map_err(|error| at.toml_error(&error))?;
    let mut variables = Vec::with_capacity(parsed.variables.len());
    let mut names = HashSet::new();
    for (index, spanned) in parsed.variables.iter().enumerate() {
        let start = spanned.span().start;
        let variable = variable(&at, start, index, spanned.get_ref())?;
        if !names.insert(variable.name.clone()) {
            return Err(at.key_error(
                start,
                &format!("variable[{index}].name"),
                "name",
                format!(
                    "a second variable is named \"{}\"; give each its own name",
                    variable.name
                ),
            ));
        }
        variables.push(variable);
    }
    if parsed.panels.is_empty() {
        return Err(at.error(
            None,
            Some("panel".into()),
            "a dashboard needs at least one [[panel]]",
        ));
    }
    let mut panels = Vec::with_capacity(parsed.panels.len());
    let mut ids = HashSet::new();
    for (index, spanned) in parsed.panels.iter().enumerate() {
        let start = spanned.span().start;
        let panel = panel(&at, start, index, spanned.get_ref(), &variables)?;
        if !ids.insert(panel.id.clone()) {
            return Err(at.key_error(
                start,
                &format!("panel[{index}].id"),
                "id",
                format!("a second panel has the id \"{}\"; give each its own id", panel.id),
            ));
        }
        panels.push(panel);
    }
    let whole = |key: &str, problem: String| at.key_error(0, key, key, problem);
    if !parsed.default_from.starts_with("now-")
        || parse_duration_ms(&parsed.default_from["now-".len()..]).is_none()
    {
        return Err(whole(
            "default_from",
            format!(
                "\"{}\" is not a relative start; write one such as now-24h",
                parsed.default_from
            ),
        ));
    }
    if !(5..=3600).contains(&parsed.refresh_seconds) {
        return Err(whole(
            "refresh_seconds",
            format!(
                "{} is outside 5 to 3600; write how many seconds between refreshes",
                parsed.refresh_seconds
            ),
        ));
    }
    Ok(Dashboard {
        id: id.to_owned(),
        title: parsed.title,
        description: parsed.description,
        order: parsed.order,
        default_from: parsed.default_from,
        refresh_seconds: parsed.refresh_seconds,
        roles: parsed.roles,
        variables,
        panels,
    })
}

fn variable(
    at: &Locator<'_>,
    start: usize,
    index: usize,
    file: &VariableFile,
) -> Result<Variable, FileError> {
    let key = |name: &str| format!("variable[{index}].{name}");
    if !is_identifier(&file.name) || file.name.contains('-') {
        return Err(at.key_error(
            start,
            &key("name"),
            "name",
            format!(
                "\"{}\" cannot name a variable; use lowercase letters, digits and underscores",
                file.name
            ),
        ));
    }
    if file.values.is_empty() {
        return Err(at.key_error(
            start,
            &key("values"),
            "values",
            "list at least one allowed value".to_owned(),
        ));
    }
    let mut values = Vec::with_capacity(file.values.len());
    for value in &file.values {
        if !is_identifier(&value.value) {
            return Err(at.key_error(
                start,
                &key("values"),
                "values",
                format!(
                    "\"{}\" cannot be a value: use lowercase letters, digits and dashes, and put any pattern in `matches`",
                    value.value
                ),
            ));
        }
        values.push(VariableValue {
            value: value.value.clone(),
            label: value.label.clone().unwrap_or_else(|| value.value.clone()),
            matches: value.matches.clone().unwrap_or_else(|| value.value.clone()),
        });
    }
    if !values.iter().any(|value| value.value == file.default) {
        return Err(at.key_error(
            start,
            &key("default"),
            "default",
            format!(
                "\"{}\" is not one of the values; pick one of: {}",
                file.default,
                values
                    .iter()
                    .map(|v| v.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(Variable {
        name: file.name.clone(),
        label: file.label.clone(),
        default: file.default.clone(),
        values,
    })
}

fn panel(
    at: &Locator<'_>,
    start: usize,
    index: usize,
    file: &PanelFile,
    variables: &[Variable],
) -> Result<Panel, FileError> {
    let key = |name: &str| format!("panel[{index}].{name}");
    let problem = |name: &str, problem: String| at.key_error(start, &key(name), name, problem);
    if !is_identifier(&file.id) {
        return Err(problem(
            "id",
            format!(
                "\"{}\" cannot be a panel id; use lowercase letters, digits and dashes",
                file.id
            ),
        ));
    }
    if !(1..=2).contains(&file.width) {
        return Err(problem(
            "width",
            format!("{} columns is not a width; write 1 or 2", file.width),
        ));
    }
    let needed = match file.signal {
        Signal::Metrics => ("prometheus", file.query.prometheus.as_deref()),
        Signal::Logs => ("loki", file.query.loki.as_deref()),
    };
    if needed.1.is_none_or(|query| query.trim().is_empty()) {
        return Err(problem(
            "query",
            format!(
                "a panel reading {} needs `query.{}`",
                match file.signal {
                    Signal::Metrics => "metrics",
                    Signal::Logs => "logs",
                },
                needed.0
            ),
        ));
    }
    for (source, query) in [
        ("demo", &file.query.demo),
        ("prometheus", &file.query.prometheus),
        ("loki", &file.query.loki),
    ] {
        if let Some(query) = query {
            check_parameters(query, variables)
                .map_err(|reason| problem(&format!("query.{source}"), reason))?;
        }
    }
    let window_ms = match &file.window {
        Some(window) => Some(parse_duration_ms(window).filter(|ms| *ms > 0).ok_or_else(|| {
            problem(
                "window",
                format!("\"{window}\" is not a duration; write one such as 15m"),
            )
        })?),
        None => None,
    };
    let stale_after_ms = match &file.stale_after {
        Some(after) => parse_duration_ms(after).filter(|ms| *ms > 0).ok_or_else(|| {
            problem(
                "stale_after",
                format!("\"{after}\" is not a duration; write one such as 10m"),
            )
        })?,
        None => DEFAULT_STALE_AFTER_MS,
    };
    if let Some(thresholds) = &file.thresholds {
        let ordered = match thresholds.better {
            Better::Higher => thresholds.watch > thresholds.bad,
            Better::Lower => thresholds.watch < thresholds.bad,
        };
        if !ordered || !thresholds.watch.is_finite() || !thresholds.bad.is_finite() {
            return Err(problem(
                "thresholds",
                format!(
                    "when {} is better, `watch` must come before `bad`: write watch {} bad",
                    match thresholds.better {
                        Better::Higher => "higher",
                        Better::Lower => "lower",
                    },
                    match thresholds.better {
                        Better::Higher => ">",
                        Better::Lower => "<",
                    }
                ),
            ));
        }
    }
    let is_grouped = matches!(file.kind, PanelKind::Bar | PanelKind::Table);
    if is_grouped && file.legend.is_none() {
        return Err(problem(
            "legend",
            "a bar or table panel names the label whose values are its groups, such as legend = \"clinic\""
                .to_owned(),
        ));
    }
    for (name, template) in [
        ("sentence", Some(&file.sentence)),
        ("empty", file.empty.as_ref()),
        ("says.good", file.says.good.as_ref()),
        ("says.watch", file.says.watch.as_ref()),
        ("says.bad", file.says.bad.as_ref()),
    ] {
        if let Some(template) = template {
            check_template(template).map_err(|reason| problem(name, reason))?;
        }
    }
    if file.sentence.contains("{count}") && file.noun.is_none() {
        return Err(problem(
            "noun",
            "`{count}` says the number with its noun; write noun = [\"patient\", \"patients\"]".to_owned(),
        ));
    }
    if file.sentence.contains("{trend}") && file.compare == Compare::None {
        return Err(problem(
            "compare",
            "`{trend}` needs a period to compare with; write compare = \"week\", \"day\" or \"previous\""
                .to_owned(),
        ));
    }
    if file.baseline && !matches!(file.kind, PanelKind::Stat | PanelKind::Status) {
        return Err(problem(
            "baseline",
            "only a stat or status panel has one number to compare with earlier weeks; remove `baseline` here"
                .to_owned(),
        ));
    }
    if let Some(patterns) = &file.patterns {
        if crate::reveal::stream_selector(&patterns.query).is_none() {
            return Err(problem(
                "patterns.query",
                "is not a log query; write the lines behind the number, starting with a stream selector, \
                 such as {service=\"login-api\", level=\"error\"}"
                    .to_owned(),
            ));
        }
        check_parameters(&patterns.query, variables).map_err(|reason| problem("patterns.query", reason))?;
        if patterns.what.trim().is_empty() {
            return Err(problem(
                "patterns.what",
                "is empty; say what the lines are, such as \"failed logins\"".to_owned(),
            ));
        }
    }
    Ok(Panel {
        id: file.id.clone(),
        title: file.title.clone(),
        kind: file.kind,
        unit: file.unit,
        width: file.width,
        signal: file.signal,
        queries: file.query.clone(),
        legend: file.legend.clone(),
        window_ms,
        compare: file.compare,
        thresholds: file.thresholds,
        sentence: file.sentence.clone(),
        empty: file.empty.clone(),
        says: file.says.clone(),
        stale_after_ms,
        noun: file.noun.clone().map(|[one, many]| (one, many)),
        patterns: file.patterns.clone(),
        baseline: file.baseline,
    })
}

/// Every `$name` in `query` is a variable of the dashboard or a built-in.
fn check_parameters(query: &str, variables: &[Variable]) -> Result<(), String> {
    for name in parameters(query) {
        let known = BUILT_INS.contains(&name) || variables.iter().any(|variable| variable.name == name);
        if !known {
            let mut offered: Vec<String> = BUILT_INS.iter().map(|name| format!("${name}")).collect();
            offered.extend(variables.iter().map(|variable| format!("${}", variable.name)));
            return Err(format!(
                "the query names ${name}, which is neither a variable of this dashboard nor a built-in; use one of: {}",
                offered.join(", ")
            ));
        }
    }
    Ok(())
}

/// The `$name`s a query names.
pub fn parameters(query: &str) -> impl Iterator<Item = &str> {
    query.match_indices('$').filter_map(|(at, _)| {
        let rest = &query[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            .then_some(name)
    })
}

/// Every `{placeholder}` in a sentence is one the server fills in.
fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("a `{` is never closed; write placeholders such as {value}".to_owned());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{{{name}}} is not a placeholder; use {}",
                PLACEHOLDERS.map(|name| format!("{{{name}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Lowercase letters, digits, dashes and underscores, starting with a letter or digit.
fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Finds where in a file a problem is: for dashboards, and for the other files beside them
/// (objectives, journeys, the status page).
pub(crate) struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Locator<'_> {
    /// The file read as TOML; a mistake names its line and, where it can, its key.
    pub(crate) fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T, FileError> {
        toml::from_str(self.text).map_err(|error| self.toml_error(&error))
    }

    pub(crate) fn error(
        &self,
        line: Option<usize>,
        key: Option<String>,
        problem: impl Into<String>,
    ) -> FileError {
        FileError {
            file: self.file.to_owned(),
            line,
            key,
            problem: problem.into(),
        }
    }

    /// A problem with `name` inside the table starting at byte `start`: the line of that key
    /// when the table writes it, the table's own line otherwise.
    fn key_error(&self, start: usize, path: &str, name: &str, problem: String) -> FileError {
        let leaf = name.rsplit('.').next().unwrap_or(name);
        let line = self
            .line_of_key(start, name)
            .or_else(|| self.line_of_key(start, leaf))
            .unwrap_or_else(|| self.line_at(start));
        self.error(Some(line), Some(path.to_owned()), problem)
    }

    /// The line, from 1, of byte `offset`.
    pub(crate) fn line_at(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    /// The first line from `start` on that sets `key`, before the next table begins.
    fn line_of_key(&self, start: usize, key: &str) -> Option<usize> {
        let first = self.line_at(start);
        for (index, line) in self.text.lines().enumerate().skip(first - 1) {
            let trimmed = line.trim_start();
            if index + 1 > first && trimmed.starts_with("[[") {
                return None;
            }
            let set = trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']));
            if set || trimmed == format!("[panel.{key}]") || trimmed == format!("[variable.{key}]") {
                return Some(index + 1);
            }
        }
        None
    }

    /// A syntax or type error of the TOML reader, with its line and the key on that line.
    fn toml_error(&self, error: &toml::de::Error) -> FileError {
        let line = error.span().map(|span| self.line_at(span.start));
        let key = line
            .and_then(|line| self.text.lines().nth(line - 1))
            .and_then(|text| text.split_once('='))
            .map(|(key, _)| key.trim().to_owned())
            .filter(|key| !key.is_empty() && !key.starts_with('['));
        self.error(line, key, error.message().trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
title = "Patient registrations"
description = "How many patients registered."

[[variable]]
name = "clinic"
label = "Clinic"
default = "all"
values = [
  { value = "all", label = "All clinics", matches = ".+" },
  { value = "north", label = "North" },
]

[[panel]]
id = "registered"
title = "Patients registered"
kind = "stat"
compare = "week"
noun = ["patient", "patients"]
sentence = "{count} registered {range}, {trend}."
thresholds = { better = "higher", watch = 10, bad = 1 }
query.prometheus = 'sum(increase(patient_registrations_total{clinic=~"$clinic"}[$__window]))'
"#;

    fn error_of(text: &str) -> FileError {
        parse("server/dashboards/x.toml", "x", text).unwrap_err()
    }

    #[test]
    fn a_valid_file_becomes_a_dashboard() {
        let dashboard = parse("x.toml", "patient-registrations", VALID).unwrap();
        assert_eq!(dashboard.variables[0].values[0].matches, ".+");
        assert_eq!(dashboard.variables[0].values[1].matches, "north");
        assert_eq!(dashboard.panels[0].compare, Compare::Week);
        assert_eq!(dashboard.roles, vec![Role::Operations, Role::Engineer]);
    }

    #[test]
    fn a_wrong_type_names_the_line_and_key() {
        let error = error_of(&VALID.replace("kind = \"stat\"", "kind = \"pie\""));
        assert_eq!(error.line, Some(17), "{error}");
        assert_eq!(error.key.as_deref(), Some("kind"), "{error}");
        assert!(error.problem.contains("pie"), "{error}");
    }

    #[test]
    fn an_unknown_variable_in_a_query_names_the_panel_key_and_line() {
        let error = error_of(&VALID.replace("$clinic", "$department"));
        assert_eq!(error.key.as_deref(), Some("panel[0].query.prometheus"), "{error}");
        assert_eq!(error.line, Some(22), "{error}");
        assert!(error.problem.contains("$department"), "{error}");
        assert!(
            error.to_string().starts_with("server/dashboards/x.toml, line 22"),
            "{error}"
        );
    }

    #[test]
    fn thresholds_in_the_wrong_order_are_refused() {
        let error = error_of(&VALID.replace("watch = 10, bad = 1", "watch = 1, bad = 10"));
        assert_eq!(error.key.as_deref(), Some("panel[0].thresholds"), "{error}");
        assert_eq!(error.line, Some(21), "{error}");
    }

    #[test]
    fn a_default_outside_the_values_is_refused() {
        let error = error_of(&VALID.replace("default = \"all\"", "default = \"west\""));
        assert_eq!(error.key.as_deref(), Some("variable[0].default"), "{error}");
        assert_eq!(error.line, Some(8), "{error}");
    }

    #[test]
    fn an_unknown_placeholder_and_a_trend_without_comparison_are_refused() {
        let error = error_of(&VALID.replace("{range}", "{when}"));
        assert!(error.problem.contains("{when}"), "{error}");
        let error = error_of(&VALID.replace("compare = \"week\"", "compare = \"none\""));
        assert_eq!(error.key.as_deref(), Some("panel[0].compare"), "{error}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = error_of(&VALID.replace("sentence =", "sentense ="));
        assert_eq!(error.key.as_deref(), Some("sentense"), "{error}");
        assert!(error.problem.contains("sentense"), "{error}");
    }

    #[test]
    fn parameters_are_found_in_queries() {
        let found: Vec<&str> = parameters("x{c=~\"$clinic\"}[$__window] $ $1").collect();
        assert_eq!(found, vec!["clinic", "__window"]);
    }
}
