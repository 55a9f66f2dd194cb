//! The status as everyone sees it: evaluated once per interval however many people or iframes
//! look, and with several replicas once across all of them (the replica holding the store's
//! lease evaluates and records; the others read what it recorded).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use vitals_api::{StatusBar, StatusComponent, StatusHistory, StatusResponse};

use super::definition::StatusPage;
use super::evaluate::judge_page;
use super::history::{SPANS, bars, up_share};
use super::rules::{State, Steady};
use crate::dashboards::Catalog;
use crate::sources::Sources;
use crate::store::{StateChange, StatusStore, StoreError};

/// The lease that decides which replica evaluates.
pub const LEASE: &str = "status-evaluation";
/// Seconds between evaluations unless configured (`[status] interval_seconds`).
pub const DEFAULT_INTERVAL_SECONDS: u32 = 30;

/// A component's shown state, the sentence said of it, and the change the store holds last.
struct Shown {
    steady: Steady,
    says: String,
    recorded: Option<(State, i64)>,
}

/// The status page's components, their states and the one evaluation per interval.
pub struct StatusBoard {
    page: StatusPage,
    store: Arc<dyn StatusStore>,
    /// This process, as the lease knows it.
    holder: String,
    interval_seconds: u32,
    /// The latest answer. Held while the next one is made, so callers arriving meanwhile
    /// wait for it rather than making their own.
    latest: tokio::sync::Mutex<Option<Arc<StatusResponse>>>,
    shown: Mutex<HashMap<String, Shown>>,
    evaluations: AtomicU64,
}

impl StatusBoard {
    pub fn new(page: StatusPage, store: Arc<dyn StatusStore>, interval_seconds: u32) -> Self {
        let mut random = [0_u8; 8];
        // Without randomness the process id still tells this process from its neighbours.
        let holder = match getrandom::fill(&mut random) {
            Ok(()) => random.iter().map(|byte| format!("{byte:02x}")).collect(),
            Err(_) => format!("process-{}", std::process::id()),
        };
        Self {
            page,
            store,
            holder,
            interval_seconds: interval_seconds.max(1),
            latest: tokio::sync::Mutex::new(None),
            shown: Mutex::new(HashMap::new()),
            evaluations: AtomicU64::new(0),
        }
    }

    fn interval_ms(&self) -> i64 {
        i64::from(self.interval_seconds) * 1_000
    }

    /// How many times this process has evaluated the components.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The status as of `now_ms`: the latest answer while it is fresh; otherwise, if this
    /// process holds the lease, a new evaluation, else what the holder recorded.
    pub async fn status(
        &self,
        sources: &Sources,
        catalog: &Catalog,
        now_ms: i64,
    ) -> Result<Arc<StatusResponse>, StoreError> {
        let mut latest = self.latest.lock().await;
        if let Some(answer) = latest.as_ref()
            && (answer.as_of..answer.as_of + self.interval_ms()).contains(&now_ms)
        {
            return Ok(answer.clone());
        }
        let until_ms = now_ms + self.interval_ms();
        let answer = if self
            .store
            .take_lease(LEASE, &self.holder, now_ms, until_ms)
            .await?
        {
            self.evaluate(sources, catalog, now_ms).await?
        } else {
            self.recorded(now_ms).await?
        };
        let answer = Arc::new(answer);
        *latest = Some(answer.clone());
        Ok(answer)
    }

