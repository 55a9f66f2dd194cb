//! Prometheus, or Amazon Managed Service for Prometheus (AMP), as the metric source behind the `MetricSource` trait.
//!
//! `http` talks to the query API (one pooled client, no redirects, a timeout
//! per call) and signs every request with SigV4 for AMP (`sigv4`); `translate`
//! turns its answers and error bodies into Vitals' types without any I/O.

mod http;
mod sigv4;
#[cfg(test)]
mod tests;
mod translate;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use serde::Deserialize;
use url::Url;
use vitals_api::{Backend, Labels, MetricQueryResponse};

use self::http::{Endpoint, PrometheusHttp};
use self::sigv4::AmpSigner;
pub use self::sigv4::{SignRequestError, sign_request};
pub use self::translate::MetricMetadata;
use super::{MetricSource, SourceError, TimeRange, series_params};
use crate::settings::{InvalidSetting, check_http_url, check_region};

const QUERY: Endpoint<'static> = &["api", "v1", "query"];
const QUERY_RANGE: Endpoint<'static> = &["api", "v1", "query_range"];
const SERIES: Endpoint<'static> = &["api", "v1", "series"];
const LABELS: Endpoint<'static> = &["api", "v1", "labels"];
const METADATA: Endpoint<'static> = &["api", "v1", "metadata"];

/// Endpoints that people copy from the AMP console or a Prometheus page along with the
/// address; the source puts its own endpoints below the root, so these are cut off.
const PASTED_ENDPOINTS: [&str; 3] = ["/api/v1/query", "/api/v1/query_range", "/api/v1/remote_write"];

/// `[prometheus]`: a Prometheus server or an AMP workspace (`VITALS_PROMETHEUS_URL`, `VITALS_AMP_REGION`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// The Prometheus root (`http://prometheus:9090`) or the AMP workspace URL
    /// (`https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-…`); a path prefix is kept.
    pub url: Url,
    /// When set, every request is SigV4-signed for service `aps` in this region.
    #[serde(default)]
    pub amp_region: Option<String>,
}

impl PrometheusConfig {
    /// Checks what the types alone cannot; each error names the key under `[prometheus]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_http_url("prometheus.url", &self.url)?;
        if let Some(region) = &self.amp_region {
            check_region("prometheus.amp_region", region)?;
        }
        match (amp_workspace_region(&self.url), &self.amp_region) {
            (Some(url_region), Some(amp_region)) if url_region != *amp_region => Err(InvalidSetting::new(
                "prometheus.amp_region",
                format!(
                    "is {amp_region} but `prometheus.url` is an AMP workspace in {url_region}; requests \
                     are signed for one region, so set VITALS_AMP_REGION={url_region}"
                ),
            )),
            (Some(url_region), None) => Err(InvalidSetting::new(
                "prometheus.amp_region",
                format!(
                    "is not set, but `prometheus.url` is an AMP workspace, which answers only \
                     SigV4-signed requests: set VITALS_AMP_REGION={url_region}"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The root to put endpoints below: no query, and no endpoint pasted along with the address.
    fn base_url(&self) -> Url {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_owned();
        if let Some(root) = PASTED_ENDPOINTS
            .iter()
            .find_map(|endpoint| path.strip_suffix(endpoint))
        {
            url.set_path(root);
        }
        url
    }
}

/// Why a metrics source cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusConfigError {
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error("the Prometheus timeout must be longer than zero")]
    ZeroTimeout,
    #[error(
        "credentials were given for signing, but VITALS_AMP_REGION is not set; set it to the workspace's region"
    )]
    CredentialsWithoutRegion,
    #[error("the default AWS configuration has no credential provider to sign AMP requests with")]
    NoCredentialsProvider,
    #[error("the HTTP client for Prometheus could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// Metrics from Prometheus or AMP, through one pooled HTTP client; share it behind an `Arc`.
pub struct PrometheusSource {
    http: PrometheusHttp,
}

impl PrometheusSource {
    /// Checks the config and, for AMP, loads credentials from the default AWS
    /// chain (environment, profile, ECS task role); they are fetched at the
    /// first request and again shortly before they expire.
    pub async fn new(config: PrometheusConfig, timeout: Duration) -> Result<Self, PrometheusConfigError> {
        let provider = match &config.amp_region {
            Some(region) => {
                let aws = aws_config::defaults(BehaviorVersion::latest())
                    .region(Region::new(region.clone()))
                    .load()
                    .await;
                let provider = aws
                    .credentials_provider()
                    .ok_or(PrometheusConfigError::NoCredentialsProvider)?;
                Some(provider)
            }
            None => None,
        };
        Self::build(config, timeout, provider)
    }

    /// An AMP source signing with credentials from `provider` rather than the
    /// default chain: a role assumed by the caller, or fixed keys in tests.
    pub fn with_credentials_provider(
        config: PrometheusConfig,
        timeout: Duration,
        provider: SharedCredentialsProvider,
    ) -> Result<Self, PrometheusConfigError> {
        if config.amp_region.is_none() {
            return Err(PrometheusConfigError::CredentialsWithoutRegion);
        }
        Self::build(config, timeout, Some(provider))
    }

