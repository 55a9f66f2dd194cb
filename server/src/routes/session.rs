//! Logging in and out: `POST/GET/DELETE /api/v1/session` and `POST /api/v1/session/challenge`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vitals_api::{
    AuditAction, AuthenticatorSetup, ChallengeKind, ChallengeRequest, LoginRequest, LoginResponse,
    SessionInfo,
};

use crate::auth::identity::{AuthError, ChallengeAnswer, LoginStep, PendingChallenge};
use crate::auth::session::{
    CHALLENGE_LIFETIME_MS, ClientAddress, CurrentUser, SessionContext, SessionPayload, clear_cookie,
    session_cookie, set_cookie,
};
use crate::error::ApiError;
use crate::routes::engineering::ApiJson;
use crate::routes::openapi::{
    AccessErrors, BodyErrors, Forbidden, Unauthenticated, Unavailable, UpstreamUnavailable,
};
use crate::state::AppState;
use crate::store::{NewAuditEvent, SessionLookup, SessionRecord};

/// Longest username or password accepted; anything longer is not a real login.
const MAX_CREDENTIAL_CHARS: usize = 256;

/// How a login attempt ends, for the answer and the audit trail.
fn login_error(error: AuthError) -> ApiError {
    match error {
        AuthError::InvalidCredentials => ApiError::unauthenticated("invalid_credentials", error.to_string()),
        AuthError::PasswordRejected(_) => ApiError::bad_request("password_rejected", error.to_string()),
        AuthError::CodeRejected => ApiError::bad_request("code_rejected", error.to_string()),
        AuthError::ChallengeExpired => ApiError::unauthenticated("challenge_expired", error.to_string()),
        AuthError::NotAllowed(_) => ApiError::forbidden("no_role", error.to_string()),
        AuthError::TokenRejected(_) => {
            tracing::warn!(error = %error, "a token from the identity provider was refused");
            ApiError::unauthenticated(
                "invalid_credentials",
                "the login could not be verified; log in again",
            )
        }
        AuthError::Unavailable(reason) => ApiError::Source(crate::sources::SourceError::Unavailable {
            source_name: "the login service",
            reason,
        }),
    }
}

/// Starts a session for a finished login, or keeps a pending one for a challenge; a new id either way.
async fn start(
    state: &AppState,
    step: LoginStep,
    client: &str,
    typed_username: &str,
) -> Result<Response, ApiError> {
    let now = state.now_ms();
    let auth = &state.auth;
    let (record, answer, action) = match step {
        LoginStep::Authenticated(identity) => {
            auth.login_limiter.record_success(typed_username);
            let record = SessionRecord::new(
                identity.username.clone(),
                identity.roles.clone(),
                SessionPayload::LoggedIn(identity).to_json(&auth.token_key)?,
                now,
            );
            let info = record.info(&auth.policy);
            (record, LoginResponse::Session(info), AuditAction::Login)
        }
        LoginStep::Challenge(pending) => pending_step(state, pending, None, now)?,
        LoginStep::SetUpAuthenticator(pending, setup) => pending_step(state, pending, Some(setup), now)?,
    };
    let user = record.user.clone();
    let id = auth.sessions.create(record).await.map_err(ApiError::store)?;
    let outcome = match &answer {
        LoginResponse::Session(_) => "ok".to_owned(),
        LoginResponse::Challenge { challenge, .. } => format!("{challenge:?}"),
    };
    let recorded = auth
        .record(NewAuditEvent {
            at_ms: now,
            user,
            action,
            target: String::new(),
            outcome,
            client: client.to_owned(),
        })
        .await;
    if let Err(refusal) = recorded {
        // A login nobody recorded does not start: its session goes with the refusal.
        let _ = auth.sessions.delete(&id).await;
        return Err(refusal);
    }
    Ok(([(header::SET_COOKIE, set_cookie(&id))], Json(answer)).into_response())
}

/// The session record of a login waiting for `pending`'s answer, and what the browser is told:
/// the step, and for `MFA_SETUP` what the authenticator app needs (never kept server-side).
fn pending_step(
    state: &AppState,
    pending: PendingChallenge,
    authenticator: Option<AuthenticatorSetup>,
    now: i64,
) -> Result<(SessionRecord, LoginResponse, AuditAction), ApiError> {
    let challenge = pending.kind;
    let record = SessionRecord::new(
        pending.username.clone(),
        Vec::new(),
        SessionPayload::Pending(pending).to_json(&state.auth.token_key)?,
        now,
    );
    let answer = LoginResponse::Challenge {
        challenge,
        authenticator,
    };
    Ok((record, answer, AuditAction::LoginChallenge))
}

