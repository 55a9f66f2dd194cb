//! Sessions as requests meet them: the cookie, expiry, token refresh, the role gate and the audit of each access.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vitals_api::{BACKGROUND_HEADER, Role, SessionInfo};

use super::identity::{Identity, IdentityProvider, PendingChallenge};
use super::limits::{ApiLimiter, LoginLimiter};
use crate::error::ApiError;
use crate::sources::guard::Scope;
use crate::state::AppState;
use crate::store::{
    AuditLog, NewAuditEvent, SessionId, SessionLookup, SessionPolicy, SessionRecord, SessionStore,
};

/// The session cookie: `__Host-` binds it to this exact origin, over HTTPS, for every path.
pub const COOKIE: &str = "__Host-vitals";
/// Tokens are refreshed when they have less than this left.
const REFRESH_MARGIN_MS: i64 = 5 * 60_000;
/// A login halfway through a challenge must be finished within this.
pub const CHALLENGE_LIFETIME_MS: i64 = 5 * 60_000;

/// What the store keeps for a session: a logged-in identity, or a login waiting for a challenge answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionPayload {
    LoggedIn(Identity),
    Pending(PendingChallenge),
}

impl SessionPayload {
    pub fn to_json(&self) -> Result<String, ApiError> {
        serde_json::to_string(self)
            .map_err(|err| ApiError::Internal(format!("cannot encode a session: {err}")))
    }

    pub fn from_record(record: &SessionRecord) -> Result<Self, ApiError> {
        serde_json::from_str(&record.identity_json).map_err(|_| {
            ApiError::unauthenticated("session_expired", "your session could not be read; log in again")
        })
    }
}

/// Everything the server needs to log people in and keep them logged in.
pub struct Auth {
    /// `None` when neither Cognito nor demo users are configured: nobody can log in.
    pub provider: Option<Arc<dyn IdentityProvider>>,
    pub sessions: Arc<dyn SessionStore>,
    pub audit: Arc<dyn AuditLog>,
    pub policy: SessionPolicy,
    pub login_limiter: LoginLimiter,
    pub api_limiter: ApiLimiter,
    /// Whether the load balancer's `X-Forwarded-For` names the client (behind an ALB).
    pub trust_forwarded_for: bool,
}

impl Auth {
    /// Appends to the audit trail; a failure to write is logged, never shown to the person.
    pub async fn record(&self, event: NewAuditEvent) {
        if let Err(err) = self.audit.append(event).await {
            tracing::error!(error = %err, "could not write the audit trail; check the data directory");
        }
    }

    /// The client's address: the load balancer's `X-Forwarded-For` when trusted, else the peer.
    pub fn client_address(
        &self,
        request_headers: &HeaderMap,
        peer: Option<&ConnectInfo<std::net::SocketAddr>>,
    ) -> String {
        if self.trust_forwarded_for
            && let Some(forwarded) = request_headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
            && let Some(client) = forwarded.split(',').next_back()
        {
            return client.trim().to_owned();
        }
        peer.map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(address)| address.ip().to_string(),
        )
    }
}

/// How often sessions nobody came back to are removed (and their end audited).
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Removes expired sessions every few minutes and notes each in the audit trail, so an
/// expiry is recorded even when the person never returns.
pub async fn sweep_expired_sessions(state: AppState) {
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        ticker.tick().await;
        let now = state.now_ms();
        match state.auth.sessions.sweep(now, &state.auth.policy).await {
            Ok(expired) => {
                for record in expired.into_iter().filter(|record| !record.roles.is_empty()) {
                    state
                        .auth
                        .record(NewAuditEvent {
                            at_ms: now,
                            user: record.user,
                            action: "session_expired".into(),
                            target: String::new(),
                            outcome: "ended".into(),
                            client: "-".into(),
                        })
                        .await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not remove expired sessions; trying again later"),
        }
    }
}

/// The address a request came from, as the audit trail and the login limits see it.
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>();
        Ok(Self(state.auth.client_address(&parts.headers, peer)))
    }
}

/// The logged-in person behind a request, put into the request by [`require_role`].
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub session_id: SessionId,
    pub record: SessionRecord,
    pub client: String,
}

impl CurrentUser {
    pub fn info(&self, policy: &SessionPolicy) -> SessionInfo {
        self.record.info(policy)
    }

