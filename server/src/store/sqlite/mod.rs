//! The embedded store: sessions and the audit trail in one SQLite file under `VITALS_DATA_DIR`, so both survive a restart.

mod links;
mod schema;
mod status;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params, params_from_iter};
use vitals_api::{AuditAction, AuditEvent, Role};

use super::{
    AuditFilter, AuditLog, NewAuditEvent, NumberedAuditEvent, SessionId, SessionLookup, SessionPolicy,
    SessionRecord, SessionStore, StoreError,
};

/// The file the store keeps in the data folder.
pub const DATABASE_FILE: &str = "vitals.sqlite3";
/// How long a statement waits for another process holding the file before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SESSION_COLUMNS: &str = "user, roles, created_at_ms, last_seen_ms, identity_json, version";

/// Sessions and the audit trail in SQLite (WAL mode, file readable by the server's user
/// only). One connection behind a mutex, used from blocking threads: the server's own
/// traffic is far below what one connection serves.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    connection: Mutex<Connection>,
}

/// What went wrong inside a store operation, before the path is known to describe it.
enum Failure {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sql(error)
    }
}

/// An insert's outcome, a row whose key is taken being a `Conflict`.
fn inserted_once(inserted: rusqlite::Result<usize>) -> Result<(), Failure> {
    match inserted {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(Failure::Store(StoreError::Conflict))
        }
        Err(error) => Err(error.into()),
    }
}

/// Marks the row `id` of `table` revoked at `at_ms` unless it already is; false when there is
/// no such row. `table` is one of the store's own names, never a caller's text.
fn revoke_once(connection: &Connection, table: &'static str, id: &str, at_ms: i64) -> Result<bool, Failure> {
    let revoked = connection.execute(
        &format!("UPDATE {table} SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL"),
        rusqlite::params![id, at_ms],
    )?;
    if revoked > 0 {
        return Ok(true);
    }
    // Already revoked, or no such row: which one, the table says.
    let exists: Option<i64> = rusqlite::OptionalExtension::optional(connection.query_row(
        &format!("SELECT 1 FROM {table} WHERE id = ?1"),
        [id],
        |row| row.get(0),
    ))?;
    Ok(exists.is_some())
}

