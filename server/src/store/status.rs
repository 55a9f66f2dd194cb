//! What the status page keeps: each component's changes of state (its history, which survives
//! restarts and the sources' own retention) and the lease that lets one replica evaluate the
//! status for all of them.

use async_trait::async_trait;

use super::StoreError;
use crate::status::rules::State;

/// A component's shown state from `at_ms` on, and what the page said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub component: String,
    pub at_ms: i64,
    pub state: State,
    pub says: String,
}

/// The most changes one history read returns: a component changing every two minutes for 90 days.
pub const MAX_CHANGES_READ: usize = 65_000;

/// The state's name as the store writes it.
pub(super) fn state_name(state: State) -> &'static str {
    match state {
        State::Operational => "operational",
        State::DegradedPerformance => "degraded_performance",
        State::PartialOutage => "partial_outage",
        State::MajorOutage => "major_outage",
        State::UnderMaintenance => "under_maintenance",
        State::Unknown => "unknown",
    }
}

/// The state read back from the store; `what` names the record in the error.
pub(super) fn state_from_name(name: &str, what: &str) -> Result<State, StoreError> {
    [
        State::Operational,
        State::DegradedPerformance,
        State::PartialOutage,
        State::MajorOutage,
        State::UnderMaintenance,
        State::Unknown,
    ]
    .into_iter()
    .find(|state| state_name(*state) == name)
    .ok_or_else(|| {
        StoreError::Corrupt(format!(
            "{what} has the state \"{name}\", which this Vitals does not know"
        ))
    })
}

/// Keeps the status page's history and lease; replicas sharing one store share both.
#[async_trait]
pub trait StatusStore: Send + Sync {
    /// Gives the lease `name` to `holder` until `until_ms` when nobody else holds it at
    /// `now_ms` (a lease held by `holder` is renewed). True when `holder` has it now: only
    /// then does it evaluate.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Records a change; one already recorded for the component at the same moment stays as
    /// it is, so two writers of one evaluation write it once.
    async fn record_change(&self, change: &StateChange) -> Result<(), StoreError>;

    /// The changes of `component` from `from_ms` to `to_ms`, oldest first, led by the last
    /// change before `from_ms` when there is one (the state the range starts in); at most
    /// [`MAX_CHANGES_READ`].
    async fn changes(
        &self,
        component: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StateChange>, StoreError>;
}
