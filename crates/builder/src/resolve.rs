//! From a definition to a lock: signed Releases, indexes, and the resolver, per architecture.

use pare_deb::{ArchiveClient, DownloadEvent, PackageIndex, Reason, ResolveOptions};

use crate::Error;
use crate::definition::Loaded;
use crate::lock::{LOCK_VERSION, Lock, LockedArchitecture, LockedPackage, LockedRelease};

/// What the builder reports while it works (possibly from several threads).
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// A signed Release was verified.
    Release { suite: &'a str, date: &'a str },
    /// A `Packages` index was fetched and checked.
    Index { suite: &'a str, component: &'a str, architecture: &'a str, packages: usize },
    /// The resolver picked the packages of one architecture.
    Resolved { architecture: &'a str, packages: usize },
    /// A `.deb` download step.
    Download(&'a DownloadEvent<'a>),
    /// A layer was written.
    Layer { architecture: &'a str, name: &'a str, size: u64 },
    /// Something the user may want to know (overlapping files, skipped entries).
    Warning(&'a str),
}

/// Receives [`Event`]s.
pub type Events<'a> = &'a (dyn Fn(&Event<'_>) + Sync);

/// Fetches and verifies the definition's Releases and indexes and resolves every architecture.
pub fn lock_definition(loaded: &Loaded, client: &ArchiveClient, events: Events<'_>) -> Result<Lock, Error> {
    let d = &loaded.definition;
    let mut releases = Vec::new();
    let mut signed = Vec::new();
    for pocket in loaded.pockets() {
        let release = client.fetch_release(&pocket)?;
        let date = release.release.date.to_string();
        events(&Event::Release { suite: &pocket.suite, date: &date });
        releases.push(LockedRelease { suite: pocket.suite.clone(), url: release.url.clone(), date });
        signed.push(release);
    }
    let mut architectures = Vec::new();
    for arch in &d.architectures {
        let mut indexes: Vec<PackageIndex> = Vec::new();
        for release in &signed {
            // Which indexes a pocket offers comes from the files its Release hashes, as apt decides: the
            // security archive's `Components: updates/main` serves `main/binary-ARCH/Packages`.
            let offered = release.release.indexed_components(arch);
            for component in &d.components {
                if !offered.contains(component) {
                    let list = |v: &[String]| if v.is_empty() { "nothing".to_string() } else { v.join(", ") };
                    return Err(Error::PocketComponent {
                        pocket: format!("{} ({})", release.pocket.suite, release.url),
                        index: format!("{component}/binary-{arch}/Packages"),
                        component: component.clone(),
                        offered: format!(
                            "its Release lists indexes for {} (its `Components` field says {})",
                            list(&offered),
                            list(&release.release.components)
                        ),
                    });
                }
                let index = client.fetch_index(release, component, arch).map_err(Error::archive(arch))?;
                events(&Event::Index {
                    suite: &release.pocket.suite,
                    component,
                    architecture: arch,
                    packages: index.packages.len(),
                });
                indexes.push(index);
            }
        }
        let mut options = ResolveOptions::new(arch);
        options.follow_dependencies = d.follow_dependencies;
        options.exclude.extend(d.exclude.iter().cloned());
        let requests: Vec<&str> = d.packages.iter().map(String::as_str).collect();
        let resolution = pare_deb::resolve(&indexes, &requests, &options).map_err(Error::archive(arch))?;
        events(&Event::Resolved { architecture: arch, packages: resolution.packages.len() });
        let mut packages: Vec<LockedPackage> = resolution
            .packages
            .iter()
            .map(|p| {
                let (required_by, relation) = match &p.reason {
                    Reason::Requested => (None, None),
                    Reason::Dependency { parent, relation } => (Some(parent.clone()), Some(relation.clone())),
                };
                LockedPackage {
                    name: p.record.package.clone(),
                    version: p.record.version.to_string(),
                    architecture: p.record.architecture.clone(),
                    source: p.record.source.clone(),
                    source_version: p.record.source_version.to_string(),
                    pocket: p.pocket.suite.clone(),
                    filename: p.record.filename.clone(),
                    url: p.deb_request().url,
                    sha256: p.record.sha256.to_hex(),
                    size: p.record.size,
                    required_by,
                    relation,
                }
            })
            .collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        architectures.push(LockedArchitecture { name: arch.clone(), package: packages });
    }
    Ok(Lock {
        version: LOCK_VERSION,
        definition: d.lock_checksum(),
        suite: d.suite.clone(),
        base: d.base_ref().map(|b| b.digest.to_string()),
        release: releases,
        architecture: architectures,
    })
}
