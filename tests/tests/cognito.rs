//! Logging in through Cognito as the BFF does: against moto for the flows moto really runs, and against a capturing stand-in for what moto does not check.
//!
//! moto runs USER_PASSWORD_AUTH, NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA
//! (any code), MFA_SETUP with AssociateSoftwareToken and VerifySoftwareToken
//! (a fixed secret, any code), REFRESH_TOKEN_AUTH and GlobalSignOut, and
//! serves the pool's JWKS, so those are tested end to end with the tokens
//! verified. It does not check SECRET_HASH on a password login or an
//! MFA_SETUP answer, accepts any code and answers RevokeToken with HTTP 500,
//! so the requests the BFF sends for those are captured by a small local
//! server posing as Cognito and checked there.
//! A whole server logging in through moto shows that a copy of its session
//! store (SQLite or DynamoDB) holds no token anyone could use.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, MessageActionType, SoftwareTokenMfaConfigType, SoftwareTokenMfaSettingsType,
    UserPoolMfaType,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use vitals_api::{ChallengeKind, Role};
use vitals_server::auth::identity::{
    AuthError, ChallengeAnswer, CognitoConfig, CognitoProvider, Identity, IdentityProvider, LoginStep,
    PendingChallenge, TokenVerifier, secret_hash,
};
use vitals_server::auth::session::SessionPayload;
use vitals_server::state::{AppState, Clock, ManualClock, SystemClock};
use vitals_server::store::TokenKey;
use vitals_server::store::{SessionId, SessionLookup};
use vitals_tests::moto::MotoServer;
use vitals_tests::{TestServer, test_config};

const PASSWORD: &str = "Correct-Horse-42";
/// The pool's region. moto finds the pool of most unsigned Cognito calls in
/// any region, but looks for GlobalSignOut's (unsigned, as the BFF sends it,
/// and to 127.0.0.1, so nothing names a region) only in its default region.
const POOL_REGION: &str = "us-east-1";
const TIMEOUT: Duration = Duration::from_secs(20);

/// moto with a user pool, an app client and Vitals' groups, and the BFF's provider on it.
struct Pool {
    moto: MotoServer,
    admin: Client,
    pool_id: String,
    client_id: String,
    client_secret: Option<String>,
    provider: CognitoProvider,
}

impl Pool {
    async fn start(with_secret: bool) -> Result<Self> {
        let moto = MotoServer::start().await?;
        let admin = admin_client(&moto.url()).await;
        let pool = admin.create_user_pool().pool_name("vitals").send().await?;
        let pool_id = pool
            .user_pool()
            .and_then(|pool| pool.id())
            .context("moto created a pool without an id")?
            .to_owned();
        let client = admin
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("vitals-bff")
            .generate_secret(with_secret)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await?;
        let client = client.user_pool_client().context("moto created no app client")?;
        let client_id = client.client_id().context("the app client has no id")?.to_owned();
        let client_secret = client.client_secret().map(str::to_owned);
        assert_eq!(client_secret.is_some(), with_secret);
        for group in ["clinician", "operations", "engineer", "admin", "front-desk"] {
            admin
                .create_group()
                .user_pool_id(&pool_id)
                .group_name(group)
                .send()
                .await?;
        }
        let config = CognitoConfig {
            user_pool_id: pool_id.clone(),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            endpoint: Some(moto.endpoint()),
        };
        let provider = CognitoProvider::new(config, TIMEOUT).await?;
        Ok(Self {
            moto,
            admin,
            pool_id,
            client_id,
            client_secret,
            provider,
        })
    }

    /// Makes MFA required with authenticator apps, as the deployed pool has it.
    async fn require_mfa(&self) -> Result<()> {
        self.admin
            .set_user_pool_mfa_config()
            .user_pool_id(&self.pool_id)
            .mfa_configuration(UserPoolMfaType::On)
            .software_token_mfa_configuration(SoftwareTokenMfaConfigType::builder().enabled(true).build())
            .send()
            .await?;
        Ok(())
    }

    fn config(&self) -> CognitoConfig {
        CognitoConfig {
            user_pool_id: self.pool_id.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            endpoint: Some(self.moto.endpoint()),
        }
    }

    /// A user as AdminCreateUser leaves it: a temporary password that must be changed.
    async fn add_user_with_temporary_password(
        &self,
        username: &str,
        password: &str,
        groups: &[&str],
    ) -> Result<()> {
        self.admin
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .temporary_password(password)
            .message_action(MessageActionType::Suppress)
            .send()
            .await?;
        for group in groups {
            self.admin
                .admin_add_user_to_group()
                .user_pool_id(&self.pool_id)
                .username(username)
                .group_name(*group)
                .send()
                .await?;
        }
        Ok(())
    }

    /// A confirmed user with a permanent password, in `groups`.
    async fn add_user(&self, username: &str, groups: &[&str]) -> Result<()> {
        self.add_user_with_temporary_password(username, "Temporary-Pass-1", groups)
            .await?;
        self.admin
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await?;
        Ok(())
    }

