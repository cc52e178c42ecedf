//! The store: images, deploys, findings, VEX, tokens, the alert outbox and work claims, in SQLite or
//! PostgreSQL through sqlx's `Any` driver: one set of migrations (`migrations/`), one set of queries
//! (`$1` placeholders, which SQLite accepts too). The one difference is the claim: PostgreSQL's
//! `FOR UPDATE SKIP LOCKED` lets several servers share the work; SQLite, one process with one
//! connection, claims inside its single write transaction.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row, SqlSafeStr};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// The schema, one migration per file; the same SQL for both backends.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "watch", include_str!("../migrations/0002_watch.sql")),
    (3, "advice", include_str!("../migrations/0003_advice.sql")),
    (4, "counts", include_str!("../migrations/0004_counts.sql")),
    (5, "listing indexes", include_str!("../migrations/0005_listing_indexes.sql")),
];

/// Which database the store is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a token may do: read lets `GET`s through, write everything (it includes read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// `read` or `write`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }

    /// Whether a token of this scope may do what `needed` asks.
    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Write || needed == Scope::Read
    }
}

/// The monitor's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: String,
}

/// `$PARE_DATA_DIR`, else `$XDG_DATA_HOME/pare`, else `~/.local/share/pare`: where the default SQLite
/// store lives (`monitor.db`).
pub fn default_data_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("PARE_DATA_DIR") {
        return dir;
    }
    if let Some(dir) = var("XDG_DATA_HOME") {
        return dir.join("pare");
    }
    match var("HOME") {
        Some(home) => home.join(".local/share/pare"),
        None => PathBuf::from(".pare"),
    }
}

/// The default store: `sqlite:` + `monitor.db` in [`default_data_dir`].
pub fn default_url() -> String {
    format!("sqlite:{}", default_data_dir().join("monitor.db").display())
}

/// A finding as a scan gives it, before it is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFinding {
    pub advisory: String,
    pub package: String,
    pub version: String,
    pub severity: String,
    pub fixed_version: String,
    pub suppressed: bool,
    pub vex_status: String,
}

/// The columns of a stored finding as `record_one` reads them, in [`RecordedRow`]'s order.
const RECORDED_COLUMNS: &str =
    "advisory, package, version, severity, fixed_version, suppressed, vex_status, first_seen, fixed_at";

/// A stored finding: one JSON array of the columns in [`RECORDED_COLUMNS`], borrowed from the text the
/// database built.
#[derive(Deserialize)]
#[serde(from = "RecordedTuple<'a>", bound(deserialize = "'de: 'a"))]
struct RecordedRow<'a> {
    advisory: Cow<'a, str>,
    package: Cow<'a, str>,
    version: Cow<'a, str>,
    severity: Cow<'a, str>,
    fixed_version: Cow<'a, str>,
    suppressed: bool,
    vex_status: Cow<'a, str>,
    first_seen: i64,
    fixed_at: Option<i64>,
}

#[derive(Deserialize)]
struct RecordedTuple<'a>(
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    i64,
    Option<i64>,
);

impl<'a> From<RecordedTuple<'a>> for RecordedRow<'a> {
    fn from(r: RecordedTuple<'a>) -> Self {
        RecordedRow {
            advisory: r.0,
            package: r.1,
            version: r.2,
            severity: r.3,
            fixed_version: r.4,
            suppressed: r.5 != 0,
            vex_status: r.6,
            first_seen: r.7,
            fixed_at: r.8,
        }
    }
}

impl RecordedRow<'_> {
    /// Whether `f` says what this row says (its severity, fix and VEX unchanged).
    fn same_as(&self, f: &NewFinding) -> bool {
        self.version == f.version
            && self.severity == f.severity
            && self.fixed_version == f.fixed_version
            && self.suppressed == f.suppressed
            && self.vex_status == f.vex_status
    }
}

/// What an upload registers.
#[derive(Clone, Debug)]
pub struct Registration {
    pub digest: String,
    pub repository: String,
    pub tag: String,
    pub environment: String,
    pub team: String,
    pub product: String,
    /// The inventory as pare's JSON.
    pub inventory: String,
    pub packages: i64,
    pub created_at: Option<i64>,
}

/// What registering did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Registered {
    /// The digest was not known before.
    pub new_image: bool,
    /// The tag moved from this digest to the new one (a deploy).
    pub deployed_from: Option<String>,
}

/// An image claimed for a scan.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub digest: String,
    pub product: String,
    pub inventory: String,
}

/// What recording a scan changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    /// Findings seen for the first time (or again after they were fixed).
    pub new: usize,
    /// Findings that disappeared (fixed_at set).
    pub fixed: usize,
    /// Alerts written to the outbox.
    pub alerts: usize,
}

/// Counts of open findings (not fixed, not suppressed by VEX) by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    /// Negligible and unknown.
    pub other: i64,
}

impl Counts {
    fn add(&mut self, severity: &str, n: i64) {
        match severity {
            "critical" => self.critical += n,
            "high" => self.high += n,
            "medium" => self.medium += n,
            "low" => self.low += n,
            _ => self.other += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.critical + self.high + self.medium + self.low + self.other
    }
}

/// One image in the list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageSummary {
    pub digest: String,
    pub repository: String,
    pub tag: String,
    pub environment: String,
    pub team: String,
    pub product: String,
    pub packages: i64,
    /// Whether a tag still points at it (a deploy of another digest clears it).
    pub current: bool,
    /// Unix seconds.
    pub registered_at: i64,
    /// When the image was made (its SBOM's creation time), Unix seconds, if known.
    pub created_at: Option<i64>,
    /// Days since `created_at`, else since registration.
    pub age_days: i64,
    pub scanned_at: Option<i64>,
    /// SHA-256 of the vulnerability database of the last scan.
    pub scanned_db: String,
    pub scan_count: i64,
    /// The worker that recorded the last scan.
    pub scanned_by: String,
    pub open: Counts,
}

/// A finding as stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StoredFinding {
    pub advisory: String,
    pub package: String,
    pub version: String,
    pub severity: String,
    pub fixed_version: String,
    /// A VEX statement suppresses it.
    pub suppressed: bool,
    /// The applied VEX statement's status, if any.
    pub vex_status: String,
    pub first_seen: i64,
    /// When it disappeared from the scans (the database or VEX says fixed), if it did.
    pub fixed_at: Option<i64>,
}

/// A package of an image.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PackageSummary {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub purl: Option<String>,
}

/// One image with its packages and findings.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageDetail {
    #[serde(flatten)]
    pub summary: ImageSummary,
    pub packages: Vec<PackageSummary>,
    pub findings: Vec<StoredFinding>,
}

/// A deploy: a tag moved to another digest.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Deploy {
    pub repository: String,
    pub tag: String,
    pub environment: String,
    pub old_digest: Option<String>,
    pub new_digest: String,
    pub deployed_at: i64,
}

impl Stats {
    /// Open critical and high findings on the current images of `environment` (one team's, or all).
    pub fn risk(&self, environment: &str, team: Option<&str>) -> (i64, i64) {
        self.open
            .iter()
            .filter(|((env, t), _)| env == environment && team.is_none_or(|team| team == t))
            .fold((0, 0), |(c, h), (_, open)| (c + open.critical, h + open.high))
    }
}

/// Age buckets of the freshness distribution, in days.
pub const AGE_BUCKETS: [i64; 6] = [7, 30, 90, 180, 365, 730];

/// The freshness distribution of some images.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ages {
    /// Images at most `AGE_BUCKETS[i]` days old (cumulative).
    pub at_most: [i64; AGE_BUCKETS.len()],
    pub sum_days: i64,
    pub count: i64,
}

/// An alert to deliver.
#[derive(Clone, Debug)]
pub struct Alert {
    pub id: String,
    pub payload: String,
    pub attempts: i64,
}

/// Open critical/high findings and remediation per team and environment, for `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// (environment, team) → open counts on current images.
    pub open: BTreeMap<(String, String), Counts>,
    /// (environment, team) → current images.
    pub images: BTreeMap<(String, String), i64>,
    /// (environment, team) → (fixed findings, total seconds from first seen to fixed).
    pub remediated: BTreeMap<(String, String), (i64, i64)>,
    /// (environment, team) → the ages of current images: how many are at most each of
    /// `AGE_BUCKETS` days old, their sum in days and their count.
    pub ages: BTreeMap<(String, String), Ages>,
    /// (environment, team, pare-built) → current images with a rebuild advised.
    pub advised: BTreeMap<(String, String, bool), i64>,
}

fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// An id that sorts by creation time (nanoseconds, then random): deploys and alerts are listed and
/// delivered in the order they were made.
fn ordered_id() -> String {
    let nanos = jiff::Timestamp::now().as_nanosecond().max(0);
    let random: u32 = rand::random();
    format!("{nanos:024}-{random:08x}")
}

/// Unix seconds now.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Store {
    /// Opens (and creates, for SQLite) the store at `url` and brings its schema up to date.
    /// `url`: `sqlite:PATH`, `sqlite://PATH`, a plain path (SQLite), or `postgres://…`.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, connect) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            (Backend::Sqlite, sqlite_url(Path::new(path))?)
        } else if !url.contains("://") {
            (Backend::Sqlite, sqlite_url(Path::new(url))?)
        } else {
            return Err(Error::DatabaseUrl { url: crate::error::redact(url) });
        };
        let options = match backend {
            // One connection: every write is serialised in this process, none is refused as busy.
            Backend::Sqlite => AnyPoolOptions::new().max_connections(1).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    // 32 MiB of pages (SQLite's default is 2 MiB): a rescan walks every image's
                    // findings and their indexes, which at fleet size spill a small cache all the time.
                    conn.execute("PRAGMA cache_size = -32768").await?;
                    Ok(())
                })
            }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(8),
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(30))
            .connect(&connect)
            .await
            .map_err(|e| Error::store(url, e))?;
        let store = Store { pool, backend, url: crate::error::redact(url) };
        store.migrate().await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL, without a password.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn migrate(&self) -> Result<()> {
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        migrator.run(&self.pool).await.map_err(|source| Error::Migrate { url: self.url.clone(), source })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::store(&self.url, e)
    }

    /// A `FROM` item of the elements of the JSON array in `param`, as `j.value`.
    fn json_rows(&self, param: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("json_each({param}) AS j"),
            Backend::Postgres => format!("json_array_elements({param}::json) AS j(value)"),
        }
    }

    // ---- tokens

    /// Makes a token: returns the secret (shown once); only its SHA-256 is stored.
    pub async fn create_token(&self, scope: Scope, name: &str) -> Result<String> {
        let secret = format!("pare_{}_{}", scope.as_str(), random_id());
        sqlx::query("INSERT INTO tokens (hash, scope, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(&secret))
            .bind(scope.as_str())
            .bind(name)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(secret)
    }

    /// The scope of a token, if it is one.
    pub async fn token_scope(&self, secret: &str) -> Result<Option<Scope>> {
        let row = sqlx::query("SELECT scope FROM tokens WHERE hash = $1")
            .bind(token_hash(secret))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(row.and_then(|r| r.try_get::<String, _>("scope").ok()).and_then(|s| Scope::parse(&s)))
    }

    // ---- images

    /// Registers an image (or updates where it runs) and records a deploy when its tag moved. A new
    /// image is claimed for `claim` (owner, lease seconds) in the same transaction, so that the
    /// upload's own scan is the first (no background worker takes it in between).
    pub async fn register(&self, reg: &Registration, claim: (&str, i64)) -> Result<Registered> {
        let now = now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        let existed = sqlx::query("SELECT digest FROM images WHERE digest = $1")
            .bind(&reg.digest)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.err(e))?
            .is_some();
        // The inventory of a digest never changes; a second upload updates where it runs.
        sqlx::query("INSERT INTO inventories (digest, inventory) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
            .bind(&reg.digest)
            .bind(&reg.inventory)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        sqlx::query(
            "INSERT INTO images (digest, repository, tag, environment, team, product, packages, created_at, \
             registered_at, updated_at, current, scanned_db, scanned_at, scan_count, scanned_by, lease_owner, \
             lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1, '', NULL, 0, '', $10, $11) \
             ON CONFLICT (digest) DO UPDATE SET repository = $2, tag = $3, environment = $4, team = $5, product = $6, \
             updated_at = $9, current = 1",
        )
        .bind(&reg.digest)
        .bind(&reg.repository)
        .bind(&reg.tag)
        .bind(&reg.environment)
        .bind(&reg.team)
        .bind(&reg.product)
        .bind(reg.packages)
        .bind(reg.created_at)
        .bind(now)
        .bind(claim.0)
        .bind(now + claim.1)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        let mut deployed_from = None;
        if !reg.tag.is_empty() {
            let old: Option<String> =
                sqlx::query("SELECT digest FROM tags WHERE repository = $1 AND tag = $2 AND environment = $3")
                    .bind(&reg.repository)
                    .bind(&reg.tag)
                    .bind(&reg.environment)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| self.err(e))?
                    .and_then(|r| r.try_get("digest").ok());
            if old.as_deref() != Some(reg.digest.as_str()) {
                sqlx::query(
                    "INSERT INTO tags (repository, tag, environment, digest, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (repository, tag, environment) DO UPDATE SET digest = $4, updated_at = $5",
                )
                .bind(&reg.repository)
                .bind(&reg.tag)
                .bind(&reg.environment)
                .bind(&reg.digest)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
                sqlx::query(
                    "INSERT INTO deploys (id, repository, tag, environment, old_digest, new_digest, deployed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(ordered_id())
                .bind(&reg.repository)
                .bind(&reg.tag)
                .bind(&reg.environment)
                .bind(old.clone())
                .bind(&reg.digest)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
                if let Some(old) = &old {
                    // The old digest is no longer current unless another tag still points at it.
                    sqlx::query(
                        "UPDATE images SET current = 0 WHERE digest = $1 AND NOT EXISTS \
                         (SELECT 1 FROM tags WHERE digest = $1)",
                    )
                    .bind(old)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.err(e))?;
                    deployed_from = Some(old.clone());
                }
            }
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(Registered { new_image: !existed, deployed_from })
    }

    /// A page of the images `query` selects, with their open findings, and how many it selects in all.
    pub async fn images(&self, query: &ImageQuery) -> Result<(Vec<ImageSummary>, i64)> {
        let order = match query.order {
            ImageOrder::Registered => "registered_at DESC, digest DESC",
            ImageOrder::Risk => "open_critical DESC, open_high DESC, open_medium DESC, registered_at DESC, digest DESC",
            ImageOrder::Age => "COALESCE(created_at, registered_at), digest",
        };
        // Only the conditions asked for: SQLite then counts and orders from an index alone.
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        for (column, value) in
            [("environment", &query.environment), ("team", &query.team), ("repository", &query.repository)]
        {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                values.push(v);
                conditions.push(format!("{column} = ${}", values.len()));
            }
        }
        if let Some(current) = query.current {
            conditions.push(format!("current = {}", i64::from(current)));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let n = values.len();
        let sql =
            format!("SELECT {IMAGE_COLUMNS} FROM images{filter} ORDER BY {order} LIMIT ${} OFFSET ${}", n + 1, n + 2);
        let mut list = sqlx::query(AssertSqlSafe(sql));
        let mut count = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM images{filter}")));
        for v in &values {
            list = list.bind(v.to_string());
            count = count.bind(v.to_string());
        }
        let rows = list
            .bind(query.limit.clamp(1, MAX_PAGE))
            .bind(query.offset.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let images = rows.iter().map(summary).collect::<Result<Vec<_>, sqlx::Error>>().map_err(|e| self.err(e))?;
        let total: i64 = count.fetch_one(&self.pool).await.and_then(|r| r.try_get("n")).map_err(|e| self.err(e))?;
        Ok((images, total))
    }

    /// One image with its packages and all its findings (open first).
    pub async fn image(&self, digest: &str) -> Result<Option<ImageDetail>> {
        let Some(row) = sqlx::query(IMAGE_SELECT_ONE.clone())
            .bind(digest)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        let summary = summary(&row).map_err(|e| self.err(e))?;
        let inventory = self.inventory(digest).await?.ok_or_else(|| Error::StoredInventory {
            digest: digest.into(),
            reason: "the image has no stored inventory".into(),
        })?;
        let packages = inventory
            .packages
            .iter()
            .map(|p| PackageSummary {
                ecosystem: p.ecosystem.clone(),
                name: p.name.clone(),
                version: p.version.clone(),
                purl: Some(p.purl.clone()).filter(|p| !p.is_empty()),
            })
            .collect();
        let findings = self.findings(digest).await?;
        Ok(Some(ImageDetail { summary, packages, findings }))
    }

    /// The stored inventory of an image (pare's JSON), if the image is known.
    pub async fn inventory(&self, digest: &str) -> Result<Option<pare_sbom::Inventory>> {
        let row = sqlx::query("SELECT inventory FROM inventories WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        match row {
            Some(r) => {
                let json: String = r.try_get("inventory").map_err(|e| self.err(e))?;
                parse_inventory(digest, &json).map(Some)
            }
            None => Ok(None),
        }
    }

    /// All findings of an image, open ones first, by severity.
    pub async fn findings(&self, digest: &str) -> Result<Vec<StoredFinding>> {
        let rows = sqlx::query(
            "SELECT advisory, package, version, severity, fixed_version, suppressed, vex_status, first_seen, fixed_at \
             FROM findings WHERE image_digest = $1 ORDER BY advisory, package",
        )
        .bind(digest)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(StoredFinding {
                    advisory: r.try_get("advisory")?,
                    package: r.try_get("package")?,
                    version: r.try_get("version")?,
                    severity: r.try_get("severity")?,
                    fixed_version: r.try_get("fixed_version")?,
                    suppressed: r.try_get::<i64, _>("suppressed")? != 0,
                    vex_status: r.try_get("vex_status")?,
                    first_seen: r.try_get("first_seen")?,
                    fixed_at: r.try_get("fixed_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))?;
        out.sort_by_key(|f| (f.fixed_at.is_some() || f.suppressed, std::cmp::Reverse(severity_rank(&f.severity))));
        Ok(out)
    }

    /// Deploys, newest first.
    pub async fn deploys(&self) -> Result<Vec<Deploy>> {
        let rows = sqlx::query(
            "SELECT repository, tag, environment, old_digest, new_digest, deployed_at FROM deploys \
             ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|r| {
                Ok(Deploy {
                    repository: r.try_get("repository")?,
                    tag: r.try_get("tag")?,
                    environment: r.try_get("environment")?,
                    old_digest: r.try_get("old_digest")?,
                    new_digest: r.try_get("new_digest")?,
                    deployed_at: r.try_get("deployed_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))
    }

    // ---- VEX

    /// Stores a product's VEX document (replacing the previous one) and marks its images for a rescan.
    pub async fn put_vex(&self, product: &str, document: &str, statements: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        sqlx::query(
            "INSERT INTO vex (product, document, statements, uploaded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (product) DO UPDATE SET document = $2, statements = $3, uploaded_at = $4",
        )
        .bind(product)
        .bind(document)
        .bind(statements)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        // Claims are dropped too: a scan under way used the old statements, and its record is refused.
        let marked =
            sqlx::query("UPDATE images SET scanned_db = '', lease_owner = NULL, lease_until = NULL WHERE product = $1")
                .bind(product)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?
                .rows_affected();
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(marked)
    }

    /// A product's VEX document, if one was uploaded.
    pub async fn vex(&self, product: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT document FROM vex WHERE product = $1")
            .bind(product)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        row.map(|r| r.try_get("document")).transpose().map_err(|e| self.err(e))
    }

    // ---- scans and claims

    /// Records that the monitor now scans with the database `sha256` (a no-op when known).
    pub async fn note_database(&self, sha256: &str, built_at: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO databases (sha256, built_at, first_seen) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(built_at)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Claims up to `limit` images not yet scanned with `db` and not under a live lease (this worker's
    /// own included: they are being scanned), for `lease` seconds; `only` restricts the claim to one
    /// digest, which `owner` may hold already (an upload scans the image it registered).
    /// PostgreSQL skips rows another transaction is claiming (`FOR UPDATE SKIP LOCKED`), so concurrent
    /// servers never claim one image together; SQLite runs the statement as one write transaction
    /// (one process, one connection).
    pub async fn claim(
        &self,
        owner: &str,
        db: &str,
        lease: i64,
        limit: i64,
        only: Option<&str>,
    ) -> Result<Vec<Claimed>> {
        let now = now();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE images SET lease_owner = $1, lease_until = $2 WHERE digest IN (SELECT digest FROM images \
             WHERE scanned_db <> $3 AND (lease_until IS NULL OR lease_until < $4 OR ($6 <> '' AND lease_owner = $1)) \
             AND ($6 = '' OR digest = $6) \
             ORDER BY digest LIMIT $5{lock}) RETURNING digest, product"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(now + lease)
            .bind(db)
            .bind(now)
            .bind(limit)
            .bind(only.unwrap_or(""))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let claimed: Vec<(String, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get("digest")?, r.try_get("product")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=claimed.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT digest, inventory FROM inventories WHERE digest IN ({})", placeholders.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (digest, _) in &claimed {
            query = query.bind(digest.clone());
        }
        let mut inventories: BTreeMap<String, String> = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?
            .iter()
            .map(|r| Ok((r.try_get("digest")?, r.try_get("inventory")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.err(e))?;
        Ok(claimed
            .into_iter()
            .map(|(digest, product)| {
                let inventory = inventories.remove(&digest).unwrap_or_default();
                Claimed { digest, product, inventory }
            })
            .collect())
    }

    /// Gives back every claim of `owner`: a server restarted under the same `--worker-id` takes its
    /// images up at once instead of when their leases expire.
    pub async fn release_all(&self, owner: &str) -> Result<u64> {
        Ok(sqlx::query("UPDATE images SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1")
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?
            .rows_affected())
    }

    /// Gives a claim back without recording a scan (the scan failed): the image is tried again later.
    pub async fn release(&self, owner: &str, digest: &str) -> Result<()> {
        sqlx::query("UPDATE images SET lease_owner = NULL, lease_until = NULL WHERE digest = $1 AND lease_owner = $2")
            .bind(digest)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a scan of a claimed image: see [`Store::record_scans`].
    pub async fn record_scan(
        &self,
        owner: &str,
        digest: &str,
        db: &str,
        findings: &[NewFinding],
    ) -> Result<Option<Recorded>> {
        let scans = [(digest.to_string(), findings.to_vec())];
        Ok(self.record_scans(owner, db, &scans).await?.into_iter().next().flatten())
    }

    /// Records scans of claimed images in one transaction (one commit for a batch: the commit, not the
    /// rows, is what a rescan waits for): per image, new findings (first_seen now), findings gone
    /// (fixed_at now), its open counts and remediation totals, the image marked scanned with `db`, and
    /// an outbox alert for each new critical finding on a production image. An image whose claim
    /// `owner` no longer holds (its lease expired and another worker took it) is left as it was: `None`.
    pub async fn record_scans(
        &self,
        owner: &str,
        db: &str,
        scans: &[(String, Vec<NewFinding>)],
    ) -> Result<Vec<Option<Recorded>>> {
        let now = now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(scans.len());
        for (digest, findings) in scans {
            out.push(self.record_one(&mut tx, now, owner, digest, db, findings).await?);
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(out)
    }

    async fn record_one(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        now: i64,
        owner: &str,
        digest: &str,
        db: &str,
        findings: &[NewFinding],
    ) -> Result<Option<Recorded>> {
        // First: the claim check, which also locks the image's row until commit.
        let image = sqlx::query(
            "UPDATE images SET scanned_db = $1, scanned_at = $2, lease_owner = NULL, lease_until = NULL, \
             scan_count = scan_count + 1, scanned_by = $4 WHERE digest = $3 AND lease_owner = $4 \
             RETURNING repository, tag, environment, team",
        )
        .bind(db)
        .bind(now)
        .bind(digest)
        .bind(owner)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| self.err(e))?;
        let Some(image) = image else {
            return Ok(None);
        };
        let (repository, tag, environment, team): (String, String, String, String) = (
            image.try_get("repository").map_err(|e| self.err(e))?,
            image.try_get("tag").map_err(|e| self.err(e))?,
            image.try_get("environment").map_err(|e| self.err(e))?,
            image.try_get("team").map_err(|e| self.err(e))?,
        );
        // The image's findings as one JSON array, built by the database: sqlx hands rows over one at a
        // time, and a rescan reads hundreds per image.
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "SELECT json_group_array(json_array({RECORDED_COLUMNS})) AS stored FROM findings WHERE image_digest = $1"
            ),
            Backend::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array({RECORDED_COLUMNS})), '[]')::text AS stored FROM findings \
                 WHERE image_digest = $1"
            ),
        };
        let stored: String = sqlx::query(AssertSqlSafe(sql))
            .bind(digest)
            .fetch_one(&mut **tx)
            .await
            .and_then(|r| r.try_get("stored"))
            .map_err(|e| self.err(e))?;
        let stored: Vec<RecordedRow<'_>> =
            serde_json::from_str(&stored).map_err(|e| self.err(format!("the findings of {digest}: {e}")))?;
        let existing: HashMap<(&str, &str), &RecordedRow<'_>> =
            stored.iter().map(|f| ((f.advisory.as_ref(), f.package.as_ref()), f)).collect();

        let mut recorded = Recorded::default();
        let mut seen = HashSet::with_capacity(findings.len());
        let mut open = Counts::default();
        // Changes to the remediation totals: findings fixed now, reopened ones no longer count.
        let (mut fixed_delta, mut seconds_delta) = (0i64, 0i64);
        // New, reopened or changed (severity, fix, VEX): written in one upsert; `first_seen` is kept.
        let mut upserts: Vec<&NewFinding> = Vec::new();
        let mut alerts: Vec<&NewFinding> = Vec::new();
        for f in findings {
            let key = (f.advisory.as_str(), f.package.as_str());
            if !seen.insert(key) {
                continue;
            }
            if !f.suppressed {
                open.add(&f.severity, 1);
            }
            match existing.get(&key) {
                None => {
                    upserts.push(f);
                    recorded.new += 1;
                    if f.severity == "critical" && environment == PRODUCTION && !f.suppressed {
                        alerts.push(f);
                    }
                }
                Some(old) => {
                    if let Some(fixed_at) = old.fixed_at {
                        recorded.new += 1;
                        fixed_delta -= 1;
                        seconds_delta -= fixed_at - old.first_seen;
                    }
                    if old.fixed_at.is_some() || !old.same_as(f) {
                        upserts.push(f);
                    }
                }
            }
        }
        let mut fixed: Vec<(&str, &str)> = Vec::new();
        for old in &stored {
            let key = (old.advisory.as_ref(), old.package.as_ref());
            if old.fixed_at.is_none() && !seen.contains(&key) {
                fixed.push(key);
                recorded.fixed += 1;
                fixed_delta += 1;
                seconds_delta += now - old.first_seen;
            }
        }
        // The rows go in as one JSON parameter each way: SQLite looks a numbered parameter's name up
        // in a list, so a statement with a parameter per field costs the square of its rows.
        let rows = self.json_rows("$3");
        if !upserts.is_empty() {
            let values: Vec<_> = upserts
                .iter()
                .map(|f| {
                    (
                        &f.advisory,
                        &f.package,
                        &f.version,
                        &f.severity,
                        &f.fixed_version,
                        i64::from(f.suppressed),
                        &f.vex_status,
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO findings (image_digest, advisory, package, version, severity, fixed_version, suppressed, \
                 vex_status, first_seen, fixed_at) SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2, \
                 j.value ->> 3, j.value ->> 4, CAST(j.value ->> 5 AS BIGINT), j.value ->> 6, $2, NULL FROM {rows} \
                 WHERE true ON CONFLICT (image_digest, advisory, package) DO UPDATE SET version = excluded.version, \
                 severity = excluded.severity, fixed_version = excluded.fixed_version, \
                 suppressed = excluded.suppressed, vex_status = excluded.vex_status, fixed_at = NULL"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(digest)
                .bind(now)
                .bind(serde_json::to_string(&values).map_err(|e| self.err(e))?)
                .execute(&mut **tx)
                .await
                .map_err(|e| self.err(e))?;
        }
        if !fixed.is_empty() {
            let sql = format!(
                "UPDATE findings SET fixed_at = $2 WHERE image_digest = $1 AND fixed_at IS NULL \
                 AND (advisory, package) IN (SELECT j.value ->> 0, j.value ->> 1 FROM {rows})"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(digest)
                .bind(now)
                .bind(serde_json::to_string(&fixed).map_err(|e| self.err(e))?)
                .execute(&mut **tx)
                .await
                .map_err(|e| self.err(e))?;
        }
        for f in alerts {
            let id = ordered_id();
            let payload = serde_json::json!({
                "id": id,
                "kind": "new-critical-finding",
                "image": {
                    "digest": digest, "repository": repository, "tag": tag,
                    "environment": environment, "team": team,
                },
                "finding": {
                    "advisory": f.advisory, "package": f.package, "version": f.version,
                    "severity": f.severity, "fixed_version": f.fixed_version,
                },
                "first_seen": now,
                "database": db,
            });
            sqlx::query(
                "INSERT INTO outbox (id, created_at, payload, attempts, next_attempt_at, delivered_at, \
                 last_error) VALUES ($1, $2, $3, 0, $2, NULL, NULL)",
            )
            .bind(&id)
            .bind(now)
            .bind(payload.to_string())
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err(e))?;
            recorded.alerts += 1;
        }
        sqlx::query(
            "UPDATE images SET open_critical = $2, open_high = $3, open_medium = $4, open_low = $5, open_other = $6, \
             fixed_findings = fixed_findings + $7, remediation_seconds = remediation_seconds + $8 WHERE digest = $1",
        )
        .bind(digest)
        .bind(open.critical)
        .bind(open.high)
        .bind(open.medium)
        .bind(open.low)
        .bind(open.other)
        .bind(fixed_delta)
        .bind(seconds_delta)
        .execute(&mut **tx)
        .await
        .map_err(|e| self.err(e))?;
        Ok(Some(recorded))
    }

    /// Images not yet scanned with `db`.
    pub async fn unscanned(&self, db: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM images WHERE scanned_db <> $1")
            .bind(db)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        row.try_get("n").map_err(|e| self.err(e))
    }

    // ---- outbox

    /// Claims up to `limit` alerts due now, for `lease` seconds (a worker that dies mid-delivery leaves
    /// them to be sent again: at least once).
    pub async fn claim_alerts(&self, lease: i64, limit: i64) -> Result<Vec<Alert>> {
        let now = now();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (SELECT id FROM outbox WHERE delivered_at IS NULL \
             AND next_attempt_at <= $2 ORDER BY created_at, id LIMIT $3{lock}) RETURNING id, payload, attempts"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now + lease)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let mut alerts = rows
            .iter()
            .map(|r| {
                Ok(Alert { id: r.try_get("id")?, payload: r.try_get("payload")?, attempts: r.try_get("attempts")? })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))?;
        alerts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(alerts)
    }

    /// Marks an alert delivered.
    pub async fn alert_delivered(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET delivered_at = $2, last_error = NULL WHERE id = $1")
            .bind(id)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a failed delivery; the next attempt waits `retry_in` seconds.
    pub async fn alert_failed(&self, id: &str, error: &str, retry_in: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1")
            .bind(id)
            .bind(now() + retry_in)
            .bind(error)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    // ---- metrics and trends

    /// The figures `/metrics` shows, summed in the database from the per-image counts (no finding is
    /// read; one row per environment and team comes back).
    pub async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        // Sums are cast: PostgreSQL's SUM of BIGINT is NUMERIC, which `Any` cannot decode.
        let age = "(CASE WHEN $1 > COALESCE(created_at, registered_at) THEN $1 - COALESCE(created_at, registered_at) \
                   ELSE 0 END)";
        let buckets: Vec<String> = AGE_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, days)| {
                format!("CAST(SUM(CASE WHEN {age} < {} THEN 1 ELSE 0 END) AS BIGINT) AS le{i}", (days + 1) * 86_400)
            })
            .collect();
        let sql = format!(
            "SELECT environment, team, COUNT(*) AS n, CAST(SUM(open_critical) AS BIGINT) AS c, \
             CAST(SUM(open_high) AS BIGINT) AS h, CAST(SUM(open_medium) AS BIGINT) AS m, \
             CAST(SUM(open_low) AS BIGINT) AS l, CAST(SUM(open_other) AS BIGINT) AS o, \
             CAST(SUM({age} / 86400) AS BIGINT) AS age_days, {} FROM images WHERE current = 1 \
             GROUP BY environment, team",
            buckets.join(", ")
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(now()).fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        for r in rows {
            let group = || -> Result<((String, String), i64, Counts, Ages), sqlx::Error> {
                let sum = |column: &str| -> Result<i64, sqlx::Error> {
                    Ok(r.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
                };
                let n: i64 = r.try_get("n")?;
                let open = Counts {
                    critical: sum("c")?,
                    high: sum("h")?,
                    medium: sum("m")?,
                    low: sum("l")?,
                    other: sum("o")?,
                };
                let mut ages = Ages { sum_days: sum("age_days")?, count: n, ..Ages::default() };
                for (i, slot) in ages.at_most.iter_mut().enumerate() {
                    *slot = sum(&format!("le{i}"))?;
                }
                Ok(((r.try_get("environment")?, r.try_get("team")?), n, open, ages))
            };
            let (key, n, open, ages) = group().map_err(|e| self.err(e))?;
            stats.images.insert(key.clone(), n);
            stats.open.insert(key.clone(), open);
            stats.ages.insert(key, ages);
        }
        let rows = sqlx::query(
            "SELECT environment, team, CAST(SUM(fixed_findings) AS BIGINT) AS n, \
             CAST(SUM(remediation_seconds) AS BIGINT) AS total FROM images GROUP BY environment, team",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        for r in rows {
            let key = (r.try_get("environment").map_err(|e| self.err(e))?, r.try_get("team").map_err(|e| self.err(e))?);
            let n: Option<i64> = r.try_get("n").map_err(|e| self.err(e))?;
            let total: Option<i64> = r.try_get("total").map_err(|e| self.err(e))?;
            if let Some(n) = n.filter(|n| *n > 0) {
                stats.remediated.insert(key, (n, total.unwrap_or(0).max(0)));
            }
        }
        stats.advised = self.advised_counts().await?;
        Ok(stats)
    }

    /// Alerts in the outbox: (pending, delivered).
    pub async fn outbox_counts(&self) -> Result<(i64, i64)> {
        let row = sqlx::query("SELECT COUNT(*) AS n, COUNT(delivered_at) AS d FROM outbox")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let total: i64 = row.try_get("n").map_err(|e| self.err(e))?;
        let delivered: i64 = row.try_get("d").map_err(|e| self.err(e))?;
        Ok((total - delivered, delivered))
    }

    /// Open critical and high findings on the current images of each environment and team now.
    async fn current_risk(&self) -> Result<BTreeMap<(String, String), (i64, i64)>> {
        let rows = sqlx::query(
            "SELECT environment, team, CAST(SUM(open_critical) AS BIGINT) AS c, CAST(SUM(open_high) AS BIGINT) AS h \
             FROM images WHERE current = 1 GROUP BY environment, team",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|r| {
                let c: Option<i64> = r.try_get("c")?;
                let h: Option<i64> = r.try_get("h")?;
                Ok(((r.try_get("environment")?, r.try_get("team")?), (c.unwrap_or(0), h.unwrap_or(0))))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.err(e))
    }

    /// Writes the trend's sample of the day of `at`: the open critical and high findings of each
    /// environment and team on their current images (0 for a team with none left).
    pub async fn sample_trend(&self, at: i64) -> Result<()> {
        let mut now = self.current_risk().await?;
        let day = at.div_euclid(86_400);
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        let known = sqlx::query("SELECT DISTINCT environment, team FROM trend_samples")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        for r in &known {
            let key = (r.try_get("environment").map_err(|e| self.err(e))?, r.try_get("team").map_err(|e| self.err(e))?);
            now.entry(key).or_insert((0, 0));
        }
        for ((environment, team), (critical, high)) in &now {
            sqlx::query(
                "INSERT INTO trend_samples (environment, team, day, at, critical, high) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (environment, team, day) DO UPDATE SET at = $4, critical = $5, high = $6",
            )
            .bind(environment)
            .bind(team)
            .bind(day)
            .bind(at)
            .bind(critical)
            .bind(high)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Open critical and high findings on `environment`'s current images (of `team`, or all teams) at
    /// `days + 1` points, one per day back from `now`: each past day as its last sample said, carried
    /// forward over days without one (`recorded` false before the first); the last point is `current`
    /// (critical, high): the caller's figures for now.
    pub async fn trend(
        &self,
        environment: &str,
        team: Option<&str>,
        days: i64,
        now: i64,
        current: (i64, i64),
    ) -> Result<Vec<TrendPoint>> {
        let days = days.clamp(1, 365);
        let today = now.div_euclid(86_400);
        let rows = sqlx::query(
            "SELECT team, day, critical, high FROM trend_samples WHERE environment = $1 AND ($2 = '' OR team = $2) \
             AND day < $3 ORDER BY day",
        )
        .bind(environment)
        .bind(team.unwrap_or(""))
        .bind(today)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut samples: Vec<(String, i64, i64, i64)> = Vec::with_capacity(rows.len());
        for r in &rows {
            samples.push((
                r.try_get("team").map_err(|e| self.err(e))?,
                r.try_get("day").map_err(|e| self.err(e))?,
                r.try_get("critical").map_err(|e| self.err(e))?,
                r.try_get("high").map_err(|e| self.err(e))?,
            ));
        }
        let mut points = Vec::new();
        // team → (critical, high) as last sampled up to the point's day.
        let mut last: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        let mut next = 0;
        for i in 0..days {
            let at = now - (days - i) * 86_400;
            let day = at.div_euclid(86_400);
            while let Some((team, _, c, h)) = samples.get(next).filter(|s| s.1 <= day) {
                last.insert(team.as_str(), (*c, *h));
                next += 1;
            }
            points.push(TrendPoint {
                at,
                critical: last.values().map(|v| v.0).sum(),
                high: last.values().map(|v| v.1).sum(),
                recorded: !last.is_empty(),
            });
        }
        let (critical, high) = current;
        points.push(TrendPoint { at: now, critical, high, recorded: true });
        Ok(points)
    }

    // ---- watches

    /// Adds a watch (validated by the caller) under `id`; false when a watch with that id exists (it is
    /// left as it is). Its first check is due now.
    pub async fn add_watch(&self, id: &str, watch: &crate::watch::NewWatch) -> Result<bool> {
        let tags = serde_json::to_string(&watch.tags).map_err(|e| self.err(e))?;
        let now = now();
        let done = sqlx::query(
            "INSERT INTO watches (id, repository, tags, environment, team, interval_seconds, created_at, \
             last_checked_at, last_error, tags_seen, next_check_at, lease_owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, '', '{}', $7, NULL, NULL) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(&watch.repository)
        .bind(tags)
        .bind(&watch.environment)
        .bind(&watch.team)
        .bind(watch.interval_seconds.unwrap_or(crate::watch::DEFAULT_INTERVAL))
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() > 0)
    }

    /// A new watch id.
    pub fn new_watch_id() -> String {
        random_id()
    }

    /// Every watch, oldest first.
    pub async fn watches(&self) -> Result<Vec<crate::watch::Watch>> {
        let sql = format!("SELECT {WATCH_COLUMNS} FROM watches ORDER BY created_at, id");
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        rows.iter().map(|r| self.watch_row(r)).collect()
    }

    /// One watch.
    pub async fn watch(&self, id: &str) -> Result<Option<crate::watch::Watch>> {
        let sql = format!("SELECT {WATCH_COLUMNS} FROM watches WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(|e| self.err(e))?;
        row.map(|r| self.watch_row(&r)).transpose()
    }

    /// Removes a watch; false when there is none with this id. What it registered stays.
    pub async fn remove_watch(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM watches WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Claims up to `limit` watches due now for `owner`, for `lease` seconds (a server that dies
    /// mid-check leaves them to another once the lease expires).
    pub async fn claim_watches(&self, owner: &str, lease: i64, limit: i64) -> Result<Vec<crate::watch::Watch>> {
        let now = now();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE watches SET lease_owner = $1, lease_until = $2 WHERE id IN (SELECT id FROM watches \
             WHERE next_check_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
             ORDER BY next_check_at, id LIMIT $4{lock}) RETURNING {WATCH_COLUMNS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(now + lease)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        rows.iter().map(|r| self.watch_row(r)).collect()
    }

    /// Records a check of a watch claimed by `owner` and schedules the next one; false, changing
    /// nothing, when the claim was lost (or the watch removed).
    pub async fn finish_watch(
        &self,
        id: &str,
        owner: &str,
        seen: &BTreeMap<String, crate::watch::TagSeen>,
        error: &str,
    ) -> Result<bool> {
        let seen = serde_json::to_string(seen).map_err(|e| self.err(e))?;
        let now = now();
        let done = sqlx::query(
            "UPDATE watches SET last_checked_at = $3, last_error = $4, tags_seen = $5, \
             next_check_at = $3 + interval_seconds, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner)
        .bind(now)
        .bind(error)
        .bind(seen)
        .execute(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Extends `owner`'s claim on a watch by `lease` seconds from now (a long check keeps it); false
    /// when the claim was lost.
    pub async fn renew_watch(&self, id: &str, owner: &str, lease: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE watches SET lease_until = $3 WHERE id = $1 AND lease_owner = $2")
            .bind(id)
            .bind(owner)
            .bind(now() + lease)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() > 0)
    }

    /// What is stored of an image, as a registration (its inventory, packages, creation time and
    /// product; where it runs is the caller's to fill in): a digest a watch finds again is not pulled.
    pub async fn stored_registration(&self, digest: &str) -> Result<Option<Registration>> {
        let row = sqlx::query(
            "SELECT i.digest, i.repository, i.tag, i.environment, i.team, i.product, v.inventory, i.packages, \
             i.created_at FROM images i JOIN inventories v ON v.digest = i.digest WHERE i.digest = $1",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let Some(r) = row else {
            return Ok(None);
        };
        let get = |r: &AnyRow| -> Result<Registration, sqlx::Error> {
            Ok(Registration {
                digest: r.try_get("digest")?,
                repository: r.try_get("repository")?,
                tag: r.try_get("tag")?,
                environment: r.try_get("environment")?,
                team: r.try_get("team")?,
                product: r.try_get("product")?,
                inventory: r.try_get("inventory")?,
                packages: r.try_get("packages")?,
                created_at: r.try_get("created_at")?,
            })
        };
        get(&r).map(Some).map_err(|e| self.err(e))
    }

    fn watch_row(&self, r: &AnyRow) -> Result<crate::watch::Watch> {
        let id: String = r.try_get("id").map_err(|e| self.err(e))?;
        let json = |column: &str| -> Result<String> { r.try_get(column).map_err(|e| self.err(e)) };
        let damaged = |e: serde_json::Error| self.err(format!("watch {id}: {e}"));
        let last_error: String = json("last_error")?;
        Ok(crate::watch::Watch {
            repository: r.try_get("repository").map_err(|e| self.err(e))?,
            tags: serde_json::from_str(&json("tags")?).map_err(damaged)?,
            environment: r.try_get("environment").map_err(|e| self.err(e))?,
            team: r.try_get("team").map_err(|e| self.err(e))?,
            interval_seconds: r.try_get("interval_seconds").map_err(|e| self.err(e))?,
            created_at: r.try_get("created_at").map_err(|e| self.err(e))?,
            last_checked_at: r.try_get("last_checked_at").map_err(|e| self.err(e))?,
            last_error: Some(last_error).filter(|e| !e.is_empty()),
            tags_seen: serde_json::from_str(&json("tags_seen")?).map_err(damaged)?,
            next_check_at: r.try_get("next_check_at").map_err(|e| self.err(e))?,
            id,
        })
    }

    // ---- advice

    /// Creates the advice row of `digest` if there is none (nothing checked yet).
    async fn advice_row(&self, digest: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO advice (digest, pare_built, base_name, base_digest, checked_at, release, pockets, \
             rebuild_advised, updates, error, error_at, newer_base_digest, base_checked_at, base_error) \
             VALUES ($1, 0, '', '', NULL, '', '[]', 0, '[]', '', NULL, '', NULL, '') ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .execute(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records where an uploaded image comes from; what the upload does not say is kept.
    pub async fn set_origin(&self, digest: &str, origin: &crate::advice::Origin) -> Result<()> {
        self.advice_row(digest).await?;
        sqlx::query(
            "UPDATE advice SET pare_built = CASE WHEN $2 = 1 THEN 1 ELSE pare_built END, \
             base_name = COALESCE($3, base_name), base_digest = COALESCE($4, base_digest) WHERE digest = $1",
        )
        .bind(digest)
        .bind(i64::from(origin.pare_built))
        .bind(origin.base_name.clone())
        .bind(origin.base_digest.clone())
        .execute(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Up to `limit` current images after `after` (by digest) with their inventory and origin: the
    /// advice worker pages through the fleet with it.
    pub async fn advice_subjects(&self, after: &str, limit: i64) -> Result<Vec<crate::advice::Subject>> {
        let rows = sqlx::query(
            "SELECT i.digest, v.inventory, a.pare_built, a.base_name, a.base_digest FROM images i \
             JOIN inventories v ON v.digest = i.digest LEFT JOIN advice a ON a.digest = i.digest \
             WHERE i.current = 1 AND i.digest > $1 ORDER BY i.digest LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|r| {
                Ok(crate::advice::Subject {
                    digest: r.try_get("digest")?,
                    inventory: r.try_get("inventory")?,
                    origin: crate::advice::Origin {
                        pare_built: r.try_get::<Option<i64>, _>("pare_built")?.unwrap_or(0) != 0,
                        base_name: r.try_get::<Option<String>, _>("base_name")?.filter(|s| !s.is_empty()),
                        base_digest: r.try_get::<Option<String>, _>("base_digest")?.filter(|s| !s.is_empty()),
                    },
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))
    }

    /// Records a successful comparison with the archive (and clears the last failure).
    pub async fn record_advice(&self, digest: &str, checked: &crate::advice::Checked) -> Result<()> {
        self.advice_row(digest).await?;
        let pockets = serde_json::to_string(&checked.pockets).map_err(|e| self.err(e))?;
        let updates = serde_json::to_string(&checked.updates).map_err(|e| self.err(e))?;
        sqlx::query(
            "UPDATE advice SET checked_at = $2, release = $3, pockets = $4, rebuild_advised = $5, updates = $6, \
             error = '', error_at = NULL WHERE digest = $1",
        )
        .bind(digest)
        .bind(now())
        .bind(&checked.release)
        .bind(pockets)
        .bind(i64::from(checked.rebuild_advised))
        .bind(updates)
        .execute(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a failed check: the error is shown, the last advice stays.
    pub async fn advice_failed(&self, digest: &str, error: &str) -> Result<()> {
        self.advice_row(digest).await?;
        sqlx::query("UPDATE advice SET error = $2, error_at = $3 WHERE digest = $1")
            .bind(digest)
            .bind(error)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records the resolution of the image's base: `Ok(digest now)` or the failure (the last newer
    /// digest found stays then).
    pub async fn record_base(&self, digest: &str, resolved: &std::result::Result<String, String>) -> Result<()> {
        let sql = match resolved {
            Ok(_) => {
                "UPDATE advice SET newer_base_digest = CASE WHEN $2 = base_digest THEN '' ELSE $2 END, \
                 base_checked_at = $3, base_error = '' WHERE digest = $1"
            }
            Err(_) => "UPDATE advice SET base_checked_at = $3, base_error = $2 WHERE digest = $1",
        };
        let value = match resolved {
            Ok(v) | Err(v) => v,
        };
        sqlx::query(sql).bind(digest).bind(value).bind(now()).execute(&self.pool).await.map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The advice of one image, if it has any.
    pub async fn advice(&self, digest: &str) -> Result<Option<crate::advice::Advice>> {
        let sql = AssertSqlSafe(format!("SELECT {ADVICE_COLUMNS} FROM advice a WHERE a.digest = $1"));
        let row = sqlx::query(sql).bind(digest).fetch_optional(&self.pool).await.map_err(|e| self.err(e))?;
        row.map(|r| advice_of(&r)).transpose().map_err(|e| self.err(e))
    }

    /// Current images with a rebuild advised, per (environment, team, pare-built), counted in the
    /// database.
    pub async fn advised_counts(&self) -> Result<BTreeMap<(String, String, bool), i64>> {
        let rows = sqlx::query(
            "SELECT i.environment, i.team, a.pare_built, COUNT(*) AS n FROM advice a JOIN images i \
             ON i.digest = a.digest WHERE i.current = 1 AND a.rebuild_advised = 1 \
             GROUP BY i.environment, i.team, a.pare_built",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|r| {
                let key = (r.try_get("environment")?, r.try_get("team")?, r.try_get::<i64, _>("pare_built")? != 0);
                Ok((key, r.try_get("n")?))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.err(e))
    }

    /// Current images with a rebuild advised or a newer base, with where they run: a page (`limit`,
    /// `offset`), and how many there are. (`CROSS JOIN`: SQLite then reads the flagged advice rows
    /// first, from their partial index, and looks their images up; PostgreSQL plans it as any join.)
    pub async fn advised(&self, limit: i64, offset: i64) -> Result<(Vec<crate::advice::Advised>, i64)> {
        const ADVISED: &str = "FROM advice a CROSS JOIN images i WHERE i.digest = a.digest \
                               AND (a.rebuild_advised = 1 OR a.newer_base_digest <> '') AND i.current = 1";
        let sql = AssertSqlSafe(format!(
            "SELECT i.repository, i.tag, i.environment, i.team, i.created_at, i.registered_at, {ADVICE_COLUMNS} \
             {ADVISED} ORDER BY i.environment, i.team, i.repository, a.digest LIMIT $1 OFFSET $2"
        ));
        let rows = sqlx::query(sql)
            .bind(limit.clamp(1, MAX_PAGE))
            .bind(offset.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let total: i64 = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n {ADVISED}")))
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(|e| self.err(e))?;
        let now = now();
        let advised = rows
            .iter()
            .map(|r| {
                let age = age_days(now, r.try_get("created_at")?, r.try_get("registered_at")?);
                Ok(crate::advice::Advised::new(
                    r.try_get("repository")?,
                    r.try_get("tag")?,
                    r.try_get("environment")?,
                    r.try_get("team")?,
                    age,
                    advice_of(r)?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))?;
        Ok((advised, total))
    }
}

/// The columns `watch_row` reads.
const WATCH_COLUMNS: &str = "id, repository, tags, environment, team, interval_seconds, created_at, last_checked_at, \
                             last_error, tags_seen, next_check_at";

/// The columns [`advice_of`] reads (table alias `a`).
const ADVICE_COLUMNS: &str = "a.digest, a.pare_built, a.base_name, a.base_digest, a.checked_at, a.release, a.pockets, \
                              a.rebuild_advised, a.updates, a.error, a.error_at, a.newer_base_digest, \
                              a.base_checked_at, a.base_error";

fn advice_of(r: &AnyRow) -> Result<crate::advice::Advice, sqlx::Error> {
    let text = |c: &str| -> Result<Option<String>, sqlx::Error> {
        Ok(Some(r.try_get::<String, _>(c)?).filter(|s| !s.is_empty()))
    };
    let decode = |c: &str, e: serde_json::Error| sqlx::Error::ColumnDecode { index: c.into(), source: Box::new(e) };
    let pockets: String = r.try_get("pockets")?;
    let updates: String = r.try_get("updates")?;
    Ok(crate::advice::Advice::new(crate::advice::Advice {
        digest: r.try_get("digest")?,
        pare_built: r.try_get::<i64, _>("pare_built")? != 0,
        action: String::new(),
        checked_at: r.try_get("checked_at")?,
        release: text("release")?,
        pockets: serde_json::from_str(&pockets).map_err(|e| decode("pockets", e))?,
        rebuild_advised: r.try_get::<i64, _>("rebuild_advised")? != 0,
        updates: serde_json::from_str(&updates).map_err(|e| decode("updates", e))?,
        fixes: Vec::new(),
        error: text("error")?,
        error_at: r.try_get("error_at")?,
        base_name: text("base_name")?,
        base_digest: text("base_digest")?,
        newer_base_digest: text("newer_base_digest")?,
        base_checked_at: r.try_get("base_checked_at")?,
        base_error: text("base_error")?,
    }))
}

/// One point of a trend.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TrendPoint {
    /// Unix seconds.
    pub at: i64,
    pub critical: i64,
    pub high: i64,
    /// False before the monitor's first figure for the environment (the counts are then 0, not known).
    pub recorded: bool,
}

/// Which images a list shows, in which order, and which page.
#[derive(Clone, Debug)]
pub struct ImageQuery {
    pub environment: Option<String>,
    pub team: Option<String>,
    pub repository: Option<String>,
    /// Only current images (`Some(true)`), only replaced ones (`Some(false)`), or all.
    pub current: Option<bool>,
    pub order: ImageOrder,
    /// 1 to [`MAX_PAGE`].
    pub limit: i64,
    pub offset: i64,
}

impl Default for ImageQuery {
    fn default() -> ImageQuery {
        ImageQuery {
            environment: None,
            team: None,
            repository: None,
            current: None,
            order: ImageOrder::Registered,
            limit: DEFAULT_PAGE,
            offset: 0,
        }
    }
}

/// The order of an image list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageOrder {
    /// Newest registration first.
    #[default]
    Registered,
    /// Most open critical, then high, then medium findings first.
    Risk,
    /// Oldest image first (built, else registered).
    Age,
}

impl ImageOrder {
    /// The name the API takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageOrder::Registered => "registered",
            ImageOrder::Risk => "risk",
            ImageOrder::Age => "age",
        }
    }
}

/// Images in a page unless asked otherwise, and at most.
pub const DEFAULT_PAGE: i64 = 500;
pub const MAX_PAGE: i64 = 1000;

/// The environment whose new critical findings raise alerts.
pub const PRODUCTION: &str = "production";

static IMAGE_COLUMNS: &str = "digest, repository, tag, environment, team, product, packages, current, registered_at, \
                              created_at, scanned_at, scanned_db, scan_count, scanned_by, open_critical, open_high, \
                              open_medium, open_low, open_other";
static IMAGE_SELECT_ONE: std::sync::LazyLock<sqlx::SqlStr> = std::sync::LazyLock::new(|| {
    AssertSqlSafe(format!("SELECT {IMAGE_COLUMNS} FROM images WHERE digest = $1")).into_sql_str()
});

fn counts(r: &AnyRow) -> Result<Counts, sqlx::Error> {
    Ok(Counts {
        critical: r.try_get("open_critical")?,
        high: r.try_get("open_high")?,
        medium: r.try_get("open_medium")?,
        low: r.try_get("open_low")?,
        other: r.try_get("open_other")?,
    })
}

fn summary(r: &AnyRow) -> Result<ImageSummary, sqlx::Error> {
    let created_at: Option<i64> = r.try_get("created_at")?;
    let registered_at: i64 = r.try_get("registered_at")?;
    Ok(ImageSummary {
        digest: r.try_get("digest")?,
        repository: r.try_get("repository")?,
        tag: r.try_get("tag")?,
        environment: r.try_get("environment")?,
        team: r.try_get("team")?,
        product: r.try_get("product")?,
        packages: r.try_get("packages")?,
        current: r.try_get::<i64, _>("current")? != 0,
        registered_at,
        created_at,
        age_days: age_days(now(), created_at, registered_at),
        scanned_at: r.try_get("scanned_at")?,
        scanned_db: r.try_get("scanned_db")?,
        scan_count: r.try_get("scan_count")?,
        scanned_by: r.try_get("scanned_by")?,
        open: counts(r)?,
    })
}

fn age_days(now: i64, created: Option<i64>, registered: i64) -> i64 {
    (now - created.unwrap_or(registered)).max(0) / 86_400
}

/// Higher is worse.
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        "negligible" => 1,
        _ => 0,
    }
}

/// When the image an inventory describes was made (its SBOM's creation time), Unix seconds, if known:
/// what image age counts from.
pub fn created_at(inventory: &pare_sbom::Inventory) -> Option<i64> {
    inventory
        .created
        .as_deref()
        .and_then(|c| c.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .filter(|t| *t > 0)
}

/// Parses an inventory the store holds.
/// Refuses an inventory with a NUL character (U+0000) in what the store keeps of it: PostgreSQL's text
/// cannot hold one and SQLite's JSON functions end a string at it, so the findings of such a package
/// would not read back as they were written.
pub fn check_storable(inventory: &pare_sbom::Inventory) -> Result<()> {
    let nul = |s: &str| s.contains('\0');
    if nul(&inventory.subject.name) {
        return Err(Error::BadUpload {
            message: format!("The subject's name {:?} holds a NUL character (U+0000): refused", inventory.subject.name),
        });
    }
    for (n, p) in inventory.packages.iter().enumerate() {
        let fields = [
            ("name", Some(&p.name)),
            ("version", Some(&p.version)),
            ("purl", Some(&p.purl)),
            ("source name", p.source_name.as_ref()),
            ("source version", p.source_version.as_ref()),
        ];
        if let Some((field, value)) = fields.iter().find_map(|(f, v)| v.filter(|v| nul(v)).map(|v| (f, v))) {
            return Err(Error::BadUpload {
                message: format!(
                    "Package {} ({:?} {:?}): its {field} {value:?} holds a NUL character (U+0000), which the monitor \
                     cannot store: refused",
                    n + 1,
                    p.name,
                    p.version
                ),
            });
        }
    }
    Ok(())
}

pub(crate) fn parse_inventory(digest: &str, json: &str) -> Result<pare_sbom::Inventory> {
    serde_json::from_str(json).map_err(|e| Error::StoredInventory { digest: digest.into(), reason: e.to_string() })
}

/// SHA-256 (hex) of a token's secret: what the store keeps.
pub fn token_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// A sqlx SQLite URL for `path`, creating its directory (and the file, `mode=rwc`).
fn sqlite_url(path: &Path) -> Result<String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
    }
    Ok(format!("sqlite://{}?mode=rwc", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn finding(advisory: &str, severity: &str, suppressed: bool) -> NewFinding {
        NewFinding {
            advisory: advisory.into(),
            package: "openssl".into(),
            version: "3.0.11-1~deb12u1".into(),
            severity: severity.into(),
            fixed_version: "3.0.13-1~deb12u1".into(),
            suppressed,
            vex_status: String::new(),
        }
    }

    fn registration(digest: &str, tag: &str) -> Registration {
        Registration {
            digest: digest.into(),
            repository: "app".into(),
            tag: tag.into(),
            environment: PRODUCTION.into(),
            team: "payments".into(),
            product: "app".into(),
            inventory: "{}".into(),
            packages: 1,
            created_at: None,
        }
    }

    async fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(&format!("sqlite:{}", dir.path().join("monitor.db").display())).await.unwrap()
    }

    /// The counts kept per image equal what the findings table says, through new, fixed, reopened
    /// and suppressed findings.
    #[tokio::test]
    async fn kept_counts_equal_the_findings() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let digest = format!("sha256:{:064x}", 1);
        store.register(&registration(&digest, "1"), ("w", 60)).await.unwrap();
        let scans: [Vec<NewFinding>; 4] = [
            vec![finding("CVE-1", "critical", false), finding("CVE-2", "high", false), finding("CVE-3", "low", true)],
            vec![finding("CVE-2", "critical", false)],
            vec![finding("CVE-1", "critical", false), finding("CVE-4", "unknown", false)],
            vec![],
        ];
        for (i, findings) in scans.iter().enumerate() {
            sqlx::query("UPDATE images SET lease_owner = 'w', lease_until = $1")
                .bind(now() + 60)
                .execute(&store.pool)
                .await
                .unwrap();
            store.record_scan("w", &digest, &format!("db{i}"), findings).await.unwrap().unwrap();
            let row = sqlx::query(
                "SELECT open_critical, open_high, open_medium, open_low, open_other, fixed_findings, \
                 remediation_seconds FROM images",
            )
            .fetch_one(&store.pool)
            .await
            .unwrap();
            let kept = counts(&row).unwrap();
            let mut expected = Counts::default();
            let all = store.findings(&digest).await.unwrap();
            for f in all.iter().filter(|f| f.fixed_at.is_none() && !f.suppressed) {
                expected.add(&f.severity, 1);
            }
            assert_eq!(kept, expected, "after scan {i}");
            let fixed: Vec<&StoredFinding> = all.iter().filter(|f| f.fixed_at.is_some()).collect();
            assert_eq!(row.try_get::<i64, _>("fixed_findings").unwrap(), fixed.len() as i64, "after scan {i}");
            let seconds: i64 = fixed.iter().map(|f| f.fixed_at.unwrap() - f.first_seen).sum();
            assert_eq!(row.try_get::<i64, _>("remediation_seconds").unwrap(), seconds, "after scan {i}");
            // The open findings are the scan's, as it says them (a changed severity too); a finding
            // seen again keeps its first-seen time.
            let mut open: Vec<(String, String, bool)> = all
                .iter()
                .filter(|f| f.fixed_at.is_none())
                .map(|f| (f.advisory.clone(), f.severity.clone(), f.suppressed))
                .collect();
            open.sort();
            let said: Vec<(String, String, bool)> =
                findings.iter().map(|f| (f.advisory.clone(), f.severity.clone(), f.suppressed)).collect();
            assert_eq!(open, said, "after scan {i}");
            // The first scan's findings are dated back (the scans run within a second): a finding
            // changed (CVE-2) or reopened (CVE-1) later keeps that date; a new one (CVE-4) gets now.
            if i == 0 {
                sqlx::query("UPDATE findings SET first_seen = 1000").execute(&store.pool).await.unwrap();
            }
            for f in all.iter().filter(|_| i > 0) {
                let old = ["CVE-1", "CVE-2", "CVE-3"].contains(&f.advisory.as_str());
                assert_eq!(f.first_seen == 1000, old, "after scan {i}: {f:?}");
            }
        }
    }

    /// A claim takes images nobody holds: not those this worker is scanning already (it claims again
    /// before its scans are done), except the one an upload registered for its own scan.
    #[tokio::test]
    async fn claims_skip_live_leases_of_their_own_worker() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let digests: Vec<String> = (1..=3).map(|i| format!("sha256:{i:064x}")).collect();
        for d in &digests {
            store.register(&registration(d, ""), ("w", 60)).await.unwrap();
        }
        store.release_all("w").await.unwrap();
        let first = store.claim("w", "db", 60, 2, None).await.unwrap();
        let second = store.claim("w", "db", 60, 2, None).await.unwrap();
        let mut all: Vec<&str> = first.iter().chain(&second).map(|c| c.digest.as_str()).collect();
        all.sort_unstable();
        assert_eq!(all, [&digests[0], &digests[1], &digests[2]], "each image once");
        assert!(store.claim("w", "db", 60, 2, None).await.unwrap().is_empty());
        assert!(store.claim("other", "db", 60, 2, None).await.unwrap().is_empty(), "live leases");
        // An upload's own image, claimed again by its owner.
        let only = store.claim("w", "db", 60, 2, Some(&digests[0])).await.unwrap();
        assert_eq!(only.len(), 1);
        // A restarted worker gives its claims back.
        assert_eq!(store.release_all("w").await.unwrap(), 3);
        assert_eq!(store.claim("other", "db", 60, 5, None).await.unwrap().len(), 3);
    }

    /// The trend follows what was deployed: a day shows the digest its tag pointed at then.
    #[tokio::test]
    async fn trend_follows_the_deploy_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let now = now();
        let (old, new) = (format!("sha256:{:064x}", 1), format!("sha256:{:064x}", 2));
        store.register(&registration(&old, "stable"), ("w", 60)).await.unwrap();
        let bad =
            [finding("CVE-1", "critical", false), finding("CVE-2", "critical", false), finding("CVE-3", "high", false)];
        store.record_scan("w", &old, "db", &bad).await.unwrap().unwrap();
        store.sample_trend(now - 2 * 86_400).await.unwrap();
        // The tag moves to a digest with one high finding: the old one is no longer deployed.
        store.register(&registration(&new, "stable"), ("w", 60)).await.unwrap();
        store.record_scan("w", &new, "db", &[finding("CVE-3", "high", false)]).await.unwrap().unwrap();
        store.sample_trend(now - 86_400).await.unwrap();
        let stats = store.stats().await.unwrap();
        let points = store.trend(PRODUCTION, None, 3, now, stats.risk(PRODUCTION, None)).await.unwrap();
        let got: Vec<(i64, i64, bool)> = points.iter().map(|p| (p.critical, p.high, p.recorded)).collect();
        assert_eq!(got, [(0, 0, false), (2, 1, true), (0, 1, true), (0, 1, true)]);
        assert_eq!(points.last().unwrap().at, now);
        // Another team's trend is its own.
        let other =
            store.trend(PRODUCTION, Some("search"), 3, now, stats.risk(PRODUCTION, Some("search"))).await.unwrap();
        assert!(other.iter().all(|p| p.critical == 0 && p.high == 0));
        // The list pages and counts.
        let (page, total) =
            store.images(&ImageQuery { limit: 1, order: ImageOrder::Risk, ..ImageQuery::default() }).await.unwrap();
        assert_eq!((page.len(), total), (1, 2));
        assert_eq!((page[0].digest.as_str(), page[0].open.critical), (old.as_str(), 2), "most critical first");
        let current = ImageQuery { current: Some(true), ..ImageQuery::default() };
        let (page, total) = store.images(&current).await.unwrap();
        assert_eq!((page.len(), total, page[0].digest.as_str()), (1, 1, new.as_str()));
    }
}
