//! Tests across the three signals: determinism, a whole day, and the training failure told the same way everywhere.

use vitals_api::query::{LogQuery, TimeRange, TraceQuery};
use vitals_api::{Direction, LogQueryResponse, SpanKind, SpanStatus};

use super::DemoClinic;
use crate::config::DemoConfig;
use crate::error::DemoError;

/// 2026-11-24 (a Tuesday) 00:00 UTC: the day the demo's tests look at.
pub(super) const TUESDAY: i64 = 1_795_478_400_000;
pub(super) const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Tuesday 10:20 UTC, in clinic hours: "now" where a test follows the clinic live.
pub(super) const TUESDAY_MORNING: i64 = TUESDAY + 10 * HOUR + 20 * 60_000;

/// The clinic as configured by default.
pub(super) fn clinic() -> DemoClinic {
    DemoClinic::new(DemoConfig::default())
}

fn clinic_with_seed(seed: u64) -> DemoClinic {
    DemoClinic::new(DemoConfig {
        seed,
        ..DemoConfig::default()
    })
}

fn log_query(query: &str, range: TimeRange) -> LogQuery {
    LogQuery {
        query: query.into(),
        range,
        limit: 100_000,
        direction: Direction::Forward,
        step_ms: 60_000,
    }
}

fn line_count(clinic: &DemoClinic, query: &str, range: TimeRange) -> usize {
    match clinic.run_log_query(&log_query(query, range)).unwrap() {
        LogQueryResponse::Streams { lines } => lines.len(),
        other => panic!("expected lines, got {other:?}"),
    }
}

/// The value of a one-series instant query.
fn metric_at(clinic: &DemoClinic, query: &str, at: i64) -> f64 {
    let answer = clinic.promql_instant(query, at).unwrap();
    assert_eq!(answer.series.len(), 1, "{query}: {answer:?}");
    answer.series[0].points[0].1
}

fn failed_getitem_traces(clinic: &DemoClinic, range: TimeRange) -> usize {
    clinic
        .traces(range)
        .iter()
        .filter(|trace| {
            trace.spans.iter().any(|span| {
                span.kind == SpanKind::Client
                    && span.status == SpanStatus::Error
                    && span.attributes.get("aws.operation").map(String::as_str) == Some("GetItem")
                    && span.attributes.get("aws.table_name").map(String::as_str) == Some("users")
                    && span.attributes.get("error").map(String::as_str) == Some("ResourceNotFoundException")
            })
        })
        .count()
}

#[test]
fn same_seed_and_range_give_identical_logs_metrics_and_traces() {
    let range = TimeRange::new(TUESDAY + 10 * HOUR + 12_345, TUESDAY + 11 * HOUR + 6_789);
    let (first, second) = (clinic_with_seed(7), clinic_with_seed(7));
    assert_eq!(first.log_lines(range), second.log_lines(range));
    assert_eq!(first.raw_series(range), second.raw_series(range));
    assert_eq!(first.traces(range), second.traces(range));
    assert_eq!(first.service_map_of(range), second.service_map_of(range));
}

#[test]
fn a_different_seed_gives_a_different_clinic() {
    let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR);
    let (first, second) = (clinic_with_seed(7), clinic_with_seed(8));
    assert_ne!(first.log_lines(range), second.log_lines(range));
    assert_ne!(first.raw_series(range), second.raw_series(range));
    assert_ne!(first.traces(range), second.traces(range));
}

#[test]
fn a_range_is_the_same_whether_asked_whole_or_in_parts() {
    let clinic = clinic_with_seed(3);
    let whole = clinic.log_lines(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 12 * HOUR));
    let mut parts = clinic.log_lines(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR + 7));
    parts.extend(clinic.log_lines(TimeRange::new(TUESDAY + 11 * HOUR + 7, TUESDAY + 12 * HOUR)));
    assert_eq!(whole, parts);
}

