//! Assembly without maintainer scripts: the packages' files in one layer (with dpkg metadata the
//! distroless way), what postinst scripts would have made in a second, application files in a third.

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
    let layer_options = LayerOptions { mtime: epoch, compression };
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

/// The files of the installed packages, by path.
#[derive(Default)]
struct Tree {
    entries: BTreeMap<String, (LayerEntry, usize)>,
    /// Excluded directories kept for now because an include may need them.
    tentative: BTreeSet<String>,
    /// Per package: name and control data, in install order.
    packages: Vec<(String, pare_deb::DebControl)>,
    warnings: Vec<String>,
}

/// `./usr/bin/x` -> `usr/bin/x`; `None` for the root; an error for `..`.
fn clean_path(raw: &[u8], package: &str) -> Result<Option<String>, Error> {
    let text = std::str::from_utf8(raw).map_err(|_| Error::Package {
        package: package.into(),
        reason: format!("path `{}` is not UTF-8", String::from_utf8_lossy(raw)),
    })?;
    let mut parts = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(Error::Package {
                    package: package.into(),
                    reason: format!("path `{text}` climbs out with `..`"),
                });
            }
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

impl Tree {
    fn add_deb(&mut self, package: &LockedPackage, path: &Path, filter: &PathFilter) -> Result<(), Error> {
        let name = package.name.clone();
        let deb = DebArchive::open(path)?;
        let control = deb.control();
        let (got_name, got_version) = (control.control.get("Package"), control.control.get("Version"));
        if got_name != Some(name.as_str()) || got_version != Some(package.version.as_str()) {
            return Err(Error::Package {
                package: name,
                reason: format!("the .deb says it is {} {}", got_name.unwrap_or("?"), got_version.unwrap_or("?")),
            });
        }
        let index = self.packages.len();
        let control = deb.for_each_data_entry(|entry| -> Result<(), Error> {
            let io =
                |e: std::io::Error| Error::Package { package: name.clone(), reason: format!("reading data.tar: {e}") };
            let Some(path) = clean_path(&entry.path_bytes(), &name)? else { return Ok(()) };
            let header = entry.header();
            let kind = header.entry_type();
            // Empty numeric fields (some tar writers leave them blank) read as root and 0644/0755.
            let mode = header.mode().unwrap_or(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 }) & 0o7777;
            let uid = header.uid().unwrap_or(0);
            let gid = header.gid().unwrap_or(0);
            let uname = header.username().ok().flatten().unwrap_or(if uid == 0 { "root" } else { "" }).to_string();
            let gname = header.groupname().ok().flatten().unwrap_or(if gid == 0 { "root" } else { "" }).to_string();
            let data = match kind {
                tar::EntryType::Directory => EntryData::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 26));
                    entry.read_to_end(&mut bytes).map_err(io)?;
                    EntryData::File(FileContent::Bytes(bytes))
                }
                tar::EntryType::Symlink => {
                    let target =
                        entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                    // What `pare unpack` refuses: dropped or written as the container resolves it.
                    if target.is_empty() || target.contains('\0') {
                        self.warnings.push(format!("{name}: skipped symlink `/{path}` with an empty target"));
                        return Ok(());
                    }
                    if pare_oci::fs::symlink_escapes(&path, &target) {
                        let clamped = clamp_target(&path, &target);
                        self.warnings.push(format!(
                            "{name}: symlink `/{path}` -> `{target}` climbs above the root; written as `{clamped}`"
                        ));
                        EntryData::Symlink(clamped)
                    } else {
                        EntryData::Symlink(target)
                    }
                }
                tar::EntryType::Link => {
                    let raw = entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default();
                    match clean_path(&raw, &name)? {
                        Some(target) => EntryData::Hardlink(target),
                        None => return Ok(()),
                    }
                }
                other => {
                    self.warnings
                        .push(format!("{name}: skipped `/{path}`: pare does not put {other:?} entries in images"));
                    return Ok(());
                }
            };
            if !filter.keeps(&path) {
                if data == EntryData::Dir && filter.may_keep_below(&path) {
                    self.tentative.insert(path.clone());
                } else {
                    return Ok(());
                }
            }
            let entry = LayerEntry { path: path.clone(), data, mode, uid, gid, uname, gname, mtime: None };
            self.insert(entry, index);
            Ok(())
        })?;
        self.packages.push((name, control));
        Ok(())
    }

    fn insert(&mut self, entry: LayerEntry, index: usize) {
        match self.entries.get(&entry.path) {
            // Directories are shared; the first package's metadata stays.
            Some((old, _)) if old.data == EntryData::Dir && entry.data == EntryData::Dir => {}
            Some((old, owner)) if old.data != entry.data => {
                let other = self.packages.get(*owner).map_or("?", |p| p.0.as_str());
                self.warnings
                    .push(format!("`/{}` is shipped by {other} and a later package; the later one wins", entry.path));
                self.entries.insert(entry.path.clone(), (entry, index));
            }
            _ => {
                self.entries.insert(entry.path.clone(), (entry, index));
            }
        }
    }

    /// Merged-/usr aliases, excluded directories left empty, hard links in writer order; no path
    /// under a symlink or a file (`pare unpack` refuses those).
    fn finish(&mut self, _filter: &PathFilter) -> Result<(), Error> {
        self.merge_usr_aliases();
        for (path, (_, owner)) in &self.entries {
            let lookup = |p: &str| self.entries.get(p).map(|(e, _)| &e.data);
            if let Some(blocked) = blocking_ancestor(path, lookup) {
                let package = |i: usize| self.packages.get(i).map_or("?", |p| p.0.as_str()).to_string();
                let by = self.entries.get(&blocked.path).map_or_else(|| "?".into(), |(_, o)| package(*o));
                return Err(Error::Package {
                    package: package(*owner),
                    reason: format!("`/{path}` is under {} (shipped by {by})", blocked.describe()),
                });
            }
        }
        // Drop excluded directories that ended up holding nothing kept.
        for dir in std::mem::take(&mut self.tentative).into_iter().rev() {
            let prefix = format!("{dir}/");
            let has_child = self.entries.range(prefix.clone()..).next().is_some_and(|(p, _)| p.starts_with(&prefix));
            if !has_child {
                self.entries.remove(&dir);
            }
        }
        self.fix_hardlinks();
        Ok(())
    }

    /// When a package ships `/bin -> usr/bin` (trixie's base-files does), files that other
    /// packages ship under `/bin` are moved to `/usr/bin`, as dpkg would see them.
    fn merge_usr_aliases(&mut self) {
        let aliases: Vec<(String, String)> = self
            .entries
            .iter()
            .filter(|(p, _)| !p.contains('/'))
            .filter_map(|(p, (e, _))| match &e.data {
                EntryData::Symlink(t) => {
                    let t = t.trim_start_matches('/');
                    (t == format!("usr/{p}")).then(|| (p.clone(), t.to_string()))
                }
                _ => None,
            })
            .collect();
        for (alias, target) in aliases {
            let prefix = format!("{alias}/");
            let moved: Vec<String> = self
                .entries
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .map(|(p, _)| p.clone())
                .collect();
            for old in moved {
                if let Some((mut entry, owner)) = self.entries.remove(&old) {
                    entry.path = format!("{target}/{}", &old[prefix.len()..]);
                    if entry.data != EntryData::Dir || !self.entries.contains_key(&entry.path) {
                        self.entries.insert(entry.path.clone(), (entry, owner));
                    }
                }
            }
            for (entry, _) in self.entries.values_mut() {
                if let EntryData::Hardlink(t) = &mut entry.data
                    && let Some(rest) = t.strip_prefix(&prefix)
                {
                    *t = format!("{target}/{rest}");
                }
            }
        }
    }

    /// A hard link must follow its target in the (sorted) tar: the first path of each group
    /// carries the content. Links to files that are not in the image are dropped.
    fn fix_hardlinks(&mut self) {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, (entry, _)) in &self.entries {
            if let EntryData::Hardlink(target) = &entry.data {
                groups.entry(target.clone()).or_default().push(path.clone());
            }
        }
        for (target, links) in groups {
            let target_is_file =
                matches!(self.entries.get(&target), Some((e, _)) if matches!(e.data, EntryData::File(_)));
            if !target_is_file {
                for link in links {
                    self.entries.remove(&link);
                    self.warnings
                        .push(format!("dropped hard link `/{link}`: its target `/{target}` is not in the image"));
                }
                continue;
            }
            let first = links.iter().min().filter(|l| **l < target).cloned();
            if let Some(first) = first {
                let Some((target_entry, owner)) = self.entries.remove(&target) else { continue };
                let mut moved = target_entry.clone();
                moved.path = first.clone();
                self.entries.insert(first.clone(), (moved, owner));
                let mut link = target_entry;
                link.data = EntryData::Hardlink(first.clone());
                self.entries.insert(target.clone(), (link, owner));
                for other in links.iter().filter(|l| **l != first) {
                    if let Some((e, _)) = self.entries.get_mut(other) {
                        e.data = EntryData::Hardlink(first.clone());
                    }
                }
            }
        }
    }

    /// Every entry plus `/var/lib/dpkg/status.d/<pkg>` and `<pkg>.md5sums`.
    fn into_entries(self) -> Vec<LayerEntry> {
        let mut out: Vec<LayerEntry> = Vec::new();
        for (name, control) in &self.packages {
            let mut status = Paragraph::new();
            status.set("Package", name.clone());
            status.set("Status", "install ok installed");
            for field in control.control.fields() {
                if !field.name.eq_ignore_ascii_case("Package") && !field.name.eq_ignore_ascii_case("Status") {
                    status.set(&field.name, field.value.clone());
                }
            }
            out.push(LayerEntry::file(&format!("var/lib/dpkg/status.d/{name}"), 0o644, status.to_string()));
            let sums: String = control
                .md5sums
                .iter()
                .filter(|(p, _)| self.entries.contains_key(p.trim_start_matches("./").trim_start_matches('/')))
                .map(|(p, sum)| format!("{sum}  {}\n", p.trim_start_matches("./").trim_start_matches('/')))
                .collect();
            if !sums.is_empty() {
                out.push(LayerEntry::file(&format!("var/lib/dpkg/status.d/{name}.md5sums"), 0o644, sums));
            }
        }
        out.extend(
            self.entries.into_values().map(|(e, _)| e).filter(|e| !e.path.starts_with("var/lib/dpkg/status.d/")),
        );
        out
    }
}

