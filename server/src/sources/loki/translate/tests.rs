//! Table-driven tests of the translation over every captured Loki answer.

use std::collections::BTreeSet;

use super::*;
use crate::sources::loki::test_fixtures::{Fixture, all_fixture_names, read_json, tail_frames};
use vitals_api::Point;

/// What a fixture must translate into.
enum Expected {
    /// A log query: the number of lines, the first line's time (ns) and one field read from it.
    Lines {
        count: usize,
        first_ns: i64,
        field: (&'static str, &'static str),
    },
    NoLines,
    /// A metric query over a range: series, points in all, and the first point of the first series.
    Matrix {
        series: usize,
        points: usize,
        first: Option<Point>,
    },
    Vector {
        series: usize,
        first: Option<Point>,
    },
    Names(&'static [&'static str]),
    LabelSets {
        count: usize,
        with: (&'static str, &'static str),
    },
    Built {
        version: &'static str,
    },
    EmptyIndex,
    /// A 2xx answer with nothing to read: `/ready`, or a push Loki accepted.
    Accepted,
    BadQuery(&'static str),
    Unavailable(&'static str),
    /// Not the shape of Loki's v1 API (the legacy `/api/prom` answer).
    NotLokiShape,
    /// A push body (`{"streams": [...]}`, the shape of a tail frame): its line count.
    Pushed(usize),
    /// A captured tail WebSocket: lines per frame.
    TailFrames(&'static [usize]),
}

use Expected::*;

const fn lines(count: usize, first_ns: i64, field: (&'static str, &'static str)) -> Expected {
    Lines {
        count,
        first_ns,
        field,
    }
}

const fn point(seconds: i64, value: f64) -> Option<Point> {
    Some(Point(seconds * 1000, value))
}

const FIXTURES: &[(&str, Expected)] = &[
    ("buildinfo.json", Built { version: "" }),
    (
        "error_empty_matchers.json",
        BadQuery("queries require at least one regexp or equality matcher"),
    ),
    (
        "error_limit_too_high.json",
        BadQuery("max entries limit per query exceeded"),
    ),
    (
        "error_parse_unclosed_selector.json",
        BadQuery("parse error at line 1, col 21"),
    ),
    (
        "error_pipeline_json_parser.json",
        BadQuery("pipeline error: 'JSONParserErr'"),
    ),
    (
        "error_range_too_long.json",
        BadQuery("the query time range exceeds the limit"),
    ),
    (
        "error_step_too_small.json",
        BadQuery("exceeded maximum resolution of 11,000 points"),
    ),
    (
        "error_unknown_endpoint.json",
        Unavailable(
            "Loki has no endpoint /loki/api/v1/does-not-exist (404 Not Found: 404 page not found); is VITALS_LOKI_URL the Loki base URL?",
        ),
    ),
    (
        "label_values_service.json",
        Names(&["appointments", "login-api", "patient-registration"]),
    ),
    ("labels.json", Names(&["clinic", "env", "level", "service"])),
    ("push-payload.json", Pushed(380)),
    (
        "query_instant_vector_by_level.json",
        Vector {
            series: 2,
            first: point(1_795_561_200, 22.0),
        },
    ),
    (
        "query_range_matrix_bytes_over_time.json",
        Matrix {
            series: 1,
            points: 12,
            first: point(1_795_554_600, 3793.0),
        },
    ),
    (
        "query_range_matrix_count_over_time.json",
        Matrix {
            series: 8,
            points: 124,
            first: point(1_795_554_600, 1.0),
        },
    ),
    (
        "query_range_matrix_json_status_by_status.json",
        Matrix {
            series: 2,
            points: 15,
            first: point(1_795_554_900, 13.0),
        },
    ),
    (
        "query_range_matrix_quantile_unwrap.json",
        Matrix {
            series: 2,
            points: 24,
            first: point(1_795_554_600, 636.799_999_999_999_8),
        },
    ),
    ("query_range_streams_empty.json", NoLines),
    (
        "query_range_streams_forward_limit5.json",
        lines(5, 1_795_554_017_000_000_000, ("status", "404")),
    ),
    (
        "query_range_streams_line_filter.json",
        lines(15, 1_795_560_837_000_000_000, ("table", "users")),
    ),
    (
        "query_range_streams_logfmt_level.json",
        lines(7, 1_795_560_266_000_000_000, ("msg", "registration failed")),
    ),
    (
        "query_range_streams_selector.json",
        lines(
            100,
            1_795_561_194_000_000_000,
            ("trace_id", "90bfeabadf4225595356e369016f10cb"),
        ),
    ),
    ("ready.json", Accepted),
    (
        "series_env_prod.json",
        LabelSets {
            count: 8,
            with: ("env", "prod"),
        },
    ),
    ("tail_websocket_frames.json", TailFrames(&[1, 1])),
    ("set-b/buildinfo.json", Built { version: "2.6.1" }),
    (
        "set-b/error_empty_compatible_matcher.json",
        BadQuery("app=~\".*\" does not meet this requirement"),
    ),
    (
        "set-b/error_empty_selector.json",
        BadQuery("unexpected }, expecting IDENTIFIER"),
    ),
    (
        "set-b/error_end_before_start.json",
        BadQuery("end timestamp must not be before or equal to start time"),
    ),
    (
        "set-b/error_invalid_start_time.json",
        BadQuery("parsing \"yesterday\": invalid syntax"),
    ),
    (
        "set-b/error_metric_unwrap_non_numeric.json",
        BadQuery("pipeline error: 'SampleExtractionErr'"),
    ),
    (
        "set-b/error_missing_query_param.json",
        BadQuery("syntax error: unexpected $end"),
    ),
    (
        "set-b/error_no_selector_line_filter_only.json",
        BadQuery("unexpected |="),
    ),
    (
        "set-b/error_parse_bad_pipeline.json",
        BadQuery("parse error at line 1, col 33"),
    ),
    (
        "set-b/error_post_form_body_ignored.json",
        BadQuery("syntax error: unexpected $end"),
    ),
    (
        "set-b/error_push_empty_labels.json",
        BadQuery("at least one label pair is required per stream"),
    ),
    (
        "set-b/error_push_malformed_json.json",
        BadQuery("loghttp.PushRequest.Streams"),
    ),
    (
        "set-b/error_too_many_points.json",
        BadQuery("Try decreasing the query resolution"),
    ),
    (
        "set-b/error_unknown_endpoint_404.json",
        Unavailable("Loki has no endpoint /loki/api/v1/nope"),
    ),
    ("set-b/index_stats.json", EmptyIndex),
    (
        "set-b/label_service_values.json",
        Names(&["appointments", "login-api", "patient-registration"]),
    ),
    ("set-b/label_unknown_values.json", Names(&[])),
    ("set-b/labels.json", Names(&["env", "level", "service"])),
    (
        "set-b/logs_direction_backward.json",
        lines(10, 1_795_562_867_277_000_000, ("reason", "invalid_password")),
    ),
    ("set-b/logs_empty_result.json", NoLines),
    ("set-b/logs_instant_query_streams_empty.json", NoLines),
    (
        "set-b/logs_json_filter_error.json",
        lines(3, 1_795_562_750_147_000_000, ("key", "latest")),
    ),
    ("set-b/logs_legacy_api_prom_query.json", NotLokiShape),
    (
        "set-b/logs_limit_truncated.json",
        lines(3, 1_795_562_957_346_000_000, ("method", "sso")),
    ),
    (
        "set-b/logs_line_filter.json",
        lines(16, 1_795_562_867_277_000_000, ("msg", "login failed")),
    ),
    (
        "set-b/logs_line_format.json",
        lines(3, 1_795_562_750_147_000_000, ("err", "ResourceNotFoundException")),
    ),
    (
        "set-b/logs_logfmt_level_error.json",
        lines(
            5,
            1_795_562_705_310_000_000,
            ("trace_id", "f724f9426bd9f175660221ab58ea2556"),
        ),
    ),
    (
        "set-b/logs_phi_lines.json",
        lines(6, 1_795_562_945_628_000_000, ("patient_name", "Maria Garcia")),
    ),
    (
        "set-b/logs_rfc3339_times.json",
        lines(6, 1_795_561_922_118_000_000, ("duration_ms", "1596")),
    ),
    (
        "set-b/logs_stream_selector.json",
        lines(
            20,
            1_795_562_945_628_000_000,
            ("trace_id", "4a8a33fc2af53a1c9d0210379faed6cd"),
        ),
    ),
    (
        "set-b/metric_bytes_over_time.json",
        Matrix {
            series: 3,
            points: 9,
            first: point(1_795_557_600, 4163.0),
        },
    ),
    (
        "set-b/metric_count_over_time.json",
        Matrix {
            series: 4,
            points: 16,
            first: point(1_795_557_600, 4.0),
        },
    ),
    (
        "set-b/metric_empty_matrix.json",
        Matrix {
            series: 0,
            points: 0,
            first: None,
        },
    ),
    (
        "set-b/metric_instant_vector_empty.json",
        Vector {
            series: 0,
            first: None,
        },
    ),
    (
        "set-b/metric_sum_by_service_rate.json",
        Matrix {
            series: 3,
            points: 9,
            first: point(1_795_559_400, 0.01),
        },
    ),
    (
        "set-b/metric_topk_json.json",
        Matrix {
            series: 3,
            points: 6,
            first: point(1_795_557_600, 6.0),
        },
    ),
    (
        "set-b/mt_error_labels_no_org_id.json",
        Unavailable(
            "Loki refused the request (401 Unauthorized: no org id): check the tenant (VITALS_LOKI_TENANT)",
        ),
    ),
    (
        "set-b/mt_error_push_no_org_id.json",
        Unavailable("401 Unauthorized: no org id"),
    ),
    ("set-b/mt_labels_tenant.json", Names(&["env", "level", "service"])),
    (
        "set-b/mt_metric_multi_tenant_by_tenant.json",
        Matrix {
            series: 2,
            points: 3,
            first: point(1_795_557_600, 3.0),
        },
    ),
    ("set-b/mt_push_clinic_north.json", Accepted),
    ("set-b/mt_push_clinic_south.json", Accepted),
    (
        "set-b/mt_query_other_tenant_isolated.json",
        lines(
            3,
            1_795_558_860_000_000_000,
            ("trace_id", "00000000000000000000000000def005"),
        ),
    ),
    (
        "set-b/mt_query_single_tenant.json",
        lines(
            3,
            1_795_558_860_000_000_000,
            ("trace_id", "00000000000000000000000000abc005"),
        ),
    ),
    ("set-b/mt_query_unknown_tenant_empty.json", NoLines),
    ("set-b/push-payload-multitenant.json", Pushed(12)),
    ("set-b/push-payload.json", Pushed(372)),
    ("set-b/push_json_ok.json", Accepted),
    ("set-b/ready.json", Accepted),
    (
        "set-b/ready_ingester_waiting_503.json",
        Unavailable(
            "Loki answered 503 Service Unavailable: Ingester not ready: waiting for 15s after being ready",
        ),
    ),
    (
        "set-b/series_single_match.json",
        LabelSets {
            count: 4,
            with: ("service", "login-api"),
        },
    ),
    ("set-b/tail-push-payload.json", Pushed(2)),
    ("set-b/tail_websocket.json", TailFrames(&[2, 2])),
];

/// What the adapter makes of a captured answer, by the endpoint it came from.
enum Translated {
    Query(LogQueryResponse),
    Names(Vec<String>),
    LabelSets(Vec<Labels>),
    BuildInfo(BuildInfo),
    IndexStats(IndexStats),
    Accepted,
}

fn translate_capture(fixture: &Fixture) -> Result<Translated, SourceError> {
    let status = StatusCode::from_u16(fixture.status).expect("a valid status");
    let body = fixture.body();
    if !status.is_success() {
        return Err(error_for_status(&fixture.path, status, None, &body));
    }
    let body = body.as_bytes();
    let direction = match fixture.param("direction") {
        Some("forward") => Direction::Forward,
        _ => Direction::Backward,
    };
    let limit = fixture
        .param("limit")
        .map_or(100, |limit| limit.parse().expect("a numeric limit"));
    match fixture.path.as_str() {
        "/loki/api/v1/query_range" | "/loki/api/v1/query" | "/api/prom/query" => {
            query_answer(body, direction, limit).map(Translated::Query)
        }
        "/loki/api/v1/labels" => name_list(body).map(Translated::Names),
        path if path.starts_with("/loki/api/v1/label/") => name_list(body).map(Translated::Names),
        "/loki/api/v1/series" => series_list(body).map(Translated::LabelSets),
        "/loki/api/v1/status/buildinfo" => build_info(body).map(Translated::BuildInfo),
        "/loki/api/v1/index/stats" => index_stats(body).map(Translated::IndexStats),
        "/ready" | "/loki/api/v1/push" => Ok(Translated::Accepted),
        other => panic!("{}: no translation for {other}", fixture.name),
    }
}

/// Lines of a push body, or of each tenant's body in the multi-tenant file.
fn pushed_lines(name: &str) -> usize {
    let payload = read_json(name);
    let bodies: Vec<&serde_json::Value> = match payload.get("streams") {
        Some(_) => vec![&payload],
        None => payload
            .as_object()
            .expect("tenant → push body")
            .values()
            .collect(),
    };
    bodies
        .into_iter()
        .map(|body| {
            let frame = tail_frame(&body.to_string()).unwrap_or_else(|error| panic!("{name}: {error}"));
            for line in &frame.lines {
                assert!(!line.labels.is_empty(), "{name}: a line without labels");
                assert!(
                    line.fields.contains_key("msg"),
                    "{name}: no msg field read from {:?}",
                    line.line
                );
            }
            frame.lines.len()
        })
        .sum()
}

#[test]
fn every_fixture_file_is_in_the_table() {
    let in_table: BTreeSet<String> = FIXTURES.iter().map(|(name, _)| (*name).to_owned()).collect();
    let on_disk: BTreeSet<String> = all_fixture_names().into_iter().collect();
    assert_eq!(in_table.len(), FIXTURES.len(), "a fixture is listed twice");
    assert_eq!(in_table, on_disk);
}

#[test]
fn every_captured_answer_translates_as_expected() {
    for (name, expected) in FIXTURES {
        match expected {
            Pushed(count) => {
                assert_eq!(pushed_lines(name), *count, "{name}");
                continue;
            }
            TailFrames(counts) => {
                let frames: Vec<TailFrame> = tail_frames(name)
                    .iter()
                    .map(|text| tail_frame(text).unwrap_or_else(|error| panic!("{name}: {error}")))
                    .collect();
                let lines: Vec<usize> = frames.iter().map(|frame| frame.lines.len()).collect();
                assert_eq!(lines, *counts, "{name}");
                assert!(frames.iter().all(|frame| frame.dropped_entries == 0), "{name}");
                assert!(
                    frames
                        .iter()
                        .flat_map(|frame| &frame.lines)
                        .all(|line| line.fields.contains_key("msg")),
                    "{name}: fields not read"
                );
                continue;
            }
            _ => {}
        }
        let fixture = Fixture::load(name);
        check(&fixture, expected, translate_capture(&fixture));
    }
}

fn check(fixture: &Fixture, expected: &Expected, translated: Result<Translated, SourceError>) {
    let name = &fixture.name;
    match (expected, translated) {
        (
            Lines {
                count,
                first_ns,
                field,
            },
            Ok(Translated::Query(LogQueryResponse::Streams { lines })),
        ) => {
            assert_eq!(lines.len(), *count, "{name}: lines");
            assert_eq!(lines[0].time, *first_ns, "{name}: first line");
            assert_eq!(
                lines[0].fields.get(field.0).map(String::as_str),
                Some(field.1),
                "{name}: {:?}",
                lines[0]
            );
            let forward = fixture.param("direction") == Some("forward");
            assert!(
                lines.windows(2).all(|pair| if forward {
                    pair[0].time <= pair[1].time
                } else {
                    pair[0].time >= pair[1].time
                }),
                "{name}: lines out of order"
            );
            for line in &lines {
                assert!(
                    !line.labels.is_empty() && !line.fields.is_empty(),
                    "{name}: {line:?}"
                );
            }
        }
        (NoLines, Ok(Translated::Query(LogQueryResponse::Streams { lines }))) => {
            assert!(lines.is_empty(), "{name}");
        }
        (
            Matrix {
                series,
                points,
                first,
            },
            Ok(Translated::Query(LogQueryResponse::Matrix { series: got })),
        ) => {
            assert_eq!(got.len(), *series, "{name}: series");
            let points_in_all: usize = got.iter().map(|series| series.points.len()).sum();
            assert_eq!(points_in_all, *points, "{name}: points");
            assert_eq!(
                got.first().map(|series| series.points[0]),
                *first,
                "{name}: first point"
            );
            let multi_tenant = fixture
                .header("X-Scope-OrgID")
                .is_some_and(|tenant| tenant.contains('|'));
            let tenant_labelled = got
                .iter()
                .any(|series| series.labels.contains_key("__tenant_id__"));
            assert_eq!(
                tenant_labelled, multi_tenant,
                "{name}: __tenant_id__ only across tenants"
            );
        }
        (Vector { series, first }, Ok(Translated::Query(LogQueryResponse::Vector { series: got }))) => {
            assert_eq!(got.len(), *series, "{name}: series");
            assert!(got.iter().all(|series| series.points.len() == 1), "{name}");
            assert_eq!(
                got.first().map(|series| series.points[0]),
                *first,
                "{name}: first sample"
            );
        }
        (Names(names), Ok(Translated::Names(got))) => assert_eq!(got, *names, "{name}"),
        (LabelSets { count, with }, Ok(Translated::LabelSets(got))) => {
            assert_eq!(got.len(), *count, "{name}");
            assert!(
                got.iter()
                    .all(|labels| labels.get(with.0).map(String::as_str) == Some(with.1)),
                "{name}"
            );
        }
        (Built { version }, Ok(Translated::BuildInfo(info))) => assert_eq!(info.version, *version, "{name}"),
        (EmptyIndex, Ok(Translated::IndexStats(stats))) => assert_eq!(stats, IndexStats::default(), "{name}"),
        (Accepted, Ok(Translated::Accepted)) => {}
        (BadQuery(text), Err(SourceError::BadQuery { source_name, reason })) => {
            assert_eq!(source_name, "Loki", "{name}");
            assert!(reason.contains(text), "{name}: {reason}");
            assert_eq!(reason, fixture.body().trim(), "{name}: Loki's own words, trimmed");
            if fixture
                .content_type
                .as_deref()
                .is_some_and(|content_type| content_type.starts_with("application/json"))
            {
                // Labelled JSON, written as text: the reason above came from the text.
                assert!(
                    serde_json::from_str::<serde_json::Value>(&fixture.body()).is_err(),
                    "{name}"
                );
            }
        }
        (Unavailable(text), Err(SourceError::Unavailable { source_name, reason })) => {
            assert_eq!(source_name, "Loki", "{name}");
            assert!(reason.contains(text), "{name}: {reason}");
        }
        (NotLokiShape, Err(SourceError::Unavailable { reason, .. })) => {
            assert!(
                reason.contains("not in the shape Vitals reads"),
                "{name}: {reason}"
            );
        }
        (_, other) => panic!(
            "{name}: unexpected translation {:?}",
            other.map(|_| "an answer of another kind")
        ),
    }
}

#[test]
fn lines_of_all_streams_are_merged_in_the_asked_direction_and_capped() {
    let body = br#"{"status":"success","data":{"resultType":"streams","result":[
        {"stream":{"service":"a"},"values":[["30","level=info n=3"],["10","level=info n=1"]]},
        {"stream":{"service":"b"},"values":[["20","{\"n\":2}"],["40","{\"n\":4}"]]}]}}"#;
    let times = |direction, limit| match query_answer(body, direction, limit).unwrap() {
        LogQueryResponse::Streams { lines } => lines.iter().map(|line| line.time).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(times(Direction::Backward, 100), [40, 30, 20, 10]);
    assert_eq!(times(Direction::Forward, 100), [10, 20, 30, 40]);
    assert_eq!(times(Direction::Backward, 3), [40, 30, 20]);
    assert_eq!(times(Direction::Forward, 2), [10, 20]);
}

