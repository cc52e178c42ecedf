//! The HTTP core of the registry client: configuration, scheme selection, authentication and
//! retries. The distribution API itself (manifests, blobs, tags, referrers) is in sibling modules.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::Rng as _;
use reqwest::blocking::Response;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::auth::{Challenge, Credential, Credentials, TokenResponse, parse_challenges};
use crate::{Error, Reference, Result};

/// How a [`Client`] talks to registries.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Sent as `User-Agent`.
    pub user_agent: String,
    /// Where usernames, passwords and tokens come from.
    pub credentials: Credentials,
    /// Allow plain HTTP and unverified TLS certificates for every registry.
    pub insecure: bool,
    /// Registries (`host[:port]`) for which plain HTTP and unverified TLS are allowed. Loopback
    /// hosts (`localhost`, `127.0.0.0/8`, `::1`) are always allowed. HTTPS is tried first.
    pub insecure_registries: Vec<String>,
    /// Total tries for one request on 429, 5xx and connection errors (at least 1).
    pub max_attempts: u32,
    /// The first retry waits about this long; each further retry doubles it (with jitter).
    pub retry_base_delay: Duration,
    /// Upper bound of one backoff delay.
    pub retry_max_delay: Duration,
    /// Upper bound of a delay a server asks for with `Retry-After`.
    pub max_retry_after: Duration,
    /// Connect timeout, and the longest wait for any read or write.
    pub timeout: Duration,
    /// A download (blob or manifest) that receives fewer than [`STALL_MIN_BYTES`] in this long,
    /// or nothing at all, has stalled: blobs are resumed from where they stopped (`Range`), up to
    /// `max_attempts` times, then fail. Catches a link that drips bytes too slowly for `timeout`.
    pub stall_timeout: Duration,
    /// Blobs larger than this are uploaded in chunks (`PATCH`), smaller ones in one `PUT`.
    pub chunk_threshold: u64,
    /// Size of one uploaded chunk; also the most memory one upload holds.
    pub chunk_size: usize,
}

impl Default for ClientConfig {
    /// Credentials from the environment's auth files, secure transport except for loopback hosts.
    fn default() -> Self {
        ClientConfig {
            user_agent: format!("pare/{}", env!("CARGO_PKG_VERSION")),
            credentials: Credentials::from_env(),
            insecure: false,
            insecure_registries: Vec::new(),
            max_attempts: 4,
            retry_base_delay: Duration::from_millis(500),
            retry_max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(30),
            chunk_threshold: 16 << 20,
            chunk_size: 16 << 20,
        }
    }
}

/// Counts of what a [`Client`] did, for progress summaries and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent, including retries and token requests.
    pub requests: u64,
    /// Requests repeated after a 429, a 5xx or a connection error.
    pub retries: u64,
    /// Requests to a token server.
    pub token_requests: u64,
    /// Blob downloads started (not counting resumes).
    pub blob_downloads: u64,
    /// Downloads continued after the connection dropped.
    pub blob_resumes: u64,
    /// Blob uploads completed.
    pub blob_uploads: u64,
    /// Blobs mounted from another repository instead of uploaded.
    pub blob_mounts: u64,
    /// `PATCH` requests of chunked uploads.
    pub upload_chunks: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub token_requests: AtomicU64,
    pub blob_downloads: AtomicU64,
    pub blob_resumes: AtomicU64,
    pub blob_uploads: AtomicU64,
    pub blob_mounts: AtomicU64,
    pub upload_chunks: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A registry host after its `/v2/` answered: which scheme works and how it authenticates.
pub(crate) struct Host {
    /// The registry as written in references (`docker.io`, `127.0.0.1:5000`): the key for credentials.
    pub registry: String,
    /// `scheme://host[:port]/`.
    pub base: Url,
    pub insecure: bool,
    challenge: Mutex<Option<Challenge>>,
}

struct Token {
    value: String,
    expires: Instant,
}

