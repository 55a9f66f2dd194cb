//! Service level objectives: whether each business capability met its goal, its error budget,
//! and how fast it is being used; in sentences for operations, with charts and queries for
//! engineers. Evaluated once per interval for everyone.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::{Role, SloDetail, SloList};

use crate::auth::session::CurrentUser;
use crate::dashboards::words::{moment, range_words};
use crate::error::ApiError;
use crate::insights::slo::board::{self, DetailRefusal};
use crate::routes::engineering::{ApiPath, ApiQuery, request_range_at};
use crate::routes::openapi::{AccessErrors, BadRequest, NotFound, SourceErrors};
use crate::sources::TimeRange;
use crate::state::AppState;

/// A detail's range when none is asked for.
const DEFAULT_SPAN_MS: i64 = 24 * 3_600_000;

/// `?from=&to=` of an objective's detail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SloRangeParams {
    /// The start: RFC 3339 or relative (`now-7d`); a day before `to` when absent. At most four
    /// weeks back.
    pub from: Option<String>,
    /// The end: RFC 3339 or relative; now when absent.
    pub to: Option<String>,
}

impl SloRangeParams {
    /// The range asked for at `now_ms`: the last day when absent.
    pub fn range(&self, state: &AppState, now_ms: i64) -> Result<TimeRange, ApiError> {
        request_range_at(
            state,
            self.from.as_deref(),
            self.to.as_deref(),
            DEFAULT_SPAN_MS,
            now_ms,
        )
    }
}

#[utoipa::path(
    get,
    path = "/slos",
    tag = "insights",
    summary = "Every objective: goal met or not, error budget left, burn rates, in sentences",
    description = "Each business capability's objective over its goal window, the error budget left over its \
                   budget window, the multi-window burn rates, and whether the last hour is unusual against the \
                   same hour of the last four weeks; evaluated once per interval for everyone.",
    operation_id = "list_slos",
    security(("session" = [])),
    responses(
        (status = 200, description = "every objective as of the last evaluation", body = SloList),
        AccessErrors,
    )
)]
pub async fn list(State(state): State<AppState>) -> Json<SloList> {
    Json(state.slos.list(&state.sources, state.now_ms()).await)
}

#[utoipa::path(
    get,
    path = "/slos/{id}",
    tag = "insights",
    summary = "One objective over a range: its sentence, burn-rate and budget charts; queries for engineers",
    operation_id = "get_slo",
    params(
        ("id" = String, Path, description = "the objective", example = "logins"),
        SloRangeParams,
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "the objective over the range", body = SloDetail),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<SloRangeParams>,
) -> Result<Json<SloDetail>, ApiError> {
    let now_ms = state.now_ms();
    let range = params.range(&state, now_ms)?;
    let evaluation = state.slos.evaluation(&state.sources, now_ms).await;
    let evaluated = evaluation
        .slos
        .iter()
        .find(|one| one.slo.id == id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "there is no objective \"{}\"; the list is at /api/v1/slos",
                id.chars().take(60).collect::<String>()
            ))
        })?;
    let backend = match evaluated.slo.signal {
        crate::dashboards::definition::Signal::Metrics => state.sources.metrics.backend(),
        crate::dashboards::definition::Signal::Logs => state.sources.logs.backend(),
    };
    board::detail(
        evaluated,
        range,
        &range_words(range, now_ms),
        backend,
        user.may(Role::Engineer),
    )
    .map(Json)
    .map_err(|refusal| match refusal {
        DetailRefusal::TooEarly { earliest_ms } => ApiError::bad_request(
            "range_too_early",
            format!(
                "objectives are kept for the last four weeks; pick a range from {} on",
                moment(earliest_ms)
            ),
        ),
        DetailRefusal::Unavailable(error) => ApiError::Source(error),
    })
}
