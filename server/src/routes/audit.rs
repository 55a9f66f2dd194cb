//! `GET /api/v1/audit`: the audit trail for admins, filtered by user, action and time.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use vitals_api::{AuditAction, AuditPage};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{AuditFilter, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use crate::timespec::parse_time_ms;

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    user: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<AuditParams>,
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
    let events = state.auth.audit.query(&filter).await.map_err(ApiError::store)?;
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
