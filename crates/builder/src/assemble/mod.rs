//! Assembly without maintainer scripts: the packages' files in one layer (with dpkg metadata the
//! distroless way), what postinst scripts would have made in a second, application files in a third:
//! `tree.rs` (the packages' files), `system.rs` (accounts, os-release, CA bundle), `app.rs` (`--add`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pare_deb::{ArchiveClient, DebArchive, Paragraph};
use pare_oci::{
    AssembledSource, Assembler, Descriptor, EntryData, FileContent, ImageSpec, LayerEntry, LayerOptions, RuntimeConfig,
    WrittenLayer,
};

use crate::Error;
use crate::cacerts::{JAVA_CACERTS, certs_from_pem, trust_store};
use crate::definition::{FileKind, Loaded, platform, substitute};
use crate::lock::{Lock, LockedPackage};
use crate::paths::PathFilter;
use crate::resolve::{Event, Events};

mod app;
mod system;
mod tree;

use app::{app_layer, check_app_layer};
use system::system_layer;
use tree::Tree;
/// Where the CA bundle goes (what `update-ca-certificates` writes).
pub const CA_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// How to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Build time (seconds since the epoch): image `created` and every mtime. Default:
    /// `SOURCE_DATE_EPOCH`, else the lock's newest Release date.
    pub epoch: Option<u64>,
    /// Build only these of the definition's architectures (default: all).
    pub architectures: Vec<String>,
    /// Host files or directories for the application layer.
    pub add: Vec<AddSpec>,
    /// How the definition's `base` is opened (a registry client for registry references; paths are
    /// resolved against the definition's directory here).
    pub open: pare_oci::OpenOptions,
    /// Let `[[files]] source` name host files outside the definition's directory.
    pub allow_host_paths: bool,
    /// Layer compression, over the definition's `compression` (default gzip).
    pub compression: Option<crate::definition::LayerCompression>,
    /// Compression level, over the definition's `compression_level`.
    pub compression_level: Option<i32>,
}

/// `--add SRC:DEST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddSpec {
    pub source: PathBuf,
    /// Absolute path in the image; a trailing `/` puts a file inside that directory.
    pub dest: String,
}

impl std::str::FromStr for AddSpec {
    type Err = Error;
    fn from_str(spec: &str) -> Result<AddSpec, Error> {
        let bad = |reason: &str| Error::Add { spec: spec.to_string(), reason: reason.to_string() };
        let at = spec.rfind(":/").ok_or_else(|| bad("no `:/` between SRC and an absolute DEST"))?;
        let (source, dest) = (&spec[..at], &spec[at + 1..]);
        if source.is_empty() {
            return Err(bad("SRC is empty"));
        }
        if dest.split('/').any(|c| c == "..") || dest.trim_matches('/').is_empty() && !dest.ends_with('/') {
            return Err(bad("DEST is not a clean absolute path"));
        }
        Ok(AddSpec { source: PathBuf::from(source), dest: dest.to_string() })
    }
}

