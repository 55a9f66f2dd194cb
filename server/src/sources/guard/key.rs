//! What makes two calls the same call: the caller's scope, the operation and its normalised arguments.

use std::fmt;
use std::sync::Arc;

use vitals_api::Direction;

use crate::scope::LabelScope;
use crate::sources::{LogQuery, TimeRange, TraceQuery};

/// Who may see an answer: answers are shared only between callers of the same scope.
///
/// The server builds it from what decides what a caller may see (the role set, the label
/// matchers the caller is confined to); two callers with the same scope must be allowed the
/// same answers. A confined scope's name says what it is confined to, so it never shares
/// answers with an unconfined one.
#[derive(Clone)]
pub struct Scope {
    name: Option<Arc<str>>,
    labels: Option<Arc<LabelScope>>,
}

impl Scope {
    /// Answers for callers whose permissions are `name` (for example `roles:engineer`).
    pub fn new(name: &str) -> Self {
        Self {
            name: Some(Arc::from(name)),
            labels: None,
        }
    }

    /// Answers for callers whose permissions are `name` and whose queries are confined to
    /// `labels`.
    pub fn confined(name: &str, labels: Arc<LabelScope>) -> Self {
        Self {
            name: Some(Arc::from(format!("{name} confined to {{{}}}", labels.text))),
            labels: Some(labels),
        }
    }

    /// Answers Vitals asks for itself: readiness probes, the status page. No
    /// caller's scope is ever equal to it.
    pub fn server() -> Self {
        Self {
            name: None,
            labels: None,
        }
    }

    /// The label matchers this scope's queries are confined to, if any.
    pub fn labels(&self) -> Option<&LabelScope> {
        self.labels.as_deref()
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Scope {}

impl std::hash::Hash for Scope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl From<&str> for Scope {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(formatter, "Scope({name:?})"),
            None => formatter.write_str("Scope::server"),
        }
    }
}

/// One call as the cache and the in-flight map know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CallKey {
    pub(super) scope: Scope,
    pub(super) call: Call,
}

/// The operation and the arguments that change its answer. Ranges are exact
/// milliseconds: the server rounds `now` before asking if it wants relative
/// ranges to share answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Call {
    Probe,
    Logs {
        query: String,
        range: TimeRange,
        limit: u32,
        forward: bool,
        step_ms: i64,
    },
    LogLabels {
        range: TimeRange,
    },
    LogLabelValues {
        name: String,
        range: TimeRange,
    },
    MetricRange {
        query: String,
        range: TimeRange,
        step_ms: i64,
    },
    MetricInstant {
        query: String,
        at_ms: i64,
    },
    MetricNames,
    TraceSearch {
        filter: String,
        range: TimeRange,
        limit: u32,
    },
    Trace {
        trace_id: String,
    },
    ServiceMap {
        range: TimeRange,
    },
}

impl Call {
    pub(super) fn logs(query: &LogQuery) -> Self {
        Self::Logs {
            query: normalise_query(&query.query),
            range: query.range,
            limit: query.limit,
            forward: query.direction == Direction::Forward,
            step_ms: query.step_ms,
        }
    }

    pub(super) fn metric_range(query: &str, range: TimeRange, step_ms: i64) -> Self {
        Self::MetricRange {
            query: normalise_query(query),
            range,
            step_ms,
        }
    }

    pub(super) fn metric_instant(query: &str, at_ms: i64) -> Self {
        Self::MetricInstant {
            query: normalise_query(query),
            at_ms,
        }
    }

    pub(super) fn trace_search(query: &TraceQuery) -> Self {
        Self::TraceSearch {
            filter: normalise_query(&query.filter),
            range: query.range,
            limit: query.limit,
        }
    }
}

/// Trims a LogQL, PromQL or X-Ray filter expression and collapses each run of
/// whitespace outside quotes into one space, or one newline when the run holds
/// one (a `#` comment ends at the line's end). Quoted text is kept as it is.
fn normalise_query(query: &str) -> String {
    let mut normalised = String::with_capacity(query.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut pending_space: Option<char> = None;
    for c in query.trim().chars() {
        if let Some(open) = quote {
            normalised.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' && open != '`' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            if c == '\n' || pending_space.is_none() {
                pending_space = Some(if c == '\n' { '\n' } else { ' ' });
            }
            continue;
        }
        if let Some(space) = pending_space.take() {
            normalised.push(space);
        }
        if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
        }
        normalised.push(c);
    }
    normalised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_outside_quotes_collapses() {
        let cases = [
            ("  rate( {service=\"a\"} [5m] )  ", "rate( {service=\"a\"} [5m] )"),
            ("sum  by (clinic)\t(x)", "sum by (clinic) (x)"),
            ("\n{a=\"b\"}   |=  \"x\"\n", "{a=\"b\"} |= \"x\""),
        ];
        for (query, expected) in cases {
            assert_eq!(normalise_query(query), expected);
        }
    }

    #[test]
    fn quoted_text_keeps_its_spaces_and_escapes() {
        let query = r#"{a="x"} |= "say \"hi  there\"   now"  |~ `a   b`  |= 'c  d'"#;
        assert_eq!(
            normalise_query(query),
            r#"{a="x"} |= "say \"hi  there\"   now" |~ `a   b` |= 'c  d'"#
        );
    }

    #[test]
    fn a_newline_stays_a_newline_so_comments_end_where_they_did() {
        assert_eq!(normalise_query("up # a comment \n  + 1"), "up # a comment\n+ 1");
        assert_ne!(normalise_query("up # c\n+ 1"), normalise_query("up # c + 1"));
    }

    #[test]
    fn scopes_differ_from_each_other_and_from_the_server() {
        assert_eq!(Scope::new("roles:engineer"), Scope::from("roles:engineer"));
        assert_ne!(Scope::new("roles:engineer"), Scope::new("roles:operations"));
        assert_ne!(Scope::new(""), Scope::server());
        let records = crate::scope::LabelScopes::new(&[crate::scope::LabelScopeRule {
            who: "engineer".into(),
            matchers: vec![r#"team="records""#.into()],
        }])
        .unwrap()
        .for_person(&[vitals_api::Role::Engineer], &[])
        .unwrap();
        let confined = Scope::confined("roles:engineer", records);
        assert_ne!(confined, Scope::new("roles:engineer"));
        assert_eq!(
            confined.labels().map(|labels| labels.text.as_str()),
            Some(r#"team="records""#)
        );
    }
}
