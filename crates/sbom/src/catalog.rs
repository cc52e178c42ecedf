//! One streaming pass over an image's files: select what the catalogers need, read it, build
//! the inventory.

use std::collections::BTreeMap;
use std::io::Read;

use pare_oci::Image;
use pare_oci::fs::{Entry, FsView};

use crate::deb::{self, Record};
use crate::model::{Inventory, Location, OsRelease, Package, Subject, Tool};
use crate::{Error, Result};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";
const INFO: &str = "/var/lib/dpkg/info/";
const DOC: &str = "/usr/share/doc/";
/// Largest status file read (Debian's full desktop installs are a few MiB).
const MAX_STATUS: u64 = 64 << 20;
/// Largest file list, md5sums, copyright or os-release file read.
const MAX_SMALL: u64 = 8 << 20;

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
        if self.os_release.as_deref() == Some(path) || path == STATUS {
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
    warnings: Vec<String>,
}

impl Collector {
    fn visit(&mut self, view: &FsView, entry: &Entry, reader: &mut dyn Read) -> Result<()> {
        let path = entry.path.as_str();
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
        } else {
            self.os = Some(OsRelease::parse(&text));
        }
        Ok(())
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
        let mut inventory = Inventory {
            subject,
            os: self.os,
            packages: packages.into_values().collect(),
            tool: Tool::default(),
            created,
        };
        inventory.normalize();
        Catalog { inventory, warnings: self.warnings }
    }
}
