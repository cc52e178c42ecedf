//! Referrers: artifacts (SBOMs, signature bundles, attestations) attached to a manifest through
//! their `subject`, per OCI image-spec 1.1 ("Guidelines for Artifact Usage") and
//! distribution-spec 1.1 (the referrers API, and the `sha256-<hex>` tag schema without it).
//!
//! [`Artifact`] builds the artifact manifest; a [`ReferrerStore`] (an OCI layout or a registry
//! repository) attaches, lists and fetches referrers; [`copy_referrers`] carries them from one
//! store to another. In a layout, a referrer is a manifest listed in `index.json` with its
//! `artifactType` (as oras does), so it never counts as the layout's image.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use oci_spec::image::{Descriptor, MediaType};
use serde_json::{Value, json};

use crate::digest::Digest;
use crate::image::Source;
use crate::layout::{LayoutSource, add_index_entry, blob_path, read_index};
use crate::media::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use crate::registry::{Client, RegistrySource};
use crate::{Error, Reference, Result};

/// The OCI empty descriptor's media type: the config of artifacts that have none.
pub const EMPTY_MEDIA_TYPE: &str = OCI_EMPTY;
/// The content of the empty blob.
pub const EMPTY_BLOB: &[u8] = b"{}";
/// The annotation holding an artifact's creation time (RFC 3339); clients sort referrers by it.
pub const CREATED: &str = "org.opencontainers.image.created";
/// How deep [`copy_referrers`] follows referrers of referrers (a signature of an SBOM is depth 2).
pub const MAX_REFERRER_DEPTH: usize = 4;

/// One layer of an artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactLayer {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// An OCI 1.1 artifact about a subject: an image manifest with `artifactType`, a config (the
/// empty `{}` by default), layers, annotations and a `subject`.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub artifact_type: String,
    pub config_media_type: String,
    pub config: Vec<u8>,
    /// With none, the manifest gets one empty layer, as the image-spec advises.
    pub layers: Vec<ArtifactLayer>,
    pub annotations: BTreeMap<String, String>,
    /// The subject's media type, digest and size (other fields are dropped).
    pub subject: Descriptor,
}

impl Artifact {
    /// An artifact of `artifact_type` about `subject`, with the empty config and no layers yet.
    pub fn new(artifact_type: impl Into<String>, subject: &Descriptor) -> Artifact {
        Artifact {
            artifact_type: artifact_type.into(),
            config_media_type: EMPTY_MEDIA_TYPE.to_string(),
            config: EMPTY_BLOB.to_vec(),
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            subject: Descriptor::new(subject.media_type().clone(), subject.size(), subject.digest().clone()),
        }
    }

    /// Replaces the empty config.
    pub fn with_config(mut self, media_type: impl Into<String>, bytes: Vec<u8>) -> Artifact {
        self.config_media_type = media_type.into();
        self.config = bytes;
        self
    }

    pub fn with_layer(
        mut self,
        media_type: impl Into<String>,
        bytes: Vec<u8>,
        annotations: BTreeMap<String, String>,
    ) -> Artifact {
        self.layers.push(ArtifactLayer { media_type: media_type.into(), bytes, annotations });
        self
    }

    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Artifact {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The config and layers with their descriptors, in manifest order.
    pub fn blobs(&self) -> Vec<(Descriptor, &[u8])> {
        let mut out = vec![(plain(&self.config_media_type, &self.config), &self.config[..])];
        if self.layers.is_empty() {
            out.push((plain(EMPTY_MEDIA_TYPE, EMPTY_BLOB), EMPTY_BLOB));
        }
        for layer in &self.layers {
            let mut desc = plain(&layer.media_type, &layer.bytes);
            if !layer.annotations.is_empty() {
                desc.set_annotations(Some(layer.annotations.clone().into_iter().collect()));
            }
            out.push((desc, &layer.bytes[..]));
        }
        out
    }

    /// The image manifest, as canonical JSON: the same artifact always gives the same bytes.
    pub fn manifest(&self) -> Vec<u8> {
        let blobs = self.blobs();
        let entry = |d: &Descriptor| {
            let mut v =
                json!({"mediaType": d.media_type().to_string(), "digest": d.digest().to_string(), "size": d.size()});
            if let Some(a) = d.annotations().as_ref().filter(|a| !a.is_empty()) {
                v["annotations"] = json!(a.iter().collect::<BTreeMap<_, _>>());
            }
            v
        };
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": entry(&blobs[0].0),
            "layers": blobs[1..].iter().map(|(d, _)| entry(d)).collect::<Vec<_>>(),
            "subject": entry(&self.subject),
        });
        if !self.annotations.is_empty() {
            manifest["annotations"] = json!(self.annotations);
        }
        crate::canonical_json(&manifest)
    }

    /// The manifest's descriptor as a referrers list gives it: media type, digest, size,
    /// `artifactType` and the manifest's annotations.
    pub fn descriptor(&self) -> Descriptor {
        let manifest = self.manifest();
        let mut desc = plain(OCI_MANIFEST, &manifest);
        desc.set_artifact_type(Some(MediaType::from(self.artifact_type.as_str())));
        if !self.annotations.is_empty() {
            desc.set_annotations(Some(self.annotations.clone().into_iter().collect()));
        }
        desc
    }
}

