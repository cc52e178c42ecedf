//! Registry watches: repositories (all their tags, or the tags and wildcard patterns given) checked on
//! a schedule. A tag whose digest was not seen before is pulled through pare's registry client,
//! cataloged as `pare monitor push` catalogs an image (`pare_vuln::Subject::into_inventory`) and
//! registered with the watch's environment and team, so it is scanned; a tag that moved is registered
//! again, which records the deploy. Failures are kept in the watch (`last_error`) and logged; the next
//! check is scheduled either way. Watches are claimed like images, so several servers on one
//! PostgreSQL never check one watch at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use pare_oci::registry::Client;
use pare_oci::{Digest, Location, OpenOptions, Reference, Root};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::store::Registration;
use crate::worker::Worker;

/// The interval of a watch when none is given: one hour.
pub const DEFAULT_INTERVAL: i64 = 3_600;
/// The longest interval: 30 days.
pub const MAX_INTERVAL: i64 = 30 * 86_400;
/// Watches claimed at a time by one server.
const BATCH: i64 = 4;

/// A watch to add (`POST /api/v1/watches`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NewWatch {
    /// `registry/repository`, without tag or digest (`127.0.0.1:5000/team/app`, `debian`).
    pub repository: String,
    /// Tags, or patterns with `*` and `?`; empty: every tag of the repository.
    #[serde(default)]
    pub tags: Vec<String>,
    pub environment: String,
    pub team: String,
    /// Seconds between checks (1 to 2592000, default 3600).
    #[serde(default)]
    pub interval_seconds: Option<i64>,
}

/// What the last check found for one tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TagSeen {
    /// The digest the tag resolved to (an index for a multi-platform image).
    pub digest: String,
    /// The digest registered: the image itself, or the server's platform's image of an index.
    pub image: String,
}

/// A watch as stored, with its last check.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Watch {
    pub id: String,
    /// `registry/repository`, normalised (`docker.io/library/debian`).
    pub repository: String,
    /// Tags or patterns; empty: every tag.
    pub tags: Vec<String>,
    pub environment: String,
    pub team: String,
    pub interval_seconds: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// When the last check ended, if one did.
    pub last_checked_at: Option<i64>,
    /// What went wrong in the last check (absent when nothing did).
    pub last_error: Option<String>,
    /// The tags the last checks resolved: tag → digests.
    pub tags_seen: BTreeMap<String, TagSeen>,
    /// The next check is due at this time (Unix seconds).
    pub next_check_at: i64,
}

impl NewWatch {
    /// Checks the fields and normalises the repository and the interval.
    pub fn validated(mut self) -> Result<NewWatch> {
        let bad = |message: String| Error::BadRequest { message };
        crate::api::label_ok("environment", &self.environment)?;
        crate::api::label_ok("team", &self.team)?;
        self.repository = normalise_repository(&self.repository)?;
        for tag in &self.tags {
            let plain = tag.replace(['*', '?'], "x");
            if plain.is_empty()
                || plain.len() > 128
                || !plain.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            {
                return Err(bad(format!(
                    "tag `{tag}` is neither a tag nor a pattern (letters, digits, `_`, `.`, `-`, `*`, `?`)"
                )));
            }
        }
        self.tags.sort();
        self.tags.dedup();
        let interval = self.interval_seconds.unwrap_or(DEFAULT_INTERVAL);
        if !(1..=MAX_INTERVAL).contains(&interval) {
            return Err(bad(format!("interval_seconds {interval} is not between 1 and {MAX_INTERVAL}")));
        }
        self.interval_seconds = Some(interval);
        Ok(self)
    }
}

/// `registry/repository` as pare names it; a tag or digest is refused (tags are given apart).
fn normalise_repository(value: &str) -> Result<String> {
    let bad = |message: String| Error::BadRequest { message };
    let last = value.rsplit('/').next().unwrap_or(value);
    if value.contains('@') || (value.contains('/') && last.contains(':')) {
        return Err(bad(format!("`{value}` names a tag or digest: give the repository alone, and tags apart")));
    }
    let reference = Reference::parse(value).map_err(|e| bad(e.to_string()))?;
    Ok(reference.name())
}

/// The units of an interval, largest first.
const INTERVAL_UNITS: [(&str, i64); 4] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];

/// `30s`, `15m`, `1h`, `2d` or plain seconds.
pub fn parse_interval(value: &str) -> Result<i64> {
    let value = value.trim();
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => value.split_at(i),
        None => (value, "s"),
    };
    let scale = INTERVAL_UNITS.iter().find(|(u, _)| *u == unit).map_or(0, |(_, scale)| *scale);
    match number.parse::<i64>() {
        Ok(n) if scale > 0 && n > 0 && n.saturating_mul(scale) <= MAX_INTERVAL => Ok(n * scale),
        _ => Err(Error::BadRequest {
            message: format!("interval `{value}`: give 30s, 15m, 1h, 2d or seconds, at most 30 days"),
        }),
    }
}

