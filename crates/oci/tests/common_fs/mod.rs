//! Raw tar layers (malicious names included) wrapped into images in temporary OCI layouts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pare_oci::{Digest, Image, LayoutSource, Root, blob_path, media_types, sha256};

#[derive(Clone)]
pub enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(Vec<u8>),
    Hardlink(Vec<u8>),
    Char(u32, u32),
    Fifo,
    /// A raw type byte, for unsupported types.
    Raw(u8),
}

#[derive(Clone)]
pub struct E {
    pub name: Vec<u8>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
}

fn entry(name: &[u8], kind: Kind, mode: u32) -> E {
    E { name: name.to_vec(), kind, mode, uid: 0, gid: 0, mtime: 1_700_000_000 }
}

pub fn file(name: &str, content: &str) -> E {
    entry(name.as_bytes(), Kind::File(content.as_bytes().to_vec()), 0o644)
}

pub fn dir(name: &str) -> E {
    entry(name.as_bytes(), Kind::Dir, 0o755)
}

pub fn symlink(name: &str, target: &str) -> E {
    entry(name.as_bytes(), Kind::Symlink(target.as_bytes().to_vec()), 0o777)
}

pub fn hardlink(name: &str, target: &str) -> E {
    entry(name.as_bytes(), Kind::Hardlink(target.as_bytes().to_vec()), 0o644)
}

pub fn raw_name(name: &[u8], content: &str) -> E {
    entry(name, Kind::File(content.as_bytes().to_vec()), 0o644)
}

pub fn chardev(name: &str, major: u32, minor: u32) -> E {
    entry(name.as_bytes(), Kind::Char(major, minor), 0o666)
}

pub fn fifo(name: &str) -> E {
    entry(name.as_bytes(), Kind::Fifo, 0o644)
}

impl E {
    pub fn mode(mut self, mode: u32) -> E {
        self.mode = mode;
        self
    }

    pub fn owner(mut self, uid: u64, gid: u64) -> E {
        self.uid = uid;
        self.gid = gid;
        self
    }

    pub fn mtime(mut self, mtime: u64) -> E {
        self.mtime = mtime;
        self
    }
}

/// A tar header with the name and link name written as raw bytes, bypassing the tar crate's
/// checks, so `..` and absolute names get into the archive.
pub fn header(e: &E) -> (tar::Header, Vec<u8>) {
    let mut h = tar::Header::new_gnu();
    let (kind, data, link) = match &e.kind {
        Kind::File(data) => (tar::EntryType::Regular, data.clone(), None),
        Kind::Dir => (tar::EntryType::Directory, Vec::new(), None),
        Kind::Symlink(t) => (tar::EntryType::Symlink, Vec::new(), Some(t.clone())),
        Kind::Hardlink(t) => (tar::EntryType::Link, Vec::new(), Some(t.clone())),
        Kind::Char(..) => (tar::EntryType::Char, Vec::new(), None),
        Kind::Fifo => (tar::EntryType::Fifo, Vec::new(), None),
        Kind::Raw(b) => (tar::EntryType::new(*b), Vec::new(), None),
    };
    h.set_entry_type(kind);
    assert!(e.name.len() <= 100, "use long() for long names");
    h.as_old_mut().name[..e.name.len()].copy_from_slice(&e.name);
    if let Some(link) = link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(&link);
    }
    if let Kind::Char(major, minor) = e.kind {
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
    }
    h.set_size(data.len() as u64);
    h.set_mode(e.mode);
    h.set_uid(e.uid);
    h.set_gid(e.gid);
    h.set_mtime(e.mtime);
    h.set_cksum();
    (h, data)
}

