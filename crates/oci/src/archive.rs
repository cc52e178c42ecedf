//! Tar archives of images: OCI archives (a layout in a tar) and Docker archives (`docker save`).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oci_spec::image::{Descriptor, ImageIndex};
use serde::Deserialize;
use serde_json::json;

use crate::digest::{Digest, HashingReader, HashingWriter, parse_digest, sha256};
use crate::image::{MAX_METADATA_SIZE, Source};
use crate::layer_writer::{LayerOptions, write_layer};
use crate::layout::{LayoutSink, check_layout_file, select_entry};
use crate::location::Location;
use crate::media::{self, Compression};
use crate::reference::Reference;
use crate::sink::Sink;
use crate::{Error, Result, canonical_json, entries_from_dir};

/// Where each regular file of a tar archive is: offset of its data and its size.
struct TarIndex {
    path: PathBuf,
    files: HashMap<String, (u64, u64)>,
}

impl TarIndex {
    fn read(path: &Path) -> Result<TarIndex> {
        let file = File::open(path).map_err(Error::io(path))?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(file));
        let mut files = HashMap::new();
        let location = path.display().to_string();
        // Seeks over entry data instead of reading it: indexing a large archive touches only its headers.
        let entries = archive.entries_with_seek().map_err(|e| Error::malformed("tar archive", &location, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::malformed("tar archive", &location, e))?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = entry.path().map_err(|e| Error::malformed("tar entry name", &location, e))?;
            let name = name.to_string_lossy().trim_start_matches("./").to_string();
            files.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Ok(TarIndex { path: path.to_path_buf(), files })
    }

    /// Whether the archive holds `name` whole, with `size` bytes (a cut-off archive indexes its last
    /// member without its data).
    fn holds(&self, name: &str, size: u64) -> bool {
        let Some(&(offset, len)) = self.files.get(name) else { return false };
        len == size && std::fs::metadata(&self.path).is_ok_and(|m| offset.saturating_add(len) <= m.len())
    }

    fn open(&self, name: &str) -> Result<Option<Box<dyn Read + Send>>> {
        let Some(&(offset, size)) = self.files.get(name) else { return Ok(None) };
        let mut file = File::open(&self.path).map_err(Error::io(&self.path))?;
        file.seek(SeekFrom::Start(offset)).map_err(Error::io(&self.path))?;
        Ok(Some(Box::new(file.take(size))))
    }

    fn read_small(&self, name: &str, what: &str) -> Result<Vec<u8>> {
        let location = self.path.display().to_string();
        let size = self.files.get(name).map(|f| f.1).ok_or_else(|| Error::NotFound {
            what: what.into(),
            name: name.into(),
            location: location.clone(),
            hint: None,
        })?;
        if size > MAX_METADATA_SIZE {
            return Err(Error::malformed(what, &location, format!("`{name}` is {size} bytes, too large")));
        }
        let mut out = Vec::new();
        if let Some(mut r) = self.open(name)? {
            r.read_to_end(&mut out).map_err(Error::io(&self.path))?;
        }
        Ok(out)
    }
}

/// Reads an OCI archive: an OCI layout packed in a tar file.
pub struct OciArchiveSource {
    tar: TarIndex,
    reference: Option<String>,
}

impl OciArchiveSource {
    pub fn open(path: impl AsRef<Path>, reference: Option<&str>) -> Result<OciArchiveSource> {
        let tar = TarIndex::read(path.as_ref())?;
        Ok(OciArchiveSource { tar, reference: reference.map(str::to_string) })
    }
}

impl Source for OciArchiveSource {
    fn location(&self) -> String {
        Location::OciArchive { path: self.tar.path.clone(), name: self.reference.clone() }.to_string()
    }

    fn root(&self) -> Result<Descriptor> {
        check_layout_file(&self.tar.read_small("oci-layout", "OCI layout file")?, &self.location())?;
        let bytes = self.tar.read_small("index.json", "index.json")?;
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| Error::malformed("index.json", self.location(), e))?;
        select_entry(&index, self.reference.as_deref(), &self.location())
    }

    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let name = format!("blobs/{}/{}", desc.digest().algorithm(), desc.digest().digest());
        self.tar
            .open(&name)?
            .ok_or_else(|| Error::BlobNotFound { digest: desc.digest().clone(), location: self.location() })
    }

    fn blob_present(&self, desc: &Descriptor) -> bool {
        self.tar.holds(&format!("blobs/{}/{}", desc.digest().algorithm(), desc.digest().digest()), desc.size())
    }
}

