//! The vulnerability database as the monitor sees it (the same file `pare scan` reads, reopened when
//! `pare db update` replaces it), and the scan of one stored inventory through `pare_vuln::scan`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pare_vuln::memo::Memo;
use pare_vuln::report::ScanOptions;
use pare_vuln::{Advisory, Cvss, Database, Ecosystem, Lookup, Subject};

use crate::error::{Error, Result};
use crate::store::NewFinding;

/// Lookups held in memory before they reach the database: a rescan asks for the same packages for
/// every image (one connection behind a lock, a JSON parse per row), so each is asked once per
/// database file. Entries are kept up to a cap; past it, lookups go to the database.
pub struct CachedDb {
    /// Always `Some` but while it is dropped (see `Drop`).
    db: Option<Database>,
    info: pare_vuln::DbInfo,
    advisories: Memo<PackageKey, Arc<Vec<Advisory>>>,
    cvss: Memo<String, Arc<Vec<Cvss>>>,
    /// Each package version is matched once per database: a fleet shares most of them.
    matches: pare_vuln::matcher::MatchCache,
}

/// An ecosystem and a package name.
type PackageKey = (&'static str, String);

/// Packages (CVSS ids, package versions) kept per database.
const CACHE_ENTRIES: usize = 200_000;

impl CachedDb {
    pub fn new(db: Database) -> CachedDb {
        let info = db.info().clone();
        CachedDb {
            db: Some(db),
            info,
            advisories: Memo::new("packages' advisories", CACHE_ENTRIES),
            cvss: Memo::new("CVSS ids", CACHE_ENTRIES),
            matches: pare_vuln::matcher::MatchCache::new("package versions' matches", CACHE_ENTRIES),
        }
    }

    fn db(&self) -> pare_vuln::Result<&Database> {
        self.db.as_ref().ok_or_else(|| pare_vuln::Error::Database {
            path: PathBuf::new(),
            message: "the database was closed".into(),
        })
    }

    /// What the database holds (its SHA-256, when it was built).
    pub fn info(&self) -> &pare_vuln::DbInfo {
        &self.info
    }
}

/// `pare_vuln::Database` owns a tokio runtime, which panics when it is dropped on a runtime's thread:
/// the last holder of a replaced database is often an async task, so the database is dropped on a
/// thread of its own (or leaked, should no thread start).
impl Drop for CachedDb {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        if tokio::runtime::Handle::try_current().is_err() {
            return drop(db);
        }
        let slot = Arc::new(Mutex::new(Some(db)));
        let moved = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("drop-vuln-db".into())
            .spawn(move || drop(moved.lock().ok().and_then(|mut s| s.take())));
        if spawned.is_err()
            && let Some(db) = slot.lock().ok().and_then(|mut s| s.take())
        {
            std::mem::forget(db);
        }
    }
}

impl Lookup for CachedDb {
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> pare_vuln::Result<Arc<Vec<Advisory>>> {
        let key = (ecosystem.as_str(), package.to_string());
        if let Some(hit) = self.advisories.get(&key) {
            return Ok(hit);
        }
        let found = self.db()?.advisories(ecosystem, package)?;
        self.advisories.insert(key, Arc::clone(&found));
        Ok(found)
    }

    fn cvss(&self, id: &str) -> pare_vuln::Result<Vec<Cvss>> {
        if let Some(hit) = self.cvss.get(id) {
            return Ok(hit.as_ref().clone());
        }
        let found = self.db()?.cvss(id)?;
        self.cvss.insert(id.to_string(), Arc::new(found.clone()));
        Ok(found)
    }

    fn match_cache(&self) -> Option<&pare_vuln::matcher::MatchCache> {
        Some(&self.matches)
    }
}

/// What identifies one state of the database file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    ino: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            ino: std::os::unix::fs::MetadataExt::ino(&meta),
        })
    }
}