/// A blocking client for the OCI distribution API. Cheap to clone; clones share connections,
/// tokens and statistics, and it can be used from several threads.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: ClientConfig,
    http: reqwest::blocking::Client,
    http_insecure: Mutex<Option<reqwest::blocking::Client>>,
    /// Clients for downloads, whose reads wait at most `stall_timeout`, by `insecure`.
    http_download: Mutex<HashMap<bool, reqwest::blocking::Client>>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    tokens: Mutex<HashMap<String, Token>>,
    credentials: Mutex<HashMap<(String, String), Option<Credential>>>,
    pub counters: Counters,
}

/// One request as the client sends it, possibly several times.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// Shared, so a retry resends it without copying.
    pub body: Option<bytes::Bytes>,
    /// Token scopes the request needs (`repository:NAME:pull`).
    pub scopes: Vec<String>,
    /// Whether 429, 5xx and connection errors are retried here.
    pub retry: bool,
    /// A download: no read may wait longer than [`ClientConfig::stall_timeout`].
    pub download: bool,
}

impl Call {
    pub fn new(method: Method, url: Url, scopes: Vec<String>) -> Call {
        Call { method, url, headers: HeaderMap::new(), body: None, scopes, retry: true, download: false }
    }

    pub fn download(mut self) -> Call {
        self.download = true;
        self
    }

    pub fn header(mut self, name: header::HeaderName, value: &str) -> Call {
        // Values come from media types, digests and numbers pare formats; an invalid one is dropped.
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    pub fn body(mut self, body: impl Into<bytes::Bytes>) -> Call {
        self.body = Some(body.into());
        self
    }

    pub fn no_retry(mut self) -> Call {
        self.retry = false;
        self
    }
}

pub(crate) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

pub(crate) fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) use crate::text::error_chain;

/// Whether a registry host is on this machine (plain HTTP is then allowed without asking).
pub fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

