//! The local vulnerability database: one SQLite file, built from the sources into a temporary file
//! beside it, marked complete, then renamed over the old one. Readers refuse anything else.
//!
//! Beside it, `NAME.sha256` holds the SHA-256 of the file (`sha256sum`'s format), written by `update`
//! and checked by `open`: SQLite does not notice changed bytes inside its pages. The check hashes the
//! file only when it changed since the last check, which `NAME.verified` records (size, times, inode).
//!
//! Tables: `meta` (schema, complete, built_at), `sources`, `counts`, `advisories` (full JSON),
//! `affected` (one row per advisory and (ecosystem, package), holding the advisory narrowed to that
//! package, indexed, so a lookup is one indexed read), `cvss` (by vulnerability id).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row};

use crate::Lookup;
use crate::error::{Error, Result};
use crate::model::{Advisory, Cvss, Ecosystem, Origin};
use crate::source::{self, Parsed, SourceKind, SourceSpec};

/// Bumped whenever the tables change; older files are refused (run `pare db update`).
pub const SCHEMA: u32 = 1;

const HINT: &str = "run `pare db update` to build it again";

/// What a database holds and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct DbInfo {
    pub path: PathBuf,
    #[serde(serialize_with = "display")]
    pub built_at: jiff::Timestamp,
    pub schema: u32,
    pub sources: Vec<SourceInfo>,
    pub counts: Vec<Count>,
    /// Rows of the CVSS table (scores by vulnerability id).
    pub cvss_scores: u64,
    /// SHA-256 of the database file, checked against its `.sha256` file.
    pub file_sha256: String,
}

fn display<S: serde::Serializer>(t: &jiff::Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// One source read by the update.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SourceInfo {
    /// The kinds found, comma-separated (`osv`, `osv,cve`).
    pub kind: String,
    /// The URL or path.
    pub location: String,
    /// Advisories plus CVE records read.
    pub records: u64,
    /// SHA-256 of the bytes read (for a directory: of its sorted `path\0sha256\n` lines).
    pub sha256: String,
    pub bytes: u64,
    /// Records or lines skipped with a warning.
    pub warnings: u64,
}

/// Advisories per origin and ecosystem (an advisory counts once per ecosystem it names).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub origin: Origin,
    /// `None`: advisories with no affected package (e.g. an end-of-life notice).
    pub ecosystem: Option<Ecosystem>,
    pub advisories: u64,
}

/// What `update` reports while it works.
#[derive(Debug)]
pub enum Progress<'a> {
    /// Bytes of a download so far (`total` from Content-Length).
    Download { url: &'a str, done: u64, total: Option<u64> },
    /// A source was read: what it was detected as, and what was skipped.
    Read { location: &'a str, kinds: &'a [SourceKind], records: usize, warnings: &'a [String] },
    /// Writing the database file.
    Writing { advisories: usize },
}

/// A read-only handle on a complete database.
pub struct Database {
    info: DbInfo,
    runtime: tokio::runtime::Runtime,
    conn: Mutex<SqliteConnection>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("info", &self.info).finish_non_exhaustive()
    }
}

/// `$PARE_VULN_DB`, else `vuln.db` in the pare cache directory (`$PARE_CACHE_DIR`, …).
pub fn default_path() -> PathBuf {
    match std::env::var_os("PARE_VULN_DB").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => pare_deb::cache::Cache::default_root().join("vuln.db"),
    }
}

fn db_err(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Database { path: path.to_path_buf(), message: message.to_string() }.with_hint(HINT)
}

fn runtime(path: &Path) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::Database { path: path.to_path_buf(), message: format!("starting the runtime: {e}") })
}

