//! Matching an inventory against advisories: one finding per vulnerability per package.
//!
//! Debian packages are matched by source package and source version in the image's release, as the
//! Debian Security Tracker and its DSA/DLA lists describe them. Other ecosystems are matched by name
//! and version with OSV's range rules. Records that name the same issue (a DSA and the CVEs it fixes,
//! a GHSA and its CVE alias) are merged into one finding whose id is the CVE.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pare_sbom::{Inventory, Package};
use serde::{Deserialize, Serialize};

use crate::model::{Advisory, Affected, Cvss, Ecosystem, Origin, Severity, Status, debian_codename};
use crate::{Lookup, Result, range};

/// What the scan was asked to do beyond matching.
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    /// The distribution release to match Debian packages against (`bookworm`), when the inventory
    /// does not say (an SBOM without `distro`, an image without os-release).
    pub release: Option<String>,
}

/// The package a finding is about, as the inventory names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub purl: String,
    /// For Debian packages: the source package and version the advisories name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Where the package was found (first location), for reports that need a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Where a finding's severity comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SeveritySource {
    /// A CVSS base score.
    Cvss { version: String, vector: String, score: f64 },
    /// The distribution's urgency for the issue (`Debian urgency: high`).
    Urgency { distribution: String, urgency: String },
    /// A severity word an advisory gives without a vector (GHSA `moderate`).
    Advisory { id: String },
    /// Nothing: the finding is `unknown`.
    None,
}

impl SeveritySource {
    /// A short label for tables: `CVSS 3.1 9.8`, `Debian urgency high`, `GHSA-…`, `none`.
    pub fn label(&self) -> String {
        match self {
            SeveritySource::Cvss { version, score, .. } => format!("CVSS {version} {score:.1}"),
            SeveritySource::Urgency { distribution, urgency } => format!("{distribution} urgency {urgency}"),
            SeveritySource::Advisory { id } => id.clone(),
            SeveritySource::None => "none".into(),
        }
    }
}

/// A VEX statement applied to a finding (see [`crate::vex`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedVex {
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_statement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_statement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The document the statement came from (a path, or `pare` for pare's own statements).
    pub document: String,
}

impl AppliedVex {
    /// Whether the statement takes the finding out of the open set.
    pub fn suppresses(&self) -> bool {
        matches!(self.status.as_str(), "not_affected" | "fixed")
    }
}

/// One vulnerability in one package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The vulnerability id: the CVE when one is known, else the advisory's own id.
    pub id: String,
    /// Other ids for the same issue (DSA/DLA/GHSA/PYSEC/…), sorted.
    pub aliases: Vec<String>,
    pub package: PackageRef,
    pub severity: Severity,
    pub severity_source: SeveritySource,
    /// What the data says: `fixed` (a fixed version exists), `unfixed`, `wont-fix`, `undetermined`,
    /// `end-of-life`.
    pub status: Status,
    /// Versions that fix it (sorted, as the data gives them).
    pub fixed_versions: Vec<String>,
    /// The distribution release matched (Debian), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Source notes worth showing (`no-dsa: Minor issue`, ignored GIT ranges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// The VEX statement that applies, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex: Option<AppliedVex>,
    /// Go: the vulnerable packages and symbols, when every record of the issue lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<crate::model::GoImport>,
}

impl Finding {
    /// Whether a VEX statement suppresses this finding (it is kept in reports, marked suppressed).
    pub fn suppressed(&self) -> bool {
        self.vex.as_ref().is_some_and(AppliedVex::suppresses)
    }

    /// Whether a fix is available.
    pub fn has_fix(&self) -> bool {
        !self.fixed_versions.is_empty()
    }

