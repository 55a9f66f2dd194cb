//! The DynamoDB stores, for several replicas behind a load balancer: sessions, and the audit trail.

mod audit;
mod links;
mod session;
mod status;
mod table;

use serde::Deserialize;
use url::Url;

use crate::settings::{InvalidSetting, check_http_url, check_region};

pub use audit::DynamoAuditLog;
pub use links::DynamoLinkStore;
pub use session::DynamoSessionStore;
pub use status::DynamoStatusStore;

/// `[dynamodb]`: keep sessions in DynamoDB, shared by every replica, and the audit trail
/// too when it has a table (`VITALS_SESSION_TABLE`, `VITALS_AUDIT_TABLE`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoConfig {
    /// The session table (partition key `id_hash`, TTL on `ttl`), such as `vitals-sessions`.
    pub table: String,
    /// The audit table every replica appends to (partition key `month`, sort key `seq`);
    /// without it each replica keeps its own trail in `data_dir`.
    #[serde(default)]
    pub audit_table: Option<String>,
    /// The share-link table every replica reads (partition key `id`); without it each
    /// replica keeps its own links in `data_dir`.
    #[serde(default)]
    pub links_table: Option<String>,
    /// The status page's table every replica shares (partition key `pk`, sort key `sk`): its
    /// history, and the lease that lets one replica evaluate for all.
    #[serde(default)]
    pub status_table: Option<String>,
    /// The tables' region; `AWS_REGION` when not set here.
    pub region: String,
    /// An endpoint override (`VITALS_DYNAMODB_ENDPOINT`), for tests against a local stand-in.
    #[serde(default)]
    pub endpoint: Option<Url>,
}

impl DynamoConfig {
    /// Checks what the types alone cannot; each error names the key under `[dynamodb]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_table_name("dynamodb.table", &self.table)?;
        check_region("dynamodb.region", &self.region)?;
        if let Some(endpoint) = &self.endpoint {
            check_http_url("dynamodb.endpoint", endpoint)?;
        }
        let mut named = vec![("dynamodb.table", self.table.as_str())];
        for (key, table) in [
            ("dynamodb.audit_table", &self.audit_table),
            ("dynamodb.links_table", &self.links_table),
            ("dynamodb.status_table", &self.status_table),
        ] {
            let Some(table) = table else { continue };
            check_table_name(key, table)?;
            if let Some((other, _)) = named.iter().find(|(_, name)| name == table) {
                return Err(InvalidSetting::new(
                    key,
                    format!("names the same table as `{other}`; give it a table of its own"),
                ));
            }
            named.push((key, table));
        }
        Ok(())
    }
}

/// A DynamoDB table name: 3 to 255 letters, digits, `_`, `-` and `.`.
fn check_table_name(key: &str, table: &str) -> Result<(), InvalidSetting> {
    let valid = (3..=255).contains(&table.len())
        && table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        return Ok(());
    }
    Err(InvalidSetting::new(
        key,
        format!("is \"{table}\", not a DynamoDB table name; use 3 to 255 letters, digits, `_`, `-` and `.`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DynamoConfig {
        DynamoConfig {
            table: "vitals-sessions".into(),
            audit_table: Some("vitals-audit".into()),
            links_table: Some("vitals-links".into()),
            status_table: Some("vitals-status".into()),
            region: "eu-west-1".into(),
            endpoint: None,
        }
    }

    #[test]
    fn table_names_dynamodb_refuses_are_refused_at_start_naming_the_key() {
        assert_eq!(config().validate(), Ok(()));
        for bad in ["", "ab", "vitals sessions", "sessions/prod"] {
            let sessions = DynamoConfig {
                table: bad.into(),
                ..config()
            };
            let refused = sessions.validate().unwrap_err();
            assert_eq!(refused.key, "dynamodb.table");
            assert!(refused.problem.contains("not a DynamoDB table name"), "{refused}");
            let audit = DynamoConfig {
                audit_table: Some(bad.into()),
                ..config()
            };
            assert_eq!(audit.validate().unwrap_err().key, "dynamodb.audit_table");
        }
    }

    #[test]
    fn the_audit_trail_needs_a_table_of_its_own() {
        let shared = DynamoConfig {
            audit_table: Some("vitals-sessions".into()),
            ..config()
        };
        let refused = shared.validate().unwrap_err();
        assert_eq!(refused.key, "dynamodb.audit_table");
        assert!(refused.problem.contains("table of its own"), "{refused}");
        let shared = DynamoConfig {
            links_table: Some("vitals-audit".into()),
            ..config()
        };
        let refused = shared.validate().unwrap_err();
        assert_eq!(refused.key, "dynamodb.links_table");
        assert!(refused.problem.contains("dynamodb.audit_table"), "{refused}");
    }
}
