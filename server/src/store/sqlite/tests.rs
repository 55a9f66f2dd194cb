//! The SQLite store against real files in a temporary folder, with the clock given as numbers.

use std::collections::HashSet;

use tempfile::TempDir;
use vitals_api::{AuditAction, Role};

use super::*;
use crate::store::LinkStore;

const LOGIN_MS: i64 = 1_700_000_000_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

fn open() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("data")).unwrap();
    (dir, store)
}

fn record_at(user: &str, now_ms: i64) -> SessionRecord {
    SessionRecord::new(user, vec![Role::Engineer], r#"{"refresh_token":"r"}"#, now_ms)
}

async fn active(store: &SqliteStore, id: &SessionId, now_ms: i64) -> SessionRecord {
    match store.load(id, now_ms, &SessionPolicy::default()).await.unwrap() {
        SessionLookup::Active(record) => record,
        other => panic!("expected an active session at {now_ms}, got {other:?}"),
    }
}

/// A second connection to the same file, as an attacker or an operator with the file would have.
fn raw_connection(store: &SqliteStore) -> Connection {
    Connection::open(store.path()).unwrap()
}

#[tokio::test]
async fn store_create_then_load_is_active() {
    let (_dir, store) = open();
    let record = record_at("ana", LOGIN_MS);
    let id = store.create(record.clone()).await.unwrap();
    assert_eq!(active(&store, &id, LOGIN_MS + MINUTE_MS).await, record);
}

#[tokio::test]
async fn store_idle_expiry_comes_fifteen_minutes_after_last_seen() {
    let (_dir, store) = open();
    let policy = SessionPolicy::default();
    let mut record = record_at("ana", LOGIN_MS);
    record.last_seen_ms = LOGIN_MS + 5 * MINUTE_MS;
    let id = store.create(record.clone()).await.unwrap();
    let expiry = LOGIN_MS + 20 * MINUTE_MS;
    assert_eq!(active(&store, &id, expiry - 1).await, record);
    assert_eq!(
        store.load(&id, expiry, &policy).await.unwrap(),
        SessionLookup::Expired(record)
    );
    assert_eq!(
        store.load(&id, expiry, &policy).await.unwrap(),
        SessionLookup::Missing,
        "an expired session is deleted and reported once"
    );
}

#[tokio::test]
async fn store_absolute_expiry_ends_a_session_used_throughout_after_twelve_hours() {
    let (_dir, store) = open();
    let policy = SessionPolicy::default();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    let limit = LOGIN_MS + 12 * HOUR_MS;
    let mut now_ms = LOGIN_MS;
    while now_ms + 10 * MINUTE_MS < limit {
        now_ms += 10 * MINUTE_MS;
        let mut record = active(&store, &id, now_ms).await;
        assert!(record.needs_touch(now_ms));
        record.last_seen_ms = now_ms;
        store.update(&id, &record).await.unwrap();
    }
    let record = active(&store, &id, limit - 1).await;
    assert_eq!(
        store.load(&id, limit, &policy).await.unwrap(),
        SessionLookup::Expired(record)
    );
}

#[tokio::test]
async fn store_delete_leaves_the_session_missing() {
    let (_dir, store) = open();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    store.delete(&id).await.unwrap();
    assert_eq!(
        store
            .load(&id, LOGIN_MS, &SessionPolicy::default())
            .await
            .unwrap(),
        SessionLookup::Missing
    );
    store.delete(&id).await.unwrap();
}

#[tokio::test]
async fn store_every_create_gets_a_new_256_bit_base64url_id() {
    let (_dir, store) = open();
    let mut ids = HashSet::new();
    for _ in 0..20 {
        let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
        let value = id.cookie_value().to_owned();
        assert_eq!(value.len(), 43, "{id:?}");
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(SessionId::parse(&value), Some(id));
        assert!(ids.insert(value), "an id came twice");
    }
}

#[tokio::test]
async fn store_inserting_a_taken_id_conflicts() {
    let (_dir, store) = open();
    let id = SessionId::generate().unwrap();
    store.insert(&id, &record_at("ana", LOGIN_MS)).await.unwrap();
    let second = store.insert(&id, &record_at("eve", LOGIN_MS)).await;
    assert!(matches!(second, Err(StoreError::Conflict)), "{second:?}");
    assert_eq!(active(&store, &id, LOGIN_MS).await.user, "ana");
}

#[tokio::test]
async fn store_sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let record = record_at("ana", LOGIN_MS);
    let id = {
        let store = SqliteStore::open(dir.path()).unwrap();
        store.create(record.clone()).await.unwrap()
    };
    let reopened = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(active(&reopened, &id, LOGIN_MS + MINUTE_MS).await, record);
}

