//! SigV4 signing of AMP requests (service `aps`) with `aws-sigv4`, and the cache of the credentials it signs with.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Mutex;
use url::Url;

use super::Upstream;
use crate::sources::SourceError;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(super) mod verify;

/// The signing name of Amazon Managed Service for Prometheus.
const SERVICE: &str = "aps";
/// Credentials this close to their expiry are replaced before signing, so a
/// request never travels with credentials that lapse on the way.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Why a request could not be signed; says nothing about the credentials themselves.
#[derive(Debug, thiserror::Error)]
#[error("the request could not be signed: {0}")]
pub struct SignRequestError(String);

/// The headers that sign a request for AMP: `authorization`, `x-amz-date` and,
/// with temporary credentials, `x-amz-security-token`. `headers` are the ones
/// the request will carry besides `host` (which comes from `url`); they are all
/// signed. Pure: the same inputs give the same headers. The values are marked
/// sensitive so they stay out of `Debug` output.
pub fn sign_request(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<HeaderMap, SignRequestError> {
    let failed = |error: &dyn std::fmt::Display| SignRequestError(error.to_string());
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|error| failed(&error))?
        .into();
    let header_pairs = headers
        .iter()
        .map(|(name, value)| Ok((name.as_str(), value.to_str()?)))
        .collect::<Result<Vec<_>, reqwest::header::ToStrError>>()
        .map_err(|error| failed(&error))?;
    let request = SignableRequest::new(
        method.as_str(),
        url.as_str(),
        header_pairs.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|error| failed(&error))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|error| failed(&error))?
        .into_parts();
    let (signature_headers, _query_params) = instructions.into_parts();
    let mut signed = HeaderMap::new();
    for header in signature_headers {
        let name = HeaderName::from_bytes(header.name().as_bytes()).map_err(|error| failed(&error))?;
        let mut value = HeaderValue::from_str(header.value()).map_err(|error| failed(&error))?;
        value.set_sensitive(true);
        signed.insert(name, value);
    }
    Ok(signed)
}

/// Signs AMP requests for one region with credentials from a provider (the default AWS chain in production).
pub(super) struct AmpSigner {
    region: String,
    credentials: CachedCredentials,
}

impl AmpSigner {
    pub(super) fn new(region: String, provider: SharedCredentialsProvider) -> Self {
        Self {
            region,
            credentials: CachedCredentials::new(provider),
        }
    }

    /// The signature headers for a request, signed now.
    pub(super) async fn signature_headers(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<HeaderMap, SourceError> {
        let now = SystemTime::now();
        let credentials = self.credentials.get(now).await.map_err(|error| {
            Upstream::Amp.unavailable(format!(
                "could not get AWS credentials to sign the request: {}; Vitals takes them from the \
                 default AWS chain (environment, profile, ECS task role)",
                error_chain(&error)
            ))
        })?;
        sign_request(method, url, headers, body, &credentials, &self.region, now)
            .map_err(|error| Upstream::Amp.unavailable(error.to_string()))
    }
}

/// The provider's last credentials, fetched again shortly before they expire.
/// One fetch at a time: requests that find them stale wait for the same fetch.
struct CachedCredentials {
    provider: SharedCredentialsProvider,
    current: Mutex<Option<Credentials>>,
}

impl CachedCredentials {
    fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            current: Mutex::new(None),
        }
    }

    async fn get(&self, now: SystemTime) -> Result<Credentials, CredentialsError> {
        let mut current = self.current.lock().await;
        if let Some(credentials) = current
            .as_ref()
            .filter(|credentials| still_fresh(credentials, now))
        {
            return Ok(credentials.clone());
        }
        let fresh = self.provider.provide_credentials().await?;
        *current = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Long-lived keys (no expiry) stay fresh; temporary ones until shortly before they lapse.
fn still_fresh(credentials: &Credentials, now: SystemTime) -> bool {
    credentials
        .expiry()
        .is_none_or(|expiry| expiry > now + REFRESH_BEFORE_EXPIRY)
}

/// An error and its causes, outermost first: the provider errors say little on their own.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
