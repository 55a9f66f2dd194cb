//! Who is logging in: the identity providers (Amazon Cognito through the BFF, the demo users) and the checks on Cognito's tokens.
//!
//! `cognito` runs the login, challenge, refresh and sign-out calls, `jwt`
//! verifies the tokens Cognito hands back against the keys `jwks` keeps,
//! `authenticator` makes what a new authenticator app needs, and `demo`
//! holds the four demo users of a server on loopback. The session
//! layer keeps an [`Identity`] (or a [`PendingChallenge`]) server-side; none
//! of it ever reaches the browser.

mod authenticator;
mod cognito;
mod demo;
mod jwks;
mod jwt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use vitals_api::{AuthenticatorSetup, ChallengeKind, Role};

pub use self::cognito::{CognitoConfig, CognitoConfigError, CognitoProvider, secret_hash};
pub use self::demo::{DemoProvider, check_demo_allowed, check_one_identity_provider};
pub use self::jwt::{Claims, TokenVerifier, VerifierConfig};

/// Logs people in and keeps their login alive; Cognito in production, the demo users on a developer's machine.
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// Checks a username and password: a logged-in identity, or the next step Cognito asks for.
    async fn login(&self, username: &str, password: &str) -> Result<LoginStep, AuthError>;

    /// Answers the step a login (or an earlier answer) asked for.
    async fn answer_challenge(
        &self,
        pending: &PendingChallenge,
        answer: ChallengeAnswer,
    ) -> Result<LoginStep, AuthError>;

    /// Called by the session layer when `tokens.expires_at_ms` is near.
    async fn refresh(&self, identity: &Identity) -> Result<Identity, AuthError>;

    /// Best effort on the provider side: errors are reported (for the log/audit) but the caller ends the session anyway.
    async fn logout(&self, identity: &Identity) -> Result<(), AuthError>;
}

/// Where a login stands after a call: done, or waiting for one more answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    Authenticated(Identity),
    Challenge(PendingChallenge),
    /// An `MFA_SETUP` step: the person adds an authenticator app with `setup`, which is shown
    /// once and never kept, then answers with the app's code.
    SetUpAuthenticator(PendingChallenge, AuthenticatorSetup),
}

/// A step Cognito asked for, kept server-side until the person answers it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChallenge {
    pub kind: ChallengeKind,
    /// The username Cognito knows the person by (it may differ from what was typed, such as an email alias).
    pub username: String,
    /// Cognito's `Session` string; it proves the password step, so it never leaves the server.
    pub session: String,
}

impl std::fmt::Debug for PendingChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingChallenge")
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("session", &"<hidden>")
            .finish()
    }
}

/// What the person answered to a [`PendingChallenge`].
#[derive(Clone, PartialEq, Eq)]
pub enum ChallengeAnswer {
    NewPassword(String),
    MfaCode(String),
    /// The first code of a newly added authenticator app.
    AuthenticatorCode(String),
}

impl ChallengeAnswer {
    /// The challenge this answers.
    pub fn kind(&self) -> ChallengeKind {
        match self {
            ChallengeAnswer::NewPassword(_) => ChallengeKind::NewPasswordRequired,
            ChallengeAnswer::MfaCode(_) => ChallengeKind::SoftwareTokenMfa,
            ChallengeAnswer::AuthenticatorCode(_) => ChallengeKind::MfaSetup,
        }
    }
}

impl std::fmt::Debug for ChallengeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChallengeAnswer::NewPassword(_) => f.write_str("NewPassword(<hidden>)"),
            ChallengeAnswer::MfaCode(_) => f.write_str("MfaCode(<hidden>)"),
            ChallengeAnswer::AuthenticatorCode(_) => f.write_str("AuthenticatorCode(<hidden>)"),
        }
    }
}

