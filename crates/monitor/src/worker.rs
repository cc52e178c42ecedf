//! The background work of a server: rescans when the vulnerability database changes (claimed image by
//! image, so several servers on one PostgreSQL share them) and delivery of the alert outbox.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::scan::{VulnDb, scan_inventory};
use crate::store::{Recorded, Store};

/// Images claimed at a time by one worker (more are claimed when fewer than half are left to scan).
const BATCH: usize = 64;

/// Recording transactions at once per server on PostgreSQL.
const RECORDERS: usize = 4;

/// What one recording transaction did, per digest (`None`: the claim was lost).
type RecordedBatch = Result<Vec<(String, Option<Recorded>)>>;

/// Adds what one recording transaction did to `total` (a lost claim is said, not counted).
fn add_recorded(total: &mut Recorded, done: std::result::Result<RecordedBatch, tokio::task::JoinError>) -> Result<()> {
    for (digest, r) in done.map_err(|e| Error::Task { message: e.to_string() })?? {
        match r {
            Some(r) => {
                total.new += r.new;
                total.fixed += r.fixed;
                total.alerts += r.alerts;
            }
            None => tracing::warn!("lost the claim on {digest} (lease expired): not recorded"),
        }
    }
    Ok(())
}

/// The header that carries the alert's HMAC-SHA256 (`sha256=HEX` over the body, keyed with
/// `--alert-secret`).
pub const SIGNATURE_HEADER: &str = "x-pare-signature";
/// The header that carries the alert's id: the same id on every retry, for receivers that deduplicate.
pub const DELIVERY_HEADER: &str = "x-pare-delivery";

/// What the workers share with the API.
pub struct Worker {
    pub store: Store,
    /// Names this server in claims (`lease_owner`).
    pub id: String,
    /// How long a claim holds when its worker stops renewing it (it dies): then another takes over.
    pub lease: Duration,
    pub poll: Duration,
    vuln: Mutex<VulnDb>,
    /// Wakes the rescan loop (an upload of VEX, a test).
    pub wake: Notify,
    pub alerts: Option<AlertTarget>,
    pub wake_alerts: Notify,
    /// Wakes the watch loop (a watch was added).
    pub wake_watches: Notify,
    /// A pause before each scan, for the fault tests (`PARE_MONITOR_TEST_SCAN_DELAY_MS`): a kill lands
    /// in the middle of a rescan.
    scan_delay: Option<Duration>,
    /// Scans run at once (the cores, at most 4).
    parallel: usize,
    /// Counts changes to images, findings, deploys and advice: the trend is sampled and the cached
    /// figures recomputed when it moved.
    generation: std::sync::atomic::AtomicU64,
    /// Changes under way (a [`ChangeGuard`] is alive): figures are not cached meanwhile, so no reader
    /// who saw a change committed gets figures from before it.
    changing: std::sync::atomic::AtomicUsize,
    /// The figures of `/metrics` and the dashboard, with the generation and time they were computed at.
    stats: tokio::sync::Mutex<Option<(u64, std::time::Instant, Arc<crate::store::Stats>)>>,
}

/// A change under way (see [`Worker::change`]).
pub struct ChangeGuard<'a> {
    worker: &'a Worker,
}

