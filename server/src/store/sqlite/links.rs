//! Share links in the SQLite file.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::{Failure, SqliteStore, inserted_once, revoke_once};
use crate::store::StoreError;
use crate::store::links::{LinkRecord, LinkStore, LinkView, MAX_LISTED_LINKS, view_from_json, view_to_json};

const LINK_COLUMNS: &str =
    "id, dashboard, view_json, created_by, created_at_ms, expires_at_ms, revoked_at_ms";

fn link_from_row(row: &Row<'_>) -> rusqlite::Result<(LinkRecord, String)> {
    let id: String = row.get(0)?;
    Ok((
        LinkRecord {
            id,
            dashboard: row.get(1)?,
            view: LinkView::default(),
            created_by: row.get(3)?,
            created_at_ms: row.get(4)?,
            expires_at_ms: row.get(5)?,
            revoked_at_ms: row.get(6)?,
        },
        row.get(2)?,
    ))
}

/// The record with its view read from the JSON column.
fn with_view((mut link, view_json): (LinkRecord, String)) -> Result<LinkRecord, Failure> {
    link.view = view_from_json(&view_json, &link.id).map_err(Failure::Store)?;
    Ok(link)
}

#[async_trait]
impl LinkStore for SqliteStore {
    async fn insert_link(&self, link: &LinkRecord) -> Result<(), StoreError> {
        let link = link.clone();
        self.run("store a share link", move |connection| {
            let inserted = connection.execute(
                &format!("INSERT INTO share_links ({LINK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    link.id,
                    link.dashboard,
                    view_to_json(&link.view),
                    link.created_by,
                    link.created_at_ms,
                    link.expires_at_ms,
                    link.revoked_at_ms
                ],
            );
            inserted_once(inserted)
        })
        .await
    }

    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let id = id.to_owned();
        self.run("read a share link", move |connection| {
            connection
                .query_row(
                    &format!("SELECT {LINK_COLUMNS} FROM share_links WHERE id = ?1"),
                    [id],
                    link_from_row,
                )
                .optional()?
                .map(with_view)
                .transpose()
        })
        .await
    }

    async fn links(&self, created_by: Option<&str>) -> Result<Vec<LinkRecord>, StoreError> {
        let created_by = created_by.map(str::to_owned);
        self.run("list share links", move |connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {LINK_COLUMNS} FROM share_links WHERE ?1 IS NULL OR created_by = ?1 \
                 ORDER BY created_at_ms DESC, id LIMIT ?2"
            ))?;
            let rows = statement
                .query_map(params![created_by, MAX_LISTED_LINKS as i64], link_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(with_view).collect()
        })
        .await
    }

    async fn revoke_link(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run("revoke a share link", move |connection| {
            revoke_once(connection, "share_links", &id, at_ms)
        })
        .await
    }
}
