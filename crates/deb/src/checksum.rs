//! SHA-256 sums as the archive writes them (lowercase hex), and hashing while reading.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::Error;

/// A SHA-256 sum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Sum(pub [u8; 32]);

impl Sha256Sum {
    /// Parses 64 hex digits (either case).
    pub fn parse(hex_text: &str) -> Result<Sha256Sum, Error> {
        let mut out = [0u8; 32];
        if hex_text.len() != 64 {
            return Err(Error::InvalidChecksum {
                value: hex_text.to_string(),
                reason: "expected 64 hex digits".into(),
            });
        }
        hex::decode_to_slice(hex_text, &mut out)
            .map_err(|e| Error::InvalidChecksum { value: hex_text.to_string(), reason: e.to_string() })?;
        Ok(Sha256Sum(out))
    }

    /// The sum of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Sum {
        Sha256Sum(Sha256::digest(bytes).into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Sum({})", self.to_hex())
    }
}

impl FromStr for Sha256Sum {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256Sum::parse(s)
    }
}

/// Passes bytes through while counting and hashing them.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), count: 0 }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Bytes read so far and their sum.
    pub fn finish(self) -> (u64, Sha256Sum) {
        (self.count, Sha256Sum(self.hasher.finalize().into()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
