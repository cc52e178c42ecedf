//! The image model every verb reads through: a [`Source`] gives descriptors and verified blobs;
//! [`Image`], [`Index`] and [`Layer`] are built on top of any source, reading nothing until asked.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use crate::digest::{Digest, VerifyingReader, read_verified};
use crate::media::{Compression, LimitedReader, ManifestKind};
use crate::platform::Platform;
use crate::{Error, Result};

/// Manifests, indexes and configs larger than this are refused (registries cap manifests at 4 MiB).
pub const MAX_METADATA_SIZE: u64 = 16 << 20;

/// Indexes nested deeper than this are refused (a hostile registry could serve an endless chain).
pub const MAX_INDEX_NESTING: usize = 8;

/// Where image content comes from. Each transport implements this small core; everything else
/// ([`Image`], [`Index`], [`Layer`], copying, the filesystem view) is shared.
pub trait Source: Send + Sync {
    /// A short name for messages: `oci:/tmp/app:1.0`, `docker-archive:app.tar`, `127.0.0.1:5000/app:1.0`.
    fn location(&self) -> String;

    /// The descriptor of the manifest or index this source points at.
    fn root(&self) -> Result<Descriptor>;

    /// Opens the raw content of a manifest, index or blob. Callers use [`Source::fetch`], which verifies.
    fn open_raw(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>>;

    /// Opens content and checks its size and digest as it streams.
    fn fetch(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let raw = self.open_raw(desc)?;
        Ok(Box::new(VerifyingReader::new(raw, desc.digest().clone(), desc.size())))
    }

    /// A local file holding a blob's content, already verified against `desc`, for sinks that can
    /// link it instead of writing a copy (a registry source downloads into its blob cache first).
    /// `None`: stream it with [`Source::fetch`].
    fn blob_file(&self, _desc: &Descriptor) -> Result<Option<std::path::PathBuf>> {
        Ok(None)
    }

    /// Whether a blob is there as `desc` says (a local file or archive member of its size; a blob
    /// whose digest the source took on trust is hashed), told without handing out its content.
    /// Anything keyed by the blob's digest (an inventory cache) may stand in for reading the blob only
    /// when this is true; `false` means read it, which reports what is wrong.
    fn blob_present(&self, _desc: &Descriptor) -> bool {
        false
    }

    /// Where this source keeps referrers of its manifests (layouts and registries); `None` for
    /// sources that cannot hold them.
    fn referrer_store(&self) -> Option<crate::referrers::ReferrerStore> {
        None
    }

    /// Reads small content (manifests, configs) whole, verified.
    fn fetch_bytes(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        let raw = self.open_raw(desc)?;
        read_verified(raw, desc.digest(), desc.size(), MAX_METADATA_SIZE)
    }
}

/// What a source points at: one image, or an index of images for several platforms.
pub enum Root {
    Image(Image),
    Index(Index),
}

impl Root {
    /// Opens the root of a source.
    pub fn open(source: Arc<dyn Source>) -> Result<Root> {
        let desc = source.root()?;
        Root::open_descriptor(source, desc)
    }

    /// Opens a manifest or index by descriptor.
    pub fn open_descriptor(source: Arc<dyn Source>, desc: Descriptor) -> Result<Root> {
        let bytes = source.fetch_bytes(&desc)?;
        let media_type = desc.media_type().to_string();
        let kind = ManifestKind::of(&media_type).or_else(|| ManifestKind::sniff(&bytes)).ok_or_else(|| {
            Error::UnsupportedMediaType {
                media_type: media_type.clone(),
                what: format!("manifest `{}`", desc.digest()),
                location: source.location(),
            }
        })?;
        match kind {
            ManifestKind::Image => Ok(Root::Image(Image::from_bytes(source, desc, bytes)?)),
            ManifestKind::Index => Ok(Root::Index(Index::from_bytes(source, desc, bytes)?)),
        }
    }

    pub fn descriptor(&self) -> &Descriptor {
        match self {
            Root::Image(i) => i.descriptor(),
            Root::Index(i) => i.descriptor(),
        }
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        match self {
            Root::Image(i) => &i.source,
            Root::Index(i) => &i.source,
        }
    }

