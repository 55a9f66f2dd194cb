//! The audit trail's contract: what one entry says, how admins ask for entries, and what an entry may never hold.

use async_trait::async_trait;
use vitals_api::{AuditAction, AuditEvent};

use super::StoreError;
use super::scrub::{scrub, scrub_secrets};

/// Entries one query returns when the caller names no limit.
pub const DEFAULT_AUDIT_LIMIT: usize = 100;
/// Entries one query returns at most.
pub const MAX_AUDIT_LIMIT: usize = 1_000;

/// Longest user, outcome and client an entry keeps; the target may be longer.
const MAX_FIELD_CHARS: usize = 256;
/// Longest target an entry keeps (a query and its range).
const MAX_TARGET_CHARS: usize = 4_096;

/// An entry to append: who did what to what, when, with which outcome, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// The username, or the one tried for a failed login.
    pub user: String,
    pub action: AuditAction,
    /// What was asked (a query and its range, a trace id); scrubbed of secrets and
    /// patient-like data before it is stored. Record times as RFC 3339 timestamps or epoch
    /// milliseconds: a bare date looks like a birth date and is masked.
    pub target: String,
    /// `ok`, `denied`, `error` and the like.
    pub outcome: String,
    /// The client's address.
    pub client: String,
}

impl NewAuditEvent {
    /// The entry as it may be stored: secrets and patient-like data masked (see
    /// [`scrub`]), each field cut to a bounded length.
    ///
    /// The user keeps personal-looking data such as an email address, because staff log in
    /// with theirs and "who" is what the trail is for; secrets are masked there too, as
    /// people do type passwords into the username field.
    pub fn scrubbed(&self) -> Self {
        Self {
            at_ms: self.at_ms,
            user: truncate(&scrub_secrets(&self.user), MAX_FIELD_CHARS),
            action: self.action,
            target: truncate(&scrub(&self.target), MAX_TARGET_CHARS),
            outcome: truncate(&scrub(&self.outcome), MAX_FIELD_CHARS),
            client: truncate(&scrub_secrets(&self.client), MAX_FIELD_CHARS),
        }
    }
}

/// `text` cut to at most `max_chars` characters, marked with an ellipsis when cut.
fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Which entries an admin asks for; every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub action: Option<AuditAction>,
    /// Milliseconds since the epoch, inclusive.
    pub from_ms: Option<i64>,
    /// Milliseconds since the epoch, inclusive.
    pub to_ms: Option<i64>,
    /// Entries wanted, newest first; more than [`MAX_AUDIT_LIMIT`] counts as that.
    pub limit: usize,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            user: None,
            action: None,
            from_ms: None,
            to_ms: None,
            limit: DEFAULT_AUDIT_LIMIT,
        }
    }
}

impl AuditFilter {
    /// The limit a store applies.
    pub fn capped_limit(&self) -> usize {
        self.limit.min(MAX_AUDIT_LIMIT)
    }
}

/// An entry numbered once by the writer that queued it, before its first write: a store that
/// keys entries by that number (DynamoDB) stores an entry written again after a failure once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedAuditEvent {
    pub number: u64,
    pub event: NewAuditEvent,
}

/// The append-only audit trail: logins (success, failure, challenge), logouts, session
/// expiry, every access to engineering data and every read of the trail. Nothing changes or
/// removes an entry once appended.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends the entry after [`NewAuditEvent::scrubbed`]; returns once it is stored, so an
    /// answer sent after this returns is on record.
    async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError>;

    /// Appends the entries in order, all or none where the store allows (SQLite), and each at
    /// most once however often the same entries are written again (DynamoDB).
    async fn append_numbered(&self, entries: &[NumberedAuditEvent]) -> Result<(), StoreError>;

    /// Returns once every entry appended before the call is stored; a store that writes
    /// as it appends has nothing to wait for.
    async fn flush(&self) {}

    /// The entries matching `filter`, newest first, at most [`AuditFilter::capped_limit`].
    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;

    /// The counters of a trail that writes in the background, for `/metrics`.
    fn metrics(&self) -> Option<super::AuditMetrics> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_cuts_on_characters_and_marks_the_cut() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4), "ééé…");
        assert_eq!(truncate("", 3), "");
    }

    #[test]
    fn scrubbed_keeps_who_but_masks_secrets_everywhere() {
        let event = NewAuditEvent {
            at_ms: 1,
            user: "ana@clinic.example password=hunter2".into(),
            action: AuditAction::LoginFailed,
            target: "patient jane@mail.example".into(),
            outcome: "denied".into(),
            client: "10.0.0.7".into(),
        };
        let stored = event.scrubbed();
        assert_eq!(stored.user, "ana@clinic.example password=[redacted]");
        assert_eq!(stored.target, "patient [email]");
        assert_eq!(stored.client, "10.0.0.7");
        assert_eq!(stored.action, AuditAction::LoginFailed);
    }

    #[test]
    fn a_huge_target_is_cut() {
        let event = NewAuditEvent {
            at_ms: 1,
            user: "ana".into(),
            action: AuditAction::LogsQuery,
            target: "x".repeat(MAX_TARGET_CHARS * 2),
            outcome: "ok".into(),
            client: "10.0.0.7".into(),
        };
        assert_eq!(event.scrubbed().target.chars().count(), MAX_TARGET_CHARS);
    }

    #[test]
    fn the_limit_is_capped() {
        let filter = AuditFilter {
            limit: 50_000,
            ..AuditFilter::default()
        };
        assert_eq!(filter.capped_limit(), MAX_AUDIT_LIMIT);
        assert_eq!(AuditFilter::default().capped_limit(), DEFAULT_AUDIT_LIMIT);
    }
}
