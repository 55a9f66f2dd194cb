//! Table-driven tests of the translation, from answers Prometheus 2.42 gives.

use super::*;
use vitals_api::Point;

/// What Prometheus 2.42 answers to `sum(up` (TEST-DOUBLES.md).
const BAD_DATA: &str = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels(pairs),
        points: points.iter().map(|&(ms, value)| Point(ms, value)).collect(),
    }
}

#[test]
fn each_result_type_becomes_series() {
    let cases: [(&str, &str, f64, MetricQueryResponse); 4] = [
        (
            "matrix, with fractional seconds",
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{"__name__":"up","job":"api"},"values":[[1795507200,"1"],[1795507260.5,"0"]]},
                {"metric":{"job":"db"},"values":[[1795507200,"2.5e-3"]]}]}}"#,
            60.0,
            MetricQueryResponse {
                result_type: ResultType::Matrix,
                series: vec![
                    series(
                        &[("__name__", "up"), ("job", "api")],
                        &[(1_795_507_200_000, 1.0), (1_795_507_260_500, 0.0)],
                    ),
                    series(&[("job", "db")], &[(1_795_507_200_000, 0.0025)]),
                ],
                step_seconds: 60.0,
                warnings: vec![],
            },
        ),
        (
            "vector",
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"clinic":"north"},"value":[1795507200.123,"42"]},
                {"metric":{"clinic":"south"},"value":[1795507200.123,"7"]}]}}"#,
            0.0,
            MetricQueryResponse {
                result_type: ResultType::Vector,
                series: vec![
                    series(&[("clinic", "north")], &[(1_795_507_200_123, 42.0)]),
                    series(&[("clinic", "south")], &[(1_795_507_200_123, 7.0)]),
                ],
                step_seconds: 0.0,
                warnings: vec![],
            },
        ),
        (
            "scalar",
            r#"{"status":"success","data":{"resultType":"scalar","result":[1795597116.982,"1"]}}"#,
            0.0,
            MetricQueryResponse {
                result_type: ResultType::Scalar,
                series: vec![series(&[], &[(1_795_597_116_982, 1.0)])],
                step_seconds: 0.0,
                warnings: vec![],
            },
        ),
        (
            "empty matrix",
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            300.0,
            MetricQueryResponse {
                result_type: ResultType::Matrix,
                series: vec![],
                step_seconds: 300.0,
                warnings: vec![],
            },
        ),
    ];
    for (name, body, step_seconds, expected) in cases {
        let answer = query_answer(Upstream::Prometheus, body.as_bytes(), step_seconds);
        assert_eq!(answer, Ok(expected), "{name}");
    }
}

#[test]
fn special_values_are_parsed() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"v":"nan"},"value":[1795507260,"NaN"]},
        {"metric":{"v":"inf"},"value":[1795507260,"+Inf"]},
        {"metric":{"v":"-inf"},"value":[1795507260,"-Inf"]},
        {"metric":{"v":"big"},"value":[1795507260,"1.7976931348623157e+308"]}]}}"#;
    let answer = query_answer(Upstream::Prometheus, body.as_bytes(), 0.0).unwrap();
    let values: Vec<f64> = answer.series.iter().map(|series| series.points[0].1).collect();
    assert!(values[0].is_nan());
    assert_eq!(values[1..], [f64::INFINITY, f64::NEG_INFINITY, f64::MAX]);
}

#[test]
fn a_value_that_is_not_a_number_is_refused() {
    for value in ["abc", "", "inf", "1e999"] {
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"scalar","result":[1795507260,"{value}"]}}}}"#
        );
        let error = query_answer(Upstream::Prometheus, body.as_bytes(), 0.0).unwrap_err();
        assert!(
            matches!(&error, SourceError::Unavailable { reason, .. } if reason.contains("not a number")),
            "{value:?}: {error:?}"
        );
    }
}

#[test]
fn a_string_result_is_a_query_to_fix() {
    let body = r#"{"status":"success","data":{"resultType":"string","result":[1795507260.5,"hello"]}}"#;
    let error = query_answer(Upstream::Prometheus, body.as_bytes(), 0.0).unwrap_err();
    assert!(
        matches!(&error, SourceError::BadQuery { source_name: "Prometheus", reason } if reason.contains("string")),
        "{error:?}"
    );
}