/// A logged-in person: who, what they may do, and (for Cognito) the tokens that keep the login alive.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub username: String,
    /// Sorted, without repeats; never empty.
    pub roles: Vec<Role>,
    /// Every Cognito group of the person, sorted, Vitals' roles included: label scopes may
    /// name any of them. Empty for demo users, who are scoped by role.
    #[serde(default)]
    pub groups: Vec<String>,
    /// `None` for demo users.
    pub tokens: Option<Tokens>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("groups", &self.groups)
            .field("tokens", &self.tokens)
            .finish()
    }
}

/// Cognito's tokens for one login, kept server-side with the session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Milliseconds since the epoch: when the ID and access tokens expire.
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("tokens", &"<hidden>")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// Why a login, a challenge answer, a refresh or a sign-out did not succeed.
///
/// Messages never carry a password, a token, a secret hash or a Cognito session string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The same for a wrong password and an unknown user, so the answer does not tell which usernames exist.
    #[error("the username or password is wrong")]
    InvalidCredentials,
    /// The new password does not meet the pool's policy; says why.
    #[error("the new password was not accepted: {0}")]
    PasswordRejected(String),
    #[error("the code is wrong or has expired; enter the current code from your authenticator app")]
    CodeRejected,
    /// The challenge session is too old, unknown, or for another step.
    #[error("this login step has expired; log in again")]
    ChallengeExpired,
    /// The person is known but may not use Vitals (no Vitals group, an unsupported login step, …).
    #[error("{0}")]
    NotAllowed(String),
    /// A token failed verification; says which check (for the log; the API says "log in again").
    #[error("the token was refused: {0}")]
    TokenRejected(String),
    /// Cognito could not be reached, throttled, or answered an error; names Cognito and what to check.
    #[error("{0}")]
    Unavailable(String),
}

/// What a person whose groups give no Vitals role is told.
pub(crate) const NO_ROLE: &str = "your account has no Vitals role; ask an admin to add you to a group";

/// The Vitals roles among Cognito groups, sorted and without repeats; other groups are ignored.
pub(crate) fn roles_from_groups<S: AsRef<str>>(groups: &[S]) -> Vec<Role> {
    let mut roles: Vec<Role> = groups
        .iter()
        .filter_map(|group| Role::from_group(group.as_ref()))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let identity = Identity {
            username: "ana".into(),
            roles: vec![Role::Engineer],
            groups: Vec::new(),
            tokens: Some(Tokens {
                id_token: "id-secret".into(),
                access_token: "access-secret".into(),
                refresh_token: "refresh-secret".into(),
                expires_at_ms: 42,
            }),
        };
        let pending = PendingChallenge {
            kind: ChallengeKind::SoftwareTokenMfa,
            username: "ana".into(),
            session: "session-secret".into(),
        };
        let answers = [
            ChallengeAnswer::NewPassword("password-secret".into()),
            ChallengeAnswer::MfaCode("code-secret".into()),
            ChallengeAnswer::AuthenticatorCode("code-secret".into()),
        ];
        let shown = format!("{identity:?} {pending:?} {answers:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("ana") && shown.contains("42"), "{shown}");
    }

    #[test]
    fn identities_and_challenges_survive_the_session_store() {
        let pending = PendingChallenge {
            kind: ChallengeKind::NewPasswordRequired,
            username: "ana".into(),
            session: "opaque".into(),
        };
        let json = serde_json::to_string(&pending).unwrap();
        assert_eq!(serde_json::from_str::<PendingChallenge>(&json).unwrap(), pending);
        let identity = Identity {
            username: "ana".into(),
            roles: vec![Role::Clinician, Role::Admin],
            groups: vec!["records-team".into()],
            tokens: None,
        };
        let json = serde_json::to_string(&identity).unwrap();
        assert_eq!(serde_json::from_str::<Identity>(&json).unwrap(), identity);
    }

    #[test]
    fn only_vitals_groups_become_roles() {
        assert_eq!(
            roles_from_groups(&["admin", "us-east-1_pool_Google", "engineer", "admin"]),
            vec![Role::Engineer, Role::Admin]
        );
        assert!(roles_from_groups(&["Admins", "doctors"]).is_empty());
    }
}
