//! One streaming pass over an image's files: select what the catalogers need, read it, build
//! the inventory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use pare_oci::Image;
use pare_oci::fs::{Entry, FsView};

use crate::deb::{self, Record};
use crate::model::{Inventory, Location, OsRelease, Package, Subject, Tool};
use crate::{Error, Result};
use crate::{apk, gobin, java, lang, node, python, rustbin};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";
const INFO: &str = "/var/lib/dpkg/info/";
const DOC: &str = "/usr/share/doc/";
/// Largest status file read (Debian's full desktop installs are a few MiB).
const MAX_STATUS: u64 = 64 << 20;
/// Largest file list, md5sums, copyright or os-release file read.
const MAX_SMALL: u64 = 8 << 20;
const APK_DB: &str = "/lib/apk/db/installed";
/// Largest Python metadata, RECORD or package.json read.
const MAX_METADATA: u64 = 4 << 20;
/// Largest jar/war/ear or executable read (both need random access, so they are held in memory).
const MAX_BINARY: u64 = 128 << 20;
/// Smallest executable worth opening (an ELF header is 64 bytes).
const MIN_BINARY: u64 = 64;

/// An inventory and the warnings met while making it.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub inventory: Inventory,
    pub warnings: Vec<String>,
}

/// Catalogs an image through its filesystem view (built from that image).
pub fn catalog(image: &Image, view: &FsView, subject_name: &str) -> Result<Catalog> {
    let selection = Selection::new(view);
    let mut collector = Collector::default();
    view.for_each_file(image, |e| selection.wants(e), |e, r| collector.visit(view, e, r))?;
    let created = image.config().ok().and_then(|c| c.created().clone()).and_then(|c| rfc3339_seconds(&c).ok());
    let subject = Subject { name: subject_name.to_string(), digest: Some(image.digest().to_string()) };
    Ok(collector.finish(view, &selection, subject, created))
}

/// Catalogs a view built with [`FsView::from_layers`]; `open` gives a layer's tar stream again.
pub fn catalog_with<R, O>(view: &FsView, open: O, subject: Subject) -> Result<Catalog>
where
    R: Read,
    O: FnMut(usize) -> pare_oci::Result<R>,
{
    let selection = Selection::new(view);
    let mut collector = Collector::default();
    view.for_each_file_with(open, |e| selection.wants(e), |e, r| collector.visit(view, e, r))?;
    Ok(collector.finish(view, &selection, subject, None))
}