fn plain(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor::new(MediaType::from(media_type), bytes.len() as u64, crate::sha256(bytes))
}

/// A referrer read back: its manifest and blobs, each verified against its digest.
#[derive(Clone, Debug)]
pub struct FetchedArtifact {
    /// As [`ReferrerStore::list`] gives it.
    pub descriptor: Descriptor,
    /// The manifest's exact bytes.
    pub manifest: Vec<u8>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub subject: Option<Digest>,
    pub config: (Descriptor, Vec<u8>),
    pub layers: Vec<(Descriptor, Vec<u8>)>,
}

/// Where referrers live: an OCI layout directory, or a registry repository (the tag or digest
/// of the reference is ignored).
#[derive(Clone)]
pub enum ReferrerStore {
    Layout(PathBuf),
    Registry { client: Client, repository: Reference },
}

impl std::fmt::Debug for ReferrerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location())
    }
}

impl ReferrerStore {
    pub fn location(&self) -> String {
        match self {
            ReferrerStore::Layout(path) => format!("oci:{}", path.display()),
            ReferrerStore::Registry { repository, .. } => {
                format!("{}/{}", repository.registry(), repository.repository())
            }
        }
    }

    /// Reads the store's content, verified.
    pub fn source(&self) -> Arc<dyn Source> {
        match self {
            ReferrerStore::Layout(path) => Arc::new(LayoutSource::new(path, None)),
            ReferrerStore::Registry { client, repository } => {
                Arc::new(RegistrySource::new(client.clone(), repository.clone()))
            }
        }
    }

    /// Attaches `artifact` to its subject: blobs first, then the manifest. Attaching the same
    /// artifact again changes nothing. Returns the manifest's descriptor.
    pub fn attach(&self, artifact: &Artifact) -> Result<Descriptor> {
        for (desc, bytes) in artifact.blobs() {
            if !self.has_blob(&desc)? {
                self.put_blob(&desc, &mut &bytes[..])?;
            }
        }
        self.put_referrer(&artifact.manifest())
    }

    /// The referrers of `subject` (descriptors with `artifactType` and annotations), only those
    /// of `artifact_type` when given. A layout lists them in the order of `index.json`, reading
    /// the entries that may be referrers: those with an `artifactType` or without a name (a named
    /// entry without one is an image).
    pub fn list(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        let found = match self {
            ReferrerStore::Registry { client, repository } => client.referrers(repository, subject, artifact_type)?,
            ReferrerStore::Layout(path) => {
                let source = self.source();
                let mut found = Vec::new();
                for entry in read_index(path)?.manifests() {
                    let media_type = entry.media_type().to_string();
                    let named = entry.annotations().as_ref().is_some_and(|a| a.contains_key(crate::REF_NAME));
                    if (media_type != OCI_MANIFEST && media_type != OCI_INDEX)
                        || (named && entry.artifact_type().is_none())
                    {
                        continue;
                    }
                    let bytes = source.fetch_bytes(entry)?;
                    let value = parse_manifest(&bytes, entry.digest(), &self.location())?;
                    if subject_of(&value).as_ref() == Some(subject) {
                        found.push(referrer_descriptor(&media_type, &bytes, &value));
                    }
                }
                found
            }
        };
        Ok(match artifact_type {
            None => found,
            Some(wanted) => found
                .into_iter()
                .filter(|d| d.artifact_type().as_ref().is_some_and(|t| t.to_string() == wanted))
                .collect(),
        })
    }

