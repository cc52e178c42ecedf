//! Media types pare reads and writes, and layer compression.

use std::io::{self, BufReader, Read};

use crate::{Error, Result};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
pub const DOCKER_FOREIGN_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// Every manifest media type, as an `Accept` header value for registries.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Whether a media type is an index (manifest list) or an image manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    Index,
    Image,
}

impl ManifestKind {
    pub fn of(media_type: &str) -> Option<ManifestKind> {
        match media_type {
            OCI_INDEX | DOCKER_MANIFEST_LIST => Some(ManifestKind::Index),
            OCI_MANIFEST | DOCKER_MANIFEST => Some(ManifestKind::Image),
            _ => None,
        }
    }

    /// Guesses from a manifest body without `mediaType` (allowed by the OCI spec).
    pub fn sniff(body: &[u8]) -> Option<ManifestKind> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if let Some(mt) = value.get("mediaType").and_then(|m| m.as_str()) {
            return ManifestKind::of(mt);
        }
        if value.get("manifests").is_some() {
            Some(ManifestKind::Index)
        } else if value.get("layers").is_some() || value.get("config").is_some() {
            Some(ManifestKind::Image)
        } else {
            None
        }
    }
}

/// How a layer blob is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The level to write with: `level`, or the default of this compression; gzip takes 1–9, zstd
    /// 1–19, no compression none.
    pub fn check_level(self, level: Option<i32>) -> crate::Result<i32> {
        let (default, range) = match self {
            Compression::None => (0, 0..=0),
            Compression::Gzip => (crate::layer_writer::GZIP_LEVEL as i32, 1..=9),
            Compression::Zstd => (crate::layer_writer::ZSTD_LEVEL, 1..=19),
        };
        match level {
            None => Ok(default),
            Some(l) if range.contains(&l) && self != Compression::None => Ok(l),
            Some(l) => Err(crate::Error::Unsupported(match self {
                Compression::None => format!("a compression level ({l}) for uncompressed layers"),
                Compression::Gzip => format!("gzip level {l}: use 1 to 9"),
                Compression::Zstd => format!("zstd level {l}: use 1 to 19"),
            })),
        }
    }

    /// From a layer media type; `None` when the type is not a layer type pare knows.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        match media_type {
            OCI_LAYER | DOCKER_LAYER | "application/vnd.oci.image.layer.nondistributable.v1.tar" => {
                Some(Compression::None)
            }
            OCI_LAYER_GZIP
            | DOCKER_LAYER_GZIP
            | DOCKER_FOREIGN_LAYER_GZIP
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => Some(Compression::Gzip),
            OCI_LAYER_ZSTD | DOCKER_LAYER_ZSTD | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
                Some(Compression::Zstd)
            }
            _ => None,
        }
    }

    /// From the first bytes of a blob (gzip and zstd magic numbers), for archives that do not say.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The OCI layer media type for this compression.
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => OCI_LAYER,
            Compression::Gzip => OCI_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
        }
    }

    /// Wraps a compressed stream in the matching decoder.
    pub fn decoder<'a>(self, reader: impl Read + Send + 'a) -> Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::None => Box::new(reader),
            // MultiGzDecoder: concatenated gzip members are one stream, as in Go's gzip reader.
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(reader))),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(reader).map_err(Error::stream("starting the zstd decoder"))?)
            }
        })
    }
}

/// Limits a decompressed stream, so that a small blob cannot expand without bound.
pub struct LimitedReader<R> {
    inner: R,
    remaining: u64,
    limit: u64,
    what: String,
}

impl<R: Read> LimitedReader<R> {
    pub fn new(inner: R, limit: u64, what: impl Into<String>) -> Self {
        LimitedReader { inner, remaining: limit, limit, what: what.into() }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            return Err(io::Error::other(Error::LimitExceeded {
                what: format!("the uncompressed size of {}", self.what),
                limit: self.limit,
                hint: "raise it with --max-size if this image is really that large".into(),
            }));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Completes a tar stream that stops right after its last entry's data, without the padding to a
/// 512-byte block and the two zero blocks that end an archive (umoci 0.4 writes such layers; Go's
/// tar reader accepts them, GNU tar and the `tar` crate do not). At end of input it supplies those
/// zeros and records that it did. Content is unchanged: digests are checked on the real bytes
/// by the readers beneath this one, before it pads.
pub struct TarTrailerPad<R> {
    inner: R,
    read: u64,
    /// Zero bytes still to supply once `inner` has ended; `None` while it has not.
    padding: Option<u64>,
    padded: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R: Read> TarTrailerPad<R> {
    pub fn new(inner: R) -> Self {
        TarTrailerPad { inner, read: 0, padding: None, padded: Default::default() }
    }

    /// Set to true once zeros were supplied (the stream lacked its trailer).
    pub fn padded_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.padded.clone()
    }
}

impl<R: Read> Read for TarTrailerPad<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.padding.is_none() {
            let n = self.inner.read(buf)?;
            if n > 0 {
                self.read += n as u64;
                return Ok(n);
            }
            // A complete archive ends on a block boundary with at least two zero blocks; the tar
            // reader stops at them and never reads this far unless they are missing.
            let to_block = (512 - self.read % 512) % 512;
            self.padding = Some(if self.read == 0 { 0 } else { to_block + 1024 });
        }
        let remaining = self.padding.unwrap_or(0);
        if remaining == 0 {
            return Ok(0);
        }
        self.padded.store(true, std::sync::atomic::Ordering::Relaxed);
        let n = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        buf[..n].fill(0);
        self.padding = Some(remaining - n as u64);
        Ok(n)
    }
}

