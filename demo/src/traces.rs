//! The demo's traces: one per event (the service's server span, its own work and its AWS calls), with search, lookup by id and the service map.
//!
//! A ResourceNotFoundException from DynamoDB is an HTTP 400 from AWS, so,
//! as X-Ray marks it, the `GetItem` subsegment ends in `error` (not
//! `fault`), and the login page's 404 makes its root span an `error` too.
//! On the service map the login-api → DynamoDB edge counts those calls as
//! errors; the map's failure ratio includes errors, so the edge shows red.

use std::collections::BTreeMap;

use vitals_api::{
    CallStats, NodeKind, ServiceEdge, ServiceMap, ServiceNode, Span, SpanKind, SpanStatus, Trace,
    TraceSummary,
};

use super::DemoClinic;
use super::import::ImportRun;
use super::people::Person;
use super::simulation::{
    AWS_REGION, AwsCall, AwsCallKind, Event, EventKind, Service, step_of_second, steps_of,
};
use super::trace_filter::{self, TraceFacts};
use vitals_api::query::{TimeRange, TraceQuery};
use vitals_trace::SpanTable;

use crate::error::{DemoError, bad_query};

const MS_TO_NS: i64 = 1_000_000;

/// The account the clinic's queue lives in (an example account id).
const AWS_ACCOUNT: &str = "123456789012";

fn status_for_http(code: u16) -> SpanStatus {
    match code {
        429 => SpanStatus::Throttle,
        500.. => SpanStatus::Fault,
        400.. => SpanStatus::Error,
        _ => SpanStatus::Ok,
    }
}

fn call_status(call: &AwsCall) -> SpanStatus {
    if call.failed {
        SpanStatus::Error
    } else {
        SpanStatus::Ok
    }
}

fn internal_status(event: &Event) -> SpanStatus {
    if event.kind == (EventKind::Registration { accepted: false }) {
        SpanStatus::Error
    } else {
        SpanStatus::Ok
    }
}

/// The statuses of the event's spans, root first.
fn span_statuses(event: &Event) -> impl Iterator<Item = SpanStatus> {
    std::iter::once(status_for_http(event.http_status()))
        .chain(event.internal.map(|_| internal_status(event)))
        .chain(event.call.as_ref().map(call_status))
}

/// The worst outcome in a trace: a fault outweighs an error, which outweighs a throttle.
fn trace_status(event: &Event) -> SpanStatus {
    let rank = |status: SpanStatus| match status {
        SpanStatus::Ok => 0,
        SpanStatus::Throttle => 1,
        SpanStatus::Error => 2,
        SpanStatus::Fault => 3,
    };
    span_statuses(event)
        .max_by_key(|s| rank(*s))
        .unwrap_or(SpanStatus::Ok)
}

fn span_id(event: &Event, position: u64) -> String {
    let id = super::simulation::derive(event.key, 0x5350_414e + position);
    format!("{:016x}", id.max(1))
}

fn trace_id_text(event: &Event) -> String {
    format!("{:032x}", event.trace_id)
}

