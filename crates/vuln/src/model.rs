//! The records the database stores and the matcher reads: one `Advisory` per source record
//! (an OSV entry, a DSA/DLA, a tracker CVE), each with the packages it affects.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The ecosystem type is pare-sbom's: inventories and advisories share it.
pub use pare_sbom::Ecosystem;

/// How bad a finding is. Ordered: `Unknown` < `Negligible` < … < `Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The CVSS v3/v4 qualitative rating of a base score.
    pub fn from_cvss_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Negligible,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "unknown" => Severity::Unknown,
            "negligible" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return Err(format!("unknown severity `{s}` (expected critical, high, medium, low, negligible)")),
        })
    }
}

/// A CVSS score as the data carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `3.1`, `4.0`, …
    pub version: String,
    /// The vector string (`CVSS:3.1/AV:N/…`).
    pub vector: String,
    pub base_score: f64,
}

/// Where an advisory's record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The Debian Security Tracker's `/tracker/data/json`.
    DebianTracker,
    /// The tracker's `data/DSA/list`.
    DebianDsa,
    /// The tracker's `data/DLA/list`.
    DebianDla,
    /// An OSV record.
    Osv,
}

/// One source record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// `CVE-2024-6387`, `DSA-5724-1`, `GHSA-…`, `PYSEC-…`, `GO-…`, `RUSTSEC-…`.
    pub id: String,
    /// Other names for the same issue (the CVEs a DSA fixes, OSV `aliases`), without `id`.
    pub aliases: Vec<String>,
    /// OSV `related`: not the same issue; kept for display only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// RFC 3339 or a date (`2024-07-01`), as the source gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// CVSS scores the record carries (or that the CVE records give its CVE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<Cvss>,
    /// A severity word the source gives without a CVSS vector (GHSA `database_specific.severity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    pub affected: Vec<Affected>,
}

/// One affected package in one release (for distributions) or ecosystem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub ecosystem: Ecosystem,
    /// For distributions: the release codename (`bookworm`, `trixie`) or the OSV suffix
    /// (`Alpine:v3.19` → `v3.19`, `Ubuntu:22.04:LTS` → `22.04:LTS`). `None`: every release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The package name as the ecosystem names it: the *source* package for Debian.
    pub package: String,
    pub status: Status,
    /// The versions affected, as ranges; empty with `versions` empty means every version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions (OSV `versions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// The distribution's urgency (`low`, `medium`, `high`, `unimportant`, …), as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
    /// Free text the source attaches (`NOTE:` lines, `no-dsa` reasons, `<not-affected>` comments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Go: the vulnerable packages and symbols (OSV `ecosystem_specific.imports`); empty when
    /// the record does not say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<GoImport>,
}

/// A vulnerable Go package, and the symbols in it (none listed: the whole package).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GoImport {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
}

/// What the source says about a package in a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Affected below a fixed version (the ranges say which).
    Fixed,
    /// Affected, no fix yet (tracker `open`, list `<unfixed>`).
    Unfixed,
    /// The release never had the vulnerable code (`<not-affected>`).
    NotAffected,
    /// The release no longer gets security support (`<end-of-life>`).
    EndOfLife,
    /// Affected, but the distribution decided not to fix it in a DSA (`no-dsa`, `<ignored>`, `<postponed>`).
    WontFix,
    /// The tracker has not decided (`undetermined`).
    Undetermined,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fixed => "fixed",
            Status::Unfixed => "unfixed",
            Status::NotAffected => "not-affected",
            Status::EndOfLife => "end-of-life",
            Status::WontFix => "wont-fix",
            Status::Undetermined => "undetermined",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OSV range: events in the range type's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// Versions compared with the ecosystem's own order.
    Ecosystem,
    /// Semantic Versioning 2.0.
    Semver,
    /// Commit hashes: not matchable against installed versions; kept so reports can say so.
    Git,
}

/// An OSV range event. `introduced: "0"` means from the first version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// Debian's release codename for a `VERSION_ID` (`12` → `bookworm`), for OSV's `Debian:12` and os-release
/// files without `VERSION_CODENAME`.
pub fn debian_codename(version_id: &str) -> Option<&'static str> {
    pare_deb::releases::debian_codename(version_id)
}
