//! The audit trail in a DynamoDB table, so every replica appends to one trail and an admin
//! reading it through any replica sees everyone's entries.
//!
//! Items are partitioned by calendar month (UTC) and sorted within it by time, so a read
//! walks back a month at a time, newest first. Nothing here updates or deletes an item:
//! give the server's role only `PutItem`/`BatchWriteItem` and `Query` on the table, and the
//! trail is append-only by IAM too.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, PutRequest, WriteRequest};
use vitals_api::clock::Clock;
use vitals_api::{AuditAction, AuditEvent};

use super::DynamoConfig;
use super::table::{Layout, Table, number};
use crate::store::{AuditFilter, AuditLog, NewAuditEvent, NumberedAuditEvent, StoreError};

/// The partition key: the entry's month, `yyyy-mm` in UTC.
const MONTH: &str = "month";
/// The sort key: `{at_ms:013}#{writer:08x}{number:016x}`; newest last, and within one
/// millisecond one replica's entries in the order it numbered them. The number is given once
/// per entry, before its first write, so writing an entry again overwrites it, never doubles it.
const SEQ: &str = "seq";
const ID: &str = "id";
const AT: &str = "at_ms";
const USER: &str = "user";
const ACTION: &str = "action";
const TARGET: &str = "target";
const OUTCOME: &str = "outcome";
const CLIENT: &str = "client";

/// Items one `BatchWriteItem` takes at most (DynamoDB's limit).
const WRITE_BATCH: usize = 25;
/// Entries appended one at a time here, rather than numbered by a batching writer, take their
/// numbers from the top half of the range, so the two never share a key.
const DIRECT_NUMBERS: u64 = 1 << 63;
/// Tries for items DynamoDB leaves unprocessed (throttled) before the batch counts as failed.
const UNPROCESSED_TRIES: u32 = 6;
/// Query pages one read takes at most, whatever the table keeps offering.
const MAX_QUERY_PAGES: usize = 1_000;
/// Without `from`, a read looks back this far.
const DEFAULT_LOOKBACK_MS: i64 = 400 * 24 * 3_600_000;
/// Without `to`, a read starts this far past the server's clock, so an entry written by a
/// replica whose clock runs ahead is still found.
const CLOCK_MARGIN_MS: i64 = 24 * 3_600_000;

static LAYOUT: Layout = Layout {
    keys: "partition key `month` (string) and sort key `seq` (string)",
    permissions: "dynamodb:BatchWriteItem, dynamodb:PutItem and dynamodb:Query",
    item: "an audit entry",
};

/// [`AuditLog`] over a DynamoDB table shared by every replica.
pub struct DynamoAuditLog {
    table: Table,
    /// The server's clock: a read without `to` ends at its "now" (plus a margin).
    clock: Arc<dyn Clock>,
    /// Tells this writer's entries apart from other replicas' written in the same millisecond.
    writer: u32,
    /// Numbers entries appended one at a time.
    appended: AtomicU64,
}

