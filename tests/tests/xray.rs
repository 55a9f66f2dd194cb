//! The X-Ray source against moto filled with the demo clinic's traces: what the BFF answers is the clinic's own traces and map.
//!
//! moto cannot filter (FilterExpression is not implemented) nor draw a
//! service graph, so search runs without a filter (filters are built and
//! checked by pure functions in the server crate) and the map is the one
//! built from the traces.

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use reqwest::StatusCode;
use serde_json::json;
use vitals_api::{NodeKind, ServiceMap, SpanKind, SpanStatus, Trace, TraceSearchResponse, TraceSummary};
use vitals_demo::{DemoClinic, DemoConfig};
use vitals_server::config::Config;
use vitals_server::masking::Masker;
use vitals_server::reveal::mask_spans;
use vitals_server::sources::Sources;
use vitals_server::sources::xray::segment_documents;
use vitals_server::sources::{TimeRange, TraceQuery};
use vitals_server::state::{Clock, FixedClock};
use vitals_tests::TestServer;
use vitals_tests::moto::MotoServer;

/// 2026-11-24 10:38Z–10:52Z: the traces put into moto, across the 10:40–10:50 failure window.
const PUT_FROM_MS: i64 = 1_795_516_680_000;
const PUT_TO_MS: i64 = 1_795_517_520_000;
/// moto keeps a trace when it starts after the range's start and ends before its end
/// (both to the second), so the BFF asks a minute either side of what was put.
const ASK_FROM: &str = "2026-11-24T10:37:00Z";
const ASK_TO: &str = "2026-11-24T10:53:00Z";

/// moto with the clinic's traces of the range, and the BFF reading it through `XRaySource`.
struct Setup {
    _moto: MotoServer,
    vitals: TestServer,
    client: reqwest::Client,
    clinic: DemoClinic,
    traces: Vec<Trace>,
}

impl Setup {
    async fn start() -> Result<Self> {
        let moto = MotoServer::start().await?;
        let source = moto.xray_source().await?;
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(PUT_TO_MS));
        let clinic = DemoClinic::new(DemoConfig::default());
        let traces = clinic.traces(put_range());
        moto.put_traces(&traces)
            .await
            .context("putting the clinic's traces into moto failed")?;
        let demo = vitals_server::demo_sources(&Config::default(), clock.clone());
        let (state, data) = vitals_tests::test_state(
            Some(&Sources {
                traces: Arc::new(source),
                ..demo
            }),
            clock,
        )?;
        let vitals = TestServer::start_with_state(state, data).await?;
        let client = vitals.client_as("engineer").await?;
        Ok(Self {
            _moto: moto,
            vitals,
            client,
            clinic,
            traces,
        })
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, serde_json::Value)> {
        let response = self.client.get(self.vitals.url(path)).send().await?;
        Ok((response.status(), response.json().await?))
    }

    async fn trace(&self, id: &str) -> Result<Trace> {
        let (status, body) = self.get(&format!("/api/v1/traces/{id}")).await?;
        ensure!(
            status == StatusCode::OK,
            "GET trace {id} answered {status}: {body}"
        );
        Ok(serde_json::from_value(body)?)
    }
}

fn put_range() -> TimeRange {
    TimeRange::new(PUT_FROM_MS, PUT_TO_MS)
}

fn xray_form(w3c: &str) -> String {
    format!("1-{}-{}", &w3c[..8], &w3c[8..])
}

/// Newest first, and by id among traces that start in the same millisecond.
fn in_search_order(mut summaries: Vec<TraceSummary>) -> Vec<TraceSummary> {
    summaries.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.trace_id.cmp(&b.trace_id)));
    summaries
}

/// A trace as Vitals answers it: patient data in its spans masked, each masked span
/// pointing at its reveal.
fn masked(trace: &Trace) -> Trace {
    let mut masked = trace.clone();
    mask_spans(&Masker::default(), &mut masked.spans);
    masked
}

#[tokio::test]
async fn search_without_a_filter_lists_the_clinics_traces_newest_first() -> Result<()> {
    let setup = Setup::start().await?;
    let response = setup
        .client
        .post(setup.vitals.url("/api/v1/traces/search"))
        .header("x-vitals-csrf", "1")
        .json(&json!({"filter": "", "from": ASK_FROM, "to": ASK_TO, "limit": 1000}))
        .send()
        .await?;
    ensure!(
        response.status() == StatusCode::OK,
        "search answered {}",
        response.status()
    );
    let found: TraceSearchResponse = response.json().await?;
    ensure!(
        found.traces.windows(2).all(|pair| pair[0].start >= pair[1].start),
        "the search answer is not newest first"
    );
    let expected = setup
        .clinic
        .search_traces(&TraceQuery {
            filter: String::new(),
            range: put_range(),
            limit: 1000,
        })
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    ensure!(
        expected.len() == setup.traces.len() && expected.len() > 100,
        "the clinic's search and traces disagree ({} and {})",
        expected.len(),
        setup.traces.len()
    );
    assert_eq!(in_search_order(found.traces), in_search_order(expected));
    Ok(())
}

