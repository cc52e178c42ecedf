//! Dependency resolution for one architecture, deterministic and without maintainer scripts.
//!
//! - The candidate of each package name is its highest version across the given indexes (like
//!   apt's candidate); packages of other architectures than the target and `all` are ignored.
//! - `Pre-Depends` and `Depends` are followed breadth-first (so [`Resolution::why`] gives a shortest
//!   path). For `a | b` the first alternative that can be satisfied is taken, unless a package
//!   already selected satisfies a later one.
//! - Virtual names (`Provides`): a real package of that name is preferred; else the only provider;
//!   else, as apt does, the provider of the highest `Priority` (then the alphabetically first),
//!   with a note: `awk` gives `mawk` (required), not `gawk` (optional). Unversioned `Provides` never satisfy a
//!   versioned relation (as in dpkg).
//! - Multi-Arch, single architecture: `:any` needs `Multi-Arch: allowed` (or `foreign`); an explicit
//!   `:arch` must match; `same`/`foreign` need nothing else when only one architecture is installed.
//! - Essential, the distroless way: `Essential: yes` packages are not added implicitly (apt would);
//!   they come in only when something depends on them. Debian packages need not declare
//!   dependencies on essential packages, so an image may lack what a maintainer script would
//!   use; pare runs no maintainer scripts.
//! - Distroless' `static` image lists base-files, netbase, tzdata, media-types and a CA bundle
//!   built from ca-certificates, and follows no `Depends` (its lock has `"dependencies": []`).
//!   Following them on bookworm pulls in `libc6` three ways: ca-certificates -> openssl,
//!   tzdata/ca-certificates -> debconf -> perl-base, base-files -> `Pre-Depends: awk` -> mawk.
//!   pare gets distroless' set with [`ResolveOptions::exclude`] = `awk`, `debconf`, `openssl`
//!   (relations naming them count as satisfied and are reported in the notes), or with
//!   `follow_dependencies: false`. Which one an image definition uses is the builder's choice.
//! - `Conflicts` and `Breaks` between selected packages are errors.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::Error;
use crate::archive::{DebRequest, PackageIndex, Pocket};
use crate::packages::{MultiArch, PackageRecord};
use crate::relation::{Alternatives, Relation};

/// How to resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveOptions {
    /// The target architecture (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// `false`: install exactly the requested packages.
    pub follow_dependencies: bool,
    /// Names never installed; a relation naming one counts as satisfied (and is reported).
    pub exclude: BTreeSet<String>,
}

impl ResolveOptions {
    pub fn new(architecture: &str) -> ResolveOptions {
        ResolveOptions { architecture: architecture.to_string(), follow_dependencies: true, exclude: BTreeSet::new() }
    }
}

/// Why a package is in the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Requested,
    /// Pulled in by `parent`'s relation (`Depends: ...` or `Pre-Depends: ...`, one alternatives group).
    Dependency {
        parent: String,
        relation: String,
    },
}

/// A selected package and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPackage {
    pub record: PackageRecord,
    pub pocket: Pocket,
    pub reason: Reason,
}

impl ResolvedPackage {
    /// The download of this package's `.deb`.
    pub fn deb_request(&self) -> DebRequest {
        DebRequest::new(&self.pocket.mirror, &self.record)
    }
}

/// The result: packages sorted by name, and notes on choices made.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    pub architecture: String,
    pub packages: Vec<ResolvedPackage>,
    /// Choices a reader may want to know about (several providers, excluded relations).
    pub notes: Vec<String>,
}

impl Resolution {
    pub fn get(&self, name: &str) -> Option<&ResolvedPackage> {
        self.packages.binary_search_by(|p| p.record.package.as_str().cmp(name)).ok().map(|i| &self.packages[i])
    }