#[tokio::test]
async fn store_keeps_ids_only_as_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = SqliteStore::open(dir.path()).unwrap();
        let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
        let keys: Vec<String> = raw_connection(&store)
            .prepare("SELECT id_hash FROM sessions")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(keys, [id.store_key()]);
        id
    };
    // Every file the store left, write-ahead log included.
    for entry in fs::read_dir(dir.path()).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        let needle = id.cookie_value().as_bytes();
        assert!(!bytes.windows(needle.len()).any(|window| window == needle));
    }
}

#[tokio::test]
async fn store_update_with_a_stale_version_conflicts() {
    let (_dir, store) = open();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    let mut first = active(&store, &id, LOGIN_MS + MINUTE_MS).await;
    let mut second = first.clone();
    first.identity_json = r#"{"refresh_token":"first"}"#.into();
    second.identity_json = r#"{"refresh_token":"second"}"#.into();
    store.update(&id, &first).await.unwrap();
    let lost = store.update(&id, &second).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let stored = active(&store, &id, LOGIN_MS + MINUTE_MS).await;
    assert_eq!(stored.identity_json, first.identity_json);
    assert_eq!(stored.version, 1);
}

#[tokio::test]
async fn store_update_never_moves_the_login_time() {
    let (_dir, store) = open();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    let mut record = active(&store, &id, LOGIN_MS).await;
    record.created_at_ms = LOGIN_MS + 11 * HOUR_MS;
    record.user = "eve".into();
    store.update(&id, &record).await.unwrap();
    let stored = active(&store, &id, LOGIN_MS).await;
    assert_eq!((stored.created_at_ms, stored.user.as_str()), (LOGIN_MS, "ana"));
}

#[tokio::test]
async fn store_update_of_an_ended_session_conflicts() {
    let (_dir, store) = open();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    let record = active(&store, &id, LOGIN_MS).await;
    store.delete(&id).await.unwrap();
    assert!(matches!(
        store.update(&id, &record).await,
        Err(StoreError::Conflict)
    ));
}

#[tokio::test]
async fn store_sweep_removes_and_returns_only_the_expired() {
    let (_dir, store) = open();
    let policy = SessionPolicy::default();
    let now_ms = LOGIN_MS + 13 * HOUR_MS;
    let mut idle = record_at("idle", now_ms - HOUR_MS);
    idle.last_seen_ms = now_ms - 15 * MINUTE_MS;
    let mut old = record_at("old", LOGIN_MS);
    old.last_seen_ms = now_ms - MINUTE_MS;
    let mut fresh = record_at("fresh", now_ms - HOUR_MS);
    fresh.last_seen_ms = now_ms - 15 * MINUTE_MS + 1;
    store.create(idle).await.unwrap();
    store.create(old).await.unwrap();
    let fresh_id = store.create(fresh.clone()).await.unwrap();

    let mut swept: Vec<String> = store
        .sweep(now_ms, &policy)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.user)
        .collect();
    swept.sort();
    assert_eq!(swept, ["idle", "old"]);
    assert_eq!(active(&store, &fresh_id, now_ms).await, fresh);
    assert!(store.sweep(now_ms, &policy).await.unwrap().is_empty());
}