fn attributes<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The spans of one event's trace, parents before children.
fn spans_of(event: &Event, clinics: &[String]) -> Vec<Span> {
    let trace_id = trace_id_text(event);
    let service = event.service().name();
    let root_id = span_id(event, 0);
    let route = event.route();
    let (method, path) = route.split_once(' ').unwrap_or(("GET", route));
    let person = Person::of_event(event.key);
    let mut root_attributes = attributes([
        ("http.method", method.to_owned()),
        ("http.route", path.to_owned()),
        ("http.status_code", event.http_status().to_string()),
    ]);
    if let Some(clinic) = event.clinic.and_then(|c| clinics.get(usize::from(c))) {
        root_attributes.insert("clinic".into(), clinic.clone());
    }
    match event.kind {
        EventKind::LoginAttempt { .. } => {
            root_attributes.insert("enduser.id".into(), format!("u{}", person.user_id));
        }
        EventKind::RecordView if person.discloses(50) => {
            root_attributes.insert("patient.mrn".into(), person.mrn.to_string());
        }
        _ => {}
    }
    let mut spans = Vec::with_capacity(3);
    spans.push(Span {
        trace_id: trace_id.clone(),
        span_id: root_id.clone(),
        parent_id: None,
        service: service.to_owned(),
        name: route.to_owned(),
        start: event.start_ms * MS_TO_NS,
        duration: i64::from(event.duration_ms) * MS_TO_NS,
        status: status_for_http(event.http_status()),
        kind: SpanKind::Server,
        attributes: root_attributes,
        reveal_ref: None,
    });
    if let Some(work) = event.internal {
        let mut work_attributes = BTreeMap::new();
        match event.kind {
            EventKind::DoctorInteraction { kind } => {
                work_attributes.insert("interaction.kind".into(), kind.name().to_owned());
            }
            EventKind::Registration { accepted: false } => {
                work_attributes.insert("error".into(), "registration failed validation".to_owned());
            }
            _ => {}
        }
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: span_id(event, 1),
            parent_id: Some(root_id.clone()),
            service: service.to_owned(),
            name: work.name.to_owned(),
            start: (event.start_ms + i64::from(work.offset_ms)) * MS_TO_NS,
            duration: i64::from(work.duration_ms) * MS_TO_NS,
            status: internal_status(event),
            kind: SpanKind::Internal,
            attributes: work_attributes,
            reveal_ref: None,
        });
    }
    if let Some(call) = event.call {
        let mut call_attributes = attributes([
            ("aws.operation", call.kind.operation().to_owned()),
            ("aws.region", AWS_REGION.to_owned()),
            ("peer.service", call.kind.target().to_owned()),
            (
                "http.status_code",
                if call.failed { "400" } else { "200" }.to_owned(),
            ),
        ]);
        if call.kind == AwsCallKind::SendReminder {
            call_attributes.insert(
                "aws.queue_url".into(),
                format!(
                    "https://sqs.{AWS_REGION}.amazonaws.com/{AWS_ACCOUNT}/{}",
                    call.kind.resource()
                ),
            );
        } else {
            call_attributes.insert("aws.table_name".into(), call.kind.resource().to_owned());
        }
        if call.failed {
            call_attributes.insert("error".into(), "ResourceNotFoundException".into());
            call_attributes.insert("aws.dynamodb.key".into(), "timestamp = \"latest\"".into());
            call_attributes.insert("exception.message".into(), "Requested resource not found".into());
        }
        spans.push(Span {
            trace_id,
            span_id: span_id(event, 2),
            parent_id: Some(root_id),
            service: service.to_owned(),
            name: format!("{}.{}", call.kind.target(), call.kind.operation()),
            start: (event.start_ms + i64::from(call.offset_ms)) * MS_TO_NS,
            duration: i64::from(call.duration_ms) * MS_TO_NS,
            status: call_status(&call),
            kind: SpanKind::Client,
            attributes: call_attributes,
            reveal_ref: None,
        });
    }
    spans
}