/// Where update-ca-certificates finds local CAs; the definition's `[[files]]` may put some there.
const LOCAL_CA_DIR: &str = "usr/local/share/ca-certificates/";

/// The CA certificate files as update-ca-certificates reads them: the packages'
/// `usr/share/ca-certificates/**/*.crt`, then `usr/local/share/ca-certificates/**/*.crt` from the
/// definition's files, each sorted by path.
fn ca_files<'a>(tree: &'a Tree, files: &'a [LayerEntry]) -> Vec<(&'a str, &'a [u8])> {
    let crt = |path: &'a str, e: &'a LayerEntry| match &e.data {
        EntryData::File(FileContent::Bytes(b)) if path.ends_with(".crt") => Some((path, b.as_slice())),
        _ => None,
    };
    let packaged = tree
        .entries
        .range("usr/share/ca-certificates/".to_string()..)
        .take_while(|(p, _)| p.starts_with("usr/share/ca-certificates/"))
        .filter_map(|(p, (e, _))| crt(p, e));
    let mut local: Vec<(&str, &[u8])> =
        files.iter().filter(|e| e.path.starts_with(LOCAL_CA_DIR)).filter_map(|e| crt(&e.path, e)).collect();
    local.sort_by_key(|(p, _)| *p);
    packaged.chain(local).collect()
}

