//! OCI image layout directories: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};

use crate::digest::Digest;
use crate::fsutil::write_atomic;
use crate::image::Source;
use crate::location::Location;
use crate::media;
use crate::sink::Sink;
use crate::{Error, Result};

/// The annotation that names an entry of `index.json` (skopeo's `oci:DIR:NAME`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

const LAYOUT_FILE: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

/// Checks the `oci-layout` file of a layout (a directory's or an archive's).
pub(crate) fn check_layout_file(bytes: &[u8], location: &str) -> Result<()> {
    let version: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::malformed("oci-layout", location, e))?;
    if version.get("imageLayoutVersion").and_then(|v| v.as_str()) != Some("1.0.0") {
        return Err(Error::malformed("oci-layout", location, "imageLayoutVersion must be \"1.0.0\""));
    }
    Ok(())
}

/// Path of a blob inside a layout.
pub fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs").join(digest.algorithm().to_string()).join(digest.digest())
}

/// Reads `index.json` of a layout.
pub fn read_index(root: &Path) -> Result<ImageIndex> {
    let layout = root.join("oci-layout");
    let text = std::fs::read(&layout).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound {
            what: "OCI layout file".into(),
            name: "oci-layout".into(),
            location: root.display().to_string(),
            hint: Some("is this an OCI image layout directory? `pare pull REF --to oci:DIR` makes one".into()),
        },
        _ => Error::Io { path: layout.clone(), source: e },
    })?;
    check_layout_file(&text, &layout.display().to_string())?;
    let path = root.join("index.json");
    let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::malformed("index.json", path.display().to_string(), e))
}

/// Picks the entry of `index.json` named `reference` (a tag, or a digest), or the only entry
/// (entries with an `artifactType`, such as SBOMs attached as referrers, do not count there).
pub fn select_entry(index: &ImageIndex, reference: Option<&str>, location: &str) -> Result<Descriptor> {
    let entries = index.manifests();
    let name_of = |d: &Descriptor| d.annotations().as_ref().and_then(|a| a.get(REF_NAME)).cloned();
    // Artifacts (referrers) and cosign's tag-attached signatures (`sha256-<hex>.sig`) are not images.
    let images: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| d.artifact_type().is_none() && !name_of(d).is_some_and(|n| is_attachment_tag(&n)))
        .collect();
    let found = match reference {
        Some(r) if r.contains(':') && r.starts_with("sha") => entries.iter().find(|d| d.digest().to_string() == r),
        Some(r) => entries.iter().find(|d| name_of(d).as_deref() == Some(r)),
        None if images.len() == 1 => images.first().copied(),
        None => None,
    };
    found.cloned().ok_or_else(|| {
        let names: Vec<String> = entries.iter().map(|d| name_of(d).unwrap_or_else(|| d.digest().to_string())).collect();
        Error::NotFound {
            what: "image".into(),
            name: reference.unwrap_or("(no name given)").into(),
            location: location.into(),
            hint: Some(format!(
                "the layout holds {}; name one as `oci:DIR:NAME`",
                if names.is_empty() { "no images".to_string() } else { names.join(", ") }
            )),
        }
    })
}

/// Adds `entry` to the `index.json` of an existing layout (atomically, under the layout's lock),
/// unless an entry with its digest is there already. For artifacts (referrers) whose blobs are in
/// the layout already.
pub fn add_index_entry(root: &Path, entry: &Descriptor) -> Result<()> {
    let _lock = LayoutLock::acquire(root)?;
    let mut manifests = read_index(root)?.manifests().clone();
    if manifests.iter().any(|d| d.digest() == entry.digest()) {
        return Ok(());
    }
    manifests.push(entry.clone());
    write_index(root, &manifests)
}

