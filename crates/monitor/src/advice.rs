//! Rebuild advice: which stored Debian images the archive has newer packages for (from which pocket,
//! fixing which vulnerabilities), and whether their base image's tag moved.
//!
//! One check reads each Debian release's pockets once ([`pare_vuln::outdated::ArchiveIndex::read`],
//! for the architectures and packages of all its images) and compares every current image with it
//! ([`pare_vuln::outdated::compare`], as `pare outdated` does); bases are resolved once per name with
//! the policy check `base-staleness`'s [`pare_policy::resolve_base`]. A failure is recorded on the
//! image (`error`), the last advice stays.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use pare_vuln::outdated::{ArchiveIndex, OutdatedReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::store::parse_inventory;
use crate::worker::Worker;

/// Images read from the store at a time.
const PAGE: i64 = 256;

/// Where the archive and the bases are read, and how often.
#[derive(Clone, Debug)]
pub struct AdviceOptions {
    /// The release and `-updates` pockets' mirror (default: deb.debian.org/debian).
    pub mirror: Option<String>,
    /// The `-security` pocket's mirror (default: deb.debian.org/debian-security).
    pub security_mirror: Option<String>,
    /// Signs the mirrors' Releases; the error (Debian's keyring is not installed) is recorded on every
    /// Debian image at each check, so that it is seen without stopping the server.
    pub keyring: std::result::Result<pare_deb::Keyring, String>,
    /// Components compared (default `main`).
    pub components: Vec<String>,
    /// Time between checks.
    pub every: Duration,
    /// How bases are opened (the registry client).
    pub registry: pare_oci::OpenOptions,
}

/// Where an image comes from, as its upload said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// pare built it (its history's last step is `created_by: pare`).
    pub pare_built: bool,
    /// `org.opencontainers.image.base.name` / `.digest`.
    pub base_name: Option<String>,
    pub base_digest: Option<String>,
}

/// An image to check.
#[derive(Clone, Debug)]
pub struct Subject {
    pub digest: String,
    pub inventory: String,
    pub origin: Origin,
}

/// A pocket read: its suite, the verified Release's URL and its `Date`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArchivePocket {
    pub suite: String,
    pub url: String,
    pub date: String,
}

/// A vulnerability a rebuild fixes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FixedCve {
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: String,
}

/// A package the archive has a newer version of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdvisedUpdate {
    pub package: String,
    pub architecture: String,
    pub installed: String,
    pub available: String,
    /// The suite the newest version is in (`bookworm-security`).
    pub pocket: String,
    pub security: bool,
    /// Vulnerabilities the update fixes, most severe first.
    pub fixes: Vec<FixedCve>,
}

/// What a successful comparison found.
#[derive(Clone, Debug)]
pub struct Checked {
    pub release: String,
    pub pockets: Vec<ArchivePocket>,
    pub rebuild_advised: bool,
    pub updates: Vec<AdvisedUpdate>,
}

