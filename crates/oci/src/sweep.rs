//! Leftovers of killed runs: temporary files and directories under names pare chose. The runs that
//! make them remove, at their start, those over an hour old that no live run holds a lock on.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rustix::fs::{FlockOperation, flock};

/// Temporary entries older than this (by mtime) are leftovers.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A shared lock on a temporary directory, held while a run uses it: sweeps leave it alone even
/// when its mtime is old. Released when dropped (or when the process dies).
#[derive(Debug)]
pub struct InUse {
    _lock: File,
}

/// Locks `path` (a directory or file) as in use; `None` when it cannot be locked (then only its
/// age protects it).
pub fn hold(path: &Path) -> Option<InUse> {
    let file = File::open(path).ok()?;
    flock(&file, FlockOperation::LockShared).ok()?;
    Some(InUse { _lock: file })
}

/// Removes the entries of `dir` whose name `is_temp` accepts, last modified over [`STALE_AFTER`]
/// ago and not locked by a live run. Best effort; returns how many were removed.
pub fn sweep(dir: &Path, is_temp: impl Fn(&str) -> bool) -> usize {
    let Ok(listing) = std::fs::read_dir(dir) else { return 0 };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in listing.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(&is_temp) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let age = meta.modified().ok().and_then(|m| now.duration_since(m).ok());
        if age.is_none_or(|a| a <= STALE_AFTER) {
            continue;
        }
        let gone = if meta.is_dir() {
            // Kept open (and locked) until removed, so a run cannot take it meanwhile.
            let Ok(lock) = File::open(&path) else { continue };
            if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
                continue;
            }
            crate::fs::remove_tree(&path);
            !path.exists()
        } else if meta.is_file() {
            let Ok(lock) = File::open(&path) else { continue };
            flock(&lock, FlockOperation::NonBlockingLockExclusive).is_ok() && std::fs::remove_file(&path).is_ok()
        } else if meta.is_symlink() {
            std::fs::remove_file(&path).is_ok()
        } else {
            continue;
        };
        if gone {
            tracing::debug!(path = %path.display(), "removed a temporary entry left by a killed run");
            removed += 1;
        }
    }
    removed
}
