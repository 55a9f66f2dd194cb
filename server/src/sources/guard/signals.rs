//! The guarded log, metric and trace sources: each trait method as a keyed call in its lane.

use std::sync::Arc;

use async_trait::async_trait;
use vitals_api::{Backend, LogQueryResponse, MetricQueryResponse, ServiceMap, Trace, TraceSummary};
use vitals_trace::SpanTable;

use super::Guarded;
use super::config::GuardConfig;
use super::key::Call;
use super::lane::Lane;
use crate::scope::LabelScope;
use crate::sources::{
    LogQuery, LogSource, LogTail, MetricSource, SourceError, TimeRange, TraceQuery, TraceSource,
};

/// A kind of source the guard can wrap: `dyn LogSource`, `dyn MetricSource` or `dyn TraceSource`.
///
/// Implemented for the trait objects of every lifetime, not only `'static`,
/// because the compiler checks that async-trait futures are `Send` with lifetimes erased.
pub trait Guardable: Send + Sync {
    /// The caches and in-flight calls for each kind of answer the source gives.
    type Lanes: Send + Sync + 'static;
    /// `logs`, `metrics` or `traces`, as the `signal` label.
    const SIGNAL: &'static str;
    fn backend_name(&self) -> &'static str;
    fn lanes(config: &GuardConfig) -> Self::Lanes;
}

/// Log answers, and label names and values.
pub struct LogLanes {
    pub(super) query: Arc<Lane<LogQueryResponse>>,
    pub(super) names: Arc<Lane<Vec<String>>>,
}

impl<'a> Guardable for dyn LogSource + 'a {
    type Lanes = LogLanes;
    const SIGNAL: &'static str = "logs";

    fn backend_name(&self) -> &'static str {
        self.backend().as_str()
    }

    fn lanes(config: &GuardConfig) -> LogLanes {
        LogLanes {
            query: Lane::new(config, true),
            names: Lane::new(config, true),
        }
    }
}

#[async_trait]
impl LogSource for Guarded<dyn LogSource> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn query(&self, query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        let owned = LogQuery {
            query: self
                .upstream
                .scoped_query(&query.query, &self.scope, LabelScope::confine_logql)?,
            ..query.clone()
        };
        self.call(&self.lanes.query, Call::logs(&owned), move |inner| async move {
            inner.query(&owned).await
        })
        .await
    }

    async fn labels(&self, range: TimeRange) -> Result<Vec<String>, SourceError> {
        self.call(
            &self.lanes.names,
            Call::LogLabels { range },
            move |inner| async move { inner.labels(range).await },
        )
        .await
    }

    async fn label_values(&self, name: &str, range: TimeRange) -> Result<Vec<String>, SourceError> {
        // The values a label takes across every stream are not confined by a selector: a
        // confined person learns only the values their own scope fixes.
        if let Some(labels) = self.scope.labels() {
            return labels.values_of(name).ok_or_else(|| SourceError::BadQuery {
                source_name: crate::sources::display_name(self.inner.backend().as_str()),
                reason: format!(
                    "your access is confined to {{{}}}, so the values of {name} across every stream \
                     are not listed for you; query lines with a selector instead",
                    labels.text
                ),
            });
        }
        let call = Call::LogLabelValues {
            name: name.to_owned(),
            range,
        };
        let name = name.to_owned();
        self.call(&self.lanes.names, call, move |inner| async move {
            inner.label_values(&name, range).await
        })
        .await
    }

    /// A live tail is one long stream per viewer, so nothing is cached or shared;
    /// opening it still goes through the breaker and the timeout.
    async fn tail(&self, query: &str, start_ns: i64, limit: u32) -> Result<LogTail, SourceError> {
        let query = self
            .upstream
            .scoped_query(query, &self.scope, LabelScope::confine_logql)?;
        self.upstream
            .call_alone(self.inner.tail(&query, start_ns, limit))
            .await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        self.guarded_probe(|inner| async move { inner.probe().await })
            .await
    }
}

/// Metric answers and metric names.
pub struct MetricLanes {
    pub(super) query: Arc<Lane<MetricQueryResponse>>,
    pub(super) names: Arc<Lane<Vec<String>>>,
}

impl<'a> Guardable for dyn MetricSource + 'a {
    type Lanes = MetricLanes;
    const SIGNAL: &'static str = "metrics";

    fn backend_name(&self) -> &'static str {
        self.backend().as_str()
    }

    fn lanes(config: &GuardConfig) -> MetricLanes {
        MetricLanes {
            query: Lane::new(config, true),
            names: Lane::new(config, true),
        }
    }
}

#[async_trait]
impl MetricSource for Guarded<dyn MetricSource> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        let query = self
            .upstream
            .scoped_query(query, &self.scope, LabelScope::confine_promql)?;
        let call = Call::metric_range(&query, range, step_ms);
        self.call(&self.lanes.query, call, move |inner| async move {
            inner.query_range(&query, range, step_ms).await
        })
        .await
    }

    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        let query = self
            .upstream
            .scoped_query(query, &self.scope, LabelScope::confine_promql)?;
        let call = Call::metric_instant(&query, at_ms);
        self.call(&self.lanes.query, call, move |inner| async move {
            inner.query_instant(&query, at_ms).await
        })
        .await
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        self.call(&self.lanes.names, Call::MetricNames, |inner| async move {
            inner.metric_names().await
        })
        .await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        self.guarded_probe(|inner| async move { inner.probe().await })
            .await
    }
}

/// Trace searches, whole traces and service maps.
pub struct TraceLanes {
    pub(super) search: Arc<Lane<Vec<TraceSummary>>>,
    pub(super) trace: Arc<Lane<Trace>>,
    pub(super) service_map: Arc<Lane<ServiceMap>>,
}

impl<'a> Guardable for dyn TraceSource + 'a {
    type Lanes = TraceLanes;
    const SIGNAL: &'static str = "traces";

    fn backend_name(&self) -> &'static str {
        self.backend().as_str()
    }

    fn lanes(config: &GuardConfig) -> TraceLanes {
        TraceLanes {
            search: Lane::new(config, true),
            trace: Lane::new(config, true),
            service_map: Lane::new(config, true),
        }
    }
}

#[async_trait]
impl TraceSource for Guarded<dyn TraceSource> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn search(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>, SourceError> {
        self.upstream.check_query(&query.filter)?;
        let owned = query.clone();
        self.call(
            &self.lanes.search,
            Call::trace_search(query),
            move |inner| async move { inner.search(&owned).await },
        )
        .await
    }

    async fn trace(&self, trace_id: &str) -> Result<Trace, SourceError> {
        let trace_id = trace_id.to_owned();
        let call = Call::Trace {
            trace_id: trace_id.clone(),
        };
        self.call(&self.lanes.trace, call, move |inner| async move {
            inner.trace(&trace_id).await
        })
        .await
    }

    /// Behind the breaker and the timeout, not cached here: the trace routes keep the tables
    /// they have analysed.
    async fn trace_table(&self, trace_id: &str) -> Result<SpanTable, SourceError> {
        self.upstream.call_alone(self.inner.trace_table(trace_id)).await
    }

    async fn service_map(&self, range: TimeRange) -> Result<ServiceMap, SourceError> {
        self.call(
            &self.lanes.service_map,
            Call::ServiceMap { range },
            move |inner| async move { inner.service_map(range).await },
        )
        .await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        self.guarded_probe(|inner| async move { inner.probe().await })
            .await
    }
}
