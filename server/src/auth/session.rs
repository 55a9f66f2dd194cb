//! Sessions as requests meet them: the cookie, expiry, token refresh, the role gate and the audit of each access.

use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use vitals_api::clock::Clock;
use vitals_api::{AuditAction, BACKGROUND_HEADER, ChallengeKind, Role, SessionInfo};

use super::identity::{AuthError, Identity, IdentityProvider, PendingChallenge, Tokens};
use super::limits::{ApiLimiter, LoginLimiter, TailLimits};
use crate::error::ApiError;
use crate::scope::{LabelScope, LabelScopes};
use crate::sources::guard::Scope;
use crate::store::TokenKey;
use crate::store::{
    AuditLog, LinkStore, NewAuditEvent, SessionId, SessionLookup, SessionPolicy, SessionRecord, SessionStore,
    StatusStore,
};

/// The session cookie: `__Host-` binds it to this exact origin, over HTTPS, for every path.
pub const COOKIE: &str = "__Host-vitals";
/// Tokens are refreshed when they have less than this left.
const REFRESH_MARGIN_MS: i64 = 5 * 60_000;
/// A login halfway through a challenge must be finished within this.
pub const CHALLENGE_LIFETIME_MS: i64 = 5 * 60_000;

/// What the store keeps for a session: a logged-in identity, or a login waiting for a challenge answer.
#[derive(Debug, Clone)]
pub enum SessionPayload {
    LoggedIn(Identity),
    Pending(PendingChallenge),
}

/// A [`SessionPayload`] as the store holds it: Cognito's tokens, and the session string of a
/// challenge (which could answer it), only sealed with the token key.
#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum StoredPayload {
    LoggedIn {
        username: String,
        roles: Vec<Role>,
        /// Absent in sessions stored before groups were kept: such a person is scoped by role
        /// until they log in again.
        #[serde(default)]
        groups: Vec<String>,
        /// The JSON of the identity's [`Tokens`]. An older store held an object here, which
        /// cannot be read as [`Sealed`], so such a session ends.
        tokens: Option<Sealed>,
    },
    Pending {
        kind: ChallengeKind,
        username: String,
        session: Sealed,
    },
}

/// A secret sealed for one username with the token key.
#[derive(Serialize, Deserialize)]
struct Sealed(String);

impl Sealed {
    fn seal(plaintext: &[u8], username: &str, key: &TokenKey) -> Result<Self, ApiError> {
        key.seal(plaintext, username)
            .map(Self)
            .map_err(|err| ApiError::Internal(err.to_string()))
    }

    /// The plaintext; a session whose secret cannot be opened (another key, a changed or
    /// plaintext entry) means logging in again.
    fn open(&self, username: &str, key: &TokenKey) -> Result<Vec<u8>, ApiError> {
        key.open(&self.0, username).map_err(|err| {
            tracing::warn!(error = %err, "a stored session could not be opened; the person must log in again");
            unreadable_session()
        })
    }
}

fn unreadable_session() -> ApiError {
    ApiError::unauthenticated("session_expired", "your session could not be read; log in again")
}

fn encoding_failed(err: serde_json::Error) -> ApiError {
    ApiError::Internal(format!("cannot encode a session: {err}"))
}

impl SessionPayload {
    /// The JSON the store keeps, its secrets sealed with `key`.
    pub fn to_json(&self, key: &TokenKey) -> Result<String, ApiError> {
        let stored = match self {
            SessionPayload::LoggedIn(identity) => StoredPayload::LoggedIn {
                username: identity.username.clone(),
                roles: identity.roles.clone(),
                groups: identity.groups.clone(),
                tokens: match &identity.tokens {
                    Some(tokens) => {
                        let json = serde_json::to_vec(tokens).map_err(encoding_failed)?;
                        Some(Sealed::seal(&json, &identity.username, key)?)
                    }
                    None => None,
                },
            },
            SessionPayload::Pending(pending) => StoredPayload::Pending {
                kind: pending.kind,
                username: pending.username.clone(),
                session: Sealed::seal(pending.session.as_bytes(), &pending.username, key)?,
            },
        };
        serde_json::to_string(&stored).map_err(encoding_failed)
    }

