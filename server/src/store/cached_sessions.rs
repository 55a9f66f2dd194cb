//! Sessions read from memory for a short while after the store gave them, so a request does
//! not wait for SQLite or DynamoDB to learn who is asking.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use moka::sync::Cache;

use super::{SessionId, SessionLookup, SessionPolicy, SessionRecord, SessionStore, StoreError};

/// Sessions kept in memory at most (a few KB each, with Cognito's tokens); beyond that the
/// least used are read from the store again.
const MAX_CACHED: u64 = 10_000;

/// A [`SessionStore`] that remembers the sessions it loaded, for `ttl`.
///
/// Every change made through it (update, delete, sweep) updates or drops what it remembers,
/// so a store only this server writes (SQLite) is never stale. When replicas share the
/// store (DynamoDB), one replica can see another's logout up to `ttl` late; keep it short
/// there. Expiry is checked against the clock on every read, cached or not.
pub struct CachedSessions {
    store: Arc<dyn SessionStore>,
    cache: Cache<SessionId, SessionRecord>,
    /// Counts deletions, so a load racing one does not put the ended session back.
    deletions: AtomicU64,
}

impl CachedSessions {
    pub fn new(store: Arc<dyn SessionStore>, ttl: Duration) -> Self {
        Self {
            store,
            cache: Cache::builder()
                .max_capacity(MAX_CACHED)
                .time_to_live(ttl)
                .build(),
            deletions: AtomicU64::new(0),
        }
    }

    /// Forgets `id` after the store has ended it.
    fn forget(&self, id: &SessionId) {
        self.deletions.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(id);
    }
}

#[async_trait]
impl SessionStore for CachedSessions {
    async fn insert(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        self.store.insert(id, record).await
    }

    async fn load(
        &self,
        id: &SessionId,
        now_ms: i64,
        policy: &SessionPolicy,
    ) -> Result<SessionLookup, StoreError> {
        if let Some(record) = self.cache.get(id) {
            if !policy.is_expired(&record, now_ms) {
                return Ok(SessionLookup::Active(record));
            }
            // Expired: the store deletes it and reports the expiry once.
            self.cache.invalidate(id);
        }
        let deletions_before = self.deletions.load(Ordering::SeqCst);
        let lookup = self.store.load(id, now_ms, policy).await?;
        if let SessionLookup::Active(record) = &lookup {
            self.cache.insert(id.clone(), record.clone());
            // A delete finished meanwhile may have run before this insert: drop it again.
            if self.deletions.load(Ordering::SeqCst) != deletions_before {
                self.cache.invalidate(id);
            }
        }
        Ok(lookup)
    }

    async fn update(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let result = self.store.update(id, record).await;
        match &result {
            Ok(()) => {
                let mut stored = record.clone();
                stored.version += 1;
                self.cache.insert(id.clone(), stored);
            }
            // Someone else changed or ended it: read it afresh next time.
            Err(_) => self.cache.invalidate(id),
        }
        result
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let result = self.store.delete(id).await;
        self.forget(id);
        result
    }

