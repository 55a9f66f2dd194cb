//! The DynamoDB audit trail against moto: one trail for every replica, read newest first
//! across months, filtered, scrubbed, and shared by two servers that share their sessions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::{Value, json};
use vitals_api::AuditAction;
use vitals_server::state::{Clock, FixedClock};
use vitals_server::store::{
    AuditFilter, AuditLog, DynamoAuditLog, NewAuditEvent, NumberedAuditEvent, StoreError,
};
use vitals_tests::moto::MotoServer;
use vitals_tests::{TestServer, test_config, wait_until};

/// 2026-10-31T23:59:00Z: a minute before November.
const END_OF_OCTOBER_MS: i64 = 1_793_491_140_000;
const MINUTE_MS: i64 = 60_000;
/// Tuesday 2026-11-24 10:20 UTC: "now" for the stores and servers of these tests.
const CLINIC_MORNING_MS: i64 = 1_795_515_600_000;

/// The server's clock in these tests: fixed, so nothing here depends on the time of day.
fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(CLINIC_MORNING_MS))
}

fn event(at_ms: i64, user: &str, action: AuditAction, target: &str) -> NewAuditEvent {
    NewAuditEvent {
        at_ms,
        user: user.into(),
        action,
        target: target.into(),
        outcome: "ok".into(),
        client: "10.0.0.7".into(),
    }
}

/// The entries numbered in order, as the server's batching writer numbers them.
fn numbered(events: Vec<NewAuditEvent>) -> Vec<NumberedAuditEvent> {
    (0..)
        .zip(events)
        .map(|(number, event)| NumberedAuditEvent { number, event })
        .collect()
}

async fn read(audit: &DynamoAuditLog, filter: AuditFilter) -> Result<Vec<(i64, String, AuditAction)>> {
    Ok(audit
        .query(&filter)
        .await?
        .into_iter()
        .map(|entry| (entry.at, entry.user, entry.action))
        .collect())
}

#[tokio::test]
async fn dynamo_audit_reads_newest_first_across_months_with_filters() -> Result<()> {
    let moto = MotoServer::start().await?;
    let audit = moto.audit_log("vitals-audit", clock()).await?;
    audit.ensure_table().await?;
    audit.ensure_table().await?;

    // 40 entries a minute apart, from October into November: more than one write takes.
    let events: Vec<NewAuditEvent> = (0..40)
        .map(|n| {
            let user = if n % 2 == 0 { "ana" } else { "ben" };
            let action = if n % 5 == 0 {
                AuditAction::Login
            } else {
                AuditAction::LogsQuery
            };
            event(
                END_OF_OCTOBER_MS - 20 * MINUTE_MS + n * MINUTE_MS,
                user,
                action,
                "{service=\"records\"}",
            )
        })
        .collect();
    audit.append_numbered(&numbered(events)).await?;

    let everything = read(
        &audit,
        AuditFilter {
            limit: 1_000,
            ..AuditFilter::default()
        },
    )
    .await?;
    ensure!(everything.len() == 40, "{} entries", everything.len());
    let times: Vec<i64> = everything.iter().map(|(at, _, _)| *at).collect();
    let mut newest_first = times.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    ensure!(
        times == newest_first,
        "newest first across the new month: {times:?}"
    );

    let newest_three = read(
        &audit,
        AuditFilter {
            limit: 3,
            ..AuditFilter::default()
        },
    )
    .await?;
    ensure!(newest_three == everything[..3], "{newest_three:?}");

    let ana_logins = read(
        &audit,
        AuditFilter {
            user: Some("ana".into()),
            action: Some(AuditAction::Login),
            ..AuditFilter::default()
        },
    )
    .await?;
    ensure!(
        ana_logins.len() == 4
            && ana_logins
                .iter()
                .all(|(_, user, action)| user == "ana" && *action == AuditAction::Login),
        "{ana_logins:?}"
    );

    // The ten minutes either side of midnight, both ends inclusive.
    let around_midnight = read(
        &audit,
        AuditFilter {
            from_ms: Some(END_OF_OCTOBER_MS - 5 * MINUTE_MS),
            to_ms: Some(END_OF_OCTOBER_MS + 5 * MINUTE_MS),
            ..AuditFilter::default()
        },
    )
    .await?;
    ensure!(
        around_midnight.len() == 11
            && around_midnight.first().map(|e| e.0) == Some(END_OF_OCTOBER_MS + 5 * MINUTE_MS)
            && around_midnight.last().map(|e| e.0) == Some(END_OF_OCTOBER_MS - 5 * MINUTE_MS),
        "{around_midnight:?}"
    );
    Ok(())
}