/// Whether a tag is one of cosign's attachment tags: `sha256-<hex>` followed by `.sig`, `.att` or
/// `.sbom` (signatures, attestations and SBOMs attached by tag). Such a tag never names the
/// layout's image.
pub fn is_attachment_tag(tag: &str) -> bool {
    let Some((digest, suffix)) = tag.rsplit_once('.') else { return false };
    let Some(hex) = digest.strip_prefix("sha256-") else { return false };
    matches!(suffix, "sig" | "att" | "sbom") && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Points the entry of `index.json` named `name` at `entry` (atomically, under the layout's lock),
/// adding it when no entry has that name. The blobs `entry` needs must be in the layout already.
pub fn set_named_entry(root: &Path, name: &str, entry: &Descriptor) -> Result<()> {
    let _lock = LayoutLock::acquire(root)?;
    let mut manifests = read_index(root)?.manifests().clone();
    let mut named = Descriptor::new(entry.media_type().clone(), entry.size(), entry.digest().clone());
    named.set_annotations(Some([(REF_NAME.to_string(), name.to_string())].into_iter().collect()));
    let key = entry_key(&named);
    match manifests.iter_mut().find(|d| entry_key(d) == key) {
        Some(slot) => *slot = named,
        None => manifests.push(named),
    }
    write_index(root, &manifests)
}

/// Replaces `index.json` atomically with these entries.
fn write_index(root: &Path, manifests: &[Descriptor]) -> Result<()> {
    let manifests: Vec<serde_json::Value> = manifests
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::malformed("index.json", root.display().to_string(), e))?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": manifests,
    });
    write_atomic(&root.join("index.json"), &crate::canonical_json(&index))
}

/// An exclusive advisory lock (`flock`) on a layout directory, held while `index.json` is read
/// and replaced, so concurrent writers merge their entries instead of losing them. Released on drop.
struct LayoutLock {
    _dir: File,
}

impl LayoutLock {
    /// Locks the layout's `blobs` directory: every layout has it, it is never replaced, and it is not
    /// the layout's root, which the temporary layouts of the assembler and the archive sinks hold a
    /// shared lock on while in use (`sweep::hold`): locking the root here would wait on ourselves.
    fn acquire(root: &Path) -> Result<LayoutLock> {
        let blobs = root.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(Error::io(&blobs))?;
        let dir = File::open(&blobs).map_err(Error::io(&blobs))?;
        loop {
            match rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => return Ok(LayoutLock { _dir: dir }),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    return Err(Error::Io {
                        path: root.to_path_buf(),
                        source: std::io::Error::other(format!("cannot lock the layout's blobs directory: {e}")),
                    }
                    .with_hint("pare needs flock(2) on the layout's filesystem"));
                }
            }
        }
    }
}

/// Reads an OCI layout directory.
pub struct LayoutSource {
    root: PathBuf,
    reference: Option<String>,
}

impl LayoutSource {
    pub fn new(root: impl Into<PathBuf>, reference: Option<&str>) -> LayoutSource {
        LayoutSource { root: root.into(), reference: reference.map(str::to_string) }
    }
}

impl Source for LayoutSource {
    fn location(&self) -> String {
        Location::Layout { path: self.root.clone(), name: self.reference.clone() }.to_string()
    }

    fn root(&self) -> Result<Descriptor> {
        let index = read_index(&self.root)?;
        select_entry(&index, self.reference.as_deref(), &self.location())
    }

    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let path = blob_path(&self.root, desc.digest());
        match File::open(&path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::BlobNotFound { digest: desc.digest().clone(), location: self.location() })
            }
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    fn blob_present(&self, desc: &Descriptor) -> bool {
        std::fs::metadata(blob_path(&self.root, desc.digest())).is_ok_and(|m| m.is_file() && m.len() == desc.size())
    }

    fn referrer_store(&self) -> Option<crate::referrers::ReferrerStore> {
        Some(crate::referrers::ReferrerStore::Layout(self.root.clone()))
    }
}

/// Writes into an OCI layout directory, creating it if needed and keeping what it already holds.
/// Blobs are renamed into place only once complete and verified; at [`Sink::finish`], under the
/// layout's lock, the current `index.json` is read again, this sink's entries are merged into it
/// and it is replaced atomically, so readers never see a manifest whose blobs are missing and
/// concurrent writers never drop each other's entries.
pub struct LayoutSink {
    root: PathBuf,
    name: Option<String>,
    /// Entries named by [`Sink::set_root`], in order.
    added: Vec<Descriptor>,
}