/// The vulnerability database file, watched: [`VulnDb::refresh`] reopens it when its size, mtime or
/// inode changed (`pare db update` renames a new file into place) and keeps the open one otherwise,
/// also when the new file cannot be opened (an update in progress, a damaged copy).
pub struct VulnDb {
    path: PathBuf,
    stamp: Option<Stamp>,
    current: Option<Arc<CachedDb>>,
}

impl VulnDb {
    /// Watches `path`; nothing is opened until [`VulnDb::refresh`].
    pub fn new(path: PathBuf) -> VulnDb {
        VulnDb { path, stamp: None, current: None }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database in use, if one was opened.
    pub fn current(&self) -> Option<Arc<CachedDb>> {
        self.current.clone()
    }

    /// Opens the file again when it changed. Blocking (hashes the file when it is new): call it off the
    /// async threads. Returns an error only when the file changed and cannot be opened; the database
    /// in use stays.
    pub fn refresh(&mut self) -> Result<bool> {
        let stamp = Stamp::of(&self.path);
        if stamp.is_none() || stamp == self.stamp {
            return Ok(false);
        }
        let db = Database::open(&self.path)?;
        // The stamp is taken before opening: a file replaced while it was opened is seen next time.
        self.stamp = stamp;
        let changed =
            self.current.as_ref().map(|c| c.info().file_sha256.clone()) != Some(db.info().file_sha256.clone());
        if changed {
            self.current = Some(Arc::new(CachedDb::new(db)));
        }
        Ok(changed)
    }
}

/// Scans a stored inventory (pare's JSON) with `db`, applying the VEX statements of its product:
/// the product's name is the scanned subject's name, so a statement naming the product applies to
/// every digest of it.
pub fn scan_inventory(
    db: &dyn Lookup,
    digest: &str,
    product: &str,
    inventory: &str,
    vex: &[pare_vuln::vex::Statement],
) -> Result<Vec<NewFinding>> {
    let mut inventory = crate::store::parse_inventory(digest, inventory)?;
    inventory.subject.name = product.to_string();
    inventory.subject.digest = Some(digest.to_string());
    let options = ScanOptions { vex: vex.to_vec(), ..ScanOptions::default() };
    let report = pare_vuln::scan(Subject::Inventory(Box::new(inventory)), db, &options)?;
    // The inventory was checked at upload (`check_storable`); the database's ids and versions could
    // still hold a NUL, which the store cannot keep: it is replaced, and said.
    let kept = |s: &str| {
        if s.contains('\0') {
            tracing::warn!("{digest}: {s:?} from the vulnerability database holds a NUL character: stored as U+FFFD");
            s.replace('\0', "\u{FFFD}")
        } else {
            s.to_string()
        }
    };
    Ok(report
        .findings
        .iter()
        .map(|f| NewFinding {
            advisory: kept(&f.id),
            package: f.package.name.clone(),
            version: f.package.version.clone(),
            severity: f.severity.as_str().to_string(),
            fixed_version: kept(f.fixed_versions.first().map_or("", String::as_str)),
            suppressed: f.suppressed(),
            vex_status: kept(f.vex.as_ref().map_or("", |v| v.status.as_str())),
        })
        .collect())
}

/// Reads a VEX document (OpenVEX or CycloneDX VEX) into statements.
pub fn read_vex(bytes: &[u8], location: &str) -> Result<Vec<pare_vuln::vex::Statement>> {
    pare_vuln::vex::read(bytes, location)
        .map(|d| d.statements)
        .map_err(|e| Error::BadUpload { message: format!("{e}") })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The last holder of a replaced database is often an async task: dropping it there must not
    /// panic (`pare_vuln::Database` owns a runtime).
    #[test]
    fn a_database_dropped_in_an_async_task_does_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vuln.db");
        let list = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged/DSA-list");
        pare_vuln::db::update(&path, &[pare_vuln::SourceSpec::local(&list)], &mut |_| {}).unwrap();
        let db = Arc::new(CachedDb::new(Database::open(&path).unwrap()));
        assert!(!db.advisories(Ecosystem::Debian, "openssl").unwrap().is_empty());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
        runtime.block_on(async move { tokio::spawn(async move { drop(db) }).await.unwrap() });
    }
}
