//! The audit trail written by group commit: each request's entry joins whatever other
//! requests' entries are queued, one task writes them in one go, and each request answers
//! only once the write holding its entry is committed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use vitals_api::AuditEvent;

use super::{AuditFilter, AuditLog, NewAuditEvent, NumberedAuditEvent, StoreError};

/// Entries waiting for the writer at most; a request finding the queue full waits for room,
/// so a slow disk slows requests down rather than losing their entries.
const QUEUE_LENGTH: usize = 4_096;
/// Entries one write takes at most.
const MAX_BATCH: usize = 512;
/// The waits before writing a failed batch again; after the last, the requests waiting on
/// the batch are refused. Short, because those requests wait through them.
const RETRY_WAITS: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];

/// Why a batch was not stored, as each request waiting on it is told.
type Stored = Result<(), String>;

/// What the writer task is asked to do, in order.
enum Message {
    /// Store this entry, then say how it went.
    Append {
        entry: NumberedAuditEvent,
        stored: oneshot::Sender<Stored>,
    },
    /// Answer once every entry sent before this one is written.
    Flush(oneshot::Sender<()>),
}

/// How the writer is doing, for `/metrics`: an alert on lost entries catches a broken store.
#[derive(Clone, Default)]
pub struct AuditMetrics {
    written: Counter,
    retried: Counter,
    lost: Counter,
}

impl AuditMetrics {
    /// Adds the counters to the server's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "audit_entries_written",
            "Audit entries stored",
            self.written.clone(),
        );
        registry.register(
            "audit_write_retries",
            "Writes of a batch of audit entries tried again after the store failed",
            self.retried.clone(),
        );
        registry.register(
            "audit_entries_lost",
            "Audit entries the store still refused after every retry; the requests that made them \
             were refused too (see the server's error log)",
            self.lost.clone(),
        );
    }
}

/// An [`AuditLog`] whose appends are written in batches by one task, each append returning
/// once its batch is committed (or has failed for good).
///
/// The writer takes everything queued when it is free, so an idle server commits each entry
/// at once and a busy one commits many requests' entries in one transaction. The task starts
/// on the runtime of the first append; should that runtime stop, appends go straight to the
/// store instead.
pub struct BatchedAudit {
    store: Arc<dyn AuditLog>,
    writer: OnceLock<mpsc::Sender<Message>>,
    metrics: AuditMetrics,
    /// Numbers each entry once, before its first write (see [`NumberedAuditEvent`]).
    numbered: AtomicU64,
}

impl BatchedAudit {
    pub fn new(store: Arc<dyn AuditLog>) -> Self {
        Self {
            store,
            writer: OnceLock::new(),
            metrics: AuditMetrics::default(),
            numbered: AtomicU64::new(0),
        }
    }

    /// The queue of the writer task, started now if this is the first append.
    fn writer(&self) -> Option<&mpsc::Sender<Message>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(self.writer.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
            runtime.spawn(write_batches(
                Arc::clone(&self.store),
                receiver,
                self.metrics.clone(),
            ));
            sender
        }))
    }

    /// Writes one entry straight to the store, when there is no writer task to hand it to.
    async fn write_now(&self, entry: NumberedAuditEvent) -> Result<(), StoreError> {
        self.store.append_numbered(std::slice::from_ref(&entry)).await?;
        self.metrics.written.inc();
        Ok(())
    }
}

#[async_trait]
impl AuditLog for BatchedAudit {
    async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        let entry = NumberedAuditEvent {
            number: self.numbered.fetch_add(1, Ordering::Relaxed),
            event,
        };
        let Some(writer) = self.writer() else {
            return self.write_now(entry).await;
        };
        let (stored, outcome) = oneshot::channel();
        match writer.send(Message::Append { entry, stored }).await {
            Ok(()) => {}
            // The writer's runtime has stopped: write it here rather than lose it.
            Err(mpsc::error::SendError(Message::Append { entry, .. })) => return self.write_now(entry).await,
            Err(mpsc::error::SendError(Message::Flush(_))) => return Ok(()),
        }
        match outcome.await {
            Ok(stored) => stored.map_err(StoreError::Unavailable),
            Err(_) => Err(StoreError::Unavailable(
                "the audit writer stopped before saying whether the entry was stored; try again".into(),
            )),
        }
    }

    /// Each entry joins the queue on its own, numbered anew: the store sees this writer's
    /// numbers only, so they never collide.
    async fn append_numbered(&self, entries: &[NumberedAuditEvent]) -> Result<(), StoreError> {
        let appends = entries.iter().map(|entry| self.append(entry.event.clone()));
        futures::future::try_join_all(appends).await.map(drop)
    }

    async fn flush(&self) {
        let Some(writer) = self.writer.get() else {
            return;
        };
        let (done, written) = oneshot::channel();
        if writer.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        self.store.query(filter).await
    }

    fn metrics(&self) -> Option<AuditMetrics> {
        Some(self.metrics.clone())
    }
}