#[tokio::test]
async fn store_opens_a_private_wal_database_with_the_current_schema() {
    let (_dir, store) = open();
    let connection = raw_connection(&store);
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = connection
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 4);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(store.path().parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }
}

#[tokio::test]
async fn a_database_of_the_first_schema_gains_share_links_the_status_history_and_notices_and_keeps_its_sessions()
 {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    // Back to the schema the first Vitals wrote.
    raw_connection(&store)
        .execute_batch(
            "DROP TABLE share_links; DROP TABLE status_changes; DROP TABLE status_leases; DROP TABLE embed_tokens;
             DROP TABLE notices; DELETE FROM schema_version WHERE version > 1;",
        )
        .unwrap();
    drop(store);

    let store = SqliteStore::open(dir.path()).unwrap();
    let version: i64 = raw_connection(&store)
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let policy = SessionPolicy::default();
    assert!(matches!(
        store.load(&id, LOGIN_MS, &policy).await.unwrap(),
        SessionLookup::Active(_)
    ));
    assert_eq!(store.links(None).await.unwrap(), vec![]);
    assert_eq!(
        crate::store::StatusStore::notices(&store, 0).await.unwrap(),
        vec![]
    );
}

#[tokio::test]
async fn store_refuses_a_database_from_a_newer_vitals() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    raw_connection(&store)
        .execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    drop(store);
    let error = SqliteStore::open(dir.path())
        .err()
        .expect("a newer schema is refused");
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(DATABASE_FILE) && message.contains("newer Vitals"),
        "{message}"
    );
}

#[tokio::test]
async fn store_names_the_file_when_it_holds_unreadable_roles() {
    let (_dir, store) = open();
    let id = store.create(record_at("ana", LOGIN_MS)).await.unwrap();
    raw_connection(&store)
        .execute("UPDATE sessions SET roles = '[\"wizard\"]'", [])
        .unwrap();
    let error = store
        .load(&id, LOGIN_MS, &SessionPolicy::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt(message) if message.contains(DATABASE_FILE)),
        "{error:?}"
    );
}

fn event(at_ms: i64, user: &str, action: AuditAction) -> NewAuditEvent {
    NewAuditEvent {
        at_ms,
        user: user.into(),
        action,
        target: format!("{action} by {user}"),
        outcome: "ok".into(),
        client: "10.0.0.7".into(),
    }
}

fn numbered(events: Vec<NewAuditEvent>) -> Vec<NumberedAuditEvent> {
    (0..)
        .zip(events)
        .map(|(number, event)| NumberedAuditEvent { number, event })
        .collect()
}

async fn query_ids(store: &SqliteStore, filter: AuditFilter) -> Vec<(i64, String, AuditAction)> {
    store
        .query(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.at, event.user, event.action))
        .collect()
}

fn entry(at_ms: i64, user: &str, action: AuditAction) -> (i64, String, AuditAction) {
    (at_ms, user.to_owned(), action)
}

