//! The Loki source against a replayed Loki 2.6.1 (wiremock serving captured answers) and a local tail WebSocket.

#[allow(dead_code, reason = "shared with the unit tests, which use other parts")]
#[path = "../src/sources/loki/test_fixtures.rs"]
mod test_fixtures;

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request as UpgradeRequest, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use url::Url;
use vitals_api::{Direction, LogQueryResponse};
use vitals_server::sources::loki::{LokiConfig, LokiSource};
use vitals_server::sources::{LogQuery, LogSource, SourceError, TimeRange};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use test_fixtures::{Fixture, all_captures, tail_frames};

const TIMEOUT: Duration = Duration::from_secs(5);
/// The range most captures asked for: 2026-11-24T21:00Z to 23:00Z, in milliseconds.
const RANGE: TimeRange = TimeRange {
    start_ms: 1_795_554_000_000,
    end_ms: 1_795_561_200_000,
};
/// The range of the set-b captures: 21:30Z to 23:30Z.
const RANGE_B: TimeRange = TimeRange {
    start_ms: 1_795_555_800_000,
    end_ms: 1_795_563_000_000,
};

fn loki_at(base_url: &str, tenant: Option<&str>, timeout: Duration) -> LokiSource {
    let config = LokiConfig {
        url: Url::parse(base_url).expect("a test URL"),
        tenant: tenant.map(str::to_owned),
    };
    LokiSource::new(config, timeout).expect("a usable Loki config")
}

/// Answers as the captured Loki did: its status, its content type (JSON even for text errors) and its body.
fn replay(fixture: &Fixture) -> ResponseTemplate {
    let response = ResponseTemplate::new(fixture.status);
    match &fixture.content_type {
        Some(content_type) => response.set_body_raw(fixture.body(), content_type),
        None => response.set_body_bytes(fixture.body()),
    }
}

/// A replayed Loki that answers `fixture` on its path (and only with its tenant, when it had one).
async fn replaying(fixture: &Fixture) -> MockServer {
    let server = MockServer::start().await;
    let mut mock = Mock::given(method("GET")).and(path(fixture.path.as_str()));
    for (name, value) in &fixture.request_headers {
        mock = mock.and(header(name.as_str(), value.as_str()));
    }
    mock.respond_with(replay(fixture)).mount(&server).await;
    server
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("request recording is on");
    assert_eq!(requests.len(), 1, "one request to Loki");
    requests.remove(0)
}

/// The query parameters of a request, sorted, to compare with what Loki must be sent.
fn params(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    pairs.sort();
    pairs
}

fn expected_params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    pairs.sort();
    pairs
}

/// Nothing of a browser's request reaches Loki, and the tenant only when configured.
fn assert_headers(request: &Request, tenant: Option<&str>) {
    for forbidden in ["cookie", "authorization"] {
        assert!(
            !request.headers.contains_key(forbidden),
            "{forbidden} sent to Loki"
        );
    }
    let sent = request
        .headers
        .get("x-scope-orgid")
        .map(|value| value.to_str().expect("ASCII"));
    assert_eq!(sent, tenant, "X-Scope-OrgID");
}

fn log_query(query: &str, range: TimeRange, limit: u32, direction: Direction, step_ms: i64) -> LogQuery {
    LogQuery {
        query: query.to_owned(),
        range,
        limit,
        direction,
        step_ms,
    }
}

/// The log query that should reproduce a captured `query_range` request, when
/// Vitals can send it (times in nanoseconds and steps in seconds, as it writes them).
fn query_reproducing(fixture: &Fixture) -> Option<LogQuery> {
    let milliseconds = |key| fixture.param(key)?.parse::<i64>().ok().map(|ns| ns / 1_000_000);
    let step_ms = match fixture.param("step") {
        Some(step) => (step.parse::<f64>().ok()? * 1000.0).round() as i64,
        None => 0,
    };
    let direction = match fixture.param("direction") {
        Some("forward") => Direction::Forward,
        _ => Direction::Backward,
    };
    let limit = fixture
        .param("limit")
        .map_or(Some(100), |limit| limit.parse().ok())?;
    let range = TimeRange::new(milliseconds("start")?, milliseconds("end")?);
    Some(log_query(
        fixture.param("query")?,
        range,
        limit,
        direction,
        step_ms,
    ))
}