#[tokio::test]
async fn dynamo_audit_keeps_the_append_order_within_a_millisecond_and_stores_no_secrets() -> Result<()> {
    let moto = MotoServer::start().await?;
    let audit = moto.audit_log("vitals-audit-order", clock()).await?;
    audit.ensure_table().await?;
    audit
        .append(event(END_OF_OCTOBER_MS, "ana", AuditAction::Login, ""))
        .await?;
    audit
        .append(event(
            END_OF_OCTOBER_MS,
            "ana",
            AuditAction::LogsQuery,
            "token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2ln of jane@mail.example",
        ))
        .await?;
    let entries = audit.query(&AuditFilter::default()).await?;
    let actions: Vec<AuditAction> = entries.iter().map(|entry| entry.action).collect();
    ensure!(
        actions == [AuditAction::LogsQuery, AuditAction::Login],
        "{actions:?}"
    );
    ensure!(
        entries[0].target == "token=[redacted] of [email]",
        "{}",
        entries[0].target
    );
    ensure!(entries[1].target.is_empty(), "{}", entries[1].target);
    ensure!(entries[0].id != entries[1].id, "each entry has its own id");
    Ok(())
}

#[tokio::test]
async fn a_read_without_an_end_ends_at_the_servers_clock_not_the_wall_clock() -> Result<()> {
    let moto = MotoServer::start().await?;
    // Years past the wall clock: only a read that asks the server's clock reaches that month.
    let later_ms: i64 = 2_000_000_000_000;
    let audit = moto
        .audit_log("vitals-audit-clock", Arc::new(FixedClock(later_ms)))
        .await?;
    audit.ensure_table().await?;
    audit
        .append(event(later_ms - MINUTE_MS, "ana", AuditAction::Login, ""))
        .await?;
    let found = read(&audit, AuditFilter::default()).await?;
    ensure!(
        found == [(later_ms - MINUTE_MS, "ana".to_owned(), AuditAction::Login)],
        "{found:?}"
    );
    Ok(())
}

