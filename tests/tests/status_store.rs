//! The status page's history and lease behind the store trait: the same promises kept by
//! SQLite (one server) and by DynamoDB against moto (replicas), so that one replica evaluates
//! per interval and the history is written once and read the same by all.

use anyhow::{Result, ensure};
use vitals_api::{Notice, NoticeKind, NoticeProgress, NoticeUpdate};
use vitals_server::status::rules::State;
use vitals_server::store::{EmbedTokenRecord, SqliteStore, StateChange, StatusStore, StoreError};
use vitals_tests::moto::MotoServer;

/// Tuesday 2026-11-24 10:20 UTC.
const NOW_MS: i64 = 1_795_515_600_000;
const INTERVAL_MS: i64 = 30_000;
const LEASE: &str = "status-evaluation";

fn change(component: &str, at_ms: i64, state: State, says: &str) -> StateChange {
    StateChange {
        component: component.into(),
        at_ms,
        state,
        says: says.into(),
    }
}

/// What every status store promises, in one run; `other` is a second replica on the same
/// store (for SQLite, the same store again).
async fn keeps_its_promises(store: &dyn StatusStore, other: &dyn StatusStore) -> Result<()> {
    // The lease: one holder at a time, renewed by its holder, free again once it has run out.
    ensure!(
        store
            .take_lease(LEASE, "replica-a", NOW_MS, NOW_MS + INTERVAL_MS)
            .await?,
        "a free lease is taken"
    );
    ensure!(
        !other
            .take_lease(LEASE, "replica-b", NOW_MS + 1_000, NOW_MS + 1_000 + INTERVAL_MS)
            .await?,
        "a held lease is not taken by another"
    );
    ensure!(
        store
            .take_lease(LEASE, "replica-a", NOW_MS + 20_000, NOW_MS + 50_000)
            .await?,
        "its holder renews it"
    );
    ensure!(
        !other
            .take_lease(LEASE, "replica-b", NOW_MS + 40_000, NOW_MS + 70_000)
            .await?,
        "the renewal holds against another"
    );
    ensure!(
        other
            .take_lease(LEASE, "replica-b", NOW_MS + 50_000, NOW_MS + 80_000)
            .await?,
        "a lease that has run out goes to another"
    );
    ensure!(
        !store
            .take_lease(LEASE, "replica-a", NOW_MS + 60_000, NOW_MS + 90_000)
            .await?,
        "and its old holder no longer has it"
    );
    ensure!(
        store
            .take_lease("another-page", "replica-a", NOW_MS + 60_000, NOW_MS + 90_000)
            .await?,
        "each lease is its own"
    );

    // The history: changes in time order, led by the state the range starts in.
    let day_before = NOW_MS - 86_400_000;
    let changes = [
        change("login", day_before, State::Operational, "Logins are working."),
        change(
            "login",
            NOW_MS,
            State::PartialOutage,
            "Some people cannot log in.",
        ),
        change(
            "login",
            NOW_MS + 600_000,
            State::Operational,
            "Logins are working.",
        ),
        change("registration", NOW_MS, State::Unknown, "Vitals cannot tell."),
    ];
    for one in &changes {
        store.record_change(one).await?;
    }
    // The other replica recorded the same evaluation: it stays written once, as first written.
    other
        .record_change(&change("login", NOW_MS, State::MajorOutage, "written twice"))
        .await?;
    let read = other
        .changes("login", NOW_MS - 3_600_000, NOW_MS + 3_600_000)
        .await?;
    ensure!(
        read == changes[..3],
        "the range, led by the state it starts in: {read:?}"
    );
    let read = store.changes("login", NOW_MS + 1, NOW_MS + 3_600_000).await?;
    ensure!(read == changes[1..3], "from within the outage: {read:?}");
    let read = store.changes("login", day_before - 10, day_before - 1).await?;
    ensure!(read.is_empty(), "before any change there is no history: {read:?}");
    let read = store.changes("records", NOW_MS - 3_600_000, NOW_MS).await?;
    ensure!(read.is_empty(), "a component never judged has no history");
    let read = store.changes("registration", NOW_MS, NOW_MS).await?;
    ensure!(read == changes[3..], "a range of one moment: {read:?}");
    Ok(())
}

