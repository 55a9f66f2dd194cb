//! One call to a backend: through the breaker, under the timeout, counted and measured.

use std::future::Future;
use std::sync::Arc;

use tokio::time::{Duration, Instant};

use super::breaker::Breaker;
use super::config::GuardConfig;
use super::key::Scope;
use super::limits::{Answer, AnswerLimits};
use super::stats::{GuardStatsSnapshot, Stats, bump};
use crate::scope::LabelScope;
use crate::sources::SourceError;
use vitals_api::query_limits::QueryLimits;

/// What the guards of one source share, whatever the kind of call or the caller's scope.
#[derive(Debug)]
pub(super) struct Upstream {
    pub(super) signal: &'static str,
    pub(super) backend: &'static str,
    timeout: Duration,
    limits: AnswerLimits,
    query_limits: QueryLimits,
    pub(super) breaker: Breaker,
    pub(super) stats: Stats,
}

/// An answer that passed the limits, with its approximate size as JSON.
pub(super) struct Measured<T> {
    pub(super) answer: Arc<T>,
    pub(super) bytes: u64,
}

impl Upstream {
    pub(super) fn new(signal: &'static str, backend: &'static str, config: &GuardConfig) -> Self {
        Self {
            signal,
            backend,
            timeout: config.timeout(),
            limits: AnswerLimits::new(config),
            query_limits: config.query_limits(),
            breaker: Breaker::new(config.breaker_failures, config.breaker_cooldown()),
            stats: Stats::default(),
        }
    }

    /// Refuses a query too long or too deeply nested for any parser, before it is
    /// cached, shared or sent: the backend never sees it and the breaker does not count it.
    /// `query` as a caller of `scope` may send it: checked against the limits, and confined to
    /// the scope's label matchers (with `confine`, LogQL's or PromQL's) when it has any.
    pub(super) fn scoped_query(
        &self,
        query: &str,
        scope: &Scope,
        confine: fn(&LabelScope, &str) -> Result<String, String>,
    ) -> Result<String, SourceError> {
        self.check_query(query)?;
        match scope.labels() {
            None => Ok(query.to_owned()),
            Some(labels) => confine(labels, query).map_err(|reason| SourceError::BadQuery {
                source_name: crate::sources::display_name(self.backend),
                reason,
            }),
        }
    }

    pub(super) fn check_query(&self, query: &str) -> Result<(), SourceError> {
        self.query_limits
            .check(query)
            .map_err(|reason| SourceError::BadQuery {
                source_name: crate::sources::display_name(self.backend),
                reason,
            })
    }

    /// Runs `call` unless the breaker is open, drops it when the timeout passes,
    /// and refuses an answer above the limits.
    pub(super) async fn run<T: Answer>(
        &self,
        call: impl Future<Output = Result<T, SourceError>>,
    ) -> Result<Measured<T>, SourceError> {
        let answer = self.call(call).await?;
        let bytes = self.limits.check(&answer).map_err(|reason| {
            bump(&self.stats.oversize);
            SourceError::BadQuery {
                source_name: crate::sources::display_name(self.backend),
                reason,
            }
        })?;
        Ok(Measured {
            answer: Arc::new(answer),
            bytes,
        })
    }

    /// A call that is neither cached nor shared, such as opening a live tail.
    pub(super) async fn call_alone<T>(
        &self,
        call: impl Future<Output = Result<T, SourceError>>,
    ) -> Result<T, SourceError> {
        bump(&self.stats.calls);
        self.call(call).await
    }

    /// Runs `call` unless the breaker is open, and drops it when the timeout passes.
    async fn call<T>(&self, call: impl Future<Output = Result<T, SourceError>>) -> Result<T, SourceError> {
        let permit = self.breaker.admit().map_err(|retry_after_seconds| {
            bump(&self.stats.breaker_refusals);
            SourceError::Resting {
                source_name: crate::sources::display_name(self.backend),
                retry_after_seconds,
            }
        })?;
        bump(&self.stats.upstream_calls);
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(SourceError::Timeout {
                    source_name: crate::sources::display_name(self.backend),
                    timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
                })
            });
        self.stats.observe_upstream(&outcome, started.elapsed());
        // A bad query or a missing trace is the caller's doing: the backend answered.
        let healthy = !matches!(
            outcome,
            Err(SourceError::Unavailable { .. } | SourceError::Timeout { .. })
        );
        permit.record(healthy);
        outcome
    }

    pub(super) fn snapshot(&self) -> GuardStatsSnapshot {
        self.stats.snapshot(
            self.signal,
            self.backend,
            self.breaker.state(),
            self.breaker.opens(),
        )
    }
}