    /// The payload of a stored session; one that cannot be read or opened with `key` means logging in again.
    pub fn from_record(record: &SessionRecord, key: &TokenKey) -> Result<Self, ApiError> {
        let stored: StoredPayload =
            serde_json::from_str(&record.identity_json).map_err(|_| unreadable_session())?;
        Ok(match stored {
            StoredPayload::LoggedIn {
                username,
                roles,
                groups,
                tokens,
            } => {
                let tokens = match tokens {
                    Some(sealed) => Some(
                        serde_json::from_slice::<Tokens>(&sealed.open(&username, key)?)
                            .map_err(|_| unreadable_session())?,
                    ),
                    None => None,
                };
                SessionPayload::LoggedIn(Identity {
                    username,
                    roles,
                    groups,
                    tokens,
                })
            }
            StoredPayload::Pending {
                kind,
                username,
                session,
            } => {
                let session =
                    String::from_utf8(session.open(&username, key)?).map_err(|_| unreadable_session())?;
                SessionPayload::Pending(PendingChallenge {
                    kind,
                    username,
                    session,
                })
            }
        })
    }
}

/// Everything the server needs to log people in and keep them logged in.
pub struct Auth {
    /// `None` when neither Cognito nor demo users are configured: nobody can log in.
    pub provider: Option<Arc<dyn IdentityProvider>>,
    pub sessions: Arc<dyn SessionStore>,
    pub audit: Arc<dyn AuditLog>,
    /// The share links people made, beside their sessions in the same store.
    pub links: Arc<dyn LinkStore>,
    /// The status page's history and evaluation lease, in the same store.
    pub status: Arc<dyn StatusStore>,
    pub policy: SessionPolicy,
    /// Seals Cognito's tokens in the session store (`session.token_key`).
    pub token_key: TokenKey,
    pub login_limiter: LoginLimiter,
    pub api_limiter: ApiLimiter,
    pub tail_limits: Arc<TailLimits>,
    /// Whether the load balancer's `X-Forwarded-For` names the client (behind an ALB).
    pub trust_forwarded_for: bool,
    /// The roles and groups confined to label matchers (`[[label_scopes]]`).
    pub label_scopes: LabelScopes,
}

impl Auth {
    /// Appends to the audit trail and returns once the entry is stored; an entry that cannot
    /// be stored refuses the request it records (see [`ApiError::audit`]).
    pub async fn record(&self, event: NewAuditEvent) -> Result<(), ApiError> {
        self.audit.append(event).await.map_err(ApiError::audit)
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
/// expiry is recorded even when the person never returns. Returns when `stop` turns true,
/// never in the middle of a sweep: sessions it removed are on record before the server ends.
pub async fn sweep_expired_sessions(sessions: SessionContext, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        let stopping = tokio::select! {
            biased;
            _ = ticker.tick() => false,
            _ = stop.wait_for(|stop| *stop) => true,
        };
        if stopping {
            return;
        }
        sweep_once(&sessions).await;
    }
}

/// One sweep: the expired sessions removed and their ends recorded, in as few commits as the
/// audit trail groups them into.
async fn sweep_once(state: &SessionContext) {
    let now = state.now_ms();
    let expired = match state.auth.sessions.sweep(now, &state.auth.policy).await {
        Ok(expired) => expired,
        Err(err) => {
            tracing::warn!(error = %err, "could not remove expired sessions; trying again later");
            return;
        }
    };
    let records = expired
        .into_iter()
        .filter(|record| !record.roles.is_empty())
        .map(|record| {
            state.auth.record(NewAuditEvent {
                at_ms: now,
                user: record.user,
                action: AuditAction::SessionExpired,
                target: String::new(),
                outcome: "ended".into(),
                client: "-".into(),
            })
        });
    // A failure is already logged with the entries it lost; nobody is waiting for an answer.
    let _ = futures::future::join_all(records).await;
}

/// The address a request came from, as the audit trail and the login limits see it.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    SessionContext: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let sessions = SessionContext::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>();
        Ok(Self(sessions.auth.client_address(&parts.headers, peer)))
    }
}

/// What loading a session needs: the way people log in and where sessions live, and the
/// clock their lifetimes run on. Taken from the server's state by `FromRef`, so this module
/// knows nothing of the rest of it.
#[derive(Clone)]
pub struct SessionContext {
    pub auth: Arc<Auth>,
    pub clock: Arc<dyn Clock>,
}