#[tokio::test]
async fn a_trace_reads_back_with_the_clinics_spans_by_either_id() -> Result<()> {
    let setup = Setup::start().await?;
    let failed_login = |trace: &&Trace| {
        trace.spans[0].service == "login-api"
            && trace
                .spans
                .iter()
                .any(|span| span.kind == SpanKind::Client && span.status == SpanStatus::Error)
    };
    let failed = setup
        .traces
        .iter()
        .find(failed_login)
        .context("the failure window put no failed login into moto")?;
    let reaches =
        |what: &dyn Fn(&vitals_api::Span) -> bool| setup.traces.iter().any(|t| t.spans.iter().any(what));
    ensure!(
        reaches(&|span| span.attributes.contains_key("aws.queue_url"))
            && reaches(&|span| span.kind == SpanKind::Internal),
        "the range has no SQS call or no internal span to read back"
    );
    ensure!(
        setup.traces.iter().any(|trace| masked(trace) != *trace),
        "the range has no span with patient data, so masking through X-Ray is not shown"
    );
    for expected in &setup.traces {
        let inferred = segment_documents(expected)
            .iter()
            .filter(|document| document.contains(r#""inferred":true"#))
            .count();
        let calls = expected
            .spans
            .iter()
            .filter(|span| span.kind == SpanKind::Client)
            .count();
        assert_eq!(
            inferred, calls,
            "each AWS call put its inferred segment into moto"
        );

        let by_w3c = setup.trace(&expected.trace_id).await?;
        assert_eq!(
            by_w3c,
            masked(expected),
            "the trace read by its W3C id differs from the clinic's, patient data masked"
        );

        let xray_id = xray_form(&expected.trace_id);
        let by_xray = setup.trace(&xray_id).await?;
        assert_eq!(by_xray.trace_id, xray_id);
        assert!(by_xray.spans.iter().all(|span| span.trace_id == xray_id));
        let mut respelled = expected.clone();
        respelled.trace_id = xray_id.clone();
        respelled
            .spans
            .iter_mut()
            .for_each(|span| span.trace_id = xray_id.clone());
        assert_eq!(
            by_xray,
            masked(&respelled),
            "the trace read by its X-Ray id differs from the clinic's, patient data masked"
        );
    }
    let failed_call = setup.trace(&failed.trace_id).await?;
    let get_item = failed_call
        .spans
        .iter()
        .find(|span| span.kind == SpanKind::Client)
        .context("the failed login has no client span")?;
    assert_eq!(get_item.name, "DynamoDB.GetItem");
    assert_eq!(get_item.attributes["peer.service"], "DynamoDB");
    assert_eq!(get_item.attributes["aws.table_name"], "users");
    assert_eq!(get_item.status, SpanStatus::Error);
    // The trace view says where the trace failed: the GetItem, not the login it broke.
    let waterfall = vitals_trace::Waterfall::new(vitals_trace::SpanTable::from_spans(
        &failed_call.trace_id,
        &failed_call.spans,
    ));
    let origins: Vec<&str> = waterfall
        .failure_origins()
        .into_iter()
        .map(|span| waterfall.table().name(span))
        .collect();
    assert_eq!(
        origins,
        ["DynamoDB.GetItem"],
        "where the trace read back from X-Ray failed"
    );
    Ok(())
}

#[tokio::test]
async fn a_filter_is_passed_to_x_ray_and_a_broken_one_refused_first() -> Result<()> {
    let setup = Setup::start().await?;
    let search = |filter: &'static str| {
        setup
            .client
            .post(setup.vitals.url("/api/v1/traces/search"))
            .header("x-vitals-csrf", "1")
            .json(&json!({"filter": filter, "from": ASK_FROM, "to": ASK_TO}))
            .send()
    };
    // moto answers any FilterExpression with InternalFailure "Not implemented
    // yet": its answer shows the filter reached X-Ray's API as sent.
    let response = search(r#"service("login-api") AND error"#).await?;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: serde_json::Value = response.json().await?;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("X-Ray is unavailable") && message.contains("Not implemented"),
        "{body}"
    );

    let response = search("fault\u{7}").await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "bad_query", "{body}");

    // A wrong expression is refused before X-Ray, pointing at the wrong part.
    let response = search("responsetime > fast").await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "bad_filter", "{body}");
    assert_eq!(body["error"]["at"], json!({"start": 15, "end": 19}), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the filter is wrong at character 16"),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_and_malformed_trace_ids_are_refused() -> Result<()> {
    let setup = Setup::start().await?;
    let (status, body) = setup
        .get("/api/v1/traces/1-6a23a1f8-000000000000000000000000")
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("X-Ray"),
        "{body}"
    );
    let (status, _) = setup.get("/api/v1/traces/not-a-trace-id").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn the_service_map_built_from_traces_shows_the_failing_dynamodb_edge() -> Result<()> {
    let setup = Setup::start().await?;
    let (status, body) = setup
        .get(&format!("/api/v1/service-map?from={ASK_FROM}&to={ASK_TO}"))
        .await?;
    ensure!(status == StatusCode::OK, "service map answered {status}: {body}");
    let mut map: ServiceMap = serde_json::from_value(body)?;
    let login = map
        .edges
        .iter()
        .find(|edge| edge.source == "login-api" && edge.target == "DynamoDB")
        .context("no login-api -> DynamoDB edge")?;
    assert!(login.stats.errors + login.stats.faults > 0, "{login:?}");
    let dynamodb = map
        .nodes
        .iter()
        .find(|node| node.name == "DynamoDB")
        .context("no DynamoDB node")?;
    assert_eq!(dynamodb.kind, NodeKind::Aws);

    // The map from X-Ray is the clinic's own map of what was put: every node
    // and edge with the same counts and latencies, no call counted twice.
    // It goes through JSON too, as serde_json may read a float back one ulp off.
    // The server lays the map out for drawing; the sources' maps carry no layout.
    let layout = map.layout.take().context("the service map has no layout")?;
    assert_eq!(layout.nodes.len(), map.nodes.len(), "every node has a place");
    let expected = serde_json::to_string(&setup.clinic.service_map_of(put_range()))?;
    let mut expected: ServiceMap = serde_json::from_str(&expected)?;
    for map in [&mut map, &mut expected] {
        map.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        map.edges
            .sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
    }
    assert_eq!(map, expected);
    Ok(())
}
