//! Sessions in a DynamoDB table, for several replicas behind a load balancer: every write is conditional, so replicas never overwrite each other.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, TimeToLiveSpecification};
use vitals_api::Role;

use super::DynamoConfig;
use super::table::{Layout, Table, number};
use crate::store::session::MAX_ABSOLUTE_TIMEOUT;
use crate::store::{SessionId, SessionLookup, SessionPolicy, SessionRecord, SessionStore, StoreError};

/// The partition key: the SHA-256 of the session id, never the id itself.
const ID_HASH: &str = "id_hash";
const USER: &str = "user";
const ROLES: &str = "roles";
const CREATED_AT: &str = "created_at_ms";
const LAST_SEEN: &str = "last_seen_ms";
const IDENTITY: &str = "identity_json";
const VERSION: &str = "version";
/// Epoch seconds after which DynamoDB's TTL may delete the item.
const TTL: &str = "ttl";

/// Scan pages one sweep reads at most (1 MB each), whatever the table keeps offering.
const MAX_SCAN_PAGES: usize = 1_000;

static LAYOUT: Layout = Layout {
    keys: "partition key `id_hash` (string) and TTL on `ttl`",
    permissions: "dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem and dynamodb:Scan",
    item: "a session",
};

/// [`SessionStore`] over a DynamoDB table shared by every replica.
///
/// Reads are strongly consistent, so a session created through one replica is seen by
/// the next request on another. Each item carries `ttl`: its login plus the longest
/// absolute limit the configuration allows, so DynamoDB removes the tokens of sessions no
/// server swept; expiry itself is always checked on load.
#[derive(Debug, Clone)]
pub struct DynamoSessionStore {
    table: Table,
}

impl DynamoSessionStore {
    /// A store on `config.table`, with credentials from `provider` (a role the caller
    /// assumed, or fixed keys for a local stand-in in tests), or from the default AWS chain
    /// (the task role on ECS) when it is `None`.
    pub async fn new(
        config: &DynamoConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            table: Table::connect(&config.table, config, timeout, provider, &LAYOUT).await?,
        })
    }

    /// Creates the table (on-demand capacity, TTL on `ttl`) unless it exists, and waits
    /// until it is active.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        let table = &self.table;
        // An existing table has its TTL already: DynamoDB refuses to turn it on twice.
        if !table.create_unless_present(&[(ID_HASH, KeyType::Hash)]).await? {
            return Ok(());
        }
        table
            .client
            .update_time_to_live()
            .table_name(&table.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL)
                    .enabled(true)
                    .build()
                    .map_err(|error| table.invalid_request(error))?,
            )
            .send()
            .await
            .map_err(|error| table.error("turn on TTL for", error))?;
        Ok(())
    }

    /// Deletes the item if its version is still `version`; false if someone else changed or removed it first.
    async fn delete_if_unchanged(&self, key: &str, version: u64) -> Result<bool, StoreError> {
        let deleted = self
            .table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key(ID_HASH, AttributeValue::S(key.to_owned()))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":version", number(version))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(error) => match self.table.error("delete a session from", error) {
                StoreError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }

    fn record_from_item(&self, item: &HashMap<String, AttributeValue>) -> Result<SessionRecord, StoreError> {
        let text = |name: &str| self.table.text(item, name);
        let integer = |name: &str| self.table.integer(item, name);
        let roles = item
            .get(ROLES)
            .and_then(|value| value.as_l().ok())
            .ok_or_else(|| self.table.corrupt(ROLES))?
            .iter()
            .map(|role| {
                role.as_s()
                    .ok()
                    .and_then(|name| Role::from_group(name))
                    .ok_or_else(|| self.table.corrupt(ROLES))
            })
            .collect::<Result<Vec<Role>, StoreError>>()?;
        Ok(SessionRecord {
            user: text(USER)?,
            roles,
            created_at_ms: integer(CREATED_AT)?,
            last_seen_ms: integer(LAST_SEEN)?,
            identity_json: text(IDENTITY)?,
            version: u64::try_from(integer(VERSION)?).map_err(|_| self.table.corrupt(VERSION))?,
        })
    }
}

fn roles_value(roles: &[Role]) -> AttributeValue {
    AttributeValue::L(
        roles
            .iter()
            .map(|role| AttributeValue::S(role.as_str().to_owned()))
            .collect(),
    )
}

