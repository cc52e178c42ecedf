//! The vulnerability database as the monitor sees it (the same file `pare scan` reads, reopened when
//! `pare db update` replaces it), and the scan of one stored inventory through `pare_vuln::scan`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pare_vuln::report::ScanOptions;
use pare_vuln::{Advisory, Cvss, Database, Ecosystem, Lookup, Subject};

use crate::error::{Error, Result};
use crate::store::NewFinding;

/// Lookups held in memory before they reach the database: a rescan asks for the same packages for
/// every image (one connection behind a lock, a JSON parse per row), so each is asked once per
/// database file. Entries are kept up to a cap; past it, lookups go to the database.
pub struct CachedDb {
    db: Database,
    advisories: Mutex<HashMap<PackageKey, Arc<Vec<Advisory>>>>,
    cvss: Mutex<HashMap<String, Arc<Vec<Cvss>>>>,
}

/// An ecosystem and a package name.
type PackageKey = (&'static str, String);

/// Packages (and CVSS ids) kept per database.
const CACHE_ENTRIES: usize = 200_000;

impl CachedDb {
    pub fn new(db: Database) -> CachedDb {
        CachedDb { db, advisories: Mutex::new(HashMap::new()), cvss: Mutex::new(HashMap::new()) }
    }

    pub fn info(&self) -> &pare_vuln::DbInfo {
        self.db.info()
    }
}

impl Lookup for CachedDb {
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> pare_vuln::Result<Vec<Advisory>> {
        let key = (ecosystem.as_str(), package.to_string());
        if let Some(hit) = self.advisories.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(hit.as_ref().clone());
        }
        let found = self.db.advisories(ecosystem, package)?;
        if let Ok(mut cache) = self.advisories.lock()
            && cache.len() < CACHE_ENTRIES
        {
            cache.insert(key, Arc::new(found.clone()));
        }
        Ok(found)
    }

    fn cvss(&self, id: &str) -> pare_vuln::Result<Vec<Cvss>> {
        if let Some(hit) = self.cvss.lock().ok().and_then(|c| c.get(id).cloned()) {
            return Ok(hit.as_ref().clone());
        }
        let found = self.db.cvss(id)?;
        if let Ok(mut cache) = self.cvss.lock()
            && cache.len() < CACHE_ENTRIES
        {
            cache.insert(id.to_string(), Arc::new(found.clone()));
        }
        Ok(found)
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
    Ok(report
        .findings
        .iter()
        .map(|f| NewFinding {
            advisory: f.id.clone(),
            package: f.package.name.clone(),
            version: f.package.version.clone(),
            severity: f.severity.as_str().to_string(),
            fixed_version: f.fixed_versions.first().cloned().unwrap_or_default(),
            suppressed: f.suppressed(),
            vex_status: f.vex.as_ref().map(|v| v.status.clone()).unwrap_or_default(),
        })
        .collect())
}

/// Reads a VEX document (OpenVEX or CycloneDX VEX) into statements.
pub fn read_vex(bytes: &[u8], location: &str) -> Result<Vec<pare_vuln::vex::Statement>> {
    pare_vuln::vex::read(bytes, location)
        .map(|d| d.statements)
        .map_err(|e| Error::BadUpload { message: format!("{e}") })
}
