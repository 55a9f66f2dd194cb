//! The status page's history and lease in one DynamoDB table every replica shares, so that
//! one replica evaluates per interval (a conditional write decides which) and the history is
//! written once.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType};
use vitals_api::Notice;

use super::DynamoConfig;
use super::table::{Layout, Table, number};
use crate::store::StoreError;
use crate::store::status::{
    EmbedTokenRecord, MAX_CHANGES_READ, MAX_LISTED_TOKENS, StateChange, StatusStore, newest_notices_first,
    notice_from_json, notice_to_json, origins_from_json, origins_to_json, state_from_name, state_name,
};

/// The partition key: `lease#<name>`, `component#<id>`, [`TOKENS`] for every embed token, or
/// [`NOTICES`] for every notice.
const PK: &str = "pk";
/// The sort key: `lease`, or a change's time as 16 digits so that text order is time order.
const SK: &str = "sk";
const HOLDER: &str = "holder";
const UNTIL: &str = "until_ms";
const AT: &str = "at_ms";
const STATE: &str = "state";
const SAYS: &str = "says";
const LEASE_SORT_KEY: &str = "lease";
/// The one partition of embed tokens (a few dozen at most), sorted by id.
const TOKENS: &str = "embed-tokens";
const PAGE: &str = "page";
const ORIGINS: &str = "origins_json";
const CREATED_BY: &str = "created_by";
const CREATED_AT: &str = "created_at_ms";
const EXPIRES_AT: &str = "expires_at_ms";
const REVOKED_AT: &str = "revoked_at_ms";
/// Query pages one token or notice listing reads at most (1 MB each).
const MAX_TOKEN_PAGES: usize = 10;
/// The one partition of notices, sorted by id.
const NOTICES: &str = "notices";
const NOTICE: &str = "notice_json";
/// How many updates the notice has: replacing it is conditional on this, so none is lost.
const UPDATES: &str = "updates";
const FINISHED_AT: &str = "finished_at_ms";

static LAYOUT: Layout = Layout {
    keys: "partition key `pk` (string) and sort key `sk` (string)",
    permissions: "dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem and dynamodb:Query",
    item: "a status change, lease, embed token or notice",
};

fn lease_key(name: &str) -> String {
    format!("lease#{name}")
}

fn component_key(component: &str) -> String {
    format!("component#{component}")
}

fn time_key(at_ms: i64) -> String {
    format!("{:016}", at_ms.max(0))
}

/// [`StatusStore`] over a DynamoDB table (`dynamodb.status_table`), read strongly consistent.
#[derive(Debug, Clone)]
pub struct DynamoStatusStore {
    table: Table,
}

impl DynamoStatusStore {
    /// A store on `config.status_table`, with credentials from `provider`, or from the
    /// default AWS chain (the task role on ECS) when it is `None`.
    pub async fn new(
        config: &DynamoConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
    ) -> Result<Self, StoreError> {
        let Some(name) = &config.status_table else {
            return Err(StoreError::Unavailable(
                "no status table is configured; set `dynamodb.status_table` (VITALS_DYNAMODB_STATUS_TABLE)"
                    .into(),
            ));
        };
        Ok(Self {
            table: Table::connect(name, config, timeout, provider, &LAYOUT).await?,
        })
    }