#[test]
fn warnings_and_infos_are_passed_through() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[]},
        "warnings":["PromQL warning: encountered a mix of histograms and floats"],
        "infos":["PromQL info: metric might not be a counter, name does not end in _total"]}"#;
    let answer = query_answer(Upstream::Amp, body.as_bytes(), 0.0).unwrap();
    assert_eq!(
        answer.warnings,
        [
            "PromQL warning: encountered a mix of histograms and floats",
            "PromQL info: metric might not be a counter, name does not end in _total"
        ]
    );
}

#[test]
fn native_histograms_are_left_out_with_a_warning() {
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"latency"},"histograms":[[1795507200,{"count":"3","sum":"1.5","buckets":[]}]]},
        {"metric":{"__name__":"up"},"values":[[1795507200,"1"]]}]}}"#;
    let answer = query_answer(Upstream::Prometheus, body.as_bytes(), 60.0).unwrap();
    assert_eq!(
        answer.series,
        [series(&[("__name__", "up")], &[(1_795_507_200_000, 1.0)])]
    );
    assert_eq!(answer.warnings.len(), 1);
    assert!(
        answer.warnings[0].contains("native histogram"),
        "{:?}",
        answer.warnings
    );
}

#[test]
fn lists_series_and_metadata_are_read() {
    let names = name_list(
        Upstream::Prometheus,
        br#"{"status":"success","data":["login_attempts_total","sqs_queue_depth"]}"#,
    );
    assert_eq!(
        names,
        Ok(vec![
            "login_attempts_total".to_owned(),
            "sqs_queue_depth".to_owned()
        ])
    );

    let found = series_list(
        Upstream::Prometheus,
        br#"{"status":"success","data":[{"__name__":"foo_total","a":"1"}]}"#,
    );
    assert_eq!(found, Ok(vec![labels(&[("__name__", "foo_total"), ("a", "1")])]));

    let described = metadata(
        Upstream::Prometheus,
        br#"{"status":"success","data":{"sqs_queue_depth":[{"type":"gauge","help":"Messages waiting.","unit":""}]}}"#,
    )
    .unwrap();
    assert_eq!(
        described["sqs_queue_depth"],
        [MetricMetadata {
            metric_type: "gauge".into(),
            help: "Messages waiting.".into(),
            unit: String::new()
        }]
    );
    assert_eq!(
        metadata(Upstream::Prometheus, br#"{"status":"success","data":{}}"#),
        Ok(BTreeMap::new())
    );
}

#[test]
fn an_answer_that_is_not_prometheus_json_is_unavailable() {
    let cases: [&[u8]; 3] = [
        b"<!doctype html><title>Grafana</title>",
        br#"{"status":"success"}"#,
        br#"{"status":"error","errorType":"internal","error":"something broke"}"#,
    ];
    for body in cases {
        let error = query_answer(Upstream::Prometheus, body, 0.0).unwrap_err();
        assert!(
            matches!(
                error,
                SourceError::Unavailable {
                    source_name: "Prometheus",
                    ..
                }
            ),
            "{}: {error:?}",
            String::from_utf8_lossy(body)
        );
    }
}

/// What an error answer becomes: the variant, and words the message must (and must not) hold.
struct ErrorCase {
    name: &'static str,
    upstream: Upstream,
    status: u16,
    location: Option<&'static str>,
    body: &'static str,
    bad_query: bool,
    says: &'static [&'static str],
    never_says: &'static [&'static str],
}

