//! Reads the memory the `vitals-server` process holds (`VmRSS` in `/proc/<pid>/status`): idle
//! once it answers `/readyz`, then with 1,000 live sessions (the demo users logging in) of which
//! 100 follow a log query live over WebSockets. `cargo xtask bench` reads the lines it prints
//! (`what<TAB>measured<TAB>target<TAB>unit`; no issue sets a target for these).
//!
//! The server is the release binary, started as an operator starts it (`ServerProcess`), on the
//! demo clinic, with room for 100 tails per person.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt};
use vitals_tests::server_process::ServerProcess;
use vitals_tests::{bench_scale, login_at, tail_request_at, wait_until};

const SESSIONS: usize = 1_000;
const TAILS: usize = 100;
/// The demo users the sessions belong to, in turn; the tails are the engineer's.
const USERS: [&str; 4] = ["clinician", "operations", "engineer", "admin"];
/// Logins in flight at once.
const LOGINS_AT_ONCE: usize = 8;
const TAIL_QUERY: &str = r#"{service="login-api"}"#;
/// How long every tail may take to bring its first batch.
const TAILS_READY_WITHIN: Duration = Duration::from_secs(60);
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

fn main() -> Result<()> {
    vitals_tests::bench_on_two_threads(run())
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

async fn run() -> Result<()> {
    let observe = bench_scale(Duration::from_secs(10), Duration::from_secs(2));
    let server = ServerProcess::start(&[("VITALS_LIMITS_TAILS_PER_PERSON", TAILS.to_string())]).await?;
    let idle = server.resident_bytes()?;

    let address = server.address;
    let users = (0..SESSIONS).map(|index| {
        if index < TAILS {
            "engineer"
        } else {
            USERS[index % USERS.len()]
        }
    });
    let cookies: Vec<String> = futures::stream::iter(users.map(|user| login_at(address, user)))
        .buffered(LOGINS_AT_ONCE)
        .try_collect()
        .await?;
    let with_sessions = server.resident_bytes()?;

    // Each tail is read as fast as it sends, as a browser does; a tail that ends is counted.
    let (answered, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut readers = Vec::with_capacity(TAILS);
    for cookie in &cookies[..TAILS] {
        let (mut tail, _) =
            tokio_tungstenite::connect_async(tail_request_at(address, cookie, TAIL_QUERY)?).await?;
        let (answered, ended) = (answered.clone(), ended.clone());
        readers.push(tokio::spawn(async move {
            let mut first = true;
            while let Some(Ok(_)) = tail.next().await {
                if std::mem::take(&mut first) {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
            ended.fetch_add(1, Ordering::Relaxed);
        }));
    }
    wait_until("every tail brought its first batch", TAILS_READY_WITHIN, || {
        let all = answered.load(Ordering::Relaxed) == TAILS;
        async move { all }
    })
    .await?;

    let started = Instant::now();
    let mut highest = server.resident_bytes()?;
    let mut samples = 1;
    while started.elapsed() < observe {
        tokio::time::sleep(SAMPLE_EVERY).await;
        highest = highest.max(server.resident_bytes()?);
        samples += 1;
    }
    let ended = ended.load(Ordering::Relaxed);
    if ended > 0 {
        bail!(
            "{ended} of the {TAILS} tails ended while the memory was read:\n{}",
            server.log()
        );
    }
    eprintln!(
        "server_memory: idle {:.1} MB, {:.1} MB after {SESSIONS} logins, at most {:.1} MB over {samples} readings in {observe:?} with {TAILS} tails open",
        megabytes(idle),
        megabytes(with_sessions),
        megabytes(highest)
    );
    println!(
        "server process memory (VmRSS), idle once ready\t{:.1}\t-\tMB",
        megabytes(idle)
    );
    println!(
        "server process memory (VmRSS) with {SESSIONS} live sessions and {TAILS} live tails (highest of {samples} readings over {} s)\t{:.1}\t-\tMB",
        observe.as_secs(),
        megabytes(highest)
    );
    for reader in readers {
        reader.abort();
    }
    Ok(())
}
