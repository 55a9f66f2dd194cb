//! One trace: whole when it is small, as an overview and windows of its spans when it is huge.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::traces::{TraceComparison, TraceOverview, TraceWindow};
use vitals_api::{Span, Trace};

use crate::auth::session::CurrentUser;
use crate::error::ApiError;
use crate::reveal;
use crate::routes::engineering::{ApiPath, ApiQuery};
use crate::routes::openapi::{AccessErrors, BadRequest, NotFound, SourceErrors, TraceTooLarge};
use crate::state::AppState;
use vitals_trace::compare::compare;
use vitals_trace::huge::Analysed;

/// `GET /api/v1/traces/{id}`, the id in X-Ray or W3C form.
#[utoipa::path(
    get,
    path = "/traces/{id}",
    tag = "traces",
    summary = "One whole trace, by its X-Ray or W3C id",
    description = "Spans in waterfall order: parents before their children, siblings by start. \
                   A trace over the server's span limit (`traces.whole_limit`, 20,000 by default) is \
                   answered 413 `trace_too_large`: read it through its summary and windows.",
    params(("id" = String, Path, description = "the trace id: X-Ray `1-xxxxxxxx-<24 hex>` or 32 hex digits")),
    security(("session" = [])),
    responses(
        (status = 200, description = "the whole trace", body = Trace),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = TraceTooLarge),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn get_trace(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Trace>, ApiError> {
    let trace = analysed(&state, &user, &id).await?;
    let spans = trace.table.len();
    let limit = state.trace_config.whole_limit;
    if spans > limit as usize {
        return Err(ApiError::TraceTooLarge(format!(
            "the trace has {spans} spans, more than the {limit} sent whole; read its overview at \
             /api/v1/traces/{id}/summary and its spans a window at a time at /api/v1/traces/{id}/window"
        )));
    }
    let mut spans: Vec<Span> = trace
        .tree
        .order()
        .iter()
        .map(|span| trace.table.span(*span))
        .collect();
    reveal::mask_spans(&state.masker, &mut spans);
    Ok(Json(Trace {
        trace_id: trace.table.trace_id().to_owned(),
        spans,
    }))
}

/// `GET /api/v1/traces/{id}/summary`.
#[utoipa::path(
    get,
    path = "/traces/{id}/summary",
    tag = "traces",
    summary = "What a trace of any size is made of, without its spans",
    description = "Its services, critical path, failed spans, and how many spans sit at each depth \
                   and start in each slice of its duration: the map for reading a huge trace a \
                   window at a time.",
    params(("id" = String, Path, description = "the trace id: X-Ray `1-xxxxxxxx-<24 hex>` or 32 hex digits")),
    security(("session" = [])),
    responses(
        (status = 200, description = "the trace's overview", body = TraceOverview),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn trace_summary(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TraceOverview>, ApiError> {
    let trace = analysed(&state, &user, &id).await?;
    let mut overview = trace
        .overview(state.trace_config.window_limit)
        .ok_or_else(|| ApiError::NotFound(format!("the trace {id} has no spans")))?;
    reveal::mask_spans(
        &state.masker,
        std::iter::once(&mut overview.root).chain(&mut overview.errors),
    );
    for step in &mut overview.critical_path {
        state.masker.mask_in_place(&mut step.name);
    }
    Ok(Json(overview))
}

/// `?from=&to=&root=` of a window.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowParams {
    /// The window's start, in nanoseconds since the Unix epoch; the trace's start when absent.
    from: Option<i64>,
    /// The window's end, in nanoseconds since the Unix epoch; the trace's end when absent.
    to: Option<i64>,
    /// The span whose subtree the window shows; the whole trace when absent.
    root: Option<String>,
}

/// `GET /api/v1/traces/{id}/window?from=&to=&root=`.
#[utoipa::path(
    get,
    path = "/traces/{id}/window",
    tag = "traces",
    summary = "The spans of a trace in one time range and subtree",
    description = "Spans that overlap the range, parents before children, level by level as deep as \
                   the window limit allows; each row says how many spans below it are left out, and \
                   a window rooted at that span shows them.",
    params(
        ("id" = String, Path, description = "the trace id: X-Ray `1-xxxxxxxx-<24 hex>` or 32 hex digits"),
        WindowParams,
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "one window of the trace's spans", body = TraceWindow),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn trace_window(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<WindowParams>,
) -> Result<Json<TraceWindow>, ApiError> {
    let trace = analysed(&state, &user, &id).await?;
    let table = &trace.table;
    let root = match params.root.as_deref() {
        None => None,
        Some(span_id) => Some(table.find(span_id).ok_or_else(|| {
            ApiError::NotFound(format!(
                "the trace {id} has no span \"{}\"; take span ids from its summary or a window",
                span_id.chars().take(40).collect::<String>()
            ))
        })?),
    };
    let whole = |pick: fn(i64, i64) -> i64, of: fn(&vitals_trace::SpanTable, u32) -> i64| {
        (0..table.len() as u32)
            .map(|span| of(table, span))
            .reduce(pick)
            .unwrap_or_default()
    };
    let from = params
        .from
        .unwrap_or_else(|| whole(i64::min, vitals_trace::SpanTable::start));
    let to = params
        .to
        .unwrap_or_else(|| whole(i64::max, vitals_trace::SpanTable::end));
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_range",
            format!("`from` ({from}) is after `to` ({to}); give the window's start first, in nanoseconds"),
        ));
    }
    let limit = state.trace_config.window_limit;
    let trace = std::sync::Arc::clone(&trace);
    let mut window = tokio::task::spawn_blocking(move || trace.window(from, to, root, limit))
        .await
        .map_err(|error| ApiError::Internal(format!("cutting a trace window stopped: {error}")))?;
    reveal::mask_spans(&state.masker, window.spans.iter_mut().map(|row| &mut row.span));
    Ok(Json(window))
}