#[test]
fn each_error_answer_says_what_to_do() {
    let cases = [
        ErrorCase {
            name: "a parse error is the user's to fix, with Prometheus' reason",
            upstream: Upstream::Prometheus,
            status: 400,
            location: None,
            body: BAD_DATA,
            bad_query: true,
            says: &["invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"],
            never_says: &[],
        },
        ErrorCase {
            name: "an execution error is the user's to fix",
            upstream: Upstream::Prometheus,
            status: 422,
            location: None,
            body: r#"{"status":"error","errorType":"execution","error":"found duplicate series for the match group {} on the right hand-side of the operation"}"#,
            bad_query: true,
            says: &["found duplicate series"],
            never_says: &[],
        },
        ErrorCase {
            name: "a query timeout inside Prometheus is a failure with its reason",
            upstream: Upstream::Prometheus,
            status: 503,
            location: None,
            body: r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
            bad_query: false,
            says: &["HTTP 503", "query timed out in expression evaluation"],
            never_says: &[],
        },
        ErrorCase {
            name: "a proxy's plain-text failure",
            upstream: Upstream::Prometheus,
            status: 502,
            location: None,
            body: "\n  upstream connect error or disconnect/reset before headers\nmore detail",
            bad_query: false,
            says: &["HTTP 502", "upstream connect error"],
            never_says: &["more detail"],
        },
        ErrorCase {
            name: "a redirect is not followed and points at the setting",
            upstream: Upstream::Prometheus,
            status: 302,
            location: Some("https://sso.example.com/login?return=%2Fapi&X-Amz-Signature=abc"),
            body: "",
            bad_query: false,
            says: &[
                "redirect",
                "HTTP 302",
                "https://sso.example.com/login",
                "VITALS_PROMETHEUS_URL",
            ],
            never_says: &["X-Amz-Signature", "return="],
        },
        ErrorCase {
            name: "AMP's refusal names the IAM permission, never the canonical request",
            upstream: Upstream::Amp,
            status: 403,
            location: None,
            body: r#"{"message":"The request signature we calculated does not match the signature you provided.\n\nThe Canonical String for this request should have been\n'GET\n/workspaces/ws-1/api/v1/query\n\nx-amz-security-token:SECRETTOKEN\n'"}"#,
            bad_query: false,
            says: &[
                "HTTP 403",
                "aps:QueryMetrics",
                "VITALS_AMP_REGION",
                "signature we calculated does not match",
            ],
            never_says: &["SECRETTOKEN", "Canonical"],
        },
        ErrorCase {
            name: "AMP's missing permission",
            upstream: Upstream::Amp,
            status: 403,
            location: None,
            body: r#"{"Message":"User: arn:aws:sts::123456789012:assumed-role/vitals/task is not authorized to perform: aps:QueryMetrics"}"#,
            bad_query: false,
            says: &["not authorized to perform", "aps:QueryMetrics"],
            never_says: &[],
        },
        ErrorCase {
            name: "an unsigned request to something that wants credentials",
            upstream: Upstream::Prometheus,
            status: 403,
            location: None,
            body: r#"{"message":"Missing Authentication Token"}"#,
            bad_query: false,
            says: &["HTTP 403", "Missing Authentication Token", "VITALS_AMP_REGION"],
            never_says: &[],
        },
        ErrorCase {
            name: "a wrong base address",
            upstream: Upstream::Prometheus,
            status: 404,
            location: None,
            body: "404 page not found",
            bad_query: false,
            says: &["HTTP 404", "VITALS_PROMETHEUS_URL"],
            never_says: &[],
        },
        ErrorCase {
            name: "throttling",
            upstream: Upstream::Amp,
            status: 429,
            location: None,
            body: r#"{"message":"Rate exceeded"}"#,
            bad_query: false,
            says: &["HTTP 429", "Rate exceeded", "try again"],
            never_says: &[],
        },
    ];
    for case in cases {
        let status = StatusCode::from_u16(case.status).unwrap();
        let error = error_for_status(
            case.upstream,
            "/api/v1/query",
            status,
            case.location,
            case.body.as_bytes(),
        );
        let (bad_query, source_name, message) = match &error {
            SourceError::BadQuery { source_name, reason } => (true, *source_name, reason.clone()),
            SourceError::Unavailable { source_name, reason } => (false, *source_name, reason.clone()),
            other => panic!("{}: unexpected {other:?}", case.name),
        };
        assert_eq!(bad_query, case.bad_query, "{}: {error:?}", case.name);
        assert_eq!(source_name, case.upstream.source_name(), "{}", case.name);
        for words in case.says {
            assert!(
                message.contains(words),
                "{}: {message:?} should say {words:?}",
                case.name
            );
        }
        for words in case.never_says {
            assert!(
                !message.contains(words),
                "{}: {message:?} must not say {words:?}",
                case.name
            );
        }
    }
}

#[test]
fn the_bad_data_reason_is_passed_on_word_for_word() {
    let error = error_for_status(
        Upstream::Prometheus,
        "/api/v1/query",
        StatusCode::BAD_REQUEST,
        None,
        BAD_DATA.as_bytes(),
    );
    assert_eq!(
        error,
        SourceError::BadQuery {
            source_name: "Prometheus",
            reason: r#"invalid parameter "query": 1:5: parse error: unclosed left parenthesis"#.into(),
        }
    );
}

#[test]
fn long_reasons_are_shortened() {
    let body = format!(
        r#"{{"status":"error","errorType":"bad_data","error":"{}"}}"#,
        "x".repeat(5000)
    );
    let error = error_for_status(
        Upstream::Prometheus,
        "/api/v1/query",
        StatusCode::BAD_REQUEST,
        None,
        body.as_bytes(),
    );
    let SourceError::BadQuery { reason, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(reason.chars().count(), MAX_REASON_CHARS + 1);
    assert!(reason.ends_with('…'));
}