    /// Creates the table (on-demand capacity) unless it exists, and waits until it is active.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        self.table
            .create_unless_present(&[(PK, KeyType::Hash), (SK, KeyType::Range)])
            .await
            .map(drop)
    }

    fn change_from_item(
        &self,
        component: &str,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<StateChange, StoreError> {
        let at_ms = self.table.integer(item, AT)?;
        let what = format!(
            "the status change of {component} at {at_ms} in `{}`",
            self.table.name
        );
        Ok(StateChange {
            component: component.to_owned(),
            at_ms,
            state: state_from_name(&self.table.text(item, STATE)?, &what)?,
            says: self.table.text(item, SAYS)?,
        })
    }

    fn token_from_item(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<EmbedTokenRecord, StoreError> {
        let table = &self.table;
        let id = table.text(item, SK)?;
        Ok(EmbedTokenRecord {
            origins: origins_from_json(&table.text(item, ORIGINS)?, &id)?,
            page: table.text(item, PAGE)?,
            created_by: table.text(item, CREATED_BY)?,
            created_at_ms: table.integer(item, CREATED_AT)?,
            expires_at_ms: table.integer(item, EXPIRES_AT)?,
            revoked_at_ms: match item.get(REVOKED_AT) {
                None => None,
                Some(_) => Some(table.integer(item, REVOKED_AT)?),
            },
            id,
        })
    }

    fn notice_from_item(&self, item: &HashMap<String, AttributeValue>) -> Result<Notice, StoreError> {
        let id = self.table.text(item, SK)?;
        notice_from_json(&self.table.text(item, NOTICE)?, &id)
    }

    /// A put of `notice` as its item; the caller adds the condition.
    fn notice_put(
        &self,
        notice: &Notice,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        let put = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item(PK, AttributeValue::S(NOTICES.to_owned()))
            .item(SK, AttributeValue::S(notice.id.clone()))
            .item(NOTICE, AttributeValue::S(notice_to_json(notice)))
            .item(UPDATES, number(notice.updates.len() as i64));
        match notice.finished_at() {
            Some(finished) => put.item(FINISHED_AT, number(finished)),
            None => put,
        }
    }

    /// The item `id` of the one-partition collection `partition` (tokens, notices).
    async fn item_of(
        &self,
        partition: &str,
        id: &str,
        what: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let answer = self
            .table
            .client
            .get_item()
            .table_name(&self.table.name)
            .key(PK, AttributeValue::S(partition.to_owned()))
            .key(SK, AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| self.table.error(what, error))?;
        Ok(answer.item().cloned())
    }

    /// Every item of the one-partition collection `partition`, at most [`MAX_TOKEN_PAGES`]
    /// pages, those finished before `finished_since` left out when it is given.
    async fn items_of(
        &self,
        partition: &str,
        finished_since: Option<i64>,
        what: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start_key = None;
        for _ in 0..MAX_TOKEN_PAGES {
            let mut query = self
                .table
                .client
                .query()
                .table_name(&self.table.name)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
                .set_exclusive_start_key(start_key.take());
            if let Some(since) = finished_since {
                query = query
                    .filter_expression("attribute_not_exists(#finished) OR #finished >= :since")
                    .expression_attribute_names("#finished", FINISHED_AT)
                    .expression_attribute_values(":since", number(since));
            }
            let page = query
                .send()
                .await
                .map_err(|error| self.table.error(what, error))?;
            items.extend(page.items().iter().cloned());
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                break;
            }
        }
        Ok(items)
    }

    /// One page of a component's changes: `condition` on the sort key, oldest first or not.
    async fn query(
        &self,
        component: &str,
        condition: &str,
        values: &[(&str, String)],
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<StateChange>, StoreError> {
        let mut changes = Vec::new();
        let mut start_key = None;
        loop {
            let mut query = self
                .table
                .client
                .query()
                .table_name(&self.table.name)
                .consistent_read(true)
                .key_condition_expression(format!("#pk = :pk AND {condition}"))
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(component_key(component)))
                .scan_index_forward(oldest_first)
                .limit(i32::try_from(limit - changes.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key.take());
            for (name, value) in values {
                query = query.expression_attribute_values(*name, AttributeValue::S(value.clone()));
            }
            let page = query
                .send()
                .await
                .map_err(|error| self.table.error("read the status history from", error))?;
            for item in page.items() {
                changes.push(self.change_from_item(component, item)?);
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() || changes.len() >= limit {
                return Ok(changes);
            }
        }
    }
}

#[async_trait]
impl StatusStore for DynamoStatusStore {
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item(PK, AttributeValue::S(lease_key(name)))
            .item(SK, AttributeValue::S(LEASE_SORT_KEY.to_owned()))
            .item(HOLDER, AttributeValue::S(holder.to_owned()))
            .item(UNTIL, number(until_ms))
            .condition_expression("attribute_not_exists(#pk) OR #until <= :now OR #holder = :holder")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_values(":now", number(now_ms))
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        match taken.map_err(|error| self.table.error("take the status lease in", error)) {
            Ok(_) => Ok(true),
            // Another replica holds it.
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn record_change(&self, change: &StateChange) -> Result<(), StoreError> {
        let recorded = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item(PK, AttributeValue::S(component_key(&change.component)))
            .item(SK, AttributeValue::S(time_key(change.at_ms)))
            .item(AT, number(change.at_ms))
            .item(STATE, AttributeValue::S(state_name(change.state).to_owned()))
            .item(SAYS, AttributeValue::S(change.says.clone()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match recorded.map_err(|error| self.table.error("record a status change in", error)) {
            // Already recorded, by this replica or another.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn changes(
        &self,
        component: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StateChange>, StoreError> {
        let before = self
            .query(
                component,
                "#sk < :from",
                &[(":from", time_key(from_ms))],
                false,
                1,
            )
            .await?;
        let within = self
            .query(
                component,
                "#sk BETWEEN :from AND :to",
                &[(":from", time_key(from_ms)), (":to", time_key(to_ms))],
                true,
                MAX_CHANGES_READ - before.len(),
            )
            .await?;
        Ok(before.into_iter().chain(within).collect())
    }

    async fn insert_token(&self, token: &EmbedTokenRecord) -> Result<(), StoreError> {
        let text = |value: &str| AttributeValue::S(value.to_owned());
        let mut put = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item(PK, text(TOKENS))
            .item(SK, text(&token.id))
            .item(PAGE, text(&token.page))
            .item(ORIGINS, text(&origins_to_json(&token.origins)))
            .item(CREATED_BY, text(&token.created_by))
            .item(CREATED_AT, number(token.created_at_ms))
            .item(EXPIRES_AT, number(token.expires_at_ms));
        if let Some(revoked_at) = token.revoked_at_ms {
            put = put.item(REVOKED_AT, number(revoked_at));
        }
        put.condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(|error| self.table.error("store an embed token in", error))?;
        Ok(())
    }

    async fn token(&self, id: &str) -> Result<Option<EmbedTokenRecord>, StoreError> {
        self.item_of(TOKENS, id, "read an embed token from")
            .await?
            .map(|item| self.token_from_item(&item))
            .transpose()
    }

    async fn tokens(&self) -> Result<Vec<EmbedTokenRecord>, StoreError> {
        let mut tokens = self
            .items_of(TOKENS, None, "list the embed tokens in")
            .await?
            .iter()
            .map(|item| self.token_from_item(item))
            .collect::<Result<Vec<_>, _>>()?;
        tokens.sort_by(|a, b| {
            b.created_at_ms
                .cmp(&a.created_at_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        tokens.truncate(MAX_LISTED_TOKENS);
        Ok(tokens)
    }

    async fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let revoked = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key(PK, AttributeValue::S(TOKENS.to_owned()))
            .key(SK, AttributeValue::S(id.to_owned()))
            .update_expression("SET #revoked_at = :at")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#revoked_at)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#revoked_at", REVOKED_AT)
            .expression_attribute_values(":at", number(at_ms))
            .send()
            .await;
        match revoked.map_err(|error| self.table.error("revoke an embed token in", error)) {
            Ok(_) => Ok(true),
            // Already revoked, or no such token: which one, the item says.
            Err(StoreError::Conflict) => Ok(self.token(id).await?.is_some()),
            Err(error) => Err(error),
        }
    }

    async fn insert_notice(&self, notice: &Notice) -> Result<(), StoreError> {
        self.notice_put(notice)
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(|error| self.table.error("store a notice in", error))?;
        Ok(())
    }

    async fn notice(&self, id: &str) -> Result<Option<Notice>, StoreError> {
        self.item_of(NOTICES, id, "read a notice from")
            .await?
            .map(|item| self.notice_from_item(&item))
            .transpose()
    }

    async fn replace_notice(&self, notice: &Notice, previous_updates: usize) -> Result<(), StoreError> {
        self.notice_put(notice)
            .condition_expression("#updates = :previous")
            .expression_attribute_names("#updates", UPDATES)
            .expression_attribute_values(":previous", number(previous_updates as i64))
            .send()
            .await
            .map_err(|error| self.table.error("change a notice in", error))?;
        Ok(())
    }

    async fn notices(&self, since_ms: i64) -> Result<Vec<Notice>, StoreError> {
        let notices = self
            .items_of(NOTICES, Some(since_ms), "list the notices in")
            .await?
            .iter()
            .map(|item| self.notice_from_item(item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(newest_notices_first(notices))
    }
}