impl Client {
    /// A client with the given configuration.
    pub fn new(config: ClientConfig) -> Result<Client> {
        let http = build_http(&config, false, config.timeout)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                http_insecure: Mutex::new(None),
                http_download: Mutex::new(HashMap::new()),
                hosts: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashMap::new()),
                credentials: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        })
    }

    /// A client with [`ClientConfig::default`] (credentials from the environment).
    pub fn from_env() -> Result<Client> {
        Client::new(ClientConfig::default())
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// What this client (and its clones) did so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            requests: get(&c.requests),
            retries: get(&c.retries),
            token_requests: get(&c.token_requests),
            blob_downloads: get(&c.blob_downloads),
            blob_resumes: get(&c.blob_resumes),
            blob_uploads: get(&c.blob_uploads),
            blob_mounts: get(&c.blob_mounts),
            upload_chunks: get(&c.upload_chunks),
        }
    }

    /// Whether plain HTTP and unverified certificates are allowed for a registry.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let config = &self.inner.config;
        config.insecure || is_loopback(registry) || config.insecure_registries.iter().any(|r| r == registry)
    }

    fn http_for(&self, insecure: bool) -> Result<reqwest::blocking::Client> {
        if !insecure {
            return Ok(self.inner.http.clone());
        }
        let mut slot = lock(&self.inner.http_insecure);
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let client = build_http(&self.inner.config, true, self.inner.config.timeout)?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// The HTTP client for a call: downloads get one whose reads wait at most the stall timeout.
    fn http_for_call(&self, insecure: bool, call: &Call) -> Result<reqwest::blocking::Client> {
        if !call.download {
            return self.http_for(insecure);
        }
        let mut slots = lock(&self.inner.http_download);
        if let Some(client) = slots.get(&insecure) {
            return Ok(client.clone());
        }
        let config = &self.inner.config;
        let client = build_http(config, insecure, config.timeout.min(config.stall_timeout))?;
        slots.insert(insecure, client.clone());
        Ok(client)
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// The host serving a reference's registry, pinging `/v2/` the first time to learn the scheme
    /// and the authentication it wants.
    pub(crate) fn host(&self, reference: &Reference) -> Result<Arc<Host>> {
        self.host_named(reference.registry())
    }

    /// Like [`Client::host`], for a registry as written in references (`docker.io`, `host:port`).
    pub(crate) fn host_named(&self, registry: &str) -> Result<Arc<Host>> {
        if let Some(host) = lock(&self.inner.hosts).get(registry) {
            return Ok(host.clone());
        }
        let connect = if registry == crate::DEFAULT_REGISTRY { "registry-1.docker.io" } else { registry };
        let insecure = self.is_insecure(registry);
        let schemes: &[&str] = if insecure { &["https", "http"] } else { &["https"] };
        let http = self.http_for(insecure)?;
        let mut failure = None;
        for (i, scheme) in schemes.iter().enumerate() {
            let base = Url::parse(&format!("{scheme}://{connect}/")).map_err(|e| Error::InvalidReference {
                value: registry.to_string(),
                reason: format!("`{connect}` is not a usable host: {e}"),
            })?;
            let url = base.join("v2/").map_err(|e| Error::Registry {
                url: base.to_string(),
                status: None,
                message: e.to_string(),
            })?;
            let last = i + 1 == schemes.len();
            // Probing HTTPS on a host that may speak plain HTTP: one try, then fall back.
            let mut call = Call::new(Method::GET, url.clone(), Vec::new());
            if !last {
                call = call.no_retry();
            }
            match self.execute(&http, &call, None) {
                Ok(resp) => {
                    let status = resp.status();
                    if retryable_status(status) {
                        return Err(status_error(resp, "the registry's /v2/ endpoint"));
                    }
                    let challenge = if status == StatusCode::UNAUTHORIZED { challenge_of(&resp) } else { None };
                    tracing::debug!(%url, %status, ?challenge, "registry answered");
                    let host = Arc::new(Host {
                        registry: registry.to_string(),
                        base,
                        insecure,
                        challenge: Mutex::new(challenge),
                    });
                    lock(&self.inner.hosts).insert(registry.to_string(), host.clone());
                    return Ok(host);
                }
                Err(e) => {
                    tracing::debug!(%url, error = %e, "registry probe failed");
                    failure = Some(e);
                }
            }
        }
        Err(match failure {
            Some(e @ Error::Registry { .. }) if !insecure => {
                e.with_hint("if this registry serves plain HTTP or a self-signed certificate, use --insecure")
            }
            Some(e) => e,
            None => Error::Registry { url: connect.to_string(), status: None, message: "no scheme to try".into() },
        })
    }

    /// A URL on a registry: `path` is relative to `/v2/`.
    pub(crate) fn url(&self, host: &Host, path: &str) -> Result<Url> {
        host.base.join(&format!("v2/{path}")).map_err(|e| Error::Registry {
            url: format!("{}v2/{path}", host.base),
            status: None,
            message: format!("cannot form the URL: {e}"),
        })
    }

    /// Sends a request to a registry, authenticating as its challenge asks (once more with fresh
    /// credentials after a 401) and retrying 429, 5xx and connection errors. Any other status is
    /// returned for the caller to interpret.
    /// Credentials go only to the registry's own origin (scheme, host and port: the one that
    /// challenged); a URL elsewhere, such as an upload `Location`, is sent without them.
    pub(crate) fn send(&self, host: &Host, repository: &str, call: &Call) -> Result<Response> {
        if call.url.origin() != host.base.origin() {
            return self.send_elsewhere(host, call);
        }
        let http = self.http_for_call(host.insecure, call)?;
        let mut renewed = false;
        loop {
            let authorization = self.authorization(host, repository, &call.scopes)?;
            let resp = self.execute(&http, call, authorization.as_deref())?;
            match resp.status() {
                StatusCode::UNAUTHORIZED if !renewed => {
                    if !self.renew(host, repository, &call.scopes, &resp, authorization.is_some())? {
                        return Err(self.auth_error(host, repository, resp, authorization.is_some()));
                    }
                    renewed = true;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(self.auth_error(host, repository, resp, authorization.is_some()));
                }
                StatusCode::FORBIDDEN => {
                    let detail = error_body(resp);
                    let what =
                        if repository.is_empty() { "the registry".to_string() } else { format!("`{repository}`") };
                    let verb = if call.scopes.iter().any(|s| s.ends_with("push")) { "push to" } else { "read" };
                    return Err(Error::Auth {
                        registry: host.registry.clone(),
                        message: format!("access to {what} was denied ({} {}): {detail}", call.method, call.url.path()),
                    }
                    .with_hint(format!("check that these credentials may {verb} it")));
                }
                _ => return Ok(resp),
            }
        }
    }

    /// A request to a URL the registry sent pare to on another origin, without credentials.
    fn send_elsewhere(&self, host: &Host, call: &Call) -> Result<Response> {
        let authority = match (call.url.host_str(), call.url.port()) {
            (Some(h), Some(port)) => format!("{h}:{port}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::new(),
        };
        let insecure = host.insecure || self.is_insecure(&authority);
        if call.url.scheme() != "https" && !insecure {
            return Err(Error::Registry {
                url: call.url.to_string(),
                status: None,
                message: format!("the registry {} sent pare to {authority} over plain HTTP; refusing", host.registry),
            }
            .with_hint("if this is intended, use --insecure"));
        }
        tracing::debug!(registry = %host.registry, url = %call.url, "request to another host, without credentials");
        let resp = self.execute(&self.http_for_call(insecure, call)?, call, None)?;
        if matches!(resp.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            let detail = error_body(resp);
            return Err(Error::Auth {
                registry: host.registry.clone(),
                message: format!(
                    "{} {} on {authority}, another host than the registry, wants credentials ({detail}); pare sends \
                     credentials only to the registry that asked for them",
                    call.method,
                    call.url.path()
                ),
            }
            .with_hint(
                "the registry's upload Location should point at itself, or at a URL that needs no credentials",
            ));
        }
        Ok(resp)
    }

    /// Sends one request, retrying 429, 5xx and connection errors with exponential backoff.
    pub(crate) fn execute(
        &self,
        http: &reqwest::blocking::Client,
        call: &Call,
        authorization: Option<&str>,
    ) -> Result<Response> {
        let config = &self.inner.config;
        let max = if call.retry { config.max_attempts.max(1) } else { 1 };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = http.request(call.method.clone(), call.url.clone()).headers(call.headers.clone());
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            if let Some(body) = &call.body {
                request = request.body(body.clone());
            }
            Counters::add(&self.inner.counters.requests);
            tracing::debug!(method = %call.method, url = %call.url, attempt, "request");
            match request.send() {
                Ok(resp) if retryable_status(resp.status()) && attempt < max => {
                    let delay = retry_after(&resp, config.max_retry_after).unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!(url = %call.url, status = %resp.status(), ?delay, "retrying");
                    Counters::add(&self.inner.counters.retries);
                    drop(resp);
                    std::thread::sleep(delay);
                }
                Ok(resp) => return Ok(resp),
                Err(e) if attempt < max && !e.is_builder() => {
                    let delay = self.backoff(attempt);
                    tracing::debug!(url = %call.url, error = %error_chain(&e), ?delay, "retrying");
                    Counters::add(&self.inner.counters.retries);
                    std::thread::sleep(delay);
                }
                Err(e) => {
                    return Err(Error::Registry {
                        url: call.url.to_string(),
                        status: None,
                        message: format!(
                            "{} {} failed after {attempt} attempt{}: {}",
                            call.method,
                            call.url.path(),
                            if attempt == 1 { "" } else { "s" },
                            error_chain(&e)
                        ),
                    });
                }
            }
        }
    }

    /// Exponential backoff with jitter: about base × 2^(attempt-1), between half and all of it.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let config = &self.inner.config;
        let exp = config.retry_base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(config.retry_max_delay);
        capped.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    fn credential(&self, registry: &str, repository: &str) -> Result<Option<Credential>> {
        let key = (registry.to_string(), repository.to_string());
        if let Some(found) = lock(&self.inner.credentials).get(&key) {
            return Ok(found.clone());
        }
        let found = self.inner.config.credentials.lookup(registry, repository)?;
        lock(&self.inner.credentials).insert(key, found.clone());
        Ok(found)
    }

    /// The `Authorization` header for a request, fetching a token when the host wants one.
    fn authorization(&self, host: &Host, repository: &str, scopes: &[String]) -> Result<Option<String>> {
        let challenge = lock(&host.challenge).clone();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => match self.credential(&host.registry, repository)? {
                Some(Credential::Basic { username, password }) => Ok(Some(basic_header(&username, &password))),
                _ => Ok(None),
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                self.bearer(host, repository, scopes, scopes, &realm, service.as_deref(), false).map(Some)
            }
        }
    }

    /// A token for `fetch_scopes`, cached under `key_scopes` (the scopes a request asks for).
    #[allow(clippy::too_many_arguments)]
    fn bearer(
        &self,
        host: &Host,
        repository: &str,
        key_scopes: &[String],
        fetch_scopes: &[String],
        realm: &str,
        service: Option<&str>,
        force: bool,
    ) -> Result<String> {
        let key = format!("{}|{}|{}", host.registry, repository, key_scopes.join(" "));
        if !force
            && let Some(token) = lock(&self.inner.tokens).get(&key)
            && token.expires > Instant::now()
        {
            return Ok(format!("Bearer {}", token.value));
        }
        let token = self.fetch_token(host, repository, realm, service, fetch_scopes)?;
        let value = format!("Bearer {}", token.value);
        lock(&self.inner.tokens).insert(key, token);
        Ok(value)
    }

    /// After a 401: learns the challenge again and, for a token challenge, fetches a new token
    /// with the scope the server named. Returns whether a retry can succeed.
    fn renew(
        &self,
        host: &Host,
        repository: &str,
        scopes: &[String],
        resp: &Response,
        sent_credentials: bool,
    ) -> Result<bool> {
        let Some(challenge) = challenge_of(resp) else {
            return Ok(false);
        };
        *lock(&host.challenge) = Some(challenge.clone());
        match challenge {
            Challenge::Basic => Ok(!sent_credentials
                && matches!(self.credential(&host.registry, repository)?, Some(Credential::Basic { .. }))),
            Challenge::Bearer { realm, service, scope } => {
                let mut wanted = scopes.to_vec();
                for extra in scope.iter().flat_map(|s| s.split(' ')).filter(|s| !s.is_empty()) {
                    if !wanted.iter().any(|s| s == extra) {
                        wanted.push(extra.to_string());
                    }
                }
                // Fetched now, so a refused token is reported as such rather than as a second 401.
                self.bearer(host, repository, scopes, &wanted, &realm, service.as_deref(), true)?;
                Ok(true)
            }
        }
    }

    fn fetch_token(
        &self,
        host: &Host,
        repository: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Token> {
        let mut url = Url::parse(realm).map_err(|e| Error::Auth {
            registry: host.registry.clone(),
            message: format!("the registry names an invalid token realm `{realm}`: {e}"),
        })?;
        let credential = self.credential(&host.registry, repository)?;
        let realm_host = url.host_str().unwrap_or_default().to_string();
        let realm_host = match url.port() {
            Some(port) => format!("{realm_host}:{port}"),
            None => realm_host,
        };
        let realm_insecure = host.insecure || self.is_insecure(&realm_host);
        if credential.is_some() && url.scheme() != "https" && !realm_insecure {
            return Err(Error::Auth {
                registry: host.registry.clone(),
                message: format!("refusing to send credentials to the token realm {realm} over plain HTTP"),
            }
            .with_hint("if this is intended, mark the registry insecure (--insecure)"));
        }
        let http = self.http_for(realm_insecure)?;
        let call = match &credential {
            Some(Credential::IdentityToken(refresh)) => {
                let mut form = Url::parse("http://form.invalid/").map_err(|e| Error::Unsupported(e.to_string()))?;
                {
                    let mut pairs = form.query_pairs_mut();
                    pairs.append_pair("grant_type", "refresh_token");
                    pairs.append_pair("refresh_token", refresh);
                    pairs.append_pair("client_id", "pare");
                    if let Some(service) = service {
                        pairs.append_pair("service", service);
                    }
                    if !scopes.is_empty() {
                        pairs.append_pair("scope", &scopes.join(" "));
                    }
                }
                let body = form.query().unwrap_or_default().as_bytes().to_vec();
                Call::new(Method::POST, url.clone(), Vec::new())
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
            _ => {
                {
                    let mut pairs = url.query_pairs_mut();
                    if let Some(service) = service {
                        pairs.append_pair("service", service);
                    }
                    for scope in scopes {
                        pairs.append_pair("scope", scope);
                    }
                    if let Some(Credential::Basic { username, .. }) = &credential {
                        pairs.append_pair("account", username);
                    }
                }
                Call::new(Method::GET, url.clone(), Vec::new())
            }
        };
        let authorization = match &credential {
            Some(Credential::Basic { username, password }) => Some(basic_header(username, password)),
            _ => None,
        };
        Counters::add(&self.inner.counters.token_requests);
        tracing::debug!(realm, ?scopes, "requesting a token");
        let resp = self.execute(&http, &call, authorization.as_deref())?;
        let status = resp.status();
        if !status.is_success() {
            let who = match &credential {
                Some(Credential::Basic { username, .. }) => format!("the credentials of `{username}`"),
                Some(Credential::IdentityToken(_)) => "the identity token".to_string(),
                None => "anonymous access".to_string(),
            };
            let detail = error_body(resp);
            return Err(Error::Auth {
                registry: host.registry.clone(),
                message: format!(
                    "the token server {realm} refused {who} for {} ({status}): {detail}",
                    scopes.join(" ")
                ),
            }
            .with_hint(if credential.is_some() {
                "check the credentials in REGISTRY_AUTH_FILE or ~/.docker/config.json"
            } else {
                "this registry needs credentials: add them to ~/.docker/config.json or REGISTRY_AUTH_FILE"
            }));
        }
        let mut body = Vec::new();
        resp.take(1 << 20).read_to_end(&mut body).map_err(|e| Error::Auth {
            registry: host.registry.clone(),
            message: format!("reading the token from {realm} failed: {e}"),
        })?;
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Auth {
            registry: host.registry.clone(),
            message: format!("the token server {realm} sent an invalid answer: {e}"),
        })?;
        let value = parsed.token.or(parsed.access_token).filter(|t| !t.is_empty()).ok_or_else(|| Error::Auth {
            registry: host.registry.clone(),
            message: format!("the token server {realm} sent no token"),
        })?;
        // The spec's default lifetime is 60 s; renew 5 s early.
        let lifetime = parsed.expires_in.unwrap_or(60).clamp(10, 24 * 3600);
        Ok(Token { value, expires: Instant::now() + Duration::from_secs(lifetime - 5) })
    }

    fn auth_error(&self, host: &Host, repository: &str, resp: Response, sent_credentials: bool) -> Error {
        let url = resp.url().to_string();
        let detail = error_body(resp);
        let (message, hint) = match self.credential(&host.registry, repository) {
            Ok(Some(Credential::Basic { username, .. })) if sent_credentials => (
                format!("the registry rejected the credentials of `{username}` for {url}: {detail}"),
                Some("check the password in REGISTRY_AUTH_FILE or ~/.docker/config.json"),
            ),
            Ok(Some(_)) => (format!("the registry rejected the request to {url}: {detail}"), None),
            Ok(None) => (
                format!("{url} needs credentials: {detail}"),
                Some("add them to ~/.docker/config.json (`docker login`) or a file named by REGISTRY_AUTH_FILE"),
            ),
            Err(e) => (format!("{url} needs credentials, and reading them failed: {e}"), None),
        };
        let error = Error::Auth { registry: host.registry.clone(), message };
        match hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
    }
}

fn build_http(config: &ClientConfig, insecure: bool, timeout: Duration) -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.timeout)
        .timeout(timeout)
        .tls_danger_accept_invalid_certs(insecure)
        .build()
        .map_err(|e| Error::Unsupported(format!("cannot set up the HTTP client: {}", error_chain(&e))))
}

