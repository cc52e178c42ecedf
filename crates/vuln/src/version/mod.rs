//! Version orders per ecosystem, for evaluating OSV ranges.
//!
//! | ecosystem | order | implementation |
//! |---|---|---|
//! | Debian, Ubuntu | dpkg | `pare_deb::Version` |
//! | Alpine | apk-tools `version.c` | [`apk`] (hand-written: no maintained crate) |
//! | PyPI | PEP 440 | `pep440_rs` |
//! | npm, crates.io | SemVer 2.0 precedence (build metadata ignored) | `semver` |
//! | Go | SemVer with an optional `v`, `vMAJOR[.MINOR]` shorthands, `+incompatible` | `semver` |
//! | Maven | Maven's `ComparableVersion` | [`maven`] (hand-written: no maintained crate) |

use std::cmp::Ordering;
use std::fmt;

use crate::error::{Error, Result};
use crate::model::Ecosystem;

pub mod apk;
pub mod maven;

/// A parsed version; one variant per ordering scheme. Versions of different schemes do not compare.
#[derive(Clone, Debug)]
pub enum Version {
    Debian(pare_deb::Version),
    Alpine(apk::Version),
    Pep440(pep440_rs::Version),
    /// npm, crates.io, Go and OSV `SEMVER` ranges.
    Semver(semver::Version),
    Maven(maven::Version),
}

/// Longer strings are refused: no real version comes close, and Maven's parse tree nests once per
/// letter/digit change (its comparison recurses that deep).
pub const MAX_LEN: usize = 1024;

/// Parses `s` in the order of `ecosystem`.
pub fn parse(ecosystem: Ecosystem, s: &str) -> Result<Version> {
    let err = |reason: String| Error::Version { ecosystem: ecosystem.to_string(), version: s.to_string(), reason };
    if s.is_empty() {
        return Err(err("the version is empty".to_string()));
    }
    if s.len() > MAX_LEN {
        return Err(err(format!("longer than {MAX_LEN} bytes ({})", s.len())));
    }
    match ecosystem {
        Ecosystem::Debian | Ecosystem::Ubuntu => {
            pare_deb::Version::parse(s).map(Version::Debian).map_err(|e| err(e.to_string()))
        }
        Ecosystem::Alpine => apk::Version::parse(s).map(Version::Alpine).map_err(err),
        Ecosystem::PyPI => s
            .parse::<pep440_rs::Version>()
            .map(Version::Pep440)
            .map_err(|e| err(format!("{e} (PEP 440 versions look like `1.2.3`, `1.0rc1`, `2!1.0.post1`)"))),
        Ecosystem::Npm => {
            // node-semver's strict parser trims whitespace and takes one leading `v`.
            let t = s.trim();
            let t = t.strip_prefix('v').unwrap_or(t);
            semver_from(t).map_err(err)
        }
        Ecosystem::CratesIo => semver_from(s).map_err(err),
        Ecosystem::Go => parse_go(s).map_err(err),
        Ecosystem::Maven => maven::Version::parse(s).map(Version::Maven).map_err(err),
    }
}

/// Parses a SemVer 2.0 version as OSV `SEMVER` ranges write them (no `v`; one is tolerated).
pub fn parse_semver(s: &str) -> Result<Version> {
    let t = s.strip_prefix('v').unwrap_or(s);
    let checked =
        if s.len() > MAX_LEN { Err(format!("longer than {MAX_LEN} bytes ({})", s.len())) } else { semver_from(t) };
    checked.map_err(|reason| Error::Version { ecosystem: "SemVer".to_string(), version: s.to_string(), reason })
}

fn semver_from(s: &str) -> std::result::Result<Version, String> {
    semver::Version::parse(s)
        .map(Version::Semver)
        .map_err(|e| format!("{e} (SemVer versions look like `1.2.3`, `1.2.3-rc.1`)"))
}

/// Go module versions: `golang.org/x/mod/semver` rules. `v1` and `v1.2` are shorthands for `v1.0.0` and
/// `v1.2.0` (without prerelease or build); `+incompatible` is build metadata and does not change the order.
fn parse_go(s: &str) -> std::result::Result<Version, String> {
    let t = s.strip_prefix('v').unwrap_or(s);
    let core_end = t.find(['-', '+']).unwrap_or(t.len());
    let dots = t[..core_end].matches('.').count();
    let full = match dots {
        0 | 1 if core_end != t.len() => {
            return Err("a shorthand version (`v1`, `v1.2`) cannot carry a prerelease or build".to_string());
        }
        0 => format!("{t}.0.0"),
        1 => format!("{t}.0"),
        _ => t.to_string(),
    };
    semver_from(&full)
}

impl Version {
    /// The order of two versions of the same scheme; `None` across schemes.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            (Version::Debian(a), Version::Debian(b)) => Some(a.cmp(b)),
            (Version::Alpine(a), Version::Alpine(b)) => Some(a.cmp(b)),
            (Version::Pep440(a), Version::Pep440(b)) => Some(a.cmp(b)),
            // SemVer precedence (spec item 11) ignores build metadata, as node-semver and Go do.
            (Version::Semver(a), Version::Semver(b)) => Some(a.cmp_precedence(b)),
            (Version::Maven(a), Version::Maven(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// The name of the ordering scheme, for notes and errors.
    pub fn scheme(&self) -> &'static str {
        match self {
            Version::Debian(_) => "dpkg",
            Version::Alpine(_) => "apk",
            Version::Pep440(_) => "PEP 440",
            Version::Semver(_) => "SemVer",
            Version::Maven(_) => "Maven",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Debian(v) => v.fmt(f),
            Version::Alpine(v) => v.fmt(f),
            Version::Pep440(v) => v.fmt(f),
            Version::Semver(v) => v.fmt(f),
            Version::Maven(v) => v.fmt(f),
        }
    }
}