impl Checked {
    fn from_report(report: &OutdatedReport) -> Checked {
        Checked {
            release: report.release.clone(),
            pockets: report
                .pockets
                .iter()
                .map(|p| ArchivePocket { suite: p.suite.clone(), url: p.url.clone(), date: p.date.clone() })
                .collect(),
            rebuild_advised: report.rebuild_advised(),
            updates: report
                .updates
                .iter()
                .map(|u| AdvisedUpdate {
                    package: u.package.clone(),
                    architecture: u.architecture.clone(),
                    installed: u.installed.clone(),
                    available: u.available.clone(),
                    pocket: u.pocket.clone(),
                    security: u.security,
                    fixes: u
                        .fixes
                        .iter()
                        .map(|f| FixedCve {
                            id: f.id.clone(),
                            aliases: f.aliases.clone(),
                            severity: f.severity.to_string(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The rebuild advice of one image.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Advice {
    pub digest: String,
    /// The upload said pare built it. Other Debian images are compared too; their advice is to
    /// upgrade the base (or rebuild the way they were built).
    pub pare_built: bool,
    /// What to do, in a sentence ('' when nothing).
    pub action: String,
    /// The last successful comparison with the archive, Unix seconds (absent: none yet).
    pub checked_at: Option<i64>,
    /// The Debian release compared with.
    pub release: Option<String>,
    /// The pockets read then, with their Release dates.
    pub pockets: Vec<ArchivePocket>,
    /// A security update is available (from a `-security` pocket, or fixing a known vulnerability).
    pub rebuild_advised: bool,
    pub updates: Vec<AdvisedUpdate>,
    /// The vulnerabilities a rebuild fixes (distinct ids).
    pub fixes: Vec<String>,
    /// Why the last check failed (the advice above is from the last one that succeeded).
    pub error: Option<String>,
    pub error_at: Option<i64>,
    pub base_name: Option<String>,
    pub base_digest: Option<String>,
    /// The digest the base's tag points at now, when it moved from `base_digest`.
    pub newer_base_digest: Option<String>,
    pub base_checked_at: Option<i64>,
    /// Why the base could not be resolved last time.
    pub base_error: Option<String>,
}

impl Advice {
    /// Fills in what is derived: the fixed ids and the action.
    pub(crate) fn new(mut advice: Advice) -> Advice {
        let mut fixes: Vec<String> = Vec::new();
        for f in advice.updates.iter().flat_map(|u| &u.fixes) {
            if !fixes.contains(&f.id) {
                fixes.push(f.id.clone());
            }
        }
        advice.fixes = fixes;
        let mut action = Vec::new();
        if advice.rebuild_advised {
            action.push(if advice.pare_built {
                "rebuild: re-lock (`pare update DEFINITION`) and `pare build`".to_string()
            } else {
                "not built by pare: upgrade its base image or rebuild it with the updates".to_string()
            });
        }
        if let (Some(name), Some(newer)) = (&advice.base_name, &advice.newer_base_digest) {
            action.push(format!("rebuild on {name}@{newer}"));
        }
        advice.action = action.join("; ");
        advice
    }
}

/// An image with a rebuild advised or a newer base, in the list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Advised {
    pub digest: String,
    pub repository: String,
    pub tag: String,
    pub environment: String,
    pub team: String,
    /// Days since the image was made (its SBOM's creation time), else since registration.
    pub age_days: i64,
    pub pare_built: bool,
    pub rebuild_advised: bool,
    /// Packages with a newer version.
    pub packages: usize,
    /// Vulnerabilities a rebuild fixes.
    pub fixes: Vec<String>,
    pub base_name: Option<String>,
    pub newer_base_digest: Option<String>,
    pub action: String,
    pub checked_at: Option<i64>,
    /// The last check's failure, if it failed.
    pub error: Option<String>,
}

impl Advised {
    pub(crate) fn new(
        repository: String,
        tag: String,
        environment: String,
        team: String,
        age_days: i64,
        a: Advice,
    ) -> Advised {
        Advised {
            digest: a.digest,
            repository,
            tag,
            environment,
            team,
            age_days,
            pare_built: a.pare_built,
            rebuild_advised: a.rebuild_advised,
            packages: a.updates.len(),
            fixes: a.fixes,
            base_name: a.base_name,
            newer_base_digest: a.newer_base_digest,
            action: a.action,
            checked_at: a.checked_at,
            error: a.error,
        }
    }
}

/// What one check did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub checked: usize,
    pub advised: usize,
    pub failed: usize,
    pub releases: usize,
}

/// The release and architectures/packages an image needs read, or why it is not compared.
enum Need {
    /// Not a Debian image: no advice.
    Skip,
    Debian {
        release: String,
        architectures: BTreeSet<String>,
        names: BTreeSet<String>,
    },
    Failed(String),
}

fn need(subject: &Subject) -> Need {
    let inventory = match parse_inventory(&subject.digest, &subject.inventory) {
        Ok(i) => i,
        Err(e) => return Need::Failed(e.to_string()),
    };
    let debs: BTreeSet<String> =
        inventory.packages.iter().filter(|p| p.ecosystem == "deb").map(|p| p.name.clone()).collect();
    let other_os = inventory.os.as_ref().and_then(|os| os.id.as_deref()).is_some_and(|id| id != "debian");
    if debs.is_empty() || other_os {
        return Need::Skip;
    }
    match pare_vuln::outdated::debian_release(&inventory, None) {
        Ok(release) => Need::Debian {
            release,
            architectures: pare_vuln::outdated::architectures(&inventory, &mut Vec::new()),
            names: debs,
        },
        Err(e) => Need::Failed(pare_oci::error_chain(&e)),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Task { message: e.to_string() })
}

/// Reads every release's pockets once.
fn read_archives(
    options: &AdviceOptions,
    wanted: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
) -> BTreeMap<String, std::result::Result<Arc<ArchiveIndex>, String>> {
    let client = options.keyring.clone().and_then(|keyring| {
        pare_deb::ArchiveClient::new(keyring, pare_deb::Cache::new(pare_deb::Cache::default_root()))
            .map(|c| c.with_retries(1))
            .map_err(|e| pare_oci::error_chain(&e))
    });
    let components = if options.components.is_empty() { vec!["main".to_string()] } else { options.components.clone() };
    wanted
        .into_iter()
        .map(|(release, (architectures, names))| {
            let read = match &client {
                Ok(client) => {
                    let archive = pare_vuln::outdated::Archive {
                        client,
                        pockets: pare_vuln::outdated::standard_pockets(
                            &release,
                            options.mirror.as_deref(),
                            options.security_mirror.as_deref(),
                        ),
                        components: components.clone(),
                    };
                    ArchiveIndex::read(&archive, &architectures, &|n| names.contains(n))
                        .map(Arc::new)
                        .map_err(|e| format!("reading Debian's archive for {release}: {}", pare_oci::error_chain(&e)))
                }
                Err(e) => Err(format!("reading Debian's archive: {e}")),
            };
            if let Err(e) = &read {
                tracing::warn!("rebuild advice: {e}");
            }
            (release, read)
        })
        .collect()
}

/// Checks every current image once: the archive per release, the bases per name.
pub async fn check(worker: &Arc<Worker>, options: &Arc<AdviceOptions>) -> Result<CheckSummary> {
    // What to read: each release's architectures and packages, each base name.
    let mut wanted: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut bases: BTreeSet<String> = BTreeSet::new();
    let mut after = String::new();
    loop {
        let page = worker.store.advice_subjects(&after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.digest.clone();
        bases.extend(page.iter().filter(|s| s.origin.base_digest.is_some()).filter_map(|s| s.origin.base_name.clone()));
        let needs = blocking(move || page.iter().map(need).collect::<Vec<_>>()).await?;
        for n in needs {
            if let Need::Debian { release, architectures, names } = n {
                let entry = wanted.entry(release).or_default();
                entry.0.extend(architectures);
                entry.1.extend(names);
            }
        }
    }
    let mut summary = CheckSummary { releases: wanted.len(), ..CheckSummary::default() };
    let o = Arc::clone(options);
    let indexes = blocking(move || read_archives(&o, wanted)).await?;
    let o = Arc::clone(options);
    let resolved: BTreeMap<String, std::result::Result<String, String>> = blocking(move || {
        bases
            .into_iter()
            .map(|name| {
                let now = pare_policy::resolve_base(&o.registry, &name).map(|b| b.digest);
                (name, now)
            })
            .collect()
    })
    .await?;
    let indexes = Arc::new(indexes);
    let lookup = worker.database().map(|(db, _, _)| db);

    let mut after = String::new();
    loop {
        let page = worker.store.advice_subjects(&after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.digest.clone();
        let (idx, db) = (Arc::clone(&indexes), lookup.clone());
        let outcomes = blocking(move || {
            page.into_iter()
                .map(|subject| {
                    let outcome = match need(&subject) {
                        Need::Skip => None,
                        Need::Failed(e) => Some(Err(e)),
                        Need::Debian { release, .. } => Some(compare(&subject, &release, &idx, db.as_deref())),
                    };
                    (subject, outcome)
                })
                .collect::<Vec<_>>()
        })
        .await?;
        for (subject, outcome) in outcomes {
            match outcome {
                None => {}
                Some(Ok(checked)) => {
                    summary.checked += 1;
                    summary.advised += usize::from(checked.rebuild_advised);
                    let _change = worker.change();
                    worker.store.record_advice(&subject.digest, &checked).await?;
                }
                Some(Err(e)) => {
                    summary.failed += 1;
                    let _change = worker.change();
                    worker.store.advice_failed(&subject.digest, &e).await?;
                }
            }
            if let (Some(name), Some(_)) = (&subject.origin.base_name, &subject.origin.base_digest)
                && let Some(now) = resolved.get(name)
            {
                let _change = worker.change();
                worker.store.record_base(&subject.digest, now).await?;
            }
        }
    }
    Ok(summary)
}

fn compare(
    subject: &Subject,
    release: &str,
    indexes: &BTreeMap<String, std::result::Result<Arc<ArchiveIndex>, String>>,
    lookup: Option<&crate::scan::CachedDb>,
) -> std::result::Result<Checked, String> {
    let index = match indexes.get(release) {
        Some(Ok(index)) => index,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err(format!("Debian's archive for {release} was not read")),
    };
    let inventory = parse_inventory(&subject.digest, &subject.inventory).map_err(|e| e.to_string())?;
    let lookup = lookup.map(|db| db as &dyn pare_vuln::Lookup);
    let report = pare_vuln::outdated::compare(&inventory, release, index, lookup)
        .map_err(|e| format!("comparing with Debian's archive: {}", pare_oci::error_chain(&e)))?;
    Ok(Checked::from_report(&report))
}

/// The advice loop: a check now and every `options.every`; forever.
pub async fn run(worker: Arc<Worker>, options: Arc<AdviceOptions>) {
    loop {
        let start = std::time::Instant::now();
        match check(&worker, &options).await {
            Ok(s) => tracing::info!(
                "rebuild advice: {} images compared with {} Debian releases in {} ms, {} advised, {} failed",
                s.checked,
                s.releases,
                start.elapsed().as_millis(),
                s.advised,
                s.failed
            ),
            Err(e) => tracing::warn!("rebuild advice: {e}"),
        }
        tokio::time::sleep(options.every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(package: &str, ids: &[&str]) -> AdvisedUpdate {
        AdvisedUpdate {
            package: package.into(),
            architecture: "amd64".into(),
            installed: "1".into(),
            available: "2".into(),
            pocket: "bookworm-security".into(),
            security: true,
            fixes: ids
                .iter()
                .map(|id| FixedCve { id: (*id).into(), aliases: Vec::new(), severity: "high".into() })
                .collect(),
        }
    }

    fn advice(pare_built: bool, newer: Option<&str>) -> Advice {
        Advice::new(Advice {
            digest: "sha256:1".into(),
            pare_built,
            action: String::new(),
            checked_at: Some(1),
            release: Some("bookworm".into()),
            pockets: Vec::new(),
            rebuild_advised: true,
            updates: vec![update("a", &["CVE-1", "CVE-2"]), update("b", &["CVE-2"])],
            fixes: Vec::new(),
            error: None,
            error_at: None,
            base_name: Some("debian:12".into()),
            base_digest: Some("sha256:0".into()),
            newer_base_digest: newer.map(str::to_string),
            base_checked_at: None,
            base_error: None,
        })
    }

    #[test]
    fn fixes_are_distinct_and_the_action_says_how_to_rebuild() {
        let a = advice(true, Some("sha256:9"));
        assert_eq!(a.fixes, ["CVE-1", "CVE-2"]);
        assert_eq!(
            a.action,
            "rebuild: re-lock (`pare update DEFINITION`) and `pare build`; rebuild on debian:12@sha256:9"
        );
        let other = advice(false, None);
        assert_eq!(other.action, "not built by pare: upgrade its base image or rebuild it with the updates");
    }
}