/// Every captured `query_range` exchange Vitals can reproduce: the request must be
/// the captured one (plus the limit and direction Vitals always sends), and the
/// answer, success or Loki's plain-text error, must be read.
#[tokio::test]
async fn captured_loki_query_ranges_are_reproduced_and_read() {
    let mut replayed = 0;
    for fixture in all_captures() {
        if fixture.path != "/loki/api/v1/query_range" || fixture.method != "GET" {
            continue;
        }
        let Some(query) = query_reproducing(&fixture) else {
            continue;
        };
        let name = &fixture.name;
        replayed += 1;
        let tenant = fixture.header("X-Scope-OrgID");
        let server = replaying(&fixture).await;
        let loki = loki_at(&server.uri(), tenant, TIMEOUT);

        let answer = loki.query(&query).await;

        let request = only_request(&server).await;
        assert_eq!(request.url.path(), "/loki/api/v1/query_range", "{name}");
        let mut expected = fixture.query.clone();
        for (key, default) in [("limit", "100"), ("direction", "backward")] {
            if fixture.param(key).is_none() {
                expected.push((key.to_owned(), default.to_owned()));
            }
        }
        expected.sort();
        assert_eq!(params(&request), expected, "{name}");
        assert_headers(&request, tenant);
        match (fixture.status, answer) {
            (200, Ok(LogQueryResponse::Streams { lines })) => {
                assert!(lines.len() <= query.limit as usize, "{name}");
                let ordered = match query.direction {
                    Direction::Forward => lines.windows(2).all(|pair| pair[0].time <= pair[1].time),
                    Direction::Backward => lines.windows(2).all(|pair| pair[0].time >= pair[1].time),
                };
                assert!(ordered, "{name}: lines out of order");
                if let Some(clinic) = tenant.and_then(|tenant| tenant.strip_prefix("clinic-")) {
                    assert!(
                        lines
                            .iter()
                            .all(|line| line.fields.get("clinic").map(String::as_str) == Some(clinic)),
                        "{name}"
                    );
                }
            }
            (200, Ok(LogQueryResponse::Matrix { series })) => {
                if tenant.is_some_and(|tenant| tenant.contains('|')) {
                    let tenants: Vec<&str> = series
                        .iter()
                        .filter_map(|series| series.labels.get("__tenant_id__"))
                        .map(String::as_str)
                        .collect();
                    assert_eq!(tenants, ["clinic-north", "clinic-south"], "{name}");
                }
            }
            (
                400,
                Err(SourceError::BadQuery {
                    source_name: "Loki",
                    reason,
                }),
            ) => {
                assert_eq!(reason, fixture.body().trim(), "{name}");
            }
            (status, answer) => panic!("{name}: {status} read as {answer:?}"),
        }
    }
    assert!(replayed >= 25, "only {replayed} captures replayed");
}