    async fn sweep(&self, now_ms: i64, policy: &SessionPolicy) -> Result<Vec<SessionRecord>, StoreError> {
        let swept = self.store.sweep(now_ms, policy).await?;
        if !swept.is_empty() {
            self.deletions.fetch_add(1, Ordering::SeqCst);
            self.cache.invalidate_all();
        }
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use vitals_api::Role;

    use super::*;
    use crate::store::SqliteStore;

    const LOGIN_MS: i64 = 1_700_000_000_000;
    const TTL: Duration = Duration::from_secs(60);

    /// The SQLite store, counting the loads that reach it.
    struct Counted {
        store: SqliteStore,
        loads: AtomicUsize,
    }

    #[async_trait]
    impl SessionStore for Counted {
        async fn insert(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
            self.store.insert(id, record).await
        }
        async fn load(
            &self,
            id: &SessionId,
            now_ms: i64,
            policy: &SessionPolicy,
        ) -> Result<SessionLookup, StoreError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            self.store.load(id, now_ms, policy).await
        }
        async fn update(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
            self.store.update(id, record).await
        }
        async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
            self.store.delete(id).await
        }
        async fn sweep(&self, now_ms: i64, policy: &SessionPolicy) -> Result<Vec<SessionRecord>, StoreError> {
            self.store.sweep(now_ms, policy).await
        }
    }

    fn cached() -> (tempfile::TempDir, Arc<Counted>, CachedSessions) {
        let dir = tempfile::tempdir().unwrap();
        let counted = Arc::new(Counted {
            store: SqliteStore::open(dir.path()).unwrap(),
            loads: AtomicUsize::new(0),
        });
        let sessions = CachedSessions::new(counted.clone(), TTL);
        (dir, counted, sessions)
    }

    fn record() -> SessionRecord {
        SessionRecord::new("ana", vec![Role::Engineer], "{}", LOGIN_MS)
    }

    async fn load(sessions: &CachedSessions, id: &SessionId, now_ms: i64) -> SessionLookup {
        sessions
            .load(id, now_ms, &SessionPolicy::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn repeated_loads_reach_the_store_once() {
        let (_dir, counted, sessions) = cached();
        let id = sessions.create(record()).await.unwrap();
        for _ in 0..10 {
            assert!(matches!(
                load(&sessions, &id, LOGIN_MS + 1).await,
                SessionLookup::Active(_)
            ));
        }
        assert_eq!(counted.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_logout_ends_the_session_at_once() {
        let (_dir, _counted, sessions) = cached();
        let id = sessions.create(record()).await.unwrap();
        load(&sessions, &id, LOGIN_MS + 1).await;
        sessions.delete(&id).await.unwrap();
        assert_eq!(load(&sessions, &id, LOGIN_MS + 2).await, SessionLookup::Missing);
    }

    #[tokio::test]
    async fn an_idle_session_expires_even_when_remembered_and_is_reported_once() {
        let (_dir, _counted, sessions) = cached();
        let id = sessions.create(record()).await.unwrap();
        load(&sessions, &id, LOGIN_MS + 1).await;
        let idle_end = LOGIN_MS + SessionPolicy::default().idle_timeout.as_millis() as i64;
        assert!(matches!(
            load(&sessions, &id, idle_end).await,
            SessionLookup::Expired(_)
        ));
        assert_eq!(load(&sessions, &id, idle_end).await, SessionLookup::Missing);
    }

    #[tokio::test]
    async fn an_update_is_what_the_next_load_sees() {
        let (_dir, counted, sessions) = cached();
        let id = sessions.create(record()).await.unwrap();
        let SessionLookup::Active(mut loaded) = load(&sessions, &id, LOGIN_MS + 1).await else {
            panic!("the new session is not active");
        };
        loaded.last_seen_ms = LOGIN_MS + 60_000;
        loaded.roles = vec![Role::Operations];
        sessions.update(&id, &loaded).await.unwrap();
        let SessionLookup::Active(again) = load(&sessions, &id, LOGIN_MS + 60_001).await else {
            panic!("the updated session is not active");
        };
        assert_eq!(again.roles, [Role::Operations]);
        assert_eq!(again.version, loaded.version + 1);
        // The remembered version is the stored one, so the next update is not a conflict.
        sessions.update(&id, &again).await.unwrap();
        assert_eq!(counted.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stale_update_is_refused_and_forgotten() {
        let (_dir, counted, sessions) = cached();
        let id = sessions.create(record()).await.unwrap();
        let SessionLookup::Active(loaded) = load(&sessions, &id, LOGIN_MS + 1).await else {
            panic!("the new session is not active");
        };
        // Another replica writes first.
        counted.store.update(&id, &loaded).await.unwrap();
        assert!(matches!(
            sessions.update(&id, &loaded).await,
            Err(StoreError::Conflict)
        ));
        let SessionLookup::Active(fresh) = load(&sessions, &id, LOGIN_MS + 2).await else {
            panic!("the session is not active");
        };
        assert_eq!(fresh.version, loaded.version + 1);
        assert_eq!(counted.loads.load(Ordering::SeqCst), 2);
    }
}