/// `GET /api/v1/traces/{id}/compare/{other}`: both ids in the path, so the audit trail names them.
#[utoipa::path(
    get,
    path = "/traces/{id}/compare/{other}",
    tag = "traces",
    summary = "Where two traces spent their time differently, span by span and by service",
    description = "Spans are matched by their place in the tree: the same service and operation under \
                   matched parents, the k-th of equals by start. Answers a sentence, the differences of \
                   own time by service, the matched spans that differ most, and the spans only one trace has.",
    params(
        ("id" = String, Path, description = "the trace compared against, such as a usual one"),
        ("other" = String, Path, description = "the trace asked about, such as a slow one"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "the comparison", body = TraceComparison),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn compare_traces(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((id, other)): ApiPath<(String, String)>,
) -> Result<Json<TraceComparison>, ApiError> {
    let (a, b) = tokio::try_join!(analysed(&state, &user, &id), analysed(&state, &user, &other))?;
    let mut comparison = tokio::task::spawn_blocking(move || compare(&a.table, &b.table))
        .await
        .map_err(|error| ApiError::Internal(format!("comparing two traces stopped: {error}")))?;
    let masker = &state.masker;
    let names = [&mut comparison.a.operation, &mut comparison.b.operation].into_iter();
    let names = names
        .chain(comparison.spans.iter_mut().map(|span| &mut span.name))
        .chain(comparison.only_in_a_first.iter_mut().map(|span| &mut span.name))
        .chain(comparison.only_in_b_first.iter_mut().map(|span| &mut span.name));
    // The sentence names operations too.
    for text in names.chain(std::iter::once(&mut comparison.sentence)) {
        masker.mask_in_place(text);
    }
    Ok(Json(comparison))
}

/// The trace `id`, checked, fetched for the caller's scope and analysed.
pub(crate) async fn analysed(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<std::sync::Arc<Analysed>, ApiError> {
    if !is_trace_id(id) {
        return Err(ApiError::bad_request(
            "invalid_trace_id",
            format!(
                "\"{}\" is not a trace id; use the X-Ray form 1-xxxxxxxx-<24 hex> or 32 hex digits",
                id.chars().take(60).collect::<String>()
            ),
        ));
    }
    let scope = user.scope();
    let sources = state.guarded.for_scope(&scope);
    Ok(state.trace_analyses.get(&sources, &scope, id).await?)
}

/// Accepts `1-5f84c7a1-<24 hex>` (X-Ray) and 32 hex digits (W3C).
fn is_trace_id(id: &str) -> bool {
    let hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    match id.split('-').collect::<Vec<_>>().as_slice() {
        [w3c] => hex(w3c, 32),
        ["1", epoch, unique] => hex(epoch, 8) && hex(unique, 24),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_trace_id_forms_are_accepted() {
        assert!(is_trace_id("1-5f84c7a1-0123456789abcdef01234567"));
        assert!(is_trace_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_trace_id("2-5f84c7a1-0123456789abcdef01234567"));
        assert!(!is_trace_id("../../etc/passwd"));
        assert!(!is_trace_id("0123"));
    }
}
