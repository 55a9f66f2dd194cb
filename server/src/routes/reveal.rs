//! `POST /api/v1/reveal`: one masked log line or span, whole, for an engineer who says why.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use vitals_api::{Direction, LogQueryResponse, RevealRequest, Revealed};

use crate::auth::audit::AuditTarget;
use crate::auth::session::CurrentUser;
use crate::error::ApiError;
use crate::reveal::{RevealRef, digest};
use crate::routes::engineering::ApiJson;
use crate::routes::gate::ScopedSources;
use crate::routes::openapi::{AccessErrors, BodyErrors, NotFound, SourceErrors};
use crate::routes::traces::analysed;
use crate::sources::{LogQuery, TimeRange};
use crate::state::AppState;

/// Shortest reason accepted: a few words, not a keystroke.
pub const MIN_REASON_CHARS: usize = 8;
/// Longest reason kept.
const MAX_REASON_CHARS: usize = 500;
/// Lines of one stream read at the line's millisecond to find it among its neighbours.
const LINES_AT_ONE_INSTANT: u32 = 5_000;

#[utoipa::path(
    post,
    path = "/reveal",
    tag = "logs",
    summary = "Read one masked log line or span whole, giving a reason that the audit trail keeps",
    description = "Send the `reveal_ref` a masked line or span carried and why the patient data is \
                   needed. The source is asked again within the caller's scope; the answer is \
                   never cached, and the audit trail records who revealed what and why. Only \
                   engineers (and admins) may reveal.",
    request_body = RevealRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "the line or span, unmasked", body = Revealed),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
        BodyErrors,
    )
)]
pub async fn reveal(
    State(state): State<AppState>,
    user: CurrentUser,
    ScopedSources(sources): ScopedSources,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Response, ApiError> {
    let reason = request.reason.trim();
    if reason.chars().count() < MIN_REASON_CHARS {
        return Err(ApiError::bad_request(
            "reason_required",
            format!(
                "say why you need to see this patient data: write a reason of at least \
                 {MIN_REASON_CHARS} characters, such as the incident or ticket you are working on"
            ),
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::bad_request(
            "reason_too_long",
            format!("the reason is longer than {MAX_REASON_CHARS} characters; say it more briefly"),
        ));
    }
    let reference = RevealRef::parse(&request.reveal_ref)
        .map_err(|why| ApiError::bad_request("bad_ref", format!("the reveal reference {why}")))?;
    let revealed = match &reference {
        RevealRef::Line {
            time,
            digest: wanted,
            selector,
        } => {
            let at_ms = time.div_euclid(1_000_000);
            let query = LogQuery {
                query: selector.clone(),
                range: TimeRange::new(at_ms, at_ms + 1),
                limit: LINES_AT_ONE_INSTANT,
                direction: Direction::Forward,
                step_ms: 1_000,
            };
            let LogQueryResponse::Streams { lines } = sources.logs.query(&query).await? else {
                return Err(gone(&reference));
            };
            let line = lines
                .into_iter()
                .find(|line| line.time == *time && digest(&state.masker.mask(&line.line)) == *wanted)
                .ok_or_else(|| gone(&reference))?;
            Revealed::Line { line }
        }
        RevealRef::Span { trace_id, span_id } => {
            let trace = analysed(&state, &user, trace_id).await?;
            let span = trace.table.find(span_id).ok_or_else(|| gone(&reference))?;
            Revealed::Span {
                span: trace.table.span(span),
            }
        }
    };
    let mut response = Json(revealed).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, private"),
    );
    response.extensions_mut().insert(AuditTarget(format!(
        "{}, because: {reason}",
        reference.describe()
    )));
    Ok(response)
}

fn gone(reference: &RevealRef) -> ApiError {
    ApiError::NotFound(format!(
        "the {} is no longer in the source (it may have passed its retention) or is outside what \
         you may see; run the query again and reveal from its new answer",
        reference.describe()
    ))
}