#[test]
fn a_line_keeps_its_stream_labels_and_gets_fields_from_its_text() {
    let fixture = Fixture::load("query_range_streams_forward_limit5.json");
    let Ok(LogQueryResponse::Streams { lines }) =
        query_answer(fixture.body().as_bytes(), Direction::Forward, 5)
    else {
        panic!("streams expected");
    };
    let failure = &lines[0];
    assert_eq!(
        failure.labels.get("service").map(String::as_str),
        Some("login-api")
    );
    assert_eq!(failure.labels.get("level").map(String::as_str), Some("error"));
    for (key, value) in [
        ("table", "users"),
        ("key", "latest"),
        ("error", "ResourceNotFoundException"),
        ("status", "404"),
    ] {
        assert_eq!(failure.fields.get(key).map(String::as_str), Some(value), "{key}");
    }
}

#[test]
fn special_sample_values_and_fractional_seconds_are_read() {
    let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{},"values":[[1795554600.5,"NaN"],[1795554601,"+Inf"],[1795554602,"-Inf"]]}]}}"#;
    let Ok(LogQueryResponse::Matrix { series }) = query_answer(body, Direction::Backward, 100) else {
        panic!("matrix expected");
    };
    let points = &series[0].points;
    assert_eq!(points[0].0, 1_795_554_600_500);
    assert!(points[0].1.is_nan());
    assert_eq!(points[1].1, f64::INFINITY);
    assert_eq!(points[2].1, f64::NEG_INFINITY);
}