fn basic_header(username: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

fn challenge_of(resp: &Response) -> Option<Challenge> {
    let mut all: Vec<Challenge> = resp
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect();
    // Prefer a token challenge when a registry offers both.
    all.sort_by_key(|c| matches!(c, Challenge::Basic));
    all.into_iter().next()
}

fn retry_after(resp: &Response, max: Duration) -> Option<Duration> {
    let value = resp.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(max))
}

/// The registry's explanation of an error: its `errors` JSON as `CODE: message`, or the start of the body.
pub(crate) fn error_body(resp: Response) -> String {
    let status = resp.status();
    let mut body = Vec::new();
    let _ = resp.take(64 << 10).read_to_end(&mut body);
    let mut parts = Vec::new();
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(errors) = value.get("errors").and_then(|e| e.as_array())
    {
        for error in errors {
            let code = error.get("code").and_then(|c| c.as_str()).unwrap_or("UNKNOWN");
            let message = error.get("message").and_then(|c| c.as_str()).unwrap_or("");
            let mut part = format!("{code}: {message}");
            if let Some(detail) = error.get("detail").filter(|d| !d.is_null()) {
                let detail = detail.to_string();
                part.push_str(&format!(" ({})", detail.chars().take(300).collect::<String>()));
            }
            parts.push(part);
        }
    }
    if parts.is_empty() {
        let text: String = String::from_utf8_lossy(&body).trim().chars().take(300).collect();
        if text.is_empty() { status.to_string() } else { format!("{status}: {text}") }
    } else {
        format!("{status}: {}", parts.join("; "))
    }
}

