//! The build-time SBOM: each platform image is cataloged by the same code as `pare sbom`
//! ([`pare_sbom::catalog_image`]), every Debian package is checked against the lock and given the
//! lock's `.deb` SHA-256 and URL, and the document is attached to the image as an OCI 1.1
//! referrer (an artifact manifest whose `subject` is the platform manifest).
//!
//! The artifact is a [`pare_oci::referrers::Artifact`]; attaching, listing and reading it back go
//! through [`pare_oci::referrers::ReferrerStore`] (an OCI layout or a registry), as any referrer.

use std::collections::{BTreeMap, BTreeSet};

use pare_oci::referrers::{Artifact, ReferrerStore};
use pare_oci::{Descriptor, Digest, Root};
use pare_sbom::{Checksum, Inventory};
use serde_json::json;

use crate::{Built, Error, Lock, LockedPackage};

/// The artifact type (and layer media type) of SPDX JSON documents.
pub const SPDX_ARTIFACT_TYPE: &str = "application/spdx+json";
/// The artifact type (and layer media type) of CycloneDX JSON documents.
pub const CYCLONEDX_ARTIFACT_TYPE: &str = "application/vnd.cyclonedx+json";
/// The annotation with the artifact's creation time.
pub use pare_oci::referrers::CREATED;
/// The annotation naming the layer's file.
const TITLE: &str = "org.opencontainers.image.title";

/// Whether an artifact type is one of the SBOM types pare attaches and reads back.
pub fn is_sbom_type(artifact_type: &str) -> bool {
    artifact_type == SPDX_ARTIFACT_TYPE || artifact_type == CYCLONEDX_ARTIFACT_TYPE
}

/// The SBOM of one platform image of a build.
#[derive(Clone, Debug)]
pub struct PlatformSbom {
    /// Debian's name (`amd64`).
    pub architecture: String,
    /// The platform manifest (media type, digest, size): the referrer's `subject`.
    pub subject: Descriptor,
    pub inventory: Inventory,
    /// What the view and the catalogers warned about.
    pub warnings: Vec<String>,
}

/// Catalogs every platform image of `built` as `pare sbom` would, checks the Debian packages
/// against `lock` (same names, versions and architectures both ways; packages the base image
/// brought are not in the lock) and adds each `.deb`'s SHA-256 and URL. The creation time is the
/// build's `SOURCE_DATE_EPOCH`, so the same build gives the same bytes.
pub fn catalog_built(built: &Built, lock: &Lock, subject_name: &str) -> Result<Vec<PlatformSbom>, Error> {
    let root = built.source.open()?;
    let created = pare_oci::rfc3339(built.epoch);
    let mut out = Vec::new();
    for summary in &built.images {
        let image = match &root {
            Root::Image(image) => image.clone(),
            Root::Index(index) => {
                let desc = index
                    .manifests()
                    .iter()
                    .find(|d| d.digest().to_string() == summary.digest)
                    .cloned()
                    .ok_or_else(|| mismatch(&summary.architecture, "the built index lacks this image".into()))?;
                match index.open(&desc)? {
                    Root::Image(image) => image,
                    Root::Index(_) => {
                        return Err(mismatch(&summary.architecture, "the built index nests an index".into()));
                    }
                }
            }
        };
        let limits = pare_oci::fs::Limits::default();
        let (view, catalog) = pare_sbom::catalog_image(&image, &limits, subject_name, None)?;
        let mut warnings: Vec<String> = view.warnings().to_vec();
        warnings.extend(catalog.warnings);
        let mut inventory = catalog.inventory;
        let locked = lock.packages(&summary.architecture).unwrap_or_default();
        let base_layers: BTreeSet<&str> =
            summary.layers.iter().filter(|l| l.name == "base").map(|l| l.digest.as_str()).collect();
        enrich(&mut inventory, locked, &base_layers, &summary.architecture)?;
        inventory.created = Some(created.clone());
        inventory.normalize();
        let subject = descriptor(image.descriptor().media_type().as_ref(), image.digest(), image.descriptor().size())?;
        out.push(PlatformSbom { architecture: summary.architecture.clone(), subject, inventory, warnings });
    }
    Ok(out)
}

fn mismatch(architecture: &str, difference: String) -> Error {
    Error::SbomMismatch { architecture: architecture.to_string(), differences: vec![difference] }
}

