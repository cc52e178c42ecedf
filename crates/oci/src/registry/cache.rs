//! A content-addressed blob cache: `blobs-v1/<algorithm>/<hex>` under pare's cache directory.
//!
//! A blob is streamed to a temporary file beside its final name, verified, and renamed into
//! place, so a crash or a bad download never leaves a wrong blob under a digest. Entries are
//! verified again when opened; one that does not match (a torn write, a disk error, tampering)
//! is deleted and reported as missing, so the caller downloads it again.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::digest::{Digest, Hasher, VerifyingReader};
use crate::{Error, Result};

/// The cache layout version: a new layout gets a new directory rather than a migration.
const BLOBS_DIR: &str = "blobs-v1";

/// Blobs by digest on local disk; cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobCache {
    root: PathBuf,
}

impl BlobCache {
    /// A cache under `root` (pare's cache directory; blobs go in `root/blobs-v1`).
    pub fn new(root: impl Into<PathBuf>) -> BlobCache {
        BlobCache { root: root.into() }
    }

    /// The cache at [`BlobCache::default_root`], when this environment names one.
    /// Temporary entries that killed runs left in it are removed first (they live in their own
    /// directory, so this lists only them, not the cache).
    pub fn from_env() -> Option<BlobCache> {
        let cache = BlobCache::default_root(|name| std::env::var_os(name)).map(BlobCache::new)?;
        crate::sweep::sweep(&cache.tmp_dir(), |n| n.starts_with(".tmp-"));
        Some(cache)
    }

    /// Where downloads are written until verified: beside the entries (one filesystem, so they are
    /// renamed into place), in a directory of their own.
    fn tmp_dir(&self) -> PathBuf {
        self.root.join(BLOBS_DIR).join("tmp")
    }

    /// `$PARE_CACHE_DIR`, else `$XDG_CACHE_HOME/pare`, else `$HOME/.cache/pare`.
    pub fn default_root(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
        let nonempty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        nonempty("PARE_CACHE_DIR")
            .or_else(|| nonempty("XDG_CACHE_HOME").map(|d| d.join("pare")))
            .or_else(|| nonempty("HOME").map(|h| h.join(".cache").join("pare")))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob is (or would be) stored.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join(BLOBS_DIR).join(digest.algorithm().to_string()).join(digest.digest())
    }