/// The SQLite header says how many pages the file has; a file of another length was cut short or grew
/// garbage (checked without SQLite, which would only notice when it reads the missing pages).
fn check_file(path: &Path) -> Result<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(db_err(path, "does not exist"));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; 100];
    if len < 100 || file.read_exact(&mut head).is_err() || !head.starts_with(b"SQLite format 3\0") {
        return Err(db_err(path, "is not a SQLite database (no SQLite header)"));
    }
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    let valid_for = u32::from_be_bytes([head[92], head[93], head[94], head[95]]);
    let change = u32::from_be_bytes([head[24], head[25], head[26], head[27]]);
    if valid_for == change && pages * page_size != len {
        return Err(db_err(
            path,
            format!("is {len} bytes but its header says {pages} pages of {page_size} bytes: truncated or damaged"),
        ));
    }
    Ok(())
}

/// `PATH` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "vuln.db".into());
    name.push(suffix);
    path.with_file_name(name)
}

/// The checksum file of a database: `HEX  NAME` lines, the hashes the database file may have.
pub fn checksum_path(path: &Path) -> PathBuf {
    beside(path, ".sha256")
}

/// Where `open` records the file it last hashed, so that an unchanged file is not hashed again.
pub fn verified_path(path: &Path) -> PathBuf {
    beside(path, ".verified")
}

/// What identifies one state of a file without reading it: a write changes the ctime, which no user
/// can set back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Stamp {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    #[cfg(not(unix))]
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Stamp { len: meta.len(), mtime_ns, ctime_ns: 0, ino: 0, dev: 0 }
    }

    fn line(&self, sha256: &str) -> String {
        format!("v1 {} {} {} {} {} {sha256}\n", self.len, self.mtime_ns, self.ctime_ns, self.ino, self.dev)
    }

    /// The stamp and hash of a `.verified` file.
    fn parse(text: &str) -> Option<(Stamp, String)> {
        let mut f = text.split_ascii_whitespace();
        if f.next()? != "v1" {
            return None;
        }
        let stamp = Stamp {
            len: f.next()?.parse().ok()?,
            mtime_ns: f.next()?.parse().ok()?,
            ctime_ns: f.next()?.parse().ok()?,
            ino: f.next()?.parse().ok()?,
            dev: f.next()?.parse().ok()?,
        };
        Some((stamp, f.next()?.to_string()))
    }
}

/// The hashes a checksum file accepts (more than one only while an update renames the new file in).
fn accepted_hashes(path: &Path) -> Result<Vec<String>> {
    let sums = checksum_path(path);
    let text = match std::fs::read_to_string(&sums) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(db_err(
                path,
                format!(
                    "has no checksum file {} (written by `pare db update` beside the database; copy both), so its \
                     content cannot be checked",
                    sums.display()
                ),
            ));
        }
        Err(e) => return Err(Error::io(&sums, e)),
    };
    let hashes: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_ascii_whitespace().next())
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .collect();
    if hashes.is_empty() {
        return Err(db_err(path, format!("its checksum file {} holds no SHA-256", sums.display())));
    }
    Ok(hashes)
}

/// SHA-256 of an open file, and the stamp of what was hashed.
fn hash_file(path: &Path) -> Result<(String, Stamp)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let before = Stamp::of(&file.metadata().map_err(|e| Error::io(path, e))?);
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    let after = Stamp::of(&file.metadata().map_err(|e| Error::io(path, e))?);
    if before != after {
        return Err(db_err(path, "changed while it was being checked"));
    }
    Ok((hex(&hasher.finalize()), before))
}

/// Checks the file against its checksum file; returns its SHA-256. The file is hashed only when its
/// stamp differs from the one recorded by the last check (recording is best effort: a read-only
/// directory means hashing every time).
fn verify_checksum(path: &Path) -> Result<String> {
    let accepted = accepted_hashes(path)?;
    let stamp = Stamp::of(&std::fs::metadata(path).map_err(|e| Error::io(path, e))?);
    if let Some((seen, sha256)) = std::fs::read_to_string(verified_path(path)).ok().and_then(|t| Stamp::parse(&t))
        && seen == stamp
        && accepted.contains(&sha256)
    {
        return Ok(sha256);
    }
    let (sha256, stamp) = hash_file(path)?;
    if !accepted.contains(&sha256) {
        return Err(db_err(
            path,
            format!(
                "is damaged: its SHA-256 is {sha256}, but {} says {} (bytes changed on disk, or an unfinished copy)",
                checksum_path(path).display(),
                accepted.join(" or ")
            ),
        ));
    }
    if let Err(e) = write_beside(&verified_path(path), stamp.line(&sha256).as_bytes()) {
        tracing::debug!("not recording the check of {}: {e}", path.display());
    }
    Ok(sha256)
}

