//! `scan` and `diff` as one library call each: what `pare scan`, `pare diff`, policy and the monitor run.
//!
//! A scan takes an image (cataloged in one pass over its layers) or an inventory (an SBOM read by
//! pare-sbom), matches it, applies the user's VEX, then pare's own VEX for Go binaries (only when the
//! image itself is at hand: an SBOM proves nothing about linked code), then `--only-fixed`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use pare_oci::Image;
use pare_oci::fs::{FsView, Limits};
use pare_sbom::{Inventory, LayerCache};
use serde::{Deserialize, Serialize};

use crate::matcher::Finding;
use crate::model::Severity;
use crate::report::{Report, ScanOptions};
use crate::{Error, Lookup, Result};

/// What is scanned.
pub enum Subject<'a> {
    /// An image: cataloged (through the per-layer cache when given), its Go binaries read again for
    /// pare's own VEX. `name` is how the user named it.
    Image { image: &'a Image, name: &'a str, limits: &'a Limits, cache: Option<&'a LayerCache> },
    /// An inventory (an SBOM file, or one made earlier).
    Inventory(Box<Inventory>),
    /// An image cataloged by the caller (who keeps its view for other checks): its inventory is
    /// matched and its Go binaries read for pare's own VEX, as for `Image`.
    Viewed { image: &'a Image, view: &'a FsView, inventory: Box<Inventory> },
}

/// A subject made ready: its inventory, the image and its view when it is one, cataloging warnings.
struct Cataloged<'a> {
    inventory: Inventory,
    image: Option<(&'a Image, Cow<'a, FsView>)>,
    warnings: Vec<String>,
}

impl<'a> Subject<'a> {
    /// The inventory alone (an image cataloged, an SBOM as read), with the warnings of cataloging.
    pub fn into_inventory(self) -> Result<(Inventory, Vec<String>)> {
        let cataloged = self.catalog()?;
        Ok((cataloged.inventory, cataloged.warnings))
    }

    /// The inventory, with the image and its view when the subject is an image; warnings of cataloging.
    fn catalog(self) -> Result<Cataloged<'a>> {
        match self {
            Subject::Inventory(inventory) => Ok(Cataloged { inventory: *inventory, image: None, warnings: Vec::new() }),
            Subject::Image { image, name, limits, cache } => {
                let (view, catalog) =
                    pare_sbom::catalog_image(image, limits, name, cache).map_err(|e| Error::Catalog(Box::new(e)))?;
                let mut warnings: Vec<String> = view.warnings().to_vec();
                warnings.extend(catalog.warnings);
                Ok(Cataloged { inventory: catalog.inventory, image: Some((image, Cow::Owned(view))), warnings })
            }
            Subject::Viewed { image, view, inventory } => {
                Ok(Cataloged { inventory: *inventory, image: Some((image, Cow::Borrowed(view))), warnings: Vec::new() })
            }
        }
    }
}

/// Scans `subject`: inventory, matching, the user's VEX, pare's own Go VEX, `only_fixed`.
pub fn scan(subject: Subject<'_>, lookup: &dyn Lookup, options: &ScanOptions) -> Result<Report> {
    let Cataloged { inventory, image, warnings: catalog_warnings } = subject.catalog()?;
    // `only_fixed` is applied last: pare's own VEX is decided on every finding first.
    let matching = ScanOptions { only_fixed: false, ..options.clone() };
    let mut report = crate::report::assess(&inventory, lookup, &matching)?;
    let mut warnings = catalog_warnings;
    warnings.append(&mut report.warnings);
    if let Some((image, view)) = image {
        let wanted = crate::reach::binaries_to_read(&report.findings, &inventory);
        let mut linked = pare_sbom::LinkedBinaries::new();
        if !wanted.is_empty() {
            // One pass over the layers that hold them; a binary that cannot be read proves nothing.
            let read = view.for_each_file(
                image,
                |e| wanted.contains(&e.path),
                |e, r| {
                    let mut bytes = Vec::new();
                    let code = r.read_to_end(&mut bytes).ok().and_then(|_| pare_sbom::GoLinked::read(&bytes));
                    linked.insert(e.path.clone(), code);
                    Ok::<(), pare_oci::Error>(())
                },
            );
            if let Err(e) = read {
                warnings.push(format!("cannot read the Go binaries again ({e}): no Go finding is marked by pare"));
                linked.clear();
            }
        }
        report.own_vex = crate::reach::apply(&mut report.findings, &inventory, &linked);
    }
    if options.only_fixed {
        report.findings.retain(Finding::has_fix);
    }
    report.warnings = warnings;
    Ok(report)
}

/// A package present in one of the two subjects only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageVersion {
    pub ecosystem: String,
    pub name: String,
    /// Versions, comma-separated when several are installed.
    pub version: String,
}

/// A package whose versions differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChange {
    pub ecosystem: String,
    pub name: String,
    pub old: String,
    pub new: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChanges {
    pub added: Vec<PackageVersion>,
    pub removed: Vec<PackageVersion>,
    pub changed: Vec<PackageChange>,
}