fn token(id: &str, created_at_ms: i64) -> EmbedTokenRecord {
    EmbedTokenRecord {
        id: id.into(),
        page: "clinic".into(),
        origins: vec![
            "https://intranet.hospital.example".into(),
            "https://app.clinic.example".into(),
        ],
        created_by: "admin".into(),
        created_at_ms,
        expires_at_ms: created_at_ms + 90 * 86_400_000,
        revoked_at_ms: None,
    }
}

/// What every store promises of embed tokens; `other` is a second replica.
async fn keeps_embed_tokens(store: &dyn StatusStore, other: &dyn StatusStore) -> Result<()> {
    let (first, second) = (token("tok_first", NOW_MS), token("tok_second", NOW_MS + 60_000));
    store.insert_token(&first).await?;
    other.insert_token(&second).await?;
    ensure!(
        other.token("tok_first").await? == Some(first.clone()),
        "a token reads back as written, on any replica"
    );
    ensure!(
        matches!(store.insert_token(&first).await, Err(StoreError::Conflict)),
        "an id is never reused"
    );
    ensure!(
        store.token("tok_none").await?.is_none(),
        "an unknown id is no token"
    );
    let ids: Vec<_> = store.tokens().await?.into_iter().map(|token| token.id).collect();
    ensure!(ids == ["tok_second", "tok_first"], "newest first: {ids:?}");
    ensure!(
        other.revoke_token("tok_first", NOW_MS + 1).await?,
        "revoked through one replica"
    );
    ensure!(
        store.revoke_token("tok_first", NOW_MS + 2).await?,
        "revoking again is no error"
    );
    let revoked = store
        .token("tok_first")
        .await?
        .and_then(|token| token.revoked_at_ms);
    ensure!(
        revoked == Some(NOW_MS + 1),
        "the first revocation holds everywhere: {revoked:?}"
    );
    ensure!(
        !store.revoke_token("tok_none", NOW_MS).await?,
        "no such token to revoke"
    );
    Ok(())
}

fn notice(id: &str, kind: NoticeKind, starts_at: i64, ends_at: Option<i64>) -> Notice {
    Notice {
        id: id.into(),
        kind,
        title: format!("Notice {id}"),
        components: vec!["login".into()],
        starts_at,
        ends_at,
        resolved_at: None,
        updates: vec![NoticeUpdate {
            at: starts_at,
            by: "olivia".into(),
            progress: NoticeProgress::Investigating,
            message: "Looking into it.".into(),
        }],
    }
}

/// Notices: stored once, changed only by who read the latest, listed while current or
/// recently finished, the same through every replica.
async fn keeps_notices(store: &dyn StatusStore, other: &dyn StatusStore) -> Result<()> {
    const HOUR: i64 = 3_600_000;
    let incident = notice("incident", NoticeKind::Incident, NOW_MS, None);
    let window = notice(
        "window",
        NoticeKind::Maintenance,
        NOW_MS + HOUR,
        Some(NOW_MS + 2 * HOUR),
    );
    let old = notice(
        "old",
        NoticeKind::Maintenance,
        NOW_MS - 30 * HOUR,
        Some(NOW_MS - 29 * HOUR),
    );
    for one in [&incident, &window, &old] {
        store.insert_notice(one).await?;
    }
    ensure!(
        matches!(other.insert_notice(&incident).await, Err(StoreError::Conflict)),
        "an id is never reused"
    );
    ensure!(
        other.notice("incident").await? == Some(incident.clone()),
        "read back whole"
    );
    ensure!(store.notice("none").await?.is_none(), "no such notice");

    let mut resolved = incident.clone();
    resolved.updates.push(NoticeUpdate {
        at: NOW_MS + HOUR,
        by: "omar".into(),
        progress: NoticeProgress::Resolved,
        message: "Fixed.".into(),
    });
    resolved.resolved_at = Some(NOW_MS + HOUR);
    other.replace_notice(&resolved, 1).await?;
    let mut late = incident.clone();
    late.title = "Written over a newer version".into();
    late.updates.push(resolved.updates[1].clone());
    ensure!(
        matches!(store.replace_notice(&late, 1).await, Err(StoreError::Conflict)),
        "an update made from a stale read is refused, not written over the newer one"
    );
    ensure!(
        store.notice("incident").await? == Some(resolved),
        "the first update holds"
    );

    let listed = |notices: Vec<Notice>| notices.into_iter().map(|one| one.id).collect::<Vec<_>>();
    ensure!(
        listed(store.notices(NOW_MS - 48 * HOUR).await?) == ["window", "incident", "old"],
        "newest first, finished ones included since the given time"
    );
    ensure!(
        listed(other.notices(NOW_MS).await?) == ["window", "incident"],
        "the window finished yesterday is left out"
    );
    ensure!(
        listed(other.notices(NOW_MS + 90 * HOUR).await?).is_empty(),
        "the resolved incident and the ended window are past"
    );
    Ok(())
}

