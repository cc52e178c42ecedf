//! The store: images, deploys, findings, VEX, tokens, the alert outbox and work claims, in SQLite or
//! PostgreSQL through sqlx's `Any` driver: one set of migrations (`migrations/`), one set of queries
//! (`$1` placeholders, which SQLite accepts too). The one difference is the claim: PostgreSQL's
//! `FOR UPDATE SKIP LOCKED` lets several servers share the work; SQLite, one process with one
//! connection, claims inside its single write transaction.

use std::borrow::Cow;
use std::collections::BTreeMap;
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
    (3, "advice", include_str!("../migrations/0003_advice.sql")),
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
    /// Age in days of each current image, with its environment.
    pub ages: Vec<(String, i64)>,
    pub outbox_pending: i64,
    pub outbox_delivered: i64,
    pub unscanned: i64,
}

/// A (severity, first seen, fixed at) triple of a finding on a current image, for trends.
pub type Lifetime = (String, i64, Option<i64>);

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
        sqlx::query(
            "INSERT INTO images (digest, repository, tag, environment, team, product, inventory, packages, created_at, \
             registered_at, updated_at, current, scanned_db, scanned_at, scan_count, scanned_by, lease_owner, \
             lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1, '', NULL, 0, '', $11, $12) \
             ON CONFLICT (digest) DO UPDATE SET repository = $2, tag = $3, environment = $4, team = $5, product = $6, \
             updated_at = $10, current = 1",
        )
        .bind(&reg.digest)
        .bind(&reg.repository)
        .bind(&reg.tag)
        .bind(&reg.environment)
        .bind(&reg.team)
        .bind(&reg.product)
        .bind(&reg.inventory)
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

    /// Every image with its open findings, newest registration first.
    pub async fn images(&self) -> Result<Vec<ImageSummary>> {
        let rows = sqlx::query(IMAGE_SELECT_ALL.clone()).fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        let mut images = rows.iter().map(summary).collect::<Result<Vec<_>, sqlx::Error>>().map_err(|e| self.err(e))?;
        let counts = sqlx::query(
            "SELECT image_digest, severity, COUNT(*) AS n FROM findings WHERE fixed_at IS NULL AND suppressed = 0 \
             GROUP BY image_digest, severity",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut by_digest: BTreeMap<String, Counts> = BTreeMap::new();
        for r in counts {
            let digest: String = r.try_get("image_digest").map_err(|e| self.err(e))?;
            let severity: String = r.try_get("severity").map_err(|e| self.err(e))?;
            let n: i64 = r.try_get("n").map_err(|e| self.err(e))?;
            by_digest.entry(digest).or_default().add(&severity, n);
        }
        for image in &mut images {
            image.open = by_digest.remove(&image.digest).unwrap_or_default();
        }
        Ok(images)
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
        let mut summary = summary(&row).map_err(|e| self.err(e))?;
        let inventory: String = row.try_get("inventory").map_err(|e| self.err(e))?;
        let inventory = parse_inventory(digest, &inventory)?;
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
        for f in findings.iter().filter(|f| f.fixed_at.is_none() && !f.suppressed) {
            summary.open.add(&f.severity, 1);
        }
        Ok(Some(ImageDetail { summary, packages, findings }))
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

    /// Claims up to `limit` images not yet scanned with `db` and not leased by another live worker, for
    /// `lease` seconds; `only` restricts the claim to one digest (an upload scans its own image).
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
             WHERE scanned_db <> $3 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1) \
             AND ($6 = '' OR digest = $6) \
             ORDER BY digest LIMIT $5{lock}) RETURNING digest, product, inventory"
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
        rows.iter()
            .map(|r| {
                Ok(Claimed {
                    digest: r.try_get("digest")?,
                    product: r.try_get("product")?,
                    inventory: r.try_get("inventory")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))
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

    /// Records a scan of a claimed image in one transaction: new findings (first_seen now), findings
    /// gone (fixed_at now), the image marked scanned with `db`, and an outbox alert for each new
    /// critical finding on a production image. Returns `None`, changing nothing, when `owner` no longer
    /// holds the claim (its lease expired and another worker took the image).
    pub async fn record_scan(
        &self,
        owner: &str,
        digest: &str,
        db: &str,
        findings: &[NewFinding],
    ) -> Result<Option<Recorded>> {
        let now = now();
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // First: the claim check, which also locks the image's row until commit.
        let held = sqlx::query(
            "UPDATE images SET scanned_db = $1, scanned_at = $2, lease_owner = NULL, lease_until = NULL, \
             scan_count = scan_count + 1, scanned_by = $4 WHERE digest = $3 AND lease_owner = $4",
        )
        .bind(db)
        .bind(now)
        .bind(digest)
        .bind(owner)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?
        .rows_affected();
        if held != 1 {
            tx.rollback().await.map_err(|e| self.err(e))?;
            return Ok(None);
        }
        let image = sqlx::query("SELECT repository, tag, environment, team FROM images WHERE digest = $1")
            .bind(digest)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let (repository, tag, environment, team): (String, String, String, String) = (
            image.try_get("repository").map_err(|e| self.err(e))?,
            image.try_get("tag").map_err(|e| self.err(e))?,
            image.try_get("environment").map_err(|e| self.err(e))?,
            image.try_get("team").map_err(|e| self.err(e))?,
        );
        let rows = sqlx::query(
            "SELECT advisory, package, version, severity, fixed_version, suppressed, vex_status, fixed_at FROM findings \
             WHERE image_digest = $1",
        )
        .bind(digest)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        let mut existing: BTreeMap<(String, String), (NewFinding, Option<i64>)> = BTreeMap::new();
        for r in &rows {
            let f = NewFinding {
                advisory: r.try_get("advisory").map_err(|e| self.err(e))?,
                package: r.try_get("package").map_err(|e| self.err(e))?,
                version: r.try_get("version").map_err(|e| self.err(e))?,
                severity: r.try_get("severity").map_err(|e| self.err(e))?,
                fixed_version: r.try_get("fixed_version").map_err(|e| self.err(e))?,
                suppressed: r.try_get::<i64, _>("suppressed").map_err(|e| self.err(e))? != 0,
                vex_status: r.try_get("vex_status").map_err(|e| self.err(e))?,
            };
            let fixed_at: Option<i64> = r.try_get("fixed_at").map_err(|e| self.err(e))?;
            existing.insert((f.advisory.clone(), f.package.clone()), (f, fixed_at));
        }
        let mut recorded = Recorded::default();
        let mut seen = std::collections::BTreeSet::new();
        for f in findings {
            let key = (f.advisory.clone(), f.package.clone());
            if !seen.insert(key.clone()) {
                continue;
            }
            match existing.get(&key) {
                None => {
                    sqlx::query(
                        "INSERT INTO findings (image_digest, advisory, package, version, severity, fixed_version, \
                         suppressed, vex_status, first_seen, fixed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
                    )
                    .bind(digest)
                    .bind(&f.advisory)
                    .bind(&f.package)
                    .bind(&f.version)
                    .bind(&f.severity)
                    .bind(&f.fixed_version)
                    .bind(i64::from(f.suppressed))
                    .bind(&f.vex_status)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.err(e))?;
                    recorded.new += 1;
                    if f.severity == "critical" && environment == PRODUCTION && !f.suppressed {
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
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.err(e))?;
                        recorded.alerts += 1;
                    }
                }
                Some((old, fixed_at)) => {
                    if fixed_at.is_some() {
                        recorded.new += 1;
                    }
                    if fixed_at.is_some() || old != f {
                        // Reopened (first_seen kept), or its severity, fix or VEX changed.
                        sqlx::query(
                            "UPDATE findings SET version = $4, severity = $5, fixed_version = $6, suppressed = $7, \
                             vex_status = $8, fixed_at = NULL WHERE image_digest = $1 AND advisory = $2 AND package = $3",
                        )
                        .bind(digest)
                        .bind(&f.advisory)
                        .bind(&f.package)
                        .bind(&f.version)
                        .bind(&f.severity)
                        .bind(&f.fixed_version)
                        .bind(i64::from(f.suppressed))
                        .bind(&f.vex_status)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.err(e))?;
                    }
                }
            }
        }
        for ((advisory, package), (_, fixed_at)) in &existing {
            if fixed_at.is_none() && !seen.contains(&(advisory.clone(), package.clone())) {
                sqlx::query(
                    "UPDATE findings SET fixed_at = $4 WHERE image_digest = $1 AND advisory = $2 AND package = $3",
                )
                .bind(digest)
                .bind(advisory)
                .bind(package)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
                recorded.fixed += 1;
            }
        }
        tx.commit().await.map_err(|e| self.err(e))?;
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

    /// The figures `/metrics` shows.
    pub async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        let now = now();
        let rows = sqlx::query(
            "SELECT i.environment, i.team, f.severity, COUNT(*) AS n FROM findings f JOIN images i \
             ON i.digest = f.image_digest WHERE i.current = 1 AND f.fixed_at IS NULL AND f.suppressed = 0 \
             GROUP BY i.environment, i.team, f.severity",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        for r in rows {
            let key = (r.try_get("environment").map_err(|e| self.err(e))?, r.try_get("team").map_err(|e| self.err(e))?);
            let severity: String = r.try_get("severity").map_err(|e| self.err(e))?;
            stats.open.entry(key).or_default().add(&severity, r.try_get("n").map_err(|e| self.err(e))?);
        }
        let rows = sqlx::query("SELECT environment, team, created_at, registered_at FROM images WHERE current = 1")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        for r in rows {
            let env: String = r.try_get("environment").map_err(|e| self.err(e))?;
            let team: String = r.try_get("team").map_err(|e| self.err(e))?;
            let created: Option<i64> = r.try_get("created_at").map_err(|e| self.err(e))?;
            let registered: i64 = r.try_get("registered_at").map_err(|e| self.err(e))?;
            *stats.images.entry((env.clone(), team)).or_default() += 1;
            stats.ages.push((env, age_days(now, created, registered)));
        }
        // Summed in the database (cast: PostgreSQL's SUM of BIGINT is NUMERIC, which `Any` cannot decode).
        let rows = sqlx::query(
            "SELECT i.environment, i.team, COUNT(*) AS n, CAST(SUM(f.fixed_at - f.first_seen) AS BIGINT) AS total \
             FROM findings f JOIN images i ON i.digest = f.image_digest WHERE f.fixed_at IS NOT NULL \
             GROUP BY i.environment, i.team",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        for r in rows {
            let key = (r.try_get("environment").map_err(|e| self.err(e))?, r.try_get("team").map_err(|e| self.err(e))?);
            let n: i64 = r.try_get("n").map_err(|e| self.err(e))?;
            let total: Option<i64> = r.try_get("total").map_err(|e| self.err(e))?;
            stats.remediated.insert(key, (n, total.unwrap_or(0).max(0)));
        }
        let row = sqlx::query("SELECT COUNT(*) AS n, COUNT(delivered_at) AS d FROM outbox")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let total: i64 = row.try_get("n").map_err(|e| self.err(e))?;
        stats.outbox_delivered = row.try_get("d").map_err(|e| self.err(e))?;
        stats.outbox_pending = total - stats.outbox_delivered;
        Ok(stats)
    }

    /// Critical and high findings (not suppressed) of current images in `environment`: when each was
    /// first seen and fixed, from which trends are drawn.
    pub async fn lifetimes(&self, environment: &str) -> Result<Vec<Lifetime>> {
        let rows = sqlx::query(
            "SELECT f.severity, f.first_seen, f.fixed_at FROM findings f JOIN images i ON i.digest = f.image_digest \
             WHERE i.environment = $1 AND i.current = 1 AND f.suppressed = 0 AND f.severity IN ('critical', 'high')",
        )
        .bind(environment)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|r| Ok((r.try_get("severity")?, r.try_get("first_seen")?, r.try_get("fixed_at")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.err(e))
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
            "SELECT i.digest, i.inventory, a.pare_built, a.base_name, a.base_digest FROM images i \
             LEFT JOIN advice a ON a.digest = i.digest WHERE i.current = 1 AND i.digest > $1 ORDER BY i.digest LIMIT $2",
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

    /// Current images with a rebuild advised or a newer base, with where they run.
    pub async fn advised(&self) -> Result<Vec<crate::advice::Advised>> {
        let sql = AssertSqlSafe(format!(
            "SELECT i.repository, i.tag, i.environment, i.team, i.created_at, i.registered_at, {ADVICE_COLUMNS} \
             FROM advice a \
             JOIN images i ON i.digest = a.digest WHERE i.current = 1 AND (a.rebuild_advised = 1 OR \
             a.newer_base_digest <> '') ORDER BY i.environment, i.team, i.repository, a.digest"
        ));
        let rows = sqlx::query(sql).fetch_all(&self.pool).await.map_err(|e| self.err(e))?;
        let now = now();
        rows.iter()
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
            .map_err(|e| self.err(e))
    }
}

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

/// The environment whose new critical findings raise alerts.
pub const PRODUCTION: &str = "production";

static IMAGE_COLUMNS: &str = "digest, repository, tag, environment, team, product, packages, current, registered_at, \
                              created_at, scanned_at, scanned_db, scan_count, scanned_by";
static IMAGE_SELECT_ALL: std::sync::LazyLock<sqlx::SqlStr> = std::sync::LazyLock::new(|| {
    AssertSqlSafe(format!("SELECT {IMAGE_COLUMNS} FROM images ORDER BY registered_at DESC, digest")).into_sql_str()
});
static IMAGE_SELECT_ONE: std::sync::LazyLock<sqlx::SqlStr> = std::sync::LazyLock::new(|| {
    AssertSqlSafe(format!("SELECT {IMAGE_COLUMNS}, inventory FROM images WHERE digest = $1")).into_sql_str()
});

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
        open: Counts::default(),
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

/// Parses an inventory the store holds.
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
