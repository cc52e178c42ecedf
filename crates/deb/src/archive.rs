//! The archive client: signed `InRelease`, `Packages` indexes checked against it, `.deb` files
//! checked against the index, all through the verified [`Cache`].
//!
//! Blocking HTTP (reqwest) with retries; `.deb` downloads run on a bounded pool of threads.

use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jiff::Timestamp;

use crate::Error;
use crate::cache::{self, Cache};
use crate::checksum::Sha256Sum;
use crate::packages::{PackageRecord, PackagesReader};
use crate::release::Release;
use crate::signature::{Keyring, Signer};

/// The official Debian archive.
pub const DEBIAN_MIRROR: &str = "http://deb.debian.org/debian";
/// The official Debian security archive (suites `<codename>-security`).
pub const DEBIAN_SECURITY_MIRROR: &str = "http://deb.debian.org/debian-security";

/// Largest `InRelease`/`Release` accepted (bookworm's is about 150 KB).
const MAX_RELEASE: u64 = 32 << 20;

/// One suite of one archive: `<mirror>/dists/<suite>/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pocket {
    /// Base URL without a trailing `/`, e.g. `http://deb.debian.org/debian`.
    pub mirror: String,
    pub suite: String,
}

impl Pocket {
    pub fn new(mirror: &str, suite: &str) -> Pocket {
        Pocket { mirror: mirror.trim_end_matches('/').to_string(), suite: suite.to_string() }
    }

    /// `suite`, `suite-updates` (on `mirror`) and `suite-security` (on `security_mirror`): what a
    /// Debian release installs from by default.
    pub fn standard(suite: &str, mirror: &str, security_mirror: &str) -> Vec<Pocket> {
        vec![
            Pocket::new(mirror, suite),
            Pocket::new(mirror, &format!("{suite}-updates")),
            Pocket::new(security_mirror, &format!("{suite}-security")),
        ]
    }

    /// [`Pocket::standard`] on the official mirrors.
    pub fn debian(suite: &str) -> Vec<Pocket> {
        Pocket::standard(suite, DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR)
    }

    /// `<mirror>/dists/<suite>`.
    pub fn dists_url(&self) -> String {
        format!("{}/dists/{}", self.mirror, self.suite)
    }
}

/// A Release whose signature was checked, with where it came from.
#[derive(Clone, Debug)]
pub struct SignedRelease {
    pub pocket: Pocket,
    /// URL of the `InRelease` (or `Release`) file.
    pub url: String,
    pub release: Release,
    pub signers: Vec<Signer>,
}

/// The parsed `Packages` index of one component and architecture of a pocket.
#[derive(Clone, Debug)]
pub struct PackageIndex {
    pub pocket: Pocket,
    pub component: String,
    pub architecture: String,
    /// SHA-256 of the compressed index as listed in the signed Release.
    pub sha256: Sha256Sum,
    pub packages: Vec<PackageRecord>,
}

/// A `.deb` to download: URL and the size and SHA-256 from the signed index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebRequest {
    /// Shown in progress and errors, e.g. `libc6_2.36-9+deb12u9_amd64`.
    pub name: String,
    pub url: String,
    pub size: u64,
    pub sha256: Sha256Sum,
}

impl DebRequest {
    /// The request for `record` from `mirror` (its `Filename` is relative to the mirror root).
    pub fn new(mirror: &str, record: &PackageRecord) -> DebRequest {
        DebRequest {
            name: record.id(),
            url: format!("{}/{}", mirror.trim_end_matches('/'), record.filename.trim_start_matches('/')),
            size: record.size,
            sha256: record.sha256,
        }
    }
}

/// What [`ArchiveClient::fetch_debs`] reports while it works (from several threads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownloadEvent<'a> {
    /// Found verified in the cache; no download.
    Cached {
        name: &'a str,
        size: u64,
    },
    Started {
        name: &'a str,
        size: u64,
    },
    /// Bytes received so far for this file.
    Progress {
        name: &'a str,
        bytes: u64,
    },
    Finished {
        name: &'a str,
        size: u64,
    },
}

/// Fetches and verifies Debian archive files.
#[derive(Clone, Debug)]
pub struct ArchiveClient {
    http: reqwest::blocking::Client,
    keyring: Keyring,
    cache: Cache,
    retries: u32,
    parallel: usize,
    now: Option<Timestamp>,
}