/// Formats an RFC 3339 time as `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds), the form SPDX needs.
pub fn rfc3339_seconds(value: &str) -> Result<String> {
    let ts: jiff::Timestamp =
        value.parse().map_err(|e: jiff::Error| Error::Timestamp { value: value.into(), reason: e.to_string() })?;
    Ok(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Seconds since the epoch (`SOURCE_DATE_EPOCH`) as `YYYY-MM-DDThh:mm:ssZ`.
pub fn epoch_seconds(value: &str) -> Result<String> {
    let bad = |reason: String| Error::Timestamp { value: value.into(), reason };
    let seconds: i64 = value.trim().parse().map_err(|e: std::num::ParseIntError| bad(e.to_string()))?;
    let ts = jiff::Timestamp::from_second(seconds).map_err(|e| bad(e.to_string()))?;
    Ok(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Which paths the catalogers read, decided from the view alone.
struct Selection {
    os_release: Option<String>,
}

impl Selection {
    fn new(view: &FsView) -> Selection {
        // /etc/os-release is usually a symlink to ../usr/lib/os-release: read what it resolves to.
        let os_release = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| view.resolve(p).ok().filter(|e| e.is_file()).map(|e| e.path.clone()));
        Selection { os_release }
    }

    fn wants(&self, entry: &Entry) -> bool {
        let path = entry.path.as_str();
        if self.os_release.as_deref() == Some(path) || path == STATUS || path == APK_DB {
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
        || java::is_archive(path)
        || (entry.mode & 0o111 != 0 && entry.size >= MIN_BINARY)
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
    fn visit(&mut self, view: &FsView, entry: &Entry, reader: &mut dyn Read) -> Result<()> {
        let path = entry.path.as_str();
        let deb_or_os = path == STATUS || path.starts_with(STATUS_D) || path.starts_with(INFO) || path.starts_with(DOC);
        if path != APK_DB && !deb_or_os && wants_lang(entry) {
            return self.visit_lang(view, entry, reader);
        }
        let max = if path == STATUS || path.starts_with(STATUS_D) { MAX_STATUS } else { MAX_SMALL };
        if entry.size > max {
            // Not read: the layer walk skips the rest of the entry.
            self.warnings.push(format!("{path}: {} bytes, larger than {max}: skipped", entry.size));
            return Ok(());
        }
        let mut bytes = Vec::new();
        reader.take(max).read_to_end(&mut bytes).map_err(|source| Error::Read { path: path.to_string(), source })?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                self.warnings.push(format!("{path}: not UTF-8 text; invalid bytes replaced"));
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        let layer = view.layer_labels().get(entry.layer).cloned().unwrap_or_else(|| entry.layer.to_string());
        let location = Location { layer, path: path.to_string() };
        if path == STATUS {
            let records = deb::parse_status(&text, path, true, &mut self.warnings);
            self.status.push(StatusFile { location, stem: None, records });
        } else if let Some(name) = path.strip_prefix(STATUS_D) {
            if let Some(stem) = name.strip_suffix(".md5sums") {
                self.md5sums.insert(stem.to_string(), deb::parse_md5sums(&text));
            } else {
                let records = deb::parse_status(&text, path, false, &mut self.warnings);
                self.status.push(StatusFile { location, stem: Some(name.to_string()), records });
            }
        } else if let Some(name) = path.strip_prefix(INFO).and_then(|n| n.strip_suffix(".list")) {
            self.lists.insert(name.to_string(), deb::parse_list(&text));
        } else if let Some(rest) = path.strip_prefix(DOC) {
            if let Some((pkg, _)) = rest.split_once('/') {
                self.copyrights.insert(pkg.to_string(), deb::copyright_licenses(&text));
            }
        } else if path == APK_DB {
            let records = apk::parse_installed(&text, path, &mut self.warnings);
            self.apk.push((location, records));
        } else {
            self.os = Some(OsRelease::parse(&text));
        }
        Ok(())
    }

    /// Reads an entry whole, up to `max` bytes; `None` (with a warning) when it is larger.
    fn read_capped(&mut self, entry: &Entry, reader: &mut dyn Read, max: u64) -> Result<Option<Vec<u8>>> {
        let path = entry.path.as_str();
        if entry.size > max {
            self.warnings.push(format!("{path}: {} bytes, larger than {max}: skipped", entry.size));
            return Ok(None);
        }
        let mut bytes = Vec::new();
        reader.take(max).read_to_end(&mut bytes).map_err(|source| Error::Read { path: path.to_string(), source })?;
        Ok(Some(bytes))
    }

    fn visit_lang(&mut self, view: &FsView, entry: &Entry, reader: &mut dyn Read) -> Result<()> {
        let path = entry.path.as_str();
        let layer = view.layer_labels().get(entry.layer).cloned().unwrap_or_else(|| entry.layer.to_string());
        let location = Location { layer, path: path.to_string() };
        if let Some(dir) = python::metadata_dir(path) {
            let Some(bytes) = self.read_capped(entry, reader, MAX_METADATA)? else { return Ok(()) };
            let text = lang::text(bytes, path, &mut self.warnings);
            match python::parse_metadata(&text) {
                Ok(meta) => {
                    self.python.insert(dir.to_string(), (meta, location));
                }
                Err(why) => self.warnings.push(format!("{path}: not Python package metadata ({why}): skipped")),
            }
        } else if let Some(dir) = python::record_dir(path) {
            let Some(bytes) = self.read_capped(entry, reader, MAX_METADATA)? else { return Ok(()) };
            let text = lang::text(bytes, path, &mut self.warnings);
            let site = dir.rsplit_once('/').map_or("", |(site, _)| site);
            self.records.insert(dir.to_string(), python::parse_record(&text, site));
        } else if node::is_package_json(path) {
            let Some(bytes) = self.read_capped(entry, reader, MAX_METADATA)? else { return Ok(()) };
            let text = lang::text(bytes, path, &mut self.warnings);
            match node::parse(&text) {
                Ok((name, version, license)) => match node::purl(&name, &version) {
                    Some(purl) => {
                        let license = lang::spdx_license(license.as_deref());
                        self.lang.push(lang::package("npm", &name, &version, purl, license, location));
                    }
                    None => self.warnings.push(format!("{path}: no valid purl for `{name}@{version}`: skipped")),
                },
                Err(why) => self.warnings.push(format!("{path}: not a package.json ({why}): skipped")),
            }
        } else if java::is_archive(path) {
            let Some(bytes) = self.read_capped(entry, reader, MAX_BINARY)? else { return Ok(()) };
            for a in java::read(&bytes, path, &mut self.warnings) {
                let Some(purl) = java::purl(&a) else {
                    self.warnings.push(format!("{path}!{}: no valid purl: skipped", a.path));
                    continue;
                };
                // The archive holding the pom.properties: the outer file, or `outer!inner.jar`.
                let holder = a.path.rsplit_once('!').map_or(path.to_string(), |(inner, _)| format!("{path}!{inner}"));
                let at = Location { layer: location.layer.clone(), path: holder };
                self.lang.push(lang::package("maven", &a.artifact, &a.version, purl, "NOASSERTION".into(), at));
            }
        } else {
            self.visit_binary(entry, reader, location)?;
        }
        Ok(())
    }

    /// Executables: only ELF files are read past their first 4 bytes.
    fn visit_binary(&mut self, entry: &Entry, reader: &mut dyn Read, location: Location) -> Result<()> {
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
            self.warnings
                .push(format!("{path}: executable of {} bytes, larger than {MAX_BINARY}: not read", entry.size));
            return Ok(());
        }
        let mut bytes = magic.to_vec();
        reader.take(MAX_BINARY).read_to_end(&mut bytes).map_err(read_err)?;
        match gobin::read(&bytes) {
            Ok(Some(info)) => self.go_packages(&info, &location),
            Ok(None) => {}
            Err(why) => self.warnings.push(format!("{path}: Go build info unreadable ({why}): skipped")),
        }
        match rustbin::read(&bytes) {
            Ok(Some(crates)) => {
                for c in crates {
                    match rustbin::purl(&c) {
                        Some(purl) => self.lang.push(lang::package(
                            "cargo",
                            &c.name,
                            &c.version,
                            purl,
                            "NOASSERTION".into(),
                            location.clone(),
                        )),
                        None => self.warnings.push(format!("{path}: crate `{}`: no valid purl: skipped", c.name)),
                    }
                }
            }
            Ok(None) => {}
            Err(why) => self.warnings.push(format!("{path}: {why}: skipped")),
        }
        Ok(())
    }

    fn go_packages(&mut self, info: &gobin::BuildInfo, location: &Location) {
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
                Some(purl) => self.lang.push(lang::package(
                    "golang",
                    module,
                    version,
                    purl,
                    "NOASSERTION".into(),
                    location.clone(),
                )),
                None => self.warnings.push(format!("{path}: Go module `{module}`: no valid purl: skipped")),
            }
        }
        if let Some(purl) = lang::purl("golang", None, "stdlib", stdlib, &[]) {
            self.lang.push(lang::package(
                "golang",
                "stdlib",
                go_version,
                purl,
                "BSD-3-Clause".into(),
                location.clone(),
            ));
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
                });
            }
        }
        out
    }

    fn finish(mut self, view: &FsView, _selection: &Selection, subject: Subject, created: Option<String>) -> Catalog {
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
