//! A bounded map whose entries expire: verdicts by digest and tags resolved to digests. When full,
//! the oldest entry goes first (insertion order); expired entries are dropped when read.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
    ttl: Duration,
}

struct Inner<K, V> {
    map: HashMap<K, (V, Instant, u64)>,
    /// Keys in insertion order with the generation they were inserted at (a key inserted again
    /// has a newer generation; its older place in the queue is skipped on eviction).
    order: VecDeque<(K, u64)>,
    generation: u64,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A cache of at most `capacity` entries (0 caches nothing), each kept `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> TtlCache<K, V> {
        let inner = Inner { map: HashMap::new(), order: VecDeque::new(), generation: 0 };
        TtlCache { inner: Mutex::new(inner), capacity, ttl }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut inner = self.lock();
        let (value, at, _) = inner.map.get(key)?;
        if at.elapsed() < self.ttl {
            return Some(value.clone());
        }
        inner.map.remove(key);
        None
    }

    pub fn insert(&self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.generation += 1;
        let generation = inner.generation;
        inner.map.insert(key.clone(), (value, Instant::now(), generation));
        inner.order.push_back((key, generation));
        while inner.map.len() > self.capacity || inner.order.len() > 2 * self.capacity + 16 {
            let Some((old, at)) = inner.order.pop_front() else { break };
            if inner.map.get(&old).is_some_and(|(_, _, g)| *g == at) {
                inner.map.remove(&old);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_oldest_first() {
        let cache = TtlCache::new(2, Duration::from_secs(60));
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("a", 3);
        cache.insert("c", 4);
        // "b" is now the oldest: "a" was inserted again after it.
        assert_eq!((cache.get(&"a"), cache.get(&"b"), cache.get(&"c")), (Some(3), None, Some(4)));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn entries_expire() {
        let cache = TtlCache::new(4, Duration::ZERO);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(cache.len(), 0);
        let none = TtlCache::new(0, Duration::from_secs(60));
        none.insert("a", 1);
        assert_eq!(none.get(&"a"), None);
    }
}
