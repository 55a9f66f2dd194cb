//! Share links: `POST /api/v1/links` makes a short address for one view of a dashboard,
//! `GET /api/v1/links` lists one's own (every link, for an admin), `GET /api/v1/links/{id}`
//! opens one, `DELETE /api/v1/links/{id}` revokes it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use vitals_api::{LinkState, Role, ShareLink, ShareLinkCreated, ShareLinkList, ShareLinkRequest};

use crate::auth::session::CurrentUser;
use crate::dashboards;
use crate::error::ApiError;
use crate::routes::engineering::{ApiJson, ApiPath, request_range};
use crate::routes::openapi::{AccessErrors, BodyErrors, Gone, NotFound};
use crate::state::AppState;
use crate::store::links::{is_link_id, new_link_id};
use crate::store::{LinkRecord, LinkView, StoreError};

const DAY_MS: i64 = 86_400_000;
/// The longest time a link may carry, as written (`2026-11-24T08:00:00.000+01:00` fits twice over).
const MAX_TIME_CHARS: usize = 64;
/// Variables one link may carry at most.
const MAX_VARIABLES: usize = 20;

/// `POST /api/v1/links`: a short link to the view in the body.
#[utoipa::path(
    post,
    path = "/links",
    tag = "links",
    summary = "Share a view of a dashboard as a short link",
    operation_id = "create_link",
    request_body = ShareLinkRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "the link, and until when it works", body = ShareLinkCreated),
        BodyErrors,
        AccessErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ShareLinkRequest>,
) -> Result<(StatusCode, Json<ShareLinkCreated>), ApiError> {
    let now_ms = state.now_ms();
    let view = checked_view(&state, &user, &request)?;
    let expires_at_ms = expiry(&state, &user, &request, now_ms)?;
    let mut link = LinkRecord {
        id: new_link_id().map_err(links_failed)?,
        dashboard: request.dashboard,
        view,
        created_by: user.record.user.clone(),
        created_at_ms: now_ms,
        expires_at_ms,
        revoked_at_ms: None,
    };
    // 128 random bits do not collide; should they, a second draw settles it.
    if let Err(StoreError::Conflict) = state.auth.links.insert_link(&link).await {
        link.id = new_link_id().map_err(links_failed)?;
        state.auth.links.insert_link(&link).await.map_err(links_failed)?;
    }
    Ok((
        StatusCode::CREATED,
        Json(ShareLinkCreated {
            url: page_of(&link.id),
            id: link.id,
            expires_at: link.expires_at_ms,
        }),
    ))
}

/// `GET /api/v1/links`.
#[utoipa::path(
    get,
    path = "/links",
    tag = "links",
    summary = "The links one shared, newest first; every link, for an admin",
    operation_id = "list_links",
    security(("session" = [])),
    responses(
        (status = 200, description = "the links, newest first", body = ShareLinkList),
        AccessErrors,
    )
)]
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<ShareLinkList>, ApiError> {
    let created_by = (!user.may(Role::Admin)).then_some(user.record.user.as_str());
    let links = state.auth.links.links(created_by).await.map_err(links_failed)?;
    let now_ms = state.now_ms();
    Ok(Json(ShareLinkList {
        links: links.into_iter().map(|link| shown(link, now_ms)).collect(),
    }))
}

/// `GET /api/v1/links/{id}`: the view a link opens, while it works.
#[utoipa::path(
    get,
    path = "/links/{id}",
    tag = "links",
    summary = "Open a share link: the view it holds",
    operation_id = "open_link",
    params(("id" = String, Path, description = "the link's id, as in /s/{id}")),
    security(("session" = [])),
    responses(
        (status = 200, description = "the view the link opens", body = ShareLink),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        AccessErrors,
    )
)]
pub async fn open(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ShareLink>, ApiError> {
    let link = find(&state, &id).await?;
    let now_ms = state.now_ms();
    let ended = match state_at(&link, now_ms) {
        LinkState::Works => None,
        LinkState::Revoked => Some(("link_revoked", "was revoked", link.revoked_at_ms)),
        LinkState::Expired => Some(("link_expired", "expired", link.expires_at_ms)),
    };
    if let Some((code, how, at_ms)) = ended {
        return Err(ApiError::Gone {
            code,
            message: format!(
                "this link {how} ({}); ask whoever sent it for a new one",
                written(at_ms.unwrap_or(now_ms))
            ),
        });
    }
    let Some(dashboard) = state.dashboards.catalog().find(&link.dashboard).cloned() else {
        return Err(ApiError::Gone {
            code: "link_dashboard_gone",
            message: format!(
                "the dashboard this link opens (\"{}\") no longer exists; the list is at /dashboards",
                link.dashboard
            ),
        });
    };
    if !dashboards::may_open(&dashboard, |role| user.may(role)) {
        return Err(ApiError::forbidden(
            "wrong_role",
            format!(
                "this link opens \"{}\", which your role may not see; ask an admin if you should",
                dashboard.title
            ),
        ));
    }
    Ok(Json(shown(link, now_ms)))
}

/// `DELETE /api/v1/links/{id}`: stops a link from working; its creator or an admin may.
#[utoipa::path(
    delete,
    path = "/links/{id}",
    tag = "links",
    summary = "Revoke a share link",
    operation_id = "revoke_link",
    params(("id" = String, Path, description = "the link's id")),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "the link no longer works (revoking one already revoked changes nothing)"),
        (status = 404, response = NotFound),
        AccessErrors,
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let link = find(&state, &id).await?;
    if link.created_by != user.record.user && !user.may(Role::Admin) {
        return Err(ApiError::forbidden(
            "not_your_link",
            "only whoever shared this link, or an admin, may revoke it",
        ));
    }
    if state
        .auth
        .links
        .revoke_link(&link.id, state.now_ms())
        .await
        .map_err(links_failed)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown())
    }
}