impl std::fmt::Debug for DynamoAuditLog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DynamoAuditLog")
            .field("table", &self.table)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl DynamoAuditLog {
    /// An audit trail on `config.audit_table`, with credentials from `provider`, or from the
    /// default AWS chain (the task role on ECS) when it is `None`; reads end at `clock`'s now.
    pub async fn new(
        config: &DynamoConfig,
        timeout: Duration,
        provider: Option<SharedCredentialsProvider>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let Some(name) = &config.audit_table else {
            return Err(StoreError::Unavailable(
                "no audit table is configured; set `dynamodb.audit_table` (VITALS_AUDIT_TABLE)".into(),
            ));
        };
        let mut writer = [0_u8; 4];
        getrandom::fill(&mut writer).map_err(|error| {
            StoreError::Unavailable(format!(
                "the operating system's random number generator failed ({error}); the audit trail cannot start"
            ))
        })?;
        Ok(Self {
            table: Table::connect(name, config, timeout, provider, &LAYOUT).await?,
            clock,
            writer: u32::from_be_bytes(writer),
            appended: AtomicU64::new(0),
        })
    }

    /// Creates the table (on-demand capacity) unless it exists, and waits until it is active.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        self.table
            .create_unless_present(&[(MONTH, KeyType::Hash), (SEQ, KeyType::Range)])
            .await
            .map(drop)
    }

    /// The item for an entry, already scrubbed, keyed by its number.
    fn item(&self, entry_number: u64, event: &NewAuditEvent) -> HashMap<String, AttributeValue> {
        let id = (i64::from(self.writer & 0x7fff_ffff) << 32) | (entry_number & 0xffff_ffff) as i64;
        let text = |value: &str| AttributeValue::S(value.to_owned());
        HashMap::from([
            (MONTH.to_owned(), text(&month_of(event.at_ms))),
            (
                SEQ.to_owned(),
                text(&format!(
                    "{}#{:08x}{entry_number:016x}",
                    time_key(event.at_ms),
                    self.writer
                )),
            ),
            (ID.to_owned(), number(id)),
            (AT.to_owned(), number(event.at_ms)),
            (USER.to_owned(), text(&event.user)),
            (ACTION.to_owned(), text(event.action.as_str())),
            (TARGET.to_owned(), text(&event.target)),
            (OUTCOME.to_owned(), text(&event.outcome)),
            (CLIENT.to_owned(), text(&event.client)),
        ])
    }

    /// Writes up to [`WRITE_BATCH`] items, writing again what DynamoDB leaves unprocessed.
    async fn write(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for attempt in 0..UNPROCESSED_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let answer = self
                .table
                .client
                .batch_write_item()
                .request_items(&self.table.name, requests)
                .send()
                .await
                .map_err(|error| self.table.error("append to", error))?;
            requests = answer
                .unprocessed_items
                .and_then(|mut left| left.remove(&self.table.name))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "DynamoDB kept {} audit entries unwritten after {UNPROCESSED_TRIES} tries on the table `{}`; \
             it is throttling: raise its capacity or use on-demand",
            requests.len(),
            self.table.name
        )))
    }

    fn event_from_item(&self, item: &HashMap<String, AttributeValue>) -> Result<AuditEvent, StoreError> {
        let text = |name: &str| self.table.text(item, name);
        let integer = |name: &str| self.table.integer(item, name);
        Ok(AuditEvent {
            id: integer(ID)?,
            at: integer(AT)?,
            user: text(USER)?,
            action: AuditAction::from_name(&text(ACTION)?).ok_or_else(|| self.table.corrupt(ACTION))?,
            target: text(TARGET)?,
            outcome: text(OUTCOME)?,
            client: text(CLIENT)?,
        })
    }
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        let number = DIRECT_NUMBERS | self.appended.fetch_add(1, Ordering::Relaxed);
        self.append_numbered(&[NumberedAuditEvent { number, event }])
            .await
    }

    async fn append_numbered(&self, entries: &[NumberedAuditEvent]) -> Result<(), StoreError> {
        for chunk in entries.chunks(WRITE_BATCH) {
            let requests = chunk
                .iter()
                .map(|entry| {
                    let put = PutRequest::builder()
                        .set_item(Some(self.item(entry.number, &entry.event.scrubbed())))
                        .build()
                        .map_err(|error| self.table.invalid_request(error))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.write(requests).await?;
        }
        Ok(())
    }

    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let limit = filter.capped_limit();
        let to_ms = filter
            .to_ms
            .unwrap_or_else(|| self.clock.now_ms().saturating_add(CLOCK_MARGIN_MS));
        let from_ms = filter
            .from_ms
            .unwrap_or_else(|| to_ms.saturating_sub(DEFAULT_LOOKBACK_MS))
            .max(0);
        let mut found = Vec::new();
        let mut pages = 0;
        for month in months_newest_first(from_ms, to_ms) {
            let mut start_key = None;
            loop {
                let mut query = self
                    .table
                    .client
                    .query()
                    .table_name(&self.table.name)
                    .key_condition_expression("#month = :month AND #seq BETWEEN :from AND :to")
                    .expression_attribute_names("#month", MONTH)
                    .expression_attribute_names("#seq", SEQ)
                    .expression_attribute_values(":month", AttributeValue::S(month.clone()))
                    .expression_attribute_values(":from", AttributeValue::S(time_key(from_ms)))
                    // `~` sorts after the hex digits that follow the time.
                    .expression_attribute_values(":to", AttributeValue::S(format!("{}~", time_key(to_ms))))
                    .scan_index_forward(false)
                    .set_exclusive_start_key(start_key.take());
                let mut conditions = Vec::new();
                for (name, attribute, value) in [
                    ("#user", USER, filter.user.as_deref()),
                    ("#action", ACTION, filter.action.map(AuditAction::as_str)),
                ] {
                    if let Some(value) = value {
                        let placeholder = format!(":{}", &name[1..]);
                        conditions.push(format!("{name} = {placeholder}"));
                        query = query
                            .expression_attribute_names(name, attribute)
                            .expression_attribute_values(placeholder, AttributeValue::S(value.to_owned()));
                    }
                }
                if !conditions.is_empty() {
                    query = query.filter_expression(conditions.join(" AND "));
                }
                let page = query
                    .send()
                    .await
                    .map_err(|error| self.table.error("read the audit trail from", error))?;
                for item in page.items() {
                    found.push(self.event_from_item(item)?);
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
                pages += 1;
                start_key = page.last_evaluated_key().cloned();
                if start_key.is_none() || pages >= MAX_QUERY_PAGES {
                    break;
                }
            }
            if pages >= MAX_QUERY_PAGES {
                break;
            }
        }
        Ok(found)
    }
}

/// Milliseconds as a fixed-width decimal, so text order is time order.
fn time_key(at_ms: i64) -> String {
    format!("{:013}", at_ms.clamp(0, 9_999_999_999_999))
}

/// The year and month of `at_ms` in UTC.
fn year_month(at_ms: i64) -> (i32, u8) {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms.max(0)) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (at.year(), u8::from(at.month()))
}

