//! Clients cached in memory: every token request authenticates one, and a
//! store round trip costs more than signing the token.
//!
//! Invalidation is whole-cache and driven by the store: any change to any
//! client, by any process, moves the clients generation (a trigger in the
//! writer's transaction), and `changes` clears the cache when it sees that.
//! Clients change rarely, so a full clear costs little and cannot miss one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tessera_core::client::Client;
use tessera_store::{Store, StoreError};

/// At most this many clients are held; past it an arbitrary entry makes room.
const DEFAULT_CAPACITY: usize = 10_000;

pub struct ClientCache {
    entries: RwLock<HashMap<String, Arc<Client>>>,
    /// Moves on every clear. A lookup that started before a clear must not
    /// store what it read: it may be the stale version the clear was for.
    epoch: AtomicU64,
    capacity: usize,
}

impl Default for ClientCache {
    fn default() -> ClientCache {
        ClientCache::with_capacity(DEFAULT_CAPACITY)
    }
}

impl ClientCache {
    pub fn with_capacity(capacity: usize) -> ClientCache {
        ClientCache { entries: RwLock::default(), epoch: AtomicU64::new(0), capacity: capacity.max(1) }
    }

    /// The client, from memory or else from the store. Unknown ids are not
    /// remembered: they are attacker-chosen, and would only crowd out real clients.
    pub async fn find(&self, store: &dyn Store, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if let Some(client) = self.entries.read().unwrap_or_else(PoisonError::into_inner).get(client_id) {
            return Ok(Some(Arc::clone(client)));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some(client) = store.find_client(client_id).await? else { return Ok(None) };
        let client = Arc::new(client);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        // `clear` moves the epoch under this same lock, so this check cannot race it.
        if self.epoch.load(Ordering::Acquire) == epoch {
            if entries.len() >= self.capacity
                && let Some(evicted) = entries.keys().next().cloned()
            {
                entries.remove(&evicted);
            }
            entries.insert(client_id.to_owned(), Arc::clone(&client));
        }
        Ok(Some(client))
    }

    /// Forgets every client.
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