    async fn log_in(&self, username: &str) -> Result<Identity> {
        match self.provider.login(username, PASSWORD).await? {
            LoginStep::Authenticated(identity) => Ok(identity),
            step => anyhow::bail!("expected a login, got {step:?}"),
        }
    }

    fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(
            self.config()
                .verifier_config(TIMEOUT)
                .expect("the pool's settings are valid"),
        )
        .expect("an HTTP client can be made")
    }
}

/// An SDK client for the pool admin calls tests make, with moto's dummy
/// credentials on the client (not the process, as tests run in parallel).
async fn admin_client(endpoint: &str) -> Client {
    let credentials = Credentials::new("testing", "testing", None, None, "test");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(POOL_REGION))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .load()
        .await;
    Client::new(&config)
}

fn tokens_of(identity: &Identity) -> &vitals_server::auth::identity::Tokens {
    identity
        .tokens
        .as_ref()
        .expect("a Cognito identity carries tokens")
}

fn independent_secret_hash(username: &str, client_id: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn login_gives_the_roles_of_the_users_vitals_groups_in_verified_tokens() -> Result<()> {
    let pool = Pool::start(false).await?;
    pool.add_user("ana", &["engineer", "front-desk", "operations"])
        .await?;

    let identity = pool.log_in("ana").await?;
    assert_eq!(identity.username, "ana");
    assert_eq!(identity.roles, [Role::Operations, Role::Engineer]);
    // Every group is kept, so a label scope may name one that is not a role.
    assert_eq!(identity.groups, ["engineer", "front-desk", "operations"]);

    let tokens = tokens_of(&identity);
    let verifier = pool.verifier();
    let id = verifier.verify_id_token(&tokens.id_token).await?;
    let access = verifier.verify_access_token(&tokens.access_token).await?;
    assert_eq!((id.username.as_str(), access.username.as_str()), ("ana", "ana"));
    assert_eq!(id.roles, identity.roles);
    // The ID token is not an access token, nor the other way round.
    assert!(verifier.verify_access_token(&tokens.id_token).await.is_err());
    assert!(verifier.verify_id_token(&tokens.access_token).await.is_err());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    assert!(tokens.expires_at_ms > now_ms && tokens.expires_at_ms <= now_ms + 3_600_000 + 1_000);
    Ok(())
}

#[tokio::test]
async fn a_user_in_no_vitals_group_is_told_to_ask_an_admin() -> Result<()> {
    let pool = Pool::start(false).await?;
    pool.add_user("bob", &["front-desk"]).await?;
    pool.add_user("cy", &[]).await?;
    for username in ["bob", "cy"] {
        match pool.provider.login(username, PASSWORD).await {
            Err(AuthError::NotAllowed(why)) => assert!(why.contains("ask an admin"), "{why}"),
            other => panic!("{username}: expected NotAllowed, got {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() -> Result<()> {
    let pool = Pool::start(false).await?;
    pool.add_user("ana", &["clinician"]).await?;
    let wrong_password = pool.provider.login("ana", "Not-The-Password-1").await;
    let unknown_user = pool.provider.login("nobody", PASSWORD).await;
    assert_eq!(wrong_password, Err(AuthError::InvalidCredentials));
    assert_eq!(unknown_user, wrong_password);
    assert_eq!(
        format!("{unknown_user:?}"),
        format!("{wrong_password:?}"),
        "nothing tells the two apart"
    );
    Ok(())
}

#[tokio::test]
async fn a_temporary_password_is_replaced_through_new_password_required() -> Result<()> {
    let pool = Pool::start(true).await?;
    pool.add_user_with_temporary_password("dee", "Temporary-Pass-1", &["clinician"])
        .await?;

    let LoginStep::Challenge(pending) = pool.provider.login("dee", "Temporary-Pass-1").await? else {
        panic!("a temporary password must be replaced first");
    };
    assert_eq!(pending.kind, ChallengeKind::NewPasswordRequired);
    assert_eq!(pending.username, "dee");
    assert!(!format!("{pending:?}").contains(&pending.session));

    // moto checks the pool's default policy (length, upper case, digits, symbols).
    let weak = pool
        .provider
        .answer_challenge(&pending, ChallengeAnswer::NewPassword("weak".into()))
        .await;
    assert!(matches!(weak, Err(AuthError::PasswordRejected(_))), "{weak:?}");
    assert_eq!(
        pool.provider
            .answer_challenge(&pending, ChallengeAnswer::MfaCode("123456".into()))
            .await,
        Err(AuthError::ChallengeExpired),
        "an answer to another step than the one asked is refused"
    );

    let step = pool
        .provider
        .answer_challenge(&pending, ChallengeAnswer::NewPassword(PASSWORD.into()))
        .await?;
    let LoginStep::Authenticated(identity) = step else {
        panic!("the new password ends the login, got {step:?}");
    };
    assert_eq!(
        (identity.username.as_str(), identity.roles.as_slice()),
        ("dee", &[Role::Clinician][..])
    );
    // The new password is now the one that works.
    assert_eq!(pool.log_in("dee").await?.roles, [Role::Clinician]);
    assert_eq!(
        pool.provider.login("dee", "Temporary-Pass-1").await,
        Err(AuthError::InvalidCredentials)
    );
    Ok(())
}

#[tokio::test]
async fn a_user_with_an_authenticator_app_is_asked_for_the_code() -> Result<()> {
    // With a client secret, moto checks the SECRET_HASH of the MFA answer.
    let pool = Pool::start(true).await?;
    pool.add_user("eve", &["admin"]).await?;
    let tokens = tokens_of(&pool.log_in("eve").await?).clone();
    pool.admin
        .associate_software_token()
        .access_token(&tokens.access_token)
        .send()
        .await?;
    pool.admin
        .verify_software_token()
        .access_token(&tokens.access_token)
        .user_code("123456")
        .send()
        .await?;
    pool.admin
        .admin_set_user_mfa_preference()
        .user_pool_id(&pool.pool_id)
        .username("eve")
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await?;

    let LoginStep::Challenge(pending) = pool.provider.login("eve", PASSWORD).await? else {
        panic!("a user with TOTP set up is asked for a code");
    };
    assert_eq!(pending.kind, ChallengeKind::SoftwareTokenMfa);
    assert_eq!(
        pool.provider
            .answer_challenge(&pending, ChallengeAnswer::MfaCode("12345x".into()))
            .await,
        Err(AuthError::CodeRejected),
        "a code that is not six digits never reaches Cognito"
    );
    let step = pool
        .provider
        .answer_challenge(&pending, ChallengeAnswer::MfaCode("123 456".into()))
        .await?;
    let LoginStep::Authenticated(identity) = step else {
        panic!("the code ends the login, got {step:?}");
    };
    assert_eq!(identity.roles, [Role::Admin]);
    // moto removes the challenge session once answered; answering again means logging in again.
    assert_eq!(
        pool.provider
            .answer_challenge(&pending, ChallengeAnswer::MfaCode("123456".into()))
            .await,
        Err(AuthError::ChallengeExpired)
    );
    Ok(())
}

/// moto's one secret key for every authenticator app.
const MOTO_TOTP_SECRET: &str = "asdfasdfasdf";

#[tokio::test]
async fn a_new_user_adds_an_authenticator_app_at_first_login_when_the_pool_requires_mfa() -> Result<()> {
    let pool = Pool::start(true).await?;
    pool.require_mfa().await?;
    pool.add_user_with_temporary_password("kim", "Temporary-Pass-1", &["clinician", "operations"])
        .await?;
    let vitals = CognitoServer::start(&pool, &SessionTable::Sqlite).await?;

    let login = |password: &str| json!({"username": "kim", "password": password});
    let (answer, cookie) = vitals
        .post("/api/v1/session", None, login("Temporary-Pass-1"))
        .await?;
    assert_eq!(answer, json!({"challenge": "NEW_PASSWORD_REQUIRED"}));
    let new_password = json!({"challenge": "NEW_PASSWORD_REQUIRED", "new_password": PASSWORD});
    let (answer, cookie) = vitals
        .post("/api/v1/session/challenge", Some(&cookie), new_password)
        .await?;

    assert_eq!(answer["challenge"], "MFA_SETUP", "{answer}");
    let setup = &answer["authenticator"];
    assert_eq!(setup["secret_key"], "asdf asdf asdf");
    assert_eq!(
        setup["uri"],
        format!("otpauth://totp/Vitals:kim?secret={MOTO_TOTP_SECRET}&issuer=Vitals")
    );
    let svg = setup["qr_svg"].as_str().context("the QR code is a string")?;
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.ends_with("</svg>"));
    assert!(svg.len() < 8_000, "the QR code is small: {} bytes", svg.len());
    let SessionPayload::Pending(pending) = vitals.payload(&cookie).await? else {
        anyhow::bail!("kim's login waits for the authenticator's code");
    };
    assert_eq!(pending.kind, ChallengeKind::MfaSetup);
    assert!(
        !answer.to_string().contains(&pending.session),
        "Cognito's session stays on the server"
    );
    let copy = vitals.stolen_copy(&pool, &SessionTable::Sqlite).await?;
    assert!(
        !copy.contains(MOTO_TOTP_SECRET) && !copy.contains(&pending.session),
        "the store holds neither the secret key nor the session in the clear"
    );

    let code = json!({"challenge": "MFA_SETUP", "code": "123 456"});
    let (answer, cookie) = vitals
        .post("/api/v1/session/challenge", Some(&cookie), code)
        .await?;
    assert_eq!(answer["user"], "kim", "{answer}");
    assert_eq!(answer["roles"], json!(["clinician", "operations"]));
    let tokens = vitals.tokens(&cookie).await?;
    let verifier = pool.verifier();
    let id = verifier.verify_id_token(&tokens.id_token).await?;
    verifier.verify_access_token(&tokens.access_token).await?;
    assert_eq!(
        (id.username.as_str(), id.roles.as_slice()),
        ("kim", &[Role::Clinician, Role::Operations][..])
    );

    // From now on the app's code is asked for at every login.
    let (answer, _) = vitals.post("/api/v1/session", None, login(PASSWORD)).await?;
    assert_eq!(answer, json!({"challenge": "SOFTWARE_TOKEN_MFA"}));
    let LoginStep::Challenge(pending) = pool.provider.login("kim", PASSWORD).await? else {
        panic!("kim has an authenticator app now");
    };
    assert_eq!(pending.kind, ChallengeKind::SoftwareTokenMfa);
    Ok(())
}

#[tokio::test]
async fn refresh_gives_new_tokens_that_verify() -> Result<()> {
    // With a client secret, moto checks the SECRET_HASH of the refresh.
    let pool = Pool::start(true).await?;
    pool.add_user("fay", &["operations"]).await?;
    let identity = pool.log_in("fay").await?;
    let before = tokens_of(&identity).clone();

    let refreshed = pool.provider.refresh(&identity).await?;
    let after = tokens_of(&refreshed);
    assert_eq!(
        (refreshed.username.as_str(), refreshed.roles.as_slice()),
        ("fay", &[Role::Operations][..])
    );
    assert_ne!(after.id_token, before.id_token);
    assert_ne!(after.access_token, before.access_token);
    assert_eq!(
        after.refresh_token, before.refresh_token,
        "Cognito keeps the refresh token"
    );
    assert!(after.expires_at_ms >= before.expires_at_ms);
    let verifier = pool.verifier();
    verifier.verify_id_token(&after.id_token).await?;
    verifier.verify_access_token(&after.access_token).await?;

    // Group changes reach the session at the next refresh.
    pool.admin
        .admin_add_user_to_group()
        .user_pool_id(&pool.pool_id)
        .username("fay")
        .group_name("engineer")
        .send()
        .await?;
    let refreshed = pool.provider.refresh(&refreshed).await?;
    assert_eq!(refreshed.roles, [Role::Operations, Role::Engineer]);
    Ok(())
}

#[tokio::test]
async fn logout_signs_out_at_cognito_even_when_revoke_token_fails() -> Result<()> {
    let pool = Pool::start(true).await?;
    pool.add_user("gus", &["engineer"]).await?;
    let identity = pool.log_in("gus").await?;
    let tokens = tokens_of(&identity).clone();

    // moto answers RevokeToken with HTTP 500; GlobalSignOut is what protects, and it works.
    if let Err(error) = pool.provider.logout(&identity).await {
        let said = error.to_string();
        assert!(
            matches!(error, AuthError::Unavailable(_))
                && said.contains("RevokeToken")
                && !said.contains("GlobalSignOut")
                && said.contains("session ends anyway"),
            "{said}"
        );
        for secret in [&tokens.access_token, &tokens.refresh_token, &tokens.id_token] {
            assert!(!said.contains(secret.as_str()), "a token leaked into \"{said}\"");
        }
    }
    assert!(
        matches!(
            pool.provider.refresh(&identity).await,
            Err(AuthError::TokenRejected(_))
        ),
        "the refresh token is dead after the sign-out"
    );
    let get_user = pool
        .admin
        .get_user()
        .access_token(&tokens.access_token)
        .send()
        .await;
    assert!(get_user.is_err(), "the access token is dead after the sign-out");
    Ok(())
}

/// A local server posing as Cognito's endpoint: records each call's
/// `X-Amz-Target` and JSON body, and answers from a fixed script.
struct FakeCognito {
    address: SocketAddr,
    calls: Calls,
    task: tokio::task::JoinHandle<()>,
}

/// The answer to each operation: its name, a status and a JSON body.
type Script = Vec<(&'static str, StatusCode, Value)>;
/// Each call the fake was sent: its `X-Amz-Target` and JSON body.
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

impl FakeCognito {
    async fn start(script: Script) -> Result<Self> {
        let calls = Calls::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(answer)
            .with_state((calls.clone(), Arc::new(script)));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, calls, task })
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls
            .lock()
            .expect("no test thread panicked holding it")
            .clone()
    }

    async fn provider(&self, client_secret: Option<&str>) -> Result<CognitoProvider> {
        let config = CognitoConfig {
            user_pool_id: "eu-west-1_FakePool1".into(),
            client_id: "fake-client".into(),
            client_secret: client_secret.map(str::to_owned),
            endpoint: Some(self.url().parse()?),
        };
        Ok(CognitoProvider::new(config, Duration::from_secs(10)).await?)
    }
}

impl Drop for FakeCognito {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State((calls, script)): State<(Calls, Arc<Script>)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    calls
        .lock()
        .expect("no test thread panicked holding it")
        .push((target.clone(), body));
    let operation = target.rsplit('.').next().unwrap_or_default();
    match script.iter().find(|(name, _, _)| *name == operation) {
        Some((_, status, body)) => (
            *status,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            body.to_string(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_IMPLEMENTED,
            format!("no answer scripted for {target}"),
        )
            .into_response(),
    }
}

fn cognito_error(code: &str, message: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({"__type": code, "message": message}),
    )
}

#[tokio::test]
async fn a_password_login_sends_the_secret_hash_of_username_and_client_id() -> Result<()> {
    let (status, body) = cognito_error("NotAuthorizedException", "Incorrect username or password.");
    let cognito = FakeCognito::start(vec![("InitiateAuth", status, body)]).await?;
    let provider = cognito.provider(Some("client-secret-value")).await?;

    assert_eq!(
        provider.login("ana", PASSWORD).await,
        Err(AuthError::InvalidCredentials)
    );
    let calls = cognito.calls();
    let (target, body) = calls.first().context("no call reached the fake Cognito")?;
    assert_eq!(target, "AWSCognitoIdentityProviderService.InitiateAuth");
    assert_eq!(body["AuthFlow"], "USER_PASSWORD_AUTH");
    assert_eq!(body["ClientId"], "fake-client");
    assert_eq!(body["AuthParameters"]["USERNAME"], "ana");
    assert_eq!(body["AuthParameters"]["PASSWORD"], PASSWORD);
    let expected = independent_secret_hash("ana", "fake-client", "client-secret-value");
    assert_eq!(body["AuthParameters"]["SECRET_HASH"], expected.as_str());
    assert_eq!(secret_hash("ana", "fake-client", "client-secret-value"), expected);

    // Without a secret, no SECRET_HASH is sent.
    let provider = cognito.provider(None).await?;
    let _ = provider.login("ana", PASSWORD).await;
    let calls = cognito.calls();
    let (_, body) = calls.last().context("the second login reached no one")?;
    assert!(body["AuthParameters"].get("SECRET_HASH").is_none(), "{body}");
    Ok(())
}

#[tokio::test]
async fn an_mfa_answer_carries_the_code_the_session_and_the_secret_hash() -> Result<()> {
    let challenge = json!({
        "ChallengeName": "SOFTWARE_TOKEN_MFA",
        "Session": "opaque-session-1",
        "ChallengeParameters": {"USER_ID_FOR_SRP": "a1b2c3-ana"}
    });
    let (status, mismatch) = cognito_error("CodeMismatchException", "Invalid code received for user");
    let cognito = FakeCognito::start(vec![
        ("InitiateAuth", StatusCode::OK, challenge),
        ("RespondToAuthChallenge", status, mismatch),
    ])
    .await?;
    let provider = cognito.provider(Some("client-secret-value")).await?;

    let LoginStep::Challenge(pending) = provider.login("ana@clinic.example", PASSWORD).await? else {
        panic!("the scripted answer is a challenge");
    };
    assert_eq!(
        pending,
        PendingChallenge {
            kind: ChallengeKind::SoftwareTokenMfa,
            username: "a1b2c3-ana".into(),
            session: "opaque-session-1".into(),
        },
        "answers name the user as Cognito knows them"
    );
    assert_eq!(
        provider
            .answer_challenge(&pending, ChallengeAnswer::MfaCode("654 321".into()))
            .await,
        Err(AuthError::CodeRejected)
    );

    let calls = cognito.calls();
    let (target, body) = calls.last().context("the answer reached no one")?;
    assert_eq!(target, "AWSCognitoIdentityProviderService.RespondToAuthChallenge");
    assert_eq!(body["ChallengeName"], "SOFTWARE_TOKEN_MFA");
    assert_eq!(body["ClientId"], "fake-client");
    assert_eq!(body["Session"], "opaque-session-1");
    let responses = &body["ChallengeResponses"];
    assert_eq!(responses["USERNAME"], "a1b2c3-ana");
    assert_eq!(responses["SOFTWARE_TOKEN_MFA_CODE"], "654321");
    assert_eq!(
        responses["SECRET_HASH"],
        independent_secret_hash("a1b2c3-ana", "fake-client", "client-secret-value").as_str()
    );
    Ok(())
}

#[tokio::test]
async fn an_authenticator_is_added_with_the_sessions_cognito_hands_on_and_the_secret_hash() -> Result<()> {
    let setup = json!({
        "ChallengeName": "MFA_SETUP",
        "Session": "opaque-session-1",
        "ChallengeParameters": {"MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]", "USER_ID_FOR_SRP": "a1b2c3-ana"}
    });
    let associated = json!({"SecretCode": "JBSWY3DPEHPK3PXPJBSW", "Session": "opaque-session-2"});
    let verified = json!({"Status": "SUCCESS", "Session": "opaque-session-3"});
    // Tokens a fake could not sign: the answer that would carry them is refused, and the calls are what count.
    let (status, expired) = cognito_error("NotAuthorizedException", "Invalid session opaque-session-3");
    let cognito = FakeCognito::start(vec![
        ("InitiateAuth", StatusCode::OK, setup),
        ("AssociateSoftwareToken", StatusCode::OK, associated),
        ("VerifySoftwareToken", StatusCode::OK, verified),
        ("RespondToAuthChallenge", status, expired),
    ])
    .await?;
    let provider = cognito.provider(Some("client-secret-value")).await?;

    let LoginStep::SetUpAuthenticator(pending, setup) =
        provider.login("ana@clinic.example", PASSWORD).await?
    else {
        panic!("the scripted answer is MFA_SETUP");
    };
    assert_eq!(
        pending,
        PendingChallenge {
            kind: ChallengeKind::MfaSetup,
            username: "a1b2c3-ana".into(),
            session: "opaque-session-2".into(),
        },
        "the session AssociateSoftwareToken gave is the one kept"
    );
    assert_eq!(setup.secret_key, "JBSW Y3DP EHPK 3PXP JBSW");
    assert_eq!(
        setup.uri,
        "otpauth://totp/Vitals:a1b2c3-ana?secret=JBSWY3DPEHPK3PXPJBSW&issuer=Vitals"
    );
    assert_eq!(
        provider
            .answer_challenge(&pending, ChallengeAnswer::MfaCode("123456".into()))
            .await,
        Err(AuthError::ChallengeExpired),
        "the code of an app already added does not answer the setup"
    );
    let answered = provider
        .answer_challenge(&pending, ChallengeAnswer::AuthenticatorCode("654 321".into()))
        .await;
    assert_eq!(answered, Err(AuthError::ChallengeExpired));
    assert!(
        !format!("{answered:?}").contains("opaque-session"),
        "{answered:?}"
    );

    let calls = cognito.calls();
    let targets: Vec<&str> = calls.iter().map(|(target, _)| target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "AWSCognitoIdentityProviderService.InitiateAuth",
            "AWSCognitoIdentityProviderService.AssociateSoftwareToken",
            "AWSCognitoIdentityProviderService.VerifySoftwareToken",
            "AWSCognitoIdentityProviderService.RespondToAuthChallenge",
        ]
    );
    assert_eq!(calls[1].1, json!({"Session": "opaque-session-1"}));
    assert_eq!(
        calls[2].1,
        json!({"Session": "opaque-session-2", "UserCode": "654321", "FriendlyDeviceName": "Vitals"})
    );
    let respond = &calls[3].1;
    assert_eq!(respond["ChallengeName"], "MFA_SETUP");
    assert_eq!(respond["ClientId"], "fake-client");
    assert_eq!(respond["Session"], "opaque-session-3");
    assert_eq!(
        respond["ChallengeResponses"],
        json!({
            "USERNAME": "a1b2c3-ana",
            "SECRET_HASH": independent_secret_hash("a1b2c3-ana", "fake-client", "client-secret-value"),
        })
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_first_code_of_a_new_authenticator_says_to_type_the_current_one() -> Result<()> {
    for code in ["CodeMismatchException", "EnableSoftwareTokenMFAException"] {
        let (status, mismatch) = cognito_error(code, "Code mismatch for session opaque-session-2");
        let cognito = FakeCognito::start(vec![("VerifySoftwareToken", status, mismatch)]).await?;
        let provider = cognito.provider(None).await?;
        let pending = PendingChallenge {
            kind: ChallengeKind::MfaSetup,
            username: "ana".into(),
            session: "opaque-session-2".into(),
        };
        let refused = provider
            .answer_challenge(&pending, ChallengeAnswer::AuthenticatorCode("111 111".into()))
            .await;
        assert_eq!(refused, Err(AuthError::CodeRejected), "{code}");
        let said = refused.unwrap_err().to_string();
        assert!(said.contains("enter the current code"), "{said}");
        assert_eq!(
            provider
                .answer_challenge(&pending, ChallengeAnswer::AuthenticatorCode("12 34".into()))
                .await,
            Err(AuthError::CodeRejected),
            "a code that is not six digits never reaches Cognito"
        );
        assert_eq!(cognito.calls().len(), 1, "{code}");
    }
    Ok(())
}

#[tokio::test]
async fn an_expired_challenge_session_says_log_in_again() -> Result<()> {
    let (status, expired) = cognito_error(
        "NotAuthorizedException",
        "Invalid session for the user, session is expired.",
    );
    let cognito = FakeCognito::start(vec![("RespondToAuthChallenge", status, expired)]).await?;
    let provider = cognito.provider(None).await?;
    let pending = PendingChallenge {
        kind: ChallengeKind::NewPasswordRequired,
        username: "ana".into(),
        session: "old-session".into(),
    };
    let result = provider
        .answer_challenge(&pending, ChallengeAnswer::NewPassword(PASSWORD.into()))
        .await;
    assert_eq!(result, Err(AuthError::ChallengeExpired));
    assert!(result.unwrap_err().to_string().contains("log in again"));
    let calls = cognito.calls();
    let (_, body) = calls.last().context("the answer reached no one")?;
    assert_eq!(body["ChallengeName"], "NEW_PASSWORD_REQUIRED");
    assert_eq!(body["ChallengeResponses"]["NEW_PASSWORD"], PASSWORD);
    Ok(())
}

#[tokio::test]
async fn logout_sends_global_sign_out_then_revoke_token_with_the_client_secret() -> Result<()> {
    let cognito = FakeCognito::start(vec![
        ("GlobalSignOut", StatusCode::OK, json!({})),
        ("RevokeToken", StatusCode::OK, json!({})),
    ])
    .await?;
    let provider = cognito.provider(Some("client-secret-value")).await?;
    let identity = Identity {
        username: "ana".into(),
        roles: vec![Role::Engineer],
        groups: Vec::new(),
        tokens: Some(vitals_server::auth::identity::Tokens {
            id_token: "id-token".into(),
            access_token: "access-token".into(),
            refresh_token: "refresh-token".into(),
            expires_at_ms: 0,
        }),
    };
    provider.logout(&identity).await?;
    let calls = cognito.calls();
    let targets: Vec<&str> = calls.iter().map(|(target, _)| target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "AWSCognitoIdentityProviderService.GlobalSignOut",
            "AWSCognitoIdentityProviderService.RevokeToken"
        ]
    );
    assert_eq!(calls[0].1, json!({"AccessToken": "access-token"}));
    assert_eq!(
        calls[1].1,
        json!({"Token": "refresh-token", "ClientId": "fake-client", "ClientSecret": "client-secret-value"})
    );
    Ok(())
}

#[tokio::test]
async fn cognito_out_of_reach_is_unavailable_and_named() -> Result<()> {
    // A port that was free a moment ago: nothing answers there.
    let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = CognitoConfig {
        user_pool_id: "eu-west-1_FakePool1".into(),
        client_id: "fake-client".into(),
        client_secret: None,
        endpoint: Some(format!("http://{address}").parse()?),
    };
    let provider = CognitoProvider::new(config, Duration::from_secs(10)).await?;
    match provider.login("ana", PASSWORD).await {
        Err(AuthError::Unavailable(why)) => {
            assert!(
                why.contains("Cognito") && why.contains("VITALS_COGNITO_ENDPOINT"),
                "{why}"
            );
            assert!(!why.contains(PASSWORD), "{why}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    Ok(())
}

/// The key the servers of these tests seal Cognito's tokens with.
const TOKEN_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Where a server keeps its sessions, and how a thief would copy them.
enum SessionTable {
    /// The SQLite file (and its journal) under the data folder.
    Sqlite,
    /// A DynamoDB table in moto, copied with a raw Scan.
    Dynamo(&'static str),
}

/// A Vitals server logging people in through the pool, its clock under the test's control.
struct CognitoServer {
    server: TestServer,
    state: AppState,
    clock: Arc<ManualClock>,
    data_dir: std::path::PathBuf,
}

impl CognitoServer {
    async fn start(pool: &Pool, table: &SessionTable) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let data_dir = data.path().to_owned();
        let mut config = test_config(&data_dir);
        config.demo_password = None;
        config.cognito = Some(pool.config());
        config.session.token_key = Some(TokenKey::from_base64(TOKEN_KEY).expect("the test key is valid"));
        // The test moves the clock to the tokens' refresh without using the session meanwhile.
        config.session.idle_timeout = Duration::from_secs(120 * 60);
        config.validate()?;
        // Cognito's tokens expire by the real clock, so the server's starts from it.
        let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
        let mut auth = vitals_server::configured_auth(&config, clock.clone()).await?;
        if let SessionTable::Dynamo(table) = table {
            let sessions = pool.moto.session_store(table).await?;
            sessions.ensure_table().await?;
            vitals_server::share_stores(&mut auth, sessions, None, None);
        }
        let sources = vitals_server::demo_sources(&config, clock.clone());
        let state = vitals_server::state_with_auth(&config, &sources, auth, clock.clone())?;
        let server = TestServer::start_with_state(state.clone(), data).await?;
        Ok(Self {
            server,
            state,
            clock,
            data_dir,
        })
    }

    /// `POST` of `body` to `path`, in the session of `cookie` if given: the answer, and the
    /// session cookie it set or else `cookie`.
    async fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> Result<(Value, String)> {
        let mut request = reqwest::Client::new()
            .post(self.server.url(path))
            .header("x-vitals-csrf", "1")
            .json(&body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{path} answered {}",
            response.status()
        );
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .or(cookie)
            .context("no session cookie")?
            .to_owned();
        Ok((response.json().await?, cookie))
    }

    /// What the server holds for the session of `cookie`, opened with its key.
    async fn payload(&self, cookie: &str) -> Result<SessionPayload> {
        let id = cookie
            .split_once('=')
            .and_then(|(_, value)| SessionId::parse(value))
            .context("the cookie holds a session id")?;
        let auth = &self.state.auth;
        let SessionLookup::Active(record) =
            auth.sessions.load(&id, self.clock.now_ms(), &auth.policy).await?
        else {
            anyhow::bail!("the session is not active");
        };
        Ok(SessionPayload::from_record(&record, &auth.token_key)?)
    }

    /// The tokens the server holds for the session of `cookie`.
    async fn tokens(&self, cookie: &str) -> Result<vitals_server::auth::identity::Tokens> {
        let SessionPayload::LoggedIn(identity) = self.payload(cookie).await? else {
            anyhow::bail!("the session is not logged in");
        };
        identity.tokens.context("a Cognito session holds tokens")
    }

    /// Everything a copy of the session store would hold, as text.
    async fn stolen_copy(&self, pool: &Pool, table: &SessionTable) -> Result<String> {
        match table {
            SessionTable::Sqlite => {
                let mut copy = Vec::new();
                for entry in std::fs::read_dir(&self.data_dir)? {
                    let path = entry?.path();
                    if path.is_file() {
                        copy.extend(std::fs::read(path)?);
                    }
                }
                Ok(String::from_utf8_lossy(&copy).into_owned())
            }
            SessionTable::Dynamo(table) => {
                let credential = format!(
                    "testing/20261206/{}/dynamodb/aws4_request",
                    vitals_tests::moto::MOTO_REGION
                );
                let scan = reqwest::Client::new()
                    .post(pool.moto.url())
                    .header("x-amz-target", "DynamoDB_20120810.Scan")
                    .header("content-type", "application/x-amz-json-1.0")
                    .header(
                        "authorization",
                        format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0"),
                    )
                    .body(json!({"TableName": table}).to_string())
                    .send()
                    .await?;
                anyhow::ensure!(scan.status().is_success(), "the scan answered {}", scan.status());
                Ok(scan.text().await?)
            }
        }
    }
}

/// Logs in through a server keeping sessions in `table`, reads the store as a thief would,
/// and refreshes the session's tokens: no copy holds a token, nor the session string of a
/// login waiting for a new password, and the session keeps working.
async fn stolen_store_holds_no_readable_token(table: SessionTable) -> Result<()> {
    let pool = Pool::start(true).await?;
    pool.add_user("hal", &["engineer"]).await?;
    pool.add_user_with_temporary_password("ida", "Temporary-Pass-1", &["engineer"])
        .await?;
    let vitals = CognitoServer::start(&pool, &table).await?;
    let login = |username: &str, password: &str| json!({"username": username, "password": password});
    let (_, cookie) = vitals
        .post("/api/v1/session", None, login("hal", PASSWORD))
        .await?;
    let (answer, pending_cookie) = vitals
        .post("/api/v1/session", None, login("ida", "Temporary-Pass-1"))
        .await?;
    assert_eq!(answer["challenge"], "NEW_PASSWORD_REQUIRED", "{answer}");
    let SessionPayload::Pending(pending) = vitals.payload(&pending_cookie).await? else {
        anyhow::bail!("ida's login waits for a new password");
    };
    let before = vitals.tokens(&cookie).await?;
    let copy = vitals.stolen_copy(&pool, &table).await?;
    assert!(
        copy.contains("hal") && copy.contains("ida"),
        "the copy holds the sessions"
    );
    for secret in [
        &before.refresh_token,
        &before.access_token,
        &before.id_token,
        &pending.session,
    ] {
        assert!(
            secret.len() > 20 && !copy.contains(secret.as_str()),
            "a secret is readable in the store copy"
        );
    }
    let new_password = json!({"challenge": "NEW_PASSWORD_REQUIRED", "new_password": PASSWORD});
    let (answer, _) = vitals
        .post("/api/v1/session/challenge", Some(&pending_cookie), new_password)
        .await?;
    assert_eq!(
        answer["user"], "ida",
        "the sealed challenge is answered: {answer}"
    );

    // Four minutes before the tokens expire: the next request refreshes them.
    let until_refresh = before.expires_at_ms - vitals.clock.now_ms() - 4 * 60_000;
    vitals
        .clock
        .advance(Duration::from_millis(until_refresh.try_into()?));
    let session = reqwest::Client::new()
        .get(vitals.server.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(session.status(), 200, "the session refreshes with sealed tokens");
    let after = vitals.tokens(&cookie).await?;
    assert_ne!(
        after.access_token, before.access_token,
        "the tokens were refreshed"
    );
    let copy = vitals.stolen_copy(&pool, &table).await?;
    for token in [&after.refresh_token, &after.access_token, &after.id_token] {
        assert!(
            !copy.contains(token.as_str()),
            "a refreshed token is readable in the store copy"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_stolen_sqlite_store_holds_no_readable_refresh_token() -> Result<()> {
    stolen_store_holds_no_readable_token(SessionTable::Sqlite).await
}

#[tokio::test]
async fn a_stolen_dynamodb_session_table_holds_no_readable_refresh_token() -> Result<()> {
    stolen_store_holds_no_readable_token(SessionTable::Dynamo("vitals-sessions")).await
}
