//! Verification of Cognito's ID and access tokens: RS256 with a key of the pool's JWKS, expiry, issuer, app client and token use, then roles from `cognito:groups`.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use vitals_api::Role;

use super::jwks::JwksCache;
use super::{AuthError, NO_ROLE, roles_from_groups};

/// How far past `exp` a token is still taken, for clocks a little apart.
const LEEWAY_SECONDS: u64 = 30;
/// Longer than any token Cognito issues; longer input is refused before it is parsed.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Where the keys are and what a token must say to be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// `https://cognito-idp.<region>.amazonaws.com/<user pool id>`, also when the endpoint is overridden.
    pub issuer: String,
    /// The app client: the ID token's `aud`, the access token's `client_id`.
    pub client_id: String,
    pub jwks_url: url::Url,
    /// How long fetching the JWKS may take.
    pub timeout: Duration,
    /// The shortest time between two fetches of the JWKS, whatever key ids tokens name.
    pub refetch_interval: Duration,
}

/// What a verified token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Cognito's stable user id (`sub`).
    pub subject: String,
    /// The username in the pool (`cognito:username` in an ID token, `username` in an access token).
    pub username: String,
    /// The Vitals roles among the person's groups, sorted; never empty.
    pub roles: Vec<Role>,
    /// Every group the token names, sorted and without repeats.
    pub groups: Vec<String>,
    /// Seconds since the epoch: when the token expires.
    pub expires_at_s: i64,
}

/// Verifies tokens of one user pool and app client, keeping the pool's keys.
pub struct TokenVerifier {
    issuer: String,
    client_id: String,
    keys: JwksCache,
}

/// Which of Cognito's two tokens is expected, as its `token_use` claim names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenUse {
    Id,
    Access,
}

impl TokenUse {
    fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// The claims Vitals reads; `exp`, `iss` and `aud` are checked by `jsonwebtoken`'s validation.
#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    token_use: String,
    exp: i64,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    username: Option<String>,
    client_id: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

impl TokenVerifier {
    pub fn new(config: VerifierConfig) -> Result<Self, reqwest::Error> {
        // Only aws-lc-rs is enabled, so this is the default anyway; installing it
        // keeps verification working should another crate enable a second backend.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        Ok(Self {
            keys: JwksCache::new(config.jwks_url, config.timeout, config.refetch_interval)?,
            issuer: config.issuer,
            client_id: config.client_id,
        })
    }

    /// Checks an ID token: signature, `exp`, `iss`, `aud` = the app client, `token_use` = `id`.
    pub async fn verify_id_token(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify(token, TokenUse::Id).await
    }

    /// Checks an access token: signature, `exp`, `iss`, `client_id` = the app client, `token_use` = `access`.
    pub async fn verify_access_token(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify(token, TokenUse::Access).await
    }

    async fn verify(&self, token: &str, expected: TokenUse) -> Result<Claims, AuthError> {
        let header = read_header(token)?;
        if header.alg != Algorithm::RS256 {
            return Err(rejected(format!(
                "it is signed with {:?}, and only RS256 is accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| rejected("it names no signing key (`kid`)"))?;
        let key = self.keys.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[&self.issuer]);
        match expected {
            TokenUse::Id => {
                validation.set_audience(&[&self.client_id]);
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            }
            TokenUse::Access => {
                // Access tokens carry the app client in `client_id`, checked below.
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss"]);
            }
        }
        let claims = jsonwebtoken::decode::<TokenClaims>(token, &key, &validation)
            .map_err(|error| rejected(why_refused(error.kind())))?
            .claims;

        if claims.token_use != expected.as_str() {
            return Err(rejected(format!(
                "its token_use is \"{}\" where \"{}\" was expected",
                claims.token_use,
                expected.as_str()
            )));
        }
        let username = match expected {
            TokenUse::Id => claims.cognito_username,
            TokenUse::Access => {
                if claims.client_id.as_deref() != Some(self.client_id.as_str()) {
                    return Err(rejected("its client_id is not the configured app client"));
                }
                claims.username
            }
        };
        let username = username.ok_or_else(|| rejected("it carries no username"))?;
        let roles = roles_from_groups(&claims.groups);
        if roles.is_empty() {
            return Err(AuthError::NotAllowed(NO_ROLE.to_owned()));
        }
        let mut groups = claims.groups;
        groups.sort();
        groups.dedup();
        Ok(Claims {
            subject: claims.sub,
            username,
            roles,
            groups,
            expires_at_s: claims.exp,
        })
    }
}

/// The header of a compact JWT, read without trusting it, to pick the algorithm and key.
/// An algorithm the library does not know (`none` among them) is refused here too.
fn read_header(token: &str) -> Result<jsonwebtoken::Header, AuthError> {
    let malformed = || rejected("it is not a well-formed JWT signed with RS256");
    if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
        return Err(malformed());
    }
    jsonwebtoken::decode_header(token).map_err(|_| malformed())
}

/// Which check a token failed, in words for the log.
fn why_refused(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::InvalidIssuer => "its issuer is not the configured user pool".into(),
        ErrorKind::InvalidAudience => "its audience is not the configured app client".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no `{claim}` claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("its `{claim}` claim is malformed"),
        ErrorKind::InvalidSignature => "its signature does not match the user pool's key".into(),
        ErrorKind::InvalidAlgorithm => "its algorithm does not match the user pool's key".into(),
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            "the user pool's key could not be used".into()
        }
        ErrorKind::Json(_) => "its claims are not those of a Cognito token".into(),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            "it is not a well-formed JWT".into()
        }
        other => format!("it failed verification ({other:?})"),
    }
}

