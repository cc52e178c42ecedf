//! Readers for the vulnerability sources: the Debian Security Tracker's JSON and DSA/DLA lists, OSV
//! records (JSON, PyPA YAML, zip archives of them) and CVE records (CVE JSON 5, NVD API 2.0) for CVSS.
//! Each reader turns bytes into `Advisory`s and CVSS scores, with warnings for records it had to skip.

pub mod cve;
pub mod cvss;
pub mod osv;
pub mod tracker_json;
pub mod tracker_list;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Advisory, Cvss};

/// What kind of data a source holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The tracker's `/tracker/data/json`.
    TrackerJson,
    /// `data/DSA/list`.
    DsaList,
    /// `data/DLA/list`.
    DlaList,
    /// OSV records: one JSON or YAML file, a directory of them, or a zip archive.
    Osv,
    /// CVE JSON 5 or NVD API 2.0 records (only their CVSS metrics are kept).
    Cve,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] =
        [SourceKind::TrackerJson, SourceKind::DsaList, SourceKind::DlaList, SourceKind::Osv, SourceKind::Cve];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::TrackerJson => "tracker-json",
            SourceKind::DsaList => "dsa-list",
            SourceKind::DlaList => "dla-list",
            SourceKind::Osv => "osv",
            SourceKind::Cve => "cve",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown source kind `{s}` (expected tracker-json, dsa-list, dla-list, osv or cve)"))
    }
}

/// The official endpoints `pare db update` reads when no source is given.
pub const DEFAULT_SOURCES: &[(SourceKind, &str)] = &[
    (SourceKind::TrackerJson, "https://security-tracker.debian.org/tracker/data/json"),
    (SourceKind::DsaList, "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DSA/list"),
    (SourceKind::DlaList, "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DLA/list"),
    (SourceKind::Osv, "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"),
    (SourceKind::Osv, "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip"),
    (SourceKind::Osv, "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip"),
];

/// Where one source comes from: a URL to download, or a local file or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    /// `None`: detect the kind from the content.
    pub kind: Option<SourceKind>,
    pub location: String,
}

impl SourceSpec {
    /// `KIND=URL` (the `--source` flag).
    pub fn parse(spec: &str) -> Result<SourceSpec> {
        let (kind, url) = spec.split_once('=').ok_or_else(|| {
            Error::malformed(format!("--source {spec}"), "expected KIND=URL, e.g. dsa-list=https://…/DSA/list")
        })?;
        let kind = kind.parse::<SourceKind>().map_err(|m| Error::malformed(format!("--source {spec}"), m))?;
        if url.is_empty() {
            return Err(Error::malformed(format!("--source {spec}"), "the URL is empty"));
        }
        Ok(SourceSpec { kind: Some(kind), location: url.to_string() })
    }

    /// A local file or directory whose kind is detected (the `--from` flag).
    pub fn local(path: &Path) -> SourceSpec {
        SourceSpec { kind: None, location: path.display().to_string() }
    }

    pub fn defaults() -> Vec<SourceSpec> {
        DEFAULT_SOURCES.iter().map(|(k, u)| SourceSpec { kind: Some(*k), location: (*u).to_string() }).collect()
    }

    pub fn is_url(&self) -> bool {
        self.location.starts_with("http://") || self.location.starts_with("https://")
    }
}

/// What one source gave.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The kinds found (a directory may hold OSV and CVE records side by side).
    pub kinds: Vec<SourceKind>,
    pub advisories: Vec<Advisory>,
    /// CVSS scores by vulnerability id.
    pub cvss: Vec<(String, Cvss)>,
    /// Records or lines skipped, each naming file and line or record.
    pub warnings: Vec<String>,
    /// OSV `affected` entries skipped because pare does not know their ecosystem, by ecosystem.
    pub unknown_ecosystems: BTreeMap<String, usize>,
    /// SHA-256 of the bytes read (for a directory: of its sorted `path\0sha256\n` lines).
    pub sha256: String,
    /// Bytes read.
    pub bytes: u64,
    /// CVE records (CVE JSON 5 files, NVD entries) read for their CVSS.
    pub cve_records: usize,
}

impl Parsed {
    fn add_kind(&mut self, kind: SourceKind) {
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
    }

    fn merge(&mut self, other: Parsed) {
        for k in other.kinds {
            self.add_kind(k);
        }
        self.advisories.extend(other.advisories);
        self.cvss.extend(other.cvss);
        self.warnings.extend(other.warnings);
        self.cve_records += other.cve_records;
        for (e, n) in other.unknown_ecosystems {
            *self.unknown_ecosystems.entry(e).or_default() += n;
        }
    }

    /// Records read: advisories plus CVE records.
    pub fn records(&self) -> usize {
        self.advisories.len() + self.cve_records
    }

    /// One warning line per unknown ecosystem, with its count.
    pub fn unknown_ecosystem_warnings(&self) -> Vec<String> {
        self.unknown_ecosystems
            .iter()
            .map(|(e, n)| format!("skipped {n} OSV affected entries of unknown ecosystem `{e}`"))
            .collect()
    }
}