/// An uncompressed tar of the entries, in order.
pub fn tar(entries: &[E]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let (h, data) = header(e);
        builder.append(&h, &data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// One layer blob as stored, with the diff ID the config gives for it.
pub struct Blob {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
    pub media_type: &'static str,
    pub diff_id: Digest,
}

/// A temporary OCI layout being filled with blobs.
pub struct Layout {
    pub dir: tempfile::TempDir,
    pub blobs: Vec<Blob>,
}

impl Layout {
    pub fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        Layout { dir, blobs: Vec::new() }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    fn put(&self, bytes: &[u8]) -> (Digest, u64) {
        let digest = sha256(bytes);
        std::fs::write(blob_path(self.root(), &digest), bytes).unwrap();
        (digest, bytes.len() as u64)
    }

    /// Adds a gzip layer from an uncompressed tar.
    pub fn layer(&mut self, tar: &[u8]) -> &mut Blob {
        let gz = gzip(tar);
        let (digest, size) = self.put(&gz);
        self.blobs.push(Blob {
            path: blob_path(self.root(), &digest),
            digest,
            size,
            media_type: media_types::OCI_LAYER_GZIP,
            diff_id: sha256(tar),
        });
        self.blobs.last_mut().unwrap()
    }

    /// Adds a blob written by `write` (streamed to disk while hashed).
    pub fn layer_streamed(
        &mut self,
        media_type: &'static str,
        diff_id: Digest,
        write: impl FnOnce(&mut dyn Write),
    ) -> &mut Blob {
        let tmp = self.root().join("tmp-blob");
        let file = File::create(&tmp).unwrap();
        let mut hashing = pare_oci::HashingWriter::new(std::io::BufWriter::new(file));
        write(&mut hashing);
        let (mut inner, digest, size) = hashing.finish();
        inner.flush().unwrap();
        drop(inner);
        let path = blob_path(self.root(), &digest);
        std::fs::rename(&tmp, &path).unwrap();
        self.blobs.push(Blob { path, digest, size, media_type, diff_id });
        self.blobs.last_mut().unwrap()
    }

    /// Writes config, manifest, index.json and oci-layout, and opens the image.
    pub fn image(&self) -> Image {
        let diff_ids: Vec<String> = self.blobs.iter().map(|b| b.diff_id.to_string()).collect();
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let config = serde_json::to_vec(&config).unwrap();
        let (config_digest, config_size) = self.put(&config);
        let layers: Vec<serde_json::Value> = self
            .blobs
            .iter()
            .map(|b| serde_json::json!({"mediaType": b.media_type, "digest": b.digest.to_string(), "size": b.size}))
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_types::OCI_MANIFEST,
            "config": {"mediaType": media_types::OCI_CONFIG, "digest": config_digest.to_string(), "size": config_size},
            "layers": layers,
        });
        let manifest = serde_json::to_vec(&manifest).unwrap();
        let (manifest_digest, manifest_size) = self.put(&manifest);
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": media_types::OCI_MANIFEST, "digest": manifest_digest.to_string(), "size": manifest_size}],
        });
        std::fs::write(self.root().join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        std::fs::write(self.root().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let source = Arc::new(LayoutSource::new(self.root(), None));
        Root::open(source).unwrap().image(None).unwrap()
    }
}

/// An image of gzip layers, one per tar.
pub fn image_of(layers: &[Vec<u8>]) -> (Layout, Image) {
    let mut layout = Layout::new();
    for tar in layers {
        layout.layer(tar);
    }
    let image = layout.image();
    (layout, image)
}

/// A place to unpack into, beside a sentinel directory that must stay untouched.
pub struct Sandbox {
    pub base: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let base = tempfile::tempdir().unwrap();
        std::fs::create_dir(base.path().join("sentinel")).unwrap();
        std::fs::write(base.path().join("sentinel/keep.txt"), "keep").unwrap();
        Sandbox { base }
    }

    pub fn out(&self) -> PathBuf {
        self.base.path().join("out")
    }

    pub fn sentinel(&self) -> PathBuf {
        self.base.path().join("sentinel")
    }

    /// Everything outside `out/` is as it was.
    pub fn assert_untouched(&self) {
        let mut names: Vec<String> = std::fs::read_dir(self.base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.retain(|n| n != "out");
        assert_eq!(names, ["sentinel"]);
        let sentinel: Vec<String> = std::fs::read_dir(self.sentinel())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(sentinel, ["keep.txt"]);
        let meta = std::fs::symlink_metadata(self.sentinel().join("keep.txt")).unwrap();
        assert!(meta.is_file());
        assert_eq!(std::fs::read_to_string(self.sentinel().join("keep.txt")).unwrap(), "keep");
    }

    /// Nothing was written at all: `out/` does not exist or is empty.
    pub fn assert_nothing_written(&self) {
        self.assert_untouched();
        if let Ok(mut listing) = std::fs::read_dir(self.out()) {
            assert!(listing.next().is_none(), "out/ is not empty");
        }
    }
}