impl SqliteStore {
    /// Opens (creating if needed) `vitals.sqlite3` in `data_dir`, creating the folder too,
    /// and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let describe = |failure: Failure| failure.describe("open the store", &path);
        create_private_dir(data_dir)?;
        create_private_file(&path)?;
        let mut connection = Connection::open(&path).map_err(|error| describe(error.into()))?;
        configure(&mut connection, &path).map_err(describe)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                connection: Mutex::new(connection),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` on the connection in a blocking thread; `what` says what it does, for errors.
    async fn run<T, F>(&self, what: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere cannot leave SQLite half-written: an unfinished transaction
            // rolls back when dropped, so a poisoned lock still guards a usable connection.
            let mut connection = inner.connection.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut connection).map_err(|failure| failure.describe(what, &inner.path))
        })
        .await
        .map_err(|error| {
            StoreError::Unavailable(format!(
                "the task that would {what} in {} stopped ({error}); try again",
                self.inner.path.display()
            ))
        })?
    }

    /// Inserts scrubbed entries in one transaction, committed before this returns.
    async fn insert_audit(&self, events: Vec<NewAuditEvent>) -> Result<(), StoreError> {
        self.run("append to the audit trail", move |connection| {
            let transaction = connection.transaction()?;
            {
                let mut insert = transaction.prepare_cached(
                    "INSERT INTO audit (at_ms, user, action, target, outcome, client) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for event in events {
                    insert.execute(params![
                        event.at_ms,
                        event.user,
                        event.action.as_str(),
                        event.target,
                        event.outcome,
                        event.client
                    ])?;
                }
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }
}

/// WAL so readers never wait on the writer, a busy timeout for a second process, then the schema.
fn configure(connection: &mut Connection, path: &Path) -> Result<(), Failure> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let journal_mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(Failure::Store(StoreError::Unavailable(format!(
            "{} cannot use write-ahead logging (journal mode stays {journal_mode}); \
             put VITALS_DATA_DIR on a local disk rather than a network share",
            path.display()
        ))));
    }
    connection.execute_batch("PRAGMA synchronous = NORMAL")?;
    schema::migrate(connection, path)
}

impl Failure {
    fn describe(self, what: &str, path: &Path) -> StoreError {
        let error = match self {
            Self::Store(error) => return error,
            Self::Sql(error) => error,
        };
        let path = path.display();
        match error.sqlite_error_code() {
            _ if is_unreadable_value(&error) => StoreError::Corrupt(format!(
                "{path} holds a value this Vitals cannot read ({error}) while trying to {what}; \
                 restore the file from a backup or move it away to start afresh"
            )),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable(format!(
                "cannot {what}: {path} is held by another process; make sure only one Vitals uses VITALS_DATA_DIR"
            )),
            Some(ErrorCode::DiskFull) => StoreError::Unavailable(format!(
                "cannot {what}: the disk holding {path} is full; free space there"
            )),
            Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                StoreError::Unavailable(format!(
                    "cannot {what}: {path} cannot be written ({error}); make VITALS_DATA_DIR writable by the server's user"
                ))
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(format!(
                "cannot {what}: {path} is damaged or not a Vitals database ({error}); \
                 restore it from a backup or move it away to start afresh"
            )),
            _ => StoreError::Unavailable(format!(
                "cannot {what} in {path} ({error}); check the disk and the file"
            )),
        }
    }
}

fn is_unreadable_value(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
    )
}

fn unavailable(what: &str, path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "cannot {what} {} ({error}); set VITALS_DATA_DIR to a folder the server's user may write",
        path.display()
    ))
}

/// Creates the data folder, readable by the server's user only; an existing folder is left as it is.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|error| unavailable("create the data folder", dir, error))
}

/// Creates the database file if missing, and makes it readable and writable by the
/// server's user only (SQLite gives its WAL files the same mode): it holds live tokens.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|error| unavailable("create the store", path, error))?;
    #[cfg(unix)]
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|error| unavailable("restrict the permissions of", path, error))?;
    Ok(())
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    let roles: String = row.get(1)?;
    let roles: Vec<Role> = serde_json::from_str(&roles)
        .map_err(|error| rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(error)))?;
    let version: i64 = row.get(5)?;
    Ok(SessionRecord {
        user: row.get(0)?,
        roles,
        created_at_ms: row.get(2)?,
        last_seen_ms: row.get(3)?,
        identity_json: row.get(4)?,
        version: u64::try_from(version).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(5, version))?,
    })
}

/// The action stored in column `index`; a name this Vitals does not know makes the row unreadable.
fn action_from_row(row: &Row, index: usize) -> rusqlite::Result<AuditAction> {
    let name: String = row.get(index)?;
    AuditAction::from_name(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            format!("`{name}` is not an audit action").into(),
        )
    })
}

fn roles_json(roles: &[Role]) -> Result<String, Failure> {
    serde_json::to_string(roles).map_err(|error| {
        Failure::Store(StoreError::Corrupt(format!(
            "the roles cannot be stored ({error})"
        )))
    })
}

fn version_value(version: u64) -> Result<i64, Failure> {
    i64::try_from(version).map_err(|_| Failure::Store(StoreError::Conflict))
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let key = id.store_key();
        let record = record.clone();
        self.run("store a new session", move |connection| {
            let inserted = connection.execute(
                &format!(
                    "INSERT INTO sessions (id_hash, {SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    key,
                    record.user,
                    roles_json(&record.roles)?,
                    record.created_at_ms,
                    record.last_seen_ms,
                    record.identity_json,
                    version_value(record.version)?,
                ],
            );
            match inserted {
                Err(error) if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    Err(Failure::Store(StoreError::Conflict))
                }
                other => other.map(drop).map_err(Failure::from),
            }
        })
        .await
    }

    async fn load(
        &self,
        id: &SessionId,
        now_ms: i64,
        policy: &SessionPolicy,
    ) -> Result<SessionLookup, StoreError> {
        let key = id.store_key();
        let policy = policy.clone();
        self.run("load a session", move |connection| {
            let record = connection
                .query_row(
                    &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = ?1"),
                    [&key],
                    session_from_row,
                )
                .optional()?;
            let Some(record) = record else {
                return Ok(SessionLookup::Missing);
            };
            if !policy.is_expired(&record, now_ms) {
                return Ok(SessionLookup::Active(record));
            }
            let deleted = connection.execute(
                "DELETE FROM sessions WHERE id_hash = ?1 AND version = ?2",
                params![key, version_value(record.version)?],
            )?;
            Ok(SessionLookup::expired_if_deleted(record, deleted == 1))
        })
        .await
    }

    async fn update(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let key = id.store_key();
        let record = record.clone();
        self.run("update a session", move |connection| {
            let updated = connection.execute(
                "UPDATE sessions SET roles = ?1, last_seen_ms = ?2, identity_json = ?3, version = version + 1
                 WHERE id_hash = ?4 AND version = ?5",
                params![
                    roles_json(&record.roles)?,
                    record.last_seen_ms,
                    record.identity_json,
                    key,
                    version_value(record.version)?,
                ],
            )?;
            if updated == 1 {
                Ok(())
            } else {
                Err(Failure::Store(StoreError::Conflict))
            }
        })
        .await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let key = id.store_key();
        self.run("end a session", move |connection| {
            connection.execute("DELETE FROM sessions WHERE id_hash = ?1", [key])?;
            Ok(())
        })
        .await
    }

    async fn sweep(&self, now_ms: i64, policy: &SessionPolicy) -> Result<Vec<SessionRecord>, StoreError> {
        let idle_cutoff = policy.idle_cutoff_ms(now_ms);
        let absolute_cutoff = policy.absolute_cutoff_ms(now_ms);
        self.run("sweep expired sessions", move |connection| {
            let mut statement = connection.prepare(&format!(
                "DELETE FROM sessions WHERE last_seen_ms <= ?1 OR created_at_ms <= ?2 RETURNING {SESSION_COLUMNS}"
            ))?;
            let swept = statement
                .query_map([idle_cutoff, absolute_cutoff], session_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(swept)
        })
        .await
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        self.insert_audit(vec![event.scrubbed()]).await
    }

    /// One transaction: a batch that fails leaves nothing behind, so writing it again stores
    /// each entry once, and the numbers are not needed.
    async fn append_numbered(&self, entries: &[NumberedAuditEvent]) -> Result<(), StoreError> {
        self.insert_audit(entries.iter().map(|entry| entry.event.scrubbed()).collect())
            .await
    }

    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql =
            String::from("SELECT id, at_ms, user, action, target, outcome, client FROM audit WHERE 1 = 1");
        let mut values: Vec<Value> = Vec::new();
        let conditions = [
            ("user = ?", filter.user.clone().map(Value::from)),
            (
                "action = ?",
                filter
                    .action
                    .map(|action| Value::from(action.as_str().to_owned())),
            ),
            ("at_ms >= ?", filter.from_ms.map(Value::from)),
            ("at_ms <= ?", filter.to_ms.map(Value::from)),
        ];
        for (condition, value) in conditions {
            if let Some(value) = value {
                sql.push_str(" AND ");
                sql.push_str(condition);
                values.push(value);
            }
        }
        sql.push_str(" ORDER BY at_ms DESC, id DESC LIMIT ?");
        values.push(Value::from(filter.capped_limit() as i64));
        self.run("read the audit trail", move |connection| {
            let mut statement = connection.prepare(&sql)?;
            let events = statement
                .query_map(params_from_iter(values), |row| {
                    Ok(AuditEvent {
                        id: row.get(0)?,
                        at: row.get(1)?,
                        user: row.get(2)?,
                        action: action_from_row(row, 3)?,
                        target: row.get(4)?,
                        outcome: row.get(5)?,
                        client: row.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(events)
        })
        .await
    }
}