    /// Reads one referrer: its manifest, config and layers, each verified against its digest;
    /// layers that together exceed `max_layer_bytes` are refused before any is read.
    pub fn fetch(&self, referrer: &Descriptor, max_layer_bytes: u64) -> Result<FetchedArtifact> {
        let source = self.source();
        let location = self.location();
        let bytes = source.fetch_bytes(referrer)?;
        let value = parse_manifest(&bytes, referrer.digest(), &location)?;
        let bad = |reason: &str| Error::malformed(format!("referrer `{}`", referrer.digest()), &location, reason);
        let config: Descriptor = value
            .get("config")
            .cloned()
            .ok_or_else(|| bad("it has no `config` (an index is not an artifact pare can read)"))
            .and_then(|c| serde_json::from_value(c).map_err(|e| bad(&format!("bad `config`: {e}"))))?;
        let layers: Vec<Descriptor> = match value.get("layers") {
            Some(l) => serde_json::from_value(l.clone()).map_err(|e| bad(&format!("bad `layers`: {e}")))?,
            None => Vec::new(),
        };
        let total = layers.iter().fold(0u64, |sum, l| sum.saturating_add(l.size()));
        if total > max_layer_bytes {
            return Err(Error::LimitExceeded {
                what: format!("the {total} bytes of layers of referrer `{}` in {location}", referrer.digest()),
                limit: max_layer_bytes,
                hint: "this artifact is larger than what is read back here".into(),
            });
        }
        let config_bytes = source.fetch_bytes(&config)?;
        let mut read = Vec::new();
        for layer in layers {
            let content =
                crate::read_verified(source.open_raw(&layer)?, layer.digest(), layer.size(), max_layer_bytes)?;
            read.push((layer, content));
        }
        let descriptor = referrer_descriptor(referrer.media_type().as_ref(), &bytes, &value);
        Ok(FetchedArtifact {
            artifact_type: descriptor.artifact_type().as_ref().map(ToString::to_string),
            annotations: annotations_of(&value),
            subject: subject_of(&value),
            descriptor,
            manifest: bytes,
            config: (config, config_bytes),
            layers: read,
        })
    }

    /// The manifest a tag names here (a layout's `index.json` entry of that name, a registry tag),
    /// as its descriptor and exact bytes, verified; `None` when nothing has that name.
    pub fn get_tag(&self, tag: &str) -> Result<Option<(Descriptor, Vec<u8>)>> {
        match self {
            ReferrerStore::Layout(path) => {
                let index = read_index(path)?;
                let Some(entry) = index.manifests().iter().find(|d| {
                    d.annotations().as_ref().and_then(|a| a.get(crate::REF_NAME)).map(String::as_str) == Some(tag)
                }) else {
                    return Ok(None);
                };
                let bytes = self.source().fetch_bytes(entry)?;
                Ok(Some((entry.clone(), bytes)))
            }
            ReferrerStore::Registry { client, repository } => match client.get_manifest(&repository.with_tag(tag)) {
                Ok((desc, bytes)) => Ok(Some((desc, bytes))),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Stores `blobs` (those the store lacks), then the image manifest `manifest` under `tag`,
    /// replacing what the tag named. Returns the manifest's descriptor.
    pub fn put_tag(&self, tag: &str, manifest: &[u8], blobs: &[(Descriptor, &[u8])]) -> Result<Descriptor> {
        for (desc, bytes) in blobs {
            if !self.has_blob(desc)? {
                self.put_blob(desc, &mut &bytes[..])?;
            }
        }
        let value = parse_manifest(manifest, &crate::sha256(manifest), &self.location())?;
        let media_type = value.get("mediaType").and_then(Value::as_str).unwrap_or(OCI_MANIFEST);
        let desc = plain(media_type, manifest);
        match self {
            ReferrerStore::Layout(path) => {
                crate::write_atomic(&blob_path(path, desc.digest()), manifest)?;
                crate::layout::set_named_entry(path, tag, &desc)?;
            }
            ReferrerStore::Registry { client, repository } => {
                client.put_manifest(&repository.with_tag(tag), media_type, manifest)?;
            }
        }
        Ok(desc)
    }

    /// Reads one blob, verified against its descriptor, refusing one larger than `max_bytes`.
    pub fn read_blob(&self, desc: &Descriptor, max_bytes: u64) -> Result<Vec<u8>> {
        if desc.size() > max_bytes {
            return Err(Error::LimitExceeded {
                what: format!("blob `{}` of {} bytes in {}", desc.digest(), desc.size(), self.location()),
                limit: max_bytes,
                hint: "this blob is larger than what is read back here".into(),
            });
        }
        crate::read_verified(self.source().open_raw(desc)?, desc.digest(), desc.size(), max_bytes)
    }

    /// Whether the store has this blob (a layout's copy must check out; a damaged one is replaced).
    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        match self {
            ReferrerStore::Layout(path) => {
                let file = blob_path(path, desc.digest());
                match std::fs::File::open(&file) {
                    Ok(mut f) => crate::digest::file_matches(&mut f, &file, desc.digest(), desc.size()),
                    Err(_) => Ok(false),
                }
            }
            ReferrerStore::Registry { client, repository } => {
                Ok(client.blob_exists(repository, desc.digest())? == Some(desc.size()))
            }
        }
    }

    /// Stores a blob, checking it against `desc` as it streams.
    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        let mut verified = crate::VerifyingReader::new(content, desc.digest().clone(), desc.size());
        match self {
            ReferrerStore::Layout(path) => {
                crate::write_atomic_from(&blob_path(path, desc.digest()), &mut verified)?;
            }
            ReferrerStore::Registry { client, repository } => {
                client.push_blob(repository, desc.digest(), desc.size(), &mut verified, None)?;
            }
        }
        Ok(())
    }

    /// Stores a referrer manifest (its blobs are stored already) and indexes it under its subject.
    fn put_referrer(&self, manifest: &[u8]) -> Result<Descriptor> {
        let digest = crate::sha256(manifest);
        let value = parse_manifest(manifest, &digest, &self.location())?;
        if subject_of(&value).is_none() {
            return Err(Error::malformed(
                format!("referrer `{digest}`"),
                self.location(),
                "it has no `subject`, so it refers to nothing",
            ));
        }
        let media_type = value.get("mediaType").and_then(Value::as_str).unwrap_or(OCI_MANIFEST).to_string();
        let desc = referrer_descriptor(&media_type, manifest, &value);
        match self {
            ReferrerStore::Layout(path) => {
                crate::write_atomic(&blob_path(path, &digest), manifest)?;
                add_index_entry(path, &desc)?;
            }
            ReferrerStore::Registry { client, repository } => {
                client.push_referrer(repository, &media_type, manifest)?;
            }
        }
        Ok(desc)
    }
}

fn parse_manifest(bytes: &[u8], digest: &Digest, location: &str) -> Result<Value> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| Error::malformed(format!("manifest `{digest}`"), location, "it is not a JSON object"))
}

