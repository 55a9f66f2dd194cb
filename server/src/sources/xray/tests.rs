//! The adapter against sockets that misbehave, the config checks, and the newest-first cut.

use std::sync::Arc;

use aws_credential_types::Credentials;
use tokio::net::TcpListener;

use super::*;

fn config(endpoint: &str) -> XRayConfig {
    XRayConfig {
        region: "eu-west-1".into(),
        endpoint: Some(Url::parse(endpoint).unwrap()),
    }
}

async fn source(endpoint: &str, timeout: Duration) -> XRaySource {
    let credentials = Credentials::new("testing", "testing", None, None, "test");
    XRaySource::with_credentials_provider(
        config(endpoint),
        timeout,
        SharedCredentialsProvider::new(credentials),
    )
    .await
    .unwrap()
}

fn last_minutes() -> TraceQuery {
    TraceQuery {
        filter: String::new(),
        range: TimeRange::new(1_795_516_200_000, 1_795_516_800_000),
        limit: 10,
    }
}

#[tokio::test]
async fn an_x_ray_that_never_answers_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accept connections and hold them open without a word.
    let held = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let holder = held.clone();
    let accepting = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            holder.lock().await.push(socket);
        }
    });
    let source = source(&endpoint, Duration::from_millis(300)).await;
    let error = source.search(&last_minutes()).await.unwrap_err();
    accepting.abort();
    assert_eq!(
        error,
        SourceError::Timeout {
            source_name: "X-Ray",
            timeout_ms: 300
        }
    );
}

#[tokio::test]
async fn an_x_ray_that_refuses_connections_is_unavailable_and_named() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let source = source(&format!("http://127.0.0.1:{port}"), Duration::from_secs(30)).await;
    let error = source
        .trace("1-6a23a1f8-0123456789abcdef01234567")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SourceError::Unavailable { source_name: "X-Ray", reason } if reason.contains("could not be reached")),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_ids_and_filters_are_refused_before_any_call() {
    // Nothing listens here: an answer proves no call was made.
    let source = source("http://127.0.0.1:9", Duration::from_secs(30)).await;
    assert!(matches!(
        source.trace("1-abc").await,
        Err(SourceError::BadQuery { .. })
    ));
    let query = TraceQuery {
        filter: "fault\u{0}".into(),
        ..last_minutes()
    };
    assert!(matches!(
        source.search(&query).await,
        Err(SourceError::BadQuery { .. })
    ));
    let nothing = TraceQuery {
        limit: 0,
        ..last_minutes()
    };
    assert_eq!(source.search(&nothing).await, Ok(vec![]));
}

#[tokio::test]
async fn configs_are_checked_naming_the_setting() {
    let second = Duration::from_secs(1);
    let bad = [
        (
            XRayConfig {
                region: "EU West".into(),
                ..config("http://127.0.0.1:5000")
            },
            second,
            "xray.region",
        ),
        (config("moto:5000"), second, "xray.endpoint"),
        (config("ftp://moto"), second, "xray.endpoint"),
        (config("http://127.0.0.1:5000"), Duration::ZERO, "timeout"),
    ];
    for (config, timeout, setting) in bad {
        let error = XRaySource::new(config, timeout).await.unwrap_err().to_string();
        assert!(error.contains(setting), "{error}");
    }
}

#[test]
fn newest_first_keeps_the_whole_second_at_the_cut_when_starts_are_coarse() {
    let second = 1_000_000_000;
    let starts = vec![(5 * second, 0), (7 * second, 1), (6 * second, 2), (6 * second, 3)];
    assert_eq!(newest_first(starts.clone(), 2, false), vec![1, 2]);
    assert_eq!(newest_first(starts.clone(), 2, true), vec![1, 2, 3]);
    assert_eq!(newest_first(starts.clone(), 10, true), vec![1, 2, 3, 0]);
    assert_eq!(newest_first(starts, 0, true), Vec::<usize>::new());
}