/// The item for a new session.
fn new_item(key: &str, record: &SessionRecord) -> HashMap<String, AttributeValue> {
    let max_absolute_ms = i64::try_from(MAX_ABSOLUTE_TIMEOUT.as_millis()).unwrap_or(i64::MAX);
    let ttl_seconds = record.created_at_ms.saturating_add(max_absolute_ms) / 1_000;
    HashMap::from([
        (ID_HASH.to_owned(), AttributeValue::S(key.to_owned())),
        (USER.to_owned(), AttributeValue::S(record.user.clone())),
        (ROLES.to_owned(), roles_value(&record.roles)),
        (CREATED_AT.to_owned(), number(record.created_at_ms)),
        (LAST_SEEN.to_owned(), number(record.last_seen_ms)),
        (
            IDENTITY.to_owned(),
            AttributeValue::S(record.identity_json.clone()),
        ),
        (VERSION.to_owned(), number(record.version)),
        (TTL.to_owned(), number(ttl_seconds)),
    ])
}

#[async_trait]
impl SessionStore for DynamoSessionStore {
    async fn insert(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let key = id.store_key();
        self.table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(new_item(&key, record)))
            .condition_expression("attribute_not_exists(#id_hash)")
            .expression_attribute_names("#id_hash", ID_HASH)
            .send()
            .await
            .map_err(|error| self.table.error("store a new session in", error))?;
        Ok(())
    }

    async fn load(
        &self,
        id: &SessionId,
        now_ms: i64,
        policy: &SessionPolicy,
    ) -> Result<SessionLookup, StoreError> {
        let key = id.store_key();
        let answer = self
            .table
            .client
            .get_item()
            .table_name(&self.table.name)
            .key(ID_HASH, AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| self.table.error("load a session from", error))?;
        let Some(item) = answer.item() else {
            return Ok(SessionLookup::Missing);
        };
        let record = self.record_from_item(item)?;
        if !policy.is_expired(&record, now_ms) {
            return Ok(SessionLookup::Active(record));
        }
        let deleted = self.delete_if_unchanged(&key, record.version).await?;
        Ok(SessionLookup::expired_if_deleted(record, deleted))
    }

    async fn update(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        self.table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key(ID_HASH, AttributeValue::S(id.store_key()))
            .update_expression(
                "SET #roles = :roles, #last_seen = :last_seen, #identity = :identity, #version = :next_version",
            )
            .condition_expression("attribute_exists(#id_hash) AND #version = :version")
            .expression_attribute_names("#id_hash", ID_HASH)
            .expression_attribute_names("#roles", ROLES)
            .expression_attribute_names("#last_seen", LAST_SEEN)
            .expression_attribute_names("#identity", IDENTITY)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":roles", roles_value(&record.roles))
            .expression_attribute_values(":last_seen", number(record.last_seen_ms))
            .expression_attribute_values(":identity", AttributeValue::S(record.identity_json.clone()))
            .expression_attribute_values(":version", number(record.version))
            .expression_attribute_values(":next_version", number(record.version.saturating_add(1)))
            .send()
            .await
            .map_err(|error| self.table.error("update a session in", error))?;
        Ok(())
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key(ID_HASH, AttributeValue::S(id.store_key()))
            .send()
            .await
            .map_err(|error| self.table.error("delete a session from", error))?;
        Ok(())
    }

    async fn sweep(&self, now_ms: i64, policy: &SessionPolicy) -> Result<Vec<SessionRecord>, StoreError> {
        let mut expired = Vec::new();
        let mut start_key = None;
        for _ in 0..MAX_SCAN_PAGES {
            let page = self
                .table
                .client
                .scan()
                .table_name(&self.table.name)
                .consistent_read(true)
                .filter_expression("#last_seen <= :idle_cutoff OR #created_at <= :absolute_cutoff")
                .expression_attribute_names("#last_seen", LAST_SEEN)
                .expression_attribute_names("#created_at", CREATED_AT)
                .expression_attribute_values(":idle_cutoff", number(policy.idle_cutoff_ms(now_ms)))
                .expression_attribute_values(":absolute_cutoff", number(policy.absolute_cutoff_ms(now_ms)))
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|error| self.table.error("sweep expired sessions from", error))?;
            for item in page.items() {
                let key = item
                    .get(ID_HASH)
                    .and_then(|value| value.as_s().ok())
                    .ok_or_else(|| self.table.corrupt(ID_HASH))?;
                let record = self.record_from_item(item)?;
                // A session another replica swept or refreshed meanwhile is theirs to report.
                if self.delete_if_unchanged(key, record.version).await? {
                    expired.push(record);
                }
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                break;
            }
        }
        Ok(expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_keys_by_the_hash_and_expires_by_ttl() {
        let id = SessionId::generate().unwrap();
        let record = SessionRecord::new("ana", vec![Role::Engineer, Role::Admin], "{}", 1_700_000_000_000);
        let item = new_item(&id.store_key(), &record);
        assert_eq!(item[ID_HASH], AttributeValue::S(id.store_key()));
        assert!(
            item.values()
                .all(|value| value.as_s().map_or(true, |s| s != id.cookie_value()))
        );
        assert_eq!(
            item[TTL],
            AttributeValue::N((1_700_000_000 + 24 * 3_600).to_string())
        );
    }
}
