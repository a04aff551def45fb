//! Store answers cached in memory for the hot paths: the client a token
//! request authenticates, and whether a token being introspected was revoked.
//! A store round trip costs more than signing a token.
//!
//! Invalidation is whole-cache and driven by the store: any change, by any
//! process, moves a generation counter (a trigger in the writer's
//! transaction), and `changes` clears the matching cache when it sees that.
//! These records change rarely, so a full clear costs little and cannot miss one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

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
