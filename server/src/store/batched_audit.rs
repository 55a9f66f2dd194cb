//! The audit trail written in batches, off the request path: an engineering query hands its
//! entry to a writer task and answers without waiting for the disk.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use vitals_api::AuditEvent;

use super::{AuditFilter, AuditLog, NewAuditEvent, StoreError};

/// Entries waiting for the writer at most; a request finding the queue full waits for room,
/// so a slow disk slows engineering queries down rather than losing their entries.
const QUEUE_LENGTH: usize = 4_096;
/// Entries one write takes at most.
const MAX_BATCH: usize = 512;
/// How long the writer lets entries gather after the first one arrives, so a busy server
/// commits many requests' entries at once. A read of the trail does not wait for it.
const GATHER: Duration = Duration::from_millis(20);
/// The waits before writing a failed batch again; after the last, the batch is reported lost.
const RETRY_WAITS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// What the writer task is asked to do, in order.
enum Message {
    Append(NewAuditEvent),
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
            "Audit entries the store still refused after every retry; see the server's error log",
            self.lost.clone(),
        );
    }
}

/// An [`AuditLog`] whose appends are queued and written in batches by one task.
///
/// Reads flush first, so an admin (or a test) reading the trail sees every entry appended
/// before the read. The task starts on the runtime of the first append; should that runtime
/// stop, appends go straight to the store instead.
pub struct BatchedAudit {
    store: Arc<dyn AuditLog>,
    writer: OnceLock<mpsc::Sender<Message>>,
    metrics: AuditMetrics,
}

