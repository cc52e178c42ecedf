//! Which Debian packages of an inventory the archive has newer versions of, from which pocket, and
//! which vulnerabilities updating fixes: `pare outdated`, and the monitor's "rebuild advised".
//!
//! The archive side reads the same signed Releases and `Packages` indexes the builder locks from;
//! the vulnerability side matches the inventory twice (as it is, and with every update applied) and
//! reports what the update takes away.

use std::collections::{BTreeMap, BTreeSet};

use pare_deb::{ArchiveClient, Pocket, Version};
use pare_sbom::{Inventory, Package};
use serde::{Deserialize, Serialize};

use crate::matcher::{MatchOptions, match_inventory};
use crate::model::{Ecosystem, Severity};
use crate::report::DatabaseSummary;
use crate::{Error, Lookup, Result};

/// The archive to compare with: the pockets to read (in order) and the components of each.
pub struct Archive<'a> {
    pub client: &'a ArchiveClient,
    pub pockets: Vec<Pocket>,
    pub components: Vec<String>,
}

/// A pocket whose signed Release was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PocketRead {
    pub suite: String,
    /// The verified `InRelease` (or `Release`) URL.
    pub url: String,
    /// Its `Date`.
    pub date: String,
}

/// A vulnerability of the installed version that the available version no longer has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedVulnerability {
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
}

/// One package the archive has a newer version of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub package: String,
    pub architecture: String,
    pub installed: String,
    pub available: String,
    /// The suite the newest version is in (`bookworm-security`).
    pub pocket: String,
    /// Whether it comes from a `-security` pocket.
    pub security: bool,
    /// Vulnerabilities (from the local database) the update fixes, most severe first.
    pub fixes: Vec<FixedVulnerability>,
}

/// What [`outdated`] found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutdatedReport {
    pub subject: pare_sbom::Subject,
    /// The Debian release compared with (`bookworm`).
    pub release: String,
    pub pockets: Vec<PocketRead>,
    /// Debian packages compared.
    pub packages: usize,
    pub updates: Vec<Update>,
    /// Installed packages no pocket lists (local builds, removed packages), `name version`.
    pub not_in_archive: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSummary>,
    pub warnings: Vec<String>,
}

impl OutdatedReport {
    /// Updates a CI gate should act on: from a security pocket, or fixing a known vulnerability.
    pub fn security_updates(&self) -> impl Iterator<Item = &Update> {
        self.updates.iter().filter(|u| u.security || !u.fixes.is_empty())
    }

    /// Whether a rebuild (or an upgrade) is advised: a security update is available.
    pub fn rebuild_advised(&self) -> bool {
        self.security_updates().next().is_some()
    }
}

/// The Debian release an inventory belongs to (`bookworm`): `release` when given, else its os-release.
/// An inventory of another distribution is an error naming it.
pub fn debian_release(inventory: &Inventory, release: Option<&str>) -> Result<String> {
    let options = MatchOptions { release: release.map(str::to_string) };
    match crate::matcher::distribution_of(inventory, &options) {
        Some((Ecosystem::Debian, release)) => Ok(release),
        Some((other, release)) => Err(Error::Unsupported {
            message: format!(
                "{} is {} {release}: `pare outdated` compares with Debian's archive only",
                inventory.subject.name,
                other.as_str()
            ),
        }),
        None if let Some(id) = inventory.os.as_ref().and_then(|os| os.id.as_deref()).filter(|id| *id != "debian") => {
            Err(Error::Unsupported {
                message: format!(
                    "{} is `{id}` (os-release): `pare outdated` compares with Debian's archive only",
                    inventory.subject.name
                ),
            })
        }
        None => Err(Error::Unsupported {
            message: format!(
                "{}: the Debian release is unknown (no os-release with a Debian VERSION_CODENAME or VERSION_ID)",
                inventory.subject.name
            ),
        }
        .with_hint("pass --suite bookworm (or the release the image was built from)")),
    }
}

