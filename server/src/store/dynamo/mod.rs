//! The DynamoDB stores, for several replicas behind a load balancer: sessions, and the audit trail.

mod audit;
mod session;
mod table;

use std::time::Duration;

pub use audit::DynamoAuditLog;
pub use session::DynamoSessionStore;

/// Where a table is: the session table (partition key `id_hash`, TTL on `ttl`) or the
/// audit table (partition key `month`, sort key `seq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoConfig {
    /// The table, such as `vitals-sessions` or `vitals-audit`.
    pub table: String,
    pub region: String,
    /// An endpoint override, for tests against a local stand-in.
    pub endpoint: Option<String>,
    /// How long one call may take.
    pub timeout: Duration,
}
