//! The published API contract: the frame of the OpenAPI document (tags, security, the shared
//! error answers) and `GET /api/v1/openapi.json`, which serves it.

use axum::Extension;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use utoipa::openapi::schema::Ref;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{RefOr, Response as ResponseObject};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse};
use vitals_api::{CSRF_HEADER, ErrorBody, TailMessage};

use crate::auth::session::COOKIE;

/// The document's frame; `app()` adds every route from its `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vitals API",
        description = "The JSON API behind the Vitals browser app. Every error answer is \
            `{\"error\": {\"code\", \"message\"}}`: `code` is stable, `message` says what to do. \
            Requests that change state (POST, PUT, PATCH, DELETE) need the `X-Vitals-Csrf: 1` header. \
            Requests the page makes on its own carry `X-Vitals-Background: 1`, so that they do not \
            keep an unattended session alive."
    ),
    tags(
        (name = "session", description = "Logging in and out"),
        (name = "status", description = "The status page: whether what clinicians rely on works"),
        (name = "dashboards", description = "Dashboards for operations"),
        (name = "logs", description = "Log queries for engineers"),
        (name = "metrics", description = "Metric queries for engineers"),
        (name = "traces", description = "Traces and the service map for engineers"),
        (name = "audit", description = "The audit trail, for admins"),
        (name = "health", description = "Liveness and readiness"),
        (name = "contract", description = "This document"),
    ),
    components(
        schemas(ErrorBody, TailMessage),
        responses(
            BadRequest,
            Unauthenticated,
            Forbidden,
            NotFound,
            Gone,
            PayloadTooLarge,
            TraceTooLarge,
            UnsupportedMediaType,
            TooManyRequests,
            UpstreamUnavailable,
            Unavailable,
            UpstreamTimeout
        )
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The two halves of a logged-in request: the session cookie, and the CSRF header that state
/// changes need on top.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE,
                "the session cookie a login sets (HttpOnly, Secure, SameSite=Strict)",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                CSRF_HEADER,
                "`1` on every request that changes state; a page on another site cannot set it",
            ))),
        );
    }
}

/// The request is wrong in a way the caller can fix: `error.code` says which check failed.
#[derive(ToResponse)]
pub struct BadRequest(pub ErrorBody);

/// No session, or it ended (`unauthenticated`, `session_expired`): log in (again).
#[derive(ToResponse)]
pub struct Unauthenticated(pub ErrorBody);

/// Logged in without the role this needs (`wrong_role`), or a state change without the CSRF
/// header or from another origin (`csrf`).
#[derive(ToResponse)]
pub struct Forbidden(pub ErrorBody);

/// What the path names does not exist.
#[derive(ToResponse)]
pub struct NotFound(pub ErrorBody);

/// What the path names no longer works: a share link revoked (`link_revoked`) or past its
/// expiry (`link_expired`).
#[derive(ToResponse)]
pub struct Gone(pub ErrorBody);

/// The request body is larger than 1 MB.
#[derive(ToResponse)]
pub struct PayloadTooLarge(pub ErrorBody);

/// The trace has more spans than are sent whole (`trace_too_large`): read its summary and windows.
#[derive(ToResponse)]
pub struct TraceTooLarge(pub ErrorBody);

/// The body is not sent as `application/json`.
#[derive(ToResponse)]
pub struct UnsupportedMediaType(pub ErrorBody);

/// Too many requests from this session, or too many failed logins: wait `Retry-After` seconds.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "seconds to wait before trying again")))]
pub struct TooManyRequests(pub ErrorBody);

/// The source behind this answer (Loki, Prometheus, X-Ray, Cognito) failed.
#[derive(ToResponse)]
pub struct UpstreamUnavailable(pub ErrorBody);

/// The session store cannot be used, or the source is resting after failures (`source_resting`,
/// with `Retry-After`).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "seconds until the source is tried again")))]
pub struct Unavailable(pub ErrorBody);

/// The source behind this answer did not answer in time.
#[derive(ToResponse)]
pub struct UpstreamTimeout(pub ErrorBody);

/// What a route may answer when it refuses someone or cannot check who they are: not logged
/// in (or a wrong password), the wrong role (or a failed CSRF check), too many requests, the
/// session store down. The role gate in front of every route behind login answers all four.
pub struct AccessErrors;

/// What a route that asks a source may answer instead: it failed, it is resting, it timed out.
pub struct SourceErrors;

/// What a route with a JSON body may answer instead: the body is not valid, the CSRF check
/// failed, the body is too large or not sent as JSON.
pub struct BodyErrors;

impl IntoResponses for AccessErrors {
    fn responses() -> BTreeMap<String, RefOr<ResponseObject>> {
        by_reference([
            (401, Unauthenticated::response().0),
            (403, Forbidden::response().0),
            (429, TooManyRequests::response().0),
            (503, Unavailable::response().0),
        ])
    }
}

impl IntoResponses for SourceErrors {
    fn responses() -> BTreeMap<String, RefOr<ResponseObject>> {
        by_reference([
            (502, UpstreamUnavailable::response().0),
            (503, Unavailable::response().0),
            (504, UpstreamTimeout::response().0),
        ])
    }
}

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<ResponseObject>> {
        by_reference([
            (400, BadRequest::response().0),
            (403, Forbidden::response().0),
            (413, PayloadTooLarge::response().0),
            (415, UnsupportedMediaType::response().0),
        ])
    }
}

/// Answers that point at the shared responses of the document's components.
fn by_reference<const N: usize>(answers: [(u16, &str); N]) -> BTreeMap<String, RefOr<ResponseObject>> {
    answers
        .into_iter()
        .map(|(status, name)| (status.to_string(), RefOr::Ref(Ref::from_response_name(name))))
        .collect()
}

/// The document as served, rendered once when the router is built.
#[derive(Clone)]
pub struct ApiDocument(pub Bytes);

impl ApiDocument {
    /// Pretty-printed with a final newline, byte for byte the copy committed as `api/openapi.json`.
    pub fn render(document: &utoipa::openapi::OpenApi) -> Self {
        let mut json = document
            .to_pretty_json()
            .expect("the OpenAPI document is plain data and always serialises");
        json.push('\n');
        Self(Bytes::from(json))
    }
}

/// `GET /api/v1/openapi.json`: this API's OpenAPI document, open to anyone.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "contract",
    summary = "This document",
    operation_id = "openapi_document",
    security(()),
    responses(
        (status = 200, description = "the OpenAPI 3.1 document of this API", body = Object, content_type = "application/json"),
    )
)]
pub async fn document(Extension(document): Extension<ApiDocument>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.0).into_response()
}
