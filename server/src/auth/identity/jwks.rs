//! The user pool's signing keys (its JWKS), fetched when first needed and again, at a bounded rate, when a token names a key not yet seen.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::AuthError;

/// A JWKS larger than this is not a user pool's.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// The RS256 keys of one JWKS URL, by key id.
pub(crate) struct JwksCache {
    url: url::Url,
    http: reqwest::Client,
    /// The shortest time between two fetches after the first one succeeded.
    refetch_interval: Duration,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// Held while fetching so that concurrent misses fetch once; holds when the last fetch succeeded.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// A JWKS document as Cognito serves it; fields Vitals does not use are skipped.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl JwksCache {
    pub(crate) fn new(
        url: url::Url,
        timeout: Duration,
        refetch_interval: Duration,
    ) -> Result<Self, reqwest::Error> {
        // Redirects are off: the keys come from the configured address or not at all.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()?;
        Ok(Self {
            url,
            http,
            refetch_interval,
            keys: RwLock::new(HashMap::new()),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// The key with this id; fetches the JWKS when the id is unknown, unless it was fetched less than the refetch interval ago.
    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return Err(unknown_key(kid));
        }
        let keys = self.fetch().await?;
        *last_fetch = Some(Instant::now());
        let found = keys.get(kid).cloned();
        *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
        found.ok_or_else(|| unknown_key(kid))
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(kid)
            .cloned()
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, AuthError> {
        let unavailable = |why: String| {
            AuthError::Unavailable(format!(
                "Cognito's signing keys could not be fetched from {} ({why}); check the network path and VITALS_COGNITO_ENDPOINT if it is set",
                self.url
            ))
        };
        let response = self
            .http
            .get(self.url.clone())
            .send()
            .await
            .map_err(|error| unavailable(error.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
        {
            return Err(unavailable("the answer is too large".into()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| unavailable(error.without_url().to_string()))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(unavailable("the answer is too large".into()));
        }
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|error| unavailable(format!("the answer is not a JWKS: {error}")))?;
        Ok(rs256_keys(set))
    }
}

/// The usable keys of a JWKS: RSA signing keys for RS256 with an id; others are skipped.
fn rs256_keys(set: JwkSet) -> HashMap<String, Arc<DecodingKey>> {
    set.keys
        .into_iter()
        .filter(|jwk| jwk.kty == "RSA")
        .filter(|jwk| jwk.alg.as_deref().is_none_or(|alg| alg == "RS256"))
        .filter(|jwk| jwk.key_use.as_deref().is_none_or(|key_use| key_use == "sig"))
        .filter_map(|jwk| {
            let key = DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?;
            Some((jwk.kid?, Arc::new(key)))
        })
        .collect()
}

fn unknown_key(kid: &str) -> AuthError {
    AuthError::TokenRejected(format!(
        "its key id \"{kid}\" is not one of the user pool's signing keys"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rsa_signing_keys_for_rs256_are_kept() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kid": "rsa", "kty": "RSA", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kid": "no-alg", "kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kid": "rs512", "kty": "RSA", "alg": "RS512", "n": "sXch", "e": "AQAB"},
            {"kid": "enc", "kty": "RSA", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kid": "ec", "kty": "EC", "alg": "ES256", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kid": "no-modulus", "kty": "RSA", "e": "AQAB"}
        ]}))
        .unwrap();
        let mut kids: Vec<String> = rs256_keys(set).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["no-alg", "rsa"]);
    }
}
