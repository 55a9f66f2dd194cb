//! The service map: translated from GetServiceGraph, or built from the traces of the range when X-Ray has no graph to give.
//!
//! Built from traces, each call is counted once: a service node counts the
//! requests its entry spans (segments) served; a cross-service edge counts
//! the callee's entry spans under the caller's span; an edge to an AWS
//! resource counts the client spans naming it in `peer.service` (X-Ray's
//! inferred segments have already been folded into those, see
//! [`super::spans`]). A client span whose callee recorded its own segment is
//! left to that segment, so instrumented calls are not counted twice.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_xray::types::{
    EdgeStatistics, ErrorStatistics, FaultStatistics, HistogramEntry, Service, ServiceStatistics,
};
use vitals_api::{
    CallStats, NodeKind, ServiceEdge, ServiceMap, ServiceNode, Span, SpanKind, SpanStatus, Trace,
};

use super::document::PEER_SERVICE;

const NS_PER_MS: f64 = 1e6;
const MS_PER_SECOND: f64 = 1e3;

/// X-Ray node types of compute that runs the clinic's own code; other `AWS::` types are resources.
const COMPUTE_TYPES: [&str; 5] = [
    "AWS::ECS::Container",
    "AWS::EC2::Instance",
    "AWS::EKS::Container",
    "AWS::ElasticBeanstalk::Environment",
    "AWS::Lambda::Function",
];
/// X-Ray's node for the callers outside the traced services.
const CLIENT_TYPE: &str = "client";

/// Calls and outcomes of one node or edge, with every latency for the p95.
#[derive(Debug, Default)]
struct Tally {
    stats: CallStats,
    latencies_ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, span: &Span) {
        self.stats.requests += 1;
        match span.status {
            SpanStatus::Ok => {}
            SpanStatus::Error => self.stats.errors += 1,
            SpanStatus::Fault => self.stats.faults += 1,
            SpanStatus::Throttle => self.stats.throttles += 1,
        }
        self.latencies_ms.push(span.duration as f64 / NS_PER_MS);
    }

    fn finish(mut self) -> CallStats {
        if !self.latencies_ms.is_empty() {
            self.stats.latency_avg_ms =
                self.latencies_ms.iter().sum::<f64>() / self.latencies_ms.len() as f64;
            self.latencies_ms.sort_by(f64::total_cmp);
            self.stats.latency_p95_ms = self.latencies_ms[nearest_rank_95(self.latencies_ms.len())];
        }
        self.stats
    }
}

/// Index of the nearest-rank 95th percentile among `count` sorted values (count > 0).
fn nearest_rank_95(count: usize) -> usize {
    (count * 95).div_ceil(100).max(1) - 1
}

/// Nodes and edges as they are being counted.
#[derive(Default)]
struct MapTally {
    nodes: BTreeMap<String, (bool, Tally)>,
    edges: BTreeMap<(String, String), Tally>,
}

impl MapTally {
    fn node(&mut self, name: &str, is_service: bool) -> &mut Tally {
        let (service, tally) = self.nodes.entry(name.to_owned()).or_default();
        *service |= is_service;
        tally
    }

    fn edge(&mut self, source: &str, target: &str) -> &mut Tally {
        self.edges
            .entry((source.to_owned(), target.to_owned()))
            .or_default()
    }