/// `POST /api/v1/session`.
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    summary = "Log in with a username and password",
    operation_id = "login",
    request_body = LoginRequest,
    security(("csrf" = [])),
    responses(
        (status = 200, description = "a session, with its cookie, or the next step of the login", body = LoginResponse, headers(("Set-Cookie" = String, description = "the session cookie `__Host-vitals`"))),
        (status = 502, response = UpstreamUnavailable),
        AccessErrors,
        BodyErrors,
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let auth = &state.auth;
    let username = request.username.trim();
    if username.is_empty()
        || request.password.is_empty()
        || username.chars().count() > MAX_CREDENTIAL_CHARS
        || request.password.chars().count() > MAX_CREDENTIAL_CHARS
    {
        return Err(ApiError::bad_request(
            "invalid_body",
            "enter your username and password",
        ));
    }
    let now = state.now_ms();
    if let Err(wait) = auth.login_limiter.check(username, &client, now) {
        auth.record(NewAuditEvent {
            at_ms: now,
            user: username.to_owned(),
            action: AuditAction::LoginFailed,
            target: String::new(),
            outcome: "locked out".into(),
            client: client.clone(),
        })
        .await?;
        return Err(ApiError::TooManyRequests {
            code: "too_many_attempts",
            message: format!("too many failed logins; try again in {}", wait_words(wait)),
            retry_after_seconds: wait,
        });
    }
    let Some(provider) = &auth.provider else {
        return Err(ApiError::StoreUnavailable(
            "no way to log in is configured; set the Cognito user pool (VITALS_COGNITO_USER_POOL_ID)".into(),
        ));
    };
    // A new login ends whatever session the browser had: a new id every time.
    if let Some(old) = session_cookie(&headers) {
        let _ = auth.sessions.delete(&old).await;
    }
    match provider.login(username, &request.password).await {
        Ok(step) => start(&state, step, &client, username).await,
        Err(error) => {
            if matches!(error, AuthError::InvalidCredentials) {
                auth.login_limiter.record_failure(username, &client, now);
            }
            auth.record(NewAuditEvent {
                at_ms: now,
                user: username.to_owned(),
                action: AuditAction::LoginFailed,
                target: String::new(),
                outcome: audit_outcome(&error),
                client,
            })
            .await?;
            Err(login_error(error))
        }
    }
}

/// `POST /api/v1/session/challenge`.
#[utoipa::path(
    post,
    path = "/session/challenge",
    tag = "session",
    summary = "Answer the further step a login needs: a new password, or the code of an authenticator app (also the first code of one being added)",
    operation_id = "answer_challenge",
    request_body = ChallengeRequest,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "a session, with its cookie, or the next step of the login", body = LoginResponse, headers(("Set-Cookie" = String, description = "the session cookie `__Host-vitals`"))),
        (status = 401, response = Unauthenticated),
        (status = 502, response = UpstreamUnavailable),
        (status = 503, response = Unavailable),
        BodyErrors,
    )
)]
pub async fn answer_challenge(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ChallengeRequest>,
) -> Result<Response, ApiError> {
    let auth = &state.auth;
    let now = state.now_ms();
    let expired =
        || ApiError::unauthenticated("challenge_expired", "this login step has expired; log in again");
    let id = session_cookie(&headers).ok_or_else(expired)?;
    let record = match auth
        .sessions
        .load(&id, now, &auth.policy)
        .await
        .map_err(ApiError::store)?
    {
        SessionLookup::Active(record) => record,
        _ => return Err(expired()),
    };
    let SessionPayload::Pending(pending) = SessionPayload::from_record(&record, &auth.token_key)? else {
        return Err(ApiError::bad_request(
            "no_challenge",
            "you are already logged in; there is no step to answer",
        ));
    };
    if now - record.created_at_ms > CHALLENGE_LIFETIME_MS || pending.kind != request.challenge {
        let _ = auth.sessions.delete(&id).await;
        return Err(expired());
    }
    let answer = match (request.challenge, request.new_password, request.code) {
        (ChallengeKind::NewPasswordRequired, Some(password), _) if !password.is_empty() => {
            ChallengeAnswer::NewPassword(password)
        }
        (ChallengeKind::SoftwareTokenMfa, _, Some(code)) if !code.trim().is_empty() => {
            ChallengeAnswer::MfaCode(code.trim().to_owned())
        }
        (ChallengeKind::MfaSetup, _, Some(code)) if !code.trim().is_empty() => {
            ChallengeAnswer::AuthenticatorCode(code.trim().to_owned())
        }
        (ChallengeKind::NewPasswordRequired, ..) => {
            return Err(ApiError::bad_request("invalid_body", "enter a new password"));
        }
        (ChallengeKind::SoftwareTokenMfa | ChallengeKind::MfaSetup, ..) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "enter the code from your authenticator app",
            ));
        }
    };
    let provider = auth.provider.as_ref().ok_or_else(expired)?;
    match provider.answer_challenge(&pending, answer).await {
        Ok(step) => {
            let _ = auth.sessions.delete(&id).await;
            start(&state, step, &client, &pending.username).await
        }
        Err(error) => {
            if matches!(error, AuthError::ChallengeExpired) {
                let _ = auth.sessions.delete(&id).await;
            }
            auth.record(NewAuditEvent {
                at_ms: now,
                user: pending.username.clone(),
                action: AuditAction::LoginFailed,
                target: format!("{:?}", pending.kind),
                outcome: audit_outcome(&error),
                client,
            })
            .await?;
            Err(login_error(error))
        }
    }
}