    /// Every id of the issue: `id` then `aliases`.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// The result of matching one inventory.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Matches {
    pub findings: Vec<Finding>,
    /// Things the user should know: packages that could not be matched, unusable data.
    pub warnings: Vec<String>,
    /// Packages looked up, by ecosystem.
    pub packages_matched: BTreeMap<String, usize>,
    /// Packages of ecosystems the database does not cover, by purl type.
    pub packages_skipped: BTreeMap<String, usize>,
    /// The Debian release matched against, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// Matches every package of `inventory` against `lookup`.
pub fn match_inventory(inventory: &Inventory, lookup: &dyn Lookup, options: &MatchOptions) -> Result<Matches> {
    let mut out = Matches::default();
    let distro = distribution(inventory, options);
    out.release = distro.as_ref().map(|d| d.release.clone());
    let mut unmatched_deb = 0usize;
    let alpine_release = inventory
        .os
        .as_ref()
        .and_then(|os| os.version_id.as_deref())
        .map(|v| format!("v{}", v.split('.').take(2).collect::<Vec<_>>().join(".")));
    for package in &inventory.packages {
        let Some(ecosystem) = package.advisory_ecosystem() else {
            *out.packages_skipped.entry(package.ecosystem.clone()).or_default() += 1;
            continue;
        };
        // What the advisories are matched by: the lookup's ecosystem, the release, the name and the
        // version (Debian's source package and version).
        let key = match ecosystem {
            Ecosystem::Debian => {
                let Some(distro) = &distro else {
                    unmatched_deb += 1;
                    continue;
                };
                let (source, version) = debian_source(package);
                MatchKey { ecosystem: distro.ecosystem, release: Some(distro.release.clone()), name: source, version }
            }
            _ => {
                let name = normalized_name(ecosystem, &package.name);
                let version = if ecosystem == Ecosystem::Go && name == "stdlib" {
                    go_toolchain_semver(&package.version)
                } else {
                    package.version.clone()
                };
                let release = if ecosystem == Ecosystem::Alpine { alpine_release.clone() } else { None };
                MatchKey { ecosystem, release, name, version }
            }
        };
        *out.packages_matched.entry(ecosystem.as_str().to_string()).or_default() += 1;
        let key_ecosystem = if ecosystem == Ecosystem::Debian { distro_ecosystem(&distro) } else { ecosystem };
        let matched = match lookup.match_cache() {
            Some(cache) => match cache.get(&key) {
                Some(hit) => hit,
                None => {
                    let matched = Arc::new(match_version(&key, key_ecosystem, lookup)?);
                    cache.insert(key, Arc::clone(&matched));
                    matched
                }
            },
            None => Arc::new(match_version(&key, key_ecosystem, lookup)?),
        };
        for (advisory, error) in &matched.unmatched {
            out.warnings.push(format!("{} {}: not matched against {advisory}: {error}", package.name, package.version));
        }
        let package = package_ref(package);
        // A match of this package alone is moved; one the cache shares is copied.
        match Arc::try_unwrap(matched) {
            Ok(own) => out.findings.extend(own.findings.into_iter().map(|f| Finding { package: package.clone(), ..f })),
            Err(shared) => {
                out.findings.extend(shared.findings.iter().map(|f| Finding { package: package.clone(), ..f.clone() }))
            }
        }
    }
    if unmatched_deb > 0 {
        out.warnings.push(format!(
            "{unmatched_deb} Debian packages were not matched: the Debian release is unknown (no os-release in \
             the image, or an SBOM without a `distro` qualifier); pass --distro debian-12 (or the release \
             codename) to match them"
        ));
    }
    out.findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| a.package.cmp(&b.package)).then_with(|| id_order(&a.id, &b.id))
    });
    Ok(out)
}

