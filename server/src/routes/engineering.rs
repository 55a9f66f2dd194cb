//! The engineering API: logs, metrics, traces and the service map, over whichever sources are configured.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, State};
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::{
    LogPattern, LogPatternsRequest, LogPatternsResponse, LogQueryRequest, LogQueryResponse,
    MetricQueryRequest, MetricQueryResponse, NameList, NodePosition, ServiceMap, ServiceMapLayout,
    TraceSearchRequest, TraceSearchResponse,
};

use crate::error::ApiError;
use crate::insights::patterns::{self, MinerSettings};
use crate::masking::MASK;
use crate::reveal;
use crate::routes::gate::ScopedSources;
use crate::routes::openapi::{AccessErrors, BadRequest, BodyErrors, SourceErrors};
use crate::sources::xray::{TraceFilter, filter_expression, filter_syntax};
use crate::sources::{LogQuery, TimeRange, TraceQuery};
use crate::state::AppState;
use crate::timespec::{parse_time_ms, resolve_range, resolve_step_ms};
use vitals_trace::map_layout;

const HOUR_MS: i64 = 3_600_000;
const DEFAULT_LOG_LIMIT: u32 = 100;
const MAX_LOG_LIMIT: u32 = 5_000;
const DEFAULT_TRACE_LIMIT: u32 = 50;
const MAX_TRACE_LIMIT: u32 = 1_000;

/// JSON bodies whose errors come back in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query strings whose errors come back in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose errors (such as a percent-encoding that is not UTF-8) come back in
/// the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `?from=&to=` on GET endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// The start of the range: RFC 3339 or relative (`now-1h`); an hour before `to` when absent.
    from: Option<String>,
    /// The end of the range: RFC 3339 or relative; now when absent.
    to: Option<String>,
}

fn check_limit(limit: Option<u32>, default: u32, max: u32, what: &str) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(0) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("`limit` is 0; ask for between 1 and {max} {what}"),
        )),
        Some(limit) if limit > max => Err(ApiError::bad_request(
            "limit_too_high",
            format!(
                "`limit` is {limit}, above the most this server returns ({max} {what}); narrow the query or the time range"
            ),
        )),
        Some(limit) => Ok(limit),
    }
}

/// Refuses a range and step that would give a series more points than `most` (the guard's
/// `max_points_per_series`, 11,000 by default as in Prometheus) before any backend is asked.
fn check_points(range_ms: i64, step_ms: i64, most: usize) -> Result<(), ApiError> {
    let points = range_ms / step_ms + 1;
    if points > i64::try_from(most).unwrap_or(i64::MAX) {
        return Err(ApiError::bad_request(
            "too_many_points",
            format!(
                "this range and step give {points} points per series, above the limit of {most}; \
                 use a larger step or a shorter range"
            ),
        ));
    }
    Ok(())
}

/// The request's range, refused when longer than the server allows.
pub(super) fn request_range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    default_span_ms: i64,
) -> Result<TimeRange, ApiError> {
    request_range_at(state, from, to, default_span_ms, state.now_ms())
}

/// [`request_range`] with relative times counted from `now_ms`.
pub(super) fn request_range_at(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    default_span_ms: i64,
    now_ms: i64,
) -> Result<TimeRange, ApiError> {
    let range = resolve_range(from, to, now_ms, default_span_ms)?;
    if range.duration_ms() > state.max_range_ms {
        return Err(ApiError::bad_request(
            "range_too_long",
            format!(
                "the time range covers {:.1} days, above the limit of {} days; pick a shorter range",
                range.duration_ms() as f64 / 86_400_000.0,
                state.max_range_ms / 86_400_000
            ),
        ));
    }
    Ok(range)
}

fn check_query(query: &str) -> Result<(), ApiError> {
    if query.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_query",
            "the query is empty; write a query first",
        ));
    }
    Ok(())
}

/// `POST /api/v1/logs/query`.
#[utoipa::path(
    post,
    path = "/logs/query",
    tag = "logs",
    summary = "Run a log query (lines) or a metric query over logs (series)",
    request_body = LogQueryRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "log lines, or series for a metric query", body = LogQueryResponse),
        AccessErrors,
        SourceErrors,
        BodyErrors,
    )
)]
pub async fn query_logs(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiJson(request): ApiJson<LogQueryRequest>,
) -> Result<Json<LogQueryResponse>, ApiError> {
    check_query(&request.query)?;
    let range = request_range(&state, request.from.as_deref(), request.to.as_deref(), HOUR_MS)?;
    let limit = check_limit(request.limit, DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT, "lines")?;
    let step_ms = resolve_step_ms(request.step.as_ref(), range)?;
    check_points(range.duration_ms(), step_ms, state.max_points_per_series)?;
    let query = LogQuery {
        query: request.query,
        range,
        limit,
        direction: request.direction,
        step_ms,
    };
    let mut answer = sources.logs.query(&query).await?;
    if let LogQueryResponse::Streams { lines } = &mut answer {
        reveal::mask_lines(&state.masker, &query.query, lines);
    }
    Ok(Json(answer))
}

