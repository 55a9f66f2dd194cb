//! Amazon Cognito through the BFF: `USER_PASSWORD_AUTH` logins, their challenges (an authenticator app's enrolment among them), `REFRESH_TOKEN_AUTH` and sign-out, each answer's tokens verified before anyone is let in.

use crate::aws::{Credentials, sdk_config};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType, VerifySoftwareTokenResponseType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::Url;
use vitals_api::ChallengeKind;

use super::authenticator::authenticator_setup;
use super::jwt::{TokenVerifier, VerifierConfig};
use super::{AuthError, ChallengeAnswer, Identity, IdentityProvider, LoginStep, PendingChallenge, Tokens};
use crate::settings::{InvalidSetting, check_http_url, is_region, without_credentials};

/// The shortest time between two fetches of the pool's signing keys.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// What replaces a secret found in a message from Cognito.
const HIDDEN: &str = "<hidden>";
/// The name Cognito keeps for an authenticator app added at login.
const DEVICE_NAME: &str = "Vitals";

/// `[cognito]`: the user pool and app client people log in with (`VITALS_COGNITO_*`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    /// `VITALS_COGNITO_USER_POOL_ID`, such as `eu-west-1_AbC123def`; the calls go to its region.
    pub user_pool_id: String,
    /// `VITALS_COGNITO_CLIENT_ID`.
    pub client_id: String,
    /// `VITALS_COGNITO_CLIENT_SECRET`, when the app client has one; then every call carries a `SECRET_HASH`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `VITALS_COGNITO_ENDPOINT`: an endpoint override, such as moto's address in tests; the JWKS
    /// is then fetched from it too.
    #[serde(default)]
    pub endpoint: Option<Url>,
}

impl std::fmt::Debug for CognitoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoConfig")
            .field("user_pool_id", &self.user_pool_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| HIDDEN))
            .field("endpoint", &self.endpoint.as_ref().map(without_credentials))
            .finish()
    }
}

/// Why a Cognito provider cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CognitoConfigError {
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error("the Cognito timeout must be longer than zero")]
    ZeroTimeout,
    #[error("cannot set up the HTTP client that fetches Cognito's signing keys: {0}")]
    HttpClient(String),
}

impl CognitoConfig {
    /// Checks what the types alone cannot; each error names the key under `[cognito]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if region_of_pool(&self.user_pool_id).is_none() {
            return Err(InvalidSetting::new(
                "cognito.user_pool_id",
                format!(
                    "is \"{}\"; use the pool id as AWS shows it, such as eu-west-1_AbC123def \
                     (VITALS_COGNITO_USER_POOL_ID)",
                    self.user_pool_id
                ),
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(InvalidSetting::new(
                "cognito.client_id",
                "is empty; set it (VITALS_COGNITO_CLIENT_ID) to the id of the user pool's app client",
            ));
        }
        if self.client_secret.as_deref().is_some_and(str::is_empty) {
            return Err(InvalidSetting::new(
                "cognito.client_secret",
                "is set but empty; leave VITALS_COGNITO_CLIENT_SECRET unset when the app client has no secret",
            ));
        }
        if let Some(endpoint) = &self.endpoint {
            check_http_url("cognito.endpoint", endpoint)?;
        }
        Ok(())
    }

    /// The region in the user pool id (`eu-west-1` of `eu-west-1_AbC123def`).
    pub fn region(&self) -> &str {
        region_of_pool(&self.user_pool_id).unwrap_or_default()
    }

    /// What the pool's tokens carry in `iss`: always the AWS address, whatever endpoint the calls go to.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.user_pool_id
        )
    }

    /// Where the pool's signing keys are: beside the issuer, or under the endpoint override.
    pub fn jwks_url(&self) -> Result<Url, CognitoConfigError> {
        let base = match &self.endpoint {
            Some(endpoint) => format!(
                "{}/{}",
                endpoint.as_str().trim_end_matches('/'),
                self.user_pool_id
            ),
            None => self.issuer(),
        };
        Url::parse(&format!("{base}/.well-known/jwks.json")).map_err(|error| {
            InvalidSetting::new(
                "cognito.endpoint",
                format!("does not make a URL for the pool's signing keys ({error})"),
            )
            .into()
        })
    }

    /// How to verify this pool's tokens for this app client, each fetch of its keys waiting at most `timeout`.
    pub fn verifier_config(&self, timeout: Duration) -> Result<VerifierConfig, CognitoConfigError> {
        Ok(VerifierConfig {
            issuer: self.issuer(),
            client_id: self.client_id.clone(),
            jwks_url: self.jwks_url()?,
            timeout,
            refetch_interval: JWKS_REFETCH_INTERVAL,
        })
    }
}

