//! Lock files (`DEF.lock`, TOML): the exact packages of every architecture, the signed Release
//! dates they came from, and a checksum of the definition inputs, so a stale lock is noticed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The lock format version this build writes and reads.
pub const LOCK_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Format version ([`LOCK_VERSION`]).
    pub version: u32,
    /// [`crate::Definition::lock_checksum`] of the definition this lock was made for.
    pub definition: String,
    pub suite: String,
    /// The base image's pinned digest (`sha256:…`) when the definition has a `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// One per pocket read, with the date of its signed Release.
    pub release: Vec<LockedRelease>,
    /// One per architecture, in the definition's order.
    pub architecture: Vec<LockedArchitecture>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockedRelease {
    pub suite: String,
    /// URL of the `InRelease` that was verified.
    pub url: String,
    /// Its `Date`, RFC 3339.
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockedArchitecture {
    pub name: String,
    /// Sorted by name.
    pub package: Vec<LockedPackage>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub source: String,
    pub source_version: String,
    /// The suite it was found in (`bookworm-security`).
    pub pocket: String,
    /// Path below the mirror root (`pool/main/...`).
    pub filename: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
    /// The package whose relation pulled this one in; absent for requested packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_by: Option<String>,
    /// That relation (`Depends: libc6 (>= 2.34)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
}

impl LockedPackage {
    /// The verified download of this package.
    pub fn deb_request(&self) -> Result<pare_deb::DebRequest, Error> {
        let sha256 = pare_deb::Sha256Sum::parse(&self.sha256).map_err(|e| Error::Package {
            package: self.name.clone(),
            reason: format!("bad sha256 in the lock: {e}"),
        })?;
        Ok(pare_deb::DebRequest {
            name: format!("{}_{}_{}", self.name, self.version, self.architecture),
            url: self.url.clone(),
            size: self.size,
            sha256,
        })
    }
}

impl Lock {
    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<Lock, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Lock::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Lock, Error> {
        let lock: Lock =
            toml::from_str(text).map_err(|e| Error::toml(origin, text, &e, "run `pare lock` to write it again"))?;
        if lock.version != LOCK_VERSION {
            return Err(Error::Lock {
                file: origin.to_string(),
                reason: format!("format version {} is not {LOCK_VERSION}", lock.version),
            });
        }
        for release in &lock.release {
            parse_time(&release.date).map_err(|reason| Error::Lock { file: origin.to_string(), reason })?;
        }
        Ok(lock)
    }

    /// The lock as TOML text.
    pub fn to_text(&self) -> Result<String, Error> {
        let body = toml::to_string(self).map_err(|e| Error::Lock { file: "(lock)".into(), reason: e.to_string() })?;
        Ok(format!("# Written by `pare lock`; do not edit. `pare update` makes a new one.\n{body}"))
    }

    /// Writes the lock atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        pare_oci::write_atomic(path, self.to_text()?.as_bytes())?;
        Ok(())
    }

    /// The newest Release date, seconds since the epoch: the default build time.
    pub fn newest_release(&self) -> u64 {
        self.release.iter().filter_map(|r| parse_time(&r.date).ok()).max().unwrap_or(0)
    }

    /// How many packages of `architecture` came from each pocket read, in the lock's pocket order
    /// (pockets that gave none are listed with 0).
    pub fn pocket_counts(&self, architecture: &str) -> Vec<(String, usize)> {
        let packages = self.packages(architecture).unwrap_or_default();
        let mut counts: Vec<(String, usize)> = self
            .release
            .iter()
            .map(|r| (r.suite.clone(), packages.iter().filter(|p| p.pocket == r.suite).count()))
            .collect();
        for p in packages {
            if !counts.iter().any(|(suite, _)| *suite == p.pocket) {
                counts.push((p.pocket.clone(), packages.iter().filter(|q| q.pocket == p.pocket).count()));
            }
        }
        counts
    }

    /// The locked packages of every architecture as an inventory of `subject` (Debian, the lock's suite):
    /// what `pare outdated DEF` compares with the archive.
    pub fn inventory(&self, subject: &str) -> pare_sbom::Inventory {
        let mut os = pare_sbom::OsRelease { id: Some("debian".into()), ..Default::default() };
        os.version_codename = Some(self.suite.clone());
        os.fields.insert("ID".into(), "debian".into());
        os.fields.insert("VERSION_CODENAME".into(), self.suite.clone());
        let packages = self
            .architecture
            .iter()
            .flat_map(|a| &a.package)
            .map(|p| {
                pare_sbom::debian_package(&p.name, &p.version, &p.architecture, &p.source, &p.source_version, None)
            })
            .collect();
        let mut inventory = pare_sbom::Inventory {
            subject: pare_sbom::Subject { name: subject.to_string(), digest: None },
            os: Some(os),
            packages,
            tool: pare_sbom::Tool::default(),
            created: None,
        };
        inventory.normalize();
        inventory
    }

    /// `pocket_counts` as one line: `bookworm 31, bookworm-updates 0, bookworm-security 6`.
    pub fn pocket_summary(&self, architecture: &str) -> String {
        self.pocket_counts(architecture).iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
    }

    pub fn packages(&self, architecture: &str) -> Option<&[LockedPackage]> {
        self.architecture.iter().find(|a| a.name == architecture).map(|a| a.package.as_slice())
    }

    /// The chain of packages that pulled `name` in on `architecture` (first: a requested one),
    /// each with the relation that pulled it; `None` when it is not locked there.
    pub fn why(&self, architecture: &str, name: &str) -> Option<Vec<(String, Option<String>)>> {
        let packages = self.packages(architecture)?;
        let find = |n: &str| packages.iter().find(|p| p.name == n);
        let mut chain = Vec::new();
        let mut current = find(name)?;
        loop {
            chain.push((current.name.clone(), current.relation.clone()));
            match &current.required_by {
                None => break,
                Some(parent) => current = find(parent)?,
            }
            if chain.len() > packages.len() {
                return None;
            }
        }
        chain.reverse();
        Some(chain)
    }

    /// What changed from `old` to `self`, per architecture: like `cargo update`'s lines.
    pub fn diff(&self, old: &Lock) -> Vec<Change> {
        let mut out = Vec::new();
        let archs: std::collections::BTreeSet<&str> =
            self.architecture.iter().chain(&old.architecture).map(|a| a.name.as_str()).collect();
        for arch in archs {
            let map = |lock: &Lock| -> BTreeMap<String, String> {
                lock.packages(arch).unwrap_or_default().iter().map(|p| (p.name.clone(), p.version.clone())).collect()
            };
            let (before, after) = (map(old), map(self));
            for (name, version) in &before {
                match after.get(name) {
                    None => out.push(Change::Removed {
                        architecture: arch.into(),
                        name: name.clone(),
                        version: version.clone(),
                    }),
                    Some(v) if v != version => out.push(Change::Updated {
                        architecture: arch.into(),
                        name: name.clone(),
                        from: version.clone(),
                        to: v.clone(),
                    }),
                    Some(_) => {}
                }
            }
            for (name, version) in &after {
                if !before.contains_key(name) {
                    out.push(Change::Added { architecture: arch.into(), name: name.clone(), version: version.clone() });
                }
            }
        }
        out
    }
}

/// One line of `pare update`'s report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added { architecture: String, name: String, version: String },
    Removed { architecture: String, name: String, version: String },
    Updated { architecture: String, name: String, from: String, to: String },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added { architecture, name, version } => {
                write!(f, "{:>9} {name} {version} ({architecture})", "Adding")
            }
            Change::Removed { architecture, name, version } => {
                write!(f, "{:>9} {name} {version} ({architecture})", "Removing")
            }
            Change::Updated { architecture, name, from, to } => {
                write!(f, "{:>9} {name} {from} -> {to} ({architecture})", "Updating")
            }
        }
    }
}

/// Seconds since the epoch of an RFC 3339 time.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let t: jiff::Timestamp = text.parse().map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))?;
    u64::try_from(t.as_second()).map_err(|_| format!("`{text}` is before 1970"))
}