    /// `component`'s last 24 hours, 7 days and 90 days, from the changes recorded.
    async fn history(&self, component: &str, now_ms: i64) -> Result<Vec<StatusHistory>, StoreError> {
        let longest = SPANS.iter().map(|(_, length, _)| *length).max().unwrap_or(0);
        let changes: Vec<(i64, State)> = self
            .store
            .changes(component, now_ms - longest, now_ms)
            .await?
            .into_iter()
            .map(|change| (change.at_ms, change.state))
            .collect();
        Ok(SPANS
            .iter()
            .map(|(span, length, count)| {
                let drawn = bars(&changes, now_ms - length, now_ms, now_ms, *count);
                StatusHistory {
                    span: (*span).to_owned(),
                    up_share: up_share(&drawn),
                    bars: drawn
                        .into_iter()
                        .map(|bar| StatusBar {
                            from: bar.from_ms,
                            to: bar.to_ms,
                            worst: bar.worst,
                            up_share: bar.up_share,
                        })
                        .collect(),
                }
            })
            .collect())
    }

    /// The state the store last recorded for `component` at `now_ms`, if any.
    async fn last_recorded(&self, component: &str, now_ms: i64) -> Result<Option<StateChange>, StoreError> {
        Ok(self.store.changes(component, now_ms, now_ms).await?.pop())
    }

    /// Judges every component, holds each new state until it has lasted, and records changes.
    async fn evaluate(
        &self,
        sources: &Sources,
        catalog: &Catalog,
        now_ms: i64,
    ) -> Result<StatusResponse, StoreError> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let judged = judge_page(sources, catalog, &self.page, now_ms).await;
        let mut components = Vec::with_capacity(judged.len());
        for (component, (id, judgement)) in self.page.components.iter().zip(judged) {
            // A process that has not judged this component yet goes on from the recorded state,
            // so a restart neither forgets an outage nor records it again.
            let known = self
                .shown
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(&id);
            let recorded = if known {
                None
            } else {
                self.last_recorded(&id, now_ms).await?
            };
            let (state, says, since, changed) = {
                let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
                let entry = shown.entry(id.clone()).or_insert_with(|| match &recorded {
                    Some(change) => Shown {
                        steady: Steady::new(change.state, change.at_ms),
                        says: change.says.clone(),
                        recorded: Some((change.state, change.at_ms)),
                    },
                    None => Shown {
                        steady: Steady::new(judgement.state, now_ms),
                        says: judgement.says.clone(),
                        recorded: None,
                    },
                });
                let state = entry.steady.settle(judgement.state, now_ms, self.page.hold_ms);
                if state == judgement.state {
                    entry.says = judgement.says.clone();
                }
                let since = entry.steady.shown_since_ms;
                let changed = entry.recorded != Some((state, since));
                entry.recorded = Some((state, since));
                (state, entry.says.clone(), since, changed)
            };
            if changed {
                let change = StateChange {
                    component: id.clone(),
                    at_ms: since,
                    state,
                    says: says.clone(),
                };
                if let Err(error) = self.store.record_change(&change).await {
                    // Not recorded: the next evaluation tries again.
                    if let Some(entry) = self
                        .shown
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_mut(&id)
                    {
                        entry.recorded = None;
                    }
                    return Err(error);
                }
            }
            components.push(StatusComponent {
                history: self.history(&id, now_ms).await?,
                id,
                name: component.name.clone(),
                description: component.description.clone(),
                state,
                says,
                since,
            });
        }
        Ok(StatusResponse {
            as_of: now_ms,
            interval_seconds: self.interval_seconds,
            components,
        })
    }

    /// The components as the replica holding the lease last recorded them.
    async fn recorded(&self, now_ms: i64) -> Result<StatusResponse, StoreError> {
        let mut components = Vec::with_capacity(self.page.components.len());
        for component in &self.page.components {
            let (state, says, since) = match self.last_recorded(&component.id, now_ms).await? {
                Some(change) => (change.state, change.says, change.at_ms),
                None => (State::Unknown, component.unknown.clone(), now_ms),
            };
            components.push(StatusComponent {
                history: self.history(&component.id, now_ms).await?,
                id: component.id.clone(),
                name: component.name.clone(),
                description: component.description.clone(),
                state,
                says,
                since,
            });
        }
        Ok(StatusResponse {
            as_of: now_ms,
            interval_seconds: self.interval_seconds,
            components,
        })
    }
}