/// The region of a user pool id `<region>_<letters and digits>`, if the id has that shape.
fn region_of_pool(user_pool_id: &str) -> Option<&str> {
    let (region, id) = user_pool_id.split_once('_')?;
    let region_ok = is_region(region);
    let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    (region_ok && id_ok).then_some(region)
}

/// Cognito's `SECRET_HASH`: base64(HMAC-SHA256(key = client secret, message = username + client id)).
pub fn secret_hash(username: &str, client_id: &str, client_secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Logs people in against one user pool and app client; share it behind an `Arc`.
pub struct CognitoProvider {
    client: Client,
    config: CognitoConfig,
    /// How long one call may take, retries included.
    timeout: Duration,
    verifier: TokenVerifier,
}

impl CognitoProvider {
    /// A provider for the configured pool. The calls it makes need no AWS
    /// credentials (Cognito authenticates them by the password, session or
    /// token they carry), so none are loaded.
    pub async fn new(config: CognitoConfig, timeout: Duration) -> Result<Self, CognitoConfigError> {
        config.validate()?;
        if timeout.is_zero() {
            return Err(CognitoConfigError::ZeroTimeout);
        }
        let verifier = TokenVerifier::new(config.verifier_config(timeout)?)
            .map_err(|error| CognitoConfigError::HttpClient(error.to_string()))?;
        let sdk_config = sdk_config(
            config.region(),
            timeout,
            config.endpoint.as_ref(),
            Credentials::Unsigned,
        )
        .await;
        Ok(Self {
            client: Client::new(&sdk_config),
            config,
            timeout,
            verifier,
        })
    }

    /// A call's parameters, with the `SECRET_HASH` for `username` when the app client has a secret.
    fn parameters(&self, username: &str, entries: &[(&str, &str)]) -> HashMap<String, String> {
        let mut parameters: HashMap<String, String> = entries
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        if let Some(secret) = &self.config.client_secret {
            parameters.insert(
                "SECRET_HASH".into(),
                secret_hash(username, &self.config.client_id, secret),
            );
        }
        parameters
    }

    /// The next step from an answer to InitiateAuth or RespondToAuthChallenge.
    async fn next_step(&self, answer: AuthAnswer, username: &str) -> Result<LoginStep, AuthError> {
        if let Some(result) = answer.result {
            return Ok(LoginStep::Authenticated(self.identity_from(result, None).await?));
        }
        let Some(name) = answer.challenge_name else {
            return Err(AuthError::Unavailable(
                "Cognito answered the login with neither tokens nor a further step".into(),
            ));
        };
        let kind = match name {
            ChallengeNameType::NewPasswordRequired => ChallengeKind::NewPasswordRequired,
            ChallengeNameType::SoftwareTokenMfa => ChallengeKind::SoftwareTokenMfa,
            ChallengeNameType::MfaSetup => ChallengeKind::MfaSetup,
            other => {
                return Err(AuthError::NotAllowed(format!(
                    "your account needs a login step Vitals does not offer ({}); ask an admin",
                    other.as_str()
                )));
            }
        };
        let session = answer.session.ok_or_else(|| {
            AuthError::Unavailable(format!("Cognito asked for {} without a session", name.as_str()))
        })?;
        // Answers must name the user as Cognito knows them, which may not be what was typed (an alias).
        let parameters = answer.challenge_parameters.unwrap_or_default();
        let username = parameters
            .get("USER_ID_FOR_SRP")
            .or_else(|| parameters.get("USERNAME"))
            .cloned()
            .unwrap_or_else(|| username.to_owned());
        let pending = PendingChallenge {
            kind,
            username,
            session,
        };
        if kind == ChallengeKind::MfaSetup {
            return self.set_up_authenticator(pending).await;
        }
        Ok(LoginStep::Challenge(pending))
    }

    /// Answers `MFA_SETUP` at once with AssociateSoftwareToken: the secret goes to the person, the new session stays here.
    async fn set_up_authenticator(&self, pending: PendingChallenge) -> Result<LoginStep, AuthError> {
        let answer = self
            .client
            .associate_software_token()
            .session(&pending.session)
            .send()
            .await
            .map_err(|error| self.error(Call::Challenge, error, &[&pending.session]))?;
        let secret = answer
            .secret_code
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| {
                AuthError::Unavailable("Cognito made no secret key for the authenticator app".into())
            })?;
        let setup = authenticator_setup(&pending.username, &secret)?;
        let session = answer.session.unwrap_or(pending.session);
        Ok(LoginStep::SetUpAuthenticator(
            PendingChallenge { session, ..pending },
            setup,
        ))
    }

    /// Checks the new authenticator's first code with VerifySoftwareToken, then ends `MFA_SETUP` with the session it gives.
    async fn finish_authenticator_setup(
        &self,
        pending: &PendingChallenge,
        code: String,
    ) -> Result<LoginStep, AuthError> {
        let verified = self
            .client
            .verify_software_token()
            .session(&pending.session)
            .user_code(&code)
            .friendly_device_name(DEVICE_NAME)
            .send()
            .await
            .map_err(|error| self.error(Call::Challenge, error, &[&pending.session, &code]))?;
        if verified.status == Some(VerifySoftwareTokenResponseType::Error) {
            return Err(AuthError::CodeRejected);
        }
        let session = verified.session.ok_or_else(|| {
            AuthError::Unavailable("Cognito accepted the code but gave no session to finish the login".into())
        })?;
        self.respond(pending, ChallengeNameType::MfaSetup, &session, &[])
            .await
    }

    /// RespondToAuthChallenge for `pending`'s user with `answers`, and the step it leads to.
    async fn respond(
        &self,
        pending: &PendingChallenge,
        name: ChallengeNameType,
        session: &str,
        answers: &[(&str, &str)],
    ) -> Result<LoginStep, AuthError> {
        let mut entries = vec![("USERNAME", pending.username.as_str())];
        entries.extend_from_slice(answers);
        let responses = self.parameters(&pending.username, &entries);
        let secrets = secret_values(&responses, &[session]);
        let answer = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.config.client_id)
            .challenge_name(name)
            .session(session)
            .set_challenge_responses(Some(responses.clone()))
            .send()
            .await
            .map_err(|error| self.error(Call::Challenge, error, &secrets))?;
        self.next_step(answer.into(), &pending.username).await
    }

    /// The identity in Cognito's tokens, once both verify; `previous_refresh` stands in when Cognito sends no new refresh token.
    async fn identity_from(
        &self,
        result: AuthenticationResultType,
        previous_refresh: Option<&str>,
    ) -> Result<Identity, AuthError> {
        let missing = |what: &str| AuthError::Unavailable(format!("Cognito's answer had no {what}"));
        let id_token = result.id_token.ok_or_else(|| missing("ID token"))?;
        let access_token = result.access_token.ok_or_else(|| missing("access token"))?;
        let refresh_token = result
            .refresh_token
            .or_else(|| previous_refresh.map(str::to_owned))
            .ok_or_else(|| missing("refresh token"))?;
        let id = self.verifier.verify_id_token(&id_token).await?;
        let access = self.verifier.verify_access_token(&access_token).await?;
        if id.subject != access.subject {
            return Err(AuthError::TokenRejected(
                "the ID and access tokens are for different users".into(),
            ));
        }
        let by_tokens_ms = id.expires_at_s.min(access.expires_at_s).saturating_mul(1000);
        let expires_at_ms = match i64::from(result.expires_in) {
            seconds if seconds > 0 => by_tokens_ms.min(now_ms().saturating_add(seconds * 1000)),
            _ => by_tokens_ms,
        };
        Ok(Identity {
            username: id.username,
            roles: id.roles,
            groups: id.groups,
            tokens: Some(Tokens {
                id_token,
                access_token,
                refresh_token,
                expires_at_ms,
            }),
        })
    }

    /// An SDK error as the person (or the log) should read it; `secrets` are what the call carried, kept out of the message.
    fn error<E>(&self, call: Call, error: SdkError<E, HttpResponse>, secrets: &[&str]) -> AuthError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let timed_out = || {
            AuthError::Unavailable(format!(
                "Cognito did not answer within {} ms; try again",
                self.timeout.as_millis()
            ))
        };
        match &error {
            SdkError::ServiceError(_) => service_error(call, error.code(), error.message(), secrets),
            SdkError::TimeoutError(_) => timed_out(),
            SdkError::DispatchFailure(failure) if failure.is_timeout() => timed_out(),
            SdkError::DispatchFailure(_) => AuthError::Unavailable(format!(
                "Cognito could not be reached ({}); check the network path and VITALS_COGNITO_ENDPOINT if it is set",
                scrub(&DisplayErrorContext(&error).to_string(), secrets)
            )),
            // The body of an answer that is not Cognito's JSON (a proxy's HTML page) says nothing useful.
            SdkError::ResponseError(context) => AuthError::Unavailable(format!(
                "Cognito answered HTTP {} with a body that is not Cognito's; check VITALS_COGNITO_ENDPOINT if it is set",
                context.raw().status().as_u16()
            )),
            _ => AuthError::Unavailable(format!(
                "the call to Cognito failed ({})",
                scrub(&DisplayErrorContext(&error).to_string(), secrets)
            )),
        }
    }
}