    /// The chain from a requested package to `name`: each step is a package and the relation
    /// (of the previous step) that pulled it in; `None` when `name` is not in the result.
    pub fn why(&self, name: &str) -> Option<Vec<(String, Option<String>)>> {
        let mut chain = Vec::new();
        let mut current = self.get(name)?;
        loop {
            match &current.reason {
                Reason::Requested => {
                    chain.push((current.record.package.clone(), None));
                    break;
                }
                Reason::Dependency { parent, relation } => {
                    chain.push((current.record.package.clone(), Some(relation.clone())));
                    current = self.get(parent)?;
                    if chain.len() > self.packages.len() {
                        return None;
                    }
                }
            }
        }
        chain.reverse();
        Some(chain)
    }

    /// [`Resolution::why`] as one line: `python3 -> python3.11 (Depends: python3.11 (>= 3.11.2)) -> ...`.
    pub fn why_text(&self, name: &str) -> Option<String> {
        let chain = self.why(name)?;
        Some(
            chain
                .iter()
                .map(|(p, rel)| match rel {
                    None => format!("{p} (requested)"),
                    Some(rel) => format!("{p} ({rel})"),
                })
                .collect::<Vec<_>>()
                .join(" -> "),
        )
    }

    /// Downloads for every package, in name order.
    pub fn deb_requests(&self) -> Vec<DebRequest> {
        self.packages.iter().map(ResolvedPackage::deb_request).collect()
    }
}

struct Candidate<'a> {
    record: &'a PackageRecord,
    pocket: &'a Pocket,
}

/// The packages that can be installed: the candidate of each name and who provides what.
pub struct Universe<'a> {
    architecture: String,
    packages: BTreeMap<&'a str, Candidate<'a>>,
    /// Virtual name -> (provider name, the Provides relation).
    providers: BTreeMap<&'a str, Vec<(&'a str, &'a Relation)>>,
}

impl<'a> Universe<'a> {
    /// Candidates from `indexes` (highest version per name; on a tie the earlier index wins).
    pub fn new(indexes: &'a [PackageIndex], architecture: &str) -> Universe<'a> {
        let mut packages: BTreeMap<&str, Candidate<'_>> = BTreeMap::new();
        for index in indexes {
            for record in &index.packages {
                if record.architecture != architecture && record.architecture != "all" {
                    continue;
                }
                let better = packages.get(record.package.as_str()).is_none_or(|c| record.version > c.record.version);
                if better {
                    packages.insert(&record.package, Candidate { record, pocket: &index.pocket });
                }
            }
        }
        let mut providers: BTreeMap<&str, Vec<(&str, &Relation)>> = BTreeMap::new();
        for (name, c) in &packages {
            for p in &c.record.provides {
                providers.entry(p.name.as_str()).or_default().push((name, p));
            }
        }
        Universe { architecture: architecture.to_string(), packages, providers }
    }

    /// Number of candidate packages.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The candidate record of `name`.
    pub fn candidate(&self, name: &str) -> Option<&'a PackageRecord> {
        self.packages.get(name).map(|c| c.record)
    }

    /// Whether `record`'s architecture and Multi-Arch fit the relation's qualifier.
    fn arch_fits(&self, relation: &Relation, record: &PackageRecord) -> bool {
        match relation.arch_qualifier.as_deref() {
            None | Some("native") => true,
            Some("any") => matches!(record.multi_arch, MultiArch::Allowed | MultiArch::Foreign),
            Some(arch) => record.architecture == arch || (record.architecture == "all" && arch == self.architecture),
        }
    }

    /// The packages that satisfy `relation`, best first, and why others do not.
    fn satisfiers(&self, relation: &Relation) -> (Vec<&'a str>, Vec<String>) {
        let mut found = Vec::new();
        let mut rejected = Vec::new();
        if let Some(c) = self.packages.get(relation.name.as_str()) {
            if !relation.accepts_version(&c.record.version) {
                rejected.push(format!("{} {} does not satisfy the version", c.record.package, c.record.version));
            } else if !self.arch_fits(relation, c.record) {
                rejected.push(format!(
                    "{} is Multi-Arch: {} and {}, which does not fit `:{}`",
                    c.record.package,
                    c.record.multi_arch,
                    c.record.architecture,
                    relation.arch_qualifier.as_deref().unwrap_or("")
                ));
            } else {
                found.push(c.record.package.as_str());
            }
        }
        for (provider, provided) in self.providers.get(relation.name.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
            let Some(c) = self.packages.get(provider) else { continue };
            let version_ok = match (&relation.version, &provided.version) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(want), Some(have)) => have.op == crate::VersionOp::Eq && want.matches(&have.version),
            };
            if !version_ok {
                rejected.push(format!("{provider} provides {provided}, which does not satisfy the version"));
            } else if !self.arch_fits(relation, c.record) {
                rejected.push(format!("{provider} is Multi-Arch: {}, which does not fit `:any`", c.record.multi_arch));
            } else if !found.contains(provider) {
                found.push(provider);
            }
        }
        if found.is_empty() && rejected.is_empty() {
            rejected.push(format!("no package is named or provides `{}`", relation.name));
        }
        (found, rejected)
    }
}

