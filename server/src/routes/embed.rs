//! Embedding the status page: admins make, list and revoke embed tokens; `GET /embed/status`
//! answers an iframe with the page, framed only by the token's origins, no cookie needed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::{EmbedToken, EmbedTokenCreated, EmbedTokenList, EmbedTokenRequest};

use crate::auth::session::CurrentUser;
use crate::error::ApiError;
use crate::routes::engineering::{ApiJson, ApiPath};
use crate::routes::openapi::{AccessErrors, BodyErrors, NotFound};
use crate::state::AppState;
use crate::status::definition::PAGE;
use crate::status::embed_page::{Words, checked_origin, content_security_policy, refused, render};
use crate::status::embed_token::EmbedClaims;
use crate::store::links::new_link_id;
use crate::store::{EmbedTokenRecord, StoreError};

const DEFAULT_DAYS: u32 = 90;
const MAX_DAYS: u32 = 365;
const MAX_ORIGINS: usize = 20;
const DAY_MS: i64 = 86_400_000;

fn tokens_failed(error: StoreError) -> ApiError {
    ApiError::store_of("embed tokens", error)
}

fn shown(record: EmbedTokenRecord) -> EmbedToken {
    EmbedToken {
        id: record.id,
        page: record.page,
        origins: record.origins,
        created_by: record.created_by,
        created_at: record.created_at_ms,
        expires_at: record.expires_at_ms,
        revoked_at: record.revoked_at_ms,
    }
}

/// `POST /api/v1/embed-tokens`.
#[utoipa::path(
    post,
    path = "/embed-tokens",
    tag = "status",
    summary = "Make an embed link for the status page, framed only by the given origins",
    operation_id = "create_embed_token",
    request_body = EmbedTokenRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "the token's record, the signed token (shown only now) and the iframe's address", body = EmbedTokenCreated),
        BodyErrors,
        AccessErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<EmbedTokenRequest>,
) -> Result<(StatusCode, Json<EmbedTokenCreated>), ApiError> {
    if request.origins.is_empty() || request.origins.len() > MAX_ORIGINS {
        return Err(ApiError::bad_request(
            "invalid_origins",
            format!(
                "give between 1 and {MAX_ORIGINS} origins that may frame the status page, such as https://intranet.hospital.example"
            ),
        ));
    }
    let mut origins = Vec::new();
    for origin in &request.origins {
        let origin =
            checked_origin(origin).map_err(|problem| ApiError::bad_request("invalid_origin", problem))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let days = request.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_expiry",
            format!("`expires_in_days` is {days}; an embed link works for 1 to {MAX_DAYS} days"),
        ));
    }
    let now_ms = state.now_ms();
    let record = EmbedTokenRecord {
        id: new_link_id().map_err(tokens_failed)?,
        page: PAGE.to_owned(),
        origins,
        created_by: user.record.user.clone(),
        created_at_ms: now_ms,
        expires_at_ms: now_ms + i64::from(days) * DAY_MS,
        revoked_at_ms: None,
    };
    state
        .auth
        .status
        .insert_token(&record)
        .await
        .map_err(tokens_failed)?;
    let secret = state.embed_signer.sign(&EmbedClaims {
        id: record.id.clone(),
        page: record.page.clone(),
        expires_at_s: record.expires_at_ms.div_euclid(1_000),
    });
    let url = format!("/embed/status?token={secret}");
    Ok((
        StatusCode::CREATED,
        Json(EmbedTokenCreated {
            token: shown(record),
            secret,
            url,
        }),
    ))
}

/// `GET /api/v1/embed-tokens`.
#[utoipa::path(
    get,
    path = "/embed-tokens",
    tag = "status",
    summary = "Every embed link for the status page, newest first",
    operation_id = "list_embed_tokens",
    security(("session" = [])),
    responses(
        (status = 200, description = "the tokens' records, newest first (the signed tokens are not kept)", body = EmbedTokenList),
        AccessErrors,
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<EmbedTokenList>, ApiError> {
    let tokens = state.auth.status.tokens().await.map_err(tokens_failed)?;
    Ok(Json(EmbedTokenList {
        tokens: tokens.into_iter().map(shown).collect(),
    }))
}

/// `DELETE /api/v1/embed-tokens/{id}`.
#[utoipa::path(
    delete,
    path = "/embed-tokens/{id}",
    tag = "status",
    summary = "Revoke an embed link: the pages framing it show that the status cannot be shown",
    operation_id = "revoke_embed_token",
    params(("id" = String, Path, description = "the token's id")),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "the link no longer works (revoking one already revoked changes nothing)"),
        (status = 404, response = NotFound),
        AccessErrors,
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let now_ms = state.now_ms();
    let revoked = state
        .auth
        .status
        .revoke_token(&id, now_ms)
        .await
        .map_err(tokens_failed)?;
    state.embed_cache.forget(&id);
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(
            "no embed token has this id; list them to see which there are".into(),
        ))
    }
}

/// `?token=` on the embed page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmbedParams {
    /// The signed token from the embed link.
    token: Option<String>,
}

/// The page an iframe shows: `status`, the HTML and the policy it is framed under.
fn page(status: StatusCode, html: impl Into<Bytes>, policy: &str) -> Response {
    let mut response = (status, Html(html.into())).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The plain page that says the status cannot be shown; why goes to the log only.
fn cannot_show(words: &Words, why: &str) -> Response {
    tracing::info!(reason = why, "the embedded status page was refused");
    page(
        StatusCode::FORBIDDEN,
        refused(words),
        &content_security_policy(&[]),
    )
}

/// `GET /embed/status?token=`.
#[utoipa::path(
    get,
    path = "/embed/status",
    tag = "status",
    summary = "The status page for an iframe: server-rendered HTML, no cookie, framed only by the token's origins",
    operation_id = "embed_status",
    params(EmbedParams),
    responses(
        (status = 200, description = "the page, with `Content-Security-Policy: frame-ancestors` naming exactly the token's origins", content_type = "text/html", body = String),
        (status = 403, description = "a missing, expired, revoked, changed or other page's token: a plain page saying the status cannot be shown", content_type = "text/html", body = String),
    )
)]
pub async fn embed_status(State(state): State<AppState>, Query(params): Query<EmbedParams>) -> Response {
    let now_ms = state.now_ms();
    let words = &state.status.page().words;
    let cannot_show = |why: &str| cannot_show(words, why);
    let claims = match state
        .embed_signer
        .check(params.token.as_deref(), PAGE, now_ms.div_euclid(1_000))
    {
        Ok(claims) => claims,
        Err(refusal) => return cannot_show(&refusal.to_string()),
    };
    let record = match state
        .embed_cache
        .token(state.auth.status.as_ref(), &claims.id, now_ms)
        .await
    {
        Ok(Some(record)) => record,
        Ok(None) => return cannot_show("the token's record is gone"),
        Err(error) => return cannot_show(&format!("the token could not be looked up: {error}")),
    };
    if record.revoked_at_ms.is_some() {
        return cannot_show("the token was revoked");
    }
    if now_ms >= record.expires_at_ms {
        return cannot_show("the token has expired");
    }
    match state
        .status
        .status(&state.sources, &state.dashboards.catalog(), now_ms)
        .await
    {
        Ok(status) => page(
            StatusCode::OK,
            state
                .embed_cache
                .page(&status, || render(&status, words, status.interval_seconds)),
            &content_security_policy(&record.origins),
        ),
        Err(error) => cannot_show(&format!("the status could not be read: {error}")),
    }
}
