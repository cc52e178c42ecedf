//! One streaming pass over an image's layers: each file the catalogers need is read as its layer
//! streams by, and what it tells ([`Fragment`]) is kept per layer, with the layer's index, in a
//! cache keyed by the layer's digest. The inventory is then made from the fragments of the files
//! that are in the merged filesystem.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use pare_oci::fs::{Entry, FsView, LayerIndex, LayerVisitor, Limits};
use pare_oci::{Digest, Image};
use serde::{Deserialize, Serialize};

use crate::cache::LayerCache;
use crate::deb::{self, Record};
use crate::model::{Inventory, Location, OsRelease, Package, Subject, Tool};
use crate::{Error, Result};
use crate::{apk, gobin, java, lang, node, python, rustbin};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";
const INFO: &str = "/var/lib/dpkg/info/";
const DOC: &str = "/usr/share/doc/";
const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];
/// Largest status file read (Debian's full desktop installs are a few MiB).
const MAX_STATUS: u64 = 64 << 20;
/// Largest file list, md5sums, copyright or os-release file read.
const MAX_SMALL: u64 = 8 << 20;
const APK_DB: &str = "/lib/apk/db/installed";
/// Largest Python metadata, RECORD or package.json read.
const MAX_METADATA: u64 = 4 << 20;
/// Largest npm lockfile read (big monorepos reach a few MiB).
const MAX_LOCKFILE: u64 = 32 << 20;
/// Largest jar/war/ear (held in memory: zip needs random access) or executable read.
const MAX_BINARY: u64 = 128 << 20;
/// Largest executable read into memory; larger ones are spooled to a temporary file.
const MAX_IN_MEMORY: u64 = 16 << 20;
/// Bytes of Go build info read after its magic (the module list of large programs is a few KiB).
const GO_BLOB_MAX: u64 = 1 << 20;
/// Smallest executable worth opening (an ELF header is 64 bytes).
const MIN_BINARY: u64 = 64;

/// An inventory and the warnings met while making it.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub inventory: Inventory,
    pub warnings: Vec<String>,
}

/// Merges an image's layers into its filesystem view and catalogs it, in one pass over each
/// layer. With a cache, layers cataloged before (same digest, same pare) are not read at all,
/// and layers read now are stored for next time.
pub fn catalog_image(
    image: &Image,
    limits: &Limits,
    subject_name: &str,
    cache: Option<&LayerCache>,
) -> Result<(FsView, Catalog)> {
    let mut scanner = Scanner { cache, layers: Vec::new(), current: Vec::new(), warnings: Vec::new() };
    let view = FsView::from_image_visiting(image, limits, &mut scanner)?;
    let mut collector = Collector { warnings: std::mem::take(&mut scanner.warnings), ..Collector::default() };
    collector.add_layers(&view, scanner.layers);
    let created = image.config().ok().and_then(|c| c.created().clone()).and_then(|c| rfc3339_seconds(&c).ok());
    let subject = Subject { name: subject_name.to_string(), digest: Some(image.digest().to_string()) };
    let catalog = collector.finish(&view, subject, created);
    Ok((view, catalog))
}

