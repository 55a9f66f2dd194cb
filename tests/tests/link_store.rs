//! Share links behind the store trait: the same promises kept by SQLite (one server) and by
//! DynamoDB against moto (replicas), so a link made through one replica opens through another.

use std::collections::BTreeMap;

use anyhow::{Result, ensure};
use vitals_server::store::links::new_link_id;
use vitals_server::store::{LinkRecord, LinkStore, LinkView, SqliteStore, StoreError};
use vitals_tests::moto::MotoServer;

/// Tuesday 2026-11-24 10:20 UTC.
const NOW_MS: i64 = 1_795_515_600_000;
const DAY_MS: i64 = 86_400_000;

fn link(created_by: &str, created_at_ms: i64) -> Result<LinkRecord> {
    Ok(LinkRecord {
        id: new_link_id()?,
        dashboard: "clinic-now".into(),
        view: LinkView {
            from: Some("now-24h".into()),
            to: None,
            vars: BTreeMap::from([("clinic".to_owned(), "north".to_owned())]),
        },
        created_by: created_by.into(),
        created_at_ms,
        expires_at_ms: Some(created_at_ms + 7 * DAY_MS),
        revoked_at_ms: None,
    })
}

/// What every link store promises, in one run.
async fn keeps_its_promises(store: &dyn LinkStore) -> Result<()> {
    let first = link("ana", NOW_MS)?;
    let second = link("ana", NOW_MS + 60_000)?;
    let forever = LinkRecord {
        expires_at_ms: None,
        ..link("admin", NOW_MS + 120_000)?
    };
    for made in [&first, &second, &forever] {
        store.insert_link(made).await?;
    }
    ensure!(
        store.link(&first.id).await? == Some(first.clone()),
        "a link reads back as written"
    );
    ensure!(
        store
            .link(&forever.id)
            .await?
            .and_then(|link| link.expires_at_ms)
            .is_none(),
        "a link that never expires keeps no expiry"
    );
    ensure!(
        matches!(store.insert_link(&first).await, Err(StoreError::Conflict)),
        "an id is never reused"
    );
    ensure!(
        store.link(&new_link_id()?).await?.is_none(),
        "an unknown id is no link"
    );

    let ids = |links: Vec<LinkRecord>| links.into_iter().map(|link| link.id).collect::<Vec<_>>();
    ensure!(
        ids(store.links(Some("ana")).await?) == [second.id.clone(), first.id.clone()],
        "one person's links, newest first"
    );
    ensure!(
        ids(store.links(None).await?) == [forever.id.clone(), second.id.clone(), first.id.clone()],
        "every link, newest first"
    );

    ensure!(
        store.revoke_link(&first.id, NOW_MS + DAY_MS).await?,
        "a link is revoked"
    );
    ensure!(
        store.revoke_link(&first.id, NOW_MS + 2 * DAY_MS).await?,
        "revoking again is no error"
    );
    let revoked = store.link(&first.id).await?.map(|link| link.revoked_at_ms);
    ensure!(
        revoked == Some(Some(NOW_MS + DAY_MS)),
        "the first revocation's time stays: {revoked:?}"
    );
    ensure!(
        !store.revoke_link(&new_link_id()?, NOW_MS).await?,
        "an unknown link is not revoked"
    );
    Ok(())
}

#[tokio::test]
async fn sqlite_keeps_share_links() -> Result<()> {
    let data = tempfile::tempdir()?;
    keeps_its_promises(&SqliteStore::open(data.path())?).await
}

#[tokio::test]
async fn dynamodb_keeps_share_links_for_every_replica() -> Result<()> {
    let moto = MotoServer::start().await?;
    let store = moto.link_store("vitals-links").await?;
    store.ensure_table().await?;
    store.ensure_table().await?;
    keeps_its_promises(&store).await?;

    // Another replica, its own client on the same table, sees the links and the revocation.
    let other = moto.link_store("vitals-links").await?;
    let made = link("ben", NOW_MS)?;
    store.insert_link(&made).await?;
    ensure!(
        other.link(&made.id).await? == Some(made.clone()),
        "seen by the other replica"
    );
    ensure!(
        other.revoke_link(&made.id, NOW_MS + 1).await?,
        "revoked through the other replica"
    );
    let seen = store.link(&made.id).await?.and_then(|link| link.revoked_at_ms);
    ensure!(
        seen == Some(NOW_MS + 1),
        "the revocation holds everywhere: {seen:?}"
    );
    Ok(())
}