    /// Whether this person holds `role`; admins hold every role.
    pub fn may(&self, role: Role) -> bool {
        self.record.roles.iter().any(|held| held.grants(role))
    }

    /// The cache scope of this person's answers: shared only with people of the same roles.
    pub fn scope(&self) -> Scope {
        let roles: Vec<&str> = self.record.roles.iter().map(|role| role.as_str()).collect();
        Scope::new(&roles.join(","))
    }
}

/// The session id in the request's cookie, if it has a well-formed one.
pub fn session_cookie(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| SessionId::parse(value))
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(id: &SessionId) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={}; HttpOnly; Secure; SameSite=Strict; Path=/",
        id.cookie_value()
    ))
    .unwrap_or_else(|_| clear_cookie())
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-vitals=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// Whether a request is the person at work, rather than the page refreshing itself.
fn is_activity(headers: &HeaderMap) -> bool {
    headers.get(BACKGROUND_HEADER).and_then(|v| v.to_str().ok()) != Some("1")
}

/// Loads the session of a request: refreshes its tokens when they are about to expire and
/// notes the request for the idle timeout. Expired and unknown sessions are a 401.
pub async fn current_user(
    state: &AppState,
    headers: &HeaderMap,
    client: String,
) -> Result<CurrentUser, ApiError> {
    let auth = &state.auth;
    let Some(session_id) = session_cookie(headers) else {
        return Err(ApiError::unauthenticated(
            "unauthenticated",
            "log in to use Vitals",
        ));
    };
    let now = state.now_ms();
    let mut record = match auth
        .sessions
        .load(&session_id, now, &auth.policy)
        .await
        .map_err(ApiError::store)?
    {
        SessionLookup::Active(record) => record,
        SessionLookup::Expired(record) => {
            auth.record(NewAuditEvent {
                at_ms: now,
                user: record.user.clone(),
                action: "session_expired".into(),
                target: String::new(),
                outcome: "ended".into(),
                client,
            })
            .await;
            return Err(ApiError::unauthenticated(
                "session_expired",
                "your session ended; log in again",
            ));
        }
        SessionLookup::Missing => {
            return Err(ApiError::unauthenticated(
                "unauthenticated",
                "log in to use Vitals",
            ));
        }
    };
    let identity = match SessionPayload::from_record(&record)? {
        SessionPayload::LoggedIn(identity) => identity,
        SessionPayload::Pending(_) => {
            return Err(ApiError::unauthenticated(
                "unauthenticated",
                "finish logging in first",
            ));
        }
    };
    let mut changed = false;
    if let (Some(tokens), Some(provider)) = (&identity.tokens, &auth.provider)
        && tokens.expires_at_ms - now < REFRESH_MARGIN_MS
    {
        match provider.refresh(&identity).await {
            Ok(refreshed) => {
                record.roles = refreshed.roles.clone();
                record.identity_json = SessionPayload::LoggedIn(refreshed).to_json()?;
                changed = true;
            }
            Err(err) => {
                tracing::info!(error = %err, "ending a session whose tokens could not be refreshed");
                let _ = auth.sessions.delete(&session_id).await;
                return Err(ApiError::unauthenticated(
                    "session_expired",
                    "your session ended; log in again",
                ));
            }
        }
    }
    let touch = is_activity(headers) && record.needs_touch(now);
    if changed || touch {
        if touch {
            record.last_seen_ms = now;
        }
        match auth.sessions.update(&session_id, &record).await {
            Ok(()) => record.version += 1,
            // Another request of the same person touched it first; theirs counts.
            Err(crate::store::StoreError::Conflict) => {}
            Err(err) => return Err(ApiError::store(err)),
        }
    }
    Ok(CurrentUser {
        session_id,
        record,
        client,
    })
}