/// Patterns listed at most; the rarer ones are counted.
const MAX_PATTERNS_SHOWN: usize = 200;

/// `POST /api/v1/logs/patterns`: the lines of a log query clustered into templates, masked
/// before they are mined.
#[utoipa::path(
    post,
    path = "/logs/patterns",
    tag = "logs",
    summary = "Cluster the lines of a log query into templates, with counts over the range, and tell new ones from a baseline",
    request_body = LogPatternsRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "the templates of the newest lines, most frequent first", body = LogPatternsResponse),
        AccessErrors,
        SourceErrors,
        BodyErrors,
    )
)]
pub async fn log_patterns(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiJson(request): ApiJson<LogPatternsRequest>,
) -> Result<Json<LogPatternsResponse>, ApiError> {
    let LogPatternsRequest {
        logs,
        baseline_from,
        baseline_to,
    } = request;
    check_query(&logs.query)?;
    if reveal::stream_selector(&logs.query).is_none() {
        return Err(not_a_log_query());
    }
    let now_ms = state.now_ms();
    let range = request_range_at(&state, logs.from.as_deref(), logs.to.as_deref(), HOUR_MS, now_ms)?;
    let limit = check_limit(logs.limit, MAX_LOG_LIMIT, MAX_LOG_LIMIT, "lines")?;
    let baseline = baseline_range(
        &state,
        baseline_from.as_deref(),
        baseline_to.as_deref(),
        range,
        now_ms,
    )?;
    let query_of = |range| LogQuery {
        query: logs.query.clone(),
        range,
        limit,
        direction: vitals_api::Direction::Backward,
        step_ms: 0,
    };
    let range_query = query_of(range);
    let lines = sources.logs.query(&range_query);
    let baseline_lines = async {
        match baseline {
            Some(range) => sources.logs.query(&query_of(range)).await.map(Some),
            None => Ok(None),
        }
    };
    let (lines, baseline_lines) = tokio::try_join!(lines, baseline_lines)?;
    let lines = streamed_lines(lines)?;
    let baseline_lines = baseline_lines.map(streamed_lines).transpose()?;

    let settings = MinerSettings::default();
    let mut baseline_texts = baseline_lines.iter().flatten().map(|line| line.line.as_str());
    let mined = patterns::mine(
        &state.masker,
        range,
        lines.iter().map(|line| (line.time, line.line.as_str())),
        baseline_lines
            .is_some()
            .then_some(&mut baseline_texts as &mut dyn Iterator<Item = &str>),
        &settings,
    );
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let more_patterns = mined.patterns.len().saturating_sub(MAX_PATTERNS_SHOWN);
    let patterns = mined
        .patterns
        .into_iter()
        .take(MAX_PATTERNS_SHOWN)
        .map(|pattern| LogPattern {
            query: patterns::narrowed(&logs.query, &pattern.line_filter).unwrap_or_default(),
            template: pattern.template,
            count: count(pattern.count),
            sparkline: pattern.sparkline,
            example: pattern.example,
            new: pattern.new,
            line_filter: pattern.line_filter,
        })
        .collect();
    Ok(Json(LogPatternsResponse {
        patterns,
        lines: count(mined.lines),
        truncated: lines.len() >= limit as usize,
        mined_from_ms: lines.iter().map(|line| line.time.div_euclid(1_000_000)).min(),
        baseline_lines: baseline_lines.as_ref().map(|_| count(mined.baseline_lines)),
        more_patterns: count(more_patterns),
        unclustered_lines: count(mined.unclustered_lines),
        from_ms: range.start_ms,
        bucket_ms: range.duration_ms() / settings.buckets.max(1) as i64,
    }))
}

fn not_a_log_query() -> ApiError {
    ApiError::bad_request(
        "not_a_log_query",
        "patterns are mined from log lines; write a log query that starts with a stream selector, \
         such as {service=\"login-api\"}, not a metric query",
    )
}

/// The lines of a log query's answer; a metric query's series have none.
fn streamed_lines(answer: LogQueryResponse) -> Result<Vec<vitals_api::LogLine>, ApiError> {
    match answer {
        LogQueryResponse::Streams { lines } => Ok(lines),
        LogQueryResponse::Matrix { .. } | LogQueryResponse::Vector { .. } => Err(not_a_log_query()),
    }
}