#[test]
fn a_scalar_answer_is_one_series_without_labels() {
    let body = br#"{"status":"success","data":{"resultType":"scalar","result":[1795554600,"2"]}}"#;
    assert_eq!(
        query_answer(body, Direction::Backward, 100).unwrap(),
        LogQueryResponse::Vector {
            series: vec![Series {
                labels: Labels::new(),
                points: vec![Point(1_795_554_600_000, 2.0)]
            }]
        }
    );
}

#[test]
fn entries_with_structured_metadata_keep_their_line() {
    let body = br#"{"status":"success","data":{"resultType":"streams","result":[
        {"stream":{"service":"a"},"values":[["5","level=info",{"trace_id":"x"}]]}]}}"#;
    let Ok(LogQueryResponse::Streams { lines }) = query_answer(body, Direction::Backward, 100) else {
        panic!("streams expected");
    };
    assert_eq!((lines[0].time, lines[0].line.as_str()), (5, "level=info"));
}

#[test]
fn unreadable_answers_are_unavailable_not_empty() {
    for body in [
        &b"<html>login</html>"[..],
        br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["soon","x"]]}]}}"#,
        br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"many"]]}]}}"#,
        br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#,
    ] {
        match query_answer(body, Direction::Backward, 100) {
            Err(SourceError::Unavailable { source_name: "Loki", reason }) => {
                assert!(reason.contains("is VITALS_LOKI_URL the Loki base URL?"), "{reason}");
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
}

#[test]
fn dropped_tail_entries_are_counted() {
    let frame = tail_frame(
        r#"{"streams":[{"stream":{"service":"a"},"values":[["2","b"],["1","a"]]}],
            "dropped_entries":[{"labels":{"service":"a"},"timestamp":"0"}]}"#,
    )
    .unwrap();
    assert_eq!(
        frame.lines.iter().map(|line| line.time).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(frame.dropped_entries, 1);
    assert_eq!(
        tail_frame(r#"{"streams":[],"dropped_entries":null}"#)
            .unwrap()
            .dropped_entries,
        0
    );
}

#[test]
fn error_reasons_prefer_a_json_message_then_the_text() {
    let reason = |body: &str| match error_for_status("/x", StatusCode::BAD_REQUEST, None, body) {
        SourceError::BadQuery { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason(r#"{"code":400,"message":"parse error at line 1","status":"error"}"#),
        "parse error at line 1"
    );
    assert_eq!(
        reason(r#"{"status":"error","errorType":"bad_data","error":"bad step"}"#),
        "bad step"
    );
    assert_eq!(reason("  plain words\n\n"), "plain words");
    assert_eq!(reason(""), "Loki refused the query without saying why");
    assert_eq!(reason(&"x".repeat(5000)).chars().count(), MAX_REASON_CHARS + 1);
}

#[test]
fn other_statuses_name_the_problem_and_what_to_do() {
    let reason = |status: u16, location: Option<&str>, body: &str| match error_for_status(
        "/loki/api/v1/labels",
        StatusCode::from_u16(status).unwrap(),
        location,
        body,
    ) {
        SourceError::Unavailable {
            source_name: "Loki",
            reason,
        } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason(
            302,
            Some("https://user:secret@sso.example.com/login?state=token#frag"),
            ""
        ),
        "Loki answered with a redirect to https://sso.example.com/login; Vitals does not follow redirects: \
         set VITALS_LOKI_URL to the final address"
    );
    assert!(reason(307, Some("/loki/?x=1"), "").contains("redirect to /loki/;"));
    assert!(reason(301, None, "").contains("redirect to an address it did not give"));
    assert!(reason(403, None, "forbidden").contains("403 Forbidden: forbidden"));
    assert!(reason(429, None, "too many outstanding requests").contains("try again shortly"));
    assert_eq!(
        reason(502, None, "<html>bad gateway</html>"),
        "Loki answered 502 Bad Gateway: <html>bad gateway</html>"
    );
    assert_eq!(reason(405, None, ""), "Loki answered 405 Method Not Allowed");
}
