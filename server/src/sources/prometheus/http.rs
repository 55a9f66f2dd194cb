//! The HTTP side of the Prometheus source: one pooled client, SigV4 signing for AMP, and transport failures as `SourceError`.

use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response};
use url::Url;

use super::sigv4::AmpSigner;
use super::translate::error_for_status;
use super::{PrometheusConfigError, Upstream};
use crate::sources::{BodyError, SourceError, read_body_up_to};

/// Largest answer read: more series than anyone can look at, and a bound on memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// An endpoint as path segments below the base URL (`["api", "v1", "query"]`); label
/// names are segments too, so they are percent-encoded rather than read as paths.
pub(super) type Endpoint<'a> = &'a [&'a str];

pub(super) struct PrometheusHttp {
    client: reqwest::Client,
    base_url: Url,
    upstream: Upstream,
    signer: Option<AmpSigner>,
    timeout: Duration,
}

impl PrometheusHttp {
    pub(super) fn new(
        base_url: Url,
        signer: Option<AmpSigner>,
        timeout: Duration,
    ) -> Result<Self, PrometheusConfigError> {
        let client = crate::sources::http_client(timeout)
            .build()
            .map_err(PrometheusConfigError::Client)?;
        let upstream = if signer.is_some() {
            Upstream::Amp
        } else {
            Upstream::Prometheus
        };
        Ok(Self {
            client,
            base_url,
            upstream,
            signer,
            timeout,
        })
    }

    pub(super) fn upstream(&self) -> Upstream {
        self.upstream
    }

    /// `GET` with the parameters in the query string; the body of a 2xx answer.
    pub(super) async fn get(
        &self,
        endpoint: Endpoint<'_>,
        params: &[(&str, String)],
    ) -> Result<Vec<u8>, SourceError> {
        self.call(Method::GET, endpoint, params).await
    }

    /// `POST` with the parameters form-encoded in the body, so long queries fit.
    pub(super) async fn post(
        &self,
        endpoint: Endpoint<'_>,
        params: &[(&str, String)],
    ) -> Result<Vec<u8>, SourceError> {
        self.call(Method::POST, endpoint, params).await
    }

    /// One call, bounded as a whole (credentials, connection, answer) by the timeout.
    async fn call(
        &self,
        method: Method,
        endpoint: Endpoint<'_>,
        params: &[(&str, String)],
    ) -> Result<Vec<u8>, SourceError> {
        let started = Instant::now();
        let path = format!("/{}", endpoint.join("/"));
        let outcome = tokio::time::timeout(self.timeout, self.send(method, endpoint, &path, params)).await;
        let outcome = outcome.unwrap_or_else(|_| Err(self.timeout_error()));
        tracing::debug!(
            endpoint = %path,
            ok = outcome.is_ok(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{} answered", self.upstream.source_name()
        );
        outcome
    }

    async fn send(
        &self,
        method: Method,
        endpoint: Endpoint<'_>,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<Vec<u8>, SourceError> {
        let mut url = self.url(endpoint);
        let encoded = encode_params(params);
        let mut headers = HeaderMap::new();
        let body = if method == Method::GET {
            if !encoded.is_empty() {
                url.set_query(Some(&encoded));
            }
            Vec::new()
        } else {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            encoded.into_bytes()
        };
        if let Some(signer) = &self.signer {
            let signature = signer.signature_headers(&method, &url, &headers, &body).await?;
            headers.extend(signature);
        }
        // Not signed: the trace context only says where in a trace this call sits.
        headers.extend(crate::otel::trace_context_headers());
        let response = self
            .client
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = self.read_body(response).await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(error_for_status(
                self.upstream,
                path,
                status,
                location.as_deref(),
                &body,
            ))
        }
    }

    /// The whole body, refusing answers larger than `MAX_ANSWER_BYTES` before they fill memory.
    async fn read_body(&self, response: Response) -> Result<Vec<u8>, SourceError> {
        read_body_up_to(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge => self.upstream.bad_query(format!(
                    "the answer is larger than {} MiB; select fewer series or a shorter range",
                    MAX_ANSWER_BYTES / (1024 * 1024)
                )),
                BodyError::Transport(error) => self.transport_error(&error),
            })
    }

    /// The address of an endpoint below the base URL (which may have a path, as AMP's has).
    fn url(&self, endpoint: Endpoint<'_>) -> Url {
        let mut url = self.base_url.clone();
        // Only URLs that cannot be a base refuse segments, and the config admits http(s) URLs alone.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(endpoint);
        }
        url
    }

    fn timeout_error(&self) -> SourceError {
        SourceError::Timeout {
            source_name: self.upstream.source_name(),
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// A request that got no answer. Messages carry the cause, never the URL.
    fn transport_error(&self, error: &reqwest::Error) -> SourceError {
        if error.is_timeout() {
            return self.timeout_error();
        }
        let cause = root_cause(error);
        let name = self.upstream.source_name();
        self.upstream.unavailable(if error.is_connect() {
            format!(
                "could not connect to {name}: {cause}; check VITALS_PROMETHEUS_URL and that {name} is running"
            )
        } else if error.is_body() || error.is_decode() {
            format!("its answer broke off: {cause}")
        } else {
            format!("the request failed: {cause}")
        })
    }
}

/// `application/x-www-form-urlencoded`, except that spaces are `%20`: SigV4 reads a `+`
/// in a query string as a plus sign, so the signature would not match AMP's.
fn encode_params(params: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
        .replace('+', "%20")
}

/// The innermost error, which says what happened (`Connection refused`) where
/// the outer ones only say where (and reqwest's would name the URL).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
