//! The status page's history and lease in the SQLite file.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use vitals_api::Notice;

use super::{Failure, SqliteStore, inserted_once, revoke_once};
use crate::store::StoreError;
use crate::store::status::{
    EmbedTokenRecord, MAX_CHANGES_READ, MAX_LISTED_NOTICES, MAX_LISTED_TOKENS, StateChange, StatusStore,
    newest_notices_first, notice_from_json, notice_to_json, origins_from_json, origins_to_json,
    state_from_name, state_name,
};

const TOKEN_COLUMNS: &str = "id, page, origins_json, created_by, created_at_ms, expires_at_ms, revoked_at_ms";

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<(EmbedTokenRecord, String)> {
    Ok((
        EmbedTokenRecord {
            id: row.get(0)?,
            page: row.get(1)?,
            origins: Vec::new(),
            created_by: row.get(3)?,
            created_at_ms: row.get(4)?,
            expires_at_ms: row.get(5)?,
            revoked_at_ms: row.get(6)?,
        },
        row.get(2)?,
    ))
}

/// The record with its origins read from the JSON column.
fn with_origins((mut token, origins_json): (EmbedTokenRecord, String)) -> Result<EmbedTokenRecord, Failure> {
    token.origins = origins_from_json(&origins_json, &token.id).map_err(Failure::Store)?;
    Ok(token)
}

#[async_trait]
impl StatusStore for SqliteStore {
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run("take the status lease", move |connection| {
            let taken = connection.execute(
                "INSERT INTO status_leases (name, holder, until_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
                 WHERE status_leases.until_ms <= ?4 OR status_leases.holder = excluded.holder",
                params![name, holder, until_ms, now_ms],
            )?;
            Ok(taken == 1)
        })
        .await
    }

    async fn record_change(&self, change: &StateChange) -> Result<(), StoreError> {
        let change = change.clone();
        self.run("record a status change", move |connection| {
            connection.execute(
                "INSERT INTO status_changes (component, at_ms, state, says) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (component, at_ms) DO NOTHING",
                params![
                    change.component,
                    change.at_ms,
                    state_name(change.state),
                    change.says
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn changes(
        &self,
        component: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StateChange>, StoreError> {
        let component = component.to_owned();
        self.run("read the status history", move |connection| {
            let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, String, String)> {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            };
            let before = connection
                .query_row(
                    "SELECT at_ms, state, says FROM status_changes
                     WHERE component = ?1 AND at_ms < ?2 ORDER BY at_ms DESC LIMIT 1",
                    params![component, from_ms],
                    read,
                )
                .optional()?;
            let mut statement = connection.prepare_cached(
                "SELECT at_ms, state, says FROM status_changes
                 WHERE component = ?1 AND at_ms >= ?2 AND at_ms <= ?3 ORDER BY at_ms LIMIT ?4",
            )?;
            let within = statement
                .query_map(
                    params![component, from_ms, to_ms, (MAX_CHANGES_READ - 1) as i64],
                    read,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            before
                .into_iter()
                .chain(within)
                .map(|(at_ms, state, says)| {
                    let what = format!("the status change of {component} at {at_ms}");
                    Ok(StateChange {
                        component: component.clone(),
                        at_ms,
                        state: state_from_name(&state, &what).map_err(Failure::Store)?,
                        says,
                    })
                })
                .collect()
        })
        .await
    }

    async fn insert_token(&self, token: &EmbedTokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.run("store an embed token", move |connection| {
            let inserted = connection.execute(
                &format!("INSERT INTO embed_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    token.id,
                    token.page,
                    origins_to_json(&token.origins),
                    token.created_by,
                    token.created_at_ms,
                    token.expires_at_ms,
                    token.revoked_at_ms
                ],
            );
            inserted_once(inserted)
        })
        .await
    }

    async fn token(&self, id: &str) -> Result<Option<EmbedTokenRecord>, StoreError> {
        let id = id.to_owned();
        self.run("read an embed token", move |connection| {
            connection
                .query_row(
                    &format!("SELECT {TOKEN_COLUMNS} FROM embed_tokens WHERE id = ?1"),
                    [id],
                    token_from_row,
                )
                .optional()?
                .map(with_origins)
                .transpose()
        })
        .await
    }

    async fn tokens(&self) -> Result<Vec<EmbedTokenRecord>, StoreError> {
        self.run("list embed tokens", move |connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM embed_tokens ORDER BY created_at_ms DESC, id LIMIT ?1"
            ))?;
            let rows = statement
                .query_map([MAX_LISTED_TOKENS as i64], token_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(with_origins).collect()
        })
        .await
    }

    async fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run("revoke an embed token", move |connection| {
            revoke_once(connection, "embed_tokens", &id, at_ms)
        })
        .await
    }

    async fn insert_notice(&self, notice: &Notice) -> Result<(), StoreError> {
        let notice = notice.clone();
        self.run("store a notice", move |connection| {
            let inserted = connection.execute(
                "INSERT INTO notices (id, starts_at_ms, finished_at_ms, updates, notice_json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    notice.id,
                    notice.starts_at,
                    notice.finished_at(),
                    notice.updates.len() as i64,
                    notice_to_json(&notice)
                ],
            );
            inserted_once(inserted)
        })
        .await
    }

    async fn notice(&self, id: &str) -> Result<Option<Notice>, StoreError> {
        let id = id.to_owned();
        self.run("read a notice", move |connection| {
            let json: Option<String> = connection
                .query_row("SELECT notice_json FROM notices WHERE id = ?1", [&id], |row| {
                    row.get(0)
                })
                .optional()?;
            json.map(|json| notice_from_json(&json, &id).map_err(Failure::Store))
                .transpose()
        })
        .await
    }

    async fn replace_notice(&self, notice: &Notice, previous_updates: usize) -> Result<(), StoreError> {
        let notice = notice.clone();
        self.run("change a notice", move |connection| {
            let replaced = connection.execute(
                "UPDATE notices SET starts_at_ms = ?2, finished_at_ms = ?3, updates = ?4, notice_json = ?5
                 WHERE id = ?1 AND updates = ?6",
                params![
                    notice.id,
                    notice.starts_at,
                    notice.finished_at(),
                    notice.updates.len() as i64,
                    notice_to_json(&notice),
                    previous_updates as i64
                ],
            )?;
            if replaced == 1 {
                Ok(())
            } else {
                Err(Failure::Store(StoreError::Conflict))
            }
        })
        .await
    }

    async fn notices(&self, since_ms: i64) -> Result<Vec<Notice>, StoreError> {
        self.run("list notices", move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT id, notice_json FROM notices
                 WHERE finished_at_ms IS NULL OR finished_at_ms >= ?1
                 ORDER BY starts_at_ms DESC, id LIMIT ?2",
            )?;
            let rows = statement
                .query_map(params![since_ms, MAX_LISTED_NOTICES as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let notices = rows
                .into_iter()
                .map(|(id, json)| notice_from_json(&json, &id).map_err(Failure::Store))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(newest_notices_first(notices))
        })
        .await
    }
}
