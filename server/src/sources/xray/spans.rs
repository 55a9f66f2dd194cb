//! BatchGetTraces' segment documents → Vitals spans: segments, their nested subsegments, and X-Ray's inferred segments folded into the calls that caused them.
//!
//! A segment is the `server` span of its service; a subsegment in namespace
//! `aws` or `remote` is a `client` span calling the node it is named after
//! (`peer.service`), any other subsegment an `internal` span. X-Ray adds an
//! inferred segment (`"inferred": true`) for each AWS resource a subsegment
//! called; the calling subsegment already is that call, so an inferred
//! segment is dropped when its caller is in the trace (its children, if
//! any, move up to the caller). The service map counts the call once, from
//! the client span, the same way.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use vitals_api::{Span, SpanKind, SpanStatus};

use super::document::{
    DEFAULT_NAMESPACE, Document, EXCEPTION_MESSAGE, EXCEPTION_TYPE, HTTP_FIELDS, HTTP_ROUTE, NAMESPACE_AWS,
    NAMESPACE_REMOTE, ORIGIN, PEER_SERVICE, http_span_name, seconds_to_ns,
};

/// Attributes the translation adds from X-Ray's own state.
const INFERRED: &str = "xray.inferred";
const IN_PROGRESS: &str = "xray.in_progress";

/// A segment document X-Ray answered that is not JSON of the expected shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("X-Ray answered a segment document that cannot be read ({0})")]
pub struct BadDocument(pub String);

/// A span and whether X-Ray inferred it.
struct ReadSpan {
    span: Span,
    inferred: bool,
}

