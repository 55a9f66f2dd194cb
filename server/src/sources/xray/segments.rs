//! Vitals traces → X-Ray segment documents for PutTraceSegments, including the inferred segments real X-Ray adds for AWS calls.
//!
//! The reverse of [`super::spans`]: a span whose parent is in another
//! service (or absent) becomes a segment named after its service; the spans
//! below it in the same service become nested subsegments. Client spans with
//! `aws.operation` become `aws` subsegments named after `peer.service`,
//! other client spans `remote` ones. Attributes go to the X-Ray fields that
//! hold them (`http`, `aws`, `cause`), the rest to annotations when X-Ray can
//! index the key, else to the `default` metadata namespace. An HTTP server
//! span's name is not stored: read back, it is `{http.method} {http.route}`,
//! as OpenTelemetry names such spans.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};
use vitals_api::{Span, SpanKind, SpanStatus, Trace};

use super::document::{
    AWS_FIELDS, DEFAULT_NAMESPACE, Document, EXCEPTION_MESSAGE, EXCEPTION_TYPE, HTTP_FIELDS, NAMESPACE_AWS,
    NAMESPACE_REMOTE, ORIGIN, PEER_SERVICE, ns_to_seconds, origin_of,
};
use super::filter::is_annotation_key;
use super::ids::to_xray_form;

/// X-Ray indexes at most 50 annotations per trace; more go to metadata.
const MAX_ANNOTATIONS: usize = 50;
/// Salts for the ids X-Ray would make up: the inferred segment's and the exception's.
const INFERRED_SALT: u8 = 1;
const EXCEPTION_SALT: u8 = 2;

/// The segment documents of a trace, segments first and the inferred
/// segments of its AWS calls after them; W3C ids become X-Ray ids.
pub fn segment_documents(trace: &Trace) -> Vec<String> {
    let writer = Writer::new(trace);
    let trace_id = to_xray_form(&trace.trace_id);
    let mut documents = Vec::new();
    for span in trace.spans.iter().filter(|span| writer.starts_segment(span)) {
        let mut segment = writer.document(span, true);
        segment.trace_id = Some(trace_id.clone());
        segment.parent_id = span.parent_id.clone();
        documents.push(segment);
    }
    for span in trace
        .spans
        .iter()
        .filter(|span| writer.calls_uninstrumented_aws(span))
    {
        documents.push(writer.inferred_segment(span, &trace_id));
    }
    documents
        .iter()
        // A document of strings, numbers and maps with string keys always serialises.
        .filter_map(|document| serde_json::to_string(document).ok())
        .collect()
}

/// A trace indexed by span id and by parent.
struct Writer<'a> {
    by_id: HashMap<&'a str, &'a Span>,
    children: HashMap<&'a str, Vec<&'a Span>>,
}

impl<'a> Writer<'a> {
    fn new(trace: &'a Trace) -> Self {
        let mut by_id = HashMap::new();
        let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
        for span in &trace.spans {
            by_id.insert(span.span_id.as_str(), span);
            if let Some(parent) = &span.parent_id {
                children.entry(parent.as_str()).or_default().push(span);
            }
        }
        Self { by_id, children }
    }