/// Formats an RFC 3339 time as `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds), the form SPDX needs.
pub fn rfc3339_seconds(value: &str) -> Result<String> {
    let ts: jiff::Timestamp =
        value.parse().map_err(|e: jiff::Error| Error::Timestamp { value: value.into(), reason: e.to_string() })?;
    Ok(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Whether the catalogers read a file, decided from the file alone (its layer may be cached and
/// reused under other layers). Both os-release paths are read; the merged view picks one.
fn wanted(entry: &Entry) -> bool {
    let path = entry.path.as_str();
    if OS_RELEASE.contains(&path) || path == STATUS || path == APK_DB {
        return true;
    }
    if wants_lang(entry) {
        return true;
    }
    if let Some(name) = path.strip_prefix(STATUS_D) {
        return !name.contains('/');
    }
    if let Some(name) = path.strip_prefix(INFO) {
        return !name.contains('/') && name.ends_with(".list");
    }
    if let Some(rest) = path.strip_prefix(DOC) {
        return rest.split_once('/').is_some_and(|(pkg, file)| !pkg.is_empty() && file == "copyright");
    }
    false
}

/// Language packages' files: Python metadata, package.json, Java archives, executables.
fn wants_lang(entry: &Entry) -> bool {
    let path = entry.path.as_str();
    if !entry.is_file() {
        return false;
    }
    python::metadata_dir(path).is_some()
        || python::record_dir(path).is_some()
        || node::is_package_json(path)
        || node::is_lockfile(path)
        || java::is_archive(path)
        || (entry.mode & 0o111 != 0 && entry.size >= MIN_BINARY)
}

/// What one file told the catalogers, from its path and content alone.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Fragment {
    OsRelease(OsRelease),
    /// `status` or `status.d/NAME`.
    Status(Vec<Record>),
    /// `status.d/NAME.md5sums`: the paths.
    Md5sums(Vec<String>),
    /// `info/NAME.list`: the paths.
    List(Vec<String>),
    /// `doc/PKG/copyright`: the licenses.
    Copyright(Vec<String>),
    Apk(Vec<apk::ApkRecord>),
    PythonMetadata(python::Metadata),
    PythonRecord(Vec<String>),
    /// Complete packages (npm, Maven, Go, Rust) found in the file.
    Packages(Vec<Package>),
    /// Nothing (not a catalog file after all, skipped, unreadable: see the warnings).
    Nothing,
}

/// A file's fragment, with the entry it came from and its warnings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Found {
    path: String,
    /// The entry's number in its layer's tar.
    ordinal: u64,
    fragment: Fragment,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

/// One layer's index and fragments: a cache entry.
#[derive(Debug, Deserialize)]
pub(crate) struct LayerScan {
    pub index: LayerIndex,
    pub found: Vec<Found>,
}

/// [`LayerScan`] borrowed, for writing.
#[derive(Serialize)]
pub(crate) struct LayerScanRef<'a> {
    pub index: &'a LayerIndex,
    pub found: &'a [Found],
}

/// Catalogs layers as [`FsView::from_image_visiting`] streams them, or takes them from the cache.
struct Scanner<'a> {
    cache: Option<&'a LayerCache>,
    /// Fragments by layer.
    layers: Vec<Vec<Found>>,
    /// Fragments of the layer being read.
    current: Vec<Found>,
    warnings: Vec<String>,
}

impl Scanner<'_> {
    fn put(&mut self, layer: usize, found: Vec<Found>) {
        if self.layers.len() <= layer {
            self.layers.resize_with(layer + 1, Vec::new);
        }
        self.layers[layer] = found;
    }
}

impl LayerVisitor for Scanner<'_> {
    fn cached(&mut self, layer: usize, digest: &Digest) -> Option<LayerIndex> {
        let scan = self.cache?.load(digest, &mut self.warnings)?;
        self.put(layer, scan.found);
        Some(scan.index)
    }

    fn file(&mut self, view: &FsView, entry: &Entry, content: &mut dyn Read) -> std::io::Result<()> {
        if !wanted(entry) {
            return Ok(());
        }
        let Some((layer, ordinal)) = entry.content_origin() else { return Ok(()) };
        let label = view.layer_labels().get(layer).cloned().unwrap_or_else(|| layer.to_string());
        match scan_file(entry, ordinal, &label, content) {
            Ok(found) => {
                self.current.push(found);
                Ok(())
            }
            Err(Error::Read { source, .. }) => Err(source),
            Err(other) => Err(std::io::Error::other(other.to_string())),
        }
    }

    fn layer_read(&mut self, layer: usize, digest: &Digest, index: LayerIndex) {
        let found = std::mem::take(&mut self.current);
        if let Some(cache) = self.cache
            && let Err(why) = cache.store(digest, &LayerScanRef { index: &index, found: &found })
        {
            self.warnings.push(why);
        }
        self.put(layer, found);
    }
}