impl Drop for ChangeGuard<'_> {
    fn drop(&mut self) {
        self.worker.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.worker.changing.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How long cached figures are used without a change seen by this server: on PostgreSQL, changes made
/// by another server show within this time; on SQLite (one server) only the images' ages move.
fn stats_ttl(backend: crate::store::Backend) -> Duration {
    match backend {
        crate::store::Backend::Postgres => Duration::from_secs(5),
        crate::store::Backend::Sqlite => Duration::from_secs(60),
    }
}

/// Where alerts go.
#[derive(Clone, Debug)]
pub struct AlertTarget {
    pub url: String,
    pub secret: Option<String>,
}

/// `sha256=HEX` of `body` keyed with `secret`: the value of [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this branch is never taken.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Worker {
    pub fn new(
        store: Store,
        id: String,
        vuln: VulnDb,
        lease: Duration,
        poll: Duration,
        alerts: Option<AlertTarget>,
    ) -> Worker {
        Worker {
            store,
            id,
            lease,
            poll,
            vuln: Mutex::new(vuln),
            wake: Notify::new(),
            alerts,
            wake_alerts: Notify::new(),
            wake_watches: Notify::new(),
            scan_delay: std::env::var("PARE_MONITOR_TEST_SCAN_DELAY_MS")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_millis),
            parallel: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            generation: std::sync::atomic::AtomicU64::new(1),
            changing: std::sync::atomic::AtomicUsize::new(0),
            stats: tokio::sync::Mutex::new(None),
        }
    }

    fn lease_secs(&self) -> i64 {
        i64::try_from(self.lease.as_secs()).unwrap_or(i64::MAX / 4).max(1)
    }

    /// The database in use, its SHA-256 and build time.
    pub fn database(&self) -> Option<(Arc<crate::scan::CachedDb>, String, String)> {
        let vuln = self.vuln.lock().ok()?;
        let db = vuln.current()?;
        let (sha, built) = (db.info().file_sha256.clone(), db.info().built_at.to_string());
        Some((db, sha, built))
    }

    /// The database file's path.
    pub fn vuln_path(&self) -> String {
        self.vuln.lock().map(|v| v.path().display().to_string()).unwrap_or_default()
    }

    /// Reopens the database file when it changed (off the async threads: opening hashes it).
    pub async fn refresh(self: &Arc<Self>) -> Result<bool> {
        let me = Arc::clone(self);
        let changed = tokio::task::spawn_blocking(move || {
            let mut vuln =
                me.vuln.lock().map_err(|_| Error::Task { message: "the database lock is poisoned".into() })?;
            vuln.refresh()
        })
        .await
        .map_err(|e| Error::Task { message: e.to_string() })??;
        if changed && let Some((_, sha, built)) = self.database() {
            self.store.note_database(&sha, &built).await?;
            tracing::info!("vulnerability database {sha} (built {built}): rescanning");
        }
        Ok(changed)
    }

    /// Scans every image claimable now (not scanned with the current database).
    pub async fn scan_pending(self: &Arc<Self>) -> Result<Recorded> {
        let owner = self.id.clone();
        self.scan_as(&owner, None).await
    }

    /// Scans an image just registered with [`Worker::upload_owner`] as its claim's owner.
    pub async fn scan_upload(self: &Arc<Self>, owner: &str, digest: &str) -> Result<Recorded> {
        self.scan_as(owner, Some(digest)).await
    }

    /// A claim owner for one upload: its scan is never taken by this server's own rescan loop.
    pub fn upload_owner(&self) -> String {
        let n: u64 = rand::random();
        format!("{}/upload-{n:016x}", self.id)
    }

    /// The lease of a claim, in seconds.
    pub fn lease_seconds(&self) -> i64 {
        self.lease_secs()
    }

    async fn scan_as(self: &Arc<Self>, owner: &str, only: Option<&str>) -> Result<Recorded> {
        let mut total = Recorded::default();
        let Some((db, sha, _)) = self.database() else {
            return Ok(total);
        };
        let mut vex_cache: BTreeMap<String, Arc<Vec<pare_vuln::vex::Statement>>> = BTreeMap::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(self.parallel));
        // Scans run on the blocking pool, as many at once as there are cores; what has finished is
        // recorded in one transaction while the rest go on scanning, and the next images are claimed
        // before the cores run dry (a claim never takes this server's own live claims back).
        let mut scans = tokio::task::JoinSet::new();
        // Recording transactions under way: one on SQLite (one connection), several on PostgreSQL,
        // where a recording waits mostly on the database's round trips.
        let mut records: tokio::task::JoinSet<RecordedBatch> = tokio::task::JoinSet::new();
        let recorders = match self.store.backend() {
            crate::store::Backend::Sqlite => 1,
            crate::store::Backend::Postgres => RECORDERS,
        };
        let mut claimable = true;
        loop {
            if claimable && scans.len() < BATCH / 2 {
                let claimed = self.store.claim(owner, &sha, self.lease_secs(), BATCH as i64, only).await?;
                claimable = !claimed.is_empty() && only.is_none();
                self.spawn_scans(claimed, &db, &permits, &mut vex_cache, &mut scans).await?;
            }
            let Some(done) = scans.join_next().await else {
                break;
            };
            let mut ready = vec![done.map_err(|e| Error::Task { message: e.to_string() })?];
            while let Some(more) = scans.try_join_next() {
                ready.push(more.map_err(|e| Error::Task { message: e.to_string() })?);
            }
            let mut results = Vec::with_capacity(ready.len());
            for (digest, scanned) in ready {
                match scanned {
                    Ok(findings) => results.push((digest, findings)),
                    Err(e) => {
                        tracing::warn!("scanning {digest}: {e}");
                        // The claim is kept until its lease expires: the image is tried again then,
                        // not again and again in this pass.
                        if only.is_some() {
                            self.store.release(owner, &digest).await?;
                            return Err(e);
                        }
                    }
                }
            }
            if results.is_empty() {
                continue;
            }
            while records.len() >= recorders {
                if let Some(done) = records.join_next().await {
                    add_recorded(&mut total, done)?;
                }
            }
            let (worker, owner, sha) = (Arc::clone(self), owner.to_string(), sha.clone());
            records.spawn(async move {
                let change = worker.change();
                let recorded = worker.store.record_scans(&owner, &sha, &results).await;
                drop(change);
                Ok(results.into_iter().map(|(digest, _)| digest).zip(recorded?).collect())
            });
        }
        while let Some(done) = records.join_next().await {
            add_recorded(&mut total, done)?;
        }
        if total.alerts > 0 {
            self.wake_alerts.notify_one();
        }
        Ok(total)
    }

    /// Starts the scan of each claimed image on the blocking pool (as many at once as `permits`
    /// allows), with its product's VEX statements (read once per product and pass).
    async fn spawn_scans(
        &self,
        claimed: Vec<crate::store::Claimed>,
        db: &Arc<crate::scan::CachedDb>,
        permits: &Arc<tokio::sync::Semaphore>,
        vex_cache: &mut BTreeMap<String, Arc<Vec<pare_vuln::vex::Statement>>>,
        scans: &mut tokio::task::JoinSet<(String, Result<Vec<crate::store::NewFinding>>)>,
    ) -> Result<()> {
        for image in claimed {
            let vex = match vex_cache.get(&image.product) {
                Some(v) => Arc::clone(v),
                None => {
                    let v = Arc::new(self.vex_statements(&image.product).await?);
                    vex_cache.insert(image.product.clone(), Arc::clone(&v));
                    v
                }
            };
            let (db, permits, delay) = (Arc::clone(db), Arc::clone(permits), self.scan_delay);
            let digest = image.digest.clone();
            scans.spawn(async move {
                let permit = permits.acquire_owned().await;
                let scanned = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    if let Some(d) = delay {
                        std::thread::sleep(d);
                    }
                    scan_inventory(db.as_ref(), &image.digest, &image.product, &image.inventory, &vex)
                })
                .await
                .map_err(|e| Error::Task { message: e.to_string() })
                .and_then(|r| r);
                (digest, scanned)
            });
        }
        Ok(())
    }

    /// The VEX statements uploaded for `product` (none when its stored document no longer reads: said).
    async fn vex_statements(&self, product: &str) -> Result<Vec<pare_vuln::vex::Statement>> {
        Ok(match self.store.vex(product).await? {
            Some(doc) => crate::scan::read_vex(doc.as_bytes(), &format!("VEX of {product}")).unwrap_or_else(|e| {
                tracing::warn!("the stored VEX of {product} cannot be read: {e}");
                Vec::new()
            }),
            None => Vec::new(),
        })
    }

    /// Marks a change to images, findings, deploys or advice, from now until the guard is dropped
    /// (after the change is committed): the figures are computed afresh meanwhile and again after, and
    /// the trend is sampled on the rescan loop's next turn.
    pub fn change(&self) -> ChangeGuard<'_> {
        self.changing.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ChangeGuard { worker: self }
    }

    /// The figures of `/metrics` and the dashboard (open findings, images, freshness, remediation,
    /// rebuild advice per environment and team): computed again after a change, else at most every
    /// `stats_ttl` (the rescan loop refreshes them before that, so a request rarely waits for them).
    pub async fn stats(&self) -> Result<Arc<crate::store::Stats>> {
        self.stats_within(stats_ttl(self.store.backend())).await
    }

    async fn stats_within(&self, ttl: Duration) -> Result<Arc<crate::store::Stats>> {
        let mut cached = self.stats.lock().await;
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let steady = self.changing.load(std::sync::atomic::Ordering::SeqCst) == 0;
        if let Some((g, at, stats)) = cached.as_ref()
            && steady
            && *g == generation
            && at.elapsed() < ttl
        {
            return Ok(Arc::clone(stats));
        }
        let stats = Arc::new(self.store.stats().await?);
        *cached = steady.then(|| (generation, std::time::Instant::now(), Arc::clone(&stats)));
        Ok(stats)
    }

    /// Writes today's trend sample when something changed since the last one, or the day turned.
    async fn sample_trend(&self, last: &mut (u64, i64)) {
        let now = crate::store::now();
        let day = now.div_euclid(86_400);
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if (generation, day) == *last {
            return;
        }
        match self.store.sample_trend(now).await {
            Ok(()) => *last = (generation, day),
            Err(e) => tracing::warn!("trend sample: {e}"),
        }
    }

    /// The rescan loop: poll the database file, scan what is pending; forever.
    pub async fn run_rescans(self: Arc<Self>) {
        let mut last_sample = (0, i64::MIN);
        match self.store.release_all(&self.id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("took up {n} images this worker had claimed before it restarted"),
            Err(e) => tracing::warn!("claims of an earlier run of {}: {e}", self.id),
        }
        loop {
            if let Err(e) = self.refresh().await {
                tracing::warn!("{e} (keeping the database in use)");
            }
            match self.scan_pending().await {
                Ok(r) if r != Recorded::default() => {
                    tracing::info!("rescan: {} new findings, {} fixed, {} alerts", r.new, r.fixed, r.alerts)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("rescan: {e}"),
            }
            self.sample_trend(&mut last_sample).await;
            if let Err(e) = self.stats_within(stats_ttl(self.store.backend()) / 2).await {
                tracing::warn!("figures: {e}");
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// The delivery loop: POST each due alert, at least once, with backoff on failure; forever.
    pub async fn run_alerts(self: Arc<Self>) {
        let Some(target) = self.alerts.clone() else {
            return;
        };
        let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("alerts are not delivered: cannot make an HTTP client: {e}");
                return;
            }
        };
        loop {
            match self.store.claim_alerts(60, 16).await {
                Ok(alerts) => {
                    for alert in alerts {
                        let mut request = client
                            .post(&target.url)
                            .header("content-type", "application/json")
                            .header(DELIVERY_HEADER, &alert.id)
                            .body(alert.payload.clone());
                        if let Some(secret) = &target.secret {
                            request = request.header(SIGNATURE_HEADER, sign(secret, alert.payload.as_bytes()));
                        }
                        let outcome = match request.send().await {
                            Ok(r) if r.status().is_success() => Ok(()),
                            Ok(r) => Err(format!("the receiver answered {}", r.status())),
                            Err(e) => Err(e.to_string()),
                        };
                        let saved = match outcome {
                            Ok(()) => self.store.alert_delivered(&alert.id).await,
                            Err(e) => {
                                // 1 s, 2 s, 4 s … at most 5 minutes between attempts; never given up.
                                let wait = 1i64 << alert.attempts.clamp(0, 8);
                                tracing::warn!("alert {}: {e}; retrying in {wait} s", alert.id);
                                self.store.alert_failed(&alert.id, &e, wait.min(300)).await
                            }
                        };
                        if let Err(e) = saved {
                            tracing::warn!("alert {}: {e}", alert.id);
                        }
                    }
                }
                Err(e) => tracing::warn!("alerts: {e}"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                () = self.wake_alerts.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