    /// Services first, then AWS resources, each by name; edges by source and target.
    fn finish(self) -> ServiceMap {
        let mut nodes: Vec<ServiceNode> = self
            .nodes
            .into_iter()
            .map(|(name, (is_service, tally))| ServiceNode {
                name,
                kind: if is_service {
                    NodeKind::Service
                } else {
                    NodeKind::Aws
                },
                stats: tally.finish(),
            })
            .collect();
        nodes.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        let edges = self
            .edges
            .into_iter()
            .map(|((source, target), tally)| ServiceEdge {
                source,
                target,
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

/// The map of the services and AWS resources in `traces` and the calls between them.
pub fn service_map_from_traces(traces: &[Trace]) -> ServiceMap {
    let mut map = MapTally::default();
    for trace in traces {
        let by_id: HashMap<&str, &Span> = trace.spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
        let parent_of = |span: &Span| span.parent_id.as_deref().and_then(|id| by_id.get(id).copied());
        let mut has_remote_child: HashMap<&str, bool> = HashMap::new();
        for span in &trace.spans {
            if let Some(parent) = parent_of(span)
                && parent.service != span.service
            {
                has_remote_child.insert(parent.span_id.as_str(), true);
            }
        }
        for span in &trace.spans {
            let parent = parent_of(span);
            let peer = span
                .attributes
                .get(PEER_SERVICE)
                .filter(|_| span.kind == SpanKind::Client);
            match (peer, parent) {
                // A resource standing alone (an inferred segment whose caller is missing).
                (Some(peer), _) if *peer == span.service => map.node(peer, false).add(span),
                (Some(peer), _) => {
                    if has_remote_child.contains_key(span.span_id.as_str()) {
                        continue;
                    }
                    let is_service = !span.attributes.contains_key("aws.operation");
                    map.node(peer, is_service).add(span);
                    map.edge(&span.service, peer).add(span);
                }
                (None, Some(parent)) if parent.service == span.service => {}
                (None, Some(parent)) => {
                    map.node(&span.service, true).add(span);
                    map.edge(&parent.service, &span.service).add(span);
                }
                (None, None) => map.node(&span.service, true).add(span),
            }
        }
    }
    map.finish()
}

/// The map from GetServiceGraph's services, leaving out X-Ray's `client` node.
pub(crate) fn service_map_from_graph(services: &[Service]) -> ServiceMap {
    let names: HashMap<i32, &str> = services
        .iter()
        .filter_map(|service| Some((service.reference_id()?, service.name()?)))
        .collect();
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for service in services {
        let Some(name) = service.name() else { continue };
        let node_type = service.r#type().unwrap_or_default();
        if node_type == CLIENT_TYPE {
            continue;
        }
        let resource = node_type.starts_with("AWS::") && !COMPUTE_TYPES.contains(&node_type);
        let stats = graph_stats(service.summary_statistics(), service.response_time_histogram());
        nodes.push(ServiceNode {
            name: name.to_owned(),
            kind: if resource {
                NodeKind::Aws
            } else {
                NodeKind::Service
            },
            stats,
        });
        for edge in service.edges() {
            let Some(target) = edge.reference_id().and_then(|id| names.get(&id)) else {
                continue;
            };
            edges.push(ServiceEdge {
                source: name.to_owned(),
                target: (*target).to_owned(),
                stats: graph_stats(edge.summary_statistics(), edge.response_time_histogram()),
            });
        }
    }
    ServiceMap {
        nodes,
        edges,
        layout: None,
    }
}

/// What X-Ray counts for a node (`ServiceStatistics`) and an edge (`EdgeStatistics`) alike.
trait GraphCounts {
    fn total_count(&self) -> Option<i64>;
    fn error_statistics(&self) -> Option<&ErrorStatistics>;
    fn fault_statistics(&self) -> Option<&FaultStatistics>;
    /// Seconds, summed over the requests.
    fn total_response_time(&self) -> Option<f64>;
}

macro_rules! graph_counts {
    ($statistics:ty) => {
        impl GraphCounts for $statistics {
            fn total_count(&self) -> Option<i64> {
                self.total_count
            }
            fn error_statistics(&self) -> Option<&ErrorStatistics> {
                self.error_statistics.as_ref()
            }
            fn fault_statistics(&self) -> Option<&FaultStatistics> {
                self.fault_statistics.as_ref()
            }
            fn total_response_time(&self) -> Option<f64> {
                self.total_response_time
            }
        }
    };
}

graph_counts!(ServiceStatistics);
graph_counts!(EdgeStatistics);

/// X-Ray's counts (errors split into other and throttle) and response times (seconds) as `CallStats`.
fn graph_stats(statistics: Option<&impl GraphCounts>, histogram: &[HistogramEntry]) -> CallStats {
    let Some(statistics) = statistics else {
        return CallStats::default();
    };
    let count = |value: Option<i64>| value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    let errors = statistics.error_statistics();
    let requests = count(statistics.total_count());
    CallStats {
        requests,
        errors: count(errors.and_then(|e| e.other_count())),
        faults: count(statistics.fault_statistics().and_then(|f| f.total_count())),
        throttles: count(errors.and_then(|e| e.throttle_count())),
        latency_avg_ms: match (requests, statistics.total_response_time()) {
            (1.., Some(seconds)) => seconds * MS_PER_SECOND / requests as f64,
            _ => 0.0,
        },
        latency_p95_ms: histogram_p95_s(histogram) * MS_PER_SECOND,
    }
}

/// The nearest-rank 95th percentile of a histogram of (seconds, count) entries.
fn histogram_p95_s(histogram: &[HistogramEntry]) -> f64 {
    let mut entries: Vec<(f64, u64)> = histogram
        .iter()
        .filter_map(|entry| Some((entry.value(), u64::try_from(entry.count()).ok()?)))
        .filter(|(_, count)| *count > 0)
        .collect();
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = entries.iter().map(|(_, count)| count).sum();
    if total == 0 {
        return 0.0;
    }
    let rank = nearest_rank_95(total as usize) as u64;
    let mut seen = 0;
    for (value, count) in &entries {
        seen += count;
        if seen > rank {
            return *value;
        }
    }
    entries.last().map_or(0.0, |(value, _)| *value)
}

#[cfg(test)]
mod tests {
    use aws_sdk_xray::types::Edge;

    use super::*;

    const MS: i64 = 1_000_000;

    struct Build(Vec<Span>);

    impl Build {
        fn span(mut self, id: &str, parent: Option<&str>, service: &str, kind: SpanKind) -> Self {
            self.0.push(Span {
                trace_id: "t".into(),
                span_id: id.into(),
                parent_id: parent.map(str::to_owned),
                service: service.into(),
                name: id.into(),
                start: 0,
                duration: 10 * MS,
                status: SpanStatus::Ok,
                kind,
                attributes: Default::default(),
                reveal_ref: None,
            });
            self
        }

        fn calls(mut self, peer: &str, aws: bool) -> Self {
            let span = self.0.last_mut().unwrap();
            span.attributes.insert(PEER_SERVICE.into(), peer.into());
            if aws {
                span.attributes.insert("aws.operation".into(), "GetItem".into());
            }
            self
        }

        fn status(mut self, status: SpanStatus, duration_ms: i64) -> Self {
            let span = self.0.last_mut().unwrap();
            span.status = status;
            span.duration = duration_ms * MS;
            self
        }

        fn trace(self) -> Trace {
            Trace {
                trace_id: "t".into(),
                spans: self.0,
            }
        }
    }

    fn login(status: SpanStatus, call_ms: i64) -> Trace {
        Build(vec![])
            .span("a", None, "login-api", SpanKind::Server)
            .span("b", Some("a"), "login-api", SpanKind::Internal)
            .span("c", Some("a"), "login-api", SpanKind::Client)
            .calls("DynamoDB", true)
            .status(status, call_ms)
            .trace()
    }

    fn edge<'a>(map: &'a ServiceMap, source: &str, target: &str) -> &'a CallStats {
        &map.edges
            .iter()
            .find(|e| e.source == source && e.target == target)
            .unwrap_or_else(|| panic!("no edge {source} -> {target} in {map:?}"))
            .stats
    }

    #[test]
    fn aws_calls_make_resource_nodes_and_edges_with_their_outcomes() {
        let mut traces: Vec<Trace> = (1..=18).map(|ms| login(SpanStatus::Ok, ms)).collect();
        traces.push(login(SpanStatus::Error, 100));
        traces.push(login(SpanStatus::Fault, 200));
        let map = service_map_from_traces(&traces);
        let nodes: Vec<(&str, NodeKind, u64)> = map
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.kind, n.stats.requests))
            .collect();
        assert_eq!(
            nodes,
            vec![
                ("login-api", NodeKind::Service, 20),
                ("DynamoDB", NodeKind::Aws, 20)
            ]
        );
        assert_eq!(map.edges.len(), 1);
        let call = edge(&map, "login-api", "DynamoDB");
        assert_eq!(
            (call.requests, call.errors, call.faults, call.throttles),
            (20, 1, 1, 0)
        );
        assert_eq!(call.latency_p95_ms, 100.0, "the 19th of 20 sorted latencies");
        assert_eq!(call.latency_avg_ms, (171.0 + 300.0) / 20.0);
    }

