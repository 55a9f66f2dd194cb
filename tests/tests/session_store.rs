//! The DynamoDB session store against moto: the table, the session's life, conditional writes between replicas, and expiry with the clock given as numbers.

use anyhow::{Result, ensure};
use vitals_api::Role;
use vitals_server::store::{
    DynamoSessionStore, SessionId, SessionLookup, SessionPolicy, SessionRecord, SessionStore, StoreError,
};
use vitals_tests::moto::MotoServer;

const LOGIN_MS: i64 = 1_795_516_680_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// moto with the table created.
async fn store_with_table(table: &str) -> Result<(MotoServer, DynamoSessionStore)> {
    let moto = MotoServer::start().await?;
    let store = moto.session_store(table).await?;
    store.ensure_table().await?;
    Ok((moto, store))
}

fn record_at(user: &str, now_ms: i64) -> SessionRecord {
    SessionRecord::new(
        user,
        vec![Role::Engineer, Role::Admin],
        r#"{"refresh_token":"r"}"#,
        now_ms,
    )
}

async fn active(store: &DynamoSessionStore, id: &SessionId, now_ms: i64) -> Result<SessionRecord> {
    match store.load(id, now_ms, &SessionPolicy::default()).await? {
        SessionLookup::Active(record) => Ok(record),
        other => anyhow::bail!("expected an active session at {now_ms}, got {other:?}"),
    }
}

#[tokio::test]
async fn dynamo_session_is_created_loaded_updated_and_deleted() -> Result<()> {
    let (_moto, store) = store_with_table("vitals-sessions").await?;
    store.ensure_table().await?;

    let record = record_at("ana", LOGIN_MS);
    let id = store.create(record.clone()).await?;
    let other = store.create(record.clone()).await?;
    ensure!(id != other, "every create gets a new id");
    ensure!(active(&store, &id, LOGIN_MS + MINUTE_MS).await? == record);

    let mut refreshed = record.clone();
    refreshed.last_seen_ms = LOGIN_MS + 5 * MINUTE_MS;
    refreshed.identity_json = r#"{"refresh_token":"new"}"#.into();
    refreshed.roles = vec![Role::Operations];
    store.update(&id, &refreshed).await?;
    let stored = active(&store, &id, LOGIN_MS + 6 * MINUTE_MS).await?;
    ensure!(
        stored
            == SessionRecord {
                version: 1,
                ..refreshed
            },
        "{stored:?}"
    );

    store.delete(&id).await?;
    ensure!(store.load(&id, LOGIN_MS, &SessionPolicy::default()).await? == SessionLookup::Missing);
    store.delete(&id).await?;
    ensure!(
        active(&store, &other, LOGIN_MS).await? == record,
        "deleting one session leaves the others"
    );
    Ok(())
}

#[tokio::test]
async fn dynamo_writes_are_conditional_so_replicas_cannot_clobber_each_other() -> Result<()> {
    let (_moto, store) = store_with_table("vitals-sessions-race").await?;

    let id = SessionId::generate()?;
    store.insert(&id, &record_at("ana", LOGIN_MS)).await?;
    let collision = store.insert(&id, &record_at("eve", LOGIN_MS)).await;
    ensure!(matches!(collision, Err(StoreError::Conflict)), "{collision:?}");
    ensure!(active(&store, &id, LOGIN_MS).await?.user == "ana");

    // Two replicas loaded the same version and both refresh the tokens. They write one
    // after the other: moto checks a condition and writes without a lock, so two writes
    // at the same instant can both pass there, where DynamoDB lets exactly one through.
    let mut first = active(&store, &id, LOGIN_MS + MINUTE_MS).await?;
    let mut second = first.clone();
    first.identity_json = r#"{"refresh_token":"first"}"#.into();
    second.identity_json = r#"{"refresh_token":"second"}"#.into();
    store.update(&id, &first).await?;
    let lost = store.update(&id, &second).await;
    ensure!(
        matches!(lost, Err(StoreError::Conflict)),
        "the stale write loses: {lost:?}"
    );
    let stored = active(&store, &id, LOGIN_MS + MINUTE_MS).await?;
    ensure!(
        stored.version == 1 && stored.identity_json == first.identity_json,
        "{stored:?}"
    );
    second.version = stored.version;
    store.update(&id, &second).await?;
    let stored = active(&store, &id, LOGIN_MS + MINUTE_MS).await?;
    ensure!(
        stored.version == 2 && stored.identity_json == second.identity_json,
        "after reloading it wins: {stored:?}"
    );

    store.delete(&id).await?;
    let gone = store.update(&id, &stored).await;
    ensure!(
        matches!(gone, Err(StoreError::Conflict)),
        "an ended session is not brought back: {gone:?}"
    );
    ensure!(store.load(&id, LOGIN_MS, &SessionPolicy::default()).await? == SessionLookup::Missing);
    Ok(())
}

#[tokio::test]
async fn dynamo_sessions_expire_on_load_and_by_sweep() -> Result<()> {
    let (_moto, store) = store_with_table("vitals-sessions-expiry").await?;
    let policy = SessionPolicy::default();

    let idle_id = store.create(record_at("idle", LOGIN_MS)).await?;
    let idle_expiry = LOGIN_MS + 15 * MINUTE_MS;
    let record = active(&store, &idle_id, idle_expiry - 1).await?;
    ensure!(store.load(&idle_id, idle_expiry, &policy).await? == SessionLookup::Expired(record));
    ensure!(
        store.load(&idle_id, idle_expiry, &policy).await? == SessionLookup::Missing,
        "an expired session is deleted and reported once"
    );

    let limit = LOGIN_MS + 12 * HOUR_MS;
    let mut used_throughout = record_at("busy", LOGIN_MS);
    used_throughout.last_seen_ms = limit - MINUTE_MS;
    let busy_id = store.create(used_throughout.clone()).await?;
    ensure!(active(&store, &busy_id, limit - 1).await? == used_throughout);

    let mut idle_too_long = record_at("idle-too-long", LOGIN_MS + 11 * HOUR_MS);
    idle_too_long.last_seen_ms = limit - 15 * MINUTE_MS;
    store.create(idle_too_long).await?;
    let mut fresh = record_at("fresh", LOGIN_MS + 11 * HOUR_MS);
    fresh.last_seen_ms = limit - 15 * MINUTE_MS + 1;
    let fresh_id = store.create(fresh.clone()).await?;

    let mut swept: Vec<String> = store
        .sweep(limit, &policy)
        .await?
        .into_iter()
        .map(|record| record.user)
        .collect();
    swept.sort();
    ensure!(swept == ["busy", "idle-too-long"], "{swept:?}");
    ensure!(store.load(&busy_id, limit, &policy).await? == SessionLookup::Missing);
    ensure!(active(&store, &fresh_id, limit).await? == fresh);
    ensure!(
        store.sweep(limit, &policy).await?.is_empty(),
        "a second sweep finds nothing"
    );
    Ok(())
}

#[tokio::test]
async fn dynamo_missing_table_is_named_with_what_to_do() -> Result<()> {
    let moto = MotoServer::start().await?;
    let store = moto.session_store("vitals-sessions-absent").await?;
    let error = store
        .load(&SessionId::generate()?, LOGIN_MS, &SessionPolicy::default())
        .await
        .expect_err("there is no table");
    let message = error.to_string();
    ensure!(
        matches!(error, StoreError::Unavailable(_))
            && message.contains("`vitals-sessions-absent` does not exist")
            && message.contains("id_hash"),
        "{message}"
    );
    Ok(())
}