    /// Signs requests when the config names a region (and a provider comes with it).
    fn build(
        config: PrometheusConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
    ) -> Result<Self, PrometheusConfigError> {
        config.validate()?;
        if timeout.is_zero() {
            return Err(PrometheusConfigError::ZeroTimeout);
        }
        let base_url = config.base_url();
        let signer = config
            .amp_region
            .zip(provider)
            .map(|(region, provider)| AmpSigner::new(region, provider));
        Ok(Self {
            http: PrometheusHttp::new(base_url, signer, timeout)?,
        })
    }

    /// The label sets of the series matching any of `matchers` (`up{job="api"}`) in the range.
    pub async fn series(&self, matchers: &[&str], range: TimeRange) -> Result<Vec<Labels>, SourceError> {
        let params = series_params(matchers, range_params(range));
        let body = self.http.post(SERIES, &params).await?;
        translate::series_list(self.upstream(), &body)
    }

    /// Label names, in the range or over everything the server holds.
    pub async fn labels(&self, range: Option<TimeRange>) -> Result<Vec<String>, SourceError> {
        let body = self.http.get(LABELS, &optional_range_params(range)).await?;
        translate::name_list(self.upstream(), &body)
    }

    /// The values of one label (`__name__` gives the metric names).
    pub async fn label_values(
        &self,
        name: &str,
        range: Option<TimeRange>,
    ) -> Result<Vec<String>, SourceError> {
        let endpoint = ["api", "v1", "label", name, "values"];
        let body = self.http.get(&endpoint, &optional_range_params(range)).await?;
        translate::name_list(self.upstream(), &body)
    }

    /// Type, help and unit of each metric (or of `metric` alone), as the scraped targets declare them.
    pub async fn metadata(
        &self,
        metric: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<MetricMetadata>>, SourceError> {
        let params: Vec<(&str, String)> = metric
            .map(|metric| ("metric", metric.to_owned()))
            .into_iter()
            .collect();
        let body = self.http.get(METADATA, &params).await?;
        translate::metadata(self.upstream(), &body)
    }

    fn upstream(&self) -> Upstream {
        self.http.upstream()
    }
}

#[async_trait]
impl MetricSource for PrometheusSource {
    fn backend(&self) -> Backend {
        self.upstream().backend()
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        let mut params = vec![("query", query.to_owned())];
        params.extend(range_params(range));
        params.push(("step", seconds(step_ms)));
        let body = self.http.post(QUERY_RANGE, &params).await?;
        translate::query_answer(self.upstream(), &body, step_ms as f64 / 1000.0)
    }

    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        let params = [("query", query.to_owned()), ("time", seconds(at_ms))];
        let body = self.http.post(QUERY, &params).await?;
        translate::query_answer(self.upstream(), &body, 0.0)
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        self.label_values("__name__", None).await
    }

    /// A constant query: it needs no data, and AMP (which has no `/-/ready`) answers it too.
    async fn probe(&self) -> Result<(), SourceError> {
        let body = self.http.get(QUERY, &[("query", "1".to_owned())]).await?;
        translate::query_answer(self.upstream(), &body, 0.0).map(drop)
    }
}

/// Which server answers: errors and readiness name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    Prometheus,
    Amp,
}

impl Upstream {
    fn source_name(self) -> &'static str {
        match self {
            Self::Prometheus => "Prometheus",
            Self::Amp => "AMP",
        }
    }

    fn backend(self) -> Backend {
        match self {
            Self::Prometheus => Backend::Prometheus,
            Self::Amp => Backend::Amp,
        }
    }

    fn bad_query(self, reason: String) -> SourceError {
        SourceError::BadQuery {
            source_name: self.source_name(),
            reason,
        }
    }

    fn unavailable(self, reason: String) -> SourceError {
        SourceError::Unavailable {
            source_name: self.source_name(),
            reason,
        }
    }
}

/// The region in an AMP workspace address (`aps-workspaces.<region>.amazonaws.com`).
fn amp_workspace_region(url: &Url) -> Option<String> {
    let host = url.host_str()?.strip_prefix("aps-workspaces.")?;
    let (region, domain) = host.split_once('.')?;
    domain.starts_with("amazonaws.com").then(|| region.to_owned())
}

/// `start` and `end` in seconds, as Prometheus reads times.
fn range_params(range: TimeRange) -> [(&'static str, String); 2] {
    [("start", seconds(range.start_ms)), ("end", seconds(range.end_ms))]
}

fn optional_range_params(range: Option<TimeRange>) -> Vec<(&'static str, String)> {
    range.map(range_params).into_iter().flatten().collect()
}

/// Milliseconds as seconds, with a fraction only when there is one (`1764057600`, `1764057600.25`).
fn seconds(ms: i64) -> String {
    (ms as f64 / 1000.0).to_string()
}