/// Writes a small file beside the database atomically (pare-oci's writer: temporary file, fsync, rename).
fn write_beside(target: &Path, bytes: &[u8]) -> Result<()> {
    pare_oci::write_atomic(target, bytes).map_err(|e| db_err(target, e.to_string()))
}

/// A temporary file `.NAME.XXXXXX.tmp` beside the database, which `open` never reads.
fn temp_in(db: &Path, dir: &Path) -> Result<tempfile::NamedTempFile> {
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "vuln.db".into());
    tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(dir).map_err(|e| Error::io(dir, e))
}

impl Database {
    /// Opens a database `update` completed; refuses a missing, truncated, half-written, foreign or
    /// older-schema file with an error that says to run `pare db update`.
    pub fn open(path: &Path) -> Result<Database> {
        check_file(path)?;
        let runtime = runtime(path)?;
        let options =
            SqliteConnectOptions::new().filename(path).read_only(true).immutable(true).disable_statement_logging();
        let mut conn = runtime.block_on(options.connect()).map_err(|e| db_err(path, format!("cannot open: {e}")))?;
        let mut info = runtime.block_on(read_info(&mut conn, path))?;
        info.file_sha256 = verify_checksum(path)?;
        Ok(Database { info, runtime, conn: Mutex::new(conn) })
    }

    pub fn info(&self) -> &DbInfo {
        &self.info
    }

    fn with_conn<T>(
        &self,
        f: impl AsyncFnOnce(&mut SqliteConnection) -> std::result::Result<T, sqlx::Error>,
    ) -> Result<T> {
        let path = &self.info.path;
        let mut conn = self.conn.lock().map_err(|_| db_err(path, "a reader panicked while holding the connection"))?;
        self.runtime.block_on(f(&mut conn)).map_err(|e| db_err(path, format!("read failed: {e}")))
    }
}

