//! What went wrong, in one sentence: each stretch an objective failed fast, tied to the
//! dependency, span and log pattern behind it; the sentence for operations, the evidence for
//! engineers.

use axum::Json;
use axum::extract::State;
use vitals_api::{ExplanationList, Role};

use crate::auth::session::CurrentUser;
use crate::error::ApiError;
use crate::insights::explain::Reading;
use crate::routes::engineering::ApiQuery;
use crate::routes::openapi::{AccessErrors, BadRequest};
use crate::routes::slos::SloRangeParams;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/explanations",
    tag = "insights",
    summary = "What went wrong in a range: each stretch an objective failed fast, in one sentence, with its evidence",
    description = "Each stretch of the range in which an objective's failures burned its error budget at the \
                   fastest alert's rate, newest first, told in one sentence: since when, how many failed, and \
                   the cause the evidence shows. For engineers, the evidence: the dependency whose failed calls \
                   rose (the service map's edges, compared with as long before), the span the newest failing \
                   trace failed at, and the new log pattern of the failures with the query that keeps its \
                   lines. Found deterministically; a range where nothing failed has none, and a cause the \
                   evidence does not show is never named. Explained once per evaluation of the objectives.",
    operation_id = "list_explanations",
    params(SloRangeParams),
    security(("session" = [])),
    responses(
        (status = 200, description = "what went wrong in the range, newest first", body = ExplanationList),
        (status = 400, response = BadRequest),
        AccessErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<SloRangeParams>,
) -> Result<Json<ExplanationList>, ApiError> {
    let now_ms = state.now_ms();
    let range = params.range(&state, now_ms)?;
    let reading = Reading {
        sources: &state.sources,
        masker: &state.masker,
        slos: &state.slos,
        status: &state.status,
    };
    Ok(Json(
        state
            .explanations
            .list(&reading, range, now_ms, user.may(Role::Engineer))
            .await,
    ))
}