/// Ids in natural order: `CVE-2026-7383` before `CVE-2026-34180` (parts between dashes compared as
/// numbers where they are numbers, numbers first, then as text).
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(part: &str) -> (u64, &str) {
        (part.parse::<u64>().unwrap_or(u64::MAX), part)
    }
    let (mut a, mut b) = (a.split('-'), b.split('-'));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => match key(x).cmp(&key(y)) {
                std::cmp::Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

/// The distribution a Debian-family inventory belongs to.
#[derive(Clone, Debug)]
struct Distro {
    ecosystem: Ecosystem,
    /// `bookworm` for Debian; `22.04` style ids for Ubuntu.
    release: String,
}

fn distro_ecosystem(distro: &Option<Distro>) -> Ecosystem {
    distro.as_ref().map_or(Ecosystem::Debian, |d| d.ecosystem)
}

/// The distribution and release `inventory` is matched against (`Debian`, `bookworm`), as a scan decides it.
pub fn distribution_of(inventory: &Inventory, options: &MatchOptions) -> Option<(Ecosystem, String)> {
    distribution(inventory, options).map(|d| (d.ecosystem, d.release))
}

fn distribution(inventory: &Inventory, options: &MatchOptions) -> Option<Distro> {
    if let Some(release) = &options.release {
        return Some(parse_distro_option(release));
    }
    let os = inventory.os.as_ref()?;
    match os.id.as_deref()? {
        "debian" => {
            let release = os
                .version_codename
                .clone()
                .or_else(|| os.version_id.as_deref().and_then(debian_codename).map(str::to_string))
                .or_else(|| {
                    // Testing/sid images have no VERSION_ID; their PRETTY_NAME says `trixie/sid`.
                    os.pretty_name.as_deref().and_then(|p| p.split(['(', ')', ' ', '/']).find_map(known_codename))
                })?;
            Some(Distro { ecosystem: Ecosystem::Debian, release })
        }
        "ubuntu" => Some(Distro { ecosystem: Ecosystem::Ubuntu, release: os.version_id.clone()? }),
        _ => None,
    }
}

fn known_codename(word: &str) -> Option<String> {
    let word = word.trim().to_ascii_lowercase();
    pare_deb::releases::debian_version(&word).map(|_| word)
}

/// `--distro` accepts `debian-12`, `debian:12`, `bookworm`, `ubuntu-22.04`.
fn parse_distro_option(value: &str) -> Distro {
    let value = value.trim();
    let (id, version) = match value.split_once(['-', ':']) {
        Some((id, version)) if id.eq_ignore_ascii_case("debian") || id.eq_ignore_ascii_case("ubuntu") => {
            (id.to_ascii_lowercase(), version.to_string())
        }
        _ => ("debian".to_string(), value.to_string()),
    };
    if id == "ubuntu" {
        return Distro { ecosystem: Ecosystem::Ubuntu, release: version };
    }
    let release = debian_codename(&version).map(str::to_string).unwrap_or_else(|| version.to_ascii_lowercase());
    Distro { ecosystem: Ecosystem::Debian, release }
}

/// One advisory entry that says the package is (or is not) affected.
struct Candidate {
    /// The package's advisories as the lookup gave them (shared), and which one and entry this is.
    advisories: Arc<Vec<Advisory>>,
    index: usize,
    entry: usize,
    /// Whether the installed version is affected.
    hit: bool,
    fixed: Vec<String>,
    notes: Vec<String>,
}

/// The source name and version advisories use for a Debian binary package: `Source:` when the inventory
/// has it, else the binary name and version with a binNMU suffix (`+b1`) stripped.
pub fn debian_source(package: &Package) -> (String, String) {
    let name = package.source_name.clone().unwrap_or_else(|| package.name.clone());
    let version = match &package.source_version {
        Some(v) => v.clone(),
        None => strip_binnmu(&package.version).to_string(),
    };
    (name, version)
}

fn strip_binnmu(version: &str) -> &str {
    if let Some(pos) = version.rfind("+b") {
        let tail = &version[pos + 2..];
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            return &version[..pos];
        }
    }
    version
}

impl Candidate {
    fn advisory(&self) -> &Advisory {
        // The indexes were taken from these very vectors.
        &self.advisories[self.index]
    }

    fn affected(&self) -> &Affected {
        &self.advisory().affected[self.entry]
    }
}

/// One package version to match: the lookup's ecosystem, the release (Debian's codename, Alpine's
/// `v3.19`), the name the advisories use and the version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MatchKey {
    pub ecosystem: Ecosystem,
    pub release: Option<String>,
    pub name: String,
    pub version: String,
}

/// What one package version matched: its findings (with an empty `package`, which each package that
/// has this version fills in) and the records its version could not be compared with.
#[derive(Debug, Default)]
pub struct Matched {
    findings: Vec<Finding>,
    /// (advisory id, why)
    unmatched: Vec<(String, String)>,
}

/// Matches of package versions kept by a long-lived [`Lookup`] (a server rescanning a fleet, where
/// thousands of images share each package version): the result depends on the database and the key
/// only.
pub type MatchCache = crate::memo::Memo<MatchKey, Arc<Matched>>;

