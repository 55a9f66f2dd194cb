//! The gate in front of each group of routes, and the sources a handler answers from.
//!
//! A handler's signature says what it needs: a [`CurrentUser`] (the session, loaded once per
//! request) and [`ScopedSources`] (the sources behind their guardrails, with a cache shared
//! only among people of the same roles).

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use vitals_api::Role;

use crate::auth::session::{CurrentUser, SessionContext};
use crate::error::ApiError;
use crate::sources::Sources;
use crate::sources::guard::GuardedSources;

/// Lets a request through when its person holds one of `roles` and has not used up their
/// per-person rate: a 401 without a session, a 403 without the role, a 429 past the rate.
pub async fn require_role(
    sessions: SessionContext,
    roles: &'static [Role],
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let user = CurrentUser::from_request_parts(&mut parts, &sessions).await?;
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
    if let Err(wait) = sessions.auth.api_limiter.check(&user.record.user) {
        return Err(ApiError::TooManyRequests {
            code: "too_many_requests",
            message: "too many requests from your session; slow down and try again in a moment".into(),
            retry_after_seconds: wait,
        });
    }
    Ok(next.run(Request::from_parts(parts, body)).await)
}

/// The sources as the person behind the request may ask them: each behind its guardrails,
/// its answers cached only for people of the same roles.
pub struct ScopedSources(pub Sources);

impl<S: Send + Sync> FromRequestParts<S> for ScopedSources
where
    SessionContext: FromRef<S>,
    GuardedSources: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Behind the gate the person is already in the request: read the scope there rather
        // than copy the whole session.
        let scope = match parts.extensions.get::<CurrentUser>() {
            Some(user) => user.scope(),
            None => CurrentUser::from_request_parts(parts, state).await?.scope(),
        };
        Ok(Self(GuardedSources::from_ref(state).for_scope(&scope)))
    }
}