#[async_trait]
impl IdentityProvider for CognitoProvider {
    async fn login(&self, username: &str, password: &str) -> Result<LoginStep, AuthError> {
        if username.is_empty() || password.is_empty() {
            return Err(AuthError::InvalidCredentials);
        }
        let parameters = self.parameters(username, &[("USERNAME", username), ("PASSWORD", password)]);
        let secrets = secret_values(&parameters, &[]);
        let answer = self
            .client
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&self.config.client_id)
            .set_auth_parameters(Some(parameters.clone()))
            .send()
            .await
            .map_err(|error| self.error(Call::Login, error, &secrets))?;
        self.next_step(answer.into(), username).await
    }

    async fn answer_challenge(
        &self,
        pending: &PendingChallenge,
        answer: ChallengeAnswer,
    ) -> Result<LoginStep, AuthError> {
        if answer.kind() != pending.kind {
            return Err(AuthError::ChallengeExpired);
        }
        let (name, key, value) = match answer {
            ChallengeAnswer::NewPassword(password) if password.is_empty() => {
                return Err(AuthError::PasswordRejected("the new password is empty".into()));
            }
            ChallengeAnswer::NewPassword(password) => {
                (ChallengeNameType::NewPasswordRequired, "NEW_PASSWORD", password)
            }
            ChallengeAnswer::MfaCode(code) => (
                ChallengeNameType::SoftwareTokenMfa,
                "SOFTWARE_TOKEN_MFA_CODE",
                six_digit_code(&code)?,
            ),
            ChallengeAnswer::AuthenticatorCode(code) => {
                return self
                    .finish_authenticator_setup(pending, six_digit_code(&code)?)
                    .await;
            }
        };
        self.respond(pending, name, &pending.session, &[(key, &value)])
            .await
    }

    async fn refresh(&self, identity: &Identity) -> Result<Identity, AuthError> {
        let Some(tokens) = &identity.tokens else {
            return Err(AuthError::TokenRejected(
                "the identity has no Cognito tokens to refresh".into(),
            ));
        };
        // Cognito checks the hash against the username in the pool, which the ID token named.
        let parameters = self.parameters(&identity.username, &[("REFRESH_TOKEN", &tokens.refresh_token)]);
        let secrets = secret_values(&parameters, &[]);
        let answer = self
            .client
            .initiate_auth()
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .client_id(&self.config.client_id)
            .set_auth_parameters(Some(parameters.clone()))
            .send()
            .await
            .map_err(|error| self.error(Call::Refresh, error, &secrets))?;
        let result = answer
            .authentication_result
            .ok_or_else(|| AuthError::Unavailable("Cognito answered the refresh without tokens".into()))?;
        self.identity_from(result, Some(&tokens.refresh_token)).await
    }

    async fn logout(&self, identity: &Identity) -> Result<(), AuthError> {
        let Some(tokens) = &identity.tokens else {
            return Ok(());
        };
        let mut failures = Vec::new();
        // GlobalSignOut ends every token of the user; RevokeToken then makes sure of this login's refresh token.
        if let Err(error) = self
            .client
            .global_sign_out()
            .access_token(&tokens.access_token)
            .send()
            .await
        {
            let error = self.error(Call::SignOut, error, &[&tokens.access_token]);
            failures.push(format!("GlobalSignOut: {error}"));
        }
        let secret = self.config.client_secret.as_deref().unwrap_or_default();
        if let Err(error) = self
            .client
            .revoke_token()
            .token(&tokens.refresh_token)
            .client_id(&self.config.client_id)
            .set_client_secret(self.config.client_secret.clone())
            .send()
            .await
        {
            let error = self.error(Call::Revoke, error, &[&tokens.refresh_token, secret]);
            failures.push(format!("RevokeToken: {error}"));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(AuthError::Unavailable(format!(
                "Cognito did not finish the sign-out ({}); the Vitals session ends anyway",
                failures.join("; ")
            )))
        }
    }
}

