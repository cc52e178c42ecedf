//! The HTTPS server: `/validate`, `/healthz`, `/readyz`, `/metrics`; TLS files watched and
//! reloaded; bodies capped in size and in time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::tls_rustls::RustlsConfig;
use http_body_util::BodyExt;

use super::check::{Checker, FailurePolicy};
use super::metrics::Outcome;
use super::review::{self, AdmissionResponse, ReviewResponse};
use crate::error::{Error, Result};

/// The largest review read. The API server sends objects of up to 1.5 MiB (etcd's limit), twice
/// for an update (`object` and `oldObject`).
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// The most containers (of all three lists) one review may name: each distinct image is a check
/// on a blocking thread, and a pod has a handful.
pub const MAX_CONTAINERS: usize = 256;

/// How `pare admission serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub policy: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub listen: SocketAddr,
    /// The vulnerability database, for `vulnerabilities` rules.
    pub db: Option<PathBuf>,
    /// The deadline of one review: what is not checked by then is answered by `failure_policy`.
    /// Keep it below the webhook's `timeoutSeconds` (at most 10 s).
    pub timeout: Duration,
    pub failure_policy: FailurePolicy,
    /// Verdicts (and tags resolved to digests) kept, and for how long.
    pub cache_size: usize,
    pub cache_ttl: Duration,
    /// Registries reached over plain HTTP or unverified TLS (loopback always is).
    pub insecure_registries: Vec<String>,
    pub max_body: usize,
    /// Public keys (PEM files) whose signed verification summaries of this policy are trusted
    /// (`pare policy check --attest --key`).
    pub trust_vsa: Vec<PathBuf>,
    /// How often the TLS files are checked for changes.
    pub reload_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            policy: PathBuf::new(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            db: None,
            timeout: Duration::from_secs(8),
            failure_policy: FailurePolicy::Fail,
            cache_size: 1000,
            cache_ttl: Duration::from_secs(300),
            insecure_registries: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            trust_vsa: Vec::new(),
            reload_interval: Duration::from_secs(2),
        }
    }
}

struct App {
    checker: Arc<Checker>,
    max_body: usize,
}

/// Loads the policy, the database and the TLS pair, then serves until the process ends.
/// `on_listening` is called with the bound address (useful with port 0).
pub fn serve(options: &ServeOptions, on_listening: impl FnOnce(SocketAddr) + Send + 'static) -> Result<()> {
    let policy = crate::file::Policy::load(&options.policy)?;
    let needs_db = policy.rules.iter().find(|r| matches!(r.check, crate::file::Check::Vulnerabilities { .. }));
    let lookup = match (&options.db, needs_db) {
        (Some(path), _) => Some(Arc::new(pare_vuln::Database::open(path)?)),
        (None, Some(rule)) => {
            return Err(Error::Missing {
                rule: rule.id.clone(),
                what: "a vulnerability database".into(),
                hint: "pass --db PATH (made by `pare db update`)".into(),
            });
        }
        (None, None) => None,
    };
    // Built outside the runtime: the blocking registry client runs a runtime of its own.
    let config = pare_oci::registry::ClientConfig {
        insecure_registries: options.insecure_registries.clone(),
        timeout: options.timeout,
        max_attempts: 2,
        ..Default::default()
    };
    let client = pare_oci::registry::Client::new(config)?;
    let open = pare_oci::OpenOptions {
        registry: Some(client.clone()),
        blob_cache: pare_oci::registry::BlobCache::from_env(),
        ..Default::default()
    };
    let mut vsa_keys = Vec::new();
    for path in &options.trust_vsa {
        let pem = std::fs::read(path).map_err(|source| Error::Io { path: path.clone(), source })?;
        vsa_keys.push(pare_sign::PublicKey::from_pem(&pem)?);
    }
    let mut checker = Checker::new(
        policy,
        open,
        lookup.clone(),
        pare_sbom::LayerCache::from_env(),
        options.timeout,
        options.failure_policy,
        options.cache_size,
        options.cache_ttl,
    );
    checker.vsa_keys = vsa_keys;
    let checker = Arc::new(checker);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()
        .map_err(|e| Error::Admission { message: format!("cannot start the server's runtime: {e}"), hint: None })?;
    let served = runtime.block_on(run(options, Arc::clone(&checker), on_listening));
    // Blocking checks still running keep their clones; wait for them outside async code.
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop((checker, lookup, client));
    served
}

