//! The status as everyone sees it: evaluated once per interval however many people or iframes
//! look, and with several replicas once across all of them (the replica holding the store's
//! lease evaluates and records; the others read what it recorded).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use vitals_api::{StatusBar, StatusComponent, StatusHistory, StatusResponse};

use vitals_api::Notice;

use super::definition::{Component, StatusPage};
use super::evaluate::judge_page;
use super::history::{SPANS, bars, up_share};
use super::notices::{PAST_INCIDENTS_MS, current_and_past, maintaining};
use super::rules::{State, Steady, next_shown};
use crate::dashboards::Catalog;
use crate::sources::Sources;
use crate::store::{StateChange, StatusStore, StoreError};

/// The lease that decides which replica evaluates.
pub const LEASE: &str = "status-evaluation";
/// Seconds between evaluations unless configured (`[status] interval_seconds`).
pub const DEFAULT_INTERVAL_SECONDS: u32 = 30;

/// A component as this process shows it: its steady state and that state's sentence, what
/// the page shows (the steady state, or maintenance while a window covers it) and since when,
/// and the change the store holds last.
struct Shown {
    steady: Steady,
    steady_says: String,
    shown: (State, i64),
    recorded: Option<(State, i64)>,
}

/// The latest answer, and until when it is given without asking again.
struct Latest {
    answer: Arc<StatusResponse>,
    fresh_until_ms: i64,
}

/// What a replica reading the records says of a component nobody has recorded yet (a new
/// table, a new component): the replica evaluating writes it within a moment.
pub const NOT_CHECKED_YET: &str = "Not checked yet: this shows within a moment.";
/// How soon an answer missing a component's first record is made again.
const FIRST_RECORD_WAIT_MS: i64 = 2_000;

/// What the page says of a stale answer.
const STALE: &str = "Vitals cannot check right now: this is the status as of its last check.";

/// How often this replica evaluated the status page, for `/metrics`: summed over the replicas
/// sharing one status store it grows by one per interval, however many people look.
#[derive(Clone, Default)]
pub struct StatusMetrics {
    evaluations: Counter,
}