/// The parts of InitiateAuth's and RespondToAuthChallenge's answers that decide the next step.
struct AuthAnswer {
    challenge_name: Option<ChallengeNameType>,
    session: Option<String>,
    challenge_parameters: Option<HashMap<String, String>>,
    result: Option<AuthenticationResultType>,
}

impl From<InitiateAuthOutput> for AuthAnswer {
    fn from(output: InitiateAuthOutput) -> Self {
        Self {
            challenge_name: output.challenge_name,
            session: output.session,
            challenge_parameters: output.challenge_parameters,
            result: output.authentication_result,
        }
    }
}

impl From<RespondToAuthChallengeOutput> for AuthAnswer {
    fn from(output: RespondToAuthChallengeOutput) -> Self {
        Self {
            challenge_name: output.challenge_name,
            session: output.session,
            challenge_parameters: output.challenge_parameters,
            result: output.authentication_result,
        }
    }
}

/// A code as an authenticator app shows it, perhaps in groups ("123 456"), as the six digits Cognito takes.
fn six_digit_code(code: &str) -> Result<String, AuthError> {
    let code: String = code.split_whitespace().collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::CodeRejected);
    }
    Ok(code)
}

/// Which call failed; the same Cognito error means different things to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Login,
    Challenge,
    Refresh,
    SignOut,
    Revoke,
}

