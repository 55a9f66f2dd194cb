//! Picking the evidence, deterministically, from what the sources answered: the dependency
//! whose failures rose, the span failing traces failed at, the pattern of the failures' lines.
//! Pure.

use vitals_api::{CallStats, DependencyEvidence, ServiceMap, SpanStatus, Trace};
use vitals_trace::SpanTable;
use vitals_trace::waterfall::Waterfall;

use super::episodes::MIN_FAILED;
use crate::insights::patterns::{Mined, Pattern};

/// How much a dependency's share of failed calls must rise to count: at least this many points
/// (of 100) and to at least twice what it was before.
const RISE_POINTS: f64 = 0.05;

fn failed(stats: &CallStats) -> u64 {
    stats.errors + stats.faults + stats.throttles
}

fn share(stats: &CallStats) -> f64 {
    if stats.requests == 0 {
        0.0
    } else {
        failed(stats) as f64 / stats.requests as f64
    }
}

/// The call from `service` whose failures rose most from `before` to `during`: the edge with the
/// most failed calls beyond what its earlier share would give, among those that rose clearly.
pub fn dependency(service: &str, during: &ServiceMap, before: &ServiceMap) -> Option<DependencyEvidence> {
    during
        .edges
        .iter()
        .filter(|edge| edge.source == service)
        .filter_map(|edge| {
            let earlier = before
                .edges
                .iter()
                .find(|old| old.source == edge.source && old.target == edge.target)
                .map_or(0.0, |old| share(&old.stats));
            let now = share(&edge.stats);
            let failures = failed(&edge.stats);
            let rose = failures as f64 >= MIN_FAILED && now - earlier >= RISE_POINTS && now >= 2.0 * earlier;
            let beyond = failures as f64 - earlier * edge.stats.requests as f64;
            rose.then(|| {
                (
                    beyond,
                    DependencyEvidence {
                        source: edge.source.clone(),
                        target: edge.target.clone(),
                        calls: edge.stats.requests,
                        failed: failures,
                        failed_share: now,
                        failed_share_before: earlier,
                    },
                )
            })
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.target.cmp(&a.1.target)))
        .map(|(_, evidence)| evidence)
}

/// The span a trace failed at: where it ended badly while nothing below it did. Of several,
/// the one calling `target` when one does, else the first.
pub struct FailedSpan {
    pub service: String,
    pub name: String,
    pub operation: Option<String>,
    pub error: Option<String>,
    pub message: Option<String>,
    /// What it called: its `peer.service`, or the start of its name before a dot.
    pub target: Option<String>,
}

pub fn failed_span(trace: &Trace, target: Option<&str>) -> Option<FailedSpan> {
    let waterfall = Waterfall::new(SpanTable::from_spans(&trace.trace_id, &trace.spans));
    let table = waterfall.table();
    let origins: Vec<FailedSpan> = waterfall
        .failure_origins()
        .into_iter()
        .filter(|&span| table.status(span) != SpanStatus::Ok)
        .map(|span| {
            let attributes = table.attributes(span);
            let name = table.name(span).to_owned();
            let attribute = |keys: &[&str]| keys.iter().find_map(|key| attributes.get(*key).cloned());
            FailedSpan {
                service: table.service(span).to_owned(),
                operation: attribute(&["aws.operation", "rpc.method"]),
                error: attribute(&["error", "exception.type", "aws.error_code"]),
                message: attribute(&["exception.message"]),
                target: attribute(&["peer.service"])
                    .or_else(|| name.split_once('.').map(|(first, _)| first.to_owned())),
                name,
            }
        })
        .collect();
    let calls_target = |span: &FailedSpan| target.is_some() && span.target.as_deref() == target;
    let chosen = origins.iter().position(calls_target).unwrap_or(0);
    origins.into_iter().nth(chosen)
}