impl StatusMetrics {
    /// Adds the counter to the server's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "status_evaluations",
            "Evaluations of the status page's components by this replica (the one holding the \
             status lease evaluates; the others read what it recorded)",
            self.evaluations.clone(),
        );
    }
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
    latest: tokio::sync::Mutex<Option<Latest>>,
    shown: Mutex<HashMap<String, Shown>>,
    metrics: StatusMetrics,
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
            metrics: StatusMetrics::default(),
        }
    }

    /// The page's components, as its file defines them.
    pub fn page(&self) -> &StatusPage {
        &self.page
    }

    fn interval_ms(&self) -> i64 {
        i64::from(self.interval_seconds) * 1_000
    }

    /// How many times this process has evaluated the components.
    pub fn evaluations(&self) -> u64 {
        self.metrics.evaluations.get()
    }

    /// The counter of this process's evaluations, for the server's `/metrics`.
    pub fn metrics(&self) -> StatusMetrics {
        self.metrics.clone()
    }

    /// The names of the components whose recorded state was degraded or out at some time from
    /// `from_ms` to `to_ms` (read from the store, so every replica's records count); those the
    /// store cannot tell about are left out.
    pub async fn failing_during(&self, from_ms: i64, to_ms: i64) -> Vec<String> {
        // Each component's history is its own read: they are asked for together.
        let histories = futures::future::join_all(
            self.page
                .components
                .iter()
                .map(|component| self.store.changes(&component.id, from_ms, to_ms)),
        )
        .await;
        self.page
            .components
            .iter()
            .zip(histories)
            .filter(|(_, changes)| {
                // The first change may be from before the stretch: the state it began in.
                changes.as_ref().is_ok_and(|changes| {
                    changes.iter().any(|change| {
                        matches!(
                            change.state,
                            State::DegradedPerformance | State::PartialOutage | State::MajorOutage
                        ) && change.at_ms < to_ms
                    })
                })
            })
            .map(|(component, _)| component.name.clone())
            .collect()
    }

    /// A notice was posted or changed: the next answer is made afresh, so it shows at once.
    pub async fn notices_changed(&self) {
        *self.latest.lock().await = None;
    }

    /// The status as of `now_ms`: the latest answer while it is fresh; otherwise, if this
    /// process holds the lease, a new evaluation, else what the holder recorded. When neither
    /// can be had (the store fails), the latest answer again, marked stale, for one interval.
    pub async fn status(
        &self,
        sources: &Sources,
        catalog: &Catalog,
        now_ms: i64,
    ) -> Result<Arc<StatusResponse>, StoreError> {
        let mut latest = self.latest.lock().await;
        if let Some(fresh) = latest.as_ref()
            && (fresh.answer.as_of..fresh.fresh_until_ms).contains(&now_ms)
        {
            return Ok(fresh.answer.clone());
        }
        let mut fresh_until_ms = now_ms + self.interval_ms();
        let answer = match self.answer(sources, catalog, now_ms, fresh_until_ms).await {
            Ok((answer, complete)) => {
                if !complete {
                    fresh_until_ms = fresh_until_ms.min(now_ms + FIRST_RECORD_WAIT_MS);
                }
                Arc::new(answer)
            }
            Err(error) => {
                let Some(last) = latest.as_ref() else {
                    return Err(error);
                };
                tracing::warn!(%error, "the status page shows its last known state: the store failed");
                let mut stale = StatusResponse::clone(&last.answer);
                stale.stale = Some(STALE.to_owned());
                Arc::new(stale)
            }
        };
        *latest = Some(Latest {
            answer: answer.clone(),
            fresh_until_ms,
        });
        Ok(answer)
    }

    /// A new answer: evaluated here when this process holds the lease, else as recorded;
    /// and whether every component had a record to show.
    async fn answer(
        &self,
        sources: &Sources,
        catalog: &Catalog,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<(StatusResponse, bool), StoreError> {
        let notices = self.store.notices(now_ms - PAST_INCIDENTS_MS).await?;
        let (notices, past_incidents) = current_and_past(notices, now_ms, now_ms - PAST_INCIDENTS_MS);
        let (components, complete) = if self
            .store
            .take_lease(LEASE, &self.holder, now_ms, until_ms)
            .await?
        {
            (self.evaluate(sources, catalog, &notices, now_ms).await?, true)
        } else {
            self.recorded(&notices, now_ms).await?
        };
        let answer = StatusResponse {
            as_of: now_ms,
            interval_seconds: self.interval_seconds,
            components,
            notices,
            past_incidents,
            stale: None,
        };
        Ok((answer, complete))
    }

    /// `component`'s changes over the longest span of its history, oldest first.
    async fn recent_changes(&self, component: &str, now_ms: i64) -> Result<Vec<(i64, State)>, StoreError> {
        let longest = SPANS.iter().map(|(_, length, _)| *length).max().unwrap_or(0);
        Ok(self
            .store
            .changes(component, now_ms - longest, now_ms)
            .await?
            .into_iter()
            .map(|change| (change.at_ms, change.state))
            .collect())
    }

    /// A component as the page shows it, with its history and, while unknown, its last known state.
    async fn component(
        &self,
        component: &Component,
        (state, since): (State, i64),
        says: String,
        now_ms: i64,
    ) -> Result<StatusComponent, StoreError> {
        let changes = self.recent_changes(&component.id, now_ms).await?;
        Ok(StatusComponent {
            history: history(&changes, now_ms),
            last_known: (state == State::Unknown)
                .then(|| last_known(&changes, since))
                .flatten(),
            id: component.id.clone(),
            name: component.name.clone(),
            description: component.description.clone(),
            state,
            says,
            since,
        })
    }

    /// The state the store last recorded for `component` at `now_ms`, if any.
    async fn last_recorded(&self, component: &str, now_ms: i64) -> Result<Option<StateChange>, StoreError> {
        Ok(self.store.changes(component, now_ms, now_ms).await?.pop())
    }

    /// Judges every component, holds each new state until it has lasted, puts those a window
    /// covers under maintenance, and records the changes.
    async fn evaluate(
        &self,
        sources: &Sources,
        catalog: &Catalog,
        notices: &[Notice],
        now_ms: i64,
    ) -> Result<Vec<StatusComponent>, StoreError> {
        self.metrics.evaluations.inc();
        let judged = judge_page(sources, catalog, &self.page, now_ms).await;
        let mut components = Vec::with_capacity(judged.len());
        for (component, (id, judgement)) in self.page.components.iter().zip(judged) {
            // The process goes on from the recorded state whenever the store's last change is
            // not the one it recorded itself: a restart neither forgets an outage nor records it
            // again, and a replica taking the lease back shows what the holder meanwhile
            // recorded rather than what it showed before.
            let recorded = self.last_recorded(&id, now_ms).await?;
            let window = maintaining(notices, &id, now_ms);
            let (shown, says, changed) = {
                let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
                let last = recorded.as_ref().map(|change| (change.state, change.at_ms));
                // A change this process could not record (`None`) is still its own to retry.
                if shown
                    .get(&id)
                    .is_some_and(|entry| entry.recorded.is_some() && entry.recorded != last)
                {
                    shown.remove(&id);
                }
                let entry = shown.entry(id.clone()).or_insert_with(|| match &recorded {
                    Some(change) => Shown {
                        // Maintenance comes from notices, not readings: past a window, the
                        // readings' state shows at once.
                        steady: if change.state == State::UnderMaintenance {
                            Steady::new(judgement.state, now_ms)
                        } else {
                            Steady::new(change.state, change.at_ms)
                        },
                        steady_says: change.says.clone(),
                        shown: (change.state, change.at_ms),
                        recorded: Some((change.state, change.at_ms)),
                    },
                    None => Shown {
                        steady: Steady::new(judgement.state, now_ms),
                        steady_says: judgement.says.clone(),
                        shown: (judgement.state, now_ms),
                        recorded: None,
                    },
                });
                let steady = entry.steady.settle(judgement.state, now_ms, self.page.hold_ms);
                if steady == judgement.state {
                    entry.steady_says = judgement.says.clone();
                }
                entry.shown = next_shown(
                    entry.shown,
                    (steady, entry.steady.shown_since_ms),
                    window.is_some(),
                    now_ms,
                );
                let says = window.map_or_else(|| entry.steady_says.clone(), latest_words);
                let changed = entry.recorded != Some(entry.shown);
                entry.recorded = Some(entry.shown);
                (entry.shown, says, changed)
            };
            if changed {
                let change = StateChange {
                    component: id.clone(),
                    at_ms: shown.1,
                    state: shown.0,
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
            components.push(self.component(component, shown, says, now_ms).await?);
        }
        Ok(components)
    }

    /// The components as the replica holding the lease last recorded them, and whether each
    /// had a record; a window begun since shows at once.
    async fn recorded(
        &self,
        notices: &[Notice],
        now_ms: i64,
    ) -> Result<(Vec<StatusComponent>, bool), StoreError> {
        let mut components = Vec::with_capacity(self.page.components.len());
        let mut complete = true;
        for component in &self.page.components {
            let (mut shown, mut says) = match self.last_recorded(&component.id, now_ms).await? {
                Some(change) => ((change.state, change.at_ms), change.says),
                None => {
                    complete = false;
                    ((State::Unknown, now_ms), NOT_CHECKED_YET.to_owned())
                }
            };
            if let Some(window) = maintaining(notices, &component.id, now_ms)
                && shown.0 != State::UnderMaintenance
            {
                shown = (State::UnderMaintenance, window.starts_at.max(shown.1));
                says = latest_words(window);
            }
            components.push(self.component(component, shown, says, now_ms).await?);
        }
        Ok((components, complete))
    }
}

/// What a notice says now: its latest update's words.
fn latest_words(notice: &Notice) -> String {
    notice
        .updates
        .last()
        .map_or_else(|| notice.title.clone(), |update| update.message.clone())
}

/// The last 24 hours, 7 days and 90 days before `now_ms` in bars, from `changes`.
fn history(changes: &[(i64, State)], now_ms: i64) -> Vec<StatusHistory> {
    SPANS
        .iter()
        .map(|(span, length, count)| {
            let drawn = bars(changes, now_ms - length, now_ms, now_ms, *count);
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
        .collect()
}

/// The last state known before an unknown stretch that began at `since_ms`.
fn last_known(changes: &[(i64, State)], since_ms: i64) -> Option<State> {
    changes
        .iter()
        .rev()
        .find(|(at_ms, state)| *at_ms < since_ms && *state != State::Unknown)
        .map(|(_, state)| *state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_known_state_is_the_last_one_before_the_unknown_stretch() {
        let changes = [
            (100, State::Operational),
            (200, State::DegradedPerformance),
            (300, State::Unknown),
        ];
        assert_eq!(last_known(&changes, 300), Some(State::DegradedPerformance));
        assert_eq!(last_known(&changes, 200), Some(State::Operational));
        assert_eq!(last_known(&changes, 100), None, "nothing known before");
        assert_eq!(
            last_known(&[(50, State::Unknown)], 60),
            None,
            "unknown is not known"
        );
    }
}