/// The baseline range of a patterns request: as given, or as long as `range` from the one end
/// given; `None` when neither end is.
fn baseline_range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    range: TimeRange,
    now_ms: i64,
) -> Result<Option<TimeRange>, ApiError> {
    let span = range.duration_ms();
    let from = from
        .map(|text| parse_time_ms("baseline_from", text, now_ms))
        .transpose()?;
    let to = to
        .map(|text| parse_time_ms("baseline_to", text, now_ms))
        .transpose()?;
    let (start, end) = match (from, to) {
        (None, None) => return Ok(None),
        (Some(start), None) => (start, start.saturating_add(span)),
        (None, Some(end)) => (end.saturating_sub(span).max(0), end),
        (Some(start), Some(end)) => (start, end),
    };
    if start > end {
        return Err(ApiError::bad_request(
            "invalid_time",
            "`baseline_from` is after `baseline_to`; swap them or pick an earlier `baseline_from`",
        ));
    }
    if end - start > state.max_range_ms {
        return Err(ApiError::bad_request(
            "range_too_long",
            format!(
                "the baseline range covers {:.1} days, above the limit of {} days; pick a shorter baseline",
                (end - start) as f64 / 86_400_000.0,
                state.max_range_ms / 86_400_000
            ),
        ));
    }
    Ok(Some(TimeRange::new(start, end)))
}

/// `GET /api/v1/logs/labels`.
#[utoipa::path(
    get,
    path = "/logs/labels",
    tag = "logs",
    summary = "The label names of the log streams in a time range",
    params(RangeParams),
    security(("session" = [])),
    responses(
        (status = 200, description = "the label names seen in the range", body = NameList),
        (status = 400, response = BadRequest),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn log_labels(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiQuery(params): ApiQuery<RangeParams>,
) -> Result<Json<NameList>, ApiError> {
    let range = request_range(&state, params.from.as_deref(), params.to.as_deref(), HOUR_MS)?;
    let names = sources.logs.labels(range).await?;
    Ok(Json(NameList { names }))
}

/// `GET /api/v1/logs/labels/{name}/values`.
#[utoipa::path(
    get,
    path = "/logs/labels/{name}/values",
    tag = "logs",
    summary = "The values one log label took in a time range",
    params(("name" = String, Path, description = "the label", example = "service"), RangeParams),
    security(("session" = [])),
    responses(
        (status = 200, description = "the values the label took in the range", body = NameList),
        (status = 400, response = BadRequest),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn log_label_values(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<RangeParams>,
) -> Result<Json<NameList>, ApiError> {
    let range = request_range(&state, params.from.as_deref(), params.to.as_deref(), HOUR_MS)?;
    let mut names = sources.logs.label_values(&name, range).await?;
    // A label a parser made of a personal field lists patients: each value is masked, and the
    // masked ones are listed once.
    let mut kept_masked = false;
    names.retain_mut(|value| {
        state.masker.mask_named(&name, value);
        value != MASK || !std::mem::replace(&mut kept_masked, true)
    });
    Ok(Json(NameList { names }))
}

/// `POST /api/v1/metrics/query`: a range query, or an instant one when `from` is absent or equals `to`.
#[utoipa::path(
    post,
    path = "/metrics/query",
    tag = "metrics",
    summary = "Run a PromQL query: over a range, or at an instant when `from` is absent or equals `to`",
    request_body = MetricQueryRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "the series of the query", body = MetricQueryResponse),
        AccessErrors,
        SourceErrors,
        BodyErrors,
    )
)]
pub async fn query_metrics(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiJson(request): ApiJson<MetricQueryRequest>,
) -> Result<Json<MetricQueryResponse>, ApiError> {
    check_query(&request.query)?;
    let range = request_range(&state, request.from.as_deref(), request.to.as_deref(), 0)?;
    let metrics = &sources.metrics;
    let answer = if range.duration_ms() == 0 {
        metrics.query_instant(&request.query, range.end_ms).await?
    } else {
        let step_ms = resolve_step_ms(request.step.as_ref(), range)?;
        check_points(range.duration_ms(), step_ms, state.max_points_per_series)?;
        metrics.query_range(&request.query, range, step_ms).await?
    };
    Ok(Json(answer))
}

