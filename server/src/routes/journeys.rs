//! The patient journey: how many patients reached each step, per clinic, against the same
//! period a week before, in a sentence. Counts only: no identifier or pseudonym leaves the server.

use axum::Json;
use axum::extract::State;
use vitals_api::{JourneyAnswer, JourneyList};

use crate::dashboards::words::range_words;
use crate::error::ApiError;
use crate::routes::engineering::{ApiPath, ApiQuery, request_range_at};
use crate::routes::openapi::{AccessErrors, BadRequest, NotFound, SourceErrors};
use crate::state::AppState;

/// A journey's range when none is asked for.
const DEFAULT_SPAN_MS: i64 = 24 * 3_600_000;
/// Relative ranges end on a whole minute, so people asking within the minute share one answer.
const NOW_GRAIN_MS: i64 = 60_000;

#[utoipa::path(
    get,
    path = "/journeys",
    tag = "insights",
    summary = "The patient journeys: their steps and what their groups are called",
    operation_id = "list_journeys",
    security(("session" = [])),
    responses(
        (status = 200, description = "every journey", body = JourneyList),
        AccessErrors,
    )
)]
pub async fn list(State(state): State<AppState>) -> Json<JourneyList> {
    Json(state.journeys.list())
}

#[utoipa::path(
    get,
    path = "/journeys/{id}",
    tag = "insights",
    summary = "One journey over a range: patients reaching each step, per clinic, against a week before",
    description = "Takes `from`, `to` and `var.<group>` (the journey's group label, such as `var.clinic=south`). \
                   Steps are joined by a pseudonymous id the server makes with a secret key; only counts are answered.",
    operation_id = "get_journey",
    params(
        ("id" = String, Path, description = "the journey", example = "patient-visit"),
        ("from" = Option<String>, Query, description = "the start: RFC 3339 or relative (`now-24h`); a day before `to` when absent"),
        ("to" = Option<String>, Query, description = "the end: RFC 3339 or relative; now when absent"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "the journey's counts and sentence", body = JourneyAnswer),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<JourneyAnswer>, ApiError> {
    let journey = state.journeys.find(&id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no journey \"{}\"; the list is at /api/v1/journeys",
            id.chars().take(60).collect::<String>()
        ))
    })?;
    let group_key = format!("var.{}", journey.group_by);
    let (mut from, mut to, mut group) = (None, None, None);
    for (key, value) in params {
        let slot = match key.as_str() {
            "from" => &mut from,
            "to" => &mut to,
            _ if key == group_key => &mut group,
            _ => {
                return Err(ApiError::bad_request(
                    "unknown_parameter",
                    format!(
                        "`{}` is not a parameter of this journey; it takes from, to and {group_key}",
                        key.chars().take(40).collect::<String>()
                    ),
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(ApiError::bad_request(
                "repeated_parameter",
                format!("`{key}` is given twice; give it once"),
            ));
        }
    }
    if let Some(value) = &group
        && !(1..=64).contains(&value.len())
            | !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::bad_request(
            "invalid_variable",
            format!("`{group_key}` takes a {} name such as north", journey.group_noun),
        ));
    }
    let now_ms = state.now_ms();
    let grain_now = now_ms - now_ms.rem_euclid(NOW_GRAIN_MS);
    let range = request_range_at(&state, from.as_deref(), to.as_deref(), DEFAULT_SPAN_MS, grain_now)?;
    let answer = state
        .journeys
        .answer(
            &state.sources,
            journey,
            range,
            group.as_deref(),
            &range_words(range, grain_now),
            now_ms,
        )
        .await?;
    Ok(Json(JourneyAnswer::clone(&answer)))
}
