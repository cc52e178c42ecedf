//! Deciding which lock a verb works from, and writing `DEF.lock`: `pare build`, `why`, `lock` and
//! `update` call these instead of deciding themselves.

use std::path::PathBuf;

use crate::lock::{Change, Lock};
use crate::resolve::{Events, lock_definition};
use crate::{Error, Loaded, current_lock};

/// Where the lock a build uses came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOrigin {
    /// `DEF.lock`, current for the definition.
    File,
    /// Resolved now: the definition has no lock file (or `ignore_lock`, or a gallery definition).
    Resolved,
}

/// The lock to build from: the definition's current lock, else a fresh resolution (a stale lock is an
/// error naming `pare update`). With `only` (`--arch`), a fresh resolution covers just those of the
/// definition's architectures (an unknown one is left for the build to report).
pub fn lock_for_build(
    loaded: &Loaded,
    client: &pare_deb::ArchiveClient,
    ignore_lock: bool,
    only: &[String],
    events: Events<'_>,
) -> Result<(Lock, LockOrigin), Error> {
    if !ignore_lock && let Some(lock) = current_lock(loaded)? {
        return Ok((lock, LockOrigin::File));
    }
    let archs = &loaded.definition.architectures;
    if !only.is_empty() && only.iter().all(|a| archs.contains(a)) {
        let mut narrowed = loaded.clone();
        narrowed.definition.architectures.retain(|a| only.contains(a));
        return Ok((lock_definition(&narrowed, client, events)?, LockOrigin::Resolved));
    }
    Ok((lock_definition(loaded, client, events)?, LockOrigin::Resolved))
}

/// What [`relock`] did.
#[derive(Clone, Debug)]
pub struct Relocked {
    pub path: PathBuf,
    pub lock: Lock,
    /// `false` when the lock was current and `update` was not asked: nothing was written.
    pub written: bool,
    /// Changes from the previous lock (empty without one).
    pub changes: Vec<Change>,
    /// Whether there was a previous lock to compare with.
    pub had_lock: bool,
}

/// `pare lock` (`update` false: only when missing or stale) and `pare update` (`update` true: always):
/// resolves and writes `DEF.lock` atomically, with the changes from the previous lock.
pub fn relock(
    loaded: &Loaded,
    client: &pare_deb::ArchiveClient,
    update: bool,
    events: Events<'_>,
) -> Result<Relocked, Error> {
    let Some(path) = loaded.lock_path.clone() else {
        return Err(Error::field(
            &loaded.origin,
            "lock",
            "a gallery definition has no lock file",
            "copy the definition into a file (`pare lock FILE.toml` writes FILE.lock next to it)",
        ));
    };
    let old = if path.exists() { Lock::read(&path).ok() } else { None };
    if !update && let Ok(Some(lock)) = current_lock(loaded) {
        return Ok(Relocked { path, lock, written: false, changes: Vec::new(), had_lock: true });
    }
    let lock = lock_definition(loaded, client, events)?;
    lock.write(&path)?;
    let changes = old.as_ref().map(|old| lock.diff(old)).unwrap_or_default();
    Ok(Relocked { path, lock, written: true, changes, had_lock: old.is_some() })
}
