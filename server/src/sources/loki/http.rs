//! The HTTP side of the Loki source: one pooled client, Loki's endpoints, and transport failures as `SourceError`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::translate::{error_for_status, unavailable};
use super::{LokiConfig, LokiConfigError, SOURCE_NAME};
use crate::settings::InvalidSetting;
use crate::sources::{BodyError, SourceError, read_body_up_to};

/// Largest answer read: more lines and series than anyone can look at, and a bound on memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Largest error answer read: Loki's messages are a line or two.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// The header that names the tenant (org) to a multi-tenant Loki.
static TENANT_HEADER: HeaderName = HeaderName::from_static("x-scope-orgid");

/// A Loki endpoint as path segments below the base URL; label names are
/// segments too, so they are percent-encoded rather than read as paths.
pub(super) type Endpoint<'a> = &'a [&'a str];

pub(super) struct LokiHttp {
    client: reqwest::Client,
    base_url: Url,
    /// Sent with every request, the tail's included: the tenant, when set. Marked sensitive.
    headers: HeaderMap,
    timeout: Duration,
    /// TLS for the tail WebSocket of an `https` Loki, built once.
    tail_tls: Option<Arc<rustls::ClientConfig>>,
}

impl LokiHttp {
    pub(super) fn new(config: LokiConfig, timeout: Duration) -> Result<Self, LokiConfigError> {
        config.validate()?;
        if timeout.is_zero() {
            return Err(LokiConfigError::ZeroTimeout);
        }
        let LokiConfig {
            url: mut base_url,
            tenant,
        } = config;
        base_url.set_query(None);
        base_url.set_fragment(None);

        let mut headers = HeaderMap::new();
        if let Some(tenant) = tenant {
            let mut value = HeaderValue::from_str(&tenant).map_err(|_| {
                InvalidSetting::new(
                    "loki.tenant",
                    "cannot be sent as an HTTP header; use the tenant id alone",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(TENANT_HEADER.clone(), value);
        }

        let client = crate::sources::http_client(timeout)
            .default_headers(headers.clone())
            .timeout(timeout)
            .build()
            .map_err(LokiConfigError::Client)?;
        let tail_tls = if base_url.scheme() == "https" {
            Some(tail_tls_config()?)
        } else {
            None
        };
        Ok(Self {
            client,
            base_url,
            headers,
            timeout,
            tail_tls,
        })
    }

    /// `GET` an endpoint; the body of a 2xx answer, or what the failure means.
    pub(super) async fn get(
        &self,
        endpoint: Endpoint<'_>,
        params: &[(&str, String)],
    ) -> Result<Bytes, SourceError> {
        let started = Instant::now();
        let response = self
            .client
            .get(self.url(endpoint))
            .query(params)
            .headers(crate::otel::trace_context_headers())
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        let status = response.status();
        tracing::debug!(
            endpoint = %display_path(endpoint),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loki answered"
        );
        if status.is_success() {
            return match read_body_up_to(response, MAX_ANSWER_BYTES).await {
                Ok(body) => Ok(Bytes::from(body)),
                Err(BodyError::TooLarge) => Err(SourceError::BadQuery {
                    source_name: SOURCE_NAME,
                    reason: format!(
                        "Loki's answer is larger than {} MiB; narrow the query with more label matchers, a shorter range or a lower limit",
                        MAX_ANSWER_BYTES / (1024 * 1024)
                    ),
                }),
                Err(BodyError::Transport(error)) => Err(self.transport_error(&error)),
            };
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // The status alone still says what went wrong when the body cannot be read or is too long to be a message.
        let body = read_body_up_to(response, MAX_ERROR_BYTES)
            .await
            .map(|body| String::from_utf8_lossy(&body).into_owned())
            .unwrap_or_default();
        Err(error_for_status(
            &display_path(endpoint),
            status,
            location.as_deref(),
            &body,
        ))
    }

    /// The address of an endpoint below the base URL (which may have a path of its own).
    pub(super) fn url(&self, endpoint: Endpoint<'_>) -> Url {
        let mut url = self.base_url.clone();
        // Only URLs that cannot be a base refuse segments, and `new` admits http(s) URLs alone.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(endpoint);
        }
        url
    }

    pub(super) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub(super) fn tail_tls(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tail_tls.clone()
    }

    pub(super) fn timeout_error(&self) -> SourceError {
        SourceError::Timeout {
            source_name: SOURCE_NAME,
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A request that got no answer. Messages carry the cause, never the URL.
    fn transport_error(&self, error: &reqwest::Error) -> SourceError {
        if error.is_timeout() {
            return self.timeout_error();
        }
        let cause = root_cause(error);
        if error.is_connect() {
            unavailable(format!("could not connect: {cause}"))
        } else if error.is_body() || error.is_decode() {
            unavailable(format!("its answer broke off: {cause}"))
        } else {
            unavailable(format!("the request failed: {cause}"))
        }
    }
}

/// `/loki/api/v1/labels` for messages and logs: the endpoint, not the address.
pub(super) fn display_path(endpoint: Endpoint<'_>) -> String {
    format!("/{}", endpoint.join("/"))
}

/// The innermost error, which says what happened (`Connection refused`)
/// where the outer ones only say where (and reqwest's would name the URL).
pub(super) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// rustls with the ring provider named outright, so the tail does not depend
/// on which crypto provider other crates happen to switch on in rustls.
fn tail_tls_config() -> Result<Arc<rustls::ClientConfig>, LokiConfigError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(LokiConfigError::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}