async fn read_info(conn: &mut SqliteConnection, path: &Path) -> Result<DbInfo> {
    let meta: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM meta")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_err(path, format!("is not a pare vulnerability database ({e})")))?;
    let meta: HashMap<String, String> = meta.into_iter().collect();
    let schema: u32 = meta.get("schema").and_then(|s| s.parse().ok()).unwrap_or(0);
    if schema != SCHEMA {
        return Err(db_err(path, format!("has schema {schema}; this pare reads schema {SCHEMA}")));
    }
    if meta.get("complete").map(String::as_str) != Some("1") {
        return Err(db_err(path, "was not completely written (an interrupted update)"));
    }
    let built_at = meta
        .get("built_at")
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .ok_or_else(|| db_err(path, "meta.built_at is missing or not a timestamp"))?;
    let bad = |e: sqlx::Error| db_err(path, format!("damaged: {e}"));
    let sources = sqlx::query("SELECT kind, location, records, sha256, bytes, warnings FROM sources ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .map_err(bad)?
        .iter()
        .map(|r| {
            Ok(SourceInfo {
                kind: r.try_get(0)?,
                location: r.try_get(1)?,
                records: r.try_get::<i64, _>(2)? as u64,
                sha256: r.try_get(3)?,
                bytes: r.try_get::<i64, _>(4)? as u64,
                warnings: r.try_get::<i64, _>(5)? as u64,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        .map_err(bad)?;
    let mut counts = Vec::new();
    for r in sqlx::query("SELECT origin, ecosystem, advisories FROM counts ORDER BY origin, ecosystem")
        .fetch_all(&mut *conn)
        .await
        .map_err(bad)?
    {
        let origin: String = r.try_get(0).map_err(bad)?;
        let ecosystem: Option<String> = r.try_get(1).map_err(bad)?;
        let n: i64 = r.try_get(2).map_err(bad)?;
        let origin = serde_json::from_value(serde_json::Value::String(origin.clone()))
            .map_err(|_| db_err(path, format!("counts: unknown origin `{origin}`")))?;
        let ecosystem = match ecosystem {
            Some(e) => Some(e.parse().map_err(|m| db_err(path, format!("counts: {m}")))?),
            None => None,
        };
        counts.push(Count { origin, ecosystem, advisories: n as u64 });
    }
    let cvss_scores: i64 = sqlx::query_scalar("SELECT count(*) FROM cvss").fetch_one(&mut *conn).await.map_err(bad)?;
    Ok(DbInfo {
        path: path.to_path_buf(),
        built_at,
        schema,
        sources,
        counts,
        cvss_scores: cvss_scores as u64,
        file_sha256: String::new(),
    })
}

/// The key a package is stored under: PyPI names are normalised (PEP 503), others kept as given.
fn package_key(ecosystem: Ecosystem, name: &str) -> String {
    if ecosystem == Ecosystem::PyPI {
        let mut out = String::with_capacity(name.len());
        let mut sep = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                sep = true;
            } else {
                if sep && !out.is_empty() {
                    out.push('-');
                }
                sep = false;
                out.push(c.to_ascii_lowercase());
            }
        }
        out
    } else {
        name.to_string()
    }
}

fn origin_str(o: Origin) -> String {
    match serde_json::to_value(o) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{o:?}"),
    }
}

impl Lookup for Database {
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> Result<std::sync::Arc<Vec<Advisory>>> {
        let key = package_key(ecosystem, package);
        let rows: Vec<String> = self.with_conn(async |c| {
            sqlx::query_scalar("SELECT json FROM affected WHERE ecosystem = ?1 AND package = ?2 ORDER BY rowid")
                .bind(ecosystem.as_str())
                .bind(&key)
                .fetch_all(c)
                .await
        })?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(|e| db_err(&self.info.path, format!("damaged advisory row: {e}"))))
            .collect::<Result<Vec<_>>>()
            .map(std::sync::Arc::new)
    }

    fn cvss(&self, id: &str) -> Result<Vec<Cvss>> {
        let rows: Vec<(String, String, f64)> = self.with_conn(async |c| {
            sqlx::query_as("SELECT version, vector, score FROM cvss WHERE id = ?1 ORDER BY rowid")
                .bind(id)
                .fetch_all(c)
                .await
        })?;
        Ok(rows.into_iter().map(|(version, vector, base_score)| Cvss { version, vector, base_score }).collect())
    }
}

/// Advisories and CVSS scores held in memory (tests, scans of records read with `read_source`).
#[derive(Clone, Debug, Default)]
pub struct MemoryLookup {
    by_package: HashMap<(Ecosystem, String), std::sync::Arc<Vec<Advisory>>>,
    cvss: HashMap<String, Vec<Cvss>>,
}

impl MemoryLookup {
    pub fn new(advisories: Vec<Advisory>, cvss: Vec<(String, Cvss)>) -> MemoryLookup {
        let mut m = MemoryLookup::default();
        for adv in dedup(advisories).0 {
            for ((eco, key), narrowed) in narrow(&adv) {
                std::sync::Arc::make_mut(m.by_package.entry((eco, key)).or_default()).push(narrowed);
            }
        }
        for (id, c) in cvss {
            let list = m.cvss.entry(id).or_default();
            if !list.contains(&c) {
                list.push(c);
            }
        }
        m
    }

    /// Everything `read_source` gave.
    pub fn from_parsed(parsed: Parsed) -> MemoryLookup {
        MemoryLookup::new(parsed.advisories, parsed.cvss)
    }
}

impl Lookup for MemoryLookup {
    fn advisories(&self, ecosystem: Ecosystem, package: &str) -> Result<std::sync::Arc<Vec<Advisory>>> {
        Ok(self.by_package.get(&(ecosystem, package_key(ecosystem, package))).cloned().unwrap_or_default())
    }

    fn cvss(&self, id: &str) -> Result<Vec<Cvss>> {
        Ok(self.cvss.get(id).cloned().unwrap_or_default())
    }
}

/// The advisory once per (ecosystem, package key) it names, each copy holding only that package's entries.
fn narrow(adv: &Advisory) -> Vec<((Ecosystem, String), Advisory)> {
    let mut groups: BTreeMap<(Ecosystem, String), Vec<crate::model::Affected>> = BTreeMap::new();
    for a in &adv.affected {
        groups.entry((a.ecosystem, package_key(a.ecosystem, &a.package))).or_default().push(a.clone());
    }
    groups.into_iter().map(|(k, affected)| (k, Advisory { affected, ..adv.clone() })).collect()
}

/// One advisory per (origin, id): a later record replaces an earlier one. Returns how many were replaced.
fn dedup(advisories: Vec<Advisory>) -> (Vec<Advisory>, usize) {
    let mut index: HashMap<(Origin, String), usize> = HashMap::new();
    let mut out: Vec<Advisory> = Vec::with_capacity(advisories.len());
    let mut replaced = 0;
    for adv in advisories {
        match index.get(&(adv.origin, adv.id.clone())) {
            Some(&i) => {
                out[i] = adv;
                replaced += 1;
            }
            None => {
                index.insert((adv.origin, adv.id.clone()), out.len());
                out.push(adv);
            }
        }
    }
    (out, replaced)
}

/// The default cap on one downloaded source. The real sources are tens of MB (the tracker's JSON,
/// osv.dev's PyPI zip) to a few hundred (osv.dev's larger zips); the body is held in memory.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 1 << 30;

/// How `update_with` works.
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    /// Largest body accepted per downloaded source, in bytes.
    pub max_download: u64,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions { max_download: DEFAULT_MAX_DOWNLOAD }
    }
}

