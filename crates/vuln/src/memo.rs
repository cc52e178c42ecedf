//! A bounded map shared between threads, for what a long-lived reader of one database keeps in memory
//! (advisories per package, CVSS per id, matches per package version).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Up to `capacity` entries; past it, nothing more is kept, and the log says so once.
#[derive(Debug)]
pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, V>>,
    capacity: usize,
    /// What the entries are, for the log (`package versions' matches`).
    what: &'static str,
    full: AtomicBool,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub fn new(what: &'static str, capacity: usize) -> Memo<K, V> {
        Memo { entries: Mutex::new(HashMap::new()), capacity, what, full: AtomicBool::new(false) }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// Keeps `value` under `key`, unless the memo is full.
    pub fn insert(&self, key: K, value: V) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() < self.capacity {
            entries.insert(key, value);
        } else if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "{} {} are kept in memory: others are looked up again on every scan (slower rescans)",
                self.capacity,
                self.what
            );
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_its_capacity() {
        let memo: Memo<String, u32> = Memo::new("numbers", 2);
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            memo.insert(key.to_string(), i as u32);
        }
        assert_eq!((memo.len(), memo.get("a"), memo.get("b"), memo.get("c")), (2, Some(0), Some(1), None));
    }
}