#[tokio::test]
async fn instant_query_sends_loki_the_time_in_nanoseconds() {
    let fixture = Fixture::load("query_instant_vector_by_level.json");
    let server = replaying(&fixture).await;
    let loki = loki_at(&server.uri(), None, TIMEOUT);

    let answer = loki
        .query_instant(
            r#"sum by (level) (count_over_time({env="prod"}[2h]))"#,
            1_795_561_200_000,
            100,
            Direction::Backward,
        )
        .await
        .expect("an answer");

    let LogQueryResponse::Vector { series } = answer else {
        panic!("a vector expected: {answer:?}")
    };
    assert_eq!(series.len(), 2);
    let request = only_request(&server).await;
    assert_eq!(
        params(&request),
        expected_params(&[
            ("query", r#"sum by (level) (count_over_time({env="prod"}[2h]))"#),
            ("time", "1795561200000000000"),
            ("limit", "100"),
            ("direction", "backward"),
        ])
    );
}

#[tokio::test]
async fn loki_labels_and_values_are_read_and_an_answer_without_data_is_empty() {
    let range_params = [("start", "1795555800000000000"), ("end", "1795563000000000000")];
    for (fixture, name, expected) in [
        ("set-b/labels.json", None, &["env", "level", "service"][..]),
        (
            "set-b/label_service_values.json",
            Some("service"),
            &["appointments", "login-api", "patient-registration"],
        ),
        ("set-b/label_unknown_values.json", Some("no_such_label"), &[]),
    ] {
        let fixture = Fixture::load(fixture);
        let server = replaying(&fixture).await;
        let loki = loki_at(&server.uri(), None, TIMEOUT);

        let names = match name {
            None => loki.labels(RANGE_B).await,
            Some(name) => loki.label_values(name, RANGE_B).await,
        };

        assert_eq!(names.expect("names"), expected, "{}", fixture.name);
        let request = only_request(&server).await;
        assert_eq!(
            params(&request),
            expected_params(&range_params),
            "{}",
            fixture.name
        );
        assert_headers(&request, None);
    }
}

#[tokio::test]
async fn a_label_name_reaches_loki_as_one_encoded_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"status":"success"}"#, "application/json"))
        .mount(&server)
        .await;
    let loki = loki_at(&server.uri(), None, TIMEOUT);

    let values = loki.label_values("odd/name ?", RANGE).await.expect("values");

    assert!(values.is_empty());
    assert_eq!(
        only_request(&server).await.url.path(),
        "/loki/api/v1/label/odd%2Fname%20%3F/values"
    );
}