/// What was built.
pub struct Built {
    /// The image or index, in a temporary layout (copy it to a sink).
    pub source: Arc<AssembledSource>,
    pub root: Descriptor,
    pub epoch: u64,
    pub images: Vec<ImageSummary>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ImageSummary {
    pub architecture: String,
    pub digest: String,
    pub packages: Vec<String>,
    pub layers: Vec<LayerSummary>,
}

#[derive(Clone, Debug)]
pub struct LayerSummary {
    pub name: String,
    pub digest: String,
    /// Compressed size.
    pub size: u64,
    /// Bytes of file content (uncompressed); 0 for the base's layers (`name` "base"), which are not read.
    pub content: u64,
    /// 0 for the base's layers.
    pub entries: usize,
}

/// Builds the image (one per architecture, under an index when there are several) from a lock.
pub fn build(
    loaded: &Loaded,
    lock: &Lock,
    client: &ArchiveClient,
    options: &BuildOptions,
    events: Events<'_>,
) -> Result<Built, Error> {
    let d = &loaded.definition;
    let epoch = match options.epoch {
        Some(epoch) => epoch,
        None => pare_oci::source_date_epoch()?.unwrap_or_else(|| lock.newest_release()),
    };
    let archs: Vec<&String> = if options.architectures.is_empty() {
        d.architectures.iter().collect()
    } else {
        for a in &options.architectures {
            if !d.architectures.contains(a) {
                return Err(Error::field(
                    &loaded.origin,
                    "architectures",
                    format!("`{a}` is not one of {}", d.architectures.join(", ")),
                    "pick an architecture of the definition",
                ));
            }
        }
        d.architectures.iter().filter(|a| options.architectures.contains(a)).collect()
    };
    let filter = PathFilter::new(&d.paths);
    let compression = options.compression.or(d.compression).unwrap_or_default().oci();
    let level = options.compression_level.or(d.compression_level);
    compression.check_level(level).map_err(|e| {
        Error::field(&loaded.origin, "compression_level", e.to_string(), "or leave it out for the default")
    })?;
    let layer_options = LayerOptions { mtime: epoch, compression, level };
    let app_entries = app_layer(&options.add)?;
    let mut assembler = Assembler::new()?;
    let mut warnings = Vec::new();
    let mut manifests = Vec::new();
    let mut images = Vec::new();
    let mut annotations = d.annotations.clone();
    annotations.entry("org.opencontainers.image.created".into()).or_insert_with(|| pare_oci::rfc3339(epoch));
    let lock_file = || loaded.lock_path.as_ref().map_or_else(|| "(lock)".into(), |p| p.display().to_string());
    let base = match d.base_ref() {
        None => None,
        Some(b) => {
            let pinned = b.digest.to_string();
            if lock.base.as_deref() != Some(pinned.as_str()) {
                return Err(Error::Lock {
                    file: lock_file(),
                    reason: format!(
                        "it was made for base {}, the definition pins {pinned}",
                        lock.base.as_deref().unwrap_or("(none)")
                    ),
                });
            }
            let root = crate::base::open(loaded, &b, &options.open)?;
            annotations.insert(crate::base::BASE_NAME.into(), b.name.clone());
            annotations.insert(crate::base::BASE_DIGEST.into(), pinned);
            Some((b, root))
        }
    };

    for arch in archs {
        let packages = lock
            .packages(arch)
            .ok_or_else(|| Error::Lock { file: lock_file(), reason: format!("no packages for `{arch}`") })?;
        let requests = packages.iter().map(LockedPackage::deb_request).collect::<Result<Vec<_>, _>>()?;
        let paths = client.fetch_debs(&requests, &|e| events(&Event::Download(e))).map_err(Error::archive(arch))?;

        let mut tree = Tree::default();
        for (package, path) in packages.iter().zip(&paths) {
            tree.add_deb(package, path, &filter)?;
        }
        tree.finish(&filter)?;
        for w in &tree.warnings {
            events(&Event::Warning(w));
        }
        warnings.append(&mut tree.warnings);
        let has_ca = packages.iter().any(|p| p.name == "ca-certificates");

        let mut layers: Vec<(String, Vec<LayerEntry>)> = Vec::new();
        let mut system_warnings = Vec::new();
        let system = system_layer(loaded, arch, &tree, has_ca, options.allow_host_paths, &mut system_warnings)?;
        check_app_layer(&app_entries, &options.add, &tree, &system)?;
        for w in &system_warnings {
            events(&Event::Warning(w));
        }
        warnings.append(&mut system_warnings);
        layers.push(("packages".into(), tree.into_entries()));
        layers.push(("system".into(), system));
        if !app_entries.is_empty() {
            layers.push(("app".into(), app_entries.clone()));
        }
        let plat = platform(arch)
            .ok_or_else(|| Error::field(&loaded.origin, "architectures", format!("unknown `{arch}`"), ""))?;
        let mut summaries = Vec::new();
        let base_image = match &base {
            Some((b, root)) => {
                let image = crate::base::image_for(loaded, b, root, &plat)?;
                let layers = crate::base::copy_layers(&assembler, &image)?;
                for layer in &layers {
                    summaries.push(LayerSummary {
                        name: "base".into(),
                        digest: layer.digest.to_string(),
                        size: layer.size,
                        content: 0,
                        entries: 0,
                    });
                }
                Some((b, image, layers))
            }
            None => None,
        };
        let mut written: Vec<WrittenLayer> = Vec::new();
        for (name, entries) in layers {
            let entries = with_parents(entries);
            let content = entries.iter().map(content_size).sum();
            let count = entries.len();
            let layer = assembler.add_layer(entries, &layer_options)?;
            events(&Event::Layer { architecture: arch, name: &name, size: layer.size });
            summaries.push(LayerSummary {
                name,
                digest: layer.digest.to_string(),
                size: layer.size,
                content,
                entries: count,
            });
            written.push(layer);
        }
        let spec = ImageSpec {
            platform: plat,
            runtime: runtime(loaded, arch, has_ca),
            created: epoch,
            annotations: annotations.clone(),
        };
        let desc = match &base_image {
            Some((b, image, layers)) => {
                crate::base::add_image(&assembler, loaded, b, image, layers, &written, &spec, arch, has_ca)?
            }
            None => assembler.add_image(&spec, &written)?,
        };
        images.push(ImageSummary {
            architecture: arch.clone(),
            digest: desc.digest().to_string(),
            packages: packages.iter().map(|p| format!("{} {}", p.name, p.version)).collect(),
            layers: summaries,
        });
        manifests.push(desc);
    }
    let root = match manifests.as_slice() {
        [one] => one.clone(),
        _ => assembler.add_index(&manifests, &annotations)?,
    };
    let source = assembler.finish(&root)?;
    Ok(Built { source, root, epoch, images, warnings })
}

fn content_size(e: &LayerEntry) -> u64 {
    match &e.data {
        EntryData::File(FileContent::Bytes(b)) => b.len() as u64,
        EntryData::File(FileContent::Path { size, .. }) => *size,
        _ => 0,
    }
}

/// Adds missing parent directories (0755, root).
fn with_parents(mut entries: Vec<LayerEntry>) -> Vec<LayerEntry> {
    let present: BTreeSet<String> = entries.iter().map(|e| e.path.clone()).collect();
    let mut missing = BTreeSet::new();
    for e in &entries {
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if !present.contains(parent) {
                missing.insert(parent.to_string());
            }
            p = parent;
        }
    }
    entries.extend(missing.into_iter().map(|p| LayerEntry::dir(&p, 0o755)));
    entries
}

