//! Trace summaries for the search list: from GetTraceSummaries when X-Ray filled them in, else from the trace itself.

use std::collections::HashSet;

use aws_sdk_xray::types::TraceSummary as XRaySummary;
use vitals_api::{Span, SpanKind, SpanStatus, Trace, TraceSummary};

use super::document::{PEER_SERVICE, http_span_name};
use super::ids::TraceId;

const NS_PER_SECOND: f64 = 1e9;
const UNKNOWN_SERVICE: &str = "unknown";

/// Whether X-Ray left out which services the trace passed through, so the
/// trace itself must be read to list them (moto does; real X-Ray fills them in).
pub(crate) fn lacks_services(summary: &XRaySummary) -> bool {
    summary.entry_point().is_none() && summary.service_ids().is_empty()
}

/// The trace id of a summary, when it has a readable one.
pub(crate) fn summary_id(summary: &XRaySummary) -> Option<TraceId> {
    summary
        .id()
        .and_then(|id| TraceId::parse(id).ok())
        .map(|(id, _)| id)
}

/// When the trace started: X-Ray's `StartTime`, else the second its id was made in.
pub(crate) fn summary_start_ns(summary: &XRaySummary, id: &TraceId) -> i64 {
    summary
        .start_time()
        .map(|start| start.secs() * 1_000_000_000 + i64::from(start.subsec_nanos()))
        .unwrap_or_else(|| id.epoch_ns())
}

/// A search result from X-Ray's summary alone: entry point, HTTP request and flags.
pub(crate) fn summary_from_xray(summary: &XRaySummary, id: &TraceId) -> TraceSummary {
    let mut services: Vec<String> = Vec::new();
    let named = summary.entry_point().into_iter().chain(summary.service_ids());
    for name in named.filter_map(|service| service.name()) {
        if !services.iter().any(|known| known == name) {
            services.push(name.to_owned());
        }
    }
    let service = services
        .first()
        .cloned()
        .unwrap_or_else(|| UNKNOWN_SERVICE.to_owned());
    let http = summary.http();
    let name = http
        .and_then(|http| http.http_method())
        .map(|method| http_span_name(method, http.and_then(|http| http.http_url())))
        .unwrap_or_else(|| service.clone());
    let seconds = summary.response_time().or(summary.duration()).unwrap_or_default();
    TraceSummary {
        trace_id: id.w3c(),
        service,
        name,
        start: summary_start_ns(summary, id),
        duration: (seconds * NS_PER_SECOND).round() as i64,
        status: summary_status(summary),
        http_status: http
            .and_then(|http| http.http_status())
            .and_then(|status| u16::try_from(status).ok()),
        services,
    }
}

/// X-Ray sets HasError along with HasThrottle for a 429, so throttle is looked at before error.
fn summary_status(summary: &XRaySummary) -> SpanStatus {
    let flag = |value: Option<bool>| value.unwrap_or(false);
    if flag(summary.has_fault()) {
        SpanStatus::Fault
    } else if flag(summary.has_throttle()) {
        SpanStatus::Throttle
    } else if flag(summary.has_error()) {
        SpanStatus::Error
    } else {
        SpanStatus::Ok
    }
}

/// A search result read off the trace: its root span, the worst outcome of
/// any span, and every service and resource it reached, in order of appearance.
pub fn summary_of_trace(trace: &Trace) -> Option<TraceSummary> {
    let ids: HashSet<&str> = trace.spans.iter().map(|s| s.span_id.as_str()).collect();
    let root = trace
        .spans
        .iter()
        .find(|span| {
            span.parent_id
                .as_deref()
                .is_none_or(|parent| !ids.contains(parent))
        })
        .or_else(|| trace.spans.first())?;
    let mut services: Vec<String> = Vec::new();
    for span in &trace.spans {
        let reached = std::iter::once(&span.service).chain(
            (span.kind == SpanKind::Client)
                .then(|| span.attributes.get(PEER_SERVICE))
                .flatten(),
        );
        for service in reached {
            if !services.contains(service) {
                services.push(service.clone());
            }
        }
    }
    Some(TraceSummary {
        trace_id: trace.trace_id.clone(),
        service: root.service.clone(),
        name: root.name.clone(),
        start: root.start,
        duration: root.duration,
        status: worst_status(&trace.spans),
        http_status: root
            .attributes
            .get("http.status_code")
            .and_then(|code| code.parse().ok()),
        services,
    })
}