/// Resolves `requests` (package names, or relations such as `libssl3 (>= 3.0)`) against the
/// candidates of `indexes`.
pub fn resolve(indexes: &[PackageIndex], requests: &[&str], options: &ResolveOptions) -> Result<Resolution, Error> {
    let universe = Universe::new(indexes, &options.architecture);
    resolve_in(&universe, requests, options)
}

/// [`resolve`] against a prepared [`Universe`] (to resolve several requests against one index).
pub fn resolve_in(universe: &Universe<'_>, requests: &[&str], options: &ResolveOptions) -> Result<Resolution, Error> {
    let mut selected: BTreeMap<&str, ResolvedPackage> = BTreeMap::new();
    let mut notes = BTreeSet::new();
    let mut queue = VecDeque::new();
    for request in requests {
        let relation = Relation::parse(request)?;
        let (found, rejected) = universe.satisfiers(&relation);
        let name = match pick(universe, &relation, &found, &selected, &mut notes) {
            Some(name) => name,
            None => {
                return Err(Error::Unsatisfiable {
                    package: "the request".into(),
                    relation: relation.to_string(),
                    path: "requested".into(),
                    candidates: rejected.join("; "),
                });
            }
        };
        if !selected.contains_key(name) {
            select(universe, &mut selected, name, Reason::Requested);
            queue.push_back(name);
        }
    }
    while let Some(name) = queue.pop_front() {
        if !options.follow_dependencies {
            break;
        }
        let Some(record) = universe.candidate(name) else { continue };
        let groups =
            record.pre_depends.iter().map(|g| ("Pre-Depends", g)).chain(record.depends.iter().map(|g| ("Depends", g)));
        for (field, group) in groups {
            let relations: Vec<&Relation> = group.0.iter().filter(|r| r.applies_to(&options.architecture)).collect();
            if relations.is_empty() {
                continue;
            }
            let text = format!("{field}: {}", Alternatives(relations.iter().map(|r| (*r).clone()).collect()));
            if let Some(excluded) = relations.iter().find(|r| options.exclude.contains(&r.name)) {
                notes.insert(format!("{name}: `{text}` is not followed: `{}` is excluded", excluded.name));
                continue;
            }
            // Already satisfied by a selected package?
            let satisfied = relations.iter().any(|r| {
                let (found, _) = universe.satisfiers(r);
                found.iter().any(|f| selected.contains_key(f))
            });
            if satisfied {
                continue;
            }
            let mut chosen = None;
            let mut considered = Vec::new();
            for r in &relations {
                let (found, rejected) = universe.satisfiers(r);
                let found: Vec<&str> = found.into_iter().filter(|f| !options.exclude.contains(*f)).collect();
                if let Some(pick) = pick(universe, r, &found, &selected, &mut notes) {
                    chosen = Some(pick);
                    break;
                }
                considered.push(format!("{r}: {}", rejected.join(", ")));
            }
            let Some(chosen) = chosen else {
                let path = why_path(&selected, name);
                return Err(Error::Unsatisfiable {
                    package: record.id(),
                    relation: text,
                    path,
                    candidates: considered.join("; "),
                });
            };
            select(universe, &mut selected, chosen, Reason::Dependency { parent: name.to_string(), relation: text });
            queue.push_back(chosen);
        }
    }
    check_conflicts(universe, &selected)?;
    Ok(Resolution {
        architecture: options.architecture.clone(),
        packages: selected.into_values().collect(),
        notes: notes.into_iter().collect(),
    })
}