    fn parent(&self, span: &Span) -> Option<&'a Span> {
        span.parent_id
            .as_deref()
            .and_then(|id| self.by_id.get(id).copied())
    }

    /// A span begins a segment when no span of its own service is its parent.
    fn starts_segment(&self, span: &Span) -> bool {
        self.parent(span)
            .is_none_or(|parent| parent.service != span.service)
    }

    fn children_of(&self, span: &Span) -> &[&'a Span] {
        self.children
            .get(span.span_id.as_str())
            .map_or(&[], Vec::as_slice)
    }

    /// An AWS call whose callee left no segment of its own: X-Ray infers one.
    fn calls_uninstrumented_aws(&self, span: &Span) -> bool {
        span.kind == SpanKind::Client
            && span.attributes.contains_key("aws.operation")
            && self
                .children_of(span)
                .iter()
                .all(|child| child.service == span.service)
    }

    fn document(&self, span: &Span, segment: bool) -> Document {
        let mut attributes: BTreeMap<&str, &str> = span
            .attributes
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        let namespace = match span.kind {
            SpanKind::Client if !segment && attributes.contains_key("aws.operation") => Some(NAMESPACE_AWS),
            SpanKind::Client if !segment => Some(NAMESPACE_REMOTE),
            _ => None,
        };
        let name = if segment {
            span.service.clone()
        } else if namespace.is_some() {
            attributes
                .remove(PEER_SERVICE)
                .or_else(|| span.name.split('.').next())
                .unwrap_or(&span.name)
                .to_owned()
        } else {
            span.name.clone()
        };
        let http = take_http(&mut attributes);
        let aws = take_aws(&mut attributes);
        let cause = take_cause(&mut attributes, &span.span_id);
        let origin = attributes.remove(ORIGIN).map(str::to_owned);
        let (annotations, metadata) = annotations_and_metadata(attributes);
        let (error, throttle, fault) = flags(span.status);
        Document {
            name,
            id: span.span_id.clone(),
            start_time: ns_to_seconds(span.start),
            end_time: Some(ns_to_seconds(span.start + span.duration)),
            namespace: namespace.map(str::to_owned),
            origin,
            error,
            throttle,
            fault,
            http,
            aws,
            cause,
            annotations,
            metadata,
            subsegments: self
                .children_of(span)
                .iter()
                .filter(|child| child.service == span.service)
                .map(|child| self.document(child, false))
                .collect(),
            ..Document::default()
        }
    }

    /// The segment X-Ray makes up for the resource an `aws` subsegment called:
    /// named after the resource, child of the call, with the call's outcome.
    fn inferred_segment(&self, span: &Span, trace_id: &str) -> Document {
        let call = self.document(span, false);
        Document {
            origin: Some(origin_of(&call.name)),
            name: call.name,
            id: derived_id(&span.span_id, INFERRED_SALT),
            trace_id: Some(trace_id.to_owned()),
            start_time: call.start_time,
            end_time: call.end_time,
            parent_id: Some(span.span_id.clone()),
            inferred: true,
            error: call.error,
            throttle: call.throttle,
            fault: call.fault,
            http: call.http,
            aws: call.aws,
            ..Document::default()
        }
    }
}

/// X-Ray's flags for a status: a throttle is also an error (a 429 is a 4xx).
fn flags(status: SpanStatus) -> (bool, bool, bool) {
    match status {
        SpanStatus::Ok => (false, false, false),
        SpanStatus::Error => (true, false, false),
        SpanStatus::Throttle => (true, true, false),
        SpanStatus::Fault => (false, false, true),
    }
}

fn take_http(attributes: &mut BTreeMap<&str, &str>) -> Option<Value> {
    let mut http = Map::new();
    for (attribute, [part, field]) in HTTP_FIELDS {
        if let Some(text) = attributes.remove(attribute) {
            let value = match text.parse::<u64>() {
                Ok(number) if matches!(field, "status" | "content_length") => json!(number),
                _ => json!(text),
            };
            if let Value::Object(part) = http.entry(part).or_insert_with(|| json!({})) {
                part.insert(field.to_owned(), value);
            }
        }
    }
    (!http.is_empty()).then_some(Value::Object(http))
}

fn take_aws(attributes: &mut BTreeMap<&str, &str>) -> Option<Value> {
    let mut aws = Map::new();
    for field in AWS_FIELDS {
        if let Some(value) = attributes.remove(format!("aws.{field}").as_str()) {
            aws.insert(field.to_owned(), json!(value));
        }
    }
    (!aws.is_empty()).then_some(Value::Object(aws))
}

fn take_cause(attributes: &mut BTreeMap<&str, &str>, span_id: &str) -> Option<Value> {
    let message = attributes.remove(EXCEPTION_MESSAGE);
    let kind = attributes.remove(EXCEPTION_TYPE);
    if message.is_none() && kind.is_none() {
        return None;
    }
    let mut exception = Map::new();
    exception.insert("id".to_owned(), json!(derived_id(span_id, EXCEPTION_SALT)));
    if let Some(message) = message {
        exception.insert("message".to_owned(), json!(message));
    }
    if let Some(kind) = kind {
        exception.insert("type".to_owned(), json!(kind));
    }
    Some(json!({ "exceptions": [exception] }))
}