#[test]
fn a_whole_day_is_busy_by_day_and_quiet_at_night() {
    let clinic = clinic_with_seed(20_261_125);
    let day = TimeRange::new(TUESDAY, TUESDAY + DAY);
    let lines = clinic.log_lines(day);
    let traces = clinic.traces(day);
    let series = clinic.raw_series(day);
    // A few to about twenty requests a minute at the peak: thousands a day.
    assert!((3_000..30_000).contains(&traces.len()), "{} traces", traces.len());
    assert!(lines.len() >= traces.len());
    assert_eq!(series.len(), 164);
    assert!(series.iter().all(|s| s.points.len() == 2880));

    let in_hour = |hour: i64| {
        let (start, end) = (
            (TUESDAY + hour * HOUR) * 1_000_000,
            (TUESDAY + (hour + 1) * HOUR) * 1_000_000,
        );
        lines
            .iter()
            .filter(|line| line.time >= start && line.time < end)
            .count()
    };
    let (night, morning, afternoon) = (in_hour(3), in_hour(10), in_hour(15));
    assert!(morning > 5 * night.max(1), "night {night}, morning {morning}");
    assert!(
        afternoon > 5 * night.max(1),
        "night {night}, afternoon {afternoon}"
    );
    // A Saturday is quieter than a Tuesday.
    let saturday = clinic.traces(TimeRange::new(TUESDAY + 4 * DAY, TUESDAY + 5 * DAY));
    assert!(
        saturday.len() * 2 < traces.len(),
        "saturday {} tuesday {}",
        saturday.len(),
        traces.len()
    );
}

#[test]
fn every_event_logs_its_trace_id() {
    let clinic = clinic_with_seed(11);
    let range = TimeRange::new(TUESDAY + 9 * HOUR, TUESDAY + 10 * HOUR);
    let logged: std::collections::HashSet<String> = clinic
        .log_lines(range)
        .into_iter()
        .filter_map(|line| line.fields.get("trace_id").cloned())
        .collect();
    let traces = clinic.traces(range);
    assert!(!traces.is_empty());
    assert!(traces.iter().all(|trace| logged.contains(&trace.trace_id)));
}

#[test]
fn the_failure_window_tells_the_same_story_in_logs_metrics_traces_and_the_map() {
    let clinic = clinic_with_seed(20_261_125);
    let windows = clinic.failure_windows_in(TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR));
    assert_eq!(
        windows,
        vec![TimeRange::new(
            TUESDAY + 10 * HOUR + 40 * 60_000,
            TUESDAY + 10 * HOUR + 50 * 60_000
        )]
    );
    let window = windows[0];
    assert!(clinic.failure_active(window.start_ms) && !clinic.failure_active(window.end_ms));

    let logged = line_count(
        &clinic,
        r#"{service="login-api", level="error"} |= "GetItem failed" | json | error="ResourceNotFoundException""#,
        window,
    );
    let not_found = |at| {
        metric_at(
            &clinic,
            r#"dynamodb_requests_total{table="users", status="ResourceNotFoundException"}"#,
            at,
        )
    };
    let counted = not_found(window.end_ms) - not_found(window.start_ms);
    let logins = |at| metric_at(&clinic, r#"login_attempts_total{result="not_found"}"#, at);
    let login_failures = logins(window.end_ms) - logins(window.start_ms);
    let responses = |at| {
        metric_at(
            &clinic,
            r#"http_server_request_duration_seconds_count{service="login-api", status="404"}"#,
            at,
        )
    };
    let answered_404 = responses(window.end_ms) - responses(window.start_ms);
    let traced = failed_getitem_traces(&clinic, window);
    let searched = clinic
        .search_traces(&TraceQuery {
            filter: r#"service("login-api") AND error AND http.status = 404"#.into(),
            range: window,
            limit: 10_000,
        })
        .unwrap()
        .len();

    assert!(logged > 0);
    assert_eq!(counted, logged as f64);
    assert_eq!(login_failures, logged as f64);
    assert_eq!(answered_404, logged as f64);
    assert_eq!(traced, logged);
    assert_eq!(searched, logged);
    // increase() over exactly the window's samples needs no extrapolation.
    let increase = metric_at(
        &clinic,
        r#"increase(dynamodb_requests_total{status="ResourceNotFoundException"}[10m])"#,
        window.end_ms,
    );
    assert_eq!(increase, logged as f64);
    // Most logins fail during the window, yet some still succeed.
    let successes = |at| metric_at(&clinic, r#"login_attempts_total{result="success"}"#, at);
    let succeeded = successes(window.end_ms) - successes(window.start_ms);
    assert!(
        succeeded > 0.0 && (logged as f64) > succeeded,
        "{logged} failed, {succeeded} succeeded"
    );

    let map = clinic.service_map_of(window);
    let edge = map
        .edges
        .iter()
        .find(|e| e.source == "login-api" && e.target == "DynamoDB")
        .expect("login-api calls DynamoDB");
    assert_eq!(edge.stats.errors, logged as u64);
    let failed = edge.stats.errors + edge.stats.faults + edge.stats.throttles;
    assert!(failed * 2 > edge.stats.requests, "{:?}", edge.stats);
}

#[test]
fn outside_the_failure_windows_nothing_fails() {
    let clinic = clinic_with_seed(20_261_125);
    let quiet = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 10 * HOUR + 40 * 60_000);
    assert!(clinic.failure_windows_in(quiet).is_empty());
    assert_eq!(
        line_count(
            &clinic,
            r#"{service="login-api"} |= "ResourceNotFoundException""#,
            quiet
        ),
        0
    );
    let not_found = |at| {
        metric_at(
            &clinic,
            r#"dynamodb_requests_total{status="ResourceNotFoundException"}"#,
            at,
        )
    };
    assert_eq!(not_found(quiet.end_ms) - not_found(quiet.start_ms), 0.0);
    assert_eq!(failed_getitem_traces(&clinic, quiet), 0);
    let map = clinic.service_map_of(quiet);
    assert!(
        map.edges
            .iter()
            .all(|edge| edge.stats.errors + edge.stats.faults + edge.stats.throttles == 0)
    );
}