impl SessionContext {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// The logged-in person behind a request. The first extraction loads the session (refreshing
/// its tokens and noting the activity) and keeps it in the request, so the role gate, the
/// audit layer and the handler all see the same one.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub session_id: SessionId,
    pub record: SessionRecord,
    pub client: String,
    /// The label matchers this person's log and metric queries are confined to, if any.
    pub label_scope: Option<Arc<LabelScope>>,
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
        match &self.label_scope {
            Some(labels) => Scope::confined(&roles.join(","), Arc::clone(labels)),
            None => Scope::new(&roles.join(",")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    SessionContext: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let sessions = SessionContext::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>();
        let client = sessions.auth.client_address(&parts.headers, peer);
        let user = current_user(&sessions, &parts.headers, client).await?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// The session id in the request's cookie, if it has a well-formed one.
pub fn session_cookie(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE)
        .and_then(|cookie| SessionId::parse(cookie.value()))
}

/// The session cookie with `value`: only sent back over HTTPS to this origin, never to
/// scripts, never on a request another site starts.
fn session_cookie_with(value: String) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(id: &SessionId) -> HeaderValue {
    HeaderValue::from_str(&session_cookie_with(id.cookie_value().to_owned()).to_string())
        .unwrap_or_else(|_| clear_cookie())
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    let mut cookie = session_cookie_with(String::new());
    cookie.make_removal();
    HeaderValue::from_str(&cookie.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("__Host-vitals=; Path=/; Max-Age=0"))
}

/// Whether a request is the person at work, rather than the page refreshing itself.
fn is_activity(headers: &HeaderMap) -> bool {
    headers.get(BACKGROUND_HEADER).and_then(|v| v.to_str().ok()) != Some("1")
}

/// Loads the session of a request: refreshes its tokens when they are about to expire and
/// notes the request for the idle timeout. Expired and unknown sessions are a 401.
pub async fn current_user(
    state: &SessionContext,
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
                action: AuditAction::SessionExpired,
                target: String::new(),
                outcome: "ended".into(),
                client,
            })
            .await?;
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
    let identity = match SessionPayload::from_record(&record, &auth.token_key)? {
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
                record.identity_json = SessionPayload::LoggedIn(refreshed).to_json(&auth.token_key)?;
                changed = true;
            }
            // An outage of the provider should not log everyone out: the tokens it gave are
            // still good until they expire, and the next request tries again.
            Err(AuthError::Unavailable(reason)) if now < tokens.expires_at_ms => {
                tracing::warn!(
                    %session_id,
                    %reason,
                    "could not refresh a session's tokens; keeping the session until they expire"
                );
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
    let label_scope = auth.label_scopes.for_person(&record.roles, &identity.groups);
    Ok(CurrentUser {
        session_id,
        record,
        client,
        label_scope,
    })
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
    fn a_stored_session_holds_its_secrets_only_sealed() {
        let key = TokenKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
        let identity = Identity {
            username: "ana".into(),
            roles: vec![Role::Engineer],
            groups: vec!["engineer".into(), "records-team".into()],
            tokens: Some(Tokens {
                id_token: "id-token-value".into(),
                access_token: "access-token-value".into(),
                refresh_token: "refresh-token-value".into(),
                expires_at_ms: 42,
            }),
        };
        let json = SessionPayload::LoggedIn(identity.clone()).to_json(&key).unwrap();
        assert!(!json.contains("token-value"), "{json}");
        let record = SessionRecord::new("ana", vec![Role::Engineer], json, 0);
        let SessionPayload::LoggedIn(read) = SessionPayload::from_record(&record, &key).unwrap() else {
            panic!("a logged-in session reads back as logged in");
        };
        assert_eq!(read, identity);

        let other_key = TokenKey::from_base64("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=").unwrap();
        let error = SessionPayload::from_record(&record, &other_key).unwrap_err();
        assert!(error.to_string().contains("log in again"), "{error}");

        let pending = PendingChallenge {
            kind: ChallengeKind::NewPasswordRequired,
            username: "ana".into(),
            session: "cognito-session-value".into(),
        };
        let json = SessionPayload::Pending(pending.clone()).to_json(&key).unwrap();
        assert!(!json.contains("session-value"), "{json}");
        let record = SessionRecord::new("ana", Vec::new(), json, 0);
        let SessionPayload::Pending(read) = SessionPayload::from_record(&record, &key).unwrap() else {
            panic!("a pending login reads back as pending");
        };
        assert_eq!(read, pending);

        let plaintext = r#"{"state":"logged_in","username":"ana","roles":["engineer"],"tokens":{"id_token":"a","access_token":"b","refresh_token":"c","expires_at_ms":1}}"#;
        let old = SessionRecord::new("ana", vec![Role::Engineer], plaintext, 0);
        assert!(
            SessionPayload::from_record(&old, &key).is_err(),
            "an entry with plaintext tokens is not used"
        );
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
        let removal = clear_cookie();
        let removal = removal.to_str().unwrap();
        assert!(removal.starts_with("__Host-vitals=;"), "{removal}");
        for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=0"] {
            assert!(removal.contains(flag), "{removal}");
        }
    }
}