    #[test]
    fn a_call_to_an_instrumented_service_is_counted_once_from_its_segment() {
        let trace = Build(vec![])
            .span("a", None, "appointments", SpanKind::Server)
            .span("b", Some("a"), "appointments", SpanKind::Client)
            .calls("records", false)
            .span("c", Some("b"), "records", SpanKind::Server)
            .status(SpanStatus::Throttle, 30)
            .span("d", Some("a"), "appointments", SpanKind::Client)
            .calls("SQS", true)
            .trace();
        let map = service_map_from_traces(&[trace]);
        let to_records = edge(&map, "appointments", "records");
        assert_eq!((to_records.requests, to_records.throttles), (1, 1));
        assert_eq!(to_records.latency_avg_ms, 30.0);
        assert_eq!(edge(&map, "appointments", "SQS").requests, 1);
        assert_eq!(map.edges.len(), 2);
        let kinds: Vec<(&str, NodeKind)> = map.nodes.iter().map(|n| (n.name.as_str(), n.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("appointments", NodeKind::Service),
                ("records", NodeKind::Service),
                ("SQS", NodeKind::Aws)
            ]
        );
    }

    #[test]
    fn an_uninstrumented_remote_call_is_a_service_edge_and_a_lone_resource_has_no_edge() {
        let trace = Build(vec![])
            .span("a", None, "records", SpanKind::Server)
            .span("b", Some("a"), "records", SpanKind::Client)
            .calls("billing", false)
            .span("z", Some("missing"), "SQS", SpanKind::Client)
            .calls("SQS", true)
            .trace();
        let map = service_map_from_traces(&[trace]);
        assert_eq!(edge(&map, "records", "billing").requests, 1);
        assert_eq!(map.edges.len(), 1);
        let sqs = map.nodes.iter().find(|n| n.name == "SQS").unwrap();
        assert_eq!((sqs.kind, sqs.stats.requests), (NodeKind::Aws, 1));
    }