type Fields = Option<Map<String, Value>>;

/// Keys X-Ray can index become annotations, the rest `default` metadata.
fn annotations_and_metadata(attributes: BTreeMap<&str, &str>) -> (Fields, Fields) {
    let mut annotations = Map::new();
    let mut metadata = Map::new();
    for (key, value) in attributes {
        if is_annotation_key(key) && annotations.len() < MAX_ANNOTATIONS {
            annotations.insert(key.to_owned(), json!(value));
        } else {
            metadata.insert(key.to_owned(), json!(value));
        }
    }
    let annotations = (!annotations.is_empty()).then_some(annotations);
    let metadata = (!metadata.is_empty()).then(|| {
        let mut namespaces = Map::new();
        namespaces.insert(DEFAULT_NAMESPACE.to_owned(), Value::Object(metadata));
        namespaces
    });
    (annotations, metadata)
}

/// A 16-hex id made from another id, the same each time (FNV-1a).
fn derived_id(from: &str, salt: u8) -> String {
    let hash = from
        .bytes()
        .chain(std::iter::once(salt))
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{:016x}", hash.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::xray::spans::spans_from_documents;

    const W3C: &str = "6a23a1f80123456789abcdef01234567";
    const XRAY: &str = "1-6a23a1f8-0123456789abcdef01234567";
    const START: i64 = 1_795_516_200_100_000_000;
    const MS: i64 = 1_000_000;

    fn span(id: &str, parent: Option<&str>, service: &str, name: &str, kind: SpanKind) -> Span {
        Span {
            trace_id: W3C.into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_owned),
            service: service.into(),
            name: name.into(),
            start: START,
            duration: 100 * MS,
            status: SpanStatus::Ok,
            kind,
            attributes: BTreeMap::new(),
            reveal_ref: None,
        }
    }

    fn with(mut span: Span, attributes: &[(&str, &str)]) -> Span {
        span.attributes
            .extend(attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        span
    }

    /// A failed login as the demo clinic produces it.
    fn failed_login() -> Trace {
        let mut root = with(
            span(
                "1000000000000001",
                None,
                "login-api",
                "POST /login",
                SpanKind::Server,
            ),
            &[
                ("http.method", "POST"),
                ("http.route", "/login"),
                ("http.status_code", "404"),
                ("enduser.id", "u42"),
                ("xray.origin", "AWS::ECS::Container"),
            ],
        );
        root.status = SpanStatus::Error;
        let mut call = with(
            span(
                "3000000000000003",
                Some("1000000000000001"),
                "login-api",
                "DynamoDB.GetItem",
                SpanKind::Client,
            ),
            &[
                ("aws.operation", "GetItem"),
                ("aws.region", "eu-west-1"),
                ("aws.table_name", "users"),
                ("aws.dynamodb.key", "timestamp = \"latest\""),
                ("peer.service", "DynamoDB"),
                ("http.status_code", "400"),
                ("error", "ResourceNotFoundException"),
                ("exception.message", "Requested resource not found"),
            ],
        );
        call.status = SpanStatus::Error;
        call.start += 5 * MS;
        call.duration = 13 * MS;
        let check = with(
            span(
                "2000000000000002",
                Some("1000000000000001"),
                "login-api",
                "check credentials",
                SpanKind::Internal,
            ),
            &[("interaction.kind", "login")],
        );
        Trace {
            trace_id: W3C.into(),
            spans: vec![root, check, call],
        }
    }

    fn documents(trace: &Trace) -> Vec<Value> {
        segment_documents(trace)
            .iter()
            .map(|text| serde_json::from_str(text).unwrap())
            .collect()
    }

    #[test]
    fn a_service_becomes_one_segment_with_its_spans_as_subsegments() {
        let documents = documents(&failed_login());
        assert_eq!(
            documents.len(),
            2,
            "the segment and the inferred DynamoDB segment"
        );
        let segment = &documents[0];
        assert_eq!(segment["name"], "login-api");
        assert_eq!(segment["trace_id"], XRAY);
        assert_eq!(segment["start_time"], 1_795_516_200.1);
        assert_eq!(segment["error"], true);
        assert_eq!(segment["origin"], "AWS::ECS::Container");
        assert!(segment.get("fault").is_none() && segment.get("throttle").is_none());
        assert_eq!(
            segment["http"],
            json!({"request": {"method": "POST"}, "response": {"status": 404}})
        );
        assert_eq!(
            segment["metadata"],
            json!({"default": {"enduser.id": "u42", "http.route": "/login"}})
        );
        let subsegments = segment["subsegments"].as_array().unwrap();
        assert_eq!(subsegments[0]["name"], "check credentials");
        assert!(subsegments[0].get("namespace").is_none());
        let call = &subsegments[1];
        assert_eq!(call["name"], "DynamoDB");
        assert_eq!(call["namespace"], "aws");
        assert_eq!(
            call["aws"],
            json!({"operation": "GetItem", "region": "eu-west-1", "table_name": "users"})
        );
        assert_eq!(call["annotations"], json!({"error": "ResourceNotFoundException"}));
        assert_eq!(
            call["cause"]["exceptions"][0]["message"],
            "Requested resource not found"
        );
    }

    #[test]
    fn an_aws_call_gets_the_inferred_segment_x_ray_would_add() {
        let documents = documents(&failed_login());
        let inferred = &documents[1];
        assert_eq!(inferred["name"], "DynamoDB");
        assert_eq!(inferred["inferred"], true);
        assert_eq!(inferred["parent_id"], "3000000000000003");
        assert_eq!(inferred["origin"], "AWS::DynamoDB::Table");
        assert_eq!(inferred["trace_id"], XRAY);
        assert_eq!(inferred["error"], true);
        assert_eq!(inferred["http"]["response"]["status"], 400);
        assert_eq!(inferred["aws"]["table_name"], "users");
        assert_eq!(inferred["id"].as_str().unwrap().len(), 16);
        assert_ne!(inferred["id"], "3000000000000003");
    }

    #[test]
    fn spans_survive_the_round_trip_through_segment_documents() {
        let trace = failed_login();
        let read = spans_from_documents(W3C, &segment_documents(&trace)).unwrap();
        assert_eq!(read, trace.spans);
    }

    #[test]
    fn a_span_in_another_service_becomes_its_own_segment_under_the_call() {
        let mut remote_call = with(
            span(
                "a000000000000002",
                Some("a000000000000001"),
                "appointments",
                "records",
                SpanKind::Client,
            ),
            &[("peer.service", "records")],
        );
        remote_call.status = SpanStatus::Throttle;
        let trace = Trace {
            trace_id: XRAY.into(),
            spans: vec![
                span(
                    "a000000000000001",
                    None,
                    "appointments",
                    "appointments",
                    SpanKind::Server,
                ),
                remote_call,
                span(
                    "b000000000000001",
                    Some("a000000000000002"),
                    "records",
                    "records",
                    SpanKind::Server,
                ),
            ],
        };
        let documents = documents(&trace);
        assert_eq!(
            documents.len(),
            2,
            "no inferred segment for an instrumented service"
        );
        assert_eq!(documents[0]["subsegments"][0]["namespace"], "remote");
        assert_eq!(documents[0]["subsegments"][0]["throttle"], true);
        assert_eq!(documents[0]["subsegments"][0]["error"], true);
        assert_eq!(documents[1]["name"], "records");
        assert_eq!(documents[1]["parent_id"], "a000000000000002");
        let read = spans_from_documents(W3C, &segment_documents(&trace)).unwrap();
        assert_eq!(read, trace.spans);
    }

    #[test]
    fn derived_ids_are_stable_hex_and_differ_by_salt() {
        let id = derived_id("3000000000000003", INFERRED_SALT);
        assert_eq!(id, derived_id("3000000000000003", INFERRED_SALT));
        assert_ne!(id, derived_id("3000000000000003", EXCEPTION_SALT));
        assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