/// What an error Cognito answered means for the person logging in.
fn service_error(call: Call, code: Option<&str>, message: Option<&str>, secrets: &[&str]) -> AuthError {
    let said = scrub(message.unwrap_or("no message"), secrets);
    match (call, code.unwrap_or_default()) {
        // One answer for both, so that a login does not tell which usernames exist.
        (Call::Login, "NotAuthorizedException" | "UserNotFoundException") => AuthError::InvalidCredentials,
        (
            Call::Challenge,
            "NotAuthorizedException" | "UserNotFoundException" | "ResourceNotFoundException",
        ) => AuthError::ChallengeExpired,
        (Call::Refresh, "NotAuthorizedException" | "UserNotFoundException") => AuthError::TokenRejected(
            "Cognito refused the refresh token (revoked, expired, or the user was removed)".into(),
        ),
        // EnableSoftwareTokenMFAException: VerifySoftwareToken found the new app's code wrong.
        (_, "CodeMismatchException" | "ExpiredCodeException" | "EnableSoftwareTokenMFAException") => {
            AuthError::CodeRejected
        }
        (_, "InvalidPasswordException") => AuthError::PasswordRejected(said),
        (_, "PasswordResetRequiredException") => {
            AuthError::NotAllowed("your password must be reset before you can log in; ask an admin".into())
        }
        (_, "UserNotConfirmedException") => {
            AuthError::NotAllowed("your account is not confirmed yet; ask an admin to confirm it".into())
        }
        (_, "TooManyRequestsException" | "LimitExceededException" | "TooManyFailedAttemptsException") => {
            AuthError::Unavailable("Cognito is throttling logins; try again in a minute".into())
        }
        (_, "ResourceNotFoundException") => AuthError::Unavailable(format!(
            "Cognito does not know the user pool or app client ({said}); check VITALS_COGNITO_USER_POOL_ID and VITALS_COGNITO_CLIENT_ID"
        )),
        (_, "InternalErrorException") => {
            AuthError::Unavailable("Cognito had an internal error; try again".into())
        }
        (_, "") => AuthError::Unavailable(format!("Cognito answered with an error ({said})")),
        (_, code) => AuthError::Unavailable(format!("Cognito answered {code} ({said})")),
    }
}

