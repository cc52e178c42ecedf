//! `Packages` indexes: one [`PackageRecord`] per paragraph, read as a stream.

use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use crate::Error;
use crate::checksum::Sha256Sum;
use crate::deb822::{Deb822Reader, Paragraph};
use crate::relation::{Alternatives, Relation, parse_alternatives, parse_relations};
use crate::version::Version;

/// `Multi-Arch:` of a package.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MultiArch {
    #[default]
    No,
    Same,
    Foreign,
    Allowed,
}

impl MultiArch {
    pub fn as_str(self) -> &'static str {
        match self {
            MultiArch::No => "no",
            MultiArch::Same => "same",
            MultiArch::Foreign => "foreign",
            MultiArch::Allowed => "allowed",
        }
    }
}

impl FromStr for MultiArch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "no" => MultiArch::No,
            "same" => MultiArch::Same,
            "foreign" => MultiArch::Foreign,
            "allowed" => MultiArch::Allowed,
            other => return Err(format!("unknown value `{other}` (expected no, same, foreign or allowed)")),
        })
    }
}

impl fmt::Display for MultiArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of one binary package in a `Packages` index that pare uses.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageRecord {
    pub package: String,
    pub version: Version,
    pub architecture: String,
    pub multi_arch: MultiArch,
    /// Source package name (`Source:`, or the package name when absent).
    pub source: String,
    /// Source version (`Source: name (version)`, or the package version when absent).
    pub source_version: Version,
    pub depends: Vec<Alternatives>,
    pub pre_depends: Vec<Alternatives>,
    pub provides: Vec<Relation>,
    pub conflicts: Vec<Relation>,
    pub breaks: Vec<Relation>,
    pub essential: bool,
    pub priority: Option<String>,
    pub section: Option<String>,
    /// Path of the `.deb` relative to the mirror root (`pool/main/...`).
    pub filename: String,
    pub size: u64,
    pub sha256: Sha256Sum,
    /// `Installed-Size:` in KiB.
    pub installed_size: Option<u64>,
}

impl PackageRecord {
    /// Reads a `Packages` paragraph; `file` names the index in errors.
    pub fn from_paragraph(p: &Paragraph, file: &str) -> Result<PackageRecord, Error> {
        let package = p.get("Package").unwrap_or("").to_string();
        let label = if package.is_empty() { format!("paragraph at line {}", p.line()) } else { package.clone() };
        let err = |field: &str, reason: String| Error::Field {
            file: file.to_string(),
            paragraph: label.clone(),
            field: field.to_string(),
            reason,
        };
        let required = |name: &str| p.get(name).filter(|v| !v.is_empty()).ok_or_else(|| err(name, "missing".into()));
        if package.is_empty() {
            return Err(err("Package", "missing".into()));
        }
        let version = Version::parse(required("Version")?).map_err(|e| err("Version", e.to_string()))?;
        let alternatives = |name: &str| -> Result<Vec<Alternatives>, Error> {
            p.get(name).map_or(Ok(Vec::new()), |v| parse_alternatives(v).map_err(|e| err(name, e.to_string())))
        };
        let relations = |name: &str| -> Result<Vec<Relation>, Error> {
            p.get(name).map_or(Ok(Vec::new()), |v| parse_relations(v).map_err(|e| err(name, e.to_string())))
        };
        let number = |name: &str, v: &str| -> Result<u64, Error> {
            v.trim().parse::<u64>().map_err(|_| err(name, format!("`{v}` is not a number")))
        };
        let (source, source_version) = match p.get("Source") {
            None | Some("") => (package.clone(), version.clone()),
            Some(s) => match s.split_once('(') {
                None => (s.trim().to_string(), version.clone()),
                Some((name, rest)) => {
                    let v = rest.strip_suffix(')').ok_or_else(|| err("Source", format!("`{s}`: `(` without `)`")))?;
                    (name.trim().to_string(), Version::parse(v).map_err(|e| err("Source", e.to_string()))?)
                }
            },
        };
        if source.is_empty() || source.contains(char::is_whitespace) {
            return Err(err("Source", format!("invalid source package name `{source}`")));
        }
        Ok(PackageRecord {
            version,
            architecture: required("Architecture")?.to_string(),
            multi_arch: p
                .get("Multi-Arch")
                .map_or(Ok(MultiArch::No), |v| v.parse().map_err(|e| err("Multi-Arch", e)))?,
            source,
            source_version,
            depends: alternatives("Depends")?,
            pre_depends: alternatives("Pre-Depends")?,
            provides: relations("Provides")?,
            conflicts: relations("Conflicts")?,
            breaks: relations("Breaks")?,
            essential: p.get("Essential").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            priority: p.get("Priority").map(str::to_string),
            section: p.get("Section").map(str::to_string),
            filename: required("Filename")?.to_string(),
            size: number("Size", required("Size")?)?,
            sha256: Sha256Sum::parse(required("SHA256")?).map_err(|e| err("SHA256", e.to_string()))?,
            installed_size: p.get("Installed-Size").map(|v| number("Installed-Size", v)).transpose()?,
            package,
        })
    }