/// The link an id names, whatever its state; a malformed id is as unknown as a wrong one.
async fn find(state: &AppState, id: &str) -> Result<LinkRecord, ApiError> {
    if !is_link_id(id) {
        return Err(unknown());
    }
    state
        .auth
        .links
        .link(id)
        .await
        .map_err(links_failed)?
        .ok_or_else(unknown)
}

/// The store of share links failed; the answer says so by name.
fn links_failed(error: StoreError) -> ApiError {
    ApiError::store_of("share links", error)
}

fn unknown() -> ApiError {
    ApiError::NotFound("no link has this address; check it was copied whole, or ask for a new one".into())
}

/// The view in a request, checked: a dashboard that exists, its variables with allowed
/// values, and times the server can read.
fn checked_view(
    state: &AppState,
    user: &CurrentUser,
    request: &ShareLinkRequest,
) -> Result<LinkView, ApiError> {
    let catalog = state.dashboards.catalog();
    let Some(dashboard) = catalog
        .find(&request.dashboard)
        .filter(|dashboard| dashboards::may_open(dashboard, |role| user.may(role)))
    else {
        let known: Vec<&str> = catalog
            .all()
            .iter()
            .filter(|dashboard| dashboards::may_open(dashboard, |role| user.may(role)))
            .map(|dashboard| dashboard.id.as_str())
            .collect();
        return Err(ApiError::bad_request(
            "unknown_dashboard",
            format!(
                "\"{}\" is not a dashboard you may open; share one of: {}",
                shortened(&request.dashboard),
                known.join(", ")
            ),
        ));
    };
    if request.vars.len() > MAX_VARIABLES {
        return Err(ApiError::bad_request(
            "too_many_variables",
            format!("a link carries at most {MAX_VARIABLES} variables"),
        ));
    }
    for (name, value) in &request.vars {
        dashboards::check_variable(dashboard, name, value)
            .map_err(|problem| ApiError::bad_request("variable_not_allowed", problem))?;
    }
    for (key, time) in [("from", &request.from), ("to", &request.to)] {
        if time
            .as_ref()
            .is_some_and(|time| time.chars().count() > MAX_TIME_CHARS)
        {
            return Err(ApiError::bad_request(
                "invalid_time",
                format!("`{key}` is longer than {MAX_TIME_CHARS} characters; write a time such as now-24h"),
            ));
        }
    }
    request_range(state, request.from.as_deref(), request.to.as_deref(), DAY_MS)?;
    Ok(LinkView {
        from: request.from.clone(),
        to: request.to.clone(),
        vars: request.vars.clone(),
    })
}

/// When a new link stops working: the sender's choice within the policy, the default otherwise;
/// never, for an admin who asks.
fn expiry(
    state: &AppState,
    user: &CurrentUser,
    request: &ShareLinkRequest,
    now_ms: i64,
) -> Result<Option<i64>, ApiError> {
    let policy = &state.link_policy;
    if request.never_expires {
        if request.expires_in_days.is_some() {
            return Err(ApiError::bad_request(
                "conflicting_expiry",
                "ask for either `never_expires` or `expires_in_days`, not both",
            ));
        }
        if !user.may(Role::Admin) {
            return Err(ApiError::forbidden(
                "never_expires_needs_admin",
                format!(
                    "only admins share links that never expire; leave `never_expires` out, \
                     or ask for up to {} days",
                    policy.max_expiry_days
                ),
            ));
        }
        return Ok(None);
    }
    let days = request.expires_in_days.unwrap_or(policy.default_expiry_days);
    if !(1..=policy.max_expiry_days).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_expiry",
            format!(
                "`expires_in_days` is {days}; ask for 1 to {} days",
                policy.max_expiry_days
            ),
        ));
    }
    Ok(Some(now_ms.saturating_add(i64::from(days) * DAY_MS)))
}

/// Whether a link opens at `now_ms`: revoked beats expired.
fn state_at(link: &LinkRecord, now_ms: i64) -> LinkState {
    if link.revoked_at_ms.is_some() {
        LinkState::Revoked
    } else if link.expires_at_ms.is_some_and(|expires_at| expires_at <= now_ms) {
        LinkState::Expired
    } else {
        LinkState::Works
    }
}

/// A link as the API shows it at `now_ms`.
fn shown(link: LinkRecord, now_ms: i64) -> ShareLink {
    ShareLink {
        state: state_at(&link, now_ms),
        url: page_of(&link.id),
        id: link.id,
        dashboard: link.dashboard,
        view: link.view,
        created_by: link.created_by,
        created_at: link.created_at_ms,
        expires_at: link.expires_at_ms,
        revoked_at: link.revoked_at_ms,
    }
}

/// The page that opens a link.
fn page_of(id: &str) -> String {
    format!("/s/{id}")
}

/// An instant in UTC as people read it: `2026-11-24 08:00 UTC`.
fn written(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|at| {
            at.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{at_ms} ms after 1970"))
}

/// What someone sent, cut short for a message.
fn shortened(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_utc_words() {
        assert_eq!(written(1_795_507_200_000), "2026-11-24 08:00 UTC");
    }

    #[test]
    fn long_names_are_cut_short_in_messages() {
        assert_eq!(shortened("clinic-now"), "clinic-now");
        assert_eq!(shortened(&"x".repeat(100)).chars().count(), 61);
    }

    #[test]
    fn a_link_opens_on_its_own_page() {
        assert_eq!(page_of("abc"), "/s/abc");
    }
}