/// The gate in front of a group of routes: a session, the role, the per-person rate limit.
/// Puts the [`CurrentUser`] and the person's scoped sources into the request.
pub async fn require_role(
    state: AppState,
    roles: &'static [Role],
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .cloned();
    let client = state.auth.client_address(request.headers(), peer.as_ref());
    let user = current_user(&state, request.headers(), client).await?;
    if !roles.iter().any(|role| user.may(*role)) {
        let needed: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        return Err(ApiError::forbidden(
            "wrong_role",
            format!(
                "this needs the {} role; ask an admin if you should have it",
                needed.join(" or ")
            ),
        ));
    }
    if let Err(wait) = state.auth.api_limiter.check(&user.record.user, state.now_ms()) {
        return Err(ApiError::TooManyRequests {
            code: "too_many_requests",
            message: "too many requests from your session; slow down and try again in a moment".into(),
            retry_after_seconds: wait,
        });
    }
    let sources = state.guarded.for_scope(&user.scope());
    request.extensions_mut().insert(sources);
    request.extensions_mut().insert(user.clone());
    if roles == [Role::Engineer] {
        return Ok(audited_engineering(state, user, request, next).await);
    }
    Ok(next.run(request).await)
}

/// Runs an engineering request and writes who asked what, and how it went, to the audit trail.
async fn audited_engineering(state: AppState, user: CurrentUser, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // Read the body (at most the server's limit) to note the query it carries.
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return ApiError::PayloadTooLarge("the request body is larger than 1 MB; send a smaller body".into())
            .into_response();
    };
    // Inside the nested API router the path lacks its `/api/v1` prefix; the audit shows the original.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |original| original.0.clone());
    let asked = engineering_target(uri.path(), uri.query(), &bytes);
    let action = engineering_action(uri.path());
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let outcome = if response.status().is_success() {
        "ok".to_owned()
    } else {
        format!("error {}", response.status().as_u16())
    };
    state
        .auth
        .record(NewAuditEvent {
            at_ms: state.now_ms(),
            user: user.record.user.clone(),
            action: action.into(),
            target: asked,
            outcome,
            client: user.client.clone(),
        })
        .await;
    response
}

/// The audit action of an engineering path.
fn engineering_action(path: &str) -> &'static str {
    let rest = path
        .strip_prefix("/api/v1")
        .unwrap_or(path)
        .trim_start_matches('/');
    match rest.split('/').next().unwrap_or_default() {
        "logs" if rest.ends_with("/tail") => "logs_tail",
        "logs" => "logs_query",
        "metrics" => "metrics_query",
        "traces" => "traces_query",
        "service-map" => "service_map",
        _ => "engineering_query",
    }
}

/// What was asked: the path and the query or filter the body carried (the audit log scrubs it).
fn engineering_target(path: &str, query_string: Option<&str>, body: &[u8]) -> String {
    let asked = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|body| {
            ["query", "filter"]
                .into_iter()
                .find_map(|field| body.get(field).and_then(|v| v.as_str()).map(str::to_owned))
        })
        .or_else(|| {
            query_string.and_then(|qs| {
                url::form_urlencoded::parse(qs.as_bytes())
                    .find(|(name, _)| name == "query")
                    .map(|(_, value)| value.into_owned())
            })
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
    fn session_cookie_is_found_among_others() {
        let id = SessionId::generate().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {COOKIE}={}; other=1", id.cookie_value())).unwrap(),
        );
        assert_eq!(
            session_cookie(&headers).unwrap().cookie_value(),
            id.cookie_value()
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-vitals=not-an-id"),
        );
        assert!(session_cookie(&headers).is_none());
    }

    #[test]
    fn cookie_flags_keep_it_from_scripts_and_other_sites() {
        let cookie = set_cookie(&SessionId::generate().unwrap());
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("__Host-vitals="));
        for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
    }

    #[test]
    fn engineering_queries_are_audited_with_what_was_asked() {
        let body = br#"{"query": "{service=\"login-api\"} |= \"GetItem\"", "from": "now-1h"}"#;
        assert_eq!(
            engineering_target("/api/v1/logs/query", None, body),
            "/api/v1/logs/query {service=\"login-api\"} |= \"GetItem\""
        );
        assert_eq!(
            engineering_target(
                "/api/v1/logs/tail",
                Some("query=%7Bservice%3D%22records%22%7D&limit=5"),
                b""
            ),
            "/api/v1/logs/tail {service=\"records\"}"
        );
        assert_eq!(engineering_action("/api/v1/logs/tail"), "logs_tail");
        assert_eq!(engineering_action("/api/v1/traces/abc"), "traces_query");
        assert_eq!(engineering_action("/api/v1/service-map"), "service_map");
    }
}