/// Downloads `url` whole, up to `max` bytes, checking the length against Content-Length.
fn download(url: &str, max: u64, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Vec<u8>> {
    let fetch = |m: String| Error::Fetch { url: url.to_string(), message: m };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(3600))
        .user_agent(concat!("pare/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fetch(format!("HTTP client: {e}")))?;
    let mut resp = client.get(url).send().map_err(|e| fetch(format!("request failed: {e}")))?;
    if !resp.status().is_success() {
        return Err(fetch(format!("server answered {}", resp.status())));
    }
    let total = resp.content_length();
    let too_large = |what: String| {
        fetch(format!("{what}, over the cap of {max} bytes for one source; stopped")).with_hint(
            "if this source is really that large, raise the cap (`pare db update --max-download SIZE` or \
             PARE_DB_MAX_DOWNLOAD)",
        )
    };
    if let Some(t) = total
        && t > max
    {
        return Err(too_large(format!("the server announces {t} bytes (Content-Length)")));
    }
    let mut body = Vec::with_capacity(total.unwrap_or(0).min(max).min(1 << 30) as usize);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = resp.read(&mut buf).map_err(|e| {
            let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
            fetch(format!("incomplete download: cut off after {}{of} bytes ({e})", body.len()))
        })?;
        if n == 0 {
            break;
        }
        if (body.len() + n) as u64 > max {
            return Err(too_large(format!("the body went past {} bytes", body.len() + n)));
        }
        body.extend_from_slice(&buf[..n]);
        progress(Progress::Download { url, done: body.len() as u64, total });
    }
    if let Some(t) = total
        && t != body.len() as u64
    {
        return Err(fetch(format!("incomplete download: {} of {t} bytes (Content-Length)", body.len())));
    }
    Ok(body)
}

fn read_spec(spec: &SourceSpec, options: &UpdateOptions, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Parsed> {
    if spec.is_url() {
        let bytes = download(&spec.location, options.max_download, progress)?;
        let kind = match spec.kind.or_else(|| source::detect(&bytes)) {
            Some(k) => k,
            None => {
                return Err(Error::malformed(&spec.location, "downloaded data is no vulnerability source pare knows"));
            }
        };
        let mut parsed = source::parse_bytes(kind, &spec.location, &bytes)?;
        parsed.sha256 = hex(&Sha256::digest(&bytes));
        parsed.bytes = bytes.len() as u64;
        Ok(parsed)
    } else {
        source::read_source_as(Path::new(&spec.location), spec.kind)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads every source, then writes a new database at `path` atomically. Any failed source fails the
/// update and leaves the previous database as it was.
pub fn update(path: &Path, sources: &[SourceSpec], progress: &mut dyn FnMut(Progress<'_>)) -> Result<DbInfo> {
    update_with(path, sources, &UpdateOptions::default(), progress)
}

/// [`update`] with options (the download cap).
pub fn update_with(
    path: &Path,
    sources: &[SourceSpec],
    options: &UpdateOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<DbInfo> {
    if sources.is_empty() {
        return Err(Error::Database { path: path.to_path_buf(), message: "no sources to read".into() });
    }
    let mut advisories = Vec::new();
    let mut cvss = Vec::new();
    let mut infos = Vec::new();
    for spec in sources {
        let mut parsed = read_spec(spec, options, progress)?;
        let mut warnings = std::mem::take(&mut parsed.warnings);
        warnings.extend(parsed.unknown_ecosystem_warnings());
        progress(Progress::Read {
            location: &spec.location,
            kinds: &parsed.kinds,
            records: parsed.records(),
            warnings: &warnings,
        });
        infos.push(SourceInfo {
            kind: parsed.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","),
            location: spec.location.clone(),
            records: parsed.records() as u64,
            sha256: parsed.sha256.clone(),
            bytes: parsed.bytes,
            warnings: warnings.len() as u64,
        });
        advisories.append(&mut parsed.advisories);
        cvss.append(&mut parsed.cvss);
    }
    let (advisories, replaced) = dedup(advisories);
    if replaced > 0 {
        tracing::info!("{replaced} advisories appeared in more than one source; the later source's record was kept");
    }
    progress(Progress::Writing { advisories: advisories.len() });
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // Temporary files of killed updates (`temp_in`'s names).
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "vuln.db".into());
    pare_oci::sweep::sweep(&dir, |n| n.starts_with(&format!(".{name}.")) && n.ends_with(".tmp"));
    let temp = temp_in(path, &dir)?;
    let built_at = jiff::Timestamp::now();
    let runtime = runtime(path)?;
    runtime.block_on(write(temp.path(), built_at, &infos, &advisories, &cvss))?;
    // tempfile creates 0600; the database holds public data and may be shared (CI caches).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(temp.path(), mode).map_err(|e| Error::io(temp.path(), e))?;
    }
    temp.as_file().sync_all().map_err(|e| Error::io(temp.path(), e))?;
    let (sha256, _) = hash_file(temp.path())?;
    // The checksum file accepts the old and the new file while the new one is renamed in, so that a
    // run killed in between leaves a database that opens.
    let sums = checksum_path(path);
    let line = |h: &str| format!("{h}  {name}\n", name = path.file_name().unwrap_or_default().to_string_lossy());
    let mut both = line(&sha256);
    if let Ok(old) = accepted_hashes(path) {
        for h in old.iter().filter(|h| **h != sha256) {
            both.push_str(&line(h));
        }
    }
    write_beside(&sums, both.as_bytes())?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    write_beside(&sums, line(&sha256).as_bytes())?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    // Record the new file as checked: it was hashed above.
    let stamp = Stamp::of(&std::fs::metadata(path).map_err(|e| Error::io(path, e))?);
    if let Err(e) = write_beside(&verified_path(path), stamp.line(&sha256).as_bytes()) {
        tracing::debug!("not recording the check of {}: {e}", path.display());
    }
    Ok(Database::open(path)?.info.clone())
}

async fn write(
    path: &Path,
    built_at: jiff::Timestamp,
    sources: &[SourceInfo],
    advisories: &[Advisory],
    cvss: &[(String, Cvss)],
) -> Result<()> {
    let e = |e: sqlx::Error| Error::Database { path: path.to_path_buf(), message: format!("writing: {e}") };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .disable_statement_logging();
    let mut conn = options.connect().await.map_err(e)?;
    let mut tx = conn.begin().await.map_err(e)?;
    for stmt in [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE sources (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, location TEXT NOT NULL, \
         records INTEGER NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, warnings INTEGER NOT NULL)",
        "CREATE TABLE counts (origin TEXT NOT NULL, ecosystem TEXT, advisories INTEGER NOT NULL)",
        "CREATE TABLE advisories (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, origin TEXT NOT NULL, \
         json TEXT NOT NULL)",
        "CREATE TABLE affected (ecosystem TEXT NOT NULL, package TEXT NOT NULL, advisory INTEGER NOT NULL, \
         json TEXT NOT NULL)",
        "CREATE TABLE cvss (id TEXT NOT NULL, version TEXT NOT NULL, vector TEXT NOT NULL, score REAL NOT NULL)",
    ] {
        sqlx::query(stmt).execute(&mut *tx).await.map_err(e)?;
    }
    for (seq, s) in sources.iter().enumerate() {
        sqlx::query("INSERT INTO sources VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .bind(seq as i64)
            .bind(&s.kind)
            .bind(&s.location)
            .bind(s.records as i64)
            .bind(&s.sha256)
            .bind(s.bytes as i64)
            .bind(s.warnings as i64)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
    }
    let mut counts: BTreeMap<(String, Option<&'static str>), i64> = BTreeMap::new();
    for (rowid, adv) in advisories.iter().enumerate() {
        let origin = origin_str(adv.origin);
        let json = serde_json::to_string(adv).map_err(|x| Error::Database {
            path: path.to_path_buf(),
            message: format!("serialising {}: {x}", adv.id),
        })?;
        sqlx::query("INSERT INTO advisories VALUES (?1, ?2, ?3, ?4)")
            .bind(rowid as i64)
            .bind(&adv.id)
            .bind(&origin)
            .bind(json)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
        let groups = narrow(adv);
        let mut ecosystems: Vec<Option<&'static str>> = groups.iter().map(|((eco, _), _)| Some(eco.as_str())).collect();
        ecosystems.dedup();
        if ecosystems.is_empty() {
            ecosystems.push(None);
        }
        for eco in ecosystems {
            *counts.entry((origin.clone(), eco)).or_default() += 1;
        }
        for ((eco, key), narrowed) in groups {
            let json = serde_json::to_string(&narrowed).map_err(|x| Error::Database {
                path: path.to_path_buf(),
                message: format!("serialising {}: {x}", adv.id),
            })?;
            sqlx::query("INSERT INTO affected VALUES (?1, ?2, ?3, ?4)")
                .bind(eco.as_str())
                .bind(key)
                .bind(rowid as i64)
                .bind(json)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
        }
    }
    for ((origin, eco), n) in counts {
        sqlx::query("INSERT INTO counts VALUES (?1, ?2, ?3)")
            .bind(origin)
            .bind(eco)
            .bind(n)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
    }
    let mut seen = std::collections::HashSet::new();
    for (id, c) in cvss {
        if !seen.insert((id.as_str(), c.version.as_str(), c.vector.as_str())) {
            continue;
        }
        sqlx::query("INSERT INTO cvss VALUES (?1, ?2, ?3, ?4)")
            .bind(id)
            .bind(&c.version)
            .bind(&c.vector)
            .bind(c.base_score)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
    }
    sqlx::query("CREATE INDEX affected_package ON affected (ecosystem, package)").execute(&mut *tx).await.map_err(e)?;
    sqlx::query("CREATE INDEX cvss_id ON cvss (id)").execute(&mut *tx).await.map_err(e)?;
    for (k, v) in [("schema", SCHEMA.to_string()), ("built_at", built_at.to_string())] {
        sqlx::query("INSERT INTO meta VALUES (?1, ?2)").bind(k).bind(v).execute(&mut *tx).await.map_err(e)?;
    }
    // Last: the mark `open` requires. Nothing after this can fail half-way.
    sqlx::query("INSERT INTO meta VALUES ('complete', '1')").execute(&mut *tx).await.map_err(e)?;
    tx.commit().await.map_err(e)?;
    conn.close().await.map_err(e)?;
    Ok(())
}