/// Chooses among satisfiers: one already selected, else the real package of that name, else the
/// only provider, else the alphabetically first (with a note).
fn pick<'a>(
    universe: &Universe<'a>,
    relation: &Relation,
    found: &[&'a str],
    selected: &BTreeMap<&str, ResolvedPackage>,
    notes: &mut BTreeSet<String>,
) -> Option<&'a str> {
    if let Some(s) = found.iter().find(|f| selected.contains_key(*f)) {
        return Some(s);
    }
    if let Some(real) = found.iter().find(|f| **f == relation.name) {
        return Some(real);
    }
    // Like apt: the provider of the highest Priority, then the alphabetically first.
    let rank = |name: &str| match universe.candidate(name).and_then(|r| r.priority.as_deref()) {
        Some("required") => 0,
        Some("important") => 1,
        Some("standard") => 2,
        Some("optional") => 3,
        Some("extra") => 4,
        _ => 5,
    };
    let mut providers: Vec<&str> = found.to_vec();
    providers.sort_unstable_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    let first = *providers.first()?;
    if providers.len() > 1 {
        notes.insert(format!(
            "`{}` is provided by {}; chose {first} (highest Priority, then alphabetical); name one to choose",
            relation.name,
            providers.join(", ")
        ));
    }
    universe.candidate(first).map(|r| r.package.as_str())
}

fn select<'a>(
    universe: &Universe<'a>,
    selected: &mut BTreeMap<&'a str, ResolvedPackage>,
    name: &'a str,
    reason: Reason,
) {
    if let Some(c) = universe.packages.get(name) {
        selected.insert(name, ResolvedPackage { record: c.record.clone(), pocket: c.pocket.clone(), reason });
    }
}

fn why_path(selected: &BTreeMap<&str, ResolvedPackage>, name: &str) -> String {
    let mut chain = vec![name.to_string()];
    let mut current = name;
    while let Some(Reason::Dependency { parent, .. }) = selected.get(current).map(|p| &p.reason) {
        if chain.len() > selected.len() {
            break;
        }
        chain.push(parent.clone());
        current = parent;
    }
    chain.reverse();
    chain.join(" -> ")
}

