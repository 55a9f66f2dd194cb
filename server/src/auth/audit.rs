//! The audit layer: each route that reaches data declares its [`AuditAction`], and its answer leaves only once the access is on record.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vitals_api::{AuditAction, MAX_BODY_BYTES};

use super::session::{CurrentUser, SessionContext};
use crate::error::ApiError;
use crate::store::NewAuditEvent;

/// Runs a request behind the session gate and records who did `action` to what, and how it
/// went. The answer waits until the entry is stored; an entry that cannot be stored turns the
/// answer into a 503, so nothing leaves the server unrecorded.
pub async fn record_access(
    sessions: SessionContext,
    action: AuditAction,
    request: Request,
    next: Next,
) -> Response {
    let Some(user) = request.extensions().get::<CurrentUser>().cloned() else {
        return ApiError::Internal(format!(
            "the route recording `{action}` has no session gate in front of it"
        ))
        .into_response();
    };
    let (parts, body) = request.into_parts();
    // Read the body (at most the server's limit) to note the query it carries.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::PayloadTooLarge("the request body is larger than 1 MB; send a smaller body".into())
            .into_response();
    };
    // Inside the nested API router the path lacks its `/api/v1` prefix; the trail shows the original.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |original| original.0.clone());
    let target = access_target(uri.path(), uri.query(), &bytes);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    // A route that knows better what it showed says so (a reveal names the line and the reason).
    let target = match response.extensions().get::<AuditTarget>() {
        Some(AuditTarget(said)) => format!("{} {said}", uri.path()),
        None => target,
    };
    let entry = NewAuditEvent {
        at_ms: sessions.now_ms(),
        user: user.record.user,
        action,
        target,
        outcome: outcome(response.status()),
        client: user.client,
    };
    match sessions.auth.record(entry).await {
        Ok(()) => response,
        Err(refusal) => refusal.into_response(),
    }
}

/// What a route's answer says it showed, in place of the query the request carried; the trail
/// scrubs it like any target.
#[derive(Debug, Clone)]
pub struct AuditTarget(pub String);

/// How an access went, from its answer's status.
fn outcome(status: StatusCode) -> String {
    // A live tail answers 101 Switching Protocols when it opens: that is its success.
    if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
        "ok".to_owned()
    } else {
        format!("error {}", status.as_u16())
    }
}

/// The fields of a request body that say what was asked; the rest is skipped unread.
#[derive(serde::Deserialize)]
struct Asked<'a> {
    #[serde(borrow, default)]
    query: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    filter: Option<Cow<'a, str>>,
}

/// What was asked: the path and the query or filter the body or the query string carried, or
/// else the whole query string (an admin's filters on the trail). The trail scrubs it.
fn access_target(path: &str, query_string: Option<&str>, body: &[u8]) -> String {
    let asked = serde_json::from_slice::<Asked>(body)
        .ok()
        .and_then(|body| body.query.or(body.filter))
        .map(Cow::into_owned)
        .or_else(|| {
            let query_string = query_string.filter(|qs| !qs.is_empty())?;
            let named_query = url::form_urlencoded::parse(query_string.as_bytes())
                .find(|(name, _)| name == "query")
                .map(|(_, value)| value.into_owned());
            Some(named_query.unwrap_or_else(|| query_string.to_owned()))
        });
    match asked {
        Some(asked) => format!("{path} {asked}"),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_is_recorded_with_what_was_asked() {
        let body = br#"{"query": "{service=\"login-api\"} |= \"GetItem\"", "from": "now-1h"}"#;
        assert_eq!(
            access_target("/api/v1/logs/query", None, body),
            "/api/v1/logs/query {service=\"login-api\"} |= \"GetItem\""
        );
        assert_eq!(
            access_target(
                "/api/v1/logs/tail",
                Some("query=%7Bservice%3D%22records%22%7D&limit=5"),
                b""
            ),
            "/api/v1/logs/tail {service=\"records\"}"
        );
        assert_eq!(
            access_target("/api/v1/audit", Some("user=ana&action=logs_query"), b""),
            "/api/v1/audit user=ana&action=logs_query"
        );
        assert_eq!(
            access_target("/api/v1/service-map", None, b""),
            "/api/v1/service-map"
        );
    }

    #[test]
    fn an_opened_tail_is_a_success() {
        assert_eq!(outcome(StatusCode::SWITCHING_PROTOCOLS), "ok");
        assert_eq!(outcome(StatusCode::OK), "ok");
        assert_eq!(outcome(StatusCode::BAD_REQUEST), "error 400");
    }
}