fn subject_of(manifest: &Value) -> Option<Digest> {
    let digest = manifest.get("subject")?.get("digest")?.as_str()?;
    crate::parse_digest(digest).ok()
}

fn annotations_of(manifest: &Value) -> BTreeMap<String, String> {
    manifest
        .get("annotations")
        .and_then(Value::as_object)
        .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// A referrer's descriptor as the referrers API gives it: `artifactType` is the manifest's, else
/// its config's media type; annotations are the manifest's.
fn referrer_descriptor(media_type: &str, bytes: &[u8], manifest: &Value) -> Descriptor {
    let mut desc = plain(media_type, bytes);
    let artifact_type = manifest
        .get("artifactType")
        .and_then(Value::as_str)
        .or_else(|| manifest.get("config").and_then(|c| c.get("mediaType")).and_then(Value::as_str));
    if let Some(t) = artifact_type {
        desc.set_artifact_type(Some(MediaType::from(t)));
    }
    let annotations = annotations_of(manifest);
    if !annotations.is_empty() {
        desc.set_annotations(Some(annotations.into_iter().collect::<HashMap<_, _>>()));
    }
    desc
}

/// Copies the referrers of `subject` from one store to another, then their referrers, down to
/// `max_depth` levels, each manifest byte for byte. Returns what was copied (already present or
/// not). Referrers that are indexes are skipped with a warning.
pub fn copy_referrers(
    from: &ReferrerStore,
    to: &ReferrerStore,
    subject: &Digest,
    max_depth: usize,
) -> Result<Vec<Descriptor>> {
    let source = from.source();
    let mut copied = Vec::new();
    let mut seen = BTreeSet::from([subject.to_string()]);
    let mut queue = VecDeque::from([(subject.clone(), 0usize)]);
    while let Some((about, depth)) = queue.pop_front() {
        let referrers = from.list(&about, None)?;
        if depth >= max_depth {
            if !referrers.is_empty() {
                tracing::warn!(subject = %about, "referrers nest more than {max_depth} deep; the deeper ones are not copied");
            }
            continue;
        }
        for referrer in referrers {
            if !seen.insert(referrer.digest().to_string()) {
                continue;
            }
            let bytes = source.fetch_bytes(&referrer)?;
            let value = parse_manifest(&bytes, referrer.digest(), &from.location())?;
            let Some(config) = value.get("config").cloned() else {
                tracing::warn!(referrer = %referrer.digest(), "a referrer that is an index is not copied");
                continue;
            };
            let bad = |e: serde_json::Error| {
                Error::malformed(format!("referrer `{}`", referrer.digest()), from.location(), e)
            };
            let mut blobs: Vec<Descriptor> = vec![serde_json::from_value(config).map_err(bad)?];
            if let Some(layers) = value.get("layers") {
                blobs.extend(serde_json::from_value::<Vec<Descriptor>>(layers.clone()).map_err(bad)?);
            }
            for blob in &blobs {
                if !to.has_blob(blob)? {
                    to.put_blob(blob, &mut source.fetch(blob)?)?;
                }
            }
            copied.push(to.put_referrer(&bytes)?);
            queue.push_back((referrer.digest().clone(), depth + 1));
        }
    }
    Ok(copied)
}

/// The suffixes of cosign's attachment tags (`sha256-<hex>.sig`, `.att`, `.sbom`).
pub const ATTACHMENT_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// The tag cosign attaches `suffix` (`sig`, `att`, `sbom`) to `subject` under: `sha256-<hex>.sig`.
pub fn attachment_tag(subject: &Digest, suffix: &str) -> String {
    format!("{}-{}.{suffix}", subject.algorithm(), subject.digest())
}

/// Copies cosign's tag-attached signatures, attestations and SBOMs of `subject` (the
/// `sha256-<hex>.sig`, `.att` and `.sbom` tags) from one store to another, manifests byte for
/// byte. Returns the manifests copied.
pub fn copy_attachment_tags(from: &ReferrerStore, to: &ReferrerStore, subject: &Digest) -> Result<Vec<Descriptor>> {
    let source = from.source();
    let mut copied = Vec::new();
    for suffix in ATTACHMENT_SUFFIXES {
        let tag = attachment_tag(subject, suffix);
        let Some((desc, bytes)) = from.get_tag(&tag)? else { continue };
        let value = parse_manifest(&bytes, desc.digest(), &from.location())?;
        let bad = |e: serde_json::Error| Error::malformed(format!("`{tag}` manifest"), from.location(), e);
        let mut blobs: Vec<Descriptor> = Vec::new();
        if let Some(config) = value.get("config") {
            blobs.push(serde_json::from_value(config.clone()).map_err(bad)?);
        }
        if let Some(layers) = value.get("layers") {
            blobs.extend(serde_json::from_value::<Vec<Descriptor>>(layers.clone()).map_err(bad)?);
        }
        for blob in &blobs {
            if !to.has_blob(blob)? {
                to.put_blob(blob, &mut source.fetch(blob)?)?;
            }
        }
        copied.push(to.put_tag(&tag, &bytes, &[])?);
    }
    Ok(copied)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn subject() -> Descriptor {
        plain(OCI_MANIFEST, b"image")
    }

    #[test]
    fn artifact_manifest_follows_the_image_spec() {
        let a = Artifact::new("application/vnd.dev.sigstore.bundle.v0.3+json", &subject())
            .with_layer("application/vnd.dev.sigstore.bundle.v0.3+json", b"{\"b\":1}".to_vec(), BTreeMap::new())
            .with_annotation(CREATED, "2026-01-01T00:00:00Z");
        let m: Value = serde_json::from_slice(&a.manifest()).unwrap();
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert_eq!(m["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
        assert_eq!(m["config"]["mediaType"], EMPTY_MEDIA_TYPE);
        assert_eq!(m["config"]["digest"], "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        assert_eq!(m["subject"]["digest"], subject().digest().to_string());
        assert_eq!(m["annotations"][CREATED], "2026-01-01T00:00:00Z");
        // Same content, same bytes; the descriptor is the manifest's.
        assert_eq!(a.manifest(), a.clone().manifest());
        assert_eq!(a.descriptor().digest(), &crate::sha256(&a.manifest()));
        assert_eq!(a.descriptor().artifact_type().as_ref().unwrap().to_string(), a.artifact_type);
    }

    #[test]
    fn an_artifact_without_layers_gets_the_empty_layer() {
        let a = Artifact::new("application/vnd.example.verdict", &subject());
        let m: Value = serde_json::from_slice(&a.manifest()).unwrap();
        assert_eq!(m["layers"][0]["mediaType"], EMPTY_MEDIA_TYPE);
        assert_eq!(m["layers"][0]["size"], 2);
        assert!(m.get("annotations").is_none());
    }
}
