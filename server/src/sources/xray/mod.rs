//! AWS X-Ray as the trace source behind the `TraceSource` trait: search, one trace, and the service map.
//!
//! `client` is the thin SDK adapter (its config sets each call's timeout);
//! the rest is pure translation: `filter` builds and checks filter
//! expressions, `ids` converts trace ids between the X-Ray and W3C forms,
//! `spans` reads segment documents into spans, `segments` writes them (how
//! tests fill X-Ray, or moto, from the demo clinic), `summaries` makes the
//! search list and `service_map` the map, from GetServiceGraph or, when X-Ray
//! has no graph for the range, from the traces themselves.

mod client;
mod document;
mod filter;
pub mod filter_syntax;
mod ids;
mod segments;
mod service_map;
mod spans;
mod summaries;

use crate::aws::sdk_config;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_xray::types::TraceSummary as XRaySummary;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use url::Url;
use vitals_api::{Backend, ServiceMap, Trace, TraceSummary};

use self::client::XRayClient;
pub use self::filter::{FilterError, MAX_FILTER_CHARS, TraceFilter, filter_expression};
pub use self::ids::{BadTraceId, IdForm, TraceId};
pub use self::segments::segment_documents;
pub use self::service_map::service_map_from_traces;
pub use self::spans::{BadDocument, spans_from_documents};
pub use self::summaries::summary_of_trace;
use super::{SourceError, TimeRange, TraceQuery, TraceSource};
use crate::settings::{InvalidSetting, check_http_url, check_region};

/// The name errors give this source.
const SOURCE_NAME: &str = "X-Ray";
/// BatchGetTraces takes at most five trace ids per call.
const TRACES_PER_BATCH: usize = 5;
/// Calls in flight at once when reading or writing many traces.
const CONCURRENT_CALLS: usize = 4;
/// The most traces the map is built from when X-Ray has no service graph.
const MAX_MAP_TRACES: usize = 1_000;
/// How far back readiness looks.
const PROBE_WINDOW_MS: i64 = 60_000;

/// `[xray]`: the region to read traces from (`VITALS_XRAY_REGION`, or `AWS_REGION`), and an
/// endpoint override for tests (`VITALS_XRAY_ENDPOINT`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XRayConfig {
    pub region: String,
    /// An endpoint override, such as moto's address in tests.
    #[serde(default)]
    pub endpoint: Option<Url>,
}

impl XRayConfig {
    /// Checks what the types alone cannot; each error names the key under `[xray]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_region("xray.region", &self.region)?;
        if let Some(endpoint) = &self.endpoint {
            check_http_url("xray.endpoint", endpoint)?;
        }
        Ok(())
    }
}

/// Why an X-Ray source cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XRayConfigError {
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
    #[error("the X-Ray timeout must be longer than zero")]
    ZeroTimeout,
}

/// Traces and the service map from X-Ray; share it behind an `Arc`.
#[derive(Debug, Clone)]
pub struct XRaySource {
    client: XRayClient,
}

impl XRaySource {
    /// A source using the default AWS credential chain (environment,
    /// profile, ECS task role); credentials are fetched at the first call.
    pub async fn new(config: XRayConfig, timeout: Duration) -> Result<Self, XRayConfigError> {
        Self::build(config, timeout, None).await
    }

    /// A source with credentials from `provider` rather than the default
    /// chain: a role assumed by the caller, or fixed keys for moto in tests.
    pub async fn with_credentials_provider(
        config: XRayConfig,
        timeout: Duration,
        provider: SharedCredentialsProvider,
    ) -> Result<Self, XRayConfigError> {
        Self::build(config, timeout, Some(provider)).await
    }

    async fn build(
        config: XRayConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
    ) -> Result<Self, XRayConfigError> {
        config.validate()?;
        if timeout.is_zero() {
            return Err(XRayConfigError::ZeroTimeout);
        }
        let sdk_config = sdk_config(&config.region, timeout, config.endpoint.as_ref(), provider.into()).await;
        Ok(Self {
            client: XRayClient::new(aws_sdk_xray::Client::new(&sdk_config), timeout),
        })
    }

    /// The traces with these ids that X-Ray has, their ids in `form`; five to a BatchGetTraces call.
    async fn read_traces(&self, ids: &[TraceId], form: IdForm) -> Result<Vec<Trace>, SourceError> {
        let batches: Vec<Vec<String>> = ids
            .chunks(TRACES_PER_BATCH)
            .map(|batch| batch.iter().map(TraceId::xray).collect())
            .collect();
        let found: Vec<_> = futures::stream::iter(batches)
            .map(|batch| async move { self.client.batch_get_traces(&batch).await })
            .buffer_unordered(CONCURRENT_CALLS)
            .try_collect()
            .await?;
        let mut traces = Vec::new();
        for (id, documents) in found.into_iter().flatten() {
            let Ok((id, _)) = TraceId::parse(&id) else {
                continue;
            };
            let trace_id = id.in_form(form);
            let spans =
                spans_from_documents(&trace_id, &documents).map_err(|error| SourceError::Unavailable {
                    source_name: SOURCE_NAME,
                    reason: error.to_string(),
                })?;
            if !spans.is_empty() {
                traces.push(Trace { trace_id, spans });
            }
        }
        Ok(traces)
    }
}

