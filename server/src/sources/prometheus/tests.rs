//! The Prometheus source over real HTTP against a recording stand-in: endpoints, encoding, failures and SigV4 as sent.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use vitals_api::{Backend, Point, ResultType, Series};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::sigv4::verify::{ReceivedRequest, verify};
use super::*;

const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"clinic":"north"},"values":[[1795507200,"3"],[1795507260,"4"]]}]}}"#;
const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"clinic":"north"},"value":[1795507200,"3"]}]}}"#;
const NAMES: &str = r#"{"status":"success","data":["login_attempts_total","up"]}"#;
const SERIES_ANSWER: &str = r#"{"status":"success","data":[{"__name__":"up","job":"api"}]}"#;
const METADATA_ANSWER: &str =
    r#"{"status":"success","data":{"up":[{"type":"gauge","help":"Whether the target is up.","unit":""}]}}"#;
const SCALAR: &str = r#"{"status":"success","data":{"resultType":"scalar","result":[1795507200,"1"]}}"#;

const ACCESS_KEY_ID: &str = "ASIAVITALSTEST000002";
const SECRET: &str = "vitals/test+secret/abcdefghijklmnopqrstuv";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEVitalsSessionToken//+==";

/// 2026-11-24T08:00Z to 12:00Z.
const RANGE: TimeRange = TimeRange {
    start_ms: 1_795_507_200_000,
    end_ms: 1_795_521_600_000,
};

const TIMEOUT: Duration = Duration::from_secs(5);

fn config(url: &str) -> PrometheusConfig {
    PrometheusConfig {
        url: Url::parse(url).unwrap(),
        amp_region: None,
    }
}

async fn answering(method_name: &str, endpoint: &str, status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    mount(
        &server,
        method_name,
        endpoint,
        ResponseTemplate::new(status).set_body_string(body),
    )
    .await;
    server
}

async fn mount(server: &MockServer, method_name: &str, endpoint: &str, response: ResponseTemplate) {
    Mock::given(method(method_name))
        .and(path(endpoint))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("the stand-in records requests")
}

/// Form or query parameters in the order they were sent.
type Params = Vec<(String, String)>;

fn form(body: &[u8]) -> Params {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn pairs(expected: &[(&str, &str)]) -> Params {
    expected
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_range_query_is_a_form_post_in_seconds_and_sends_nothing_else() {
    let server = answering("POST", "/api/v1/query_range", 200, MATRIX).await;
    let source = PrometheusSource::new(config(&server.uri()), TIMEOUT)
        .await
        .unwrap();
    let query = "sum by (clinic) (increase(patient_registrations_total{result=\"ok\"}[1h])) + 0";
    let range = TimeRange::new(RANGE.start_ms, RANGE.end_ms + 500);

    let answer = source.query_range(query, range, 60_000).await.unwrap();

    assert_eq!(answer.result_type, ResultType::Matrix);
    assert_eq!(answer.step_seconds, 60.0);
    assert_eq!(
        answer.series,
        [Series {
            labels: [("clinic".to_owned(), "north".to_owned())].into(),
            points: vec![Point(1_795_507_200_000, 3.0), Point(1_795_507_260_000, 4.0)],
        }]
    );
    let requests = received(&server).await;
    let [request] = requests.as_slice() else {
        panic!("one request, got {}", requests.len())
    };
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&request.body),
        pairs(&[
            ("query", query),
            ("start", "1795507200"),
            ("end", "1795521600.5"),
            ("step", "60")
        ])
    );
    for header in [
        "authorization",
        "cookie",
        "x-amz-date",
        "x-amz-security-token",
        "x-scope-orgid",
    ] {
        assert!(
            !request.headers.contains_key(header),
            "a Prometheus request must not carry {header}"
        );
    }
    assert_eq!(source.backend(), Backend::Prometheus);
}