/// The CA bundle: every CA file, each ending in a newline.
fn ca_bundle(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, b) in files {
        out.extend_from_slice(b);
        if !b.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// Whether a package links to the Java trust store (the JRE's `lib/security/cacerts` does).
fn wants_java_cacerts(tree: &Tree) -> bool {
    let target = format!("/{JAVA_CACERTS}");
    tree.entries.values().any(|(e, _)| matches!(&e.data, EntryData::Symlink(t) if *t == target))
}

const NSSWITCH: &str = "passwd:         files\ngroup:          files\nshadow:         files\ngshadow:        files\n\n\
hosts:          files dns\nnetworks:       files\n\nprotocols:      files\nservices:       files\nethers:         files\nrpc:            files\n";

fn os_release(suite: &str) -> String {
    let version = pare_deb::releases::debian_version(suite).unwrap_or("");
    let id = version;
    let pretty = if version.is_empty() {
        format!("Debian GNU/Linux {suite}")
    } else {
        format!("Debian GNU/Linux {version} ({suite})")
    };
    let mut text = format!("PRETTY_NAME=\"{pretty}\"\nNAME=\"Debian GNU/Linux\"\n");
    if !id.is_empty() {
        text.push_str(&format!("VERSION_ID=\"{id}\"\nVERSION=\"{version} ({suite})\"\n"));
    }
    text.push_str(&format!(
        "VERSION_CODENAME={suite}\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\nBUG_REPORT_URL=\"https://bugs.debian.org/\"\n"
    ));
    text
}

/// What maintainer scripts would have made: accounts, nsswitch, os-release, /tmp, the home
/// directory; then the definition's own files; then the CA bundle and the Java trust store, which
/// include the CAs those files put in `/usr/local/share/ca-certificates`.
fn system_layer(
    loaded: &Loaded,
    arch: &str,
    tree: &Tree,
    has_ca: bool,
    allow_host_paths: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<LayerEntry>, Error> {
    let d = &loaded.definition;
    let user = &d.user;
    let home = user.home_dir();
    let shell = user.shell.clone().unwrap_or_else(|| "/sbin/nologin".into());
    let mut passwd =
        String::from("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n");
    let mut group = String::from("root:x:0:\ntty:x:5:\nstaff:x:50:\nnogroup:x:65534:\n");
    if user.uid != 0 {
        passwd.push_str(&format!("{}:x:{}:{}:{}:{home}:{shell}\n", user.name, user.uid, user.gid, user.name));
    }
    if user.gid != 0 && user.gid != 65534 && user.gid != 5 && user.gid != 50 {
        group.push_str(&format!("{}:x:{}:\n", user.group_name(), user.gid));
    }
    let mut entries = vec![
        LayerEntry::file("etc/passwd", 0o644, passwd),
        LayerEntry::file("etc/group", 0o644, group),
        LayerEntry::file("etc/nsswitch.conf", 0o644, NSSWITCH),
        LayerEntry::new("tmp", EntryData::Dir, 0o1777),
        LayerEntry::dir("root", 0o700),
    ];
    if !(tree.entries.contains_key("etc/os-release") || tree.entries.contains_key("usr/lib/os-release")) {
        entries.push(LayerEntry::file("etc/os-release", 0o644, os_release(&d.suite)));
    }
    if user.uid != 0 {
        entries.push(LayerEntry::dir(&home, 0o700).owned_by(
            user.uid.into(),
            user.gid.into(),
            &user.name,
            user.group_name(),
        ));
    }
    for (i, f) in d.files.iter().enumerate() {
        let path = substitute(&f.path, arch);
        let data = match f.kind {
            FileKind::Dir => EntryData::Dir,
            FileKind::Symlink => EntryData::Symlink(substitute(f.target.as_deref().unwrap_or_default(), arch)),
            FileKind::File => match (&f.content, &f.source) {
                (Some(text), _) => EntryData::File(FileContent::Bytes(text.clone().into_bytes())),
                (None, Some(source)) => {
                    let Some(base) = &loaded.base_dir else {
                        return Err(Error::field(
                            &loaded.origin,
                            &format!("files[{i}].source"),
                            "gallery definitions cannot name host files",
                            "",
                        ));
                    };
                    let max = crate::hostfile::MAX_SOURCE;
                    let bytes = crate::hostfile::read(base, source, max, !allow_host_paths).map_err(|r| {
                        let hint = match r {
                            crate::hostfile::Refusal::Outside(_) => format!(
                                "sources must be inside the definition's directory `{}` (symlinks resolved); copy the \
                                 file there, or pass `--allow-host-paths` to read any host file",
                                base.canonicalize().unwrap_or_else(|_| base.clone()).display()
                            ),
                            _ => "name a regular file, relative to the definition's directory".into(),
                        };
                        let reason = match r {
                            crate::hostfile::Refusal::Outside(_) => {
                                format!("{}, outside the definition's directory", r.reason(source))
                            }
                            _ => r.reason(source),
                        };
                        Error::field(&loaded.origin, &format!("files[{i}].source"), reason, &hint)
                    })?;
                    EntryData::File(FileContent::Bytes(bytes))
                }
                (None, None) => EntryData::File(FileContent::Bytes(Vec::new())),
            },
        };
        let default_mode = match f.kind {
            FileKind::Dir => 0o755,
            FileKind::Symlink => 0o777,
            FileKind::File => 0o644,
        };
        let (uname, gname) = (account(f.uid, user), account(f.gid, user));
        let entry = LayerEntry::new(&path, data, f.mode.unwrap_or(default_mode)).owned_by(
            f.uid.into(),
            f.gid.into(),
            &uname,
            &gname,
        );
        let lookup = |p: &str| {
            entries.iter().find(|e| e.path == p).map(|e| &e.data).or_else(|| tree.entries.get(p).map(|(e, _)| &e.data))
        };
        if let Some(blocked) = blocking_ancestor(&entry.path, lookup) {
            return Err(Error::field(
                &loaded.origin,
                &format!("files[{i}]"),
                format!("`{path}` is under {}: `pare unpack` and runtimes do not write through it", blocked.describe()),
                &blocked.hint(&entry.path),
            ));
        }
        entries.retain(|e| e.path != entry.path);
        entries.push(entry);
    }
    if has_ca {
        // What update-ca-certificates (and its ca-certificates-java hook) would write.
        let files = ca_files(tree, &entries);
        let bundle = ca_bundle(&files);
        let java = wants_java_cacerts(tree).then(|| {
            let mut certs = Vec::new();
            for (path, pem) in &files {
                let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".crt");
                let (mut found, found_warnings) = certs_from_pem(stem, pem);
                certs.append(&mut found);
                warnings.extend(found_warnings);
            }
            trust_store(&certs)
        });
        // A bundle or store among the definition's files wins.
        let defined = |path: &str| entries.iter().any(|e| e.path == path);
        let (has_bundle, has_store) = (defined(CA_BUNDLE), defined(JAVA_CACERTS));
        if !has_bundle {
            entries.push(LayerEntry::file(CA_BUNDLE, 0o644, bundle));
        }
        if let (Some(store), false) = (java, has_store) {
            entries.push(LayerEntry::file(JAVA_CACERTS, 0o644, store?));
        }
    }
    Ok(entries)
}

/// An ancestor of an entry that is not a directory.
struct Blocked {
    path: String,
    /// Its target when it is a symlink.
    symlink: Option<String>,
}

impl Blocked {
    fn describe(&self) -> String {
        match &self.symlink {
            Some(t) => format!("`/{}`, a symlink to `{t}`", self.path),
            None => format!("`/{}`, which is not a directory", self.path),
        }
    }

    /// Where `path` (under this ancestor) leads through the symlink.
    fn hint(&self, path: &str) -> String {
        match &self.symlink {
            Some(t) => {
                let rest = &path[self.path.len()..];
                let base = if t.starts_with('/') {
                    t.clone()
                } else {
                    format!("/{}/{t}", self.path.rsplit_once('/').map_or("", |(p, _)| p))
                };
                format!("write the path it leads to, `{}`", pare_oci::fs::normalize(&format!("{base}{rest}")))
            }
            None => "choose a path whose parents are directories".into(),
        }
    }
}

/// The first ancestor of `path` (`a/b/c`) that `lookup` knows as something other than a directory.
fn blocking_ancestor<'a>(path: &str, lookup: impl Fn(&str) -> Option<&'a EntryData>) -> Option<Blocked> {
    let mut end = 0;
    while let Some(pos) = path[end..].find('/') {
        let ancestor = &path[..end + pos];
        match lookup(ancestor) {
            None | Some(EntryData::Dir) => {}
            Some(EntryData::Symlink(t)) => return Some(Blocked { path: ancestor.into(), symlink: Some(t.clone()) }),
            Some(_) => return Some(Blocked { path: ancestor.into(), symlink: None }),
        }
        end += pos + 1;
    }
    None
}

