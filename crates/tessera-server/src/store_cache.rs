//! Store answers cached in memory for the hot paths: the client a token
//! request authenticates, whether a token being introspected was revoked, and
//! the discovery document (it lists the scopes).
//! A store round trip costs more than signing a token.
//!
//! Invalidation is whole-cache and driven by the store: any change, by any
//! process, moves a generation counter (a trigger in the writer's
//! transaction), and `changes` clears the matching cache when it sees that.
//! These records change rarely, so a full clear costs little and cannot miss one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use arc_swap::ArcSwap;
use axum::body::Bytes;
use tessera_store::StoreError;

/// At most this many entries are held; past it an arbitrary entry makes room.
const DEFAULT_CAPACITY: usize = 10_000;

pub struct StoreCache<V> {
    entries: RwLock<HashMap<String, V>>,
    /// Moves on every clear. A load that started before a clear must not
    /// store what it read: it may be the stale answer the clear was for.
    epoch: AtomicU64,
    capacity: usize,
}

impl<V: Clone> Default for StoreCache<V> {
    fn default() -> StoreCache<V> {
        StoreCache::with_capacity(DEFAULT_CAPACITY)
    }
}

impl<V: Clone> StoreCache<V> {
    pub fn with_capacity(capacity: usize) -> StoreCache<V> {
        StoreCache { entries: RwLock::default(), epoch: AtomicU64::new(0), capacity: capacity.max(1) }
    }

    /// The cached answer for `key`, or else `load`'s. `None` is not
    /// remembered: for clients, unknown ids are attacker-chosen and would
    /// only crowd out real ones.
    pub async fn get_or_load(
        &self,
        key: &str,
        load: impl Future<Output = Result<Option<V>, StoreError>>,
    ) -> Result<Option<V>, StoreError> {
        if let Some(value) = self.get(key) {
            return Ok(Some(value));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some(value) = load.await? else { return Ok(None) };
        self.insert_unless_cleared_since(key, value.clone(), epoch);
        Ok(Some(value))
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    /// Remembers an answer computed now (nothing to clear it can race).
    pub fn insert(&self, key: &str, value: V) {
        let epoch = self.epoch.load(Ordering::Acquire);
        self.insert_unless_cleared_since(key, value, epoch);
    }

    fn insert_unless_cleared_since(&self, key: &str, value: V, epoch: u64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        // `clear` moves the epoch under this same lock, so this check cannot race it.
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if entries.len() >= self.capacity
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(key.to_owned(), value);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One document rendered from store answers (the discovery metadata), kept
/// whole until something it was rendered from changes. Serving it takes no
/// lock and no store round trip.
pub struct RenderedDocument {
    /// Replaced by a fresh allocation on every clear. A render keeps what it
    /// made only if the slot it started from is still the current one: one
    /// that started before a clear may have read what the clear was for.
    slot: ArcSwap<Option<Bytes>>,
}

impl Default for RenderedDocument {
    fn default() -> RenderedDocument {
        RenderedDocument { slot: ArcSwap::from_pointee(None) }
    }
}

impl RenderedDocument {
    /// The kept document, or else `render`'s, kept for the next callers.
    /// Concurrent callers after a clear may each render; all but one are discarded.
    pub async fn get_or_render<E>(&self, render: impl Future<Output = Result<Bytes, E>>) -> Result<Bytes, E> {
        if let Some(document) = &**self.slot.load() {
            return Ok(document.clone());
        }
        let started_from = self.slot.load_full();
        if let Some(document) = &*started_from {
            return Ok(document.clone());
        }
        let document = render.await?;
        // `started_from` is held, so no later slot can reuse its address.
        self.slot.compare_and_swap(&started_from, Arc::new(Some(document.clone())));
        Ok(document)
    }

    /// Forgets the document; the next caller renders it again.
    pub fn clear(&self) {
        self.slot.store(Arc::new(None));
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    fn rendered(text: &'static str) -> std::future::Ready<Result<Bytes, Infallible>> {
        std::future::ready(Ok(Bytes::from_static(text.as_bytes())))
    }

    #[tokio::test]
    async fn a_document_is_rendered_once_until_cleared() {
        let document = RenderedDocument::default();
        assert_eq!(document.get_or_render(rendered("first")).await, Ok(Bytes::from_static(b"first")));
        assert_eq!(document.get_or_render(rendered("second")).await, Ok(Bytes::from_static(b"first")));
        document.clear();
        assert_eq!(document.get_or_render(rendered("third")).await, Ok(Bytes::from_static(b"third")));
    }

    #[tokio::test]
    async fn a_render_that_raced_a_clear_is_served_but_not_kept() {
        let document = RenderedDocument::default();
        let stale = async {
            // The change lands after this render read the store.
            document.clear();
            Ok::<_, Infallible>(Bytes::from_static(b"stale"))
        };
        assert_eq!(document.get_or_render(stale).await, Ok(Bytes::from_static(b"stale")));
        assert_eq!(document.get_or_render(rendered("fresh")).await, Ok(Bytes::from_static(b"fresh")));
    }

    #[tokio::test]
    async fn a_failed_render_is_not_kept() {
        let document = RenderedDocument::default();
        let failed = document.get_or_render(std::future::ready(Err::<Bytes, _>("store down"))).await;
        assert_eq!(failed, Err("store down"));
        assert_eq!(document.get_or_render(rendered("fresh")).await, Ok(Bytes::from_static(b"fresh")));
    }
}