/// Per file name: each path in the archive with that name, and the packages that ship it.
pub type FilesFound = std::collections::BTreeMap<String, Vec<(String, Vec<String>)>>;

impl ArchiveClient {
    /// A client trusting `keyring`, caching in `cache`; 3 retries, 4 parallel downloads.
    pub fn new(keyring: Keyring, cache: Cache) -> Result<ArchiveClient, Error> {
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(600))
            .user_agent(concat!("pare/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Http { url: "(client setup)".into(), source: e })?;
        Ok(ArchiveClient { http, keyring, cache, retries: 3, parallel: 4, now: None })
    }

    /// Attempts after the first one for failed or truncated transfers.
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Downloads at once in [`ArchiveClient::fetch_debs`] (at least 1).
    pub fn with_parallel(mut self, parallel: usize) -> Self {
        self.parallel = parallel.max(1);
        self
    }

    /// The time `Valid-Until` and key expiry are checked against (default: the clock).
    pub fn with_now(mut self, now: Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }

    /// GET with retries on connection errors, timeouts, 5xx and 429. Other statuses fail at once.
    fn get(&self, url: &str) -> Result<reqwest::blocking::Response, Error> {
        let mut attempt = 0;
        loop {
            let result = self.http.get(url).send();
            let retryable = match result {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let err = Error::HttpStatus { url: url.to_string(), status: status.as_u16(), hint: None };
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(err);
                    }
                    err
                }
                Err(e) if e.is_builder() => return Err(Error::Http { url: url.to_string(), source: e }),
                Err(e) => Error::Http { url: url.to_string(), source: e },
            };
            if attempt >= self.retries {
                return Err(retryable);
            }
            attempt += 1;
            tracing::warn!(url, attempt, "retrying: {retryable}");
            std::thread::sleep(Duration::from_millis(250 << attempt.min(5)));
        }
    }

    /// Reads a whole small file (at most `limit` bytes).
    fn get_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, Error> {
        let mut attempt = 0;
        loop {
            let response = self.get(url)?;
            let expected = response.content_length();
            let mut bytes = Vec::new();
            let read = response.take(limit + 1).read_to_end(&mut bytes);
            let result = match read {
                Err(e) => Err(Error::Stream { context: format!("downloading {url}"), source: e }),
                Ok(_) if bytes.len() as u64 > limit => {
                    return Err(Error::Download { url: url.to_string(), reason: format!("larger than {limit} bytes") });
                }
                Ok(_) => match expected {
                    Some(n) if n != bytes.len() as u64 => {
                        Err(Error::Truncated { what: url.to_string(), expected: n, actual: bytes.len() as u64 })
                    }
                    _ => return Ok(bytes),
                },
            };
            if attempt >= self.retries {
                return result;
            }
            attempt += 1;
        }
    }

    /// Fetches `InRelease` (or `Release` + `Release.gpg` when there is none), checks its
    /// signature, freshness, and that it is the suite asked for.
    pub fn fetch_release(&self, pocket: &Pocket) -> Result<SignedRelease, Error> {
        let base = pocket.dists_url();
        let inrelease = format!("{base}/InRelease");
        let now = self.now();
        let (url, release, signers) = match self.get_bytes(&inrelease, MAX_RELEASE) {
            Ok(data) => {
                let (release, verified) = Release::from_inrelease(&self.keyring, &data, &inrelease, now)?;
                (inrelease, release, verified.signers)
            }
            Err(Error::HttpStatus { status: 404, .. }) => {
                let url = format!("{base}/Release");
                let data = self.get_bytes(&url, MAX_RELEASE)?;
                let sig = match self.get_bytes(&format!("{url}.gpg"), MAX_RELEASE) {
                    Ok(sig) => sig,
                    Err(Error::HttpStatus { status: 404, .. }) => return Err(Error::Unsigned { file: url }),
                    Err(e) => return Err(e),
                };
                let (release, signers) = Release::from_detached(&self.keyring, &data, &sig, &url, now)?;
                (url, release, signers)
            }
            Err(e) => return Err(e),
        };
        let names = [release.codename.as_deref(), release.suite.as_deref()];
        if !names.contains(&Some(pocket.suite.as_str())) {
            return Err(Error::Signature {
                file: url,
                reason: format!(
                    "it is signed for suite {} (codename {}), not `{}`: a replayed Release of another suite?",
                    release.suite.as_deref().unwrap_or("?"),
                    release.codename.as_deref().unwrap_or("?"),
                    pocket.suite
                ),
            });
        }
        Ok(SignedRelease { pocket: pocket.clone(), url, release, signers })
    }

    /// Fetches, checks and parses `<component>/binary-<arch>/Packages` (xz, gz or plain, as listed
    /// in the signed Release; via `by-hash` when the Release offers it).
    pub fn fetch_index(&self, signed: &SignedRelease, component: &str, arch: &str) -> Result<PackageIndex, Error> {
        let dir = format!("{component}/binary-{arch}");
        let release = &signed.release;
        let entry = ["Packages.xz", "Packages.gz", "Packages"]
            .iter()
            .find_map(|name| release.entry(&format!("{dir}/{name}")))
            .ok_or_else(|| Error::NotInRelease {
                file: signed.url.clone(),
                path: format!("{dir}/Packages"),
                hint: Some(format!(
                    "components: {}; architectures: {}",
                    release.components.join(" "),
                    release.architectures.join(" ")
                )),
            })?;
        let base = signed.pocket.dists_url();
        let plain_url = format!("{base}/{}", entry.path);
        let path = match self.cache.get(cache::INDEXES, &entry.sha256, Some(entry.size))? {
            Some(path) => path,
            None => {
                let by_hash = format!("{base}/{dir}/by-hash/SHA256/{}", entry.sha256);
                let first = if release.acquire_by_hash { by_hash.as_str() } else { plain_url.as_str() };
                match self.download(cache::INDEXES, first, entry.size, &entry.sha256, &|_| {}) {
                    Err(Error::HttpStatus { status: 404, .. }) if first != plain_url => {
                        self.download(cache::INDEXES, &plain_url, entry.size, &entry.sha256, &|_| {})?
                    }
                    other => other?,
                }
            }
        };
        let reader = open_index(&path, &entry.path)?;
        let packages = PackagesReader::new(BufReader::with_capacity(1 << 16, reader), plain_url.clone())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PackageIndex {
            pocket: signed.pocket.clone(),
            component: component.to_string(),
            architecture: arch.to_string(),
            sha256: entry.sha256,
            packages,
        })
    }

    /// Which packages ship files named `names` (basenames), from the signed `Contents-<arch>` index
    /// of `component` (gz, xz or plain, as listed in the Release; cached by SHA-256 like the
    /// `Packages` indexes). Returns, per name, the paths and the packages (`section/name` stripped
    /// to `name`) that ship it. The index is tens of MiB: read streaming, only matching lines kept.
    pub fn find_files(
        &self,
        signed: &SignedRelease,
        component: &str,
        arch: &str,
        names: &std::collections::BTreeSet<String>,
    ) -> Result<FilesFound, Error> {
        let release = &signed.release;
        let stem = format!("{component}/Contents-{arch}");
        let entry = [".gz", ".xz", ""]
            .iter()
            .find_map(|ext| release.entry(&format!("{stem}{ext}")))
            .ok_or_else(|| Error::NotInRelease { file: signed.url.clone(), path: stem.clone(), hint: None })?;
        let base = signed.pocket.dists_url();
        let url = format!("{base}/{}", entry.path);
        let path = match self.cache.get(cache::INDEXES, &entry.sha256, Some(entry.size))? {
            Some(path) => path,
            None => self.download(cache::INDEXES, &url, entry.size, &entry.sha256, &|_| {})?,
        };
        let reader = open_index(&path, &entry.path)?;
        let mut found = FilesFound::new();
        let mut line = Vec::new();
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        loop {
            line.clear();
            let n = std::io::BufRead::read_until(&mut reader, b'\n', &mut line)
                .map_err(|e| Error::Stream { context: format!("reading {url}"), source: e })?;
            if n == 0 {
                break;
            }
            // "usr/lib/x86_64-linux-gnu/libstdc++.so.6   libs/libstdc++6": the path may hold
            // spaces, the package list is the last field.
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end();
            let Some((file, packages)) = text.rsplit_once(char::is_whitespace) else { continue };
            let file = file.trim_end();
            let name = file.rsplit('/').next().unwrap_or(file);
            if !names.contains(name) {
                continue;
            }
            let packages = packages.split(',').map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).collect();
            found.entry(name.to_string()).or_default().push((file.to_string(), packages));
        }
        Ok(found)
    }

    /// Downloads `url` into the cache, retrying failed and truncated transfers.
    fn download(
        &self,
        kind: &str,
        url: &str,
        size: u64,
        sha256: &Sha256Sum,
        progress: &dyn Fn(u64),
    ) -> Result<PathBuf, Error> {
        let mut attempt = 0;
        loop {
            let response = self.get(url)?;
            let reader = ProgressReader { inner: response, bytes: 0, progress };
            let result = self.cache.put(kind, sha256, Some(size), reader, url);
            match result {
                Err(Error::Truncated { .. } | Error::Stream { .. }) if attempt < self.retries => {
                    attempt += 1;
                    tracing::warn!(
                        url,
                        attempt,
                        "retrying: {}",
                        result.err().map(|e| e.to_string()).unwrap_or_default()
                    );
                }
                other => return other,
            }
        }
    }

    /// One `.deb`, from the cache when there, else downloaded and checked against size and SHA-256.
    pub fn fetch_deb(&self, request: &DebRequest) -> Result<PathBuf, Error> {
        self.fetch_debs(std::slice::from_ref(request), &|_| {})
            .and_then(|mut v| v.pop().ok_or_else(|| Error::Unsupported("no result".into())))
    }

    /// Many `.deb`s, at most `parallel` at once. Results are in the order of `requests`; the first
    /// failure (in that order) is returned after all workers stop.
    pub fn fetch_debs(
        &self,
        requests: &[DebRequest],
        progress: &(dyn Fn(&DownloadEvent<'_>) + Sync),
    ) -> Result<Vec<PathBuf>, Error> {
        let results: Mutex<Vec<Option<Result<PathBuf, Error>>>> =
            Mutex::new((0..requests.len()).map(|_| None).collect());
        let next = AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let worker = || {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(request) = requests.get(i) else { break };
                if failed.load(Ordering::SeqCst) {
                    break;
                }
                let result = self.fetch_one(request, progress);
                if result.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(result);
                }
            }
        };
        let workers = self.parallel.min(requests.len()).max(1);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(worker);
            }
        });
        let results = results.into_inner().map_err(|_| Error::Unsupported("a download thread panicked".into()))?;
        let mut out = Vec::with_capacity(requests.len());
        let mut first_missing = None;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Some(Ok(path)) => out.push(path),
                Some(Err(e)) => return Err(e),
                None => first_missing = first_missing.or(Some(i)),
            }
        }
        match first_missing {
            None => Ok(out),
            Some(i) => Err(Error::Unsupported(format!("download of {} did not run", requests[i].name))),
        }
    }

    fn fetch_one(
        &self,
        request: &DebRequest,
        progress: &(dyn Fn(&DownloadEvent<'_>) + Sync),
    ) -> Result<PathBuf, Error> {
        let name = request.name.as_str();
        if let Some(path) = self.cache.get(cache::DEBS, &request.sha256, Some(request.size))? {
            progress(&DownloadEvent::Cached { name, size: request.size });
            return Ok(path);
        }
        progress(&DownloadEvent::Started { name, size: request.size });
        let path = self.download(cache::DEBS, &request.url, request.size, &request.sha256, &|bytes| {
            progress(&DownloadEvent::Progress { name, bytes })
        })?;
        progress(&DownloadEvent::Finished { name, size: request.size });
        Ok(path)
    }
}

struct ProgressReader<'a, R> {
    inner: R,
    bytes: u64,
    progress: &'a dyn Fn(u64),
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        (self.progress)(self.bytes);
        Ok(n)
    }
}

/// A cached index file, decompressed as its name in the Release says (`.xz`, `.gz` or plain).
fn open_index(path: &std::path::Path, name: &str) -> Result<Box<dyn Read>, Error> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    Ok(if name.ends_with(".xz") {
        Box::new(liblzma::read::XzDecoder::new(file))
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}