fn rejected(why: impl Into<String>) -> AuthError {
    AuthError::TokenRejected(why.into())
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const POOL: &str = "eu-west-1_TestPool";
    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";
    const CLIENT: &str = "vitals-app-client";
    const JWKS_PATH: &str = "/eu-west-1_TestPool/.well-known/jwks.json";
    /// Test-only keys, made for these tests and used nowhere else.
    const KEY_A: &str = include_str!("testdata/test-key-a.pem");
    const KEY_A_PUBLIC: &str = include_str!("testdata/test-key-a.pub.pem");
    const KEY_B: &str = include_str!("testdata/test-key-b.pem");
    const JWK_A: &str = include_str!("testdata/test-key-a.jwk.json");
    const JWK_B: &str = include_str!("testdata/test-key-b.jwk.json");

    fn jwks(jwks: &[&str]) -> Value {
        let keys: Vec<Value> = jwks
            .iter()
            .map(|jwk| serde_json::from_str(jwk).unwrap())
            .collect();
        json!({ "keys": keys })
    }

    /// A JWKS server answering `set` to every fetch, and a verifier on it.
    async fn verifier_with(set: Value, refetch_interval: Duration) -> (MockServer, TokenVerifier) {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(set))
            .mount(&server)
            .await;
        let verifier = verifier_on(&server, refetch_interval);
        (server, verifier)
    }

    fn verifier_on(server: &MockServer, refetch_interval: Duration) -> TokenVerifier {
        TokenVerifier::new(VerifierConfig {
            issuer: ISSUER.into(),
            client_id: CLIENT.into(),
            jwks_url: format!("{}{JWKS_PATH}", server.uri()).parse().unwrap(),
            timeout: Duration::from_secs(5),
            refetch_interval,
        })
        .unwrap()
    }

    async fn fetches(server: &MockServer) -> usize {
        server.received_requests().await.unwrap_or_default().len()
    }

    fn now_s() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
    }

    fn id_claims() -> Value {
        json!({
            "iss": ISSUER,
            "aud": CLIENT,
            "sub": "5f1c0f6e-0000-4000-8000-000000000001",
            "token_use": "id",
            "cognito:username": "ana",
            "cognito:groups": ["engineer", "Admins", "operations"],
            "iat": now_s(),
            "exp": now_s() + 3600,
        })
    }

    fn access_claims() -> Value {
        json!({
            "iss": ISSUER,
            "client_id": CLIENT,
            "sub": "5f1c0f6e-0000-4000-8000-000000000001",
            "token_use": "access",
            "username": "ana",
            "cognito:groups": ["clinician"],
            "scope": "aws.cognito.signin.user.admin",
            "iat": now_s(),
            "exp": now_s() + 3600,
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().unwrap().remove(key);
        claims
    }

    fn sign(claims: &Value, kid: &str, private_pem: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn b64(value: &Value) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn refusal(result: Result<Claims, AuthError>) -> String {
        match result {
            Err(AuthError::TokenRejected(why)) => why,
            other => panic!("expected TokenRejected, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn valid_tokens_are_accepted_with_the_roles_of_their_groups() {
        let (server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        let claims = verifier
            .verify_id_token(&sign(&id_claims(), "test-a", KEY_A))
            .await
            .unwrap();
        assert_eq!(claims.username, "ana");
        assert_eq!(claims.subject, "5f1c0f6e-0000-4000-8000-000000000001");
        assert_eq!(claims.roles, [Role::Operations, Role::Engineer]);
        let claims = verifier
            .verify_access_token(&sign(&access_claims(), "test-a", KEY_A))
            .await
            .unwrap();
        assert_eq!(
            (claims.username.as_str(), claims.roles),
            ("ana", vec![Role::Clinician])
        );
        assert_eq!(fetches(&server).await, 1, "the keys are fetched once and cached");
    }

    #[tokio::test]
    async fn tokens_failing_a_claim_check_are_refused_naming_the_check() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        let moto_issuer = format!("http://127.0.0.1:5000/{POOL}");
        let id_cases = [
            (with(id_claims(), "exp", json!(now_s() - 3600)), "expired"),
            (with(id_claims(), "iss", json!(moto_issuer)), "issuer"),
            (without(id_claims(), "iss"), "`iss`"),
            (with(id_claims(), "aud", json!("another-client")), "audience"),
            (without(id_claims(), "aud"), "`aud`"),
            (with(id_claims(), "token_use", json!("access")), "token_use"),
            (without(id_claims(), "cognito:username"), "username"),
        ];
        for (claims, check) in id_cases {
            let why = refusal(verifier.verify_id_token(&sign(&claims, "test-a", KEY_A)).await);
            assert!(
                why.contains(check),
                "{claims} was refused with \"{why}\", not for {check}"
            );
        }
        let access_cases = [
            (
                with(access_claims(), "client_id", json!("another-client")),
                "client_id",
            ),
            (without(access_claims(), "client_id"), "client_id"),
            (with(access_claims(), "token_use", json!("id")), "token_use"),
            (with(access_claims(), "exp", json!(now_s() - 3600)), "expired"),
        ];
        for (claims, check) in access_cases {
            let why = refusal(
                verifier
                    .verify_access_token(&sign(&claims, "test-a", KEY_A))
                    .await,
            );
            assert!(
                why.contains(check),
                "{claims} was refused with \"{why}\", not for {check}"
            );
        }
    }

    #[tokio::test]
    async fn a_token_just_past_its_expiry_is_taken_within_the_leeway() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        let claims = with(id_claims(), "exp", json!(now_s() - 5));
        assert!(
            verifier
                .verify_id_token(&sign(&claims, "test-a", KEY_A))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_person_in_no_vitals_group_is_not_allowed() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        for claims in [
            with(id_claims(), "cognito:groups", json!(["Admins", "doctors"])),
            without(id_claims(), "cognito:groups"),
        ] {
            let result = verifier.verify_id_token(&sign(&claims, "test-a", KEY_A)).await;
            assert_eq!(result, Err(AuthError::NotAllowed(NO_ROLE.into())));
        }
    }

    #[tokio::test]
    async fn unsigned_tokens_are_refused() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        for alg in ["none", "None", "NONE"] {
            let token = format!(
                "{}.{}.",
                b64(&json!({"alg": alg, "kid": "test-a"})),
                b64(&id_claims())
            );
            let why = refusal(verifier.verify_id_token(&token).await);
            assert!(why.contains("signed with RS256"), "{why}");
        }
    }

    #[tokio::test]
    async fn other_algorithms_are_refused_even_keyed_with_the_public_key() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        // The classic confusion: HMAC with the RSA public key as the shared secret.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-a".into());
        let token = jsonwebtoken::encode(
            &header,
            &id_claims(),
            &EncodingKey::from_secret(KEY_A_PUBLIC.as_bytes()),
        )
        .unwrap();
        let why = refusal(verifier.verify_id_token(&token).await);
        assert!(why.contains("HS256") && why.contains("only RS256"), "{why}");

        let mut header = Header::new(Algorithm::RS512);
        header.kid = Some("test-a".into());
        let key = EncodingKey::from_rsa_pem(KEY_A.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &id_claims(), &key).unwrap();
        assert!(refusal(verifier.verify_id_token(&token).await).contains("RS512"));
    }

    #[tokio::test]
    async fn a_token_signed_with_another_key_is_refused() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        let why = refusal(
            verifier
                .verify_id_token(&sign(&id_claims(), "test-a", KEY_B))
                .await,
        );
        assert!(why.contains("signature"), "{why}");
    }

    #[tokio::test]
    async fn a_tampered_payload_is_refused() {
        let (_server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        let token = sign(&id_claims(), "test-a", KEY_A);
        let parts: Vec<&str> = token.split('.').collect();
        let promoted = with(id_claims(), "cognito:groups", json!(["admin"]));
        let tampered = format!("{}.{}.{}", parts[0], b64(&promoted), parts[2]);
        let why = refusal(verifier.verify_id_token(&tampered).await);
        assert!(why.contains("signature"), "{why}");
    }

    #[tokio::test]
    async fn malformed_tokens_are_refused() {
        let (server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        let token = sign(&id_claims(), "test-a", KEY_A);
        let no_kid = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &id_claims(),
            &EncodingKey::from_rsa_pem(KEY_A.as_bytes()).unwrap(),
        )
        .unwrap();
        for (token, why) in [
            ("", "well-formed"),
            ("a.b", "well-formed"),
            (&format!("{token}.extra"), "well-formed"),
            ("!!!.e30.sig", "well-formed"),
            (&no_kid, "`kid`"),
        ] {
            let refused = refusal(verifier.verify_id_token(token).await);
            assert!(refused.contains(why), "{token:?}: {refused}");
        }
        assert_eq!(
            fetches(&server).await,
            0,
            "nothing is fetched for a token refused on its face"
        );
    }

    #[tokio::test]
    async fn an_unknown_key_id_is_refused_after_one_refetch() {
        let (server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::ZERO).await;
        assert!(
            verifier
                .verify_id_token(&sign(&id_claims(), "test-a", KEY_A))
                .await
                .is_ok()
        );
        let why = refusal(
            verifier
                .verify_id_token(&sign(&id_claims(), "test-b", KEY_B))
                .await,
        );
        assert!(why.contains("\"test-b\""), "{why}");
        assert_eq!(
            fetches(&server).await,
            2,
            "one fetch, then one refetch for the unknown key id"
        );
    }

    #[tokio::test]
    async fn unknown_key_ids_refetch_at_most_once_per_interval() {
        let (server, verifier) = verifier_with(jwks(&[JWK_A]), Duration::from_secs(30)).await;
        assert!(
            verifier
                .verify_id_token(&sign(&id_claims(), "test-a", KEY_A))
                .await
                .is_ok()
        );
        for _ in 0..3 {
            let why = refusal(
                verifier
                    .verify_id_token(&sign(&id_claims(), "test-b", KEY_B))
                    .await,
            );
            assert!(why.contains("\"test-b\""), "{why}");
        }
        assert_eq!(fetches(&server).await, 1);
    }

    #[tokio::test]
    async fn a_rotated_key_is_fetched_when_a_token_names_it() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[JWK_A])))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[JWK_A, JWK_B])))
            .mount(&server)
            .await;
        let verifier = verifier_on(&server, Duration::ZERO);
        assert!(
            verifier
                .verify_id_token(&sign(&id_claims(), "test-a", KEY_A))
                .await
                .is_ok()
        );
        let claims = verifier
            .verify_id_token(&sign(&id_claims(), "test-b", KEY_B))
            .await
            .unwrap();
        assert_eq!(claims.username, "ana");
        assert_eq!(fetches(&server).await, 2);
    }

    #[tokio::test]
    async fn an_unreachable_jwks_makes_verification_unavailable() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let verifier = verifier_on(&server, Duration::from_secs(30));
        match verifier
            .verify_id_token(&sign(&id_claims(), "test-a", KEY_A))
            .await
        {
            Err(AuthError::Unavailable(why)) => {
                assert!(why.contains("Cognito") && why.contains("503"), "{why}")
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}