/// Adds the lock's SHA-256 and URL to each Debian package of `inventory`; an error lists every
/// package that is only in the image (outside the base's layers), only in the lock, or in both
/// with another version.
pub fn enrich(
    inventory: &mut Inventory,
    locked: &[LockedPackage],
    base_layers: &BTreeSet<&str>,
    architecture: &str,
) -> Result<(), Error> {
    let mut by_key: BTreeMap<(&str, &str), &LockedPackage> =
        locked.iter().map(|p| ((p.name.as_str(), p.architecture.as_str()), p)).collect();
    let mut differences = Vec::new();
    for p in inventory.packages.iter_mut().filter(|p| p.ecosystem == "deb") {
        let arch = p.architecture.as_deref().unwrap_or("");
        match by_key.remove(&(p.name.as_str(), arch)) {
            Some(l) if l.version == p.version => {
                p.checksums = vec![Checksum::sha256(&l.sha256)];
                p.download_location = Some(l.url.clone());
            }
            Some(l) => differences
                .push(format!("{} ({arch}): the image has version {}, the lock {}", p.name, p.version, l.version)),
            None => {
                let from_base =
                    !p.locations.is_empty() && p.locations.iter().all(|l| base_layers.contains(l.layer.as_str()));
                if !from_base {
                    differences.push(format!("{} {} ({arch}) is in the image but not in the lock", p.name, p.version));
                }
            }
        }
    }
    for l in by_key.values() {
        differences.push(format!("{} {} ({}) is in the lock but not in the image", l.name, l.version, l.architecture));
    }
    if differences.is_empty() {
        Ok(())
    } else {
        differences.sort();
        Err(Error::SbomMismatch { architecture: architecture.to_string(), differences })
    }
}

/// A descriptor with only media type, digest and size.
fn descriptor(media_type: &str, digest: &Digest, size: u64) -> Result<Descriptor, Error> {
    serde_json::from_value(json!({"mediaType": media_type, "digest": digest.to_string(), "size": size}))
        .map_err(|e| Error::Oci(Box::new(pare_oci::Error::Unsupported(format!("cannot make a descriptor: {e}")))))
}

/// The OCI 1.1 artifact for an SBOM `document` of `artifact_type` about `subject`: the empty
/// config, one layer holding the document (titled `sbom.spdx.json` or `sbom.cdx.json`), and the
/// `org.opencontainers.image.created` annotation (`created`, RFC 3339).
pub fn sbom_artifact(document: Vec<u8>, artifact_type: &str, subject: &Descriptor, created: &str) -> Artifact {
    let title = if artifact_type == SPDX_ARTIFACT_TYPE { "sbom.spdx.json" } else { "sbom.cdx.json" };
    Artifact::new(artifact_type, subject)
        .with_layer(artifact_type, document, BTreeMap::from([(TITLE.to_string(), title.to_string())]))
        .with_annotation(CREATED, created)
}

/// An SBOM found attached to an image.
#[derive(Clone, Debug)]
pub struct AttachedSbom {
    pub artifact_type: String,
    /// The artifact manifest's digest.
    pub manifest: Digest,
    /// Its `org.opencontainers.image.created` annotation.
    pub created: Option<String>,
    /// The document, verified against its digest.
    pub document: Vec<u8>,
}