fn check_conflicts(universe: &Universe<'_>, selected: &BTreeMap<&str, ResolvedPackage>) -> Result<(), Error> {
    for (name, p) in selected {
        let fields =
            p.record.conflicts.iter().map(|r| ("Conflicts", r)).chain(p.record.breaks.iter().map(|r| ("Breaks", r)));
        for (field, relation) in fields {
            let (found, _) = universe.satisfiers(relation);
            // A package may conflict with what it provides itself (the Debian idiom for a virtual name).
            if let Some(other) = found.iter().find(|f| **f != *name && selected.contains_key(*f)) {
                return Err(Error::Conflict {
                    package: p.record.id(),
                    relation: format!("{field}: {relation}"),
                    other: selected.get(other).map(|o| o.record.id()).unwrap_or_else(|| other.to_string()),
                    path: why_path(selected, name),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index from short paragraphs (`Package`, `Version`, ...): the rest is filled in.
    fn index(suite: &str, text: &str) -> PackageIndex {
        let mut full = String::new();
        for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
            full.push_str(para.trim());
            if !para.contains("Architecture:") {
                full.push_str("\nArchitecture: amd64");
            }
            full.push_str("\nFilename: pool/x.deb\nSize: 1\nSHA256: ");
            full.push_str(&"0".repeat(64));
            full.push_str("\n\n");
        }
        let packages = crate::parse_packages(full.as_bytes(), suite).unwrap_or_else(|e| panic!("fixture: {e}"));
        PackageIndex {
            pocket: Pocket::new("http://mirror.invalid/debian", suite),
            component: "main".into(),
            architecture: "amd64".into(),
            sha256: crate::Sha256Sum([0; 32]),
            packages,
        }
    }

    const MAIN: &str = "
Package: app
Version: 1.0
Depends: libfoo (>= 1.0), mawk | gawk, mail-transport-agent

Package: libfoo
Version: 1.0-1
Depends: libc6 (>= 2.36)

Package: libc6
Version: 2.36-9
Multi-Arch: same

Package: mawk
Version: 1.3.4

Package: gawk
Version: 5.2

Package: exim4
Version: 4.96
Provides: mail-transport-agent

Package: postfix
Version: 3.7
Provides: mail-transport-agent

Package: base-passwd
Version: 3.6
Essential: yes

Package: cycle-a
Version: 1
Depends: cycle-b

Package: cycle-b
Version: 1
Pre-Depends: cycle-a

Package: needs-new-foo
Version: 1
Depends: libfoo (>= 2.0)

Package: tzdata
Version: 2024b-0+deb12u1
Architecture: all
Depends: debconf (>= 0.5) | debconf-2.0

Package: debconf
Version: 1.5.82
Architecture: all
Provides: debconf-2.0
Depends: perl-base

Package: cdebconf
Version: 0.270
Provides: debconf-2.0

Package: perl-base
Version: 5.36
Essential: yes

Package: py-app
Version: 1
Depends: python3:any (>= 3.11)

Package: python3
Version: 3.11.2-1
Multi-Arch: allowed

Package: perl-app
Version: 1
Depends: perl:any

Package: perl
Version: 5.36

Package: abi-user
Version: 1
Depends: foo-abi-2 | foo-abi (>= 2)

Package: foo-impl
Version: 1
Provides: foo-abi (= 2)

Package: old-abi-user
Version: 1
Depends: bar-abi (>= 1)

Package: bar-impl
Version: 1
Provides: bar-abi

Package: conflicting
Version: 1
Conflicts: mawk

Package: armonly
Version: 1
Architecture: arm64
";

    const SECURITY: &str = "
Package: libfoo
Version: 1.0-1+deb12u1
Depends: libc6 (>= 2.36)
";

    fn indexes() -> Vec<PackageIndex> {
        vec![index("bookworm", MAIN), index("bookworm-security", SECURITY)]
    }

    fn names(r: &Resolution) -> Vec<&str> {
        r.packages.iter().map(|p| p.record.package.as_str()).collect()
    }

    fn opts() -> ResolveOptions {
        ResolveOptions::new("amd64")
    }

    #[test]
    fn dependencies_alternatives_virtual_and_pockets() -> Result<(), Error> {
        let idx = indexes();
        let r = resolve(&idx, &["app"], &opts())?;
        assert_eq!(names(&r), ["app", "exim4", "libc6", "libfoo", "mawk"]);
        let libfoo = r.get("libfoo").map(|p| (p.record.version.to_string(), p.pocket.suite.clone()));
        assert_eq!(libfoo, Some(("1.0-1+deb12u1".into(), "bookworm-security".into())));
        assert_eq!(
            r.why_text("libc6").as_deref(),
            Some("app (requested) -> libfoo (Depends: libfoo (>= 1.0)) -> libc6 (Depends: libc6 (>= 2.36))")
        );
        assert!(r.notes.iter().any(|n| n.contains("exim4, postfix") && n.contains("chose exim4")), "{:?}", r.notes);
        // Priority beats the alphabet among providers.
        let mut prioritized = indexes();
        prioritized[0]
            .packages
            .iter_mut()
            .filter(|p| p.package == "postfix")
            .for_each(|p| p.priority = Some("important".into()));
        let r = resolve(&prioritized, &["mail-transport-agent"], &opts())?;
        assert_eq!(names(&r), ["postfix"]);
        assert!(r.get("base-passwd").is_none(), "essential packages are not pulled in implicitly");
        assert!(r.why("gawk").is_none());
        // A package already selected satisfies a later alternative.
        let r = resolve(&idx, &["gawk", "postfix", "app"], &opts())?;
        assert_eq!(names(&r), ["app", "gawk", "libc6", "libfoo", "postfix"]);
        assert_eq!(r.get("postfix").map(|p| &p.reason), Some(&Reason::Requested));
        // Deterministic: same input, same output.
        assert_eq!(resolve(&idx, &["app"], &opts())?, resolve(&idx, &["app"], &opts())?);
        Ok(())
    }

    #[test]
    fn virtual_packages() -> Result<(), Error> {
        let idx = indexes();
        // The real debconf is preferred over the other provider of debconf-2.0.
        let r = resolve(&idx, &["tzdata"], &opts())?;
        assert_eq!(names(&r), ["debconf", "perl-base", "tzdata"]);
        // Essential packages come in when something depends on them.
        assert_eq!(r.why("perl-base").map(|c| c.len()), Some(3));
        // Versioned Provides satisfy versioned relations; unversioned ones do not.
        let r = resolve(&idx, &["abi-user"], &opts())?;
        assert_eq!(names(&r), ["abi-user", "foo-impl"]);
        let err = resolve(&idx, &["old-abi-user"], &opts()).map_err(|e| e.to_string());
        assert!(err.as_ref().is_err_and(|e| e.contains("bar-impl provides bar-abi")), "{err:?}");
        // A virtual name can be requested.
        let r = resolve(&idx, &["mail-transport-agent"], &opts())?;
        assert_eq!(names(&r), ["exim4"]);
        Ok(())
    }

    #[test]
    fn excluded_and_not_followed() -> Result<(), Error> {
        let idx = indexes();
        let mut o = opts();
        o.exclude.insert("debconf".into());
        let r = resolve(&idx, &["tzdata"], &o)?;
        assert_eq!(names(&r), ["tzdata"]);
        assert!(r.notes.iter().any(|n| n.contains("debconf") && n.contains("excluded")), "{:?}", r.notes);
        let mut o = opts();
        o.follow_dependencies = false;
        let r = resolve(&idx, &["app", "tzdata"], &o)?;
        assert_eq!(names(&r), ["app", "tzdata"]);
        Ok(())
    }

    #[test]
    fn cycles_multi_arch_and_architectures() -> Result<(), Error> {
        let idx = indexes();
        let r = resolve(&idx, &["cycle-a"], &opts())?;
        assert_eq!(names(&r), ["cycle-a", "cycle-b"]);
        let r = resolve(&idx, &["py-app"], &opts())?;
        assert_eq!(names(&r), ["py-app", "python3"]);
        let err = resolve(&idx, &["perl-app"], &opts()).map_err(|e| e.to_string());
        assert!(err.as_ref().is_err_and(|e| e.contains("perl:any") && e.contains("Multi-Arch: no")), "{err:?}");
        let err = resolve(&idx, &["armonly"], &opts()).map_err(|e| e.to_string());
        assert!(err.as_ref().is_err_and(|e| e.contains("armonly")), "{err:?}");
        let arm = resolve(&idx, &["armonly"], &ResolveOptions::new("arm64"))?;
        assert_eq!(names(&arm), ["armonly"]);
        Ok(())
    }

    #[test]
    fn unsatisfiable_and_conflicts_say_what_and_why() {
        let idx = indexes();
        match resolve(&idx, &["app", "needs-new-foo"], &opts()) {
            Err(Error::Unsatisfiable { package, relation, candidates, path }) => {
                assert_eq!(package, "needs-new-foo_1_amd64");
                assert_eq!(relation, "Depends: libfoo (>= 2.0)");
                assert_eq!(path, "needs-new-foo");
                assert!(candidates.contains("libfoo 1.0-1+deb12u1 does not satisfy"), "{candidates}");
            }
            other => panic!("{other:?}"),
        }
        match resolve(&idx, &["nonexistent (>= 1)"], &opts()) {
            Err(Error::Unsatisfiable { candidates, .. }) => assert!(candidates.contains("no package is named")),
            other => panic!("{other:?}"),
        }
        match resolve(&idx, &["app", "conflicting"], &opts()) {
            Err(Error::Conflict { package, relation, other, .. }) => {
                assert_eq!(
                    (package.as_str(), relation.as_str(), other.as_str()),
                    ("conflicting_1_amd64", "Conflicts: mawk", "mawk_1.3.4_amd64")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(resolve(&idx, &["bad name!"], &opts()).is_err());
    }
}