/// Matches one package version against every advisory of its name (in its release, when it has one).
fn match_version(key: &MatchKey, key_ecosystem: Ecosystem, lookup: &dyn Lookup) -> Result<Matched> {
    let mut matched = Matched::default();
    let mut candidates = Vec::new();
    let advisories = lookup.advisories(key.ecosystem, &key.name)?;
    let distribution = matches!(key.ecosystem, Ecosystem::Debian | Ecosystem::Ubuntu);
    for (index, advisory) in advisories.iter().enumerate() {
        for (entry, affected) in advisory.affected.iter().enumerate() {
            let wanted = if distribution {
                affected.package == key.name && affected.release == key.release
            } else {
                normalized_name(key.ecosystem, &affected.package) == key.name
                    && match (key.release.as_deref(), affected.release.as_deref()) {
                        (Some(want), Some(have)) => want == have,
                        _ => true,
                    }
            };
            if !wanted {
                continue;
            }
            if let Some(c) = evaluate(&advisories, (index, entry), &key.version, &mut matched.unmatched) {
                candidates.push(c);
            }
        }
    }
    matched.findings = merge(key_ecosystem, candidates, lookup)?;
    Ok(matched)
}

/// A Go toolchain version as the Go database's `stdlib` ranges write it (semver):
/// `go1.21.5` → `1.21.5`, `go1.21` → `1.21.0`, `go1.21rc2` → `1.21.0-rc.2`, as govulncheck does.
pub fn go_toolchain_semver(version: &str) -> String {
    let v = version.strip_prefix("go").or_else(|| version.strip_prefix('v')).unwrap_or(version);
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(v.len());
    let (numbers, pre) = v.split_at(split);
    if numbers.is_empty() {
        // Not a toolchain version: left for the range check to report.
        return version.to_string();
    }
    let mut parts: Vec<&str> = numbers.split('.').filter(|p| !p.is_empty()).collect();
    while parts.len() < 3 {
        parts.push("0");
    }
    let base = parts.join(".");
    let pre = ["rc", "beta", "alpha"]
        .iter()
        .find_map(|tag| pre.strip_prefix(tag).map(|n| format!("-{tag}.{n}")))
        .unwrap_or_default();
    format!("{base}{pre}")
}

/// Names as the ecosystem compares them: PyPI per PEP 503, the rest as given.
pub fn normalized_name(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::PyPI => {
            let mut out = String::with_capacity(name.len());
            let mut last_sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !last_sep {
                        out.push('-');
                    }
                    last_sep = true;
                } else {
                    out.push(c.to_ascii_lowercase());
                    last_sep = false;
                }
            }
            out
        }
        _ => name.to_string(),
    }
}

/// Whether entry `entry.1` of advisory `entry.0` of `advisories` affects `version`.
fn evaluate(
    advisories: &Arc<Vec<Advisory>>,
    (index, entry): (usize, usize),
    version: &str,
    unmatched: &mut Vec<(String, String)>,
) -> Option<Candidate> {
    let advisory = advisories.get(index)?;
    let affected = advisory.affected.get(entry)?;
    let candidate = |hit: bool, fixed: Vec<String>, notes: Vec<String>| {
        Some(Candidate { advisories: Arc::clone(advisories), index, entry, hit, fixed, notes })
    };
    match affected.status {
        Status::NotAffected => candidate(false, Vec::new(), Vec::new()),
        _ => match range::check(affected, version) {
            Ok(m) => {
                let mut notes = m.notes;
                if let Some(note) = &affected.note {
                    notes.push(note.clone());
                }
                candidate(m.affected, m.fixed, notes)
            }
            Err(e) => {
                unmatched.push((advisory.id.clone(), e.to_string()));
                None
            }
        },
    }
}

/// The ids of one issue node of a candidate (see [`issue_nodes`]), borrowed from its advisory.
#[derive(Clone, Copy)]
enum IssueIds<'a> {
    /// One CVE a DSA/DLA fixes.
    One(&'a str),
    /// A record's id with its aliases.
    Record(&'a Advisory),
}

impl<'a> IssueIds<'a> {
    fn iter(self) -> impl Iterator<Item = &'a str> {
        let (one, record) = match self {
            IssueIds::One(id) => (Some(id), None),
            IssueIds::Record(a) => (None, Some(a)),
        };
        one.into_iter().chain(
            record.into_iter().flat_map(|a| std::iter::once(a.id.as_str()).chain(a.aliases.iter().map(String::as_str))),
        )
    }
}

