//! Dashboards and their panels, as the business views read them.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use vitals_api::{DashboardList, DashboardSummary, PanelData};

use crate::dashboards::{self, CLINIC_NOW, ClinicNowPanel};
use crate::error::ApiError;
use crate::sources::Sources;
use crate::state::AppState;

/// `GET /api/v1/dashboards`.
pub async fn list() -> Json<DashboardList> {
    Json(DashboardList {
        dashboards: dashboards::list(),
    })
}

/// `GET /api/v1/dashboards/{id}`.
pub async fn get(Path(id): Path<String>) -> Result<Json<DashboardSummary>, ApiError> {
    dashboards::list()
        .into_iter()
        .find(|dashboard| dashboard.id == id)
        .map(Json)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "there is no dashboard \"{id}\"; the list is at /api/v1/dashboards"
            ))
        })
}

/// `GET /api/v1/dashboards/{id}/panels/{panel}`.
pub async fn panel(
    State(state): State<AppState>,
    Extension(sources): Extension<Sources>,
    Path((id, panel)): Path<(String, String)>,
) -> Result<Json<PanelData>, ApiError> {
    let panel = (id == CLINIC_NOW)
        .then(|| ClinicNowPanel::from_id(&panel))
        .flatten()
        .ok_or_else(|| ApiError::NotFound(format!("dashboard \"{id}\" has no panel \"{panel}\"")))?;
    let data = dashboards::clinic_now_panel(&sources.metrics, panel, state.now_ms()).await?;
    Ok(Json(data))
}