/// A relative symlink target without the `..` that climb above the root (where a container's
/// root stops them anyway): `usr/x` -> `../../bin/sh` becomes `../bin/sh`.
fn clamp_target(link: &str, target: &str) -> String {
    let mut depth = link.trim_matches('/').split('/').count().saturating_sub(1);
    let mut out: Vec<&str> = Vec::new();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => {}
            ".." => {
                depth -= 1;
                out.push("..");
            }
            other => {
                depth += 1;
                out.push(other);
            }
        }
    }
    if out.is_empty() { ".".into() } else { out.join("/") }
}

/// The `--add` layer against the layers below: nothing under a symlink or a file.
fn check_app_layer(app: &[LayerEntry], adds: &[AddSpec], tree: &Tree, system: &[LayerEntry]) -> Result<(), Error> {
    for entry in app {
        let lookup = |p: &str| {
            system.iter().find(|e| e.path == p).map(|e| &e.data).or_else(|| tree.entries.get(p).map(|(e, _)| &e.data))
        };
        if let Some(blocked) = blocking_ancestor(&entry.path, lookup) {
            let add = adds.iter().find(|a| entry.path.starts_with(a.dest.trim_matches('/')));
            let spec = add.map_or_else(|| entry.path.clone(), |a| format!("{}:{}", a.source.display(), a.dest));
            return Err(Error::Add {
                spec,
                reason: format!(
                    "`/{}` is under {}: `pare unpack` and runtimes do not write through it ({})",
                    entry.path,
                    blocked.describe(),
                    blocked.hint(&entry.path)
                ),
            });
        }
    }
    Ok(())
}