    /// `name_version_arch`, as apt and dpkg print a package.
    pub fn id(&self) -> String {
        format!("{}_{}_{}", self.package, self.version, self.architecture)
    }
}

/// Streams [`PackageRecord`]s from an uncompressed `Packages` index.
pub struct PackagesReader<R> {
    inner: Deb822Reader<R>,
    source: String,
}

impl<R: BufRead> PackagesReader<R> {
    pub fn new(reader: R, source: impl Into<String>) -> Self {
        let source = source.into();
        PackagesReader { inner: Deb822Reader::new(reader, source.clone()), source }
    }
}

impl<R: BufRead> Iterator for PackagesReader<R> {
    type Item = Result<PackageRecord, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.inner.next()?.and_then(|p| PackageRecord::from_paragraph(&p, &self.source)))
    }
}

/// Reads a whole uncompressed `Packages` index.
pub fn parse_packages<R: BufRead>(reader: R, source: &str) -> Result<Vec<PackageRecord>, Error> {
    PackagesReader::new(reader, source).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGES: &str = "Package: libc6\nSource: glibc (2.36-9+deb12u9)\nVersion: 2.36-9+deb12u9\n\
Installed-Size: 12986\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\n\
Multi-Arch: same\nReplaces: libc6-amd64\nDepends: libgcc-s1\nRecommends: libidn2-0 (>= 2.0.5~)\n\
Breaks: aide (<< 0.17.3-4+b3), busybox (<< 1.30.1-6)\nDescription: GNU C Library: Shared libraries\n Contains the standard libraries.\n\
Priority: optional\nSection: libs\n\
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u9_amd64.deb\nSize: 2757936\n\
SHA256: 3a043b9dbf1a8c8b5a9e2268253e6dca8c7d431bd7a202fea96364abf374fea9\n\n\
Package: tzdata\nVersion: 2024b-0+deb12u1\nArchitecture: all\nMulti-Arch: foreign\n\
Depends: debconf (>= 0.5) | debconf-2.0\nProvides: tzdata-bookworm\nPriority: required\n\
Filename: pool/main/t/tzdata/tzdata_2024b-0+deb12u1_all.deb\nSize: 255352\n\
SHA256: 9426e641cdcea0b890fa270930e2577c71ce2085c445e058b08870b2adee554d\n";

    #[test]
    fn parses_records() -> Result<(), Error> {
        let records = parse_packages(PACKAGES.as_bytes(), "Packages")?;
        assert_eq!(records.len(), 2);
        let libc = &records[0];
        assert_eq!((libc.source.as_str(), libc.source_version.as_str()), ("glibc", "2.36-9+deb12u9"));
        assert_eq!(libc.multi_arch, MultiArch::Same);
        assert_eq!(libc.breaks.len(), 2);
        assert_eq!(libc.installed_size, Some(12986));
        assert_eq!(libc.size, 2757936);
        assert_eq!(libc.id(), "libc6_2.36-9+deb12u9_amd64");
        let tz = &records[1];
        assert_eq!((tz.source.as_str(), tz.source_version.as_str()), ("tzdata", "2024b-0+deb12u1"));
        assert_eq!(tz.depends[0].to_string(), "debconf (>= 0.5) | debconf-2.0");
        assert_eq!(tz.provides[0].name, "tzdata-bookworm");
        assert!(!tz.essential);
        Ok(())
    }

    #[test]
    fn errors_name_package_and_field() {
        for (from, to, field) in [
            ("Size: 255352", "Size: big", "Size"),
            ("Version: 2024b-0+deb12u1", "Version: 1:", "Version"),
            ("Multi-Arch: foreign", "Multi-Arch: sometimes", "Multi-Arch"),
            ("Depends: debconf (>= 0.5)", "Depends: debconf (>= 0.5", "Depends"),
            ("SHA256: 9426e6", "SHA256: zz26e6", "SHA256"),
            ("Filename: pool/main/t/tzdata/tzdata_2024b-0+deb12u1_all.deb\n", "", "Filename"),
        ] {
            let text = PACKAGES.replace(from, to);
            match parse_packages(text.as_bytes(), "Packages") {
                Err(Error::Field { file, paragraph, field: f, .. }) => {
                    assert_eq!((file.as_str(), paragraph.as_str(), f.as_str()), ("Packages", "tzdata", field))
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
