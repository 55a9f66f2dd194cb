//! The demo users (`clinician`, `operations`, `engineer`, `admin`, one role each) for a server on loopback in demo mode, and the rules that keep them there.

use std::net::SocketAddr;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vitals_api::Role;

use super::{AuthError, ChallengeAnswer, Identity, IdentityProvider, LoginStep, PendingChallenge};

/// The demo users, each named after its one role, sharing `VITALS_DEMO_PASSWORD`.
pub struct DemoProvider {
    /// SHA-256 of the password: comparing digests takes the same time whatever the lengths.
    password_digest: [u8; 32],
    /// An empty password lets nobody in.
    has_password: bool,
}

impl std::fmt::Debug for DemoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoProvider").finish_non_exhaustive()
    }
}

impl DemoProvider {
    /// The demo users of a server whose public listener is `listen`; refused, saying
    /// what to do, unless that is loopback. Checked here as well as in the
    /// configuration, so no way of building a server lets demo users in from the network.
    pub fn new(password: String, listen: SocketAddr) -> Result<Self, String> {
        check_demo_allowed(listen)?;
        Ok(Self {
            password_digest: Sha256::digest(password.as_bytes()).into(),
            has_password: !password.is_empty(),
        })
    }

    fn password_matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(given.ct_eq(&self.password_digest)) && self.has_password
    }
}

#[async_trait]
impl IdentityProvider for DemoProvider {
    async fn login(&self, username: &str, password: &str) -> Result<LoginStep, AuthError> {
        // The password is checked for unknown users too, so both answers take the same time.
        let password_ok = self.password_matches(password);
        match Role::from_group(username) {
            Some(role) if password_ok => Ok(LoginStep::Authenticated(Identity {
                username: username.to_owned(),
                roles: vec![role],
                groups: Vec::new(),
                tokens: None,
            })),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Demo users are never asked a further step, so there is no challenge to answer.
    async fn answer_challenge(
        &self,
        _pending: &PendingChallenge,
        _answer: ChallengeAnswer,
    ) -> Result<LoginStep, AuthError> {
        Err(AuthError::ChallengeExpired)
    }

    /// Demo users hold no tokens; their login lasts as long as the session.
    async fn refresh(&self, identity: &Identity) -> Result<Identity, AuthError> {
        Ok(identity.clone())
    }

    async fn logout(&self, _identity: &Identity) -> Result<(), AuthError> {
        Ok(())
    }
}

/// Demo users may log in only when the public listener is on loopback (127.0.0.0/8 or ::1); `0.0.0.0` is not.
pub fn check_demo_allowed(listen: SocketAddr) -> Result<(), String> {
    if listen.ip().to_canonical().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "demo users may log in only when the server listens on loopback, and VITALS_LISTEN is {listen}; \
             listen on 127.0.0.1 or [::1], or configure Cognito (VITALS_COGNITO_USER_POOL_ID) instead of VITALS_DEMO_PASSWORD"
        ))
    }
}

/// The server starts with one way to log in: demo users or a Cognito pool, never both.
pub fn check_one_identity_provider(demo_users: bool, cognito_pool: bool) -> Result<(), String> {
    if demo_users && cognito_pool {
        Err("both demo users (VITALS_DEMO_PASSWORD) and a Cognito user pool (VITALS_COGNITO_USER_POOL_ID) are configured; \
             set only one of them"
            .into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_loopback(password: &str) -> DemoProvider {
        DemoProvider::new(password.into(), "127.0.0.1:8080".parse().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn each_demo_user_gets_its_own_role() {
        let demo = on_loopback("demo-pass");
        for role in Role::ALL {
            let step = demo.login(role.as_str(), "demo-pass").await.unwrap();
            assert_eq!(
                step,
                LoginStep::Authenticated(Identity {
                    username: role.as_str().into(),
                    roles: vec![role],
                    groups: Vec::new(),
                    tokens: None,
                })
            );
        }
    }

    #[tokio::test]
    async fn a_wrong_password_or_unknown_user_is_refused_alike() {
        let demo = on_loopback("demo-pass");
        for (username, password) in [
            ("engineer", "wrong"),
            ("engineer", "demo-pass "),
            ("engineer", "demo-pas"),
            ("engineer", ""),
            ("Engineer", "demo-pass"),
            ("mallory", "demo-pass"),
            ("", "demo-pass"),
        ] {
            assert_eq!(
                demo.login(username, password).await,
                Err(AuthError::InvalidCredentials),
                "{username}/{password}"
            );
        }
    }

    #[tokio::test]
    async fn an_empty_demo_password_lets_nobody_in() {
        let demo = on_loopback("");
        assert_eq!(demo.login("admin", "").await, Err(AuthError::InvalidCredentials));
    }

    #[tokio::test]
    async fn demo_logins_need_no_refresh_and_log_out_cleanly() {
        let demo = on_loopback("demo-pass");
        let LoginStep::Authenticated(identity) = demo.login("admin", "demo-pass").await.unwrap() else {
            panic!("demo users are never challenged");
        };
        assert_eq!(demo.refresh(&identity).await.unwrap(), identity);
        assert_eq!(demo.logout(&identity).await, Ok(()));
        assert!(!format!("{demo:?}").contains("demo-pass"));
    }

    #[test]
    fn demo_login_is_allowed_on_loopback_only() {
        for allowed in [
            "127.0.0.1:8080",
            "127.10.0.3:0",
            "[::1]:8080",
            "[::ffff:127.0.0.1]:8080",
        ] {
            assert_eq!(check_demo_allowed(allowed.parse().unwrap()), Ok(()), "{allowed}");
        }
        for refused in ["0.0.0.0:8080", "[::]:8080", "10.0.3.7:8080", "192.168.1.20:8080"] {
            let error = check_demo_allowed(refused.parse().unwrap()).unwrap_err();
            assert!(
                error.contains("VITALS_LISTEN") && error.contains(refused),
                "{error}"
            );
        }
    }

    #[test]
    fn demo_users_cannot_be_created_for_a_listener_off_loopback() {
        for refused in ["0.0.0.0:8080", "[::]:8080", "10.0.3.7:8080"] {
            let error = DemoProvider::new("demo-pass".into(), refused.parse().unwrap()).unwrap_err();
            assert!(error.contains("listen on 127.0.0.1 or [::1]"), "{error}");
        }
    }

    #[test]
    fn demo_users_and_a_cognito_pool_together_are_refused() {
        assert!(check_one_identity_provider(true, false).is_ok());
        assert!(check_one_identity_provider(false, true).is_ok());
        assert!(check_one_identity_provider(false, false).is_ok());
        let error = check_one_identity_provider(true, true).unwrap_err();
        assert!(error.contains("VITALS_DEMO_PASSWORD") && error.contains("VITALS_COGNITO_USER_POOL_ID"));
    }
}
