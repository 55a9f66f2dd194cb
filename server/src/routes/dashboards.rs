//! Dashboards and their panels, as the business views read them.

use axum::Json;
use axum::extract::State;
use vitals_api::{DashboardList, DashboardSummary, PanelData};

use crate::dashboards::{self, CLINIC_NOW, ClinicNowPanel};
use crate::error::ApiError;
use crate::routes::engineering::ApiPath;
use crate::routes::gate::ScopedSources;
use crate::routes::openapi::{AccessErrors, NotFound, SourceErrors};
use crate::state::AppState;

/// `GET /api/v1/dashboards`.
#[utoipa::path(
    get,
    path = "/dashboards",
    tag = "dashboards",
    summary = "Every dashboard and its panels",
    operation_id = "list_dashboards",
    security(("session" = [])),
    responses(
        (status = 200, description = "every dashboard and its panels", body = DashboardList),
        AccessErrors,
    )
)]
pub async fn list() -> Json<DashboardList> {
    Json(DashboardList {
        dashboards: dashboards::list(),
    })
}

/// `GET /api/v1/dashboards/{id}`.
#[utoipa::path(
    get,
    path = "/dashboards/{id}",
    tag = "dashboards",
    summary = "One dashboard",
    operation_id = "get_dashboard",
    params(("id" = String, Path, description = "the dashboard", example = "clinic-now")),
    security(("session" = [])),
    responses(
        (status = 200, description = "the dashboard", body = DashboardSummary),
        (status = 404, response = NotFound),
        AccessErrors,
    )
)]
pub async fn get(ApiPath(id): ApiPath<String>) -> Result<Json<DashboardSummary>, ApiError> {
    dashboards::find(&id).map(Json).ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no dashboard \"{id}\"; the list is at /api/v1/dashboards"
        ))
    })
}

/// `GET /api/v1/dashboards/{id}/panels/{panel}`.
#[utoipa::path(
    get,
    path = "/dashboards/{id}/panels/{panel}",
    tag = "dashboards",
    summary = "One panel: its number, a sentence and a small chart",
    operation_id = "dashboard_panel",
    params(("id" = String, Path, description = "the dashboard", example = "clinic-now"), ("panel" = String, Path, description = "the panel", example = "registrations")),
    security(("session" = [])),
    responses(
        (status = 200, description = "the panel's number, sentence and chart", body = PanelData),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn panel(
    State(state): State<AppState>,
    ScopedSources(sources): ScopedSources,
    ApiPath((id, panel)): ApiPath<(String, String)>,
) -> Result<Json<PanelData>, ApiError> {
    let panel = (id == CLINIC_NOW)
        .then(|| ClinicNowPanel::from_id(&panel))
        .flatten()
        .ok_or_else(|| ApiError::NotFound(format!("dashboard \"{id}\" has no panel \"{panel}\"")))?;
    let data = dashboards::clinic_now_panel(&sources.metrics, panel, state.now_ms()).await?;
    Ok(Json(data))
}