/// An interval as `parse_interval` reads it, in its largest whole unit (`3600` → `1h`, `90` → `90s`).
pub fn format_interval(seconds: i64) -> String {
    let (unit, scale) =
        INTERVAL_UNITS.iter().find(|(_, scale)| seconds % scale == 0 && seconds != 0).copied().unwrap_or(("s", 1));
    format!("{}{unit}", seconds / scale)
}

/// `REPO=ENV/TEAM` (`pare monitor serve --watch`): every tag, the default interval.
pub fn parse_watch_flag(value: &str) -> Result<NewWatch> {
    let (repository, rest) = value.split_once('=').unwrap_or((value, ""));
    let Some((environment, team)) = rest.split_once('/') else {
        return Err(Error::BadRequest { message: format!("--watch `{value}`: give REPO=ENV/TEAM") });
    };
    NewWatch {
        repository: repository.to_string(),
        tags: Vec::new(),
        environment: environment.to_string(),
        team: team.to_string(),
        interval_seconds: None,
    }
    .validated()
}

/// The id of a watch given on the server's command line: the same on every start, so a restart (or
/// another server with the same flags) does not add it twice.
pub fn flag_id(watch: &NewWatch) -> String {
    use sha2::Digest as _;
    let key = format!("{}\n{}\n{}", watch.repository, watch.environment, watch.team);
    format!("serve-{}", &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..24])
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Task { message: e.to_string() })?
}

/// The tags of the watch and the digest each resolves to; a tag that fails is an error of its own.
fn resolve(client: &Client, repository: &Reference, patterns: &[String]) -> Result<Vec<(String, Result<Digest>)>> {
    let literal = !patterns.is_empty() && patterns.iter().all(|p| !p.contains(['*', '?']));
    let tags: Vec<String> = if literal {
        patterns.to_vec()
    } else {
        let mut all = client.list_tags(repository)?;
        all.retain(|t| patterns.is_empty() || patterns.iter().any(|p| pare_oci::wildcard_match(p, t)));
        all
    };
    Ok(tags
        .into_iter()
        .map(|tag| {
            let digest = match client.head_manifest(&repository.with_tag(&tag)) {
                Ok(Some(desc)) => Ok(desc.digest().clone()),
                Ok(None) => {
                    Err(Error::BadRequest { message: format!("tag `{tag}` not found in {}", repository.name()) })
                }
                Err(e) => Err(e.into()),
            };
            (tag, digest)
        })
        .collect())
}

/// Opens `repository@digest` and picks the image: the manifest itself, or the server's platform's (or
/// the only) image of an index.
fn open(client: &Client, repository: &Reference, digest: Digest) -> Result<pare_oci::Image> {
    let location = Location::Registry(repository.with_digest(digest));
    let options = OpenOptions {
        registry: Some(client.clone()),
        blob_cache: pare_oci::registry::BlobCache::from_env(),
        ..Default::default()
    };
    let root = Root::open(location.open(&options)?.source)?;
    Ok(root.image(None)?)
}

/// The inventory of an image, made as `pare monitor push` makes it.
fn catalog(image: &pare_oci::Image, name: &str) -> Result<pare_sbom::Inventory> {
    let cache = pare_sbom::LayerCache::from_env();
    let limits = pare_oci::fs::Limits::default();
    let subject = pare_vuln::Subject::Image { image, name, limits: &limits, cache: cache.as_ref() };
    let (inventory, warnings) = subject.into_inventory()?;
    for w in warnings {
        tracing::warn!("{name}: {w}");
    }
    Ok(inventory)
}

/// Registers one tag's image (made or found in the store) and scans it as an upload is scanned.
async fn register_tag(
    worker: &Arc<Worker>,
    client: &Client,
    watch: &Watch,
    repository: &Reference,
    tag: &str,
    digest: Digest,
) -> Result<TagSeen> {
    let seen_digest = digest.to_string();
    let (c, r) = (client.clone(), repository.clone());
    let image = blocking(move || open(&c, &r, digest)).await?;
    let image_digest = image.digest().to_string();
    let mut registration = match worker.store.stored_registration(&image_digest).await? {
        Some(stored) => stored,
        None => {
            let name = format!("{}:{tag}", watch.repository);
            let inventory = blocking(move || catalog(&image, &name)).await?;
            crate::store::check_storable(&inventory)?;
            let created_at = crate::store::created_at(&inventory);
            Registration {
                digest: image_digest.clone(),
                repository: String::new(),
                tag: String::new(),
                environment: String::new(),
                team: String::new(),
                product: watch.repository.clone(),
                inventory: serde_json::to_string(&inventory).map_err(|e| Error::Task { message: e.to_string() })?,
                packages: i64::try_from(inventory.packages.len()).unwrap_or(i64::MAX),
                created_at,
            }
        }
    };
    registration.repository = watch.repository.clone();
    registration.tag = tag.to_string();
    registration.environment = watch.environment.clone();
    registration.team = watch.team.clone();
    let owner = worker.upload_owner();
    let change = worker.change();
    let registered = worker.store.register(&registration, (&owner, worker.lease_seconds())).await?;
    drop(change);
    if registered.new_image || registered.deployed_from.is_some() {
        tracing::info!(
            "watch {}: {}:{tag} is {image_digest}{}",
            watch.id,
            watch.repository,
            registered.deployed_from.as_deref().map(|d| format!(" (was {d})")).unwrap_or_default()
        );
    }
    if worker.database().is_some() {
        worker.scan_upload(&owner, &image_digest).await?;
    } else {
        worker.store.release(&owner, &image_digest).await?;
    }
    Ok(TagSeen { digest: seen_digest, image: image_digest })
}