/// The pattern that tells the failures: the most frequent of those new since the baseline,
/// else the most frequent of all.
pub fn pattern(mined: &Mined) -> Option<&Pattern> {
    let newest = mined
        .patterns
        .iter()
        .filter(|pattern| pattern.new)
        .max_by_key(|pattern| pattern.count);
    newest.or_else(|| mined.patterns.iter().max_by_key(|pattern| pattern.count))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vitals_api::{ServiceEdge, Span, SpanKind};

    use super::*;

    fn edge(source: &str, target: &str, requests: u64, errors: u64) -> ServiceEdge {
        ServiceEdge {
            source: source.into(),
            target: target.into(),
            stats: CallStats {
                requests,
                errors,
                ..CallStats::default()
            },
        }
    }

    fn map(edges: Vec<ServiceEdge>) -> ServiceMap {
        ServiceMap {
            nodes: Vec::new(),
            edges,
            layout: None,
        }
    }

    #[test]
    fn the_dependency_is_the_call_whose_failures_rose_most() {
        let before = map(vec![
            edge("login-api", "DynamoDB", 600, 0),
            edge("login-api", "Cognito", 100, 10),
        ]);
        let during = map(vec![
            edge("login-api", "DynamoDB", 600, 412),
            edge("login-api", "Cognito", 100, 11),
            edge("records", "S3", 100, 90),
        ]);
        let found = dependency("login-api", &during, &before).unwrap();
        assert_eq!(
            (found.target.as_str(), found.failed, found.calls),
            ("DynamoDB", 412, 600)
        );
        assert_eq!(found.failed_share_before, 0.0);
    }

    #[test]
    fn failures_as_usual_or_too_few_point_at_no_dependency() {
        let before = map(vec![edge("login-api", "Cognito", 100, 10)]);
        let during = map(vec![edge("login-api", "Cognito", 100, 12)]);
        assert_eq!(
            dependency("login-api", &during, &before),
            None,
            "10% before, 12% now"
        );
        let during = map(vec![edge("login-api", "DynamoDB", 10, 2)]);
        assert_eq!(
            dependency("login-api", &during, &map(vec![])),
            None,
            "two failed calls"
        );
        assert_eq!(dependency("login-api", &map(vec![]), &map(vec![])), None);
    }

    fn span(
        id: &str,
        parent: Option<&str>,
        name: &str,
        status: SpanStatus,
        attributes: &[(&str, &str)],
    ) -> Span {
        Span {
            trace_id: "1-67430000-0123456789abcdef01234567".into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_owned),
            service: "login-api".into(),
            name: name.into(),
            start: 0,
            duration: 1_000_000,
            status,
            kind: SpanKind::Client,
            attributes: attributes
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            reveal_ref: None,
        }
    }

    #[test]
    fn the_failed_span_is_where_the_trace_failed_first() {
        let trace = Trace {
            trace_id: "1-67430000-0123456789abcdef01234567".into(),
            spans: vec![
                span("a", None, "POST /login", SpanStatus::Error, &[]),
                span("b", Some("a"), "Cognito.InitiateAuth", SpanStatus::Ok, &[]),
                span(
                    "c",
                    Some("a"),
                    "DynamoDB.GetItem",
                    SpanStatus::Error,
                    &[
                        ("aws.operation", "GetItem"),
                        ("error", "ResourceNotFoundException"),
                        ("peer.service", "DynamoDB"),
                    ],
                ),
            ],
        };
        let found = failed_span(&trace, Some("DynamoDB")).unwrap();
        assert_eq!(found.name, "DynamoDB.GetItem");
        assert_eq!(found.operation.as_deref(), Some("GetItem"));
        assert_eq!(found.error.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(found.target.as_deref(), Some("DynamoDB"));
        let healthy = Trace {
            spans: vec![span("a", None, "POST /login", SpanStatus::Ok, &[])],
            ..trace
        };
        assert!(failed_span(&healthy, None).is_none());
    }

    fn mined(patterns: &[(&str, usize, bool)]) -> Mined {
        Mined {
            patterns: patterns
                .iter()
                .map(|&(template, count, new)| Pattern {
                    template: template.into(),
                    count,
                    sparkline: Vec::new(),
                    example: template.into(),
                    new,
                    line_filter: String::new(),
                })
                .collect(),
            ..Mined::default()
        }
    }

    #[test]
    fn a_new_pattern_comes_before_a_more_frequent_old_one() {
        let found = mined(&[
            ("timeout <*>", 50, false),
            ("GetItem failed <*>", 40, true),
            ("x", 3, true),
        ]);
        assert_eq!(pattern(&found).unwrap().template, "GetItem failed <*>");
        let found = mined(&[("timeout <*>", 50, false), ("slow <*>", 60, false)]);
        assert_eq!(pattern(&found).unwrap().template, "slow <*>");
        assert!(pattern(&mined(&[])).is_none());
    }
}