/// The issues a candidate stands for: the CVEs a DSA/DLA fixes (each its own issue), or an OSV/tracker
/// record's id with its aliases.
fn issue_nodes(advisory: &Advisory) -> impl Iterator<Item = IssueIds<'_>> {
    let split = is_distribution_advisory(advisory) && !advisory.aliases.is_empty();
    let cves = advisory.aliases.iter().filter(move |_| split).map(|cve| IssueIds::One(cve));
    cves.chain((!split).then_some(IssueIds::Record(advisory)))
}

/// A DSA/DLA (from the lists or as an OSV record): it bundles several issues, so it does not join them.
fn is_distribution_advisory(advisory: &Advisory) -> bool {
    matches!(advisory.origin, Origin::DebianDsa | Origin::DebianDla)
        || ["DSA-", "DLA-", "DTSA-", "USN-"].iter().any(|p| advisory.id.starts_with(p))
}

/// Merges candidates into one finding per issue: records whose ids overlap are one issue.
fn merge(ecosystem: Ecosystem, candidates: Vec<Candidate>, lookup: &dyn Lookup) -> Result<Vec<Finding>> {
    let nodes: Vec<(usize, IssueIds<'_>)> = candidates
        .iter()
        .enumerate()
        .flat_map(|(index, c)| issue_nodes(c.advisory()).map(move |ids| (index, ids)))
        .collect();
    let mut findings = Vec::new();
    for group in issue_groups(&nodes) {
        let mut members: Vec<usize> = group.iter().map(|&node| nodes[node].0).collect();
        members.sort_unstable();
        members.dedup();
        let members: Vec<&Candidate> = members.into_iter().filter_map(|i| candidates.get(i)).collect();
        // A source that says "not affected" for this release outranks ranges from broader records only
        // when no record says the installed version is affected; a hit from any record is a finding.
        if !members.iter().any(|c| c.hit) {
            continue;
        }
        let mut ids: BTreeSet<&str> = group.iter().flat_map(|&node| nodes[node].1.iter()).collect();
        for c in &members {
            ids.insert(c.advisory().id.as_str());
        }
        let id = ids
            .iter()
            .find(|i| i.starts_with("CVE-"))
            .or_else(|| ids.iter().find(|i| i.starts_with("GHSA-")))
            .or_else(|| ids.iter().next())
            .map_or_else(String::new, |i| (*i).to_string());
        let aliases: Vec<String> = ids.iter().filter(|i| **i != id).map(|i| (*i).to_string()).collect();
        let hits: Vec<&&Candidate> = members.iter().filter(|c| c.hit).collect();
        let mut fixed: BTreeSet<&str> = BTreeSet::new();
        let mut notes: BTreeSet<&str> = BTreeSet::new();
        for c in &hits {
            fixed.extend(c.fixed.iter().map(String::as_str));
            notes.extend(c.notes.iter().map(String::as_str));
        }
        let status = if !fixed.is_empty() {
            Status::Fixed
        } else {
            hits.iter().map(|c| c.affected().status).min_by_key(|s| status_rank(*s)).unwrap_or(Status::Unfixed)
        };
        let (severity, severity_source) = severity(&ids, &members, ecosystem, lookup)?;
        let summary = members.iter().find_map(|c| c.advisory().summary.clone());
        // What is vulnerable, only when every affecting record says: one that does not could
        // be about other code.
        let imports = if hits.iter().all(|c| !c.affected().imports.is_empty()) {
            let set: BTreeSet<crate::model::GoImport> =
                hits.iter().flat_map(|c| c.affected().imports.iter().cloned()).collect();
            set.into_iter().collect()
        } else {
            Vec::new()
        };
        let mut references: BTreeSet<&str> = BTreeSet::new();
        for c in &members {
            references.extend(c.advisory().references.iter().map(String::as_str));
        }
        findings.push(Finding {
            id,
            aliases,
            package: PackageRef::default(),
            severity,
            severity_source,
            status,
            fixed_versions: fixed.into_iter().map(str::to_string).collect(),
            release: hits.iter().find_map(|c| c.affected().release.clone()),
            summary,
            notes: notes.into_iter().map(str::to_string).collect(),
            references: references.into_iter().map(str::to_string).collect(),
            vex: None,
            imports,
        });
    }
    Ok(findings)
}

/// Groups issue nodes (a candidate's index and ids) into issues: nodes that share an id are one issue
/// (union-find over ids, linear in the ids: a package such as chromium has hundreds of DSAs of a dozen
/// CVEs each). Returns each group's nodes, in the order of each group's last node (the order a
/// pairwise merge in input order gives).
fn issue_groups(nodes: &[(usize, IssueIds<'_>)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn root(parent: &mut [usize], mut node: usize) -> usize {
        while parent[node] != node {
            parent[node] = parent[parent[node]];
            node = parent[node];
        }
        node
    }
    let mut owner: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (node, (_, ids)) in nodes.iter().enumerate() {
        for id in ids.iter() {
            match owner.get(id) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, node), root(&mut parent, other));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    owner.insert(id, node);
                }
            }
        }
    }
    // root → (nodes, last node)
    let mut groups: BTreeMap<usize, (Vec<usize>, usize)> = BTreeMap::new();
    for node in 0..nodes.len() {
        let group = groups.entry(root(&mut parent, node)).or_default();
        group.0.push(node);
        group.1 = node;
    }
    let mut groups: Vec<_> = groups.into_values().collect();
    groups.sort_by_key(|g| g.1);
    groups.into_iter().map(|(nodes, _)| nodes).collect()
}