#[tokio::test]
async fn audit_query_filters_by_user_action_and_time_newest_first() {
    let (_dir, store) = open();
    for new in [
        event(1_000, "ana", AuditAction::Login),
        event(2_000, "ana", AuditAction::LogsQuery),
        event(3_000, "ben", AuditAction::LoginFailed),
        event(4_000, "ben", AuditAction::Login),
        event(5_000, "ana", AuditAction::Logout),
    ] {
        store.append(new).await.unwrap();
    }
    let all = store.query(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        all[0],
        AuditEvent {
            id: all[0].id,
            at: 5_000,
            user: "ana".into(),
            action: AuditAction::Logout,
            target: "logout by ana".into(),
            outcome: "ok".into(),
            client: "10.0.0.7".into(),
        }
    );
    assert!(all.windows(2).all(|pair| pair[0].at > pair[1].at), "newest first");

    let by_user = AuditFilter {
        user: Some("ana".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        query_ids(&store, by_user).await,
        [
            entry(5_000, "ana", AuditAction::Logout),
            entry(2_000, "ana", AuditAction::LogsQuery),
            entry(1_000, "ana", AuditAction::Login)
        ]
    );
    let by_action = AuditFilter {
        action: Some(AuditAction::Login),
        ..AuditFilter::default()
    };
    assert_eq!(
        query_ids(&store, by_action).await,
        [
            entry(4_000, "ben", AuditAction::Login),
            entry(1_000, "ana", AuditAction::Login)
        ]
    );
    let by_time = AuditFilter {
        from_ms: Some(2_000),
        to_ms: Some(4_000),
        ..AuditFilter::default()
    };
    assert_eq!(
        query_ids(&store, by_time).await,
        [
            entry(4_000, "ben", AuditAction::Login),
            entry(3_000, "ben", AuditAction::LoginFailed),
            entry(2_000, "ana", AuditAction::LogsQuery)
        ]
    );
    let limited = AuditFilter {
        user: Some("ana".into()),
        from_ms: Some(1_500),
        limit: 1,
        ..AuditFilter::default()
    };
    assert_eq!(
        query_ids(&store, limited).await,
        [entry(5_000, "ana", AuditAction::Logout)]
    );
}

#[tokio::test]
async fn audit_entries_at_the_same_time_come_newest_appended_first() {
    let (_dir, store) = open();
    store
        .append(event(1_000, "ana", AuditAction::Login))
        .await
        .unwrap();
    store
        .append(event(1_000, "ana", AuditAction::LogsQuery))
        .await
        .unwrap();
    let actions: Vec<AuditAction> = store
        .query(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.action)
        .collect();
    assert_eq!(actions, [AuditAction::LogsQuery, AuditAction::Login]);
}

#[tokio::test]
async fn audit_trail_refuses_update_and_delete() {
    let (_dir, store) = open();
    store
        .append(event(1_000, "ana", AuditAction::Login))
        .await
        .unwrap();
    let connection = raw_connection(&store);
    for statement in [
        "UPDATE audit SET outcome = 'denied'",
        "DELETE FROM audit",
        "DELETE FROM audit WHERE user = 'ana'",
    ] {
        let error = connection.execute(statement, []).unwrap_err().to_string();
        assert!(
            error.contains("the audit trail is append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(store.query(&AuditFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn audit_append_stores_no_secret_or_patient_data() {
    let (_dir, store) = open();
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2ln";
    store
        .append(NewAuditEvent {
            target: format!("reveal token={jwt} of jane@mail.example dob 1980-01-02"),
            ..event(1_000, "ana", AuditAction::LogsQuery)
        })
        .await
        .unwrap();
    let stored = store.query(&AuditFilter::default()).await.unwrap();
    assert_eq!(stored[0].target, "reveal token=[redacted] of [email] dob [date]");
}

#[tokio::test]
async fn a_batch_is_appended_in_order_and_scrubbed() {
    let (_dir, store) = open();
    store
        .append_numbered(&numbered(vec![
            event(1_000, "ana", AuditAction::Login),
            NewAuditEvent {
                target: "patient jane@mail.example".into(),
                ..event(1_000, "ana", AuditAction::LogsQuery)
            },
            event(2_000, "ana", AuditAction::Logout),
        ]))
        .await
        .unwrap();
    let stored = store.query(&AuditFilter::default()).await.unwrap();
    let actions: Vec<AuditAction> = stored.iter().map(|event| event.action).collect();
    assert_eq!(
        actions,
        [AuditAction::Logout, AuditAction::LogsQuery, AuditAction::Login]
    );
    assert_eq!(stored[1].target, "patient [email]");
}

#[tokio::test]
async fn an_entry_with_an_unknown_action_is_reported_not_misread() {
    let (_dir, store) = open();
    raw_connection(&store)
        .execute(
            "INSERT INTO audit (at_ms, user, action, target, outcome, client) \
             VALUES (1000, 'ana', 'error 101', '', 'ok', '10.0.0.7')",
            [],
        )
        .unwrap();
    let error = store.query(&AuditFilter::default()).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt(message) if message.contains("error 101")),
        "{error:?}"
    );
}