/// The newest version of one package across the pockets read.
#[derive(Clone, Debug)]
struct Newest {
    version: Version,
    pocket: String,
    source: String,
    source_version: String,
}

/// The pockets of a release read once: the newest version of each package kept, for comparing any
/// number of inventories of that release ([`compare`]) without reading the archive again.
#[derive(Clone, Debug)]
pub struct ArchiveIndex {
    pub pockets: Vec<PocketRead>,
    /// The architectures whose indexes were read.
    pub architectures: BTreeSet<String>,
    /// What reading found missing (a component a pocket does not index).
    pub warnings: Vec<String>,
    newest: BTreeMap<(String, String), Newest>,
}

/// The architectures whose indexes an inventory needs (`amd64` when no package names one, with a
/// warning).
pub fn architectures(inventory: &Inventory, warnings: &mut Vec<String>) -> BTreeSet<String> {
    let debs = inventory.packages.iter().filter(|p| p.ecosystem == "deb");
    let mut architectures: BTreeSet<String> =
        debs.clone().filter_map(|p| p.architecture.clone()).filter(|a| a != "all").collect();
    if architectures.is_empty() && debs.count() > 0 {
        warnings.push("no package names an architecture: comparing with amd64's indexes".to_string());
        architectures.insert("amd64".to_string());
    }
    architectures
}

