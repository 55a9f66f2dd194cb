//! Dashboards and their panels, as the business views read them.
//!
//! A panel request names only a dashboard, a panel, a time range and allowlisted variable
//! values; the server fills in the query. Business roles never see query text.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use vitals_api::{DashboardList, DashboardSummary, PanelData, Role};

use crate::auth::session::CurrentUser;
use crate::dashboards::answers::AnswerKey;
use crate::dashboards::evaluate::{self, Choices};
use crate::dashboards::{self, Dashboard, NOW_GRAIN_MS};
use crate::error::ApiError;
use crate::routes::engineering::{ApiPath, ApiQuery, request_range_at};
use crate::routes::openapi::{AccessErrors, BadRequest, NotFound, SourceErrors};
use crate::state::AppState;

/// The most variables one request may carry.
const MAX_VARIABLES: usize = 16;

/// `GET /api/v1/dashboards`.
#[utoipa::path(
    get,
    path = "/dashboards",
    tag = "dashboards",
    summary = "The dashboards one may open, with their variables and panels",
    operation_id = "list_dashboards",
    security(("session" = [])),
    responses(
        (status = 200, description = "the dashboards one may open; queries for engineers only", body = DashboardList),
        AccessErrors,
    )
)]
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Json<DashboardList> {
    let catalog = state.dashboards.catalog();
    Json(DashboardList {
        dashboards: catalog
            .all()
            .iter()
            .filter(|dashboard| dashboards::may_open(dashboard, |role| user.may(role)))
            .map(|dashboard| dashboards::summary(dashboard, user.may(Role::Engineer)))
            .collect(),
    })
}

/// `GET /api/v1/dashboards/{id}`.
#[utoipa::path(
    get,
    path = "/dashboards/{id}",
    tag = "dashboards",
    summary = "One dashboard: its variables and panels; queries for engineers only",
    operation_id = "get_dashboard",
    params(("id" = String, Path, description = "the dashboard", example = "patient-registrations")),
    security(("session" = [])),
    responses(
        (status = 200, description = "the dashboard", body = DashboardSummary),
        (status = 404, response = NotFound),
        AccessErrors,
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DashboardSummary>, ApiError> {
    let dashboard = openable(&state, &user, &id)?;
    Ok(Json(dashboards::summary(&dashboard, user.may(Role::Engineer))))
}

/// `GET /api/v1/dashboards/{id}/panels/{panel}?from=&to=&var.NAME=`.
#[utoipa::path(
    get,
    path = "/dashboards/{id}/panels/{panel}",
    tag = "dashboards",
    summary = "One panel over a time range: its number, a sentence, a chart and rows",
    description = "Takes only `from`, `to` and `var.NAME` for each of the dashboard's variables, \
                   with a value from its allowlist; anything else is refused. The server fills in the query.",
    operation_id = "dashboard_panel",
    params(
        ("id" = String, Path, description = "the dashboard", example = "patient-registrations"),
        ("panel" = String, Path, description = "the panel", example = "registered"),
        ("from" = Option<String>, Query, description = "the start: RFC 3339 or relative (`now-24h`); the dashboard's `default_from` when absent"),
        ("to" = Option<String>, Query, description = "the end: RFC 3339 or relative; now when absent"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "the panel's number, sentence, chart and rows", body = PanelData),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn panel(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((id, panel_id)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let dashboard = openable(&state, &user, &id)?;
    let panel = dashboard
        .panels
        .iter()
        .find(|panel| panel.id == panel_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "the dashboard \"{id}\" has no panel \"{panel_id}\"; its panels are listed at /api/v1/dashboards/{id}"
            ))
        })?;
    let asked = PanelParams::read(&dashboard, params)?;
    let now_ms = state.now_ms();
    let grain_now = now_ms - now_ms.rem_euclid(NOW_GRAIN_MS);
    let range = request_range_at(
        &state,
        Some(asked.from.as_deref().unwrap_or(&dashboard.default_from)),
        asked.to.as_deref(),
        0,
        grain_now,
    )?;
    let choices = Choices::of(&dashboard, &asked.vars);
    let scope = user.scope();
    let key = AnswerKey::new(scope.clone(), &id, &panel_id, range, choices);
    let body = match state.panel_answers.get(&key, &dashboard, now_ms) {
        Some(body) => body,
        None => {
            let sources = state.guarded.for_scope(&scope);
            let data = evaluate::answer(&sources, &state.masker, panel, &key.choices, range, now_ms).await?;
            let body = Bytes::from(
                serde_json::to_vec(&data).map_err(|error| ApiError::Internal(error.to_string()))?,
            );
            state
                .panel_answers
                .keep(key, Arc::clone(&dashboard), now_ms, body.clone());
            body
        }
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response())
}

/// The dashboard `id`, when it exists and `user` may open it.
fn openable(state: &AppState, user: &CurrentUser, id: &str) -> Result<Arc<Dashboard>, ApiError> {
    let catalog = state.dashboards.catalog();
    let dashboard = catalog.find(id).cloned().ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no dashboard \"{}\"; the list is at /api/v1/dashboards",
            id.chars().take(60).collect::<String>()
        ))
    })?;
    if !dashboards::may_open(&dashboard, |role| user.may(role)) {
        let roles: Vec<&str> = dashboard.roles.iter().map(|role| role.as_str()).collect();
        return Err(ApiError::forbidden(
            "wrong_role",
            format!(
                "the dashboard \"{}\" is for the {} role; ask an admin if you should see it",
                dashboard.title,
                roles.join(" or ")
            ),
        ));
    }
    Ok(dashboard)
}

/// A panel request's query string, checked: a range and allowlisted variables, nothing else.
struct PanelParams {
    from: Option<String>,
    to: Option<String>,
    vars: BTreeMap<String, String>,
}

impl PanelParams {
    fn read(dashboard: &Dashboard, params: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut asked = Self {
            from: None,
            to: None,
            vars: BTreeMap::new(),
        };
        let refused = |code: &'static str, message: String| ApiError::bad_request(code, message);
        for (key, value) in params {
            let twice = || format!("`{key}` is given twice; give it once");
            if key == "from" || key == "to" {
                let slot = if key == "from" {
                    &mut asked.from
                } else {
                    &mut asked.to
                };
                if slot.replace(value).is_some() {
                    return Err(refused("repeated_parameter", twice()));
                }
            } else if let Some(name) = key.strip_prefix("var.") {
                dashboards::check_variable(dashboard, name, &value)
                    .map_err(|problem| refused("variable_not_allowed", problem))?;
                if asked.vars.len() >= MAX_VARIABLES || asked.vars.insert(name.to_owned(), value).is_some() {
                    return Err(refused("repeated_parameter", twice()));
                }
            } else {
                let shown: String = key.chars().take(40).collect();
                return Err(refused(
                    "unknown_parameter",
                    format!(
                        "a panel takes only `from`, `to` and `var.NAME` for the dashboard's variables, not `{shown}`; \
                         the server writes the query, so no query can be sent"
                    ),
                ));
            }
        }
        Ok(asked)
    }
}
