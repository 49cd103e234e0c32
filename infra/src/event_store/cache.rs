//! The aggregate cache: committed states a command starts from.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

pub(super) type CacheKey = (Uuid, &'static str, String);
/// A cached state and its version.
type CacheEntry = (u64, Arc<dyn Any + Send + Sync>);

/// Committed aggregate states kept in memory, so a command reads only the events after
/// the state it already holds (usually none) instead of the snapshot and its tail.
///
/// Only *committed* states go in: [`CommandBus::execute`] after its commit, the API's
/// command transaction after its (see [`Remember`]). A state is only ever a starting
/// point: every load still runs under the stream's writer lock and applies the events
/// after it, so other writers (other replicas, workers) are never missed; a cached
/// version the stream does not have is dropped and the stream read in full. Bounded:
/// when full, it starts over.
pub struct AggregateCache {
    entries: Mutex<HashMap<CacheKey, CacheEntry>>,
    capacity: usize,
}

impl AggregateCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn get<A: Clone + 'static>(&self, key: &CacheKey) -> Option<(u64, A)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (version, state) = entries.get(key)?;
        state.downcast_ref::<A>().map(|a| (*version, a.clone()))
    }

    pub(super) fn put<A: Send + Sync + 'static>(&self, key: CacheKey, version: u64, state: A) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.get(&key).is_some_and(|(v, _)| *v >= version) {
            return;
        }
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, Arc::new(state)));
    }

    pub(super) fn forget(&self, key: &CacheKey) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// A committed state to put in the cache once the transaction that wrote it commits.
pub struct Remember(pub(super) Box<dyn FnOnce() + Send>);

impl Remember {
    /// Call after the commit succeeded.
    pub fn committed(self) {
        (self.0)();
    }
}
