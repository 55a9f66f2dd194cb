//! `GET /api/v1/audit`: the audit trail for admins, filtered by user, action and time.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::{AuditAction, AuditPage};

use crate::error::ApiError;
use crate::routes::engineering::ApiQuery;
use crate::routes::openapi::{AccessErrors, BadRequest};
use crate::state::AppState;
use crate::store::{AuditFilter, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use crate::timespec::parse_time_ms;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this person's entries.
    user: Option<String>,
    /// Only entries of this action, such as `login_failed`.
    action: Option<String>,
    /// The oldest time: RFC 3339 or relative (`now-1h`).
    from: Option<String>,
    /// The newest time: RFC 3339 or relative.
    to: Option<String>,
    /// How many entries at most (1 to 1,000; 100 when absent).
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    summary = "The audit trail, filtered by person, action and time",
    operation_id = "list_audit_events",
    params(AuditParams),
    security(("session" = [])),
    responses(
        (status = 200, description = "the matching entries, newest first", body = AuditPage),
        (status = 400, response = BadRequest),
        AccessErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let now = state.now_ms();
    let limit = params.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
    if limit == 0 || limit > MAX_AUDIT_LIMIT {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("`limit` is {limit}; ask for between 1 and {MAX_AUDIT_LIMIT} entries"),
        ));
    }
    let filter = AuditFilter {
        user: params.user.filter(|user| !user.is_empty()),
        action: params
            .action
            .filter(|action| !action.is_empty())
            .map(|action| audit_action(&action))
            .transpose()?,
        from_ms: params
            .from
            .as_deref()
            .map(|from| parse_time_ms("from", from, now))
            .transpose()?,
        to_ms: params
            .to
            .as_deref()
            .map(|to| parse_time_ms("to", to, now))
            .transpose()?,
        limit,
    };
    let events = state
        .auth
        .audit
        .query(&filter)
        .await
        .map_err(|error| ApiError::store_of("the audit trail", error))?;
    Ok(Json(AuditPage { events }))
}

/// The action an admin filters by, or a 400 naming the ones there are.
fn audit_action(name: &str) -> Result<AuditAction, ApiError> {
    AuditAction::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = AuditAction::ALL.iter().map(|action| action.as_str()).collect();
        ApiError::bad_request(
            "invalid_action",
            format!(
                "`action` is not one the trail records; use one of {}",
                known.join(", ")
            ),
        )
    })
}