fn account(id: u32, user: &crate::definition::User) -> String {
    match id {
        0 => "root".into(),
        65534 => "nobody".into(),
        id if id == user.uid => user.name.clone(),
        _ => String::new(),
    }
}

/// The `--add` layer.
fn app_layer(adds: &[AddSpec]) -> Result<Vec<LayerEntry>, Error> {
    let mut out: BTreeMap<String, LayerEntry> = BTreeMap::new();
    for add in adds {
        let spec = format!("{}:{}", add.source.display(), add.dest);
        let meta = std::fs::symlink_metadata(&add.source)
            .map_err(|e| Error::Add { spec: spec.clone(), reason: format!("cannot read SRC: {e}") })?;
        let dest = add.dest.trim_matches('/').to_string();
        if meta.is_dir() {
            let (entries, _warnings) = pare_oci::entries_from_dir(&add.source)?;
            if !dest.is_empty() {
                out.insert(dest.clone(), LayerEntry::dir(&dest, 0o755));
            }
            for mut e in entries {
                e.path = if dest.is_empty() { e.path } else { format!("{dest}/{}", e.path) };
                if let EntryData::Symlink(t) = &e.data
                    && (t.is_empty() || pare_oci::fs::symlink_escapes(&e.path, t))
                {
                    return Err(Error::Add {
                        spec,
                        reason: format!(
                            "symlink `/{}` -> `{t}` is empty or climbs above the image's root, which `pare unpack` refuses",
                            e.path
                        ),
                    });
                }
                if let EntryData::Hardlink(t) = &mut e.data
                    && !dest.is_empty()
                {
                    *t = format!("{dest}/{t}");
                }
                out.insert(e.path.clone(), e);
            }
        } else if meta.is_file() {
            let name = add.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let path = if add.dest.ends_with('/') {
                format!("{dest}/{name}").trim_start_matches('/').to_string()
            } else {
                dest
            };
            use std::os::unix::fs::PermissionsExt;
            let content = FileContent::Path { path: add.source.clone(), size: meta.len() };
            out.insert(
                path.clone(),
                LayerEntry::new(&path, EntryData::File(content), meta.permissions().mode() & 0o7777),
            );
        } else {
            return Err(Error::Add { spec, reason: "SRC is neither a regular file nor a directory".into() });
        }
    }
    Ok(out.into_values().collect())
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