#[tokio::test]
async fn dynamo_audit_missing_table_is_named_with_its_keys() -> Result<()> {
    let moto = MotoServer::start().await?;
    let audit = moto.audit_log("vitals-audit-absent", clock()).await?;
    let error = audit
        .append(event(END_OF_OCTOBER_MS, "ana", AuditAction::Login, ""))
        .await
        .expect_err("there is no table");
    let message = error.to_string();
    ensure!(
        matches!(error, StoreError::Unavailable(_))
            && message.contains("`vitals-audit-absent` does not exist")
            && message.contains("`month`")
            && message.contains("`seq`"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn dynamo_audit_written_again_after_a_failure_stores_each_entry_once() -> Result<()> {
    let moto = MotoServer::start().await?;
    let audit = moto.audit_log("vitals-audit-retry", clock()).await?;
    audit.ensure_table().await?;
    // More than one `BatchWriteItem` takes, all in one millisecond: the first part may be
    // stored when the second fails, and the writer then writes the whole batch again.
    let entries = numbered(
        (0..30)
            .map(|n| {
                event(
                    END_OF_OCTOBER_MS,
                    "ana",
                    AuditAction::LogsQuery,
                    &format!("query {n}"),
                )
            })
            .collect(),
    );
    audit.append_numbered(&entries).await?;
    audit.append_numbered(&entries).await?;
    let stored = audit
        .query(&AuditFilter {
            limit: 1_000,
            ..AuditFilter::default()
        })
        .await?;
    ensure!(stored.len() == 30, "{} entries stored for 30", stored.len());
    Ok(())
}

/// A server of its own (own data folder) whose sessions and audit trail are the shared tables.
async fn replica(moto: &MotoServer) -> Result<TestServer> {
    let data = tempfile::tempdir()?;
    let config = test_config(data.path());
    let clock = clock();
    let mut auth = vitals_server::local_auth(&config, clock.clone())?;
    let sessions = moto.session_store(SESSIONS).await?;
    let audit = moto.audit_log(AUDIT, clock.clone()).await?;
    vitals_server::share_stores(&mut auth, sessions, Some(audit), None);
    let sources = vitals_server::demo_sources(&config, clock.clone());
    let state = vitals_server::state_with_auth(&config, &sources, auth, clock)?;
    TestServer::start_with_state(state, data).await
}

const SESSIONS: &str = "vitals-replicas-sessions";
const AUDIT: &str = "vitals-replicas-audit";

#[tokio::test]
async fn two_replicas_share_one_audit_trail_and_see_each_others_logouts() -> Result<()> {
    let moto = MotoServer::start().await?;
    moto.session_store(SESSIONS).await?.ensure_table().await?;
    moto.audit_log(AUDIT, clock()).await?.ensure_table().await?;
    let first = replica(&moto).await?;
    let second = replica(&moto).await?;

    // An engineer logs in through one replica; the load balancer sends the next requests to either.
    let cookie = first.login("engineer").await?;
    for server in [&first, &second] {
        let answer = reqwest::Client::new()
            .post(server.url("/api/v1/metrics/query"))
            .header("cookie", &cookie)
            .header("x-vitals-csrf", "1")
            .json(&json!({"query": "sum(rate(login_attempts_total[5m]))"}))
            .send()
            .await?;
        ensure!(
            answer.status().is_success(),
            "{}: {}",
            server.url(""),
            answer.status()
        );
    }

    // An admin reading the trail through the second replica sees what went through the first.
    let admin = second.client_as("admin").await?;
    let seen = Arc::new(Mutex::new(Value::Null));
    let complete = wait_until(
        "both replicas' entries are in the shared trail",
        Duration::from_secs(15),
        || {
            let request = admin.get(second.url("/api/v1/audit?user=engineer")).send();
            let seen = Arc::clone(&seen);
            async move {
                let Ok(answer) = request.await else {
                    return false;
                };
                let page = answer.json::<Value>().await.unwrap_or_default();
                let actions: Vec<String> = page["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|entry| entry["action"].as_str().map(str::to_owned))
                    .collect();
                *seen.lock().unwrap() = page;
                actions.iter().filter(|action| *action == "metrics_query").count() == 2
                    && actions.iter().any(|action| action == "login")
            }
        },
    )
    .await;
    ensure!(
        complete.is_ok(),
        "the trail through the second replica: {}",
        seen.lock().unwrap()
    );

    // A logout through the first replica ends the session on the second within seconds.
    let logout = reqwest::Client::new()
        .delete(first.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-vitals-csrf", "1")
        .send()
        .await?;
    ensure!(logout.status().is_success(), "logout: {}", logout.status());
    wait_until(
        "the second replica refuses the ended session",
        Duration::from_secs(10),
        || {
            let request = reqwest::Client::new()
                .get(second.url("/api/v1/session"))
                .header("cookie", &cookie)
                .send();
            async move { request.await.is_ok_and(|answer| answer.status() == 401) }
        },
    )
    .await?;
    Ok(())
}
