//! What the status page keeps: each component's changes of state (its history, which survives
//! restarts and the sources' own retention), the lease that lets one replica evaluate the
//! status for all of them, the embed tokens admins hand to the pages that frame it, and the
//! notices operations posts.

use async_trait::async_trait;
use vitals_api::Notice;

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

/// An embed token as the store keeps it: which page it opens, who may frame it, and until when.
/// The token itself is signed, not stored: its record is what an admin lists and revokes.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedTokenRecord {
    pub id: String,
    pub page: String,
    /// The origins allowed to frame the page, as browsers compare them.
    pub origins: Vec<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// The most embed tokens one listing returns.
pub const MAX_LISTED_TOKENS: usize = 500;

/// The origins as one column or attribute.
pub(super) fn origins_to_json(origins: &[String]) -> String {
    serde_json::to_string(origins).expect("a list of strings always serialises")
}

/// The origins read back; `id` names the token in the error.
pub(super) fn origins_from_json(json: &str, id: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|error| {
        StoreError::Corrupt(format!(
            "the origins of embed token {id} cannot be read ({error}); revoke it and make a new one"
        ))
    })
}

/// The most notices one listing returns.
pub const MAX_LISTED_NOTICES: usize = 500;

/// A notice as one column or attribute.
pub(super) fn notice_to_json(notice: &Notice) -> String {
    serde_json::to_string(notice).expect("a notice always serialises")
}

/// A notice read back; `id` names it in the error.
pub(super) fn notice_from_json(json: &str, id: &str) -> Result<Notice, StoreError> {
    serde_json::from_str(json).map_err(|error| {
        StoreError::Corrupt(format!(
            "notice {id} cannot be read ({error}); post it again as a new notice"
        ))
    })
}

/// Newest first, then by id, at most [`MAX_LISTED_NOTICES`].
pub(super) fn newest_notices_first(mut notices: Vec<Notice>) -> Vec<Notice> {
    notices.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then_with(|| a.id.cmp(&b.id)));
    notices.truncate(MAX_LISTED_NOTICES);
    notices
}

/// Keeps the status page's history, lease and embed tokens; replicas sharing one store share them.
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

    /// Stores a new embed token's record; an id already taken is a `Conflict`.
    async fn insert_token(&self, token: &EmbedTokenRecord) -> Result<(), StoreError>;

    /// The token with this id, whatever its state.
    async fn token(&self, id: &str) -> Result<Option<EmbedTokenRecord>, StoreError>;

    /// Every token, newest first, at most [`MAX_LISTED_TOKENS`].
    async fn tokens(&self) -> Result<Vec<EmbedTokenRecord>, StoreError>;

    /// Marks the token revoked at `at_ms`, unless it already is; false when there is no such token.
    async fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError>;

    /// Stores a new notice; an id already taken is a `Conflict`.
    async fn insert_notice(&self, notice: &Notice) -> Result<(), StoreError>;

    /// The notice with this id.
    async fn notice(&self, id: &str) -> Result<Option<Notice>, StoreError>;

    /// Replaces a notice that still has `previous_updates` updates; when somebody changed it
    /// meanwhile, a `Conflict` (read it again and retry), so no update is lost.
    async fn replace_notice(&self, notice: &Notice, previous_updates: usize) -> Result<(), StoreError>;

    /// The notices still open or finished at or after `since_ms`, newest first, at most
    /// [`MAX_LISTED_NOTICES`].
    async fn notices(&self, since_ms: i64) -> Result<Vec<Notice>, StoreError>;
}