#[test]
fn without_failure_windows_the_clinic_never_fails() {
    let clinic = DemoClinic::new(DemoConfig {
        failure_windows: Vec::new(),
        ..DemoConfig::default()
    });
    let day = TimeRange::new(TUESDAY, TUESDAY + DAY);
    assert!(clinic.failure_windows_in(day).is_empty());
    assert_eq!(failed_getitem_traces(&clinic, day), 0);
}

#[test]
fn unsupported_log_queries_are_bad_queries_naming_the_part() {
    let clinic = clinic_with_seed(5);
    let range = TimeRange::new(TUESDAY + 10 * HOUR, TUESDAY + 11 * HOUR);
    for (query, part) in [
        (
            r#"sum(bytes_over_time({env="prod"}[5m]))"#,
            "`bytes_over_time` is not supported",
        ),
        (
            r#"topk(3, count_over_time({env="prod"}[5m]))"#,
            "`topk` is not supported",
        ),
        (
            r#"label_replace(rate({env="prod"}[5m]), "a", "$1", "b", "(.*)")"#,
            "`label_replace` is not supported",
        ),
        (
            r#"{env="prod"} | pattern "<ip> <_>""#,
            "`| pattern` is not supported",
        ),
        (r#"{service=~".*"}"#, "empty-compatible value"),
    ] {
        match clinic.run_log_query(&log_query(query, range)) {
            Err(DemoError::BadQuery(reason)) => {
                assert!(reason.contains(part), "{query}: {reason}");
            }
            other => panic!("{query} answered {other:?}"),
        }
    }
}

/// Why times and steps have their own checked parser (`vitals_api::query::parse_duration_ms`)
/// rather than the PromQL parser's reader: that reader takes a unit whose number does not fit
/// 32 bits as zero, so a mistyped range silently shrinks to its other units. Should the
/// library ever read such a duration whole, this test fails and the checked parser can go.
#[test]
fn the_promql_parsers_duration_reader_drops_units_that_overflow() {
    let read = promql_parser::util::parse_duration("5000000000h30m");
    assert_eq!(read, Ok(std::time::Duration::from_secs(30 * 60)));
    let hour_ms: i64 = 3_600_000;
    assert_eq!(
        vitals_api::query::parse_duration_ms("5000000000h30m"),
        Some(5_000_000_000 * hour_ms + 30 * 60_000),
        "read whole, for the range checks to refuse"
    );
    assert_eq!(
        vitals_api::query::parse_duration_ms("99999999999999999999h"),
        None
    );
    assert_eq!(vitals_api::query::parse_duration_ms("1h30m"), Some(5_400_000));
}