/// The values a call carries that must never show in a message: all its parameters but the username, and `more`.
fn secret_values<'a>(parameters: &'a HashMap<String, String>, more: &[&'a str]) -> Vec<&'a str> {
    parameters
        .iter()
        .filter(|(key, _)| key.as_str() != "USERNAME")
        .map(|(_, value)| value.as_str())
        .chain(more.iter().copied())
        .collect()
}

/// `message` with every secret the call carried replaced, as Cognito (and moto) may echo a value back.
fn scrub(message: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(message.to_owned(), |message, secret| {
            message.replace(secret, HIDDEN)
        })
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CognitoConfig {
        CognitoConfig {
            user_pool_id: "eu-west-1_AbC123def".into(),
            client_id: "client".into(),
            client_secret: Some("very-secret".into()),
            endpoint: None,
        }
    }

    #[test]
    fn the_secret_hash_is_cognitos_hmac_of_username_and_client_id() {
        // Computed independently: printf 'anaclient' | openssl dgst -sha256 -hmac 'very-secret' -binary | base64
        assert_eq!(
            secret_hash("ana", "client", "very-secret"),
            "iS5ZqANYVuRqZumLrZI1Tfak05rl/FAB2jB1apqlfDE="
        );
    }

    #[test]
    fn the_region_comes_from_the_pool_id_and_the_issuer_is_always_aws() {
        let mut config = config();
        assert_eq!(config.region(), "eu-west-1");
        assert_eq!(
            config.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123def"
        );
        assert_eq!(
            config.jwks_url().unwrap().as_str(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123def/.well-known/jwks.json"
        );
        config.endpoint = Some(Url::parse("http://127.0.0.1:5000/").unwrap());
        assert_eq!(
            config.jwks_url().unwrap().as_str(),
            "http://127.0.0.1:5000/eu-west-1_AbC123def/.well-known/jwks.json"
        );
        assert_eq!(
            config.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123def"
        );
    }

    #[test]
    fn bad_settings_are_refused_naming_the_key_and_the_variable() {
        for pool in ["", "AbC123", "eu-west-1_", "_AbC", "eu-west-1_../x", "EU_abc"] {
            let refused = CognitoConfig {
                user_pool_id: pool.into(),
                ..config()
            }
            .validate()
            .unwrap_err();
            assert_eq!(refused.key, "cognito.user_pool_id");
            assert!(
                refused.problem.contains("VITALS_COGNITO_USER_POOL_ID"),
                "{refused}"
            );
        }
        let refused = |config: CognitoConfig| config.validate().unwrap_err().to_string();
        let no_client = CognitoConfig {
            client_id: " ".into(),
            ..config()
        };
        assert!(refused(no_client).contains("VITALS_COGNITO_CLIENT_ID"));
        let empty_secret = CognitoConfig {
            client_secret: Some(String::new()),
            ..config()
        };
        assert!(refused(empty_secret).contains("VITALS_COGNITO_CLIENT_SECRET"));
        let not_http = CognitoConfig {
            endpoint: Some(Url::parse("moto:5000").unwrap()),
            ..config()
        };
        assert!(refused(not_http).contains("cognito.endpoint"));
    }

    #[tokio::test]
    async fn a_zero_timeout_is_refused() {
        let refused = CognitoProvider::new(config(), Duration::ZERO).await.err();
        assert_eq!(refused, Some(CognitoConfigError::ZeroTimeout));
    }

    #[test]
    fn the_client_secret_never_shows_in_debug_output() {
        let shown = format!("{:?}", config());
        assert!(
            !shown.contains("very-secret") && shown.contains("eu-west-1_AbC123def"),
            "{shown}"
        );
    }

    #[test]
    fn wrong_password_and_unknown_user_get_the_same_answer() {
        let wrong_password = service_error(
            Call::Login,
            Some("NotAuthorizedException"),
            Some("Incorrect username or password."),
            &[],
        );
        let unknown_user = service_error(
            Call::Login,
            Some("UserNotFoundException"),
            Some("User does not exist."),
            &[],
        );
        assert_eq!(wrong_password, AuthError::InvalidCredentials);
        assert_eq!(unknown_user.to_string(), wrong_password.to_string());
    }

    #[test]
    fn cognito_errors_mean_what_the_step_makes_of_them() {
        let cases = [
            (
                Call::Challenge,
                "NotAuthorizedException",
                AuthError::ChallengeExpired,
            ),
            (
                Call::Challenge,
                "ResourceNotFoundException",
                AuthError::ChallengeExpired,
            ),
            (Call::Challenge, "CodeMismatchException", AuthError::CodeRejected),
            (Call::Challenge, "ExpiredCodeException", AuthError::CodeRejected),
            (
                Call::Challenge,
                "EnableSoftwareTokenMFAException",
                AuthError::CodeRejected,
            ),
            (
                Call::Challenge,
                "InvalidPasswordException",
                AuthError::PasswordRejected("Password not long enough".into()),
            ),
        ];
        for (call, code, expected) in cases {
            assert_eq!(
                service_error(call, Some(code), Some("Password not long enough"), &[]),
                expected,
                "{call:?} {code}"
            );
        }
        assert!(matches!(
            service_error(Call::Refresh, Some("NotAuthorizedException"), None, &[]),
            AuthError::TokenRejected(_)
        ));
        for code in ["TooManyRequestsException", "LimitExceededException"] {
            let error = service_error(Call::Login, Some(code), None, &[]).to_string();
            assert!(error.contains("Cognito is throttling"), "{error}");
        }
        let error = service_error(Call::Login, Some("ResourceNotFoundException"), None, &[]).to_string();
        assert!(error.contains("VITALS_COGNITO_USER_POOL_ID"), "{error}");
        let error = service_error(
            Call::Login,
            Some("InvalidParameterException"),
            Some("USER_PASSWORD_AUTH flow not enabled for this client"),
            &[],
        )
        .to_string();
        assert!(
            error.contains("InvalidParameterException") && error.contains("USER_PASSWORD_AUTH"),
            "{error}"
        );
        assert!(matches!(
            service_error(Call::Login, Some("PasswordResetRequiredException"), None, &[]),
            AuthError::NotAllowed(_)
        ));
    }

    #[test]
    fn codes_are_six_digits_as_the_app_shows_them_spaces_allowed() {
        assert_eq!(six_digit_code("123456"), Ok("123456".into()));
        assert_eq!(six_digit_code(" 123 456 "), Ok("123456".into()));
        for wrong in ["12345", "1234567", "12a456", "", "١٢٣٤٥٦"] {
            assert_eq!(six_digit_code(wrong), Err(AuthError::CodeRejected), "{wrong}");
        }
    }

    #[test]
    fn secrets_cognito_echoes_back_are_hidden() {
        let error = service_error(
            Call::SignOut,
            Some("NotAuthorizedException"),
            Some("Invalid token eyJ.secret.token for session opaque-session"),
            &["eyJ.secret.token", "opaque-session", ""],
        )
        .to_string();
        assert!(!error.contains("secret") && !error.contains("opaque"), "{error}");
        assert!(error.contains("<hidden>"), "{error}");
    }
}