/// The SBOMs attached to `subject` in `store` (a layout or a registry repository), oldest first.
pub fn attached(store: &ReferrerStore, subject: &Digest) -> Result<Vec<AttachedSbom>, Error> {
    let mut out = Vec::new();
    for desc in store.list(subject, None)? {
        let Some(artifact_type) = desc.artifact_type().as_ref().map(ToString::to_string) else { continue };
        if !is_sbom_type(&artifact_type) {
            continue;
        }
        let fetched = store.fetch(&desc, pare_sbom::MAX_SBOM_BYTES as u64).map_err(|e| match e {
            e @ pare_oci::Error::LimitExceeded { .. } => Error::BadAttachedSbom {
                artifact: desc.digest().to_string(),
                location: store.location(),
                reason: e.to_string(),
            },
            other => other.into(),
        })?;
        let Some((_, document)) = fetched.layers.into_iter().next() else {
            return Err(Error::BadAttachedSbom {
                artifact: desc.digest().to_string(),
                location: store.location(),
                reason: "it has no layer".into(),
            });
        };
        out.push(AttachedSbom {
            artifact_type,
            manifest: desc.digest().clone(),
            created: fetched.annotations.get(CREATED).cloned(),
            document,
        });
    }
    out.sort_by(|a, b| a.created.cmp(&b.created));
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn locked(name: &str, version: &str, arch: &str) -> LockedPackage {
        LockedPackage {
            name: name.into(),
            version: version.into(),
            architecture: arch.into(),
            source: name.into(),
            source_version: version.into(),
            pocket: "stable".into(),
            filename: format!("pool/main/{name}.deb"),
            url: format!("http://deb.example.org/pool/main/{name}.deb"),
            sha256: "AB".repeat(32),
            size: 1,
            required_by: None,
            relation: None,
        }
    }

    fn package(name: &str, version: &str, arch: &str, layer: &str) -> pare_sbom::Package {
        pare_sbom::Package {
            ecosystem: "deb".into(),
            name: name.into(),
            version: version.into(),
            source_name: None,
            source_version: None,
            architecture: Some(arch.into()),
            purl: format!("pkg:deb/debian/{name}@{version}?arch={arch}"),
            licenses: Vec::new(),
            files: Vec::new(),
            locations: vec![pare_sbom::Location { layer: layer.into(), path: "/var/lib/dpkg/status".into() }],
            checksums: Vec::new(),
            download_location: None,
        }
    }

    fn inventory(packages: Vec<pare_sbom::Package>) -> Inventory {
        Inventory {
            subject: pare_sbom::Subject { name: "x".into(), digest: None },
            os: None,
            packages,
            tool: pare_sbom::Tool::default(),
            created: None,
        }
    }

    #[test]
    fn enriches_matching_packages() {
        let mut inv =
            inventory(vec![package("a", "1", "amd64", "sha256:p"), package("base-pkg", "2", "amd64", "sha256:b")]);
        let base: BTreeSet<&str> = ["sha256:b"].into_iter().collect();
        enrich(&mut inv, &[locked("a", "1", "amd64")], &base, "amd64").unwrap();
        assert_eq!(inv.packages[0].checksums, vec![Checksum::sha256(&"ab".repeat(32))]);
        assert_eq!(inv.packages[0].download_location.as_deref(), Some("http://deb.example.org/pool/main/a.deb"));
        // The base's package is not in the lock, and has no hash.
        assert!(inv.packages[1].checksums.is_empty());
    }

    #[test]
    fn mismatches_are_typed_errors_listing_every_difference() {
        let mut inv = inventory(vec![
            package("a", "1", "amd64", "sha256:p"),
            package("b", "2", "amd64", "sha256:p"),
            package("c", "1", "all", "sha256:p"),
        ]);
        let lock = [locked("a", "1.1", "amd64"), locked("c", "1", "amd64"), locked("d", "4", "amd64")];
        let err = enrich(&mut inv, &lock, &BTreeSet::new(), "amd64").unwrap_err();
        let Error::SbomMismatch { architecture, differences } = &err else { panic!("{err}") };
        assert_eq!(architecture, "amd64");
        assert_eq!(
            differences,
            &[
                "a (amd64): the image has version 1, the lock 1.1",
                "b 2 (amd64) is in the image but not in the lock",
                "c 1 (all) is in the image but not in the lock",
                "c 1 (amd64) is in the lock but not in the image",
                "d 4 (amd64) is in the lock but not in the image",
            ]
        );
        assert!(err.hint().is_some_and(|h| h.contains("bug in pare's builder")), "{err}");
    }

    #[test]
    fn artifact_manifest_follows_the_image_spec() {
        let subject = descriptor(pare_oci::media_types::OCI_MANIFEST, &pare_oci::sha256(b"image"), 5).unwrap();
        let a = sbom_artifact(
            b"{\"spdxVersion\":\"SPDX-2.3\"}".to_vec(),
            SPDX_ARTIFACT_TYPE,
            &subject,
            "2023-11-14T22:13:20Z",
        );
        let m: serde_json::Value = serde_json::from_slice(&a.manifest()).unwrap();
        assert_eq!(m["artifactType"], SPDX_ARTIFACT_TYPE);
        assert_eq!(m["config"]["digest"], "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(m["config"]["size"], 2);
        assert_eq!(m["layers"][0]["mediaType"], SPDX_ARTIFACT_TYPE);
        assert_eq!(m["subject"]["digest"], subject.digest().to_string());
        assert_eq!(m["annotations"][CREATED], "2023-11-14T22:13:20Z");
        assert_eq!(m["layers"][0]["annotations"][TITLE], "sbom.spdx.json");
        assert_eq!(a.descriptor().digest(), &pare_oci::sha256(&a.manifest()));
        assert_eq!(a.descriptor().size(), a.manifest().len() as u64);
    }
}