/// The writer task: takes everything queued (up to [`MAX_BATCH`]) without waiting for more,
/// writes it in one go, tells each waiting append how it went, then answers the flushes
/// queued among it. Ends when every sender is gone.
async fn write_batches(store: Arc<dyn AuditLog>, mut queue: mpsc::Receiver<Message>, metrics: AuditMetrics) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut messages, MAX_BATCH).await > 0 {
        let mut entries = Vec::with_capacity(messages.len());
        let mut waiting = Vec::with_capacity(messages.len());
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Append { entry, stored } => {
                    entries.push(entry);
                    waiting.push(stored);
                }
                Message::Flush(done) => flushes.push(done),
            }
        }
        if !entries.is_empty() {
            let stored = write_with_retries(store.as_ref(), &entries, &metrics).await;
            for append in waiting {
                // An append whose request was dropped meanwhile has nobody left to tell.
                let _ = append.send(stored.clone());
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes one batch, trying again after each of [`RETRY_WAITS`] with the same numbered
/// entries; what still fails is logged as lost, by count and action only, since entries may
/// hold what people asked.
async fn write_with_retries(
    store: &dyn AuditLog,
    entries: &[NumberedAuditEvent],
    metrics: &AuditMetrics,
) -> Stored {
    let mut waits = RETRY_WAITS.iter();
    let count = entries.len() as u64;
    loop {
        let error = match store.append_numbered(entries).await {
            Ok(()) => {
                metrics.written.inc_by(count);
                return Ok(());
            }
            Err(error) => error,
        };
        if let Some(wait) = waits.next() {
            metrics.retried.inc();
            tracing::warn!(error = %error, entries = entries.len(), "could not write to the audit trail; trying again");
            tokio::time::sleep(*wait).await;
            continue;
        }
        let mut actions: Vec<&str> = entries.iter().map(|entry| entry.event.action.as_str()).collect();
        actions.sort_unstable();
        actions.dedup();
        metrics.lost.inc_by(count);
        tracing::error!(
            error = %error,
            lost = entries.len(),
            actions = %actions.join(","),
            "audit entries were not written, and the requests that made them were refused; check the audit store"
        );
        return Err(error.to_string());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::Semaphore;
    use vitals_api::AuditAction;

    use super::*;

    /// Keeps entries in memory, counts the writes (each one a transaction), fails the first
    /// `failures` of them, and when `paused` holds each write until a permit is added.
    #[derive(Default)]
    struct Memory {
        entries: Mutex<Vec<NumberedAuditEvent>>,
        writes: AtomicUsize,
        failures: AtomicUsize,
        paused: Option<Semaphore>,
    }

    #[async_trait]
    impl AuditLog for Memory {
        async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
            self.append_numbered(&[NumberedAuditEvent { number: 0, event }])
                .await
        }

        async fn append_numbered(&self, entries: &[NumberedAuditEvent]) -> Result<(), StoreError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            if let Some(paused) = &self.paused {
                paused.acquire().await.unwrap().forget();
            }
            let failures_left = self.failures.load(Ordering::SeqCst);
            if failures_left > 0 {
                self.failures.store(failures_left - 1, Ordering::SeqCst);
                return Err(StoreError::Unavailable("the disk is full".into()));
            }
            self.entries.lock().unwrap().extend_from_slice(entries);
            Ok(())
        }

        async fn query(&self, _filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
            Ok(self
                .entries
                .lock()
                .unwrap()
                .iter()
                .map(|entry| AuditEvent {
                    id: entry.number as i64,
                    at: entry.event.at_ms,
                    user: entry.event.user.clone(),
                    action: entry.event.action,
                    target: entry.event.target.clone(),
                    outcome: entry.event.outcome.clone(),
                    client: entry.event.client.clone(),
                })
                .collect())
        }
    }

    impl Memory {
        fn stored_times(&self) -> Vec<i64> {
            self.entries
                .lock()
                .unwrap()
                .iter()
                .map(|entry| entry.event.at_ms)
                .collect()
        }
    }

    fn event(n: i64) -> NewAuditEvent {
        NewAuditEvent {
            at_ms: n,
            user: "ana".into(),
            action: AuditAction::MetricsQuery,
            target: format!("query {n}"),
            outcome: "ok".into(),
            client: "10.0.0.7".into(),
        }
    }

    /// Yields until `done` holds, a bounded number of times.
    async fn until(what: &str, done: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("{what} never happened");
    }

    #[tokio::test]
    async fn a_read_sees_every_entry_appended_before_it_in_order() {
        let memory = Arc::new(Memory::default());
        let audit = BatchedAudit::new(memory.clone());
        for n in 0..2_000 {
            audit.append(event(n)).await.unwrap();
        }
        let read = audit.query(&AuditFilter::default()).await.unwrap();
        let times: Vec<i64> = read.iter().map(|entry| entry.at).collect();
        assert_eq!(times, (0..2_000).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn an_append_returns_only_once_its_entry_is_committed() {
        let memory = Arc::new(Memory {
            paused: Some(Semaphore::new(0)),
            ..Memory::default()
        });
        let audit = Arc::new(BatchedAudit::new(memory.clone()));
        let append = tokio::spawn({
            let audit = Arc::clone(&audit);
            async move { audit.append(event(1)).await }
        });
        until("the write starts", || memory.writes.load(Ordering::SeqCst) == 1).await;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!append.is_finished(), "the append answered before the commit");
        memory.paused.as_ref().unwrap().add_permits(1);
        append.await.unwrap().unwrap();
        assert_eq!(memory.stored_times(), [1]);
    }

    #[tokio::test]
    async fn concurrent_appends_share_one_commit() {
        let memory = Arc::new(Memory {
            paused: Some(Semaphore::new(0)),
            ..Memory::default()
        });
        let audit = Arc::new(BatchedAudit::new(memory.clone()));
        let spawn_append = |n| {
            let audit = Arc::clone(&audit);
            tokio::spawn(async move { audit.append(event(n)).await })
        };
        // One entry is being written while 99 more requests arrive.
        let first = spawn_append(0);
        until("the first write starts", || {
            memory.writes.load(Ordering::SeqCst) == 1
        })
        .await;
        let rest: Vec<_> = (1..100).map(spawn_append).collect();
        let writer = audit.writer.get().unwrap();
        until("the 99 entries are queued", || {
            writer.max_capacity() - writer.capacity() == 99
        })
        .await;
        memory.paused.as_ref().unwrap().add_permits(2);
        first.await.unwrap().unwrap();
        for append in rest {
            append.await.unwrap().unwrap();
        }
        assert_eq!(
            memory.writes.load(Ordering::SeqCst),
            2,
            "100 entries, two commits"
        );
        assert_eq!(memory.stored_times(), (0..100).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_is_tried_again_with_the_same_numbers() {
        let memory = Arc::new(Memory {
            failures: AtomicUsize::new(2),
            ..Memory::default()
        });
        let audit = BatchedAudit::new(memory.clone());
        audit.append(event(1)).await.unwrap();
        audit.append(event(2)).await.unwrap();
        let numbers: Vec<u64> = memory
            .entries
            .lock()
            .unwrap()
            .iter()
            .map(|entry| entry.number)
            .collect();
        assert_eq!(numbers, [0, 1]);
        assert_eq!(memory.writes.load(Ordering::SeqCst), 4);
        assert_eq!(
            (
                audit.metrics.written.get(),
                audit.metrics.retried.get(),
                audit.metrics.lost.get()
            ),
            (2, 2, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_entry_the_store_keeps_refusing_fails_its_append_and_the_next_is_written() {
        let memory = Arc::new(Memory {
            failures: AtomicUsize::new(RETRY_WAITS.len() + 1),
            ..Memory::default()
        });
        let audit = BatchedAudit::new(memory.clone());
        let error = audit.append(event(1)).await.unwrap_err();
        assert!(error.to_string().contains("the disk is full"), "{error}");
        audit.append(event(2)).await.unwrap();
        assert_eq!(memory.stored_times(), [2]);
        assert_eq!((audit.metrics.written.get(), audit.metrics.lost.get()), (1, 1));
        let mut registry = Registry::with_prefix("vitals");
        audit.metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("vitals_audit_entries_lost_total 1"), "{text}");
    }

    #[test]
    fn without_a_runtime_appends_go_straight_to_the_store() {
        let memory = Arc::new(Memory::default());
        let audit = BatchedAudit::new(memory.clone());
        futures::executor::block_on(audit.append(event(1))).unwrap();
        assert_eq!(memory.stored_times(), [1]);
    }

    #[test]
    fn after_the_writer_runtime_stops_appends_still_reach_the_store() {
        let memory = Arc::new(Memory::default());
        let audit = BatchedAudit::new(memory.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(audit.append(event(1))).unwrap();
        drop(runtime);
        let other = tokio::runtime::Builder::new_current_thread().build().unwrap();
        other.block_on(audit.append(event(2))).unwrap();
        assert_eq!(memory.stored_times(), [1, 2]);
    }
}
