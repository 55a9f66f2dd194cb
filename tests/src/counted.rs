//! A metric source that counts every query it passes on, so a test can prove how often a
//! cached evaluation asks the sources.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use vitals_api::query::TimeRange;
use vitals_api::{Backend, MetricQueryResponse};
use vitals_server::sources::{MetricSource, SourceError};

/// `inner`, with every range and instant query counted in `calls`.
pub struct CountedMetrics {
    pub inner: Arc<dyn MetricSource>,
    pub calls: Arc<AtomicU64>,
}

impl CountedMetrics {
    /// Wraps `inner`; the count starts at zero and is shared with the returned counter.
    pub fn wrap(inner: Arc<dyn MetricSource>) -> (Arc<dyn MetricSource>, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Self {
            inner,
            calls: calls.clone(),
        };
        (Arc::new(counted), calls)
    }
}

#[async_trait]
impl MetricSource for CountedMetrics {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query_range(query, range, step_ms).await
    }

    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query_instant(query, at_ms).await
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        self.inner.metric_names().await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        self.inner.probe().await
    }
}