/// The partition of an entry: `yyyy-mm` in UTC.
fn month_of(at_ms: i64) -> String {
    let (year, month) = year_month(at_ms);
    format!("{year:04}-{month:02}")
}

/// Every month from the one holding `to_ms` back to the one holding `from_ms`.
fn months_newest_first(from_ms: i64, to_ms: i64) -> Vec<String> {
    let first = year_month(from_ms);
    let (mut year, mut month) = year_month(to_ms);
    let mut months = Vec::new();
    while (year, month) >= first {
        months.push(format!("{year:04}-{month:02}"));
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25T10:30:00Z.
    const NOVEMBER_MS: i64 = 1_795_602_600_000;

    #[test]
    fn an_entry_is_filed_under_its_utc_month() {
        assert_eq!(month_of(NOVEMBER_MS), "2026-11");
        assert_eq!(month_of(0), "1970-01");
    }

    #[test]
    fn a_read_walks_the_months_back_across_a_new_year() {
        let january_2027 = NOVEMBER_MS + 60 * 24 * 3_600_000;
        assert_eq!(
            months_newest_first(NOVEMBER_MS, january_2027),
            ["2027-01", "2026-12", "2026-11"]
        );
        assert_eq!(months_newest_first(NOVEMBER_MS, NOVEMBER_MS), ["2026-11"]);
        assert!(months_newest_first(january_2027, NOVEMBER_MS).is_empty());
    }

    #[test]
    fn time_keys_sort_as_the_times_do() {
        assert!(time_key(999) < time_key(1_000));
        assert!(time_key(NOVEMBER_MS) < time_key(NOVEMBER_MS + 1));
        assert_eq!(time_key(NOVEMBER_MS).len(), 13);
    }
}
