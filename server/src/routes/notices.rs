//! Notices on the status page: operations and admins post incidents and maintenance windows
//! (`POST /api/v1/notices`), add updates that change or resolve them
//! (`POST /api/v1/notices/{id}/updates`); everyone who sees the status lists them
//! (`GET /api/v1/notices`). Every change is audited by the router.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use vitals_api::{Notice, NoticeList, NoticeRequest, NoticeUpdateRequest};

use crate::auth::audit::AuditTarget;
use crate::auth::session::CurrentUser;
use crate::error::ApiError;
use crate::routes::engineering::{ApiJson, ApiPath};
use crate::routes::openapi::{AccessErrors, BodyErrors, NotFound};
use crate::state::AppState;
use crate::status::notices::{LISTED_MS, Refusal, current_and_past, posted, updated};
use crate::store::StoreError;
use crate::store::links::new_link_id;

/// Tries at one update when others change the notice at the same moment.
const UPDATE_TRIES: usize = 5;

fn notices_failed(error: StoreError) -> ApiError {
    ApiError::store_of("notices", error)
}

fn refused(refusal: Refusal) -> ApiError {
    ApiError::bad_request(refusal.code, refusal.message)
}

/// The answer of a change: the notice, and the audit trail told which one changed.
fn changed(status: StatusCode, notice: Notice) -> axum::response::Response {
    let updates = match notice.updates.len() {
        1 => "1 update".to_owned(),
        n => format!("{n} updates"),
    };
    let target = format!("notice {} ({:?}, {updates})", notice.id, notice.kind);
    let mut response = (status, Json(notice)).into_response();
    response.extensions_mut().insert(AuditTarget(target));
    response
}

/// `GET /api/v1/notices`.
#[utoipa::path(
    get,
    path = "/notices",
    tag = "status",
    summary = "Current notices, and those finished in the last 90 days",
    operation_id = "list_notices",
    security(("session" = [])),
    responses(
        (status = 200, description = "open incidents and announced or running maintenance, then past ones, newest first", body = NoticeList),
        AccessErrors,
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<NoticeList>, ApiError> {
    let now_ms = state.now_ms();
    let notices = state
        .auth
        .status
        .notices(now_ms - LISTED_MS)
        .await
        .map_err(notices_failed)?;
    let (current, past) = current_and_past(notices, now_ms, now_ms - LISTED_MS);
    Ok(Json(NoticeList { current, past }))
}

/// `POST /api/v1/notices`.
#[utoipa::path(
    post,
    path = "/notices",
    tag = "status",
    summary = "Post an incident or a maintenance window on the status page",
    description = "A maintenance window puts the components it names under maintenance from its start to its end, \
                   whatever the readings say; an incident stays until an update resolves it.",
    operation_id = "post_notice",
    request_body = NoticeRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "the notice, with its first update", body = Notice),
        BodyErrors,
        AccessErrors,
    )
)]
pub async fn post(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NoticeRequest>,
) -> Result<axum::response::Response, ApiError> {
    let now_ms = state.now_ms();
    let page = state.status.page();
    let mut notice = posted(
        page,
        &request,
        new_link_id().map_err(notices_failed)?,
        &user.record.user,
        now_ms,
    )
    .map_err(refused)?;
    // 128 random bits do not collide; should they, a second draw settles it.
    if let Err(StoreError::Conflict) = state.auth.status.insert_notice(&notice).await {
        notice.id = new_link_id().map_err(notices_failed)?;
        state
            .auth
            .status
            .insert_notice(&notice)
            .await
            .map_err(notices_failed)?;
    }
    state.status.notices_changed().await;
    Ok(changed(StatusCode::CREATED, notice))
}

/// `POST /api/v1/notices/{id}/updates`.
#[utoipa::path(
    post,
    path = "/notices/{id}/updates",
    tag = "status",
    summary = "Add an update to a notice: its words, and the progress, title, components or window it changes",
    description = "Progress `resolved` ends an incident, or a maintenance window early. Two people updating at \
                   once both keep their update.",
    operation_id = "update_notice",
    params(("id" = String, Path, description = "the notice's id")),
    request_body = NoticeUpdateRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "the notice with the update at the end of its timeline", body = Notice),
        (status = 404, response = NotFound),
        BodyErrors,
        AccessErrors,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<NoticeUpdateRequest>,
) -> Result<axum::response::Response, ApiError> {
    let store = &state.auth.status;
    for _ in 0..UPDATE_TRIES {
        let Some(notice) = store.notice(&id).await.map_err(notices_failed)? else {
            return Err(ApiError::NotFound(
                "no notice has this id; list the notices to see which there are".into(),
            ));
        };
        let now_ms = state.now_ms();
        let next =
            updated(state.status.page(), &notice, &request, &user.record.user, now_ms).map_err(refused)?;
        match store.replace_notice(&next, notice.updates.len()).await {
            Ok(()) => {
                state.status.notices_changed().await;
                return Ok(changed(StatusCode::OK, next));
            }
            // Somebody else updated it meanwhile: read theirs, and add this one after it.
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(notices_failed(error)),
        }
    }
    Err(ApiError::StoreUnavailable(
        "the notice is being updated by several people at once; send this update again".into(),
    ))
}