    /// Whether an entry of the right size exists (not verified: [`BlobCache::open`] does that).
    pub fn contains(&self, digest: &Digest, size: u64) -> bool {
        std::fs::metadata(self.path(digest)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// Opens a cached blob after checking its size and digest. A wrong entry is deleted and
    /// `None` returned, as for a missing one.
    pub fn open(&self, digest: &Digest, size: u64) -> Result<Option<File>> {
        let path = self.path(digest);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        let good = crate::digest::file_matches(&mut file, &path, digest, size)?;
        if !good {
            tracing::warn!(path = %path.display(), %digest, "removing a corrupt cache entry");
            self.remove(digest)?;
            return Ok(None);
        }
        file.rewind().map_err(Error::io(&path))?;
        Ok(Some(file))
    }

    /// Stores a blob read from `content`, verified against `digest` and `size` before it is
    /// renamed into place. Returns its path.
    pub fn insert(&self, digest: &Digest, size: u64, content: &mut dyn Read) -> Result<PathBuf> {
        let path = self.path(digest);
        let mut verified = VerifyingReader::new(content, digest.clone(), size);
        crate::fsutil::write_atomic_from(&path, &mut verified)?;
        Ok(path)
    }

    /// Deletes an entry; returns whether there was one.
    pub fn remove(&self, digest: &Digest) -> Result<bool> {
        let path = self.path(digest);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    /// Wraps a download so that what streams through is also written to the cache; the entry
    /// appears only once all `size` bytes arrived and match `digest`. Cache write failures are
    /// logged and do not fail the download.
    pub fn tee<R: Read>(&self, inner: R, digest: &Digest, size: u64) -> CachingReader<R> {
        let dest = self.path(digest);
        let tmp_dir = self.tmp_dir();
        let tmp = dest
            .parent()
            .ok_or_else(|| io::Error::other("cache path has no parent"))
            .and_then(|dir| {
                std::fs::create_dir_all(dir)?;
                let dir = tmp_dir.as_path();
                std::fs::create_dir_all(dir)?;
                // 0666 less the umask: entries are hard-linked into layouts the user reads.
                tempfile::Builder::new()
                    .prefix(".tmp-")
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                    .tempfile_in(dir)
            })
            .map_err(|e| tracing::warn!(path = %dest.display(), error = %e, "cannot write to the blob cache"))
            .ok();
        CachingReader {
            inner,
            tmp,
            hasher: Some(Hasher::for_digest(digest)),
            written: 0,
            digest: digest.clone(),
            size,
            dest,
        }
    }
}

/// See [`BlobCache::tee`].
pub struct CachingReader<R> {
    inner: R,
    tmp: Option<tempfile::NamedTempFile>,
    hasher: Option<Hasher>,
    written: u64,
    digest: Digest,
    size: u64,
    dest: PathBuf,
}

impl<R> CachingReader<R> {
    fn abandon(&mut self, why: &str) {
        if self.tmp.take().is_some() {
            tracing::debug!(digest = %self.digest, why, "not caching blob");
        }
    }

    fn commit(&mut self) {
        let (Some(mut tmp), Some(hasher)) = (self.tmp.take(), self.hasher.take()) else {
            return;
        };
        let actual = hasher.finish();
        if actual != self.digest {
            tracing::debug!(digest = %self.digest, %actual, "downloaded content does not match; not caching");
            return;
        }
        let result = tmp.flush().and_then(|()| tmp.persist(&self.dest).map(|_| ()).map_err(|e| e.error));
        match result {
            Ok(()) => tracing::debug!(digest = %self.digest, "cached blob"),
            Err(e) => tracing::warn!(path = %self.dest.display(), error = %e, "cannot write to the blob cache"),
        }
    }
}

impl<R: Read> Read for CachingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.abandon("the download failed");
                }
                return Err(e);
            }
        };
        if n == 0 {
            if !buf.is_empty() {
                self.abandon("the download ended early");
            }
            return Ok(0);
        }
        if let Some(tmp) = self.tmp.as_mut()
            && let Err(e) = tmp.write_all(&buf[..n])
        {
            tracing::warn!(error = %e, "cannot write to the blob cache");
            self.abandon("a cache write failed");
        }
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        self.written += n as u64;
        if self.written > self.size {
            self.abandon("the download is longer than its descriptor says");
        } else if self.written == self.size {
            self.commit();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;

    #[test]
    fn stores_verifies_and_repairs() -> Result<()> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let cache = BlobCache::new(dir.path());
        let data = b"some layer bytes".to_vec();
        let digest = sha256(&data);
        assert!(cache.open(&digest, data.len() as u64)?.is_none());

        // A wrong stream leaves nothing behind.
        let bad = sha256(b"other");
        assert!(cache.insert(&bad, data.len() as u64, &mut &data[..]).is_err());
        assert!(!cache.path(&bad).exists());

        let path = cache.insert(&digest, data.len() as u64, &mut &data[..])?;
        assert!(path.ends_with(format!("blobs-v1/sha256/{}", digest.digest())));
        let mut read = Vec::new();
        let mut file = cache.open(&digest, data.len() as u64)?.ok_or_else(|| Error::Unsupported("missing".into()))?;
        file.read_to_end(&mut read).map_err(Error::io(&path))?;
        assert_eq!(read, data);

        // Same size, flipped byte: deleted, reported missing.
        let mut corrupt = data.clone();
        corrupt[0] ^= 1;
        std::fs::write(&path, &corrupt).map_err(Error::io(&path))?;
        assert!(cache.open(&digest, data.len() as u64)?.is_none());
        assert!(!path.exists());
        Ok(())
    }

    #[test]
    fn tee_caches_only_complete_verified_streams() -> Result<()> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let cache = BlobCache::new(dir.path());
        let data = vec![7u8; 100_000];
        let digest = sha256(&data);
        let size = data.len() as u64;

        // Partial read, then dropped: nothing cached, no temp file left.
        let mut tee = cache.tee(&data[..], &digest, size);
        let mut buf = [0u8; 1000];
        tee.read_exact(&mut buf).map_err(Error::io("tee"))?;
        drop(tee);
        assert!(!cache.contains(&digest, size));

        // Wrong content of the right size: not cached.
        let wrong = vec![8u8; 100_000];
        io::copy(&mut cache.tee(&wrong[..], &digest, size), &mut io::sink()).map_err(Error::io("tee"))?;
        assert!(!cache.contains(&digest, size));

        io::copy(&mut cache.tee(&data[..], &digest, size), &mut io::sink()).map_err(Error::io("tee"))?;
        assert!(cache.open(&digest, size)?.is_some());
        let leftovers = std::fs::read_dir(cache.path(&digest).parent().unwrap_or(dir.path()))
            .map_err(Error::io("cache dir"))?
            .count();
        assert_eq!(leftovers, 1);
        Ok(())
    }

    #[test]
    fn default_root_follows_xdg() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(BlobCache::default_root(vars(&[("PARE_CACHE_DIR", "/c"), ("HOME", "/h")])), Some("/c".into()));
        assert_eq!(BlobCache::default_root(vars(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])), Some("/x/pare".into()));
        assert_eq!(BlobCache::default_root(vars(&[("HOME", "/h")])), Some("/h/.cache/pare".into()));
        assert_eq!(BlobCache::default_root(vars(&[])), None);
    }
}
