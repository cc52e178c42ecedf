//! A content-addressed local cache: `<root>/<kind>/sha256/<hex>`, written through a temporary
//! file and a rename, verified (size and SHA-256) on every read. A corrupt entry is deleted.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::checksum::{HashingReader, Sha256Sum};

/// `.deb` files, by their SHA-256.
pub const DEBS: &str = "debs-v1";
/// Compressed indexes (`Packages.xz`), by their SHA-256.
pub const INDEXES: &str = "indexes-v1";

/// The cache root and the operations on it.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// `$PARE_CACHE_DIR`, else `$XDG_CACHE_HOME/pare`, else `~/.cache/pare`, else a directory
    /// under the system temporary directory.
    pub fn default_root() -> PathBuf {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        env("PARE_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("pare")))
            .or_else(|| env("HOME").map(|p| p.join(".cache").join("pare")))
            .unwrap_or_else(|| std::env::temp_dir().join("pare-cache"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an entry lives (whether or not it exists).
    pub fn path(&self, kind: &str, sha256: &Sha256Sum) -> PathBuf {
        self.root.join(kind).join("sha256").join(sha256.to_hex())
    }

    /// The path of a verified entry; `None` when absent. A corrupt entry is deleted (and `None`
    /// returned) so that the caller fetches it again.
    pub fn get(&self, kind: &str, sha256: &Sha256Sum, size: Option<u64>) -> Result<Option<PathBuf>, Error> {
        let path = self.path(kind, sha256);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        let mut reader = HashingReader::new(file);
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(Error::io(&path))?;
        let (n, actual) = reader.finish();
        if actual == *sha256 && size.is_none_or(|s| s == n) {
            return Ok(Some(path));
        }
        tracing::warn!(path = %path.display(), "corrupt cache entry deleted");
        std::fs::remove_file(&path).map_err(Error::io(&path))?;
        Ok(None)
    }

    /// Copies `reader` into the cache, checking size and SHA-256 before the entry appears.
    /// `what` names the source in errors. Nothing is left behind on failure.
    pub fn put(
        &self,
        kind: &str,
        sha256: &Sha256Sum,
        size: Option<u64>,
        reader: impl Read,
        what: &str,
    ) -> Result<PathBuf, Error> {
        let mut tmp = self.temp_file(kind)?;
        let limit = size.map_or(u64::MAX, |s| s + 1);
        let mut hashing = HashingReader::new(reader.take(limit));
        if let Err(e) = std::io::copy(&mut hashing, tmp.as_file_mut()) {
            let n = hashing.count();
            return Err(match size {
                Some(expected) if n < expected => {
                    tracing::debug!("reading {what}: {e}");
                    Error::Truncated { what: what.to_string(), expected, actual: n }
                }
                _ => Error::Stream { context: format!("downloading {what}"), source: e },
            });
        }
        let (n, actual) = hashing.finish();
        check(what, sha256, size, n, &actual)?;
        self.commit(kind, sha256, tmp)
    }

    /// A temporary file in the cache's `<kind>/tmp` directory (same file system as the entries).
    pub(crate) fn temp_file(&self, kind: &str) -> Result<tempfile::NamedTempFile, Error> {
        let dir = self.root.join(kind).join("tmp");
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        tempfile::NamedTempFile::new_in(&dir).map_err(Error::io(&dir))
    }

    /// Moves a verified temporary file into place.
    pub(crate) fn commit(
        &self,
        kind: &str,
        sha256: &Sha256Sum,
        mut tmp: tempfile::NamedTempFile,
    ) -> Result<PathBuf, Error> {
        let path = self.path(kind, sha256);
        tmp.as_file_mut().flush().map_err(Error::io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        tmp.persist(&path).map_err(|e| Error::Io { path: path.clone(), source: e.error })?;
        Ok(path)
    }
}

/// Compares what was read with what was expected.
pub(crate) fn check(
    what: &str,
    expected: &Sha256Sum,
    size: Option<u64>,
    n: u64,
    actual: &Sha256Sum,
) -> Result<(), Error> {
    if let Some(size) = size {
        if n < size {
            return Err(Error::Truncated { what: what.to_string(), expected: size, actual: n });
        }
        if n > size {
            return Err(Error::ChecksumMismatch {
                what: what.to_string(),
                expected: format!("{size} bytes"),
                actual: format!("more than {size} bytes"),
            });
        }
    }
    if actual != expected {
        return Err(Error::ChecksumMismatch {
            what: what.to_string(),
            expected: format!("sha256 {expected}"),
            actual: format!("sha256 {actual}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_corrupt_and_mismatch() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let cache = Cache::new(dir.path());
        let data = b"hello deb";
        let sum = Sha256Sum::of(data);
        assert_eq!(cache.get(DEBS, &sum, Some(9))?, None);
        let path = cache.put(DEBS, &sum, Some(9), &data[..], "hello.deb")?;
        assert_eq!(cache.get(DEBS, &sum, Some(9))?, Some(path.clone()));
        assert!(path.ends_with(format!("debs-v1/sha256/{sum}")));
        // A corrupt entry is deleted.
        std::fs::write(&path, b"hello dex").map_err(Error::io(&path))?;
        assert_eq!(cache.get(DEBS, &sum, Some(9))?, None);
        assert!(!path.exists());
        // Truncated and wrong content: an error, and nothing cached.
        let short = cache.put(DEBS, &sum, Some(9), &data[..5], "hello.deb");
        assert!(matches!(short, Err(Error::Truncated { .. })), "{short:?}");
        let wrong = cache.put(DEBS, &sum, Some(9), &b"HELLO DEB"[..], "hello.deb");
        assert!(matches!(wrong, Err(Error::ChecksumMismatch { .. })), "{wrong:?}");
        let long = cache.put(DEBS, &sum, Some(9), &b"hello deb!!"[..], "hello.deb");
        assert!(matches!(long, Err(Error::ChecksumMismatch { .. })), "{long:?}");
        assert!(!path.exists());
        let leftovers = std::fs::read_dir(dir.path().join("debs-v1/tmp")).map_err(Error::io("tmp"))?.count();
        assert_eq!(leftovers, 0);
        Ok(())
    }
}