/// The image config: user, environment, entrypoint, cmd, workdir, labels.
fn runtime(loaded: &Loaded, arch: &str, has_ca: bool) -> RuntimeConfig {
    let d = &loaded.definition;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    if has_ca {
        env.insert("SSL_CERT_FILE".into(), format!("/{CA_BUNDLE}"));
    }
    for (k, v) in &d.env {
        if v.is_empty() {
            env.remove(k);
        } else {
            env.insert(k.clone(), substitute(v, arch));
        }
    }
    let sub = |list: &Option<Vec<String>>| list.as_ref().map(|l| l.iter().map(|s| substitute(s, arch)).collect());
    RuntimeConfig {
        user: Some(format!("{}:{}", d.user.uid, d.user.gid)),
        env: env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        entrypoint: sub(&d.entrypoint),
        cmd: sub(&d.cmd),
        working_dir: Some(d.workdir.as_ref().map_or_else(|| d.user.home_dir(), |w| substitute(w, arch))),
        labels: d.labels.clone(),
        stop_signal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::tree::clean_path;
    use super::*;

    #[test]
    fn add_specs() {
        let a: AddSpec = "target/app:/usr/local/bin/app".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, AddSpec { source: "target/app".into(), dest: "/usr/local/bin/app".into() });
        let b: AddSpec = "c:/x:/opt/".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.dest, "/opt/");
        assert!("app".parse::<AddSpec>().is_err());
        assert!("app:/../x".parse::<AddSpec>().is_err());
        assert!(":/x".parse::<AddSpec>().is_err());
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path(b"./usr/bin/x", "p").ok().flatten().as_deref(), Some("usr/bin/x"));
        assert_eq!(clean_path(b"./", "p").ok().flatten(), None);
        assert!(clean_path(b"./usr/../../etc", "p").is_err());
    }
}
