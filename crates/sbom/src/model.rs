//! The inventory types: what every writer, the scanner and the monitor read.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an inventory describes: an image (by digest) or a path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The image location or path as the user named it.
    pub name: String,
    /// The image manifest digest (`sha256:…`), when the subject is an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// `/etc/os-release` (or `/usr/lib/os-release`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// Every field as read (unquoted).
    pub fields: BTreeMap<String, String>,
}

impl OsRelease {
    /// Parses os-release syntax: `KEY=value` lines, values optionally quoted with `"` or `'`
    /// and backslash escapes inside double quotes. Bad lines are skipped.
    pub fn parse(text: &str) -> OsRelease {
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            fields.insert(key.to_string(), unquote(value));
        }
        let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
        OsRelease {
            id: get("ID"),
            version_id: get("VERSION_ID"),
            version_codename: get("VERSION_CODENAME"),
            pretty_name: get("PRETTY_NAME"),
            fields,
        }
    }

    /// The purl `distro` qualifier: `ID-VERSION_ID` (`debian-12`), or `ID` alone.
    pub fn distro(&self) -> Option<String> {
        let id = self.id.as_deref()?;
        Some(match &self.version_id {
            Some(v) => format!("{id}-{v}"),
            None => id.to_string(),
        })
    }
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    value.to_string()
}

/// Where a package was found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// The layer (its digest, or a label for views built from tar streams).
    pub layer: String,
    pub path: String,
}

/// One package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// `deb`, later `apk`, `pypi`, `npm`, `golang`, `cargo`, `maven`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    pub purl: String,
    /// SPDX license expressions, sorted; `NOASSERTION` when a license could not be determined
    /// (no machine-readable copyright file, or a license name that is not an SPDX identifier).
    pub licenses: Vec<String>,
    /// Files the package owns that are in the image (not directories), sorted.
    pub files: Vec<String>,
    pub locations: Vec<Location>,
    /// Checksums of the package file (a `.deb`'s SHA-256 from the build's lock), when known.
    /// Catalogers leave this empty: an installed package keeps no hash of the file it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    /// Where the package file was downloaded from (the `.deb` URL from the build's lock), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
}

/// A checksum of a package file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Checksum {
    /// SPDX's algorithm name: `SHA256`, `SHA1`, `SHA512`, `MD5`, ...
    pub algorithm: String,
    /// Lower-case hex.
    pub value: String,
}

impl Checksum {
    /// A SHA-256 checksum (`value`: hex, any case).
    pub fn sha256(value: &str) -> Checksum {
        Checksum { algorithm: "SHA256".into(), value: value.to_ascii_lowercase() }
    }

    /// The CycloneDX `hash-alg` name of this algorithm (`SHA-256`), if CycloneDX has one.
    pub fn cyclonedx_algorithm(&self) -> Option<&'static str> {
        CHECKSUM_NAMES.iter().find(|(spdx, _)| *spdx == self.algorithm).map(|(_, cdx)| *cdx)
    }

    /// The SPDX algorithm name for a CycloneDX `hash-alg` name (`SHA-256` → `SHA256`).
    pub fn spdx_algorithm(cyclonedx: &str) -> Option<&'static str> {
        CHECKSUM_NAMES.iter().find(|(_, cdx)| *cdx == cyclonedx).map(|(spdx, _)| *spdx)
    }
}

/// SPDX 2.3 checksum algorithms and their CycloneDX 1.6 `hash-alg` names (the ones both have).
const CHECKSUM_NAMES: &[(&str, &str)] = &[
    ("MD5", "MD5"),
    ("SHA1", "SHA-1"),
    ("SHA256", "SHA-256"),
    ("SHA384", "SHA-384"),
    ("SHA512", "SHA-512"),
    ("SHA3-256", "SHA3-256"),
    ("SHA3-384", "SHA3-384"),
    ("SHA3-512", "SHA3-512"),
    ("BLAKE2b-256", "BLAKE2b-256"),
    ("BLAKE2b-384", "BLAKE2b-384"),
    ("BLAKE2b-512", "BLAKE2b-512"),
    ("BLAKE3", "BLAKE3"),
];

impl Package {
    /// The sort key: ecosystem, name, version, architecture, purl.
    fn key(&self) -> (&str, &str, &str, Option<&str>, &str) {
        (&self.ecosystem, &self.name, &self.version, self.architecture.as_deref(), &self.purl)
    }

    /// The licenses as one SPDX expression, if every one is known.
    pub fn license_expression(&self) -> Option<String> {
        if self.licenses.is_empty() || self.licenses.iter().any(|l| l == "NOASSERTION") {
            return None;
        }
        if let [only] = self.licenses.as_slice() {
            return Some(only.clone());
        }
        let parts: Vec<String> =
            self.licenses.iter().map(|l| if l.contains(' ') { format!("({l})") } else { l.clone() }).collect();
        Some(parts.join(" AND "))
    }
}

/// The tool that made an inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool { name: "pare".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// Everything found in one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub subject: Subject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsRelease>,
    pub packages: Vec<Package>,
    pub tool: Tool,
    /// When the subject was made (RFC 3339, seconds, UTC): `SOURCE_DATE_EPOCH` or the image
    /// config's `created`; the writers use it as the document's creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl Inventory {
    /// Sorts packages and everything inside them, so that output is deterministic.
    pub fn normalize(&mut self) {
        for p in &mut self.packages {
            p.licenses.sort();
            p.licenses.dedup();
            p.files.sort();
            p.files.dedup();
            p.locations.sort();
            p.locations.dedup();
            p.checksums.sort();
            p.checksums.dedup();
        }
        self.packages.sort_by(|a, b| a.key().cmp(&b.key()));
    }
}

/// A package ecosystem, named as OSV names it (`Debian`, `PyPI`, `crates.io`, …): the one type inventories
/// (through [`Package::advisory_ecosystem`]) and vulnerability advisories share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ecosystem {
    Debian,
    Ubuntu,
    Alpine,
    PyPI,
    #[serde(rename = "npm")]
    Npm,
    Go,
    #[serde(rename = "crates.io")]
    CratesIo,
    Maven,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 8] = [
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::CratesIo,
        Ecosystem::Maven,
    ];

    /// The OSV ecosystem name.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Maven => "Maven",
        }
    }

    /// The ecosystem of an inventory package ([`Package::ecosystem`], a purl type).
    pub fn from_purl_type(purl_type: &str) -> Option<Ecosystem> {
        Some(match purl_type {
            "deb" => Ecosystem::Debian,
            "apk" => Ecosystem::Alpine,
            "pypi" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            "golang" => Ecosystem::Go,
            "cargo" => Ecosystem::CratesIo,
            "maven" => Ecosystem::Maven,
            _ => return None,
        })
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ecosystem {
    type Err = String;

    /// Accepts OSV names; a release suffix (`Debian:12`, `Alpine:v3.19`) is the caller's to split off.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ecosystem::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown ecosystem `{s}`"))
    }
}

impl Package {
    /// The ecosystem advisories name this package in (from its purl type; Debian for `deb`, which an
    /// Ubuntu image's scan maps to Ubuntu by its os-release). `None` for purl types no advisory covers.
    pub fn advisory_ecosystem(&self) -> Option<Ecosystem> {
        Ecosystem::from_purl_type(&self.ecosystem)
    }
}
