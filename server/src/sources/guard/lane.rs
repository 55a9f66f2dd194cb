//! One kind of answer of one source: its short-lived cache and the identical calls in flight.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use moka::future::Cache;
use tokio::time::{Duration, Instant};
use tracing::Instrument;

use super::config::GuardConfig;
use super::key::CallKey;
use super::limits::Answer;
use super::stats::bump;
use super::upstream::Upstream;
use crate::sources::SourceError;

/// A call in flight, which every identical caller awaits.
type InFlight<T> = Shared<BoxFuture<'static, Result<Arc<T>, SourceError>>>;

/// A cached answer and when it was stored, by tokio's clock so tests can move time.
struct Cached<T> {
    answer: Arc<T>,
    stored_at: Instant,
    kib: u32,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Self {
            answer: Arc::clone(&self.answer),
            stored_at: self.stored_at,
            kib: self.kib,
        }
    }
}

pub(super) struct Lane<T: Answer> {
    in_flight: Mutex<HashMap<CallKey, InFlight<T>>>,
    cache: Option<Cache<CallKey, Cached<T>>>,
    ttl: Duration,
}

impl<T: Answer> Lane<T> {
    /// A lane that caches for the configured time, or only coalesces when
    /// `cached` is false or the cache is turned off.
    pub(super) fn new(config: &GuardConfig, cached: bool) -> Arc<Self> {
        let ttl = config.cache_ttl();
        let cache = (cached && !ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(config.cache_max_bytes() / 1024)
                .weigher(|_key: &CallKey, cached: &Cached<T>| cached.kib)
                .time_to_live(ttl)
                .build()
        });
        Arc::new(Self {
            in_flight: Mutex::new(HashMap::new()),
            cache,
            ttl,
        })
    }

    /// Answers from the cache, or by joining an identical call in flight, or by
    /// starting `call` on its own task so that a caller who goes away does not
    /// cancel it for the others.
    pub(super) async fn call(
        self: &Arc<Self>,
        upstream: &Arc<Upstream>,
        key: CallKey,
        call: impl Future<Output = Result<T, SourceError>> + Send + 'static,
    ) -> Result<T, SourceError> {
        bump(&upstream.stats.calls);
        if let Some(cache) = &self.cache {
            // The cache's own expiry runs on the wall clock; this check makes the
            // time to live exact and lets tests move time.
            if let Some(hit) = cache.get(&key).await
                && hit.stored_at.elapsed() < self.ttl
            {
                bump(&upstream.stats.cache_hits);
                return Ok(T::clone(&hit.answer));
            }
            bump(&upstream.stats.cache_misses);
        }
        let (in_flight, joined) = self.join_or_start(upstream, key, call);
        if joined {
            bump(&upstream.stats.coalesced);
        }
        in_flight.await.map(|answer| T::clone(&answer))
    }

    fn join_or_start(
        self: &Arc<Self>,
        upstream: &Arc<Upstream>,
        key: CallKey,
        call: impl Future<Output = Result<T, SourceError>> + Send + 'static,
    ) -> (InFlight<T>, bool) {
        let mut in_flight = self.lock_in_flight();
        if let Some(running) = in_flight.get(&key) {
            return (running.clone(), true);
        }
        // Made here, under the caller's request span, so the call on its own task is its child.
        let call = call.instrument(tracing::info_span!(
            "upstream",
            signal = upstream.signal,
            backend = upstream.backend,
            "otel.kind" = "client",
        ));
        let lane = Arc::clone(self);
        let task_upstream = Arc::clone(upstream);
        let task_key = key.clone();
        // Spawned while the map is locked, so the task's clean-up cannot run
        // before its entry is in the map.
        let task = tokio::spawn(async move {
            let _leave = LeaveInFlight {
                lane: &lane,
                key: &task_key,
            };
            let measured = task_upstream.run(call).await?;
            if let Some(cache) = &lane.cache {
                let cached = Cached {
                    answer: Arc::clone(&measured.answer),
                    stored_at: Instant::now(),
                    kib: u32::try_from(measured.bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX),
                };
                cache.insert(task_key.clone(), cached).await;
            }
            Ok(measured.answer)
        });
        let source_name = crate::sources::display_name(upstream.backend);
        let running = async move {
            task.await.unwrap_or_else(|_| {
                Err(SourceError::Unavailable {
                    source_name,
                    reason: "the call stopped inside Vitals before it answered; try again".into(),
                })
            })
        }
        .boxed()
        .shared();
        in_flight.insert(key, running.clone());
        (running, false)
    }

    fn lock_in_flight(&self) -> MutexGuard<'_, HashMap<CallKey, InFlight<T>>> {
        // No code panics while holding the lock, so a poisoned map is still sound.
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(super) fn in_flight_len(&self) -> usize {
        self.lock_in_flight().len()
    }
}

/// Takes a finished call out of the in-flight map, also when the call panicked.
/// It runs after the answer is cached, so a caller arriving in between finds one or the other.
struct LeaveInFlight<'a, T: Answer> {
    lane: &'a Lane<T>,
    key: &'a CallKey,
}

impl<T: Answer> Drop for LeaveInFlight<'_, T> {
    fn drop(&mut self) {
        self.lane.lock_in_flight().remove(self.key);
    }
}
