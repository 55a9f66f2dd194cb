//! Guardrails between Vitals and its backends: timeouts, a circuit breaker, coalescing, a short-lived cache and size caps.
//!
//! [`Guarded`] wraps a source and implements the same trait. A call goes, in order:
//! 1. to the cache, keyed by the caller's [`Scope`], the operation and its
//!    normalised arguments (answers are never shared across scopes);
//! 2. to an identical call already in flight, whose answer it shares;
//! 3. otherwise to a task of its own (so a caller who goes away cancels nothing),
//!    which asks the breaker, calls the backend under the timeout, refuses an
//!    answer above the size caps, and caches a good answer.
//!
//! The traits carry no caller, so the scope lives in the handle:
//! [`GuardedSources::for_scope`] gives each request the plain [`Sources`] it
//! already knows how to use, bound to that request's scope.

mod breaker;
mod config;
mod key;
mod lane;
mod limits;
mod metrics;
mod signals;
mod stats;
mod upstream;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

pub use breaker::BreakerState;
pub use config::GuardConfig;
pub use key::Scope;
pub use metrics::GuardMetrics;
pub use signals::{Guardable, LogLanes, MetricLanes, TraceLanes};
pub use stats::{FailureCounts, GuardStatsSnapshot, LatencySnapshot};

use key::{Call, CallKey};
use lane::Lane;
use limits::Answer;
use upstream::Upstream;

use super::{LogSource, MetricSource, SourceError, Sources, TraceSource};

/// A source behind the guardrails, answering for one [`Scope`]. Cheap to clone;
/// clones and [`Guarded::for_scope`] handles share the breaker, cache and counters.
pub struct Guarded<S: ?Sized + Guardable> {
    inner: Arc<S>,
    upstream: Arc<Upstream>,
    lanes: Arc<S::Lanes>,
    probes: Arc<Lane<()>>,
    scope: Scope,
}

impl<S: ?Sized + Guardable> Clone for Guarded<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            upstream: Arc::clone(&self.upstream),
            lanes: Arc::clone(&self.lanes),
            probes: Arc::clone(&self.probes),
            scope: self.scope.clone(),
        }
    }
}

impl<S: ?Sized + Guardable> Guarded<S> {
    /// Wraps `inner`, answering for [`Scope::server`]; `config` must have passed
    /// [`GuardConfig::validate`].
    pub fn new(inner: Arc<S>, config: &GuardConfig) -> Self {
        Self {
            upstream: Arc::new(Upstream::new(S::SIGNAL, inner.backend_name(), config)),
            lanes: Arc::new(S::lanes(config)),
            probes: Lane::new(config, false),
            inner,
            scope: Scope::server(),
        }
    }

    /// The same guarded source answering for `scope`.
    pub fn for_scope(&self, scope: &Scope) -> Self {
        Self {
            scope: scope.clone(),
            ..self.clone()
        }
    }

    pub fn stats(&self) -> GuardStatsSnapshot {
        self.upstream.snapshot()
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.upstream.breaker.state()
    }

    /// Runs one call through the lane for its kind of answer.
    async fn call<T, Run, Running>(&self, lane: &Arc<Lane<T>>, call: Call, run: Run) -> Result<T, SourceError>
    where
        T: Answer,
        Run: FnOnce(Arc<S>) -> Running,
        Running: Future<Output = Result<T, SourceError>> + Send + 'static,
    {
        let key = CallKey {
            scope: self.scope.clone(),
            call,
        };
        lane.call(&self.upstream, key, run(Arc::clone(&self.inner))).await
    }

    /// Readiness probes share the breaker and the timeout but are never cached.
    async fn guarded_probe<Running>(&self, run: impl FnOnce(Arc<S>) -> Running) -> Result<(), SourceError>
    where
        Running: Future<Output = Result<(), SourceError>> + Send + 'static,
    {
        self.call(&self.probes, Call::Probe, run).await
    }
}

/// The three sources behind their guardrails, built once at start.
#[derive(Clone)]
pub struct GuardedSources {
    pub logs: Guarded<dyn LogSource>,
    pub metrics: Guarded<dyn MetricSource>,
    pub traces: Guarded<dyn TraceSource>,
    /// The handles [`GuardedSources::for_scope`] made, one per scope, so a request reuses them.
    scoped: Arc<RwLock<HashMap<Scope, Sources>>>,
}

/// Scopes whose handles are kept: a few role sets in practice. Past this, handles are made per call.
const MAX_KEPT_SCOPES: usize = 64;

impl GuardedSources {
    /// Wraps each source; `config` must have passed [`GuardConfig::validate`].
    pub fn new(sources: &Sources, config: &GuardConfig) -> Self {
        Self {
            logs: Guarded::new(Arc::clone(&sources.logs), config),
            metrics: Guarded::new(Arc::clone(&sources.metrics), config),
            traces: Guarded::new(Arc::clone(&sources.traces), config),
            scoped: Arc::default(),
        }
    }

    /// The sources as one request's handlers use them: guarded, and sharing
    /// cached answers only with callers of the same `scope`.
    pub fn for_scope(&self, scope: &Scope) -> Sources {
        let kept = self.scoped.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(sources) = kept.get(scope) {
            return sources.clone();
        }
        let room = kept.len() < MAX_KEPT_SCOPES;
        drop(kept);
        let sources = Sources {
            logs: Arc::new(self.logs.for_scope(scope)),
            metrics: Arc::new(self.metrics.for_scope(scope)),
            traces: Arc::new(self.traces.for_scope(scope)),
        };
        if room {
            self.scoped
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(scope.clone())
                .or_insert_with(|| sources.clone());
        }
        sources
    }

    pub fn stats(&self) -> [GuardStatsSnapshot; 3] {
        [self.logs.stats(), self.metrics.stats(), self.traces.stats()]
    }

    /// A collector for the server's Prometheus registry.
    pub fn metrics(&self) -> GuardMetrics {
        GuardMetrics::new(vec![
            Arc::clone(&self.logs.upstream),
            Arc::clone(&self.metrics.upstream),
            Arc::clone(&self.traces.upstream),
        ])
    }
}
