//! The status page's history and lease in one DynamoDB table every replica shares, so that
//! one replica evaluates per interval (a conditional write decides which) and the history is
//! written once.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType};

use super::DynamoConfig;
use super::table::{Layout, Table, number};
use crate::store::StoreError;
use crate::store::status::{MAX_CHANGES_READ, StateChange, StatusStore, state_from_name, state_name};

/// The partition key: `lease#<name>` or `component#<id>`.
const PK: &str = "pk";
/// The sort key: `lease`, or a change's time as 16 digits so that text order is time order.
const SK: &str = "sk";
const HOLDER: &str = "holder";
const UNTIL: &str = "until_ms";
const AT: &str = "at_ms";
const STATE: &str = "state";
const SAYS: &str = "says";
const LEASE_SORT_KEY: &str = "lease";

static LAYOUT: Layout = Layout {
    keys: "partition key `pk` (string) and sort key `sk` (string)",
    permissions: "dynamodb:PutItem and dynamodb:Query",
    item: "a status change or lease",
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
}