/// Writes an OCI archive: a layout is assembled in a temporary directory next to the target,
/// then packed deterministically (sorted, root-owned, mtime 0) and renamed into place.
pub struct OciArchiveSink {
    target: PathBuf,
    staging: Staging,
    layout: LayoutSink,
}

impl OciArchiveSink {
    pub fn create(target: impl Into<PathBuf>, name: Option<&str>) -> Result<OciArchiveSink> {
        let target = target.into();
        let staging = staging_dir(&target)?;
        let layout = LayoutSink::create(staging.path(), name)?;
        Ok(OciArchiveSink { target, staging, layout })
    }
}

/// A staging directory beside an archive being written, locked as in use while it lives.
struct Staging {
    _in_use: Option<crate::sweep::InUse>,
    dir: tempfile::TempDir,
}

impl Staging {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Makes a staging directory beside `target`, first removing those (and `.pare-tmp-` files) that
/// killed runs left there.
fn staging_dir(target: &Path) -> Result<Staging> {
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    crate::sweep::sweep(parent, |n| n.starts_with(".pare-staging-") || n.starts_with(".pare-tmp-"));
    let dir = tempfile::Builder::new().prefix(".pare-staging-").tempdir_in(parent).map_err(Error::io(parent))?;
    Ok(Staging { _in_use: crate::sweep::hold(dir.path()), dir })
}

/// Packs a directory into an uncompressed, deterministic tar at `target`, atomically.
fn pack_dir(dir: &Path, target: &Path) -> Result<()> {
    let (entries, _) = entries_from_dir(dir)?;
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = crate::fsutil::temp_file_in(parent)?;
    write_layer(
        entries,
        &LayerOptions { mtime: 0, compression: Compression::None, level: None },
        std::io::BufWriter::new(tmp.as_file()),
    )?;
    tmp.as_file().sync_data().map_err(Error::io(target))?;
    tmp.persist(target).map_err(|e| Error::Io { path: target.to_path_buf(), source: e.error })?;
    Ok(())
}

impl Sink for OciArchiveSink {
    fn location(&self) -> String {
        format!("oci-archive:{}", self.target.display())
    }
    fn has(&mut self, desc: &Descriptor) -> Result<bool> {
        self.layout.has(desc)
    }
    fn put_blob(&mut self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.layout.put_blob(desc, content)
    }
    fn put_manifest(&mut self, desc: &Descriptor, bytes: &[u8]) -> Result<()> {
        self.layout.put_manifest(desc, bytes)
    }
    fn set_root(&mut self, desc: &Descriptor) -> Result<()> {
        self.layout.set_root(desc)
    }
    fn concurrent(&self) -> Option<&(dyn crate::sink::ConcurrentBlobs + Sync)> {
        self.layout.concurrent()
    }
    fn finish(self: Box<Self>) -> Result<()> {
        let OciArchiveSink { target, staging, layout } = *self;
        Box::new(layout).finish()?;
        pack_dir(staging.path(), &target)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Reads a Docker archive (`docker save` output, also what `skopeo copy docker-archive:` writes).
/// The archive has no OCI manifest, so one is made up from `manifest.json`: config and layers are
/// hashed once when the image is opened (uncompressed layers take their digest from the config's
/// diff IDs and are verified when read).
pub struct DockerArchiveSource {
    tar: TarIndex,
    reference: Option<String>,
    synthesized: OnceLock<Synthesized>,
}

/// The made-up manifest, its bytes, the archive member of each digest, and the digests taken from
/// the config's diff IDs without hashing (uncompressed layers, verified only when read).
type Synthesized = (Descriptor, Vec<u8>, HashMap<String, String>, HashSet<String>);

impl DockerArchiveSource {
    pub fn open(path: impl AsRef<Path>, reference: Option<&str>) -> Result<DockerArchiveSource> {
        let tar = TarIndex::read(path.as_ref())?;
        Ok(DockerArchiveSource { tar, reference: reference.map(str::to_string), synthesized: OnceLock::new() })
    }

    fn synthesize(&self) -> Result<&Synthesized> {
        if let Some(s) = self.synthesized.get() {
            return Ok(s);
        }
        let location = self.location();
        let bytes = self.tar.read_small("manifest.json", "Docker archive manifest")?;
        let entries: Vec<DockerManifestEntry> =
            serde_json::from_slice(&bytes).map_err(|e| Error::malformed("manifest.json", &location, e))?;
        let entry = match &self.reference {
            None if entries.len() == 1 => entries.first(),
            None => None,
            Some(r) if r.starts_with('@') => r[1..].parse::<usize>().ok().and_then(|i| entries.get(i)),
            Some(r) => {
                let wanted = Reference::parse(r).ok();
                entries.iter().find(|e| {
                    e.repo_tags
                        .iter()
                        .flatten()
                        .any(|t| t == r || Reference::parse(t).ok().is_some_and(|t| Some(&t) == wanted.as_ref()))
                })
            }
        }
        .ok_or_else(|| Error::NotFound {
            what: "image".into(),
            name: self.reference.clone().unwrap_or_else(|| "(no name given)".into()),
            location: location.clone(),
            hint: Some(format!(
                "the archive holds {}; name one as `docker-archive:FILE:REPO:TAG` or `docker-archive:FILE:@N`",
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| match e.repo_tags.as_deref() {
                        Some(tags) if !tags.is_empty() => format!("@{i} ({})", tags.join(", ")),
                        _ => format!("@{i} (untagged)"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        })?;

        let mut names = HashMap::new(); // digest -> file in the archive
        let mut trusted = HashSet::new();
        let config_bytes = self.tar.read_small(&entry.config, "image config")?;
        let config_digest = sha256(&config_bytes);
        names.insert(config_digest.to_string(), entry.config.clone());
        let config: serde_json::Value =
            serde_json::from_slice(&config_bytes).map_err(|e| Error::malformed("image config", &location, e))?;
        let diff_ids = config_diff_ids(&config);
        if diff_ids.len() != entry.layers.len() {
            return Err(Error::malformed(
                "image config",
                &location,
                format!(
                    "manifest.json lists {} layers but the config lists {} diff_ids",
                    entry.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        for (name, diff_id) in entry.layers.iter().zip(&diff_ids) {
            let mut reader = self.tar.open(name)?.ok_or_else(|| Error::NotFound {
                what: "layer".into(),
                name: name.clone(),
                location: location.clone(),
                hint: None,
            })?;
            let mut head = [0u8; 4];
            let n = read_up_to(&mut reader, &mut head).map_err(Error::io(&self.tar.path))?;
            let compression = Compression::sniff(&head[..n]);
            let size = self.tar.files.get(name).map_or(0, |f| f.1);
            let digest = if compression == Compression::None {
                let digest = parse_digest(diff_id)?;
                trusted.insert(digest.to_string());
                digest
            } else {
                let mut hashing = HashingReader::new(std::io::Cursor::new(head[..n].to_vec()).chain(reader));
                std::io::copy(&mut hashing, &mut std::io::sink()).map_err(Error::io(&self.tar.path))?;
                hashing.finish().1
            };
            names.insert(digest.to_string(), name.clone());
            layers.push(json!({"mediaType": compression.oci_media_type(), "digest": digest.to_string(), "size": size}));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": config_digest.to_string(), "size": config_bytes.len()},
            "layers": layers,
        });
        let manifest_bytes = canonical_json(&manifest);
        let desc = Descriptor::new(media::OCI_MANIFEST.into(), manifest_bytes.len() as u64, sha256(&manifest_bytes));
        Ok(self.synthesized.get_or_init(|| (desc, manifest_bytes, names, trusted)))
    }
}

/// The `rootfs.diff_ids` of an image config (empty when absent).
fn config_diff_ids(config: &serde_json::Value) -> Vec<String> {
    config["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Source for DockerArchiveSource {
    fn location(&self) -> String {
        Location::DockerArchive { path: self.tar.path.clone(), name: self.reference.clone() }.to_string()
    }

    fn root(&self) -> Result<Descriptor> {
        Ok(self.synthesize()?.0.clone())
    }

    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let (manifest_desc, manifest_bytes, names, _) = self.synthesize()?;
        if desc.digest() == manifest_desc.digest() {
            return Ok(Box::new(std::io::Cursor::new(manifest_bytes.clone())));
        }
        let missing = || Error::BlobNotFound { digest: desc.digest().clone(), location: self.location() };
        let name = names.get(&desc.digest().to_string()).ok_or_else(missing)?;
        self.tar.open(name)?.ok_or_else(missing)
    }

    /// Compressed layers were hashed when the archive was opened; an uncompressed one's digest is its
    /// diff ID, taken on trust, so its member is hashed here (a swapped tar must not pass).
    fn blob_present(&self, desc: &Descriptor) -> bool {
        let Ok((_, _, names, trusted)) = self.synthesize() else { return false };
        let Some(name) = names.get(&desc.digest().to_string()) else { return false };
        if !self.tar.holds(name, desc.size()) {
            return false;
        }
        if !trusted.contains(&desc.digest().to_string()) {
            return true;
        }
        let Ok(Some(reader)) = self.tar.open(name) else { return false };
        let mut hashing = HashingReader::new(reader);
        std::io::copy(&mut hashing, &mut std::io::sink()).is_ok() && hashing.finish().1 == *desc.digest()
    }
}

/// Writes a Docker archive that `docker load` and `skopeo copy docker-archive:` read: one image,
/// config as `<hex>.json`, layers uncompressed as `<diff-id hex>.tar` (checked against the diff IDs).
pub struct DockerArchiveSink {
    target: PathBuf,
    staging: Staging,
    repo_tag: Option<String>,
    blobs: HashMap<String, PathBuf>,
    manifests: HashMap<String, Vec<u8>>,
    root: Option<Descriptor>,
    max_size: u64,
}

/// Default of [`DockerArchiveSink::with_max_size`]: 16 GiB, as the unpack and read limits.
pub const DOCKER_ARCHIVE_MAX_SIZE: u64 = 16 << 30;

impl DockerArchiveSink {
    /// Caps the total uncompressed size of the layers (they are decompressed into the archive,
    /// so a small compressed layer could otherwise fill the disk).
    pub fn with_max_size(mut self, max_size: u64) -> DockerArchiveSink {
        self.max_size = max_size;
        self
    }

    /// `name` is the `REPO:TAG` recorded in the archive (docker-archive:FILE:NAME).
    pub fn create(target: impl Into<PathBuf>, name: Option<&str>) -> Result<DockerArchiveSink> {
        let target = target.into();
        let repo_tag = match name {
            Some(n) => {
                let r = Reference::parse(n)?;
                Some(match r.tag() {
                    Some(tag) => format!("{}:{tag}", r.name()),
                    None => {
                        return Err(Error::InvalidLocation {
                            value: n.into(),
                            reason: "a Docker archive names images by tag, not digest".into(),
                        });
                    }
                })
            }
            None => None,
        };
        let staging = staging_dir(&target)?;
        std::fs::create_dir_all(staging.path().join("in")).map_err(Error::io(staging.path()))?;
        std::fs::create_dir_all(staging.path().join("out")).map_err(Error::io(staging.path()))?;
        Ok(DockerArchiveSink {
            target,
            staging,
            repo_tag,
            blobs: HashMap::new(),
            manifests: HashMap::new(),
            root: None,
            max_size: DOCKER_ARCHIVE_MAX_SIZE,
        })
    }
}

impl Sink for DockerArchiveSink {
    fn location(&self) -> String {
        format!("docker-archive:{}", self.target.display())
    }
    fn has(&mut self, desc: &Descriptor) -> Result<bool> {
        Ok(self.blobs.contains_key(&desc.digest().to_string()))
    }
    fn put_blob(&mut self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        let path = self.staging.path().join("in").join(desc.digest().digest());
        crate::fsutil::write_atomic_from(&path, content)?;
        self.blobs.insert(desc.digest().to_string(), path);
        Ok(())
    }
    fn put_manifest(&mut self, desc: &Descriptor, bytes: &[u8]) -> Result<()> {
        self.manifests.insert(desc.digest().to_string(), bytes.to_vec());
        Ok(())
    }
    fn set_root(&mut self, desc: &Descriptor) -> Result<()> {
        self.root = Some(desc.clone());
        Ok(())
    }
    fn accepts_index(&self) -> bool {
        false
    }
    fn finish(self: Box<Self>) -> Result<()> {
        let location = self.location();
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| Error::Unsupported("no image was written to the Docker archive".into()))?;
        let manifest_bytes = self
            .manifests
            .get(&root.digest().to_string())
            .ok_or_else(|| Error::Unsupported("the Docker archive's manifest is missing".into()))?;
        let manifest: oci_spec::image::ImageManifest =
            serde_json::from_slice(manifest_bytes).map_err(|e| Error::malformed("image manifest", &location, e))?;
        let out = self.staging.path().join("out");
        let blob = |d: &Digest| {
            self.blobs
                .get(&d.to_string())
                .ok_or_else(|| Error::BlobNotFound { digest: d.clone(), location: location.clone() })
        };
        let config_digest = manifest.config().digest();
        let config_name = format!("{}.json", config_digest.digest());
        let config_path = blob(config_digest)?;
        let config_bytes = std::fs::read(config_path).map_err(Error::io(config_path))?;
        crate::write_atomic(&out.join(&config_name), &config_bytes)?;
        let config: serde_json::Value =
            serde_json::from_slice(&config_bytes).map_err(|e| Error::malformed("image config", &location, e))?;
        let diff_ids = config_diff_ids(&config);
        // Docker archives name layers by diff ID: each layer needs one (pare and skopeo refuse to read
        // an archive whose config lists fewer).
        if diff_ids.len() != manifest.layers().len() {
            return Err(Error::malformed(
                format!("image config `{config_digest}`"),
                &location,
                format!(
                    "the manifest lists {} layers but the config's rootfs.diff_ids lists {}",
                    manifest.layers().len(),
                    diff_ids.len()
                ),
            )
            .with_hint("the image is broken; rebuild it so that rootfs.diff_ids has one entry per layer"));
        }
        let mut layer_names = Vec::new();
        let mut total: u64 = 0;
        for (layer, expected) in manifest.layers().iter().zip(&diff_ids) {
            let compression = Compression::from_media_type(layer.media_type().as_ref()).unwrap_or(Compression::None);
            let file = File::open(blob(layer.digest())?).map_err(Error::io(&out))?;
            let remaining = self.max_size.saturating_sub(total);
            let mut decoded = compression.decoder(file)?.take(remaining.saturating_add(1));
            let tmp = out.join(".layer.tmp");
            let mut writer = HashingWriter::new(File::create(&tmp).map_err(Error::io(&tmp))?);
            std::io::copy(&mut decoded, &mut writer)
                .map_err(|e| Error::from_io(format!("decompressing layer `{}`", layer.digest()), e))?;
            let (_, diff_id, written) = writer.finish();
            total = total.saturating_add(written);
            if total > self.max_size {
                return Err(Error::LimitExceeded {
                    what: format!("the uncompressed layers written to {location}"),
                    limit: self.max_size,
                    hint: "raise it with --max-size BYTES if this image is really that large".into(),
                });
            }
            if *expected != diff_id.to_string() {
                return Err(Error::DigestMismatch { digest: parse_digest(expected)?, actual: diff_id });
            }
            let name = format!("{}.tar", diff_id.digest());
            std::fs::rename(&tmp, out.join(&name)).map_err(Error::io(&out))?;
            layer_names.push(name);
        }
        let repo_tags: Vec<&String> = self.repo_tag.iter().collect();
        let docker_manifest = json!([{ "Config": config_name, "RepoTags": repo_tags, "Layers": layer_names }]);
        crate::write_atomic(&out.join("manifest.json"), &canonical_json(&docker_manifest))?;
        pack_dir(&out, &self.target)
    }
}