    /// The image for a platform: the image itself, or the matching entry of the index.
    /// Without a platform, an index gives the host's platform, or its only image.
    pub fn image(self, platform: Option<&Platform>) -> Result<Image> {
        match self {
            Root::Image(image) => Ok(image),
            Root::Index(index) => index.select(platform),
        }
    }

    fn image_at_depth(self, platform: Option<&Platform>, depth: usize) -> Result<Image> {
        match self {
            Root::Image(image) => Ok(image),
            Root::Index(index) => index.select_at_depth(platform, depth),
        }
    }
}

/// Checks the `mediaType` a manifest declares against the one its descriptor gave.
fn check_declared_type(
    body: &serde_json::Value,
    expected: ManifestKind,
    desc: &Descriptor,
    location: &str,
) -> Result<()> {
    if let Some(declared) = body.get("mediaType") {
        let declared = declared.as_str().unwrap_or_default();
        if ManifestKind::of(declared) != Some(expected) {
            return Err(Error::malformed(
                format!("manifest `{}`", desc.digest()),
                location,
                format!("its mediaType is `{declared}`, but it was referenced as `{}`", desc.media_type()),
            ));
        }
    }
    Ok(())
}

/// Parses a manifest or index: JSON, the declared media type, `schemaVersion` 2, then the fields.
fn parse_manifest<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    kind: ManifestKind,
    desc: &Descriptor,
    location: &str,
) -> Result<T> {
    let what = match kind {
        ManifestKind::Image => format!("image manifest `{}`", desc.digest()),
        ManifestKind::Index => format!("image index `{}`", desc.digest()),
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::malformed(&what, location, format!("invalid JSON: {e}")))?;
    check_declared_type(&value, kind, desc, location)?;
    match value.get("schemaVersion").and_then(serde_json::Value::as_u64) {
        Some(2) => {}
        Some(other) => return Err(Error::malformed(&what, location, format!("schemaVersion is {other}, expected 2"))),
        None => return Err(Error::malformed(&what, location, "schemaVersion is missing, expected 2")),
    }
    serde_json::from_value(value).map_err(|e| Error::malformed(&what, location, e))
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str, location: &str) -> Result<T> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, location, format!("invalid JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| Error::malformed(what, location, e))
}

/// An image: manifest, config and layers. The manifest is read when the image is opened; the
/// config on first use; layers only when streamed.
#[derive(Clone)]
pub struct Image {
    source: Arc<dyn Source>,
    descriptor: Descriptor,
    raw_manifest: Arc<Vec<u8>>,
    manifest: Arc<ImageManifest>,
    config: Arc<OnceLock<(Vec<u8>, ImageConfiguration)>>,
}

impl Image {
    pub fn from_bytes(source: Arc<dyn Source>, descriptor: Descriptor, bytes: Vec<u8>) -> Result<Image> {
        let location = source.location();
        let manifest: ImageManifest = parse_manifest(&bytes, ManifestKind::Image, &descriptor, &location)?;
        for layer in manifest.layers() {
            if Compression::from_media_type(layer.media_type().as_ref()).is_none() && !is_artifact(&manifest) {
                return Err(Error::UnsupportedMediaType {
                    media_type: layer.media_type().to_string(),
                    what: format!("layer `{}`", layer.digest()),
                    location,
                });
            }
        }
        Ok(Image {
            source,
            descriptor,
            raw_manifest: Arc::new(bytes),
            manifest: Arc::new(manifest),
            config: Arc::new(OnceLock::new()),
        })
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    pub fn digest(&self) -> &Digest {
        self.descriptor.digest()
    }

    pub fn manifest(&self) -> &ImageManifest {
        &self.manifest
    }

    /// The manifest exactly as stored: copies keep these bytes, so digests survive.
    pub fn raw_manifest(&self) -> &[u8] {
        &self.raw_manifest
    }

    fn load_config(&self) -> Result<&(Vec<u8>, ImageConfiguration)> {
        if let Some(loaded) = self.config.get() {
            return Ok(loaded);
        }
        let desc = self.manifest.config();
        let bytes = self.source.fetch_bytes(desc)?;
        let config: ImageConfiguration =
            parse_json(&bytes, &format!("image config `{}`", desc.digest()), &self.source.location())?;
        Ok(self.config.get_or_init(|| (bytes, config)))
    }

    /// The image configuration (entrypoint, env, user, history, diff IDs).
    pub fn config(&self) -> Result<&ImageConfiguration> {
        Ok(&self.load_config()?.1)
    }

    pub fn raw_config(&self) -> Result<&[u8]> {
        Ok(&self.load_config()?.0)
    }

    /// The platform the config declares.
    pub fn platform(&self) -> Result<Platform> {
        let config = self.config()?;
        Ok(Platform {
            os: config.os().to_string(),
            architecture: config.architecture().to_string(),
            variant: config.variant().clone(),
        })
    }

    /// The layers, bottom first, each with its diff ID from the config when the config has one.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        let descs = self.manifest.layers();
        let diff_ids: Vec<Option<Digest>> = if is_artifact(&self.manifest) {
            vec![None; descs.len()]
        } else {
            let config = self.config()?;
            let ids = config.rootfs().diff_ids();
            if ids.len() != descs.len() {
                return Err(Error::malformed(
                    format!("image `{}`", self.digest()),
                    self.source.location(),
                    format!("the manifest lists {} layers but the config lists {} diff_ids", descs.len(), ids.len()),
                ));
            }
            ids.iter().map(|id| crate::digest::parse_digest(id).map(Some)).collect::<Result<_>>()?
        };
        Ok(descs
            .iter()
            .zip(diff_ids)
            .enumerate()
            .map(|(index, (desc, diff_id))| Layer {
                source: self.source.clone(),
                descriptor: desc.clone(),
                diff_id,
                index,
            })
            .collect())
    }
}

