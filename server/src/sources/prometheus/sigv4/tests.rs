//! The signing function checked against the SigV4 specification, and the credential cache against the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_credential_types::credential_fn::provide_credentials_fn;
use aws_credential_types::provider::future;
use reqwest::header::CONTENT_TYPE;
use time::macros::datetime;

use super::verify::{ReceivedRequest, verify};
use super::*;

const ACCESS_KEY_ID: &str = "AKIAVITALSTEST000001";
const SECRET: &str = "vitals/test+secret/0123456789abcdefghijklmn";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEVitalsTestSessionToken==";

fn signing_time() -> SystemTime {
    SystemTime::from(datetime!(2026-11-24 10:00:00 UTC))
}

fn credentials(session_token: Option<&str>) -> Credentials {
    Credentials::new(
        ACCESS_KEY_ID,
        SECRET,
        session_token.map(str::to_owned),
        None,
        "test",
    )
}

fn form_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers
}

fn workspace_url(path: &str) -> Url {
    Url::parse(&format!(
        "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0123abcd{path}"
    ))
    .unwrap()
}

/// The request as AMP would receive it: the signed headers, `host`, and the signature.
fn as_received<'a>(
    method: &'a str,
    url: &'a Url,
    headers: &HeaderMap,
    signature: &HeaderMap,
    body: &'a [u8],
) -> ReceivedRequest<'a> {
    let mut received = vec![("host".to_owned(), url.host_str().unwrap().to_owned())];
    for (name, value) in headers.iter().chain(signature) {
        received.push((name.to_string(), value.to_str().unwrap().to_owned()));
    }
    ReceivedRequest {
        method,
        path: url.path(),
        query: url.query().unwrap_or_default(),
        headers: received,
        body,
    }
}

#[test]
fn signed_post_carries_a_verifiable_signature_scoped_to_aps() {
    let url = workspace_url("/api/v1/query_range");
    let body = b"query=sum%20by%20(clinic)%20(rate(patient_registrations_total%5B5m%5D))&start=1795507200&end=1795521600&step=60";
    let signature = sign_request(
        &Method::POST,
        &url,
        &form_headers(),
        body,
        &credentials(Some(SESSION_TOKEN)),
        "eu-west-1",
        signing_time(),
    )
    .unwrap();

    assert_eq!(signature["x-amz-date"], "20261124T100000Z");
    assert_eq!(signature["x-amz-security-token"], SESSION_TOKEN);
    let authorization = signature["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20261124/eu-west-1/aps/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
        )),
        "{authorization}"
    );
    assert!(
        signature.values().all(HeaderValue::is_sensitive),
        "signature headers must stay out of Debug output"
    );

    let verified = verify(
        &as_received("POST", &url, &form_headers(), &signature, body),
        SECRET,
    )
    .unwrap();
    assert_eq!(verified.scope, "20261124/eu-west-1/aps/aws4_request");
    assert_eq!(verified.signature.len(), 64);
}

#[test]
fn signing_is_deterministic_and_covers_the_body() {
    let url = workspace_url("/api/v1/query");
    let sign = |body: &[u8]| {
        sign_request(
            &Method::POST,
            &url,
            &form_headers(),
            body,
            &credentials(None),
            "eu-west-1",
            signing_time(),
        )
        .unwrap()
    };
    let first = sign(b"query=up&time=1795507200");
    assert_eq!(first, sign(b"query=up&time=1795507200"));
    assert_ne!(
        first["authorization"],
        sign(b"query=down&time=1795507200")["authorization"]
    );

    let tampered = as_received(
        "POST",
        &url,
        &form_headers(),
        &first,
        b"query=down&time=1795507200",
    );
    assert!(
        verify(&tampered, SECRET).is_err(),
        "a changed body must not verify"
    );
}

#[test]
fn long_lived_keys_sign_without_a_session_token() {
    let url = workspace_url("/api/v1/label/__name__/values");
    let url = Url::parse(&format!("{url}?start=1795507200&end=1795521600")).unwrap();
    let signature = sign_request(
        &Method::GET,
        &url,
        &HeaderMap::new(),
        b"",
        &credentials(None),
        "eu-west-1",
        signing_time(),
    )
    .unwrap();
    assert!(!signature.contains_key("x-amz-security-token"));
    let verified = verify(
        &as_received("GET", &url, &HeaderMap::new(), &signature, b""),
        SECRET,
    )
    .unwrap();
    assert_eq!(verified.signed_headers, ["host", "x-amz-date"]);
}

/// A provider handing out credentials that expire an hour after `issued_at`, counting its calls.
fn counting_provider(issued_at: SystemTime, calls: Arc<AtomicUsize>) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(provide_credentials_fn(move || {
        let call = calls.fetch_add(1, Ordering::SeqCst);
        let expiry = issued_at + Duration::from_secs(3600);
        let credentials = Credentials::new(
            format!("ASIA{call}"),
            SECRET,
            Some(SESSION_TOKEN.into()),
            Some(expiry),
            "test",
        );
        async move { Ok(credentials) }
    }))
}

#[tokio::test]
async fn temporary_credentials_are_reused_until_shortly_before_they_expire() {
    let issued_at = signing_time();
    let calls = Arc::new(AtomicUsize::new(0));
    let cache = CachedCredentials::new(counting_provider(issued_at, calls.clone()));

    let first = cache.get(issued_at).await.unwrap();
    let later = cache.get(issued_at + Duration::from_secs(30 * 60)).await.unwrap();
    assert_eq!(first.access_key_id(), later.access_key_id());
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let near_expiry = cache.get(issued_at + Duration::from_secs(57 * 60)).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_ne!(first.access_key_id(), near_expiry.access_key_id());
}

#[tokio::test]
async fn long_lived_keys_are_fetched_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let provider = SharedCredentialsProvider::new(provide_credentials_fn(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok(credentials(None)) }
    }));
    let cache = CachedCredentials::new(provider);
    for days in [0, 1, 400] {
        cache
            .get(signing_time() + Duration::from_secs(days * 86_400))
            .await
            .unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[derive(Debug)]
struct FailingProvider;

impl ProvideCredentials for FailingProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no credentials in the environment",
        )))
    }
}

#[tokio::test]
async fn a_failed_fetch_is_retried_and_explained() {
    let signer = AmpSigner::new(
        "eu-west-1".into(),
        SharedCredentialsProvider::new(FailingProvider),
    );
    for _ in 0..2 {
        let error = signer
            .signature_headers(
                &Method::GET,
                &workspace_url("/api/v1/query"),
                &HeaderMap::new(),
                b"",
            )
            .await
            .unwrap_err();
        let SourceError::Unavailable {
            source_name: "AMP",
            reason,
        } = error
        else {
            panic!("expected AMP to be unavailable, got {error:?}");
        };
        assert!(reason.contains("no credentials in the environment"), "{reason}");
        assert!(reason.contains("ECS task role"), "{reason}");
    }
}