/// Every span of one trace's segment documents, parents before children;
/// `trace_id` is written into each span as given (the form the caller asked in).
pub fn spans_from_documents<S: AsRef<str>>(
    trace_id: &str,
    documents: &[S],
) -> Result<Vec<Span>, BadDocument> {
    let mut segments = documents
        .iter()
        .map(|text| serde_json::from_str::<Document>(text.as_ref()).map_err(|e| BadDocument(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    // X-Ray returns a trace's segments in no particular order.
    segments.sort_by(|a, b| {
        a.start_time
            .total_cmp(&b.start_time)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut read = Vec::new();
    for segment in &segments {
        read_segment(trace_id, segment, &mut read);
    }
    Ok(parents_first(fold_inferred(read)))
}

fn read_segment(trace_id: &str, segment: &Document, out: &mut Vec<ReadSpan>) {
    out.push(ReadSpan {
        span: span_of(trace_id, segment, &segment.name, segment.parent_id.clone(), true),
        inferred: segment.inferred,
    });
    read_subsegments(trace_id, segment, &segment.name, out);
}

fn read_subsegments(trace_id: &str, parent: &Document, service: &str, out: &mut Vec<ReadSpan>) {
    for subsegment in &parent.subsegments {
        out.push(ReadSpan {
            span: span_of(trace_id, subsegment, service, Some(parent.id.clone()), false),
            inferred: false,
        });
        read_subsegments(trace_id, subsegment, service, out);
    }
}

fn span_of(
    trace_id: &str,
    document: &Document,
    service: &str,
    parent_id: Option<String>,
    segment: bool,
) -> Span {
    let mut attributes = attributes_of(document);
    let http_name = || {
        attributes.get("http.method").map(|method| {
            let route = attributes.get(HTTP_ROUTE).or_else(|| attributes.get("http.url"));
            http_span_name(method, route.map(String::as_str))
        })
    };
    let (name, kind) = match document.namespace.as_deref() {
        _ if segment => (
            http_name().unwrap_or_else(|| document.name.clone()),
            SpanKind::Server,
        ),
        Some(NAMESPACE_AWS) => match attributes.get("aws.operation") {
            Some(operation) => (format!("{}.{operation}", document.name), SpanKind::Client),
            None => (document.name.clone(), SpanKind::Client),
        },
        Some(NAMESPACE_REMOTE) => (
            http_name().unwrap_or_else(|| document.name.clone()),
            SpanKind::Client,
        ),
        _ => (document.name.clone(), SpanKind::Internal),
    };
    if kind == SpanKind::Client {
        attributes.insert(PEER_SERVICE.to_owned(), document.name.clone());
    }
    let start = seconds_to_ns(document.start_time);
    let duration = match document.end_time {
        Some(end) => (seconds_to_ns(end) - start).max(0),
        None => 0,
    };
    Span {
        trace_id: trace_id.to_owned(),
        span_id: document.id.clone(),
        parent_id,
        service: service.to_owned(),
        name,
        start,
        duration,
        status: status_of(document),
        kind,
        attributes,
        reveal_ref: None,
    }
}

/// X-Ray sets `error` along with `throttle` for a 429, so throttle is looked at first.
fn status_of(document: &Document) -> SpanStatus {
    if document.fault {
        SpanStatus::Fault
    } else if document.throttle {
        SpanStatus::Throttle
    } else if document.error {
        SpanStatus::Error
    } else {
        SpanStatus::Ok
    }
}

/// Metadata, annotations, `aws`, `http` and `cause`, flattened into dotted keys; later sources win.
fn attributes_of(document: &Document) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    for (namespace, value) in document.metadata.iter().flatten() {
        let prefix = if namespace == DEFAULT_NAMESPACE {
            ""
        } else {
            namespace
        };
        flatten_into(prefix, value, &mut attributes);
    }
    for (key, value) in document.annotations.iter().flatten() {
        flatten_into(key, value, &mut attributes);
    }
    if let Some(aws) = &document.aws {
        flatten_into("aws", aws, &mut attributes);
    }
    if let Some(http) = &document.http {
        let mut fields = BTreeMap::new();
        flatten_into("http", http, &mut fields);
        for (attribute, [part, field]) in HTTP_FIELDS {
            if let Some(value) = fields.remove(&format!("http.{part}.{field}")) {
                fields.insert(attribute.to_owned(), value);
            }
        }
        attributes.extend(fields);
    }
    let first_exception = document
        .cause
        .as_ref()
        .and_then(|cause| cause.get("exceptions"))
        .and_then(|exceptions| exceptions.get(0));
    if let Some(exception) = first_exception {
        for (field, attribute) in [("message", EXCEPTION_MESSAGE), ("type", EXCEPTION_TYPE)] {
            if let Some(text) = exception.get(field).and_then(Value::as_str) {
                attributes.insert(attribute.to_owned(), text.to_owned());
            }
        }
    }
    if let Some(origin) = &document.origin {
        attributes.insert(ORIGIN.to_owned(), origin.clone());
    }
    if document.in_progress || document.end_time.is_none() {
        attributes.insert(IN_PROGRESS.to_owned(), "true".to_owned());
    }
    attributes
}

/// Objects become dotted keys; strings stay as they are, other values become their JSON text.
fn flatten_into(key: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Null => {}
        Value::Object(fields) => {
            for (field, inner) in fields {
                let nested = if key.is_empty() {
                    field.clone()
                } else {
                    format!("{key}.{field}")
                };
                flatten_into(&nested, inner, out);
            }
        }
        _ if key.is_empty() => {}
        Value::String(text) => {
            out.insert(key.to_owned(), text.clone());
        }
        other => {
            out.insert(key.to_owned(), other.to_string());
        }
    }
}

/// Drops inferred segments whose calling subsegment is in the trace, moving
/// their children to that caller; an inferred segment without its caller (a
/// partial trace) stays, as a client span of the resource it stands for.
fn fold_inferred(read: Vec<ReadSpan>) -> Vec<Span> {
    let ids: HashSet<String> = read.iter().map(|r| r.span.span_id.clone()).collect();
    let mut callers: HashMap<String, String> = HashMap::new();
    let mut kept = Vec::with_capacity(read.len());
    for ReadSpan { mut span, inferred } in read {
        if inferred {
            match span.parent_id.as_ref().filter(|caller| ids.contains(*caller)) {
                Some(caller) => {
                    callers.insert(span.span_id.clone(), caller.clone());
                    continue;
                }
                None => {
                    span.kind = SpanKind::Client;
                    span.attributes
                        .insert(PEER_SERVICE.to_owned(), span.service.clone());
                    span.attributes.insert(INFERRED.to_owned(), "true".to_owned());
                }
            }
        }
        kept.push(span);
    }
    for span in &mut kept {
        // Bounded: each step replaces a dropped segment by its caller.
        for _ in 0..=callers.len() {
            match span.parent_id.as_ref().and_then(|parent| callers.get(parent)) {
                Some(caller) => span.parent_id = Some(caller.clone()),
                None => break,
            }
        }
    }
    kept
}

/// Depth first from the roots (spans whose parent is not in the trace),
/// children in the order they were read; spans caught in a parent cycle go last.
fn parents_first(spans: Vec<Span>) -> Vec<Span> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (index, span) in spans.iter().enumerate() {
        position.entry(span.span_id.as_str()).or_insert(index);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        match span.parent_id.as_deref().and_then(|parent| position.get(parent)) {
            Some(&parent) if parent != index => children[parent].push(index),
            _ => roots.push(index),
        }
    }
    let mut order = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(index) = stack.pop() {
        if std::mem::replace(&mut visited[index], true) {
            continue;
        }
        order.push(index);
        stack.extend(children[index].iter().rev());
    }
    order.extend((0..spans.len()).filter(|&index| !visited[index]));
    let mut slots: Vec<Option<Span>> = spans.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|index| slots[index].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TRACE: &str = "1-6a23a1f8-0123456789abcdef01234567";

    fn read(documents: &[Value]) -> Vec<Span> {
        let texts: Vec<String> = documents.iter().map(Value::to_string).collect();
        spans_from_documents(TRACE, &texts).unwrap()
    }

    /// The login-api segment X-Ray stores for a failed login: a nested
    /// subsegment, a DynamoDB call that failed, and the inferred DynamoDB segment.
    fn failed_login() -> Vec<Value> {
        vec![
            json!({
                "name": "DynamoDB", "id": "9000000000000001", "trace_id": TRACE,
                "parent_id": "3000000000000003", "inferred": true, "origin": "AWS::DynamoDB::Table",
                "start_time": 1_795_516_200.105, "end_time": 1_795_516_200.118, "error": true,
                "http": {"response": {"status": 400}},
                "aws": {"operation": "GetItem", "table_name": "users"}
            }),
            json!({
                "name": "login-api", "id": "1000000000000001", "trace_id": TRACE,
                "origin": "AWS::ECS::Container",
                "start_time": 1_795_516_200.1, "end_time": 1_795_516_200.25, "error": true,
                "http": {"request": {"method": "POST", "url": "https://clinic.example/login?next=/"},
                         "response": {"status": 404}},
                "annotations": {"clinic": "north", "attempt": 2, "retried": false},
                "metadata": {"default": {"http.route": "/login", "nested": {"depth": 1}},
                             "auth": {"method": "password"}},
                "subsegments": [
                    {"name": "check credentials", "id": "2000000000000002",
                     "start_time": 1_795_516_200.101, "end_time": 1_795_516_200.104,
                     "subsegments": [
                        {"name": "DynamoDB", "id": "3000000000000003", "namespace": "aws",
                         "start_time": 1_795_516_200.105, "end_time": 1_795_516_200.118, "error": true,
                         "http": {"response": {"status": 400}},
                         "aws": {"operation": "GetItem", "table_name": "users", "region": "eu-west-1",
                                 "retries": 0},
                         "cause": {"exceptions": [{"id": "4000000000000004",
                                                   "message": "Requested resource not found",
                                                   "type": "ResourceNotFoundException"}]}}
                     ]}
                ]
            }),
        ]
    }

    #[test]
    fn segments_and_nested_subsegments_become_spans_parents_first() {
        let spans = read(&failed_login());
        let shape: Vec<(&str, Option<&str>, &str, &str, SpanKind)> = spans
            .iter()
            .map(|s| {
                (
                    s.span_id.as_str(),
                    s.parent_id.as_deref(),
                    s.service.as_str(),
                    s.name.as_str(),
                    s.kind,
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (
                    "1000000000000001",
                    None,
                    "login-api",
                    "POST /login",
                    SpanKind::Server
                ),
                (
                    "2000000000000002",
                    Some("1000000000000001"),
                    "login-api",
                    "check credentials",
                    SpanKind::Internal
                ),
                (
                    "3000000000000003",
                    Some("2000000000000002"),
                    "login-api",
                    "DynamoDB.GetItem",
                    SpanKind::Client
                ),
            ]
        );
        assert!(spans.iter().all(|s| s.trace_id == TRACE));
        assert_eq!(spans[0].start, 1_795_516_200_100_000_000);
        assert_eq!(spans[0].duration, 150_000_000);
        assert_eq!(spans[2].duration, 13_000_000);
    }

    #[test]
    fn the_inferred_segment_is_not_a_second_call() {
        let spans = read(&failed_login());
        assert_eq!(spans.len(), 3);
        assert!(spans.iter().all(|s| s.service == "login-api"));
        let calls: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Client).collect();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].attributes[PEER_SERVICE], "DynamoDB");
    }

    #[test]
    fn fields_annotations_and_metadata_become_attributes() {
        let spans = read(&failed_login());
        let root = &spans[0].attributes;
        let expected_root = [
            ("http.method", "POST"),
            ("http.url", "https://clinic.example/login?next=/"),
            ("http.status_code", "404"),
            ("http.route", "/login"),
            ("clinic", "north"),
            ("attempt", "2"),
            ("retried", "false"),
            ("nested.depth", "1"),
            ("auth.method", "password"),
            (ORIGIN, "AWS::ECS::Container"),
        ];
        for (key, value) in expected_root {
            assert_eq!(root.get(key).map(String::as_str), Some(value), "{key}");
        }
        let call = &spans[2].attributes;
        let expected_call = [
            ("aws.operation", "GetItem"),
            ("aws.table_name", "users"),
            ("aws.region", "eu-west-1"),
            ("aws.retries", "0"),
            ("http.status_code", "400"),
            (EXCEPTION_MESSAGE, "Requested resource not found"),
            (EXCEPTION_TYPE, "ResourceNotFoundException"),
            (PEER_SERVICE, "DynamoDB"),
        ];
        for (key, value) in expected_call {
            assert_eq!(call.get(key).map(String::as_str), Some(value), "{key}");
        }
    }

    #[test]
    fn flags_give_the_status_with_throttle_before_error() {
        let status = |flags: Value| {
            let mut document =
                json!({"name": "s", "id": "1", "trace_id": TRACE, "start_time": 1.0, "end_time": 2.0});
            document
                .as_object_mut()
                .unwrap()
                .extend(flags.as_object().unwrap().clone());
            read(&[document])[0].status
        };
        assert_eq!(status(json!({})), SpanStatus::Ok);
        assert_eq!(status(json!({"error": false, "fault": false})), SpanStatus::Ok);
        assert_eq!(status(json!({"error": true})), SpanStatus::Error);
        assert_eq!(
            status(json!({"error": true, "throttle": true})),
            SpanStatus::Throttle
        );
        assert_eq!(status(json!({"fault": true, "error": true})), SpanStatus::Fault);
    }

    #[test]
    fn a_downstream_service_segment_hangs_under_the_calling_subsegment() {
        let spans = read(&[
            json!({"name": "records", "id": "b000000000000001", "trace_id": TRACE, "parent_id": "a000000000000002",
                   "start_time": 10.2, "end_time": 10.4, "fault": true,
                   "http": {"request": {"method": "GET"}, "response": {"status": 503}}}),
            json!({"name": "appointments", "id": "a000000000000001", "trace_id": TRACE,
                   "start_time": 10.0, "end_time": 11.0, "fault": true,
                   "subsegments": [{"name": "records", "id": "a000000000000002", "namespace": "remote",
                                    "start_time": 10.1, "end_time": 10.5, "fault": true,
                                    "http": {"request": {"method": "GET", "url": "http://records/records/7"},
                                             "response": {"status": 503}}}]}),
        ]);
        let names: Vec<(&str, &str, SpanKind)> = spans
            .iter()
            .map(|s| (s.service.as_str(), s.name.as_str(), s.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("appointments", "appointments", SpanKind::Server),
                ("appointments", "GET /records/7", SpanKind::Client),
                ("records", "GET", SpanKind::Server),
            ]
        );
        assert_eq!(spans[2].parent_id.as_deref(), Some("a000000000000002"));
        assert_eq!(spans[2].status, SpanStatus::Fault);
    }

    #[test]
    fn an_inferred_segment_without_its_caller_stays_as_the_resource_call() {
        let spans = read(&[json!({
            "name": "SQS", "id": "c000000000000001", "trace_id": TRACE, "parent_id": "ffffffffffffffff",
            "inferred": true, "start_time": 5.0, "end_time": 5.01, "aws": {"operation": "SendMessage"}
        })]);
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].kind, SpanKind::Client);
        assert_eq!(spans[0].service, "SQS");
        assert_eq!(spans[0].attributes[PEER_SERVICE], "SQS");
        assert_eq!(spans[0].attributes[INFERRED], "true");
    }

    #[test]
    fn children_of_a_dropped_inferred_segment_move_to_its_caller() {
        let spans = read(&[
            json!({"name": "api", "id": "a1", "trace_id": TRACE, "start_time": 1.0, "end_time": 2.0,
                   "subsegments": [{"name": "Lambda", "id": "a2", "namespace": "aws",
                                    "start_time": 1.1, "end_time": 1.9, "aws": {"operation": "Invoke"}}]}),
            json!({"name": "Lambda", "id": "b1", "trace_id": TRACE, "parent_id": "a2", "inferred": true,
                   "start_time": 1.1, "end_time": 1.9}),
            json!({"name": "reminder-fn", "id": "c1", "trace_id": TRACE, "parent_id": "b1",
                   "start_time": 1.2, "end_time": 1.8}),
        ]);
        let ids: Vec<(&str, Option<&str>)> = spans
            .iter()
            .map(|s| (s.span_id.as_str(), s.parent_id.as_deref()))
            .collect();
        assert_eq!(ids, vec![("a1", None), ("a2", Some("a1")), ("c1", Some("a2"))]);
    }

    #[test]
    fn an_unfinished_segment_has_no_duration_and_says_so() {
        let spans = read(&[
            json!({"name": "api", "id": "a1", "trace_id": TRACE, "start_time": 1.0, "in_progress": true}),
        ]);
        assert_eq!(spans[0].duration, 0);
        assert_eq!(spans[0].attributes[IN_PROGRESS], "true");
    }

    #[test]
    fn a_document_that_is_not_a_segment_is_an_error() {
        assert!(spans_from_documents(TRACE, &["not json"]).is_err());
        assert!(spans_from_documents(TRACE, &[r#"{"id": "a1"}"#]).is_err());
    }
}