impl BatchedAudit {
    pub fn new(store: Arc<dyn AuditLog>) -> Self {
        Self {
            store,
            writer: OnceLock::new(),
            metrics: AuditMetrics::default(),
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
    async fn write_now(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        self.store.append(event).await?;
        self.metrics.written.inc();
        Ok(())
    }
}

#[async_trait]
impl AuditLog for BatchedAudit {
    async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        let Some(writer) = self.writer() else {
            return self.write_now(event).await;
        };
        match writer.send(Message::Append(event)).await {
            Ok(()) => Ok(()),
            // The writer's runtime has stopped: write it here rather than lose it.
            Err(mpsc::error::SendError(Message::Append(event))) => self.write_now(event).await,
            Err(mpsc::error::SendError(Message::Flush(_))) => Ok(()),
        }
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
        self.flush().await;
        self.store.query(filter).await
    }

    fn metrics(&self) -> Option<AuditMetrics> {
        Some(self.metrics.clone())
    }
}

/// The writer task: takes what is queued, up to [`MAX_BATCH`] at a time (waiting [`GATHER`]
/// for more unless someone is waiting for a flush), writes it in one go, then answers the
/// flushes queued among it. Ends when every sender is gone.
async fn write_batches(store: Arc<dyn AuditLog>, mut queue: mpsc::Receiver<Message>, metrics: AuditMetrics) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut messages, MAX_BATCH).await > 0 {
        let flush_waiting = |messages: &[Message]| messages.iter().any(|m| matches!(m, Message::Flush(_)));
        if messages.len() < MAX_BATCH && !flush_waiting(&messages) {
            tokio::time::sleep(GATHER).await;
            while messages.len() < MAX_BATCH
                && let Ok(message) = queue.try_recv()
            {
                messages.push(message);
            }
        }
        let mut events = Vec::with_capacity(messages.len());
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Append(event) => events.push(event),
                Message::Flush(done) => flushes.push(done),
            }
        }
        if !events.is_empty() {
            write_with_retries(store.as_ref(), events, &metrics).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes one batch, trying again after each of [`RETRY_WAITS`]; what still fails is logged
/// as lost, by count and action only, since entries may hold what people asked.
async fn write_with_retries(store: &dyn AuditLog, events: Vec<NewAuditEvent>, metrics: &AuditMetrics) {
    let mut waits = RETRY_WAITS.iter();
    let count = events.len() as u64;
    loop {
        let error = match store.append_many(&events).await {
            Ok(()) => {
                metrics.written.inc_by(count);
                return;
            }
            Err(error) => error,
        };
        if let Some(wait) = waits.next() {
            metrics.retried.inc();
            tracing::warn!(error = %error, entries = events.len(), "could not write to the audit trail; trying again");
            tokio::time::sleep(*wait).await;
            continue;
        }
        let mut actions: Vec<&str> = events.iter().map(|event| event.action.as_str()).collect();
        actions.sort_unstable();
        actions.dedup();
        metrics.lost.inc_by(count);
        tracing::error!(
            error = %error,
            lost = events.len(),
            actions = %actions.join(","),
            "audit entries were not written; check the data directory"
        );
        return;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Keeps entries in memory, counts the writes, and fails the first `failures` of them.
    #[derive(Default)]
    struct Memory {
        entries: Mutex<Vec<NewAuditEvent>>,
        writes: AtomicUsize,
        failures: AtomicUsize,
    }

    #[async_trait]
    impl AuditLog for Memory {
        async fn append(&self, event: NewAuditEvent) -> Result<(), StoreError> {
            self.append_many(&[event]).await
        }

        async fn append_many(&self, events: &[NewAuditEvent]) -> Result<(), StoreError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            let failures_left = self.failures.load(Ordering::SeqCst);
            if failures_left > 0 {
                self.failures.store(failures_left - 1, Ordering::SeqCst);
                return Err(StoreError::Unavailable("the disk is full".into()));
            }
            self.entries.lock().unwrap().extend_from_slice(events);
            Ok(())
        }

        async fn query(&self, _filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
            Ok(self
                .entries
                .lock()
                .unwrap()
                .iter()
                .map(|event| AuditEvent {
                    id: 0,
                    at: event.at_ms,
                    user: event.user.clone(),
                    action: event.action.clone(),
                    target: event.target.clone(),
                    outcome: event.outcome.clone(),
                    client: event.client.clone(),
                })
                .collect())
        }
    }

    fn event(n: i64) -> NewAuditEvent {
        NewAuditEvent {
            at_ms: n,
            user: "ana".into(),
            action: "metrics_query".into(),
            target: format!("query {n}"),
            outcome: "ok".into(),
            client: "10.0.0.7".into(),
        }
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
    async fn concurrent_appends_are_written_in_fewer_batches_than_entries() {
        let memory = Arc::new(Memory::default());
        let audit = Arc::new(BatchedAudit::new(memory.clone()));
        let appends = (0..1_000).map(|n| {
            let audit = Arc::clone(&audit);
            tokio::spawn(async move { audit.append(event(n)).await })
        });
        for append in futures::future::join_all(appends).await {
            append.unwrap().unwrap();
        }
        audit.flush().await;
        assert_eq!(memory.entries.lock().unwrap().len(), 1_000);
        let writes = memory.writes.load(Ordering::SeqCst);
        assert!(writes < 100, "1000 entries took {writes} writes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_is_tried_again() {
        let memory = Arc::new(Memory {
            failures: AtomicUsize::new(2),
            ..Memory::default()
        });
        let audit = BatchedAudit::new(memory.clone());
        audit.append(event(1)).await.unwrap();
        audit.flush().await;
        assert_eq!(memory.entries.lock().unwrap().len(), 1);
        assert_eq!(memory.writes.load(Ordering::SeqCst), 3);
        assert_eq!(
            (
                audit.metrics.written.get(),
                audit.metrics.retried.get(),
                audit.metrics.lost.get()
            ),
            (1, 2, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_the_store_keeps_refusing_is_counted_lost_and_the_next_one_written() {
        let memory = Arc::new(Memory {
            failures: AtomicUsize::new(RETRY_WAITS.len() + 1),
            ..Memory::default()
        });
        let audit = BatchedAudit::new(memory.clone());
        audit.append(event(1)).await.unwrap();
        audit.flush().await;
        audit.append(event(2)).await.unwrap();
        audit.flush().await;
        let stored: Vec<i64> = memory.entries.lock().unwrap().iter().map(|e| e.at_ms).collect();
        assert_eq!(stored, [2]);
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
        assert_eq!(memory.entries.lock().unwrap().len(), 1);
    }

    #[test]
    fn after_the_writer_runtime_stops_appends_still_reach_the_store() {
        let memory = Arc::new(Memory::default());
        let audit = BatchedAudit::new(memory.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            audit.append(event(1)).await.unwrap();
            audit.flush().await;
        });
        drop(runtime);
        let other = tokio::runtime::Builder::new_current_thread().build().unwrap();
        other.block_on(audit.append(event(2))).unwrap();
        assert_eq!(memory.entries.lock().unwrap().len(), 2);
    }
}