/// An error for an unexpected status, naming the URL, the status and what was asked for.
pub(crate) fn status_error(resp: Response, what: &str) -> Error {
    let url = resp.url().to_string();
    let status = resp.status();
    let detail = error_body(resp);
    // The hint for the status is `Error::hint`'s.
    Error::Registry { url, status: Some(status.as_u16()), message: format!("{what}: {detail}") }
}

/// A download that moves fewer bytes than this within [`ClientConfig::stall_timeout`] has stalled.
pub const STALL_MIN_BYTES: u64 = 1024;

/// Fails a read once a download has stalled (see [`ClientConfig::stall_timeout`]); the bytes of
/// that read are not handed out, so a resume starts where the caller's count says.
pub(crate) struct StallGuard<R> {
    inner: R,
    limit: Duration,
    window_start: Instant,
    window_bytes: u64,
}

impl<R> StallGuard<R> {
    pub fn new(inner: R, limit: Duration) -> StallGuard<R> {
        StallGuard { inner, limit, window_start: Instant::now(), window_bytes: 0 }
    }
}

impl<R: Read> Read for StallGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window_bytes += n as u64;
        let elapsed = self.window_start.elapsed();
        if elapsed >= self.limit {
            if n > 0 && self.window_bytes < STALL_MIN_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "the transfer stalled: {} bytes in {:.1} s, fewer than {STALL_MIN_BYTES} in the stall timeout of {} s",
                        self.window_bytes,
                        elapsed.as_secs_f64(),
                        self.limit.as_secs_f64()
                    ),
                ));
            }
            self.window_start = Instant::now();
            self.window_bytes = 0;
        }
        Ok(n)
    }
}

/// A response header as text.
pub(crate) fn header_str<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in
            ["localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000", "127.3.4.5:1", "[::1]:5000", "a.localhost"]
        {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1:5000", "[2001:db8::1]:5000", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() -> Result<()> {
        let config = ClientConfig {
            credentials: Credentials::none(),
            retry_base_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_millis(350),
            ..ClientConfig::default()
        };
        let client = Client::new(config)?;
        for _ in 0..20 {
            let first = client.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let third = client.backoff(3);
            assert!(third >= Duration::from_millis(175) && third <= Duration::from_millis(350), "{third:?}");
            assert!(client.backoff(60) <= Duration::from_millis(350));
        }
        Ok(())
    }
}