    #[test]
    fn an_empty_range_is_an_empty_map() {
        assert_eq!(
            service_map_from_traces(&[]),
            ServiceMap {
                nodes: vec![],
                edges: vec![],
                layout: None,
            }
        );
    }

    #[test]
    fn x_ray_graph_statistics_become_call_stats() {
        let histogram = |entries: &[(f64, i32)]| -> Vec<HistogramEntry> {
            entries
                .iter()
                .map(|(value, count)| HistogramEntry::builder().value(*value).count(*count).build())
                .collect()
        };
        let client = Service::builder()
            .reference_id(0)
            .name("users")
            .r#type("client")
            .build();
        let login = Service::builder()
            .reference_id(1)
            .name("login-api")
            .r#type("AWS::ECS::Container")
            .summary_statistics(
                ServiceStatistics::builder()
                    .total_count(10)
                    .ok_count(10)
                    .total_response_time(1.0)
                    .build(),
            )
            .edges(
                Edge::builder()
                    .reference_id(2)
                    .summary_statistics(
                        EdgeStatistics::builder()
                            .total_count(20)
                            .ok_count(14)
                            .error_statistics(
                                ErrorStatistics::builder()
                                    .total_count(4)
                                    .other_count(3)
                                    .throttle_count(1)
                                    .build(),
                            )
                            .fault_statistics(FaultStatistics::builder().total_count(2).build())
                            .total_response_time(0.5)
                            .build(),
                    )
                    .set_response_time_histogram(Some(histogram(&[(0.25, 1), (0.125, 18), (0.5, 1)])))
                    .build(),
            )
            .build();
        let dynamodb = Service::builder()
            .reference_id(2)
            .name("DynamoDB")
            .r#type("AWS::DynamoDB::Table")
            .build();
        let map = service_map_from_graph(&[client, login, dynamodb]);
        let kinds: Vec<(&str, NodeKind)> = map.nodes.iter().map(|n| (n.name.as_str(), n.kind)).collect();
        assert_eq!(
            kinds,
            vec![("login-api", NodeKind::Service), ("DynamoDB", NodeKind::Aws)]
        );
        assert_eq!(map.nodes[0].stats.latency_avg_ms, 100.0);
        assert_eq!(
            map.edges,
            vec![ServiceEdge {
                source: "login-api".into(),
                target: "DynamoDB".into(),
                stats: CallStats {
                    requests: 20,
                    errors: 3,
                    faults: 2,
                    throttles: 1,
                    latency_avg_ms: 25.0,
                    latency_p95_ms: 250.0,
                },
            }]
        );
    }

    #[test]
    fn nearest_rank_p95_of_twenty_is_the_nineteenth() {
        assert_eq!(nearest_rank_95(20), 18);
        assert_eq!(nearest_rank_95(1), 0);
        assert_eq!(nearest_rank_95(100), 94);
    }
}