impl ArchiveIndex {
    /// Reads the signed Release and the `Packages` indexes of every pocket of `archive` for
    /// `architectures`, keeping the records `wanted` accepts (of the tens of thousands an index lists).
    pub fn read(
        archive: &Archive<'_>,
        architectures: &BTreeSet<String>,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<ArchiveIndex> {
        let archive_error = |e: pare_deb::Error| Error::Archive(Box::new(e));
        let mut warnings = Vec::new();
        let mut newest: BTreeMap<(String, String), Newest> = BTreeMap::new();
        let mut pockets = Vec::new();
        for pocket in &archive.pockets {
            let signed = archive.client.fetch_release(pocket).map_err(archive_error)?;
            pockets.push(PocketRead {
                suite: pocket.suite.clone(),
                url: signed.url.clone(),
                date: signed.release.date.to_string(),
            });
            for arch in architectures {
                let offered = signed.release.indexed_components(arch);
                for component in &archive.components {
                    if !offered.contains(component) {
                        warnings.push(format!(
                            "{} lists no `{component}/binary-{arch}/Packages` index (it has: {}); not compared there",
                            pocket.suite,
                            offered.join(", ")
                        ));
                        continue;
                    }
                    let index = archive.client.fetch_index(&signed, component, arch).map_err(archive_error)?;
                    for record in index.packages.into_iter().filter(|r| wanted(&r.package)) {
                        let key = (record.package.clone(), record.architecture.clone());
                        if newest.get(&key).is_none_or(|n| record.version > n.version) {
                            newest.insert(
                                key,
                                Newest {
                                    version: record.version,
                                    pocket: pocket.suite.clone(),
                                    source: record.source,
                                    source_version: record.source_version.to_string(),
                                },
                            );
                        }
                    }
                }
            }
        }
        Ok(ArchiveIndex { pockets, architectures: architectures.clone(), warnings, newest })
    }
}

/// Compares the Debian packages of `inventory` with the archive; with `lookup`, names the
/// vulnerabilities each update fixes (matched against `release`). Reads the archive once for this
/// inventory; [`ArchiveIndex::read`] and [`compare`] share one read between many.
pub fn outdated(
    inventory: &Inventory,
    release: &str,
    archive: &Archive<'_>,
    lookup: Option<&dyn Lookup>,
) -> Result<OutdatedReport> {
    let wanted: BTreeSet<&str> =
        inventory.packages.iter().filter(|p| p.ecosystem == "deb").map(|p| p.name.as_str()).collect();
    let index = ArchiveIndex::read(archive, &architectures(inventory, &mut Vec::new()), &|name| wanted.contains(name))?;
    compare(inventory, release, &index, lookup)
}

/// Compares the Debian packages of `inventory` with an archive read before.
pub fn compare(
    inventory: &Inventory,
    release: &str,
    index: &ArchiveIndex,
    lookup: Option<&dyn Lookup>,
) -> Result<OutdatedReport> {
    let debs: Vec<&Package> = inventory.packages.iter().filter(|p| p.ecosystem == "deb").collect();
    let mut warnings = Vec::new();
    for arch in architectures(inventory, &mut warnings) {
        if !index.architectures.contains(&arch) {
            warnings.push(format!("the archive's `{arch}` indexes were not read: its packages are not compared"));
        }
    }
    warnings.extend(index.warnings.iter().cloned());
    let newest = &index.newest;
    let pockets = index.pockets.clone();

    let mut updates = Vec::new();
    let mut not_in_archive = Vec::new();
    // The packages that have an update, as installed and as updated: all the matching below needs.
    let empty = || Inventory {
        subject: inventory.subject.clone(),
        os: inventory.os.clone(),
        packages: Vec::new(),
        tool: inventory.tool.clone(),
        created: inventory.created.clone(),
    };
    let (mut before, mut after) = (empty(), empty());
    for package in &debs {
        let arch = package.architecture.clone().unwrap_or_else(|| "all".to_string());
        let Some(available) = newest.get(&(package.name.clone(), arch.clone())) else {
            not_in_archive.push(format!("{} {}", package.name, package.version));
            continue;
        };
        let installed = match package.version.parse::<Version>() {
            Ok(v) => v,
            Err(e) => {
                warnings
                    .push(format!("{} has an invalid version `{}`: {e}; not compared", package.name, package.version));
                continue;
            }
        };
        if available.version <= installed {
            continue;
        }
        updates.push(Update {
            package: package.name.clone(),
            architecture: arch,
            installed: package.version.clone(),
            available: available.version.to_string(),
            security: available.pocket.ends_with("-security"),
            pocket: available.pocket.clone(),
            fixes: Vec::new(),
        });
        before.packages.push((*package).clone());
        after.packages.push(Package {
            version: available.version.to_string(),
            source_name: Some(available.source.clone()),
            source_version: Some(available.source_version.clone()),
            ..(*package).clone()
        });
    }

    if let Some(lookup) = lookup
        && !updates.is_empty()
    {
        let options = MatchOptions { release: Some(release.to_string()) };
        let before = match_inventory(&before, lookup, &options)?;
        let after = match_inventory(&after, lookup, &options)?;
        let remaining: BTreeSet<(&str, &str)> =
            after.findings.iter().map(|f| (f.package.name.as_str(), f.id.as_str())).collect();
        for update in &mut updates {
            for finding in before.findings.iter().filter(|f| f.package.name == update.package) {
                if !remaining.contains(&(finding.package.name.as_str(), finding.id.as_str()))
                    && !update.fixes.iter().any(|x| x.id == finding.id)
                {
                    update.fixes.push(FixedVulnerability {
                        id: finding.id.clone(),
                        aliases: finding.aliases.clone(),
                        severity: finding.severity,
                    });
                }
            }
            update
                .fixes
                .sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| crate::matcher::id_order(&a.id, &b.id)));
        }
    }
    updates.sort_by(|a, b| (&a.package, &a.architecture).cmp(&(&b.package, &b.architecture)));
    not_in_archive.sort();
    Ok(OutdatedReport {
        subject: inventory.subject.clone(),
        release: release.to_string(),
        pockets,
        packages: debs.len(),
        updates,
        not_in_archive,
        database: None,
        warnings,
    })
}

/// The pockets a Debian release installs from by default (the release, `-updates`, `-security`).
pub fn standard_pockets(release: &str, mirror: Option<&str>, security_mirror: Option<&str>) -> Vec<Pocket> {
    Pocket::standard(
        release,
        mirror.unwrap_or(pare_deb::archive::DEBIAN_MIRROR),
        security_mirror.unwrap_or(pare_deb::archive::DEBIAN_SECURITY_MIRROR),
    )
}