/// Artifacts (signatures, SBOMs) use manifests whose "layers" are not filesystem layers.
fn is_artifact(manifest: &ImageManifest) -> bool {
    let config_type = manifest.config().media_type().to_string();
    manifest.artifact_type().is_some()
        || !(config_type == crate::media::OCI_CONFIG || config_type == crate::media::DOCKER_CONFIG)
}

/// An index (manifest list): images for several platforms, and sometimes attached artifacts.
#[derive(Clone)]
pub struct Index {
    source: Arc<dyn Source>,
    descriptor: Descriptor,
    raw: Arc<Vec<u8>>,
    index: Arc<ImageIndex>,
}

impl Index {
    pub fn from_bytes(source: Arc<dyn Source>, descriptor: Descriptor, bytes: Vec<u8>) -> Result<Index> {
        let index: ImageIndex = parse_manifest(&bytes, ManifestKind::Index, &descriptor, &source.location())?;
        Ok(Index { source, descriptor, raw: Arc::new(bytes), index: Arc::new(index) })
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    pub fn index(&self) -> &ImageIndex {
        &self.index
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The entries of the index.
    pub fn manifests(&self) -> &[Descriptor] {
        self.index.manifests()
    }

    /// Opens one entry (an image or a nested index).
    pub fn open(&self, desc: &Descriptor) -> Result<Root> {
        Root::open_descriptor(self.source.clone(), desc.clone())
    }

    /// The platforms of the image entries (entries without a platform are skipped).
    pub fn platforms(&self) -> Vec<Platform> {
        self.manifests().iter().filter_map(|d| d.platform().as_ref().map(Platform::from_oci)).collect()
    }

    /// Picks the image for a platform (default: this machine's, or the only image).
    pub fn select(&self, platform: Option<&Platform>) -> Result<Image> {
        self.select_at_depth(platform, 0)
    }

    fn select_at_depth(&self, platform: Option<&Platform>, depth: usize) -> Result<Image> {
        if depth >= MAX_INDEX_NESTING {
            return Err(Error::malformed(
                format!("image index `{}`", self.descriptor.digest()),
                self.source.location(),
                format!("indexes nest more than {MAX_INDEX_NESTING} deep"),
            ));
        }
        let images: Vec<&Descriptor> = self
            .manifests()
            .iter()
            .filter(|d| ManifestKind::of(d.media_type().as_ref()).is_some())
            .filter(|d| {
                // Skip attestation manifests that buildkit stores with platform unknown/unknown.
                d.platform().as_ref().is_none_or(|p| p.os().to_string() != "unknown")
            })
            .collect();
        let wanted = platform.cloned().unwrap_or_else(Platform::host);
        let chosen = images
            .iter()
            .find(|d| d.platform().as_ref().is_some_and(|p| wanted.matches(&Platform::from_oci(p))))
            .or_else(|| if platform.is_none() && images.len() == 1 { images.first() } else { None });
        match chosen {
            Some(desc) => self.open(desc)?.image_at_depth(platform, depth + 1),
            None => Err(Error::NoMatchingPlatform {
                platform: wanted.to_string(),
                location: self.source.location(),
                available: {
                    let list: Vec<String> = self.platforms().iter().map(ToString::to_string).collect();
                    if list.is_empty() { "none".into() } else { list.join(", ") }
                },
            }),
        }
    }
}

/// One layer of an image: the compressed blob as stored, and its uncompressed tar stream.
#[derive(Clone)]
pub struct Layer {
    source: Arc<dyn Source>,
    descriptor: Descriptor,
    diff_id: Option<Digest>,
    index: usize,
}

impl Layer {
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    pub fn digest(&self) -> &Digest {
        self.descriptor.digest()
    }

    /// The digest of the uncompressed tar, from the image config.
    pub fn diff_id(&self) -> Option<&Digest> {
        self.diff_id.as_ref()
    }

    /// Position in the image, 0 for the bottom layer.
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn size(&self) -> u64 {
        self.descriptor.size()
    }

    pub fn media_type(&self) -> String {
        self.descriptor.media_type().to_string()
    }

    pub fn compression(&self) -> Compression {
        Compression::from_media_type(&self.media_type()).unwrap_or(Compression::None)
    }

    /// The blob as stored, verified against its digest as it streams.
    pub fn compressed(&self) -> Result<Box<dyn Read + Send>> {
        self.source.fetch(&self.descriptor)
    }

    /// The uncompressed tar stream. The blob is verified as it streams, and when the config
    /// gives a diff ID the tar is checked against it too. `max_size` caps the uncompressed size.
    pub fn uncompressed(&self, max_size: u64) -> Result<Box<dyn Read + Send>> {
        self.uncompressed_checking(max_size, true)
    }

    /// Like [`Layer::uncompressed`], without hashing the tar against the diff ID: for a second
    /// read of a layer whose diff ID was checked before. The blob digest is still verified, and
    /// it fixes the compressed bytes and so the tar they inflate to.
    pub fn uncompressed_again(&self, max_size: u64) -> Result<Box<dyn Read + Send>> {
        self.uncompressed_checking(max_size, false)
    }

    fn uncompressed_checking(&self, max_size: u64, check_diff_id: bool) -> Result<Box<dyn Read + Send>> {
        // A pipeline over threads, so that two cores share the work: reading and hashing the
        // blob, then inflating it, each run ahead of the caller, which hashes the tar (diff ID).
        let compressed = crate::media::ReadAhead::spawn(self.compressed()?);
        let decoded = self.compression().decoder(compressed)?;
        let limited = LimitedReader::new(decoded, max_size, format!("layer `{}`", self.digest()));
        // An uncompressed blob is its own tar: the blob digest, verified above, is the diff ID when they
        // are equal, so hashing it again would only cost time.
        let same_bytes = self.compression() == Compression::None && self.diff_id.as_ref() == Some(self.digest());
        // The diff ID is hashed on the inflating thread, so the caller (parsing, writing files) does not wait on it.
        let tar: Box<dyn Read + Send> = match &self.diff_id {
            Some(diff_id) if check_diff_id && !same_bytes => Box::new(DiffIdReader::new(limited, diff_id.clone())),
            _ => Box::new(limited),
        };
        Ok(Box::new(crate::media::ReadAhead::spawn(tar)))
    }
}

/// Verifies the digest of an uncompressed layer whose size is not known in advance.
struct DiffIdReader<R> {
    inner: R,
    expected: Digest,
    hasher: Option<crate::digest::Hasher>,
}

impl<R: Read> DiffIdReader<R> {
    fn new(inner: R, expected: Digest) -> Self {
        let hasher = Some(crate::digest::Hasher::for_digest(&expected));
        DiffIdReader { inner, expected, hasher }
    }
}

impl<R: Read> Read for DiffIdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(h) = &mut self.hasher {
                h.update(&buf[..n]);
            }
        } else if !buf.is_empty()
            && let Some(h) = self.hasher.take()
        {
            let actual = h.finish();
            if actual != self.expected {
                return Err(std::io::Error::other(Error::DigestMismatch { digest: self.expected.clone(), actual }));
            }
        }
        Ok(n)
    }
}