#[tokio::test]
async fn sqlite_keeps_notices() -> Result<()> {
    let data = tempfile::tempdir()?;
    keeps_notices(&SqliteStore::open(data.path())?, &SqliteStore::open(data.path())?).await
}

#[tokio::test]
async fn dynamodb_keeps_notices_for_every_replica() -> Result<()> {
    let moto = MotoServer::start().await?;
    let store = moto.status_store("vitals-status-notices").await?;
    store.ensure_table().await?;
    keeps_notices(&store, &moto.status_store("vitals-status-notices").await?).await
}

#[tokio::test]
async fn sqlite_keeps_embed_tokens() -> Result<()> {
    let data = tempfile::tempdir()?;
    keeps_embed_tokens(&SqliteStore::open(data.path())?, &SqliteStore::open(data.path())?).await
}

#[tokio::test]
async fn dynamodb_keeps_embed_tokens_for_every_replica() -> Result<()> {
    let moto = MotoServer::start().await?;
    let store = moto.status_store("vitals-status-tokens").await?;
    store.ensure_table().await?;
    keeps_embed_tokens(&store, &moto.status_store("vitals-status-tokens").await?).await
}

#[tokio::test]
async fn sqlite_keeps_the_status_history_and_lease() -> Result<()> {
    let data = tempfile::tempdir()?;
    let store = SqliteStore::open(data.path())?;
    let again = SqliteStore::open(data.path())?;
    keeps_its_promises(&store, &again).await
}

#[tokio::test]
async fn dynamodb_keeps_the_status_history_and_lease_for_every_replica() -> Result<()> {
    let moto = MotoServer::start().await?;
    let store = moto.status_store("vitals-status").await?;
    store.ensure_table().await?;
    store.ensure_table().await?;
    let other = moto.status_store("vitals-status").await?;
    keeps_its_promises(&store, &other).await
}

#[tokio::test]
async fn two_replicas_asking_for_the_same_moment_evaluate_once_per_interval() -> Result<()> {
    let moto = MotoServer::start().await?;
    let a = moto.status_store("vitals-status-race").await?;
    a.ensure_table().await?;
    let b = moto.status_store("vitals-status-race").await?;
    // Ten intervals; each replica asks at the start of each, for the same moment, the first to
    // ask changing from one interval to the next. The two ask one after the other: moto does
    // not make concurrent conditional writes atomic as DynamoDB does, so asking at the very
    // same time would test moto's threads rather than the condition the store writes.
    for interval in 0..10 {
        let now = NOW_MS + interval * INTERVAL_MS;
        let until = now + INTERVAL_MS;
        let (first, second) = if interval % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let took_first = first.take_lease(LEASE, "replica-first", now, until).await?;
        let took_second = second.take_lease(LEASE, "replica-second", now, until).await?;
        let takers = [took_first, took_second].into_iter().filter(|took| *took).count();
        ensure!(takers == 1, "interval {interval}: {takers} replicas evaluated");
    }
    Ok(())
}