/// A vulnerability open on one side only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnerabilityChange {
    pub id: String,
    pub package: String,
    pub version: String,
    pub severity: Severity,
    pub fixed_versions: Vec<String>,
}

/// Open findings (after VEX, user's and pare's own) on each side, and which appear or go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityChanges {
    /// Open findings of the old subject.
    pub old: usize,
    /// Open findings of the new subject.
    pub new: usize,
    /// Findings suppressed by VEX, old and new.
    #[serde(default)]
    pub suppressed: [usize; 2],
    pub gained: Vec<VulnerabilityChange>,
    pub lost: Vec<VulnerabilityChange>,
}

/// One side of a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    pub name: String,
    pub digest: Option<String>,
    pub packages: usize,
}

/// What changed between two subjects.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Diff {
    pub old: Side,
    pub new: Side,
    pub packages: PackageChanges,
    /// `None` without a database.
    pub vulnerabilities: Option<VulnerabilityChanges>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

type PackageKey = (String, String, String);

fn package_map(inventory: &Inventory) -> BTreeMap<PackageKey, BTreeSet<String>> {
    let mut map: BTreeMap<PackageKey, BTreeSet<String>> = BTreeMap::new();
    for p in &inventory.packages {
        map.entry((p.ecosystem.clone(), p.name.clone(), p.architecture.clone().unwrap_or_default()))
            .or_default()
            .insert(p.version.clone());
    }
    map
}

fn package_changes(old: &Inventory, new: &Inventory) -> PackageChanges {
    let (a, b) = (package_map(old), package_map(new));
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut out = PackageChanges::default();
    for (key, versions) in &b {
        match a.get(key) {
            None => out.added.push(PackageVersion {
                ecosystem: key.0.clone(),
                name: key.1.clone(),
                version: join(versions),
            }),
            Some(old_versions) if old_versions != versions => out.changed.push(PackageChange {
                ecosystem: key.0.clone(),
                name: key.1.clone(),
                old: join(old_versions),
                new: join(versions),
            }),
            _ => {}
        }
    }
    for (key, versions) in &a {
        if !b.contains_key(key) {
            out.removed.push(PackageVersion { ecosystem: key.0.clone(), name: key.1.clone(), version: join(versions) });
        }
    }
    out
}

fn side(report_or_inventory: &Inventory) -> Side {
    Side {
        name: report_or_inventory.subject.name.clone(),
        digest: report_or_inventory.subject.digest.clone(),
        packages: report_or_inventory.packages.len(),
    }
}

/// Compares two subjects: packages, and with `lookup` the open findings, each side scanned exactly as
/// [`scan`] does with the same `options` (so `pare diff --vex` and `pare scan --vex` agree).
pub fn diff(old: Subject<'_>, new: Subject<'_>, lookup: Option<&dyn Lookup>, options: &ScanOptions) -> Result<Diff> {
    let Some(lookup) = lookup else {
        let (old, new) = (old.catalog()?, new.catalog()?);
        let (a, b) = (old.inventory, new.inventory);
        let mut warnings = old.warnings;
        warnings.extend(new.warnings);
        return Ok(Diff {
            old: side(&a),
            new: side(&b),
            packages: package_changes(&a, &b),
            vulnerabilities: None,
            warnings,
        });
    };
    let ra = scan(old, lookup, options)?;
    let rb = scan(new, lookup, options)?;
    let (a, b) = match (&ra.inventory, &rb.inventory) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err(Error::malformed("diff", "a scan kept no inventory")),
    };
    let key = |f: &Finding| (f.id.clone(), f.package.name.clone());
    let ka: BTreeMap<_, _> = ra.open().map(|f| (key(f), f)).collect();
    let kb: BTreeMap<_, _> = rb.open().map(|f| (key(f), f)).collect();
    let entry = |f: &Finding| VulnerabilityChange {
        id: f.id.clone(),
        package: f.package.name.clone(),
        version: f.package.version.clone(),
        severity: f.severity,
        fixed_versions: f.fixed_versions.clone(),
    };
    let vulnerabilities = VulnerabilityChanges {
        old: ka.len(),
        new: kb.len(),
        suppressed: [
            ra.findings.iter().filter(|f| f.suppressed()).count(),
            rb.findings.iter().filter(|f| f.suppressed()).count(),
        ],
        gained: kb.iter().filter(|(k, _)| !ka.contains_key(*k)).map(|(_, f)| entry(f)).collect(),
        lost: ka.iter().filter(|(k, _)| !kb.contains_key(*k)).map(|(_, f)| entry(f)).collect(),
    };
    let mut warnings = ra.warnings.clone();
    warnings.extend(rb.warnings.iter().cloned());
    Ok(Diff {
        old: side(a),
        new: side(b),
        packages: package_changes(a, b),
        vulnerabilities: Some(vulnerabilities),
        warnings,
    })
}
