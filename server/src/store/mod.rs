//! Where the server keeps what must outlive a request: sessions, the audit trail, share links
//! and the status page's history and lease.
//!
//! Both are traits so one server can keep them in SQLite under `VITALS_DATA_DIR` and
//! several replicas behind a load balancer can share sessions in DynamoDB.

mod audit;
mod batched_audit;
mod cached_sessions;
mod dynamo;
pub mod links;
mod scrub;
mod session;
mod sqlite;
pub mod status;
mod token_key;

use async_trait::async_trait;

pub use audit::{
    AuditFilter, AuditLog, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, NewAuditEvent, NumberedAuditEvent,
};
pub use batched_audit::{AuditMetrics, BatchedAudit};
pub use cached_sessions::CachedSessions;
pub use dynamo::{DynamoAuditLog, DynamoConfig, DynamoLinkStore, DynamoSessionStore, DynamoStatusStore};
pub use links::{LinkPolicy, LinkRecord, LinkStore, LinkView};
pub use scrub::scrub;
pub use session::{
    MAX_ABSOLUTE_TIMEOUT, SessionId, SessionLookup, SessionPolicy, SessionRecord, TOUCH_INTERVAL_MS,
};
pub use sqlite::{DATABASE_FILE, SqliteStore};
pub use status::{EmbedTokenRecord, StateChange, StatusStore};
pub use token_key::{TokenKey, missing_with_cognito};

/// Why a store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed or removed the session since it was loaded (another request,
    /// another replica), or the id is already taken; load it again and decide anew.
    #[error("the session changed meanwhile; load it again and retry")]
    Conflict,
    /// The store cannot be reached or written; the message names the SQLite file or the
    /// DynamoDB table and what to do.
    #[error("{0}")]
    Unavailable(String),
    /// The store holds something this server cannot read.
    #[error("{0}")]
    Corrupt(String),
}

/// Keeps sessions; every method works on what the store holds at the time, so replicas
/// sharing one store agree.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session under a new random id (one per login) and returns the id for the cookie.
    async fn create(&self, record: SessionRecord) -> Result<SessionId, StoreError> {
        let id = SessionId::generate()?;
        self.insert(&id, &record).await?;
        Ok(id)
    }

    /// Stores `record` under `id` unless the id is taken (`Conflict`); `create` is this with a new id.
    async fn insert(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError>;

    /// The session if it exists and has not expired at `now_ms` (idle or absolute); an
    /// expired one is deleted and reported as `Expired` once, so the caller can audit
    /// `session_expired` once even when replicas race.
    async fn load(
        &self,
        id: &SessionId,
        now_ms: i64,
        policy: &SessionPolicy,
    ) -> Result<SessionLookup, StoreError>;

    /// Writes the record's `roles`, `last_seen_ms` and `identity_json` if the stored
    /// version is still `record.version`, and bumps the stored version by one; otherwise
    /// (another replica wrote first, or the session is gone) `Conflict`, and the caller
    /// reloads. `user` and `created_at_ms` never change, so nothing extends the absolute
    /// limit. Callers refresh `last_seen_ms` only when [`SessionRecord::needs_touch`] says so.
    async fn update(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError>;

    /// Ends the session; ending one that is already gone is not an error.
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError>;

    /// Removes the sessions expired at `now_ms` and returns them for auditing; a session
    /// another replica swept or refreshed meanwhile is left out.
    async fn sweep(&self, now_ms: i64, policy: &SessionPolicy) -> Result<Vec<SessionRecord>, StoreError>;
}
