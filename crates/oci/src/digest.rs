//! Content digests and readers that verify them as bytes stream through.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256, Sha512};

use crate::{Error, Result};

pub use oci_spec::image::{Digest, DigestAlgorithm};

/// Parses and validates a digest string (`sha256:<64 hex>` or `sha512:<128 hex>`).
pub fn parse_digest(value: &str) -> Result<Digest> {
    let digest: Digest = value.parse().map_err(|e: oci_spec::OciSpecError| Error::InvalidDigest {
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    match digest.algorithm() {
        DigestAlgorithm::Sha256 | DigestAlgorithm::Sha512 => Ok(digest),
        other => Err(Error::InvalidDigest {
            value: value.to_string(),
            reason: format!("unsupported algorithm `{other}` (pare verifies sha256 and sha512)"),
        }),
    }
}

/// The sha256 digest of some bytes.
pub fn sha256(bytes: &[u8]) -> Digest {
    let mut hasher = Hasher::new(&DigestAlgorithm::Sha256);
    hasher.update(bytes);
    hasher.finish()
}

/// An incremental hasher for one of the algorithms OCI registries use.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: &DigestAlgorithm) -> Hasher {
        match algorithm {
            DigestAlgorithm::Sha512 => Hasher::Sha512(Sha512::new()),
            _ => Hasher::Sha256(Sha256::new()),
        }
    }

    pub fn for_digest(digest: &Digest) -> Hasher {
        Hasher::new(digest.algorithm())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => ("sha256", hex::encode(h.finalize())),
            Hasher::Sha512(h) => ("sha512", hex::encode(h.finalize())),
        };
        // A hex string we just computed is always a valid digest: not data from outside.
        #[allow(clippy::expect_used)]
        format!("{algorithm}:{hex}").parse().expect("computed digest is valid")
    }
}

/// Whether `file` (at `path`, for messages) has `size` bytes hashing to `digest`. Reads it to the end.
pub(crate) fn file_matches(
    file: &mut std::fs::File,
    path: &std::path::Path,
    digest: &Digest,
    size: u64,
) -> Result<bool> {
    let meta = file.metadata().map_err(Error::io(path))?;
    if !meta.is_file() || meta.len() != size {
        return Ok(false);
    }
    let mut hasher = Hasher::for_digest(digest);
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io { path: path.to_path_buf(), source: e }),
        }
    }
    Ok(&hasher.finish() == digest)
}

/// Counts and hashes what is written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Hasher::new(&DigestAlgorithm::Sha256), written: 0 }
    }

    /// The writer, the sha256 of everything written and its length.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, self.hasher.finish(), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Counts and hashes what is read through it, without checking anything.
pub struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    read: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Hasher::new(&DigestAlgorithm::Sha256), read: 0 }
    }

    pub fn finish(self) -> (R, Digest, u64) {
        (self.inner, self.hasher.finish(), self.read)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Reads a blob and fails if it is longer or shorter than expected or does not hash to its digest.
///
/// The check happens as the bytes stream: reading past the expected size fails at once, and the
/// read that reaches end of stream fails if the digest differs, so a consumer that reads to the end
/// never accepts corrupt content. The error is an [`Error`] wrapped in `io::Error`; use
/// `Error::from_io` style unwrapping (`io::Error::downcast`) to get it back.
pub struct VerifyingReader<R> {
    inner: R,
    digest: Digest,
    expected_size: u64,
    hasher: Option<Hasher>,
    read: u64,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, digest: Digest, expected_size: u64) -> Self {
        let hasher = Some(Hasher::for_digest(&digest));
        VerifyingReader { inner, digest, expected_size, hasher, read: 0 }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Read at most one byte past the expected size, to notice oversize blobs.
        let remaining = self.expected_size.saturating_sub(self.read).saturating_add(1);
        let cap = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..cap])?;
        self.read += n as u64;
        if self.read > self.expected_size {
            return Err(io::Error::other(Error::SizeMismatch {
                digest: self.digest.clone(),
                expected_size: self.expected_size,
                actual_size: self.read,
            }));
        }
        match (&mut self.hasher, n) {
            (Some(hasher), n) if n > 0 => hasher.update(&buf[..n]),
            (Some(_), _) => {
                if self.read != self.expected_size {
                    return Err(io::Error::other(Error::SizeMismatch {
                        digest: self.digest.clone(),
                        expected_size: self.expected_size,
                        actual_size: self.read,
                    }));
                }
                if let Some(hasher) = self.hasher.take() {
                    let actual = hasher.finish();
                    if actual != self.digest {
                        return Err(io::Error::other(Error::DigestMismatch { digest: self.digest.clone(), actual }));
                    }
                }
            }
            (None, _) => {}
        }
        Ok(n)
    }
}

/// Reads a whole blob into memory, verifying it. `limit` guards against absurd sizes.
pub fn read_verified(reader: impl Read, digest: &Digest, size: u64, limit: u64) -> Result<Vec<u8>> {
    if size > limit {
        return Err(Error::LimitExceeded {
            what: format!("blob `{digest}` of {size} bytes"),
            limit,
            hint: "manifests and configs are small; this one is not".into(),
        });
    }
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    VerifyingReader::new(reader, digest.clone(), size)
        .read_to_end(&mut out)
        .map_err(|e| Error::from_io(format!("reading blob `{digest}`"), e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_content() -> Result<()> {
        let data = b"hello world";
        let digest = sha256(data);
        assert_eq!(read_verified(&data[..], &digest, 11, 100)?, data);
        let wrong = sha256(b"other");
        assert!(matches!(read_verified(&data[..], &wrong, 11, 100), Err(Error::DigestMismatch { .. })));
        assert!(matches!(read_verified(&data[..], &digest, 10, 100), Err(Error::SizeMismatch { .. })));
        assert!(matches!(read_verified(&data[..], &digest, 12, 100), Err(Error::SizeMismatch { .. })));
        assert!(matches!(read_verified(&data[..], &digest, 11, 5), Err(Error::LimitExceeded { .. })));
        Ok(())
    }

    #[test]
    fn rejects_bad_digests() {
        for bad in ["sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", "nocolon", "sha256:ZZ"] {
            assert!(parse_digest(bad).is_err(), "{bad}");
        }
        assert!(parse_digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").is_ok());
    }
}
