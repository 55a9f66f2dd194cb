//! The X-Ray segment document as JSON, shared by both directions of the translation, and the field names both agree on.
//!
//! See AWS's "AWS X-Ray segment documents" guide. Only the fields Vitals
//! reads or writes are modelled; unknown ones are ignored when reading.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A segment, or a subsegment nested in one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Document {
    pub(crate) name: String,
    pub(crate) id: String,
    /// Only on (top-level) segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) trace_id: Option<String>,
    /// Seconds since the epoch, microsecond precision.
    pub(crate) start_time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<f64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) in_progress: bool,
    /// On a segment: the calling subsegment in another service (or the inferred segment's caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parent_id: Option<String>,
    /// Set by X-Ray on the segments it makes up for the AWS resources a subsegment called.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) inferred: bool,
    /// `aws` for AWS SDK calls, `remote` for other downstream calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) namespace: Option<String>,
    /// The resource type, such as `AWS::DynamoDB::Table` or `AWS::ECS::Container`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin: Option<String>,
    // X-Ray treats a present flag as set in places (moto does so everywhere),
    // so a flag that is false is left out rather than written as false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) error: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) throttle: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) fault: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) http: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) aws: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cause: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) annotations: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) subsegments: Vec<Document>,
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// Span attributes that live in the `http` object, with their place in it.
/// The status and length are numbers there.
pub(crate) const HTTP_FIELDS: [(&str, [&str; 2]); 6] = [
    ("http.method", ["request", "method"]),
    ("http.url", ["request", "url"]),
    ("http.user_agent", ["request", "user_agent"]),
    ("http.client_ip", ["request", "client_ip"]),
    ("http.status_code", ["response", "status"]),
    ("http.response_content_length", ["response", "content_length"]),
];

/// Keys of the `aws` object Vitals writes from `aws.<key>` attributes; when reading, every key is taken.
pub(crate) const AWS_FIELDS: [&str; 6] = [
    "operation",
    "region",
    "table_name",
    "queue_url",
    "request_id",
    "account_id",
];

/// The attributes that hold the first exception of `cause.exceptions`.
pub(crate) const EXCEPTION_MESSAGE: &str = "exception.message";
pub(crate) const EXCEPTION_TYPE: &str = "exception.type";

/// The metadata namespace whose keys become attributes without a prefix.
pub(crate) const DEFAULT_NAMESPACE: &str = "default";

/// The attribute naming the resource or service a client span calls.
pub(crate) const PEER_SERVICE: &str = "peer.service";
/// OpenTelemetry's route attribute: with the method, it names an HTTP server span.
pub(crate) const HTTP_ROUTE: &str = "http.route";

/// Where the `origin` field (the resource type) goes among the attributes.
pub(crate) const ORIGIN: &str = "xray.origin";

pub(crate) const NAMESPACE_AWS: &str = "aws";
pub(crate) const NAMESPACE_REMOTE: &str = "remote";

const NS_PER_US: i64 = 1_000;

/// Epoch seconds as X-Ray writes them → nanoseconds, rounded to the microsecond X-Ray keeps.
pub(crate) fn seconds_to_ns(seconds: f64) -> i64 {
    (seconds * 1e6).round() as i64 * NS_PER_US
}

/// Nanoseconds → epoch seconds with microsecond precision, exact once read back by [`seconds_to_ns`].
pub(crate) fn ns_to_seconds(ns: i64) -> f64 {
    let micros = (ns + NS_PER_US / 2).div_euclid(NS_PER_US);
    micros as f64 / 1e6
}

/// The resource type X-Ray gives the node of an AWS service a subsegment called.
pub(crate) fn origin_of(aws_service: &str) -> String {
    match aws_service {
        "DynamoDB" => "AWS::DynamoDB::Table".to_owned(),
        "SQS" => "AWS::SQS::Queue".to_owned(),
        "SNS" => "AWS::SNS::Topic".to_owned(),
        "S3" => "AWS::S3::Bucket".to_owned(),
        other => format!("AWS::{other}"),
    }
}

/// How OpenTelemetry names an HTTP span: `{method} {route}`, the route
/// being the path of the URL when no route was recorded.
pub(crate) fn http_span_name(method: &str, route_or_url: Option<&str>) -> String {
    match route_or_url.map(path_of) {
        Some(path) if !path.is_empty() => format!("{method} {path}"),
        _ => method.to_owned(),
    }
}

/// The path of an absolute URL (`https://host/login?x` → `/login`), or the text itself when it is already a path.
fn path_of(url: &str) -> &str {
    let after_scheme = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |slash| &rest[slash..]),
        None => url,
    };
    after_scheme.split(['?', '#']).next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_and_microsecond_times_survive_the_float_seconds() {
        for ns in [
            1_795_516_200_123_000_000_i64,
            1_795_516_200_123_456_000,
            1_795_516_259_999_999_000,
            0,
        ] {
            assert_eq!(seconds_to_ns(ns_to_seconds(ns)), ns, "{ns}");
            let text = serde_json::to_string(&ns_to_seconds(ns)).unwrap();
            assert_eq!(seconds_to_ns(text.parse().unwrap()), ns, "{text}");
        }
        assert_eq!(
            seconds_to_ns(ns_to_seconds(1_795_516_200_123_456_789)),
            1_795_516_200_123_457_000
        );
    }

    #[test]
    fn http_names_use_the_route_or_the_url_path() {
        assert_eq!(http_span_name("POST", Some("/login")), "POST /login");
        assert_eq!(
            http_span_name("GET", Some("https://clinic.example/records/7?full=1")),
            "GET /records/7"
        );
        assert_eq!(http_span_name("GET", Some("https://clinic.example")), "GET");
        assert_eq!(http_span_name("GET", None), "GET");
    }

    #[test]
    fn false_flags_and_empty_parts_are_left_out() {
        let document = Document {
            name: "login-api".into(),
            id: "0123456789abcdef".into(),
            start_time: 1.5,
            end_time: Some(2.0),
            ..Document::default()
        };
        assert_eq!(
            serde_json::to_string(&document).unwrap(),
            r#"{"name":"login-api","id":"0123456789abcdef","start_time":1.5,"end_time":2.0}"#
        );
    }
}