/// The kind of a file, from its first bytes (and its name for zip archives).
pub fn detect(bytes: &[u8]) -> Option<SourceKind> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Some(SourceKind::Osv);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    if let Some(first) = trimmed.lines().next()
        && let Some((_, rest)) = first.split_once("] ")
        && first.starts_with('[')
    {
        if rest.starts_with("DSA-") {
            return Some(SourceKind::DsaList);
        }
        if rest.starts_with("DLA-") {
            return Some(SourceKind::DlaList);
        }
    }
    if trimmed.starts_with('{') {
        // Key order varies between producers; look for each format's telltale keys in the head.
        if head.contains("\"dataType\"") && head.contains("CVE_RECORD") || head.contains("\"cveMetadata\"") {
            return Some(SourceKind::Cve);
        }
        if head.contains("\"vulnerabilities\"") && head.contains("\"cve\"") {
            return Some(SourceKind::Cve);
        }
        if head.contains("\"releases\"") && !head.contains("\"affected\"") {
            return Some(SourceKind::TrackerJson);
        }
        if head.contains("\"id\"") {
            return Some(SourceKind::Osv);
        }
        return None;
    }
    // PyPA's YAML records start with `id:` (or a comment / document marker).
    if trimmed.lines().any(|l| l.starts_with("id:")) && trimmed.lines().any(|l| l.starts_with("affected:")) {
        return Some(SourceKind::Osv);
    }
    None
}

/// Parses bytes of a known kind. `location` names the file in messages; `name` (the file name) tells
/// YAML from JSON for OSV.
pub fn parse_bytes(kind: SourceKind, location: &str, bytes: &[u8]) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    parsed.add_kind(kind);
    match kind {
        SourceKind::TrackerJson => tracker_json::parse(location, bytes, &mut parsed)?,
        SourceKind::DsaList | SourceKind::DlaList => tracker_list::parse(kind, location, bytes, &mut parsed)?,
        SourceKind::Osv if bytes.starts_with(b"PK\x03\x04") => osv::parse_zip(location, bytes, &mut parsed)?,
        SourceKind::Osv => osv::parse_record(location, bytes, &mut parsed)?,
        SourceKind::Cve => cve::parse(location, bytes, &mut parsed)?,
    }
    Ok(parsed)
}

/// Reads a file or directory, detecting each file's kind by content. A single file that is not
/// vulnerability data, or does not parse, is an error; inside a directory such files are warnings.
pub fn read_source(path: &Path) -> Result<Parsed> {
    read_source_as(path, None)
}

/// As `read_source`, with the kind given (`None`: detect).
pub fn read_source_as(path: &Path, kind: Option<SourceKind>) -> Result<Parsed> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return read_dir(path, kind);
    }
    let bytes = read_file(path)?;
    let location = path.display().to_string();
    let kind = match kind.or_else(|| detect(&bytes)) {
        Some(k) => k,
        None => return Err(undetected(&location)),
    };
    let mut parsed = parse_bytes(kind, &location, &bytes)?;
    parsed.sha256 = hex(&Sha256::digest(&bytes));
    parsed.bytes = bytes.len() as u64;
    Ok(parsed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn undetected(location: &str) -> Error {
    Error::malformed(
        location,
        "not a vulnerability source pare knows (tracker JSON, DSA/DLA list, OSV JSON/YAML/zip, CVE JSON 5, NVD \
         JSON)",
    )
    .with_hint("give the kind with --source KIND=PATH")
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// The files under `dir`, sorted, skipping hidden entries.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let ty = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_dir(dir: &Path, kind: Option<SourceKind>) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut ignored = Vec::new();
    let mut tree = Sha256::new();
    for file in walk(dir)? {
        let bytes = read_file(&file)?;
        let location = file.display().to_string();
        let rel = file.strip_prefix(dir).unwrap_or(&file).to_string_lossy().into_owned();
        tree.update(format!("{rel}\0{}\n", hex(&Sha256::digest(&bytes))).as_bytes());
        parsed.bytes += bytes.len() as u64;
        let Some(k) = kind.or_else(|| detect(&bytes)) else {
            let data_ext = matches!(file.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml"));
            if data_ext {
                parsed.warnings.push(format!("{location}: skipped: {}", undetected_short()));
            } else {
                ignored.push(file);
            }
            continue;
        };
        match parse_bytes(k, &location, &bytes) {
            Ok(p) => parsed.merge(p),
            Err(e) => parsed.warnings.push(format!("skipped: {e}")),
        }
    }
    if !ignored.is_empty() {
        let names: Vec<String> =
            ignored.iter().take(3).map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string()).collect();
        tracing::info!(
            "{}: ignored {} files that are not vulnerability data ({}{})",
            dir.display(),
            ignored.len(),
            names.join(", "),
            if ignored.len() > 3 { ", …" } else { "" }
        );
    }
    parsed.sha256 = hex(&tree.finalize());
    if parsed.kinds.is_empty() && parsed.warnings.is_empty() {
        return Err(Error::malformed(dir.display().to_string(), "no vulnerability records found in this directory"));
    }
    Ok(parsed)
}

fn undetected_short() -> &'static str {
    "not a vulnerability record pare knows (OSV, CVE JSON 5, NVD JSON)"
}