#[tokio::test]
async fn series_sends_loki_every_matcher() {
    let fixture = Fixture::load("set-b/series_single_match.json");
    let server = replaying(&fixture).await;
    let loki = loki_at(&server.uri(), None, TIMEOUT);

    let series = loki
        .series(&[r#"{service="login-api"}"#, r#"{env="staging"}"#], RANGE_B)
        .await
        .expect("series");

    assert_eq!(series.len(), 4);
    assert_eq!(
        params(&only_request(&server).await),
        expected_params(&[
            ("match[]", r#"{service="login-api"}"#),
            ("match[]", r#"{env="staging"}"#),
            ("start", "1795555800000000000"),
            ("end", "1795563000000000000"),
        ])
    );
}

#[tokio::test]
async fn lokis_build_info_and_index_stats_are_read() {
    let fixture = Fixture::load("set-b/buildinfo.json");
    let server = replaying(&fixture).await;
    let info = loki_at(&server.uri(), None, TIMEOUT)
        .build_info()
        .await
        .expect("build info");
    assert_eq!(
        (info.version.as_str(), info.revision.as_str()),
        ("2.6.1", "6bd05c9a4")
    );

    let fixture = Fixture::load("set-b/index_stats.json");
    let server = replaying(&fixture).await;
    let stats = loki_at(&server.uri(), None, TIMEOUT)
        .index_stats(r#"{env="prod"}"#, RANGE_B)
        .await
        .expect("stats");
    assert_eq!(stats.entries, 0);
    assert_eq!(
        params(&only_request(&server).await),
        expected_params(&[
            ("query", r#"{env="prod"}"#),
            ("start", "1795555800000000000"),
            ("end", "1795563000000000000"),
        ])
    );
}

#[tokio::test]
async fn a_loki_base_url_with_a_path_keeps_it() {
    let server = MockServer::start().await;
    Mock::given(path("/gateway/ready"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let loki = loki_at(&format!("{}/gateway/", server.uri()), None, TIMEOUT);

    loki.probe().await.expect("ready through the gateway path");
}

/// Whether an error is the one a captured answer must give.
type ErrorCheck = fn(&SourceError) -> bool;

#[tokio::test]
async fn an_answer_above_the_size_cap_is_refused_naming_loki() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; 64 * 1024 * 1024 + 1]))
        .mount(&server)
        .await;
    let loki = loki_at(&server.uri(), None, TIMEOUT);
    let error = loki
        .query(&log_query("{app=\"a\"}", RANGE, 100, Direction::Backward, 0))
        .await
        .expect_err("an oversize answer");
    assert!(
        matches!(&error, SourceError::BadQuery { reason, .. }
            if reason.starts_with("Loki's answer is larger than 64 MiB; narrow the query")),
        "{error:?}"
    );
}

#[tokio::test]
async fn loki_errors_become_source_errors_with_lokis_words() {
    let cases: [(&str, Option<&str>, ErrorCheck); 6] = [
        ("error_parse_unclosed_selector.json", None, |error| {
            matches!(error, SourceError::BadQuery { reason, .. }
                if reason == "parse error at line 1, col 21: syntax error: unexpected $end, expecting } or ,")
        }),
        ("set-b/error_metric_unwrap_non_numeric.json", None, |error| {
            matches!(error, SourceError::BadQuery { reason, .. }
                if reason.starts_with("pipeline error: 'SampleExtractionErr'") && !reason.ends_with('\n'))
        }),
        (
            "error_range_too_long.json",
            None,
            |error| matches!(error, SourceError::BadQuery { reason, .. } if reason.contains("exceeds the limit")),
        ),
        (
            "set-b/error_too_many_points.json",
            None,
            |error| matches!(error, SourceError::BadQuery { reason, .. } if reason.contains("11,000 points")),
        ),
        ("set-b/mt_error_labels_no_org_id.json", None, |error| {
            matches!(error, SourceError::Unavailable { reason, .. }
                if reason.contains("no org id") && reason.contains("VITALS_LOKI_TENANT"))
        }),
        (
            "set-b/mt_error_labels_no_org_id.json",
            Some("clinic-secret"),
            |error| {
                matches!(error, SourceError::Unavailable { reason, .. }
                if reason.contains("401") && !reason.contains("clinic-secret"))
            },
        ),
    ];
    for (fixture, tenant, expected) in cases {
        let fixture = Fixture::load(fixture);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(replay(&fixture))
            .mount(&server)
            .await;
        let loki = loki_at(&server.uri(), tenant, TIMEOUT);

        let error = if fixture.path.ends_with("/labels") {
            loki.labels(RANGE_B).await.expect_err("an error")
        } else {
            let query = fixture.param("query").unwrap_or_default();
            loki.query(&log_query(query, RANGE, 100, Direction::Backward, 0))
                .await
                .expect_err("an error")
        };

        assert!(expected(&error), "{}: {error:?}", fixture.name);
        assert!(
            error.to_string().starts_with("Loki "),
            "{}: {error}",
            fixture.name
        );
        if let Some(tenant) = tenant {
            assert!(
                !format!("{error:?}").contains(tenant),
                "the tenant leaked: {error:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_endpoint_asks_whether_the_url_is_lokis() {
    let fixture = Fixture::load("set-b/error_unknown_endpoint_404.json");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(replay(&fixture))
        .mount(&server)
        .await;

    let error = loki_at(&server.uri(), None, TIMEOUT)
        .labels(RANGE)
        .await
        .expect_err("a 404");

    let SourceError::Unavailable {
        source_name: "Loki",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("Loki has no endpoint /loki/api/v1/labels"),
        "{reason}"
    );
    assert!(
        reason.contains("is VITALS_LOKI_URL the Loki base URL?"),
        "{reason}"
    );
}

#[tokio::test]
async fn probe_is_up_when_ready_and_unavailable_while_loki_starts() {
    let ready = Fixture::load("set-b/ready.json");
    let server = replaying(&ready).await;
    loki_at(&server.uri(), None, TIMEOUT)
        .probe()
        .await
        .expect("ready");

    let starting = Fixture::load("set-b/ready_ingester_waiting_503.json");
    let server = replaying(&starting).await;
    let error = loki_at(&server.uri(), None, TIMEOUT)
        .probe()
        .await
        .expect_err("not ready");
    let SourceError::Unavailable {
        source_name: "Loki",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("503") && reason.contains("Ingester not ready: waiting for 15s"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_hung_loki_times_out_within_the_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let loki = loki_at(&server.uri(), None, Duration::from_millis(300));

    let started = Instant::now();
    let error = loki.labels(RANGE).await.expect_err("a timeout");

    assert_eq!(
        error,
        SourceError::Timeout {
            source_name: "Loki",
            timeout_ms: 300
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dead_loki_is_unavailable_naming_loki() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("its address");
    drop(listener);
    let loki = loki_at(&format!("http://{address}"), Some("clinic-north"), TIMEOUT);

    let error = loki.probe().await.expect_err("nothing listens");

    let SourceError::Unavailable {
        source_name: "Loki",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(reason.starts_with("could not connect: "), "{reason}");
    assert!(
        !reason.contains(&address.to_string()) && !reason.contains("clinic-north"),
        "{reason}"
    );
    assert!(
        error
            .to_string()
            .starts_with("Loki is unavailable: could not connect"),
        "{error}"
    );
}

#[tokio::test]
async fn a_redirect_from_loki_is_reported_not_followed() {
    let server = MockServer::start().await;
    let target = format!("{}/elsewhere/loki/api/v1/labels", server.uri());
    Mock::given(path("/loki/api/v1/labels"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{target}?session=secret")),
        )
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere/loki/api/v1/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"status":"success"}"#, "application/json"))
        .expect(0)
        .mount(&server)
        .await;

    let error = loki_at(&server.uri(), None, TIMEOUT)
        .labels(RANGE)
        .await
        .expect_err("a redirect");

    let SourceError::Unavailable {
        source_name: "Loki",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        reason,
        &format!(
            "Loki answered with a redirect to {target}; Vitals does not follow redirects: \
             set VITALS_LOKI_URL to the final address"
        )
    );
    server.verify().await;
}

/// A one-connection tail server: records the upgrade request, then sends `frames` and `close`.
async fn tail_server(
    frames: Vec<String>,
    close: CloseFrame,
) -> (String, tokio::task::JoinHandle<UpgradeRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base_url = format!("http://{}", listener.local_addr().expect("its address"));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("the tail connects");
        let mut upgrade = None;
        #[allow(
            clippy::result_large_err,
            reason = "the signature tungstenite's callback takes"
        )]
        let record = |request: &UpgradeRequest, response: Response| -> Result<Response, ErrorResponse> {
            upgrade = Some(request.clone());
            Ok(response)
        };
        let mut socket = tokio_tungstenite::accept_hdr_async(stream, record)
            .await
            .expect("a WebSocket");
        for frame in frames {
            socket.send(Message::text(frame)).await.expect("frame sent");
        }
        socket
            .send(Message::Close(Some(close)))
            .await
            .expect("close sent");
        // Wait for the client's answer to the close, bounded by the socket ending.
        while let Some(Ok(_)) = socket.next().await {}
        upgrade.expect("the upgrade request")
    });
    (base_url, server)
}

#[tokio::test]
async fn loki_tail_streams_the_translated_lines_of_each_frame() {
    for (fixture, expected_lines) in [
        ("set-b/tail_websocket.json", [2, 2]),
        ("tail_websocket_frames.json", [1, 1]),
    ] {
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let (base_url, server) = tail_server(tail_frames(fixture), normal).await;
        let loki = loki_at(&base_url, Some("clinic-north"), TIMEOUT);

        let tail = loki
            .tail(
                r#"{service="login-api", level="warn"}"#,
                1_795_555_800_000_000_000,
                2,
            )
            .await
            .expect("a tail");
        let batches: Vec<_> = tokio::time::timeout(TIMEOUT, tail.collect::<Vec<_>>())
            .await
            .expect("the tail ends");

        let batches: Vec<_> = batches.into_iter().map(|batch| batch.expect("lines")).collect();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            expected_lines,
            "{fixture}"
        );
        for line in batches.iter().flatten() {
            assert_eq!(
                line.labels.get("service").map(String::as_str),
                Some("login-api"),
                "{fixture}"
            );
            assert!(line.fields.contains_key("msg"), "{fixture}: {line:?}");
        }
        let upgrade = server.await.expect("the tail server");
        let url = Url::parse(&format!("http://loki{}", upgrade.uri())).expect("a request URI");
        assert_eq!(url.path(), "/loki/api/v1/tail");
        let mut sent: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        sent.sort();
        assert_eq!(
            sent,
            expected_params(&[
                ("query", r#"{service="login-api", level="warn"}"#),
                ("start", "1795555800000000000"),
                ("limit", "2"),
            ])
        );
        assert_eq!(
            upgrade
                .headers()
                .get("x-scope-orgid")
                .map(|value| value.as_bytes()),
            Some(&b"clinic-north"[..])
        );
        assert!(
            !upgrade.headers().contains_key("cookie") && !upgrade.headers().contains_key("authorization")
        );
    }
}

#[tokio::test]
async fn tail_closed_by_loki_with_an_error_ends_with_that_error() {
    let frames = tail_frames("set-b/tail_websocket.json")[..1].to_vec();
    let failure = CloseFrame {
        code: CloseCode::Error,
        reason: "max concurrent tail requests reached".into(),
    };
    let (base_url, server) = tail_server(frames, failure).await;
    let loki = loki_at(&base_url, None, TIMEOUT);

    let tail = loki
        .tail(r#"{service="login-api"}"#, 0, 10)
        .await
        .expect("a tail");
    let items: Vec<_> = tokio::time::timeout(TIMEOUT, tail.collect::<Vec<_>>())
        .await
        .expect("the tail ends");

    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().map(Vec::len), Ok(2));
    let Err(SourceError::Unavailable {
        source_name: "Loki",
        reason,
    }) = &items[1]
    else {
        panic!("{items:?}")
    };
    assert_eq!(
        reason,
        "Loki closed the tail (1011): max concurrent tail requests reached"
    );
    server.await.expect("the tail server");
}

#[tokio::test]
async fn tail_refused_by_loki_is_a_bad_query_with_its_words() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base_url = format!("http://{}", listener.local_addr().expect("its address"));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("the tail connects");
        #[allow(
            clippy::result_large_err,
            reason = "the signature tungstenite's callback takes"
        )]
        let refuse = |_: &UpgradeRequest, _: Response| -> Result<Response, ErrorResponse> {
            let mut refusal =
                ErrorResponse::new(Some("parse error at line 1, col 2: syntax error".to_owned()));
            *refusal.status_mut() = StatusCode::BAD_REQUEST;
            Err(refusal)
        };
        let _ = tokio_tungstenite::accept_hdr_async(stream, refuse).await;
    });

    let error = match loki_at(&base_url, None, TIMEOUT).tail("{}", 0, 10).await {
        Ok(_) => panic!("the tail should be refused"),
        Err(error) => error,
    };

    let SourceError::BadQuery {
        source_name: "Loki",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(reason, "parse error at line 1, col 2: syntax error");
    server.await.expect("the tail server");
}

#[tokio::test]
async fn tail_to_a_loki_that_never_answers_times_out() {
    // The listener accepts connections into its backlog but never completes a handshake.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base_url = format!("http://{}", listener.local_addr().expect("its address"));
    let loki = loki_at(&base_url, None, Duration::from_millis(300));

    let started = Instant::now();
    let error = match loki.tail(r#"{service="login-api"}"#, 0, 10).await {
        Ok(_) => panic!("no tail should open"),
        Err(error) => error,
    };

    assert_eq!(
        error,
        SourceError::Timeout {
            source_name: "Loki",
            timeout_ms: 300
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}