fn bad_query(reason: impl ToString) -> SourceError {
    SourceError::BadQuery {
        source_name: SOURCE_NAME,
        reason: reason.to_string(),
    }
}

/// Each summary with a readable trace id, once per trace (pages may repeat one).
fn by_trace_id(found: &[XRaySummary]) -> Vec<(TraceId, &XRaySummary)> {
    let mut seen = HashSet::new();
    found
        .iter()
        .filter_map(|summary| Some((summaries::summary_id(summary)?, summary)))
        .filter(|(id, _)| seen.insert(id.clone()))
        .collect()
}

/// The `limit` newest of `starts` (start in ns, index), newest first. When a
/// start is only known to the second (moto gives no StartTime, so the id's
/// second is all there is), everything in the second at the cut is kept, so
/// that the exact starts read later decide.
fn newest_first(mut starts: Vec<(i64, usize)>, limit: usize, to_the_second: bool) -> Vec<usize> {
    starts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let keep = match starts.get(limit.saturating_sub(1)) {
        Some(&(cut, _)) if to_the_second && limit > 0 => {
            starts.iter().take_while(|(start, _)| *start >= cut).count()
        }
        _ => limit.min(starts.len()),
    };
    starts.into_iter().take(keep).map(|(_, index)| index).collect()
}

#[async_trait]
impl TraceSource for XRaySource {
    fn backend(&self) -> Backend {
        Backend::Xray
    }

    async fn search(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>, SourceError> {
        let filter = filter_expression(&query.filter).map_err(bad_query)?;
        let limit = query.limit as usize;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found = self
            .client
            .trace_summaries(query.range, filter.as_deref(), limit)
            .await?;
        let found = by_trace_id(&found);
        let to_the_second = found.iter().any(|(_, summary)| summary.start_time().is_none());
        let starts = found
            .iter()
            .enumerate()
            .map(|(index, (id, summary))| (summaries::summary_start_ns(summary, id), index))
            .collect();
        let kept: Vec<_> = newest_first(starts, limit, to_the_second)
            .into_iter()
            .map(|index| &found[index])
            .collect();
        // Without the services in the summary (moto), the list would be blank: read the traces.
        let bare: Vec<TraceId> = kept
            .iter()
            .filter(|(_, summary)| summaries::lacks_services(summary))
            .map(|(id, _)| id.clone())
            .collect();
        let mut read: HashMap<String, Trace> = self
            .read_traces(&bare, IdForm::W3c)
            .await?
            .into_iter()
            .map(|trace| (trace.trace_id.clone(), trace))
            .collect();
        let mut results: Vec<TraceSummary> = kept
            .iter()
            .map(|(id, summary)| {
                read.remove(&id.w3c())
                    .and_then(|trace| summary_of_trace(&trace))
                    .unwrap_or_else(|| summaries::summary_from_xray(summary, id))
            })
            .collect();
        results.sort_by_key(|summary| std::cmp::Reverse(summary.start));
        results.truncate(limit);
        Ok(results)
    }

    async fn trace(&self, trace_id: &str) -> Result<Trace, SourceError> {
        let (id, form) = TraceId::parse(trace_id).map_err(bad_query)?;
        self.read_traces(std::slice::from_ref(&id), form)
            .await?
            .pop()
            .ok_or_else(|| SourceError::NotFound {
                source_name: SOURCE_NAME,
                what: format!("trace {}", trace_id.trim()),
            })
    }

    async fn service_map(&self, range: TimeRange) -> Result<ServiceMap, SourceError> {
        let graph = service_map::service_map_from_graph(&self.client.service_graph(range).await?);
        if !graph.nodes.is_empty() {
            return Ok(graph);
        }
        let found = self.client.trace_summaries(range, None, MAX_MAP_TRACES).await?;
        let ids: Vec<TraceId> = by_trace_id(&found)
            .into_iter()
            .map(|(id, _)| id)
            .take(MAX_MAP_TRACES)
            .collect();
        let traces = self.read_traces(&ids, IdForm::W3c).await?;
        Ok(service_map_from_traces(&traces))
    }

    async fn probe(&self) -> Result<(), SourceError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as i64)
            .unwrap_or_default();
        self.client
            .trace_summaries(TimeRange::new(now_ms - PROBE_WINDOW_MS, now_ms), None, 1)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