impl LayoutSink {
    pub fn create(root: impl Into<PathBuf>, name: Option<&str>) -> Result<LayoutSink> {
        let root = root.into();
        std::fs::create_dir_all(root.join("blobs").join("sha256")).map_err(Error::io(&root))?;
        let layout = root.join("oci-layout");
        // Temporary blobs and links of killed runs.
        crate::sweep::sweep(&root.join("blobs").join("sha256"), |n| {
            n.starts_with(".pare-tmp-") || n.starts_with(".pare-link-")
        });
        crate::sweep::sweep(&root, |n| n.starts_with(".pare-tmp-"));
        let sink = LayoutSink { root, name: name.map(str::to_string), added: Vec::new() };
        let _lock = LayoutLock::acquire(&sink.root)?;
        if layout.exists() {
            // Refuse a broken layout before downloading anything (the index is read again at finish).
            if sink.root.join("index.json").exists() {
                read_index(&sink.root)?;
            }
        } else {
            write_atomic(&layout, LAYOUT_FILE.as_bytes())?;
        }
        Ok(sink)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl crate::sink::ConcurrentBlobs for LayoutSink {
    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        crate::fsutil::write_atomic_from(&blob_path(&self.root, desc.digest()), content)?;
        Ok(())
    }

    fn links(&self) -> bool {
        true
    }

    fn link_blob(&self, desc: &Descriptor, file: &Path) -> Result<bool> {
        let dest = blob_path(&self.root, desc.digest());
        let Some(dir) = dest.parent() else { return Ok(false) };
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        // Linked under a temporary name, then renamed: whatever was at `dest` is replaced whole.
        let tmp = dir.join(format!(".pare-link-{}-{}", std::process::id(), desc.digest().digest()));
        let _ = std::fs::remove_file(&tmp);
        if std::fs::hard_link(file, &tmp).is_err() {
            return Ok(false);
        }
        std::fs::rename(&tmp, &dest).map_err(Error::io(&dest))?;
        Ok(true)
    }
}

fn entry_key(desc: &Descriptor) -> String {
    match desc.annotations().as_ref().and_then(|a| a.get(REF_NAME)) {
        Some(name) => format!("name:{name}"),
        None => format!("digest:{}", desc.digest()),
    }
}

impl Sink for LayoutSink {
    fn location(&self) -> String {
        format!("oci:{}", self.root.display())
    }

    /// A blob already in the layout counts only when its size and digest check out (a damaged
    /// one may share its inode with a cache entry that was healed since); a bad one is replaced.
    fn has(&mut self, desc: &Descriptor) -> Result<bool> {
        let path = blob_path(&self.root, desc.digest());
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        let good = crate::digest::file_matches(&mut file, &path, desc.digest(), desc.size())?;
        if !good {
            tracing::warn!(path = %path.display(), digest = %desc.digest(), "replacing a damaged blob in the layout");
        }
        Ok(good)
    }

    fn put_blob(&mut self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        crate::sink::ConcurrentBlobs::put_blob(self, desc, content)
    }

    fn concurrent(&self) -> Option<&(dyn crate::sink::ConcurrentBlobs + Sync)> {
        Some(self)
    }

    fn referrer_store(&self) -> Option<crate::referrers::ReferrerStore> {
        Some(crate::referrers::ReferrerStore::Layout(self.root.clone()))
    }

    fn put_manifest(&mut self, desc: &Descriptor, bytes: &[u8]) -> Result<()> {
        write_atomic(&blob_path(&self.root, desc.digest()), bytes)
    }

    fn set_root(&mut self, desc: &Descriptor) -> Result<()> {
        let mut entry = Descriptor::new(desc.media_type().clone(), desc.size(), desc.digest().clone());
        if let Some(p) = desc.platform() {
            entry.set_platform(Some(p.clone()));
        }
        if let Some(name) = &self.name {
            entry.set_annotations(Some([(REF_NAME.to_string(), name.clone())].into_iter().collect()));
        }
        let key = entry_key(&entry);
        self.added.retain(|d| entry_key(d) != key);
        self.added.push(entry);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let _lock = LayoutLock::acquire(&self.root)?;
        // Merged into what the layout holds now: another writer may have added entries since.
        let mut manifests = if self.root.join("index.json").exists() {
            read_index(&self.root)?.manifests().clone()
        } else {
            Vec::new()
        };
        for entry in &self.added {
            let key = entry_key(entry);
            match manifests.iter_mut().find(|d| entry_key(d) == key) {
                Some(slot) => *slot = entry.clone(),
                None => manifests.push(entry.clone()),
            }
        }
        write_index(&self.root, &manifests)
    }
}