/// The worst outcome of any span: a fault outweighs an error, which outweighs a throttle.
fn worst_status(spans: &[Span]) -> SpanStatus {
    let rank = |status: SpanStatus| match status {
        SpanStatus::Ok => 0,
        SpanStatus::Throttle => 1,
        SpanStatus::Error => 2,
        SpanStatus::Fault => 3,
    };
    spans
        .iter()
        .map(|span| span.status)
        .max_by_key(|status| rank(*status))
        .unwrap_or(SpanStatus::Ok)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_sdk_xray::primitives::DateTime;
    use aws_sdk_xray::types::{Http, ServiceId};

    use super::*;

    const XRAY: &str = "1-6a23a1f8-0123456789abcdef01234567";
    const W3C: &str = "6a23a1f80123456789abcdef01234567";

    fn id() -> TraceId {
        TraceId::parse(XRAY).unwrap().0
    }

    #[test]
    fn a_full_x_ray_summary_gives_entry_point_request_and_services() {
        let summary = XRaySummary::builder()
            .id(XRAY)
            .start_time(DateTime::from_millis(1_780_000_000_250))
            .response_time(0.15)
            .duration(0.2)
            .has_error(true)
            .http(
                Http::builder()
                    .http_method("POST")
                    .http_url("https://clinic.example/login")
                    .http_status(404)
                    .build(),
            )
            .entry_point(ServiceId::builder().name("login-api").build())
            .service_ids(ServiceId::builder().name("login-api").build())
            .service_ids(ServiceId::builder().name("DynamoDB").build())
            .build();
        assert!(!lacks_services(&summary));
        assert_eq!(
            summary_from_xray(&summary, &id()),
            TraceSummary {
                trace_id: W3C.into(),
                service: "login-api".into(),
                name: "POST /login".into(),
                start: 1_780_000_000_250_000_000,
                duration: 150_000_000,
                status: SpanStatus::Error,
                http_status: Some(404),
                services: vec!["login-api".into(), "DynamoDB".into()],
            }
        );
    }

    #[test]
    fn a_bare_summary_as_moto_answers_falls_back_on_the_id_time() {
        let summary = XRaySummary::builder()
            .id(XRAY)
            .duration(0.0)
            .response_time(1.0)
            .has_error(true)
            .has_throttle(true)
            .build();
        assert!(lacks_services(&summary));
        let read = summary_from_xray(&summary, &id());
        assert_eq!(read.start, 0x6a23_a1f8 * 1_000_000_000);
        assert_eq!(read.status, SpanStatus::Throttle);
        assert_eq!(read.service, "unknown");
        assert!(read.services.is_empty());
    }

    #[test]
    fn a_trace_summarises_itself_from_its_root_and_worst_span() {
        let span = |id: &str, parent: Option<&str>, service: &str, kind: SpanKind, status: SpanStatus| Span {
            trace_id: W3C.into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_owned),
            service: service.into(),
            name: format!("{service} {id}"),
            start: 1_000,
            duration: 500,
            status,
            kind,
            attributes: BTreeMap::new(),
            reveal_ref: None,
        };
        let mut root = span("a", None, "login-api", SpanKind::Server, SpanStatus::Error);
        root.attributes.insert("http.status_code".into(), "404".into());
        let mut call = span(
            "b",
            Some("a"),
            "login-api",
            SpanKind::Client,
            SpanStatus::Throttle,
        );
        call.attributes.insert(PEER_SERVICE.into(), "DynamoDB".into());
        let trace = Trace {
            trace_id: W3C.into(),
            spans: vec![
                root,
                call,
                span("c", Some("b"), "records", SpanKind::Server, SpanStatus::Ok),
            ],
        };
        let summary = summary_of_trace(&trace).unwrap();
        assert_eq!(summary.service, "login-api");
        assert_eq!(summary.name, "login-api a");
        assert_eq!(summary.status, SpanStatus::Error);
        assert_eq!(summary.http_status, Some(404));
        assert_eq!(summary.services, vec!["login-api", "DynamoDB", "records"]);
        assert_eq!(
            summary_of_trace(&Trace {
                trace_id: W3C.into(),
                spans: vec![]
            }),
            None
        );
    }
}