/// The nodes a trace passes through: the service, then the AWS resource it calls.
fn services_of(event: &Event) -> ([&'static str; 2], usize) {
    match event.call {
        Some(call) => ([event.service().name(), call.kind.target()], 2),
        None => ([event.service().name(), ""], 1),
    }
}

fn summary_of(event: &Event) -> TraceSummary {
    let (services, count) = services_of(event);
    TraceSummary {
        trace_id: trace_id_text(event),
        service: event.service().name().to_owned(),
        name: event.route().to_owned(),
        start: event.start_ms * MS_TO_NS,
        duration: i64::from(event.duration_ms) * MS_TO_NS,
        status: trace_status(event),
        http_status: Some(event.http_status()),
        services: services[..count].iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Reads a W3C (32 hex) or X-Ray (`1-8hex-24hex`) trace id.
pub(crate) fn parse_trace_id(text: &str) -> Result<u128, DemoError> {
    let text = text.trim();
    let hex = match text.split('-').collect::<Vec<_>>().as_slice() {
        ["1", seconds, rest] if seconds.len() == 8 && rest.len() == 24 => format!("{seconds}{rest}"),
        [whole] if whole.len() == 32 => (*whole).to_owned(),
        _ => String::new(),
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_query(format!(
            "`{text}` is not a trace id; use 32 hex digits or the X-Ray form 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"
        )));
    }
    u128::from_str_radix(&hex, 16).map_err(|_| bad_query(format!("`{text}` is not a trace id")))
}

/// Calls and outcomes of one node or edge, with every latency for the p95.
#[derive(Debug, Default)]
struct Tally {
    stats: CallStats,
    latencies_ms: Vec<u32>,
}

impl Tally {
    fn add(&mut self, status: SpanStatus, duration_ms: u32) {
        self.stats.requests += 1;
        match status {
            SpanStatus::Ok => {}
            SpanStatus::Error => self.stats.errors += 1,
            SpanStatus::Fault => self.stats.faults += 1,
            SpanStatus::Throttle => self.stats.throttles += 1,
        }
        self.latencies_ms.push(duration_ms);
    }

    fn finish(mut self) -> CallStats {
        if !self.latencies_ms.is_empty() {
            let total: u64 = self.latencies_ms.iter().map(|&ms| u64::from(ms)).sum();
            self.stats.latency_avg_ms = total as f64 / self.latencies_ms.len() as f64;
            // Nearest rank: the smallest latency at least 95% of calls stay within.
            let rank = (self.latencies_ms.len() * 95).div_ceil(100).max(1) - 1;
            let (_, p95, _) = self.latencies_ms.select_nth_unstable(rank);
            self.stats.latency_p95_ms = f64::from(*p95);
        }
        self.stats
    }
}

impl DemoClinic {
    /// Every trace starting in the range, oldest first.
    pub fn traces(&self, range: TimeRange) -> Vec<Trace> {
        let mut traces = Vec::new();
        self.for_each_trace(range, |trace| traces.push(trace));
        traces
    }

    /// Hands every trace starting in the range to `visit`, oldest first,
    /// without holding them all: how a test pushes traces into X-Ray in
    /// batches.
    pub fn for_each_trace(&self, range: TimeRange, mut visit: impl FnMut(Trace)) {
        let clinics = self.simulation.clinics();
        self.simulation.for_each_event(range, |event| {
            visit(Trace {
                trace_id: trace_id_text(event),
                spans: spans_of(event, clinics),
            });
        });
    }

    /// Trace summaries matching an X-Ray filter, newest first, at most `limit`.
    pub fn search_traces(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>, DemoError> {
        let filter = trace_filter::parse(&query.filter).map_err(bad_query)?;
        let limit = query.limit as usize;
        let mut found = Vec::new();
        if limit == 0 {
            return Ok(found);
        }
        let range = query.range;
        // The nightly imports, merged in by start.
        let mut imports = ImportRun::within(range)
            .into_iter()
            .filter(|run| filter.matches(&run.facts()))
            .peekable();
        let mut events = Vec::new();
        for step in steps_of(range).rev() {
            self.simulation.events_in_step(step, &mut events);
            for event in events.iter().rev() {
                if event.start_ms < range.start_ms || event.start_ms >= range.end_ms {
                    continue;
                }
                while let Some(run) = imports.next_if(|run| run.start_s * 1000 >= event.start_ms) {
                    found.push(run.summary());
                    if found.len() >= limit {
                        return Ok(found);
                    }
                }
                let (services, count) = services_of(event);
                let statuses: Vec<SpanStatus> = span_statuses(event).collect();
                let seconds = f64::from(event.duration_ms) / 1000.0;
                let facts = TraceFacts {
                    services: &services[..count],
                    ok: statuses.iter().all(|s| *s == SpanStatus::Ok),
                    error: statuses.contains(&SpanStatus::Error),
                    fault: statuses.contains(&SpanStatus::Fault),
                    throttle: statuses.contains(&SpanStatus::Throttle),
                    response_time_seconds: seconds,
                    // Every span lies within the root span.
                    duration_seconds: seconds,
                    http_status: Some(event.http_status()),
                    url: event
                        .route()
                        .split_once(' ')
                        .map_or(event.route(), |(_, path)| path),
                };
                if filter.matches(&facts) {
                    found.push(summary_of(event));
                    if found.len() >= limit {
                        return Ok(found);
                    }
                }
            }
        }
        found.extend(imports.map(|run| run.summary()));
        found.truncate(limit);
        Ok(found)
    }

    /// One trace by id, regenerated from the step its id's first 32 bits name.
    pub fn trace_by_id(&self, id: &str) -> Result<Trace, DemoError> {
        if let Some(run) = ImportRun::from_trace_id(id) {
            let table = run.spans();
            return Ok(Trace {
                trace_id: run.trace_id(),
                spans: (0..table.len() as u32).map(|span| table.span(span)).collect(),
            });
        }
        let wanted = parse_trace_id(id)?;
        let seconds = (wanted >> 96) as i64;
        let mut events = Vec::new();
        self.simulation
            .events_in_step(step_of_second(seconds), &mut events);
        events
            .iter()
            .find(|event| event.trace_id == wanted)
            .map(|event| Trace {
                trace_id: trace_id_text(event),
                spans: spans_of(event, self.simulation.clinics()),
            })
            .ok_or_else(|| DemoError::NotFound(format!("trace {}", id.trim())))
    }

    /// One trace by id as a table: how a nightly import's million spans are made without a
    /// [`Span`] for each.
    pub fn trace_table_by_id(&self, id: &str) -> Result<SpanTable, DemoError> {
        match ImportRun::from_trace_id(id) {
            Some(run) => Ok(run.spans()),
            None => {
                let trace = self.trace_by_id(id)?;
                Ok(SpanTable::from_spans(&trace.trace_id, &trace.spans))
            }
        }
    }

    /// The services, the AWS resources they call and the calls between them over the range.
    pub fn service_map_of(&self, range: TimeRange) -> ServiceMap {
        let mut services: BTreeMap<Service, Tally> = BTreeMap::new();
        let mut resources: BTreeMap<&'static str, Tally> = BTreeMap::new();
        let mut edges: BTreeMap<(Service, &'static str), Tally> = BTreeMap::new();
        self.simulation.for_each_event(range, |event| {
            let service = event.service();
            services
                .entry(service)
                .or_default()
                .add(status_for_http(event.http_status()), event.duration_ms);
            if let Some(call) = event.call {
                let target = call.kind.target();
                resources
                    .entry(target)
                    .or_default()
                    .add(call_status(&call), call.duration_ms);
                edges
                    .entry((service, target))
                    .or_default()
                    .add(call_status(&call), call.duration_ms);
            }
        });
        let nodes = services
            .into_iter()
            .map(|(service, tally)| ServiceNode {
                name: service.name().to_owned(),
                kind: NodeKind::Service,
                stats: tally.finish(),
            })
            .chain(resources.into_iter().map(|(name, tally)| ServiceNode {
                name: name.to_owned(),
                kind: NodeKind::Aws,
                stats: tally.finish(),
            }))
            .collect();
        let edges = edges
            .into_iter()
            .map(|((service, target), tally)| ServiceEdge {
                source: service.name().to_owned(),
                target: target.to_owned(),
                stats: tally.finish(),
            })
            .collect();
        ServiceMap {
            nodes,
            edges,
            layout: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{HOUR, TUESDAY, clinic};

    fn search(clinic: &DemoClinic, filter: &str, range: TimeRange, limit: u32) -> Vec<TraceSummary> {
        clinic
            .search_traces(&TraceQuery {
                filter: filter.into(),
                range,
                limit,
            })
            .unwrap()
    }

    #[test]
    fn a_trace_is_found_by_its_w3c_and_xray_ids() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 10 * HOUR + 60_000);
        let summary = search(&clinic, "", range, 1).remove(0);
        let w3c = clinic.trace_by_id(&summary.trace_id).unwrap();
        let xray_id = format!("1-{}-{}", &summary.trace_id[..8], &summary.trace_id[8..]);
        let xray = clinic.trace_by_id(&xray_id).unwrap();
        assert_eq!(w3c, xray);
        assert_eq!(w3c.trace_id, summary.trace_id);
        assert_eq!(w3c.spans[0].name, summary.name);
        assert_eq!(w3c.spans[0].start, summary.start);
        assert!(
            w3c.spans[1..]
                .iter()
                .all(|s| s.parent_id.as_deref() == Some(w3c.spans[0].span_id.as_str()))
        );
    }

    #[test]
    fn unknown_or_malformed_trace_ids_are_refused() {
        let clinic = clinic();
        let unknown = format!("{:08x}{}", TUESDAY / 1000, "0".repeat(24));
        assert!(matches!(
            clinic.trace_by_id(&unknown),
            Err(DemoError::NotFound(_))
        ));
        assert!(matches!(
            clinic.trace_by_id("1-abc-def"),
            Err(DemoError::BadQuery(_))
        ));
        assert!(matches!(clinic.trace_by_id("zz"), Err(DemoError::BadQuery(_))));
    }

    #[test]
    fn search_is_newest_first_limited_and_filtered() {
        let clinic = clinic();
        let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR);
        let newest = search(&clinic, "", range, 20);
        assert_eq!(newest.len(), 20);
        assert!(newest.windows(2).all(|pair| pair[0].start >= pair[1].start));
        let slow = search(&clinic, "responsetime > 1", range, 1000);
        assert!(!slow.is_empty());
        assert!(
            slow.iter()
                .all(|t| t.duration > 1_000_000_000 && t.service == "appointments")
        );
        let logins = search(
            &clinic,
            r#"service("login-api") AND http.status = 200"#,
            range,
            1000,
        );
        assert!(
            logins
                .iter()
                .all(|t| t.service == "login-api" && t.http_status == Some(200))
        );
        let queue = search(&clinic, r#"service("SQS")"#, range, 1000);
        assert!(!queue.is_empty() && queue.iter().all(|t| t.name == "POST /appointments"));
        assert!(matches!(
            clinic.search_traces(&TraceQuery {
                filter: "annotation.x = 1".into(),
                range,
                limit: 5,
            }),
            Err(DemoError::BadQuery(_))
        ));
    }

    #[test]
    fn aws_calls_are_client_spans_of_the_calling_service() {
        let clinic = clinic();
        let traces = clinic.traces(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 10 * HOUR + 300_000));
        let mut kinds = std::collections::BTreeSet::new();
        for trace in &traces {
            for span in &trace.spans[1..] {
                kinds.insert(span.kind);
                assert_eq!(span.service, trace.spans[0].service);
                assert!(span.start >= trace.spans[0].start);
                assert!(span.start + span.duration <= trace.spans[0].start + trace.spans[0].duration);
                if span.kind == SpanKind::Client {
                    assert!(span.attributes.contains_key("aws.operation"));
                    assert!(
                        span.attributes.contains_key("aws.table_name")
                            || span.attributes.contains_key("aws.queue_url")
                    );
                    assert!(["DynamoDB", "SQS"].contains(&span.attributes["peer.service"].as_str()));
                }
            }
        }
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            vec![SpanKind::Client, SpanKind::Internal]
        );
    }

    #[test]
    fn service_map_links_services_to_aws_resources() {
        let clinic = clinic();
        let map = clinic.service_map_of(TimeRange::new(
            TUESDAY + 10 * HOUR,
            TUESDAY + 10 * HOUR + 30 * 60_000,
        ));
        let names: Vec<&str> = map.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "patient-registration",
                "appointments",
                "login-api",
                "records",
                "DynamoDB",
                "SQS"
            ]
        );
        let edge = |source: &str, target: &str| {
            map.edges
                .iter()
                .find(|e| e.source == source && e.target == target)
                .unwrap_or_else(|| panic!("no edge {source} -> {target}"))
        };
        assert!(edge("appointments", "SQS").stats.requests > 0);
        let login = edge("login-api", "DynamoDB").stats;
        assert_eq!(
            login.errors + login.faults,
            0,
            "10:00–10:30 has no failure window"
        );
        assert!(login.latency_p95_ms >= login.latency_avg_ms * 0.5 && login.latency_p95_ms > 0.0);
    }

    #[test]
    fn nearest_rank_p95_of_twenty_latencies_is_the_nineteenth() {
        let mut tally = Tally::default();
        for ms in 1..=20 {
            tally.add(SpanStatus::Ok, ms);
        }
        let stats = tally.finish();
        assert_eq!(stats.latency_p95_ms, 19.0);
        assert_eq!(stats.latency_avg_ms, 10.5);
    }
}