/// `GET /api/v1/session`: who is logged in; using it keeps the session alive.
#[utoipa::path(
    get,
    path = "/session",
    tag = "session",
    summary = "Who is logged in, and when the session ends",
    operation_id = "get_session",
    security(("session" = [])),
    responses(
        (status = 200, description = "who is logged in, and when the session ends", body = SessionInfo),
        (status = 401, response = Unauthenticated),
        (status = 503, response = Unavailable),
    )
)]
pub async fn get(State(sessions): State<SessionContext>, user: CurrentUser) -> Json<SessionInfo> {
    Json(user.info(&sessions.auth.policy))
}

/// `DELETE /api/v1/session`: signs out at the provider (best effort) and always ends the session here.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    summary = "Log out: end the session here and, as far as it answers, at the identity provider",
    operation_id = "logout",
    security(("session" = [], "csrf" = []), ("csrf" = [])),
    responses(
        (status = 204, description = "the session has ended; the cookie is cleared", headers(("Set-Cookie" = String, description = "clears the session cookie"))),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let auth = &state.auth;
    let cleared = (StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear_cookie())]).into_response();
    let Some(id) = session_cookie(&headers) else {
        return Ok(cleared);
    };
    let now = state.now_ms();
    let record = match auth
        .sessions
        .load(&id, now, &auth.policy)
        .await
        .map_err(ApiError::store)?
    {
        SessionLookup::Active(record) | SessionLookup::Expired(record) => record,
        SessionLookup::Missing => return Ok(cleared),
    };
    let mut outcome = "ok".to_owned();
    if let (Ok(SessionPayload::LoggedIn(identity)), Some(provider)) = (
        SessionPayload::from_record(&record, &auth.token_key),
        &auth.provider,
    ) && let Err(error) = provider.logout(&identity).await
    {
        tracing::warn!(%error, "the identity provider could not sign the person out; the session ends anyway");
        outcome = "ok (provider sign-out failed)".into();
    }
    auth.sessions.delete(&id).await.map_err(ApiError::store)?;
    auth.record(NewAuditEvent {
        at_ms: now,
        user: record.user,
        action: AuditAction::Logout,
        target: String::new(),
        outcome,
        client,
    })
    .await?;
    Ok(cleared)
}

/// How a failed login is noted in the audit trail: the kind of failure, never what was typed.
fn audit_outcome(error: &AuthError) -> String {
    match error {
        AuthError::InvalidCredentials => "wrong username or password",
        AuthError::PasswordRejected(_) => "new password rejected",
        AuthError::CodeRejected => "wrong code",
        AuthError::ChallengeExpired => "challenge expired",
        AuthError::NotAllowed(_) => "no Vitals role",
        AuthError::TokenRejected(_) => "token refused",
        AuthError::Unavailable(_) => "login service unavailable",
    }
    .to_owned()
}

/// "4 minutes", "30 seconds": the wait as the login page says it.
fn wait_words(seconds: u64) -> String {
    if seconds >= 90 {
        format!("{} minutes", seconds.div_ceil(60))
    } else {
        format!("{seconds} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_in_minutes_or_seconds() {
        assert_eq!(wait_words(30), "30 seconds");
        assert_eq!(wait_words(840), "14 minutes");
    }

    #[test]
    fn wrong_password_and_unknown_user_look_the_same() {
        let answer = login_error(AuthError::InvalidCredentials);
        assert_eq!(answer.to_string(), "the username or password is wrong");
    }
}