/// `GET /api/v1/metrics/names`.
#[utoipa::path(
    get,
    path = "/metrics/names",
    tag = "metrics",
    summary = "Every metric name",
    security(("session" = [])),
    responses(
        (status = 200, description = "every metric name", body = NameList),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn metric_names(ScopedSources(sources): ScopedSources) -> Result<Json<NameList>, ApiError> {
    let names = sources.metrics.metric_names().await?;
    Ok(Json(NameList { names }))
}

/// `POST /api/v1/traces/search`.
#[utoipa::path(
    post,
    path = "/traces/search",
    tag = "traces",
    summary = "Find traces by service, outcome, duration and annotations, or an X-Ray filter expression, newest first",
    request_body = TraceSearchRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "the matching traces, newest first", body = TraceSearchResponse),
        AccessErrors,
        SourceErrors,
        BodyErrors,
    )
)]
pub async fn search_traces(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiJson(request): ApiJson<TraceSearchRequest>,
) -> Result<Json<TraceSearchResponse>, ApiError> {
    let range = request_range(&state, request.from.as_deref(), request.to.as_deref(), HOUR_MS)?;
    let limit = check_limit(request.limit, DEFAULT_TRACE_LIMIT, MAX_TRACE_LIMIT, "traces")?;
    // Points at the wrong part of one's own expression before X-Ray only says it is invalid
    // (after the checks of length and control characters, which name no place).
    filter_expression(&request.filter)
        .map_err(|error| ApiError::bad_request("bad_query", error.to_string()))?;
    filter_syntax::check(&request.filter).map_err(|error| ApiError::BadText {
        code: "bad_filter",
        message: format!(
            "the filter is wrong at character {}: {}",
            error.at.start + 1,
            error.message
        ),
        at: error.at,
    })?;
    let filter = TraceFilter {
        service: request.service,
        status: request.status,
        min_duration_s: request.min_duration_s,
        max_duration_s: request.max_duration_s,
        annotations: request.annotations.into_iter().collect(),
        http_status: request.http_status,
        path: request.path,
        raw: Some(request.filter),
    }
    .to_expression()
    .map_err(|error| ApiError::bad_request("bad_query", error.to_string()))?;
    let query = TraceQuery { filter, range, limit };
    let mut traces = sources.traces.search(&query).await?;
    for trace in &mut traces {
        state.masker.mask_in_place(&mut trace.name);
    }
    Ok(Json(TraceSearchResponse { traces }))
}

/// `GET /api/v1/service-map?from=&to=`.
#[utoipa::path(
    get,
    path = "/service-map",
    tag = "traces",
    summary = "The services, the AWS resources they call and the calls between them",
    params(RangeParams),
    security(("session" = [])),
    responses(
        (status = 200, description = "services, the AWS resources they call, and the calls between them", body = ServiceMap),
        (status = 400, response = BadRequest),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn service_map(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiQuery(params): ApiQuery<RangeParams>,
) -> Result<Json<ServiceMap>, ApiError> {
    let range = request_range(&state, params.from.as_deref(), params.to.as_deref(), HOUR_MS)?;
    let mut map = sources.traces.service_map(range).await?;
    map.layout = Some(layout_of(&map));
    Ok(Json(map))
}

/// Where to draw each node of `map`, callers left of what they call.
fn layout_of(map: &ServiceMap) -> ServiceMapLayout {
    let nodes: Vec<&str> = map.nodes.iter().map(|node| node.name.as_str()).collect();
    let edges: Vec<(&str, &str)> = map
        .edges
        .iter()
        .map(|edge| (edge.source.as_str(), edge.target.as_str()))
        .collect();
    let laid = map_layout::lay_out(&nodes, &edges);
    ServiceMapLayout {
        width: laid.width,
        height: laid.height,
        node_width: map_layout::NODE_WIDTH,
        node_height: map_layout::NODE_HEIGHT,
        nodes: laid
            .nodes
            .into_iter()
            .map(|place| NodePosition {
                name: place.name,
                layer: place.layer,
                x: place.x,
                y: place.y,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_say_the_maximum() {
        let err = check_limit(Some(10_000), 100, 5_000, "lines")
            .unwrap_err()
            .to_string();
        assert!(err.contains("5000") && err.contains("narrow"), "{err}");
        assert_eq!(check_limit(None, 100, 5_000, "lines").unwrap(), 100);
    }

    #[test]
    fn too_many_points_suggests_a_larger_step() {
        let err = check_points(86_400_000, 1_000, 11_000).unwrap_err().to_string();
        assert!(
            err.contains("86401 points") && err.contains("11000") && err.contains("larger step"),
            "{err}"
        );
        assert!(check_points(86_400_000, 60_000, 11_000).is_ok());
        // A backend that allows more points per series is configured to, and then asked.
        assert!(check_points(86_400_000, 1_000, 100_000).is_ok());
    }
}
