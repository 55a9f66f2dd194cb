//! What the embed route keeps between views, so that a thousand iframes refreshing cost one
//! store read per token per interval and one rendering per evaluation: the token records it
//! looked up, and the page it rendered last.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use vitals_api::StatusResponse;

use crate::store::{EmbedTokenRecord, StatusStore, StoreError};

/// Token records kept at most; past this the oldest are read again from the store.
const MAX_TOKENS: usize = 1_000;

/// A record as looked up, and when.
struct Looked {
    record: Option<EmbedTokenRecord>,
    at_ms: i64,
}

/// The embed route's memory: token records for up to `keep_ms` (a revocation made through
/// this replica applies at once, one made through another within `keep_ms`), and the page
/// rendered for the latest status answer.
pub struct EmbedCache {
    keep_ms: i64,
    tokens: Mutex<HashMap<String, Looked>>,
    page: Mutex<Option<(Arc<StatusResponse>, Bytes)>>,
}

impl EmbedCache {
    pub fn new(keep_ms: i64) -> Self {
        Self {
            keep_ms,
            tokens: Mutex::new(HashMap::new()),
            page: Mutex::new(None),
        }
    }

    /// The record of token `id` at `now_ms`: remembered while fresh, else read from `store`.
    pub async fn token(
        &self,
        store: &dyn StatusStore,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<EmbedTokenRecord>, StoreError> {
        if let Some(looked) = self.tokens.lock().unwrap_or_else(PoisonError::into_inner).get(id)
            && (looked.at_ms..looked.at_ms + self.keep_ms).contains(&now_ms)
        {
            return Ok(looked.record.clone());
        }
        let record = store.token(id).await?;
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if tokens.len() >= MAX_TOKENS {
            tokens.retain(|_, looked| looked.at_ms + self.keep_ms > now_ms);
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(
            id.to_owned(),
            Looked {
                record: record.clone(),
                at_ms: now_ms,
            },
        );
        Ok(record)
    }

    /// Forgets token `id`: it was revoked here, so the next view reads it again.
    pub fn forget(&self, id: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// The page for `status`: the one rendered for this very answer, or `render`'s.
    pub fn page(&self, status: &Arc<StatusResponse>, render: impl FnOnce() -> String) -> Bytes {
        let mut page = self.page.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((answer, html)) = page.as_ref()
            && Arc::ptr_eq(answer, status)
        {
            return html.clone();
        }
        let html = Bytes::from(render());
        *page = Some((status.clone(), html.clone()));
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn record(id: &str) -> EmbedTokenRecord {
        EmbedTokenRecord {
            id: id.into(),
            page: "clinic".into(),
            origins: vec!["https://intranet.hospital.example".into()],
            created_by: "admin".into(),
            created_at_ms: 0,
            expires_at_ms: 1_000_000,
            revoked_at_ms: None,
        }
    }

    #[tokio::test]
    async fn a_token_is_read_once_per_interval_and_again_once_revoked_here() {
        let data = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(data.path()).unwrap();
        store.insert_token(&record("t1")).await.unwrap();
        let cache = EmbedCache::new(30_000);
        assert_eq!(cache.token(&store, "t1", 0).await.unwrap(), Some(record("t1")));
        store.revoke_token("t1", 10).await.unwrap();
        let kept = cache.token(&store, "t1", 29_999).await.unwrap().unwrap();
        assert_eq!(kept.revoked_at_ms, None, "remembered within the interval");
        let read = cache.token(&store, "t1", 30_000).await.unwrap().unwrap();
        assert_eq!(read.revoked_at_ms, Some(10), "read again after it");
        store.insert_token(&record("t2")).await.unwrap();
        cache.token(&store, "t2", 40_000).await.unwrap();
        store.revoke_token("t2", 40_001).await.unwrap();
        cache.forget("t2");
        let read = cache.token(&store, "t2", 40_002).await.unwrap().unwrap();
        assert_eq!(
            read.revoked_at_ms,
            Some(40_001),
            "revoked here: read again at once"
        );
        assert_eq!(cache.token(&store, "none", 0).await.unwrap(), None);
    }

    #[test]
    fn a_page_is_rendered_once_per_answer() {
        let cache = EmbedCache::new(30_000);
        let answer = Arc::new(StatusResponse {
            as_of: 1,
            interval_seconds: 30,
            components: Vec::new(),
            notices: Vec::new(),
            past_incidents: Vec::new(),
            stale: None,
        });
        let mut renders = 0;
        for _ in 0..3 {
            cache.page(&answer, || {
                renders += 1;
                "page".into()
            });
        }
        assert_eq!(renders, 1);
        let next = Arc::new(StatusResponse {
            as_of: 2,
            ..StatusResponse::clone(&answer)
        });
        assert_eq!(&cache.page(&next, || "next".into())[..], b"next");
    }
}
