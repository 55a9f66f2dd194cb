//! The SQLite schema and its migrations, applied in order and recorded in `schema_version`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::Failure;
use crate::store::StoreError;

/// Migration `n + 1` is `MIGRATIONS[n]`; never edit one that has shipped, append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: sessions keyed by the hash of their id, and the append-only audit trail.
    "CREATE TABLE sessions (
         id_hash TEXT PRIMARY KEY NOT NULL,
         user TEXT NOT NULL,
         roles TEXT NOT NULL,
         created_at_ms INTEGER NOT NULL,
         last_seen_ms INTEGER NOT NULL,
         identity_json TEXT NOT NULL,
         version INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX sessions_by_last_seen ON sessions (last_seen_ms);
     CREATE INDEX sessions_by_created_at ON sessions (created_at_ms);
     CREATE TABLE audit (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at_ms INTEGER NOT NULL,
         user TEXT NOT NULL,
         action TEXT NOT NULL,
         target TEXT NOT NULL,
         outcome TEXT NOT NULL,
         client TEXT NOT NULL
     );
     CREATE INDEX audit_by_time ON audit (at_ms);
     CREATE INDEX audit_by_user ON audit (user, at_ms);
     CREATE INDEX audit_by_action ON audit (action, at_ms);
     CREATE TRIGGER audit_is_append_only_on_update BEFORE UPDATE ON audit
     BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
     CREATE TRIGGER audit_is_append_only_on_delete BEFORE DELETE ON audit
     BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    // 2: share links, listed by their creator.
    "CREATE TABLE share_links (
         id TEXT PRIMARY KEY NOT NULL,
         dashboard TEXT NOT NULL,
         view_json TEXT NOT NULL,
         created_by TEXT NOT NULL,
         created_at_ms INTEGER NOT NULL,
         expires_at_ms INTEGER,
         revoked_at_ms INTEGER
     ) WITHOUT ROWID;
     CREATE INDEX share_links_by_creator ON share_links (created_by, created_at_ms);
     CREATE INDEX share_links_by_time ON share_links (created_at_ms);",
    // 3: the status page's history (each component's changes of state), its evaluation lease
    // and the embed tokens that let other pages frame it.
    "CREATE TABLE status_changes (
         component TEXT NOT NULL,
         at_ms INTEGER NOT NULL,
         state TEXT NOT NULL,
         says TEXT NOT NULL,
         PRIMARY KEY (component, at_ms)
     ) WITHOUT ROWID;
     CREATE TABLE status_leases (
         name TEXT PRIMARY KEY NOT NULL,
         holder TEXT NOT NULL,
         until_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE embed_tokens (
         id TEXT PRIMARY KEY NOT NULL,
         page TEXT NOT NULL,
         origins_json TEXT NOT NULL,
         created_by TEXT NOT NULL,
         created_at_ms INTEGER NOT NULL,
         expires_at_ms INTEGER NOT NULL,
         revoked_at_ms INTEGER
     ) WITHOUT ROWID;
     CREATE INDEX embed_tokens_by_time ON embed_tokens (created_at_ms);",
    // 4: the notices operations posts: incidents with their timeline, maintenance windows.
    "CREATE TABLE notices (
         id TEXT PRIMARY KEY NOT NULL,
         starts_at_ms INTEGER NOT NULL,
         finished_at_ms INTEGER,
         updates INTEGER NOT NULL,
         notice_json TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX notices_by_finish ON notices (finished_at_ms);",
];

/// Brings the database to the newest schema; refuses one written by a newer Vitals.
pub(super) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), Failure> {
    // IMMEDIATE: a second process opening the same file waits instead of migrating twice.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i64 = transaction
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0);
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(Failure::Store(StoreError::Corrupt(format!(
            "{} has schema version {current} but this Vitals knows only up to {known}; \
             run the newer Vitals that wrote it, or point VITALS_DATA_DIR at another folder",
            path.display()
        ))));
    }
    for (version, migration) in (1..).zip(MIGRATIONS).skip(current as usize) {
        transaction.execute_batch(migration)?;
        transaction.execute("INSERT INTO schema_version (version) VALUES (?1)", [version])?;
    }
    transaction.commit()?;
    Ok(())
}
