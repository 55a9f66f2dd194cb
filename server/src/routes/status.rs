//! `GET /api/v1/status`: the status page's components as JSON, for the page and for other tools.

use axum::Json;
use axum::extract::State;
use vitals_api::StatusResponse;

use crate::error::ApiError;
use crate::routes::openapi::AccessErrors;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/status",
    tag = "status",
    summary = "Whether registration, login, appointments and records work, in words",
    description = "Every component of the status page with its state, the sentence that says it, and since \
                   when; evaluated once per interval for everyone, so asking often costs the sources nothing.",
    operation_id = "get_status",
    security(("session" = [])),
    responses(
        (status = 200, description = "every component as of the last evaluation", body = StatusResponse),
        AccessErrors,
    )
)]
pub async fn get(State(state): State<AppState>) -> Result<Json<StatusResponse>, ApiError> {
    let answer = state
        .status
        .status(&state.sources, &state.dashboards.catalog(), state.now_ms())
        .await
        .map_err(|error| ApiError::store_of("the status page's history", error))?;
    Ok(Json(StatusResponse::clone(&answer)))
}