async fn run(
    options: &ServeOptions,
    checker: Arc<Checker>,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<()> {
    let tls = RustlsConfig::from_pem_file(&options.tls_cert, &options.tls_key).await.map_err(|e| Error::Admission {
        message: format!(
            "cannot load the TLS certificate {} and key {}: {e}",
            options.tls_cert.display(),
            options.tls_key.display()
        ),
        hint: Some("give a PEM certificate chain and its PEM private key".into()),
    })?;
    tokio::spawn(watch_tls(
        tls.clone(),
        options.tls_cert.clone(),
        options.tls_key.clone(),
        options.reload_interval,
        Arc::clone(&checker),
    ));
    let app = Arc::new(App { checker, max_body: options.max_body });
    let router = Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(app);
    let handle = axum_server::Handle::new();
    let listening = handle.clone();
    tokio::spawn(async move {
        if let Some(addr) = listening.listening().await {
            on_listening(addr);
        }
    });
    // SIGTERM (a pod being stopped) or SIGINT: stop accepting, answer the reviews under way.
    let stopping = handle.clone();
    let grace = options.timeout + Duration::from_secs(1);
    tokio::spawn(async move {
        if let Err(e) = stop_signal().await {
            tracing::warn!("cannot watch for SIGTERM: {e}");
            return;
        }
        tracing::warn!("stopping: answering the reviews under way (at most {}s)", grace.as_secs());
        stopping.graceful_shutdown(Some(grace));
    });
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls).handshake_timeout(Duration::from_secs(10));
    let mut server = axum_server::bind(options.listen).acceptor(acceptor).handle(handle);
    // A client that sends part of its headers and stops is dropped (hyper's default is 30 s).
    server.http_builder().http1().header_read_timeout(Some(Duration::from_secs(10)));
    server.serve(router.into_make_service()).await.map_err(|e| Error::Admission {
        message: format!("cannot serve on {}: {e}", options.listen),
        hint: Some("choose a free port with --listen ADDR:PORT".into()),
    })
}

