//! The status page's history and lease in the SQLite file.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Failure, SqliteStore};
use crate::store::StoreError;
use crate::store::status::{MAX_CHANGES_READ, StateChange, StatusStore, state_from_name, state_name};

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
}