/// Lower is more telling when no record has a fixed version.
fn status_rank(status: Status) -> u8 {
    match status {
        Status::WontFix => 0,
        Status::Unfixed => 1,
        Status::EndOfLife => 2,
        Status::Undetermined => 3,
        Status::Fixed => 4,
        Status::NotAffected => 5,
    }
}

pub(crate) fn package_ref(package: &Package) -> PackageRef {
    let (source_name, source_version) = if package.ecosystem == "deb" {
        let (n, v) = debian_source(package);
        (Some(n), Some(v))
    } else {
        (package.source_name.clone(), package.source_version.clone())
    };
    PackageRef {
        ecosystem: package.ecosystem.clone(),
        name: package.name.clone(),
        version: package.version.clone(),
        purl: package.purl.clone(),
        source_name,
        source_version,
        path: package.locations.first().map(|l| l.path.clone()),
    }
}

/// CVSS first (the highest base score of the newest CVSS version any source gives for any id of the
/// issue), then a severity word from an advisory, then the distribution's urgency; else unknown.
fn severity(
    ids: &BTreeSet<&str>,
    members: &[&Candidate],
    ecosystem: Ecosystem,
    lookup: &dyn Lookup,
) -> Result<(Severity, SeveritySource)> {
    let mut scores: Vec<Cvss> = Vec::new();
    for c in members {
        scores.extend(c.advisory().cvss.iter().cloned());
    }
    for id in ids {
        scores.extend(lookup.cvss(id)?);
    }
    // v3.x is what NVD, GHSA and the tracker's consumers rank by; v4 when it is all there is, v2 last.
    let rank = |v: &str| match v.split('.').next() {
        Some("3") => 3,
        Some("4") => 2,
        Some("2") => 1,
        _ => 0,
    };
    if let Some(best) = scores
        .iter()
        .filter(|s| s.base_score.is_finite())
        .max_by(|a, b| rank(&a.version).cmp(&rank(&b.version)).then(a.base_score.total_cmp(&b.base_score)))
    {
        return Ok((
            Severity::from_cvss_score(best.base_score),
            SeveritySource::Cvss { version: best.version.clone(), vector: best.vector.clone(), score: best.base_score },
        ));
    }
    if let Some((sev, id)) =
        members.iter().filter_map(|c| c.advisory().severity.map(|s| (s, c.advisory().id.clone()))).max()
    {
        return Ok((sev, SeveritySource::Advisory { id }));
    }
    let distribution = match ecosystem {
        Ecosystem::Ubuntu => "Ubuntu",
        Ecosystem::Alpine => "Alpine",
        _ => "Debian",
    };
    let urgency = members
        .iter()
        .filter(|c| c.hit)
        .filter_map(|c| c.affected().urgency.as_deref())
        .filter_map(|u| urgency_severity(u).map(|s| (s, u.to_string())))
        .max();
    if let Some((sev, urgency)) = urgency {
        return Ok((sev, SeveritySource::Urgency { distribution: distribution.into(), urgency }));
    }
    Ok((Severity::Unknown, SeveritySource::None))
}