/// Waits for SIGTERM or SIGINT.
async fn stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// Reloads the TLS pair when either file changes (modification time, size or inode); a pair that
/// does not load is logged and the one loaded before stays.
async fn watch_tls(config: RustlsConfig, cert: PathBuf, key: PathBuf, interval: Duration, checker: Arc<Checker>) {
    fn stamp(path: &Path) -> Option<(Option<std::time::SystemTime>, u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.modified().ok(), m.len(), m.ino()))
    }
    let mut last = (stamp(&cert), stamp(&key));
    loop {
        tokio::time::sleep(interval).await;
        let now = (stamp(&cert), stamp(&key));
        if now == last {
            continue;
        }
        last = now;
        match config.reload_from_pem_file(&cert, &key).await {
            Ok(()) => {
                checker.metrics.tls_reloads.fetch_add(1, Relaxed);
                tracing::info!("reloaded the TLS certificate {}", cert.display());
            }
            Err(e) => {
                checker.metrics.tls_reload_failures.fetch_add(1, Relaxed);
                tracing::warn!(
                    "the TLS files {} and {} changed but do not load ({e}); still serving the certificate loaded before",
                    cert.display(),
                    key.display()
                );
            }
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app.checker.metrics.render(app.checker.cached_verdicts());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn validate(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    let start = Instant::now();
    let (outcome, response) = match review_body(&app, request).await {
        Ok(answer) => {
            let outcome = if answer.allowed { Outcome::Allowed } else { Outcome::Denied };
            match serde_json::to_vec(&ReviewResponse::new(answer)) {
                Ok(json) => (outcome, ([(header::CONTENT_TYPE, "application/json")], json).into_response()),
                Err(e) => (Outcome::Invalid, (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()),
            }
        }
        Err((status, message)) => {
            tracing::info!("refused a review: {message}");
            (Outcome::Invalid, (status, format!("{message}\n")).into_response())
        }
    };
    app.checker.metrics.record(outcome, start.elapsed());
    response
}

async fn review_body(
    app: &App,
    request: axum::extract::Request,
) -> std::result::Result<AdmissionResponse, (StatusCode, String)> {
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, format!("the review is larger than {} bytes", app.max_body));
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_body as u64) {
        return Err(too_large());
    }
    let start = tokio::time::Instant::now();
    let timeout = deadline(app.checker.timeout, request.uri().query());
    let limited = http_body_util::Limited::new(request.into_body(), app.max_body);
    let body = match tokio::time::timeout_at(start + timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return Err(too_large()),
        Ok(Err(e)) => return Err((StatusCode::BAD_REQUEST, format!("cannot read the review: {e}"))),
        Err(_) => {
            let message = format!("the review did not arrive within {}s", timeout.as_secs_f64());
            return Err((StatusCode::REQUEST_TIMEOUT, message));
        }
    };
    let request = review::parse(&body).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let allowed = AdmissionResponse { uid: request.uid.clone(), allowed: true, status: None, warnings: Vec::new() };
    if !review::is_checked_kind(&request.kind) || !matches!(request.operation.as_str(), "CREATE" | "UPDATE") {
        return Ok(allowed);
    }
    let Some(object) = &request.object else {
        return Err((StatusCode::BAD_REQUEST, format!("the {} request has no `object`", request.operation)));
    };
    let mut images = review::images(&request.kind, object).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    // An update is judged on what it changes: a container whose image the object already had is
    // not checked again (a label patched onto a running pod is not denied by a newer policy).
    if let Some(old) = request.old_object.as_ref().filter(|_| request.operation == "UPDATE") {
        let before = review::images(&request.kind, old).unwrap_or_default();
        images.retain(|c| !before.contains(c));
    }
    if images.is_empty() {
        return Ok(allowed);
    }
    if images.len() > MAX_CONTAINERS {
        let message =
            format!("the {} has {} containers; pare checks at most {MAX_CONTAINERS}", request.kind.kind, images.len());
        return Err((StatusCode::BAD_REQUEST, message));
    }
    Ok(app.checker.review(&request, images, start, timeout).await)
}

/// The deadline of one review: `--timeout`, or less when the API server says (with `?timeout=10s`
/// on the webhook URL) it waits less, keeping half a second to send the answer.
fn deadline(configured: Duration, query: Option<&str>) -> Duration {
    let asked = query.into_iter().flat_map(|q| q.split('&')).find_map(|pair| pair.strip_prefix("timeout="));
    let Some(asked) = asked.and_then(go_duration) else { return configured };
    configured.min(asked.saturating_sub(Duration::from_millis(500)).max(Duration::from_millis(100)))
}

/// A Go duration of one unit, as the API server writes it: `10s`, `1500ms`, `1m`.
fn go_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_servers_timeout_shortens_the_deadline() {
        let eight = Duration::from_secs(8);
        assert_eq!(deadline(eight, None), eight);
        assert_eq!(deadline(eight, Some("timeout=10s")), eight);
        assert_eq!(deadline(eight, Some("a=b&timeout=5s")), Duration::from_millis(4500));
        assert_eq!(deadline(eight, Some("timeout=1500ms")), Duration::from_secs(1));
        assert_eq!(deadline(eight, Some("timeout=1m")), eight);
        assert_eq!(deadline(eight, Some("timeout=200ms")), Duration::from_millis(100));
        assert_eq!(deadline(eight, Some("timeout=soon")), eight);
    }
}