/// Reads a stream on a thread of its own, a few chunks ahead of the consumer, so that
/// decompressing and hashing a layer (on that thread) overlap with parsing it and writing files
/// (on the caller's). Errors arrive in order, after the data read before them.
pub struct ReadAhead {
    chunks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    position: usize,
    done: bool,
}

/// Bytes read per chunk, and chunks buffered ahead (at most 4 MiB in flight per stream).
const READ_AHEAD_CHUNK: usize = 256 << 10;
const READ_AHEAD_DEPTH: usize = 16;

impl ReadAhead {
    pub fn spawn(mut inner: Box<dyn Read + Send>) -> ReadAhead {
        let (tx, rx) = std::sync::mpsc::sync_channel(READ_AHEAD_DEPTH);
        let spawned = std::thread::Builder::new().name("pare-read-ahead".into()).spawn(move || {
            loop {
                let mut chunk = vec![0u8; READ_AHEAD_CHUNK];
                let (n, error) = read_full(&mut inner, &mut chunk);
                if n > 0 {
                    chunk.truncate(n);
                    // A send fails only when the consumer went away: stop reading.
                    if tx.send(Ok(chunk)).is_err() {
                        break;
                    }
                }
                if let Some(e) = error {
                    let _ = tx.send(Err(e));
                    break;
                }
                if n == 0 {
                    break;
                }
            }
        });
        let (chunks, done) = match spawned {
            Ok(_) => (rx, false),
            Err(e) => {
                // No thread to be had: report it as the stream's error.
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let _ = tx.send(Err(e));
                (rx, false)
            }
        };
        ReadAhead { chunks, current: Vec::new(), position: 0, done }
    }
}

/// Fills `buf` as far as the stream allows; an error ends the fill and is returned beside the
/// count of bytes read before it (a verifying reader reports a bad digest only once).
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.position == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.position = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The thread ended: end of stream.
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_a_tar_without_its_trailer() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_path("file")?;
        header.set_size(700);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, &[7u8; 700][..])?;
        let full = builder.into_inner()?;
        // Cut the padding of the last entry and the two end blocks, as umoci 0.4.7 does.
        let cut = &full[..512 + 700];
        assert!(tar::Archive::new(cut).entries()?.try_for_each(|e| e.map(|_| ())).is_err());
        let padded = TarTrailerPad::new(cut);
        let flag = padded.padded_flag();
        let mut archive = tar::Archive::new(padded);
        let mut sizes = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            assert!(data.iter().all(|b| *b == 7));
            sizes.push(data.len());
        }
        assert_eq!(sizes, vec![700]);
        assert!(flag.load(std::sync::atomic::Ordering::Relaxed));
        // A complete archive is read without padding.
        let whole = TarTrailerPad::new(full.as_slice());
        let flag = whole.padded_flag();
        let mut archive = tar::Archive::new(whole);
        for entry in archive.entries()? {
            entry?;
        }
        assert!(!flag.load(std::sync::atomic::Ordering::Relaxed));
        Ok(())
    }

    #[test]
    fn read_ahead_keeps_bytes_and_errors_in_order() {
        let data: Vec<u8> = (0..(READ_AHEAD_CHUNK * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let good = crate::digest::VerifyingReader::new(
            std::io::Cursor::new(data.clone()),
            crate::sha256(&data),
            data.len() as u64,
        );
        let mut out = Vec::new();
        assert!(ReadAhead::spawn(Box::new(good)).read_to_end(&mut out).is_ok());
        assert_eq!(out, data);

        // A digest mismatch shows up only on the read that reaches the end: it must not be lost.
        let bad = crate::digest::VerifyingReader::new(
            std::io::Cursor::new(data.clone()),
            crate::sha256(b"other"),
            data.len() as u64,
        );
        let err = ReadAhead::spawn(Box::new(bad)).read_to_end(&mut Vec::new()).err();
        let err = err.map(|e| Error::from_io("test", e));
        assert!(matches!(err, Some(Error::DigestMismatch { .. })), "{err:?}");
    }
}