/// The tracker's urgencies (`low`, `medium`, `high`, `unimportant`, with optional `*`/`**` marks for
/// "estimated"); `not yet assigned` and `end-of-life` carry no severity.
fn urgency_severity(urgency: &str) -> Option<Severity> {
    let word = urgency.trim().trim_end_matches('*').trim().to_ascii_lowercase();
    Some(match word.as_str() {
        "unimportant" => Severity::Negligible,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_natural_order() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        assert_eq!(id_order("CVE-2026-7383", "CVE-2026-34180"), Less);
        assert_eq!(id_order("CVE-2025-99999", "CVE-2026-1"), Less);
        assert_eq!(id_order("CVE-2026-1", "CVE-2026-1"), Equal);
        // Numbers before words; a prefix first.
        assert_eq!(id_order("DSA-5000-1", "DSA-x-1"), Less);
        assert_eq!(id_order("CVE-2026-1", "CVE-2026"), Greater);
        assert_eq!(id_order("CVE-2026-1", "GHSA-2026-1"), Less);
        let mut ids = vec!["GHSA-abcd", "CVE-2026-10", "CVE-2026-9", "DSA-6000-1"];
        ids.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, ["CVE-2026-9", "CVE-2026-10", "DSA-6000-1", "GHSA-abcd"]);
    }

    #[test]
    fn binnmu_suffix_is_stripped_only_when_numeric() {
        assert_eq!(strip_binnmu("5.2.15-2+b13"), "5.2.15-2");
        assert_eq!(strip_binnmu("1.0-1+b1"), "1.0-1");
        assert_eq!(strip_binnmu("1.0-1+bpo1"), "1.0-1+bpo1");
        assert_eq!(strip_binnmu("1.0+b"), "1.0+b");
        assert_eq!(strip_binnmu("3.0.17-1~deb12u2"), "3.0.17-1~deb12u2");
    }

    #[test]
    fn distro_option_forms() {
        for (input, release) in [("debian-12", "bookworm"), ("debian:13", "trixie"), ("bookworm", "bookworm")] {
            let d = parse_distro_option(input);
            assert_eq!((d.ecosystem, d.release.as_str()), (Ecosystem::Debian, release), "{input}");
        }
        let d = parse_distro_option("ubuntu-22.04");
        assert_eq!((d.ecosystem, d.release.as_str()), (Ecosystem::Ubuntu, "22.04"));
    }

    #[test]
    fn pep503_names() {
        assert_eq!(normalized_name(Ecosystem::PyPI, "Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalized_name(Ecosystem::Npm, "Foo_bar"), "Foo_bar");
    }

    #[test]
    fn urgencies() {
        assert_eq!(urgency_severity("high**"), Some(Severity::High));
        assert_eq!(urgency_severity("unimportant"), Some(Severity::Negligible));
        assert_eq!(urgency_severity("not yet assigned"), None);
    }
}

#[cfg(test)]
mod go_version_tests {
    use super::go_toolchain_semver;

    #[test]
    fn toolchain_versions() {
        assert_eq!(go_toolchain_semver("go1.19.8"), "1.19.8");
        assert_eq!(go_toolchain_semver("go1.21"), "1.21.0");
        assert_eq!(go_toolchain_semver("go1.21rc2"), "1.21.0-rc.2");
        assert_eq!(go_toolchain_semver("1.22.1"), "1.22.1");
        assert_eq!(go_toolchain_semver("v1.16.4"), "1.16.4");
        assert_eq!(go_toolchain_semver("devel"), "devel");
    }
}
