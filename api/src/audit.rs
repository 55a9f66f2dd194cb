//! What the audit trail records: the closed set of actions, each with the words an admin reads.

use serde::{Deserialize, Serialize};

/// One kind of entry in the audit trail. The server records nothing else, and the admin page
/// lists exactly these, so the two cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Login,
    LoginFailed,
    LoginChallenge,
    Logout,
    SessionExpired,
    LogsQuery,
    LogsTail,
    MetricsQuery,
    TracesQuery,
    ServiceMap,
    AuditRead,
    LinkCreate,
    LinkOpen,
    LinkRevoke,
    Reveal,
    EmbedTokenCreate,
    EmbedTokenRevoke,
    NoticePost,
    NoticeUpdate,
    JourneyRead,
}

impl AuditAction {
    pub const ALL: [AuditAction; 20] = [
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::LoginChallenge,
        AuditAction::Logout,
        AuditAction::SessionExpired,
        AuditAction::LogsQuery,
        AuditAction::LogsTail,
        AuditAction::MetricsQuery,
        AuditAction::TracesQuery,
        AuditAction::ServiceMap,
        AuditAction::AuditRead,
        AuditAction::LinkCreate,
        AuditAction::LinkOpen,
        AuditAction::LinkRevoke,
        AuditAction::Reveal,
        AuditAction::EmbedTokenCreate,
        AuditAction::EmbedTokenRevoke,
        AuditAction::NoticePost,
        AuditAction::NoticeUpdate,
        AuditAction::JourneyRead,
    ];

    /// The name stored and sent on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::LoginChallenge => "login_challenge",
            AuditAction::Logout => "logout",
            AuditAction::SessionExpired => "session_expired",
            AuditAction::LogsQuery => "logs_query",
            AuditAction::LogsTail => "logs_tail",
            AuditAction::MetricsQuery => "metrics_query",
            AuditAction::TracesQuery => "traces_query",
            AuditAction::ServiceMap => "service_map",
            AuditAction::AuditRead => "audit_read",
            AuditAction::LinkCreate => "link_create",
            AuditAction::LinkOpen => "link_open",
            AuditAction::LinkRevoke => "link_revoke",
            AuditAction::Reveal => "reveal",
            AuditAction::EmbedTokenCreate => "embed_token_create",
            AuditAction::EmbedTokenRevoke => "embed_token_revoke",
            AuditAction::NoticePost => "notice_post",
            AuditAction::NoticeUpdate => "notice_update",
            AuditAction::JourneyRead => "journey_read",
        }
    }

    /// How the admin page says it.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::Login => "Logged in",
            AuditAction::LoginFailed => "Login refused",
            AuditAction::LoginChallenge => "Asked for a second step",
            AuditAction::Logout => "Logged out",
            AuditAction::SessionExpired => "Session ended",
            AuditAction::LogsQuery => "Searched logs",
            AuditAction::LogsTail => "Followed logs live",
            AuditAction::MetricsQuery => "Queried metrics",
            AuditAction::TracesQuery => "Looked at traces",
            AuditAction::ServiceMap => "Opened the service map",
            AuditAction::AuditRead => "Read the audit trail",
            AuditAction::LinkCreate => "Shared a link",
            AuditAction::LinkOpen => "Opened a shared link",
            AuditAction::LinkRevoke => "Revoked a shared link",
            AuditAction::Reveal => "Revealed masked patient data",
            AuditAction::EmbedTokenCreate => "Made an embed link for the status page",
            AuditAction::EmbedTokenRevoke => "Revoked an embed link for the status page",
            AuditAction::NoticePost => "Posted a notice on the status page",
            AuditAction::NoticeUpdate => "Updated a notice on the status page",
            AuditAction::JourneyRead => "Counted a patient journey (its log lines read on the server)",
        }
    }

    /// The action stored under `name`, if it is one.
    pub fn from_name(name: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_under_its_stored_name() {
        for action in AuditAction::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(serde_json::from_str::<AuditAction>(&json).unwrap(), action);
            assert_eq!(AuditAction::from_name(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::from_name("error 101"), None);
    }

    #[test]
    fn every_action_has_its_own_name_and_words() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        let mut labels: Vec<&str> = AuditAction::ALL.iter().map(|a| a.label()).collect();
        names.sort_unstable();
        names.dedup();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(
            (names.len(), labels.len()),
            (AuditAction::ALL.len(), AuditAction::ALL.len())
        );
    }
}