/// Reads an entry whole, up to `max` bytes; `None` (with a warning) when it is larger.
fn read_capped(entry: &Entry, reader: &mut dyn Read, max: u64, warnings: &mut Vec<String>) -> Result<Option<Vec<u8>>> {
    let path = entry.path.as_str();
    if entry.size > max {
        // Not read: the layer walk skips the rest of the entry.
        warnings.push(format!("{path}: {} bytes, larger than {max}: skipped", entry.size));
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
    reader.take(max).read_to_end(&mut bytes).map_err(|source| Error::Read { path: path.to_string(), source })?;
    Ok(Some(bytes))
}

/// What one wanted file says. Reading errors (a corrupt layer) are errors; bad content is a
/// warning.
fn scan_file(entry: &Entry, ordinal: u64, layer: &str, reader: &mut dyn Read) -> Result<Found> {
    let path = entry.path.as_str();
    let mut warnings = Vec::new();
    let deb_or_os = path == STATUS || path.starts_with(STATUS_D) || path.starts_with(INFO) || path.starts_with(DOC);
    let fragment = if path != APK_DB && !deb_or_os && wants_lang(entry) {
        let location = Location { layer: layer.to_string(), path: path.to_string() };
        scan_lang(entry, reader, location, &mut warnings)?
    } else {
        let max = if path == STATUS || path.starts_with(STATUS_D) { MAX_STATUS } else { MAX_SMALL };
        match read_capped(entry, reader, max, &mut warnings)? {
            None => Fragment::Nothing,
            Some(bytes) => {
                let text = lang::text(bytes, path, &mut warnings);
                if path == STATUS {
                    Fragment::Status(deb::parse_status(&text, path, true, &mut warnings))
                } else if let Some(name) = path.strip_prefix(STATUS_D) {
                    if name.ends_with(".md5sums") {
                        Fragment::Md5sums(deb::parse_md5sums(&text))
                    } else {
                        Fragment::Status(deb::parse_status(&text, path, false, &mut warnings))
                    }
                } else if path.starts_with(INFO) {
                    Fragment::List(deb::parse_list(&text))
                } else if path.starts_with(DOC) {
                    Fragment::Copyright(deb::copyright_licenses(&text))
                } else if path == APK_DB {
                    Fragment::Apk(apk::parse_installed(&text, path, &mut warnings))
                } else {
                    Fragment::OsRelease(OsRelease::parse(&text))
                }
            }
        }
    };
    Ok(Found { path: path.to_string(), ordinal, fragment, warnings })
}

fn scan_lang(entry: &Entry, reader: &mut dyn Read, location: Location, warnings: &mut Vec<String>) -> Result<Fragment> {
    let path = entry.path.as_str();
    if python::metadata_dir(path).is_some() {
        let Some(bytes) = read_capped(entry, reader, MAX_METADATA, warnings)? else { return Ok(Fragment::Nothing) };
        let text = lang::text(bytes, path, warnings);
        return Ok(match python::parse_metadata(&text) {
            Ok(meta) => Fragment::PythonMetadata(meta),
            Err(why) => {
                warnings.push(format!("{path}: not Python package metadata ({why}): skipped"));
                Fragment::Nothing
            }
        });
    }
    if let Some(dir) = python::record_dir(path) {
        let Some(bytes) = read_capped(entry, reader, MAX_METADATA, warnings)? else { return Ok(Fragment::Nothing) };
        let text = lang::text(bytes, path, warnings);
        let site = dir.rsplit_once('/').map_or("", |(site, _)| site);
        return Ok(Fragment::PythonRecord(python::parse_record(&text, site)));
    }
    let mut packages = Vec::new();
    if node::is_package_json(path) {
        let Some(bytes) = read_capped(entry, reader, MAX_METADATA, warnings)? else { return Ok(Fragment::Nothing) };
        let text = lang::text(bytes, path, warnings);
        match node::parse(&text) {
            Ok((name, version, license)) => match node::purl(&name, &version) {
                Some(purl) => {
                    let license = lang::spdx_license(license.as_deref());
                    packages.push(lang::package("npm", &name, &version, purl, license, location));
                }
                None => warnings.push(format!("{path}: no valid purl for `{name}@{version}`: skipped")),
            },
            Err(why) => warnings.push(format!("{path}: not a package.json ({why}): skipped")),
        }
    } else if node::is_lockfile(path) {
        let Some(bytes) = read_capped(entry, reader, MAX_LOCKFILE, warnings)? else { return Ok(Fragment::Nothing) };
        let text = lang::text(bytes, path, warnings);
        match node::parse_lockfile(&text) {
            Ok(locked) => {
                for l in locked {
                    match node::purl(&l.name, &l.version) {
                        Some(purl) => {
                            let license = lang::spdx_license(l.license.as_deref());
                            packages.push(lang::package("npm", &l.name, &l.version, purl, license, location.clone()));
                        }
                        None => warnings.push(format!("{path}: no valid purl for `{}@{}`: skipped", l.name, l.version)),
                    }
                }
            }
            Err(why) => warnings.push(format!("{path}: not an npm lockfile ({why}): skipped")),
        }
    } else if java::is_archive(path) {
        let Some(bytes) = read_capped(entry, reader, MAX_BINARY, warnings)? else { return Ok(Fragment::Nothing) };
        for a in java::read(&bytes, path, warnings) {
            let Some(purl) = java::purl(&a) else {
                warnings.push(format!("{path}!{}: no valid purl: skipped", a.path));
                continue;
            };
            // The archive holding the pom.properties: the outer file, or `outer!inner.jar`.
            let holder = a.path.rsplit_once('!').map_or(path.to_string(), |(inner, _)| format!("{path}!{inner}"));
            let at = Location { layer: location.layer.clone(), path: holder };
            packages.push(lang::package("maven", &a.artifact, &a.version, purl, "NOASSERTION".into(), at));
        }
    } else {
        scan_binary(entry, reader, location, &mut packages, warnings)?;
    }
    Ok(if packages.is_empty() { Fragment::Nothing } else { Fragment::Packages(packages) })
}

/// Executables: only ELF files are read past their first 4 bytes. Small ones are read into
/// memory; larger ones are spooled to an unnamed temporary file and read on demand (only the
/// headers and the sections wanted), so memory stays flat whatever the binary's size.
fn scan_binary(
    entry: &Entry,
    reader: &mut dyn Read,
    location: Location,
    packages: &mut Vec<Package>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let path = entry.path.as_str();
    let read_err = |source| Error::Read { path: path.to_string(), source };
    let mut magic = [0u8; 4];
    if let Err(source) = reader.read_exact(&mut magic) {
        return if source.kind() == std::io::ErrorKind::UnexpectedEof { Ok(()) } else { Err(read_err(source)) };
    }
    if &magic != b"\x7fELF" {
        return Ok(());
    }
    if entry.size > MAX_BINARY {
        warnings.push(format!("{path}: executable of {} bytes, larger than {MAX_BINARY}: not read", entry.size));
        return Ok(());
    }
    let (go, rust) = if entry.size <= MAX_IN_MEMORY {
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
        bytes.extend_from_slice(&magic);
        reader.take(MAX_BINARY).read_to_end(&mut bytes).map_err(read_err)?;
        (gobin::read(&bytes), rustbin::read(bytes.as_slice()))
    } else {
        let (file, go_blob) = spool(&magic, reader).map_err(read_err)?;
        let cache = object::ReadCache::new(file);
        let go = gobin::read_from(&cache, || {
            let offset = go_blob?;
            let bytes = object::ReadRef::read_bytes_at(&cache, offset, GO_BLOB_MAX.min(entry.size - offset)).ok()?;
            Some(bytes.to_vec())
        });
        (go, rustbin::read(&cache))
    };
    match go {
        Ok(Some(info)) => go_packages(&info, &location, packages, warnings),
        Ok(None) => {}
        Err(why) => warnings.push(format!("{path}: Go build info unreadable ({why}): skipped")),
    }
    match rust {
        Ok(Some(crates)) => {
            for c in crates {
                match rustbin::purl(&c) {
                    Some(purl) => packages.push(lang::package(
                        "cargo",
                        &c.name,
                        &c.version,
                        purl,
                        "NOASSERTION".into(),
                        location.clone(),
                    )),
                    None => warnings.push(format!("{path}: crate `{}`: no valid purl: skipped", c.name)),
                }
            }
        }
        Ok(None) => {}
        Err(why) => warnings.push(format!("{path}: {why}: skipped")),
    }
    Ok(())
}

/// Copies an executable (after its first bytes, already read) to an unnamed temporary file,
/// noting on the way where Go's build info magic first appears at a 16-byte boundary (Go's
/// own search, for executables without section headers).
fn spool(head: &[u8], reader: &mut dyn Read) -> std::io::Result<(std::fs::File, Option<u64>)> {
    use std::io::Write;
    let mut file = tempfile::tempfile()?;
    file.write_all(head)?;
    let overlap = gobin::MAGIC.len() - 1;
    let mut buffer = vec![0u8; 1 << 20];
    // `buffer[..kept]` holds the last bytes of the previous chunk, so a magic across two reads is found.
    let mut kept = 0usize;
    let mut offset = head.len() as u64; // file offset of buffer[kept]
    let mut found = None;
    loop {
        let n = reader.read(&mut buffer[kept..])?;
        if n == 0 {
            break;
        }
        file.write_all(&buffer[kept..kept + n])?;
        let start = offset - kept as u64; // file offset of buffer[0]
        if found.is_none() {
            found = memchr::memmem::find_iter(&buffer[..kept + n], gobin::MAGIC)
                .map(|o| start + o as u64)
                .find(|o| o % 16 == 0);
        }
        offset += n as u64;
        let end = kept + n;
        let keep = overlap.min(end);
        buffer.copy_within(end - keep..end, 0);
        kept = keep;
    }
    file.flush()?;
    Ok((file, found))
}

fn go_packages(info: &gobin::BuildInfo, location: &Location, packages: &mut Vec<Package>, warnings: &mut Vec<String>) {
    let path = &location.path;
    // `go1.21.5 X:boringcrypto` → `go1.21.5`.
    let go_version = info.go_version.split_whitespace().next().unwrap_or_default();
    let stdlib = go_version.strip_prefix("go").unwrap_or(go_version);
    let mut modules: Vec<(&str, &str)> = Vec::new();
    // Without module mode (`GO111MODULE=off`, as Debian builds) there is only the `path` line.
    match (&info.main, &info.path) {
        (Some((m, v)), _) => modules.push((m, v)),
        (None, Some(p)) => modules.push((p, "(devel)")),
        (None, None) => {}
    }
    modules.extend(info.deps.iter().map(|(m, v)| (m.as_str(), v.as_str())));
    for (module, version) in modules {
        match gobin::purl(module, version) {
            Some(purl) => {
                packages.push(lang::package("golang", module, version, purl, "NOASSERTION".into(), location.clone()))
            }
            None => warnings.push(format!("{path}: Go module `{module}`: no valid purl: skipped")),
        }
    }
    if let Some(purl) = lang::purl("golang", None, "stdlib", stdlib, &[]) {
        packages.push(lang::package("golang", "stdlib", go_version, purl, "BSD-3-Clause".into(), location.clone()));
    }
}

/// A status file's records with where they came from.
struct StatusFile {
    location: Location,
    /// For `status.d/NAME`: NAME, whose `NAME.md5sums` lists the files.
    stem: Option<String>,
    records: Vec<Record>,
}

#[derive(Default)]
struct Collector {
    os: Option<OsRelease>,
    status: Vec<StatusFile>,
    /// `info/NAME.list` or `info/NAME:ARCH.list` → paths.
    lists: BTreeMap<String, Vec<String>>,
    /// `status.d/NAME.md5sums` → paths.
    md5sums: BTreeMap<String, Vec<String>>,
    /// Package (doc directory) name → licenses.
    copyrights: BTreeMap<String, Vec<String>>,
    /// apk records with the database's location.
    apk: Vec<(Location, Vec<apk::ApkRecord>)>,
    /// Python metadata by its dist-info/egg-info directory.
    python: BTreeMap<String, (python::Metadata, Location)>,
    /// `RECORD` files by their dist-info directory.
    records: BTreeMap<String, Vec<String>>,
    /// Packages of the other language catalogers, complete.
    lang: Vec<Package>,
    warnings: Vec<String>,
}

impl Collector {
    /// Takes the fragments of the files that are in the merged view: the entry at the fragment's
    /// path must still be the one it was read from (not replaced or deleted by a later layer).
    fn add_layers(&mut self, view: &FsView, layers: Vec<Vec<Found>>) {
        // /etc/os-release is usually a symlink to ../usr/lib/os-release: read what it resolves to.
        let os_release =
            OS_RELEASE.iter().find_map(|p| view.resolve(p).ok().filter(|e| e.is_file()).map(|e| e.path.clone()));
        for (layer, found) in layers.into_iter().enumerate() {
            let label = view.layer_labels().get(layer).cloned().unwrap_or_else(|| layer.to_string());
            for f in found {
                let current = view.get(&f.path).filter(|e| e.is_file());
                if current.and_then(Entry::content_origin) != Some((layer, f.ordinal)) {
                    continue;
                }
                if OS_RELEASE.contains(&f.path.as_str()) && os_release.as_deref() != Some(f.path.as_str()) {
                    continue;
                }
                self.add(f, &label);
            }
        }
    }

    fn add(&mut self, found: Found, layer: &str) {
        let Found { path, fragment, mut warnings, .. } = found;
        self.warnings.append(&mut warnings);
        let location = Location { layer: layer.to_string(), path };
        let path = location.path.as_str();
        match fragment {
            Fragment::OsRelease(os) => self.os = Some(os),
            Fragment::Status(records) => {
                let stem = path.strip_prefix(STATUS_D).map(str::to_string);
                self.status.push(StatusFile { location, stem, records });
            }
            Fragment::Md5sums(paths) => {
                if let Some(stem) = path.strip_prefix(STATUS_D).and_then(|n| n.strip_suffix(".md5sums")) {
                    self.md5sums.insert(stem.to_string(), paths);
                }
            }
            Fragment::List(paths) => {
                if let Some(name) = path.strip_prefix(INFO).and_then(|n| n.strip_suffix(".list")) {
                    self.lists.insert(name.to_string(), paths);
                }
            }
            Fragment::Copyright(licenses) => {
                if let Some((pkg, _)) = path.strip_prefix(DOC).and_then(|r| r.split_once('/')) {
                    self.copyrights.insert(pkg.to_string(), licenses);
                }
            }
            Fragment::Apk(records) => self.apk.push((location, records)),
            Fragment::PythonMetadata(meta) => {
                if let Some(dir) = python::metadata_dir(path) {
                    self.python.insert(dir.to_string(), (meta, location));
                }
            }
            Fragment::PythonRecord(paths) => {
                if let Some(dir) = python::record_dir(path) {
                    self.records.insert(dir.to_string(), paths);
                }
            }
            Fragment::Packages(mut packages) => self.lang.append(&mut packages),
            Fragment::Nothing => {}
        }
    }

    /// Python packages, with their RECORD files.
    fn python_packages(&mut self) -> Vec<Package> {
        let mut out = Vec::new();
        for (dir, (meta, location)) in std::mem::take(&mut self.python) {
            let Some(purl) = python::purl(&meta) else {
                self.warnings.push(format!("{}: no valid purl for `{}`: skipped", location.path, meta.name));
                continue;
            };
            let license = lang::spdx_license(meta.license.as_deref());
            let mut p = lang::package("pypi", &meta.name, &meta.version, purl, license, location);
            p.files = self.records.remove(&dir).unwrap_or_default();
            out.push(p);
        }
        out
    }

    fn apk_packages(&mut self, namespace: &str, distro: Option<&str>, view: &FsView) -> Vec<Package> {
        let mut out = Vec::new();
        for (location, records) in std::mem::take(&mut self.apk) {
            for r in records {
                let Some(purl) = apk::purl(&r, namespace, distro) else {
                    self.warnings.push(format!("{}: no valid purl for package `{}`: skipped", location.path, r.name));
                    continue;
                };
                out.push(Package {
                    ecosystem: "apk".into(),
                    name: r.name.clone(),
                    version: r.version.clone(),
                    source_name: Some(r.origin.clone().unwrap_or_else(|| r.name.clone())),
                    source_version: Some(r.version.clone()),
                    architecture: r.architecture.clone(),
                    purl,
                    licenses: vec![lang::spdx_license(r.license.as_deref())],
                    files: r.files.into_iter().filter(|p| view.get(p).is_some_and(|e| !e.is_dir())).collect(),
                    locations: vec![location.clone()],
                    checksums: Vec::new(),
                    download_location: None,
                });
            }
        }
        out
    }

    fn finish(mut self, view: &FsView, subject: Subject, created: Option<String>) -> Catalog {
        let distro = self.os.as_ref().and_then(OsRelease::distro);
        let namespace = match self.os.as_ref().and_then(|o| o.id.as_deref()) {
            Some(id @ ("debian" | "ubuntu")) => id.to_string(),
            _ => "debian".to_string(),
        };
        let mut packages: BTreeMap<(String, Option<String>, String), Package> = BTreeMap::new();
        for file in &self.status {
            for record in &file.records {
                let Some(purl) = deb::purl(record, &namespace, distro.as_deref()) else {
                    self.warnings.push(format!("{}: no valid purl for package `{}`", file.location.path, record.name));
                    continue;
                };
                let mut owned = Vec::new();
                if let Some(arch) = &record.architecture
                    && let Some(list) = self.lists.get(&format!("{}:{arch}", record.name))
                {
                    owned.extend(list.iter().cloned());
                } else if let Some(list) = self.lists.get(&record.name) {
                    owned.extend(list.iter().cloned());
                }
                for stem in file.stem.iter().chain(std::iter::once(&record.name)) {
                    if let Some(list) = self.md5sums.get(stem.as_str()) {
                        owned.extend(list.iter().cloned());
                        break;
                    }
                }
                let files: Vec<String> =
                    owned.into_iter().filter(|p| view.get(p).is_some_and(|e| !e.is_dir())).collect();
                let licenses = self.copyrights.get(&record.name).cloned().unwrap_or_else(|| vec!["NOASSERTION".into()]);
                let key = (record.name.clone(), record.architecture.clone(), record.version.clone());
                let package = packages.entry(key).or_insert_with(|| Package {
                    ecosystem: "deb".into(),
                    name: record.name.clone(),
                    version: record.version.clone(),
                    source_name: Some(record.source_name.clone()),
                    source_version: Some(record.source_version.clone()),
                    architecture: record.architecture.clone(),
                    purl,
                    licenses,
                    files: Vec::new(),
                    locations: Vec::new(),
                    checksums: Vec::new(),
                    download_location: None,
                });
                package.files.extend(files);
                package.locations.push(file.location.clone());
            }
        }
        let apk_namespace = match self.os.as_ref().and_then(|o| o.id.as_deref()) {
            Some(id @ ("alpine" | "wolfi" | "chainguard")) => id.to_string(),
            _ => "alpine".to_string(),
        };
        let apk_packages = self.apk_packages(&apk_namespace, distro.as_deref(), view);
        let mut lang_packages = self.python_packages();
        lang_packages.append(&mut self.lang);
        // Files that OS packages own: a language package found there is the OS package's (dedupe).
        let mut owned: BTreeSet<&str> =
            self.lists.values().chain(self.md5sums.values()).flatten().map(String::as_str).collect();
        owned.extend(apk_packages.iter().flat_map(|p| p.files.iter().map(String::as_str)));
        // One package per purl: the same module in several binaries is one package, found at each.
        let mut by_purl: BTreeMap<String, Package> = BTreeMap::new();
        for p in lang_packages {
            let evidence = p.locations.first().map_or("", |l| l.path.split('!').next().unwrap_or_default());
            if owned.contains(evidence) {
                continue;
            }
            match by_purl.get_mut(&p.purl) {
                Some(known) => {
                    known.locations.extend(p.locations);
                    known.files.extend(p.files);
                    // A lockfile seldom names licenses; the package's own package.json does.
                    if known.licenses == ["NOASSERTION"] {
                        known.licenses = p.licenses;
                    }
                }
                None => {
                    by_purl.insert(p.purl.clone(), p);
                }
            }
        }
        let mut packages: Vec<Package> = packages.into_values().collect();
        packages.extend(apk_packages);
        packages.extend(by_purl.into_values());
        let mut inventory = Inventory { subject, os: self.os, packages, tool: Tool::default(), created };
        inventory.normalize();
        Catalog { inventory, warnings: self.warnings }
    }
}