#[tokio::test]
async fn each_call_uses_its_endpoint_below_the_workspace_path() {
    let server = MockServer::start().await;
    let workspace = "/workspaces/ws-0123abcd";
    for (method_name, endpoint, body) in [
        ("POST", "/api/v1/query", VECTOR),
        ("GET", "/api/v1/query", SCALAR),
        ("GET", "/api/v1/label/__name__/values", NAMES),
        ("GET", "/api/v1/label/a%2Fb/values", NAMES),
        ("GET", "/api/v1/labels", NAMES),
        ("POST", "/api/v1/series", SERIES_ANSWER),
        ("GET", "/api/v1/metadata", METADATA_ANSWER),
    ] {
        let response = ResponseTemplate::new(200).set_body_string(body);
        mount(&server, method_name, &format!("{workspace}{endpoint}"), response).await;
    }
    // The query URL as the AMP console shows it: the endpoint is cut off.
    let source = PrometheusSource::new(
        config(&format!("{}{workspace}/api/v1/query", server.uri())),
        TIMEOUT,
    )
    .await
    .unwrap();

    let instant = source.query_instant("sum(up)", 1_795_507_200_250).await.unwrap();
    assert_eq!(
        (instant.result_type, instant.step_seconds),
        (ResultType::Vector, 0.0)
    );
    assert_eq!(
        source.metric_names().await.unwrap(),
        ["login_attempts_total", "up"]
    );
    source.probe().await.unwrap();
    source.label_values("a/b", Some(RANGE)).await.unwrap();
    source.labels(Some(RANGE)).await.unwrap();
    let found = source.series(&["up", r#"{job=~"a.+"}"#], RANGE).await.unwrap();
    assert_eq!(
        found,
        [Labels::from([
            ("__name__".into(), "up".into()),
            ("job".into(), "api".into())
        ])]
    );
    let described = source.metadata(Some("up")).await.unwrap();
    assert_eq!(described["up"][0].metric_type, "gauge");

    let requests = received(&server).await;
    let sent: Vec<(String, String, Params)> = requests
        .iter()
        .map(|request| {
            let params = if request.method == "GET" {
                form(request.url.query().unwrap_or_default().as_bytes())
            } else {
                form(&request.body)
            };
            (request.method.to_string(), request.url.path().to_owned(), params)
        })
        .collect();
    let expected = [
        (
            "POST",
            "/api/v1/query",
            pairs(&[("query", "sum(up)"), ("time", "1795507200.25")]),
        ),
        ("GET", "/api/v1/label/__name__/values", vec![]),
        ("GET", "/api/v1/query", pairs(&[("query", "1")])),
        (
            "GET",
            "/api/v1/label/a%2Fb/values",
            pairs(&[("start", "1795507200"), ("end", "1795521600")]),
        ),
        (
            "GET",
            "/api/v1/labels",
            pairs(&[("start", "1795507200"), ("end", "1795521600")]),
        ),
        (
            "POST",
            "/api/v1/series",
            pairs(&[
                ("match[]", "up"),
                ("match[]", r#"{job=~"a.+"}"#),
                ("start", "1795507200"),
                ("end", "1795521600"),
            ]),
        ),
        ("GET", "/api/v1/metadata", pairs(&[("metric", "up")])),
    ]
    .map(|(method_name, endpoint, params)| {
        (method_name.to_owned(), format!("{workspace}{endpoint}"), params)
    });
    assert_eq!(sent, expected);
    // Spaces go as %20, never `+`, which SigV4 would read as a plus sign.
    assert!(requests.iter().all(|request| !request.url.as_str().contains('+')));
}

#[tokio::test]
async fn a_bad_query_carries_prometheus_reason() {
    let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}"#;
    let server = answering("POST", "/api/v1/query_range", 400, body).await;
    let source = PrometheusSource::new(config(&server.uri()), TIMEOUT)
        .await
        .unwrap();

    let error = source.query_range("sum(up", RANGE, 60_000).await.unwrap_err();

    assert_eq!(
        error,
        SourceError::BadQuery {
            source_name: "Prometheus",
            reason: r#"invalid parameter "query": 1:5: parse error: unclosed left parenthesis"#.into(),
        }
    );
}

#[tokio::test]
async fn a_server_error_is_unavailable_with_status_and_reason() {
    let body = r#"{"status":"error","errorType":"internal","error":"opening storage failed"}"#;
    let server = answering("POST", "/api/v1/query", 500, body).await;
    let source = PrometheusSource::new(config(&server.uri()), TIMEOUT)
        .await
        .unwrap();

    let error = source.query_instant("up", RANGE.start_ms).await.unwrap_err();

    let SourceError::Unavailable {
        source_name: "Prometheus",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("HTTP 500") && reason.contains("opening storage failed"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = format!("{}/elsewhere/api/v1/query", server.uri());
    mount(
        &server,
        "POST",
        "/api/v1/query",
        ResponseTemplate::new(301).insert_header("location", elsewhere.as_str()),
    )
    .await;
    mount(
        &server,
        "POST",
        "/elsewhere/api/v1/query",
        ResponseTemplate::new(200).set_body_string(VECTOR),
    )
    .await;
    let source = PrometheusSource::new(config(&server.uri()), TIMEOUT)
        .await
        .unwrap();

    let error = source.query_instant("up", RANGE.start_ms).await.unwrap_err();

    let SourceError::Unavailable { reason, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("redirect") && reason.contains("VITALS_PROMETHEUS_URL"),
        "{reason}"
    );
    assert_eq!(
        received(&server).await.len(),
        1,
        "the redirect must not be followed"
    );
}

#[tokio::test]
async fn a_refused_connection_names_the_source() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let source = PrometheusSource::new(config(&format!("http://127.0.0.1:{port}")), TIMEOUT)
        .await
        .unwrap();

    let error = source.probe().await.unwrap_err();

    let SourceError::Unavailable {
        source_name: "Prometheus",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(reason.contains("could not connect to Prometheus"), "{reason}");
    assert!(
        !reason.contains("127.0.0.1"),
        "messages name the cause, not the address: {reason}"
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let slow = ResponseTemplate::new(200)
        .set_body_string(VECTOR)
        .set_delay(Duration::from_secs(10));
    let server = MockServer::start().await;
    mount(&server, "POST", "/api/v1/query", slow).await;
    let timeout = Duration::from_millis(200);
    let source = PrometheusSource::new(config(&server.uri()), timeout)
        .await
        .unwrap();
    let started = Instant::now();

    let error = source.query_instant("up", RANGE.start_ms).await.unwrap_err();

    assert_eq!(
        error,
        SourceError::Timeout {
            source_name: "Prometheus",
            timeout_ms: 200
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up after {:?}",
        started.elapsed()
    );
}

fn amp_source(server: &MockServer, session_token: Option<&str>) -> PrometheusSource {
    let credentials = Credentials::new(
        ACCESS_KEY_ID,
        SECRET,
        session_token.map(str::to_owned),
        None,
        "test",
    );
    let config = PrometheusConfig {
        amp_region: Some("eu-west-1".into()),
        ..config(&format!("{}/workspaces/ws-0123abcd", server.uri()))
    };
    PrometheusSource::with_credentials_provider(config, TIMEOUT, SharedCredentialsProvider::new(credentials))
        .unwrap()
}

fn as_received(request: &Request) -> ReceivedRequest<'_> {
    ReceivedRequest {
        method: request.method.as_str(),
        path: request.url.path(),
        query: request.url.query().unwrap_or_default(),
        headers: request
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect(),
        body: &request.body,
    }
}

#[tokio::test]
async fn amp_requests_are_signed_and_verify_as_received() {
    let server = MockServer::start().await;
    let workspace = "/workspaces/ws-0123abcd";
    mount(
        &server,
        "POST",
        &format!("{workspace}/api/v1/query_range"),
        ResponseTemplate::new(200).set_body_string(MATRIX),
    )
    .await;
    mount(
        &server,
        "GET",
        &format!("{workspace}/api/v1/label/__name__/values"),
        ResponseTemplate::new(200).set_body_string(NAMES),
    )
    .await;
    mount(
        &server,
        "POST",
        &format!("{workspace}/api/v1/series"),
        ResponseTemplate::new(200).set_body_string(SERIES_ANSWER),
    )
    .await;
    let source = amp_source(&server, Some(SESSION_TOKEN));
    assert_eq!(source.backend(), Backend::Amp);

    source
        .query_range(r#"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{route!~"/(health|ready)"}[5m])))"#, RANGE, 300_000)
        .await
        .unwrap();
    source.metric_names().await.unwrap();
    source
        .series(&[r#"{__name__=~"patient.+", clinic!="north & south"}"#], RANGE)
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        let what = format!("{} {}", request.method, request.url.path());
        let authorization =
            verify(&as_received(request), SECRET).unwrap_or_else(|error| panic!("{what}: {error}"));
        let amz_date = request.headers["x-amz-date"].to_str().unwrap();
        assert_eq!(authorization.access_key_id, ACCESS_KEY_ID, "{what}");
        assert_eq!(
            authorization.scope,
            format!("{}/eu-west-1/aps/aws4_request", &amz_date[..8]),
            "{what}"
        );
        for signed in ["host", "x-amz-date", "x-amz-security-token"] {
            assert!(
                authorization.signed_headers.iter().any(|name| name == signed),
                "{what}: {signed} is not signed"
            );
        }
        assert_eq!(request.headers["x-amz-security-token"], SESSION_TOKEN, "{what}");
        if request.method == "POST" {
            assert!(
                authorization
                    .signed_headers
                    .iter()
                    .any(|name| name == "content-type"),
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn amp_without_a_session_token_sends_none() {
    let server = answering("GET", "/workspaces/ws-0123abcd/api/v1/query", 200, SCALAR).await;
    let source = amp_source(&server, None);

    source.probe().await.unwrap();

    let requests = received(&server).await;
    assert!(!requests[0].headers.contains_key("x-amz-security-token"));
    verify(&as_received(&requests[0]), SECRET).unwrap();
}

#[tokio::test]
async fn amp_errors_name_amp() {
    let server = answering(
        "GET",
        "/workspaces/ws-0123abcd/api/v1/query",
        403,
        r#"{"message":"Forbidden"}"#,
    )
    .await;
    let source = amp_source(&server, None);

    let error = source.probe().await.unwrap_err();

    let SourceError::Unavailable {
        source_name: "AMP",
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert!(reason.contains("aps:QueryMetrics"), "{reason}");
}

#[tokio::test]
async fn the_default_chain_makes_an_amp_source() {
    let config = PrometheusConfig {
        amp_region: Some("eu-west-1".into()),
        ..config("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd")
    };
    // No request is sent: credentials are only looked for when one is.
    assert_eq!(
        PrometheusSource::new(config, TIMEOUT).await.unwrap().backend(),
        Backend::Amp
    );
}

#[tokio::test]
async fn config_mistakes_name_the_setting() {
    let amp_url = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd";
    let cases: [(&str, PrometheusConfig, Duration, &[&str]); 6] = [
        (
            "another scheme",
            config("ftp://prometheus:9090"),
            TIMEOUT,
            &["prometheus.url", "ftp"],
        ),
        (
            "a password",
            config("http://vitals:hunter2@prometheus:9090"),
            TIMEOUT,
            &["prometheus.url", "user name or password"],
        ),
        (
            "no timeout",
            config("http://prometheus:9090"),
            Duration::ZERO,
            &["timeout"],
        ),
        (
            "not a region",
            PrometheusConfig {
                amp_region: Some("EU_WEST".into()),
                ..config("http://prometheus:9090")
            },
            TIMEOUT,
            &["prometheus.amp_region", "EU_WEST"],
        ),
        (
            "the workspace's region differs",
            PrometheusConfig {
                amp_region: Some("eu-west-1".into()),
                ..config(amp_url)
            },
            TIMEOUT,
            &["VITALS_AMP_REGION=us-east-1"],
        ),
        (
            "an AMP workspace unsigned",
            config(amp_url),
            TIMEOUT,
            &["VITALS_AMP_REGION=us-east-1"],
        ),
    ];
    for (name, config, timeout, says) in cases {
        let message = match PrometheusSource::new(config, timeout).await {
            Ok(_) => panic!("{name}: accepted"),
            Err(error) => error.to_string(),
        };
        for words in says {
            assert!(
                message.contains(words),
                "{name}: {message:?} should say {words:?}"
            );
        }
        assert!(!message.contains("hunter2"), "{name}: {message}");
    }
    let unsigned = config("http://prometheus:9090");
    let provider =
        SharedCredentialsProvider::new(Credentials::new(ACCESS_KEY_ID, SECRET, None, None, "test"));
    assert!(matches!(
        PrometheusSource::with_credentials_provider(unsigned, TIMEOUT, provider),
        Err(PrometheusConfigError::CredentialsWithoutRegion)
    ));
}
