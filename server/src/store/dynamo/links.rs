//! Share links in a DynamoDB table every replica reads, so a link made through one replica
//! opens through any other, and a revocation holds everywhere at once.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType};

use super::DynamoConfig;
use super::table::{Layout, Table, number};
use crate::store::StoreError;
use crate::store::links::{LinkRecord, LinkStore, MAX_LISTED_LINKS, view_from_json, view_to_json};

/// The partition key: the link's id.
const ID: &str = "id";
const DASHBOARD: &str = "dashboard";
const VIEW: &str = "view_json";
const CREATED_BY: &str = "created_by";
const CREATED_AT: &str = "created_at_ms";
const EXPIRES_AT: &str = "expires_at_ms";
const REVOKED_AT: &str = "revoked_at_ms";

/// Scan pages one listing reads at most (1 MB each).
const MAX_SCAN_PAGES: usize = 100;

static LAYOUT: Layout = Layout {
    keys: "partition key `id` (string)",
    permissions: "dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem and dynamodb:Scan",
    item: "a share link",
};

/// [`LinkStore`] over a DynamoDB table (`dynamodb.links_table`), read strongly consistent.
#[derive(Debug, Clone)]
pub struct DynamoLinkStore {
    table: Table,
}

impl DynamoLinkStore {
    /// A store on `config.links_table`, with credentials from `provider`, or from the
    /// default AWS chain (the task role on ECS) when it is `None`.
    pub async fn new(
        config: &DynamoConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
    ) -> Result<Self, StoreError> {
        let Some(name) = &config.links_table else {
            return Err(StoreError::Unavailable(
                "no share-link table is configured; set `dynamodb.links_table` (VITALS_DYNAMODB_LINKS_TABLE)"
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
            .create_unless_present(&[(ID, KeyType::Hash)])
            .await
            .map(drop)
    }

    fn record_from_item(&self, item: &HashMap<String, AttributeValue>) -> Result<LinkRecord, StoreError> {
        let table = &self.table;
        let id = table.text(item, ID)?;
        let optional = |name: &str| -> Result<Option<i64>, StoreError> {
            match item.get(name) {
                None => Ok(None),
                Some(_) => table.integer(item, name).map(Some),
            }
        };
        Ok(LinkRecord {
            view: view_from_json(&table.text(item, VIEW)?, &id)?,
            dashboard: table.text(item, DASHBOARD)?,
            created_by: table.text(item, CREATED_BY)?,
            created_at_ms: table.integer(item, CREATED_AT)?,
            expires_at_ms: optional(EXPIRES_AT)?,
            revoked_at_ms: optional(REVOKED_AT)?,
            id,
        })
    }
}

#[async_trait]
impl LinkStore for DynamoLinkStore {
    async fn insert_link(&self, link: &LinkRecord) -> Result<(), StoreError> {
        let text = |value: &str| AttributeValue::S(value.to_owned());
        let mut item = HashMap::from([
            (ID.to_owned(), text(&link.id)),
            (DASHBOARD.to_owned(), text(&link.dashboard)),
            (VIEW.to_owned(), text(&view_to_json(&link.view))),
            (CREATED_BY.to_owned(), text(&link.created_by)),
            (CREATED_AT.to_owned(), number(link.created_at_ms)),
        ]);
        if let Some(expires_at) = link.expires_at_ms {
            item.insert(EXPIRES_AT.to_owned(), number(expires_at));
        }
        if let Some(revoked_at) = link.revoked_at_ms {
            item.insert(REVOKED_AT.to_owned(), number(revoked_at));
        }
        self.table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .send()
            .await
            .map_err(|error| self.table.error("store a share link in", error))?;
        Ok(())
    }

    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let answer = self
            .table
            .client
            .get_item()
            .table_name(&self.table.name)
            .key(ID, AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| self.table.error("read a share link from", error))?;
        answer.item().map(|item| self.record_from_item(item)).transpose()
    }

    async fn links(&self, created_by: Option<&str>) -> Result<Vec<LinkRecord>, StoreError> {
        let mut links = Vec::new();
        let mut start_key = None;
        for _ in 0..MAX_SCAN_PAGES {
            let mut scan = self
                .table
                .client
                .scan()
                .table_name(&self.table.name)
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take());
            if let Some(creator) = created_by {
                scan = scan
                    .filter_expression("#created_by = :created_by")
                    .expression_attribute_names("#created_by", CREATED_BY)
                    .expression_attribute_values(":created_by", AttributeValue::S(creator.to_owned()));
            }
            let page = scan
                .send()
                .await
                .map_err(|error| self.table.error("list the share links in", error))?;
            for item in page.items() {
                links.push(self.record_from_item(item)?);
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                break;
            }
        }
        links.sort_by(|a, b| {
            b.created_at_ms
                .cmp(&a.created_at_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        links.truncate(MAX_LISTED_LINKS);
        Ok(links)
    }

    async fn revoke_link(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let revoked = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key(ID, AttributeValue::S(id.to_owned()))
            .update_expression("SET #revoked_at = :at")
            .condition_expression("attribute_exists(#id) AND attribute_not_exists(#revoked_at)")
            .expression_attribute_names("#id", ID)
            .expression_attribute_names("#revoked_at", REVOKED_AT)
            .expression_attribute_values(":at", number(at_ms))
            .send()
            .await;
        match revoked.map_err(|error| self.table.error("revoke a share link in", error)) {
            Ok(_) => Ok(true),
            // Already revoked, or no such link: which one, the item says.
            Err(StoreError::Conflict) => Ok(self.link(id).await?.is_some()),
            Err(error) => Err(error),
        }
    }
}