/// One check of a watch: the tags it resolved, and what failed ('' when nothing did).
async fn check(worker: &Arc<Worker>, client: &Client, watch: &Watch) -> (BTreeMap<String, TagSeen>, String) {
    let repository = match Reference::parse(&watch.repository) {
        Ok(r) => r,
        Err(e) => return (watch.tags_seen.clone(), pare_oci::error_chain(&e)),
    };
    let (c, r, patterns) = (client.clone(), repository.clone(), watch.tags.clone());
    let resolved = match blocking(move || resolve(&c, &r, &patterns)).await {
        Ok(resolved) => resolved,
        // Nothing resolved: what was seen stays, so a registry that is down moves no tag.
        Err(e) => return (watch.tags_seen.clone(), pare_oci::error_chain(&e)),
    };
    let mut seen = BTreeMap::new();
    let mut errors = Vec::new();
    for (tag, digest) in resolved {
        let digest = match digest {
            Ok(d) => d,
            Err(e) => {
                errors.push(pare_oci::error_chain(&e));
                continue;
            }
        };
        if let Some(before) = watch.tags_seen.get(&tag).filter(|s| s.digest == digest.to_string()) {
            seen.insert(tag, before.clone());
            continue;
        }
        // Each image may take a while to pull and catalog: the claim is extended before each one.
        match worker.store.renew_watch(&watch.id, &worker.id, worker.lease_seconds()).await {
            Ok(true) => {}
            Ok(false) => {
                errors.push("the claim on this watch was lost (it was removed, or another server took it)".into());
                break;
            }
            Err(e) => {
                errors.push(pare_oci::error_chain(&e));
                break;
            }
        }
        match register_tag(worker, client, watch, &repository, &tag, digest).await {
            Ok(s) => {
                seen.insert(tag, s);
            }
            Err(e) => errors.push(format!("{}:{tag}: {}", watch.repository, pare_oci::error_chain(&e))),
        }
    }
    (seen, errors.join("; "))
}

/// The watch loop: check every due watch, claimed for the worker's lease; forever.
pub async fn run_watches(worker: Arc<Worker>, client: Client) {
    loop {
        match worker.store.claim_watches(&worker.id, worker.lease_seconds(), BATCH).await {
            Ok(watches) => {
                for watch in &watches {
                    let (seen, error) = check(&worker, &client, watch).await;
                    if !error.is_empty() {
                        tracing::warn!("watch {} ({}): {error}", watch.id, watch.repository);
                    }
                    match worker.store.finish_watch(&watch.id, &worker.id, &seen, &error).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!("watch {}: removed, or the claim was lost: not recorded", watch.id),
                        Err(e) => tracing::warn!("watch {}: {e}", watch.id),
                    }
                }
                if !watches.is_empty() {
                    // More may be due: claim again at once.
                    continue;
                }
            }
            Err(e) => tracing::warn!("watches: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(worker.poll) => {}
            () = worker.wake_watches.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("90").ok(), Some(90));
        assert_eq!(parse_interval("30s").ok(), Some(30));
        assert_eq!(parse_interval("15m").ok(), Some(900));
        assert_eq!(parse_interval("1h").ok(), Some(3_600));
        assert_eq!(parse_interval("2d").ok(), Some(172_800));
        for (seconds, shown) in [(3_600, "1h"), (90, "90s"), (120, "2m"), (172_800, "2d"), (5_400, "90m")] {
            assert_eq!(format_interval(seconds), shown);
            assert_eq!(parse_interval(shown).ok(), Some(seconds), "read back");
        }
        for bad in ["", "0", "-1", "1w", "h", "31d", "1.5h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repositories_are_normalised_and_tags_refused() {
        assert_eq!(normalise_repository("debian").ok().as_deref(), Some("docker.io/library/debian"));
        assert_eq!(normalise_repository("127.0.0.1:5000/team/app").ok().as_deref(), Some("127.0.0.1:5000/team/app"));
        assert!(normalise_repository("127.0.0.1:5000/team/app:1").is_err());
        assert!(normalise_repository("debian@sha256:0000").is_err());
        assert!(normalise_repository("Not A Repo").is_err());
    }

    #[test]
    fn watch_flags() {
        let w = parse_watch_flag("127.0.0.1:5000/app=production/payments").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((w.environment.as_str(), w.team.as_str()), ("production", "payments"));
        assert_eq!(w.interval_seconds, Some(DEFAULT_INTERVAL));
        assert_eq!(flag_id(&w), flag_id(&w.clone()));
        assert!(parse_watch_flag("127.0.0.1:5000/app=production").is_err());
        assert!(parse_watch_flag("127.0.0.1:5000/app").is_err());
    }
}
