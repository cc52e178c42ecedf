//! `pare monitor serve`: the store, the rescan and alert workers and the API in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{AppState, router};
use crate::error::{Error, Result};
use crate::scan::VulnDb;
use crate::store::Store;
use crate::worker::{AlertTarget, Worker};

/// How a server runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…`.
    pub database: String,
    /// The vulnerability database file (`pare db update` writes it).
    pub vuln_db: PathBuf,
    pub allow_anonymous_read: bool,
    /// Where alerts are POSTed, and the HMAC key of their signature header.
    pub alerts: Option<AlertTarget>,
    /// How often the database file and the outbox are looked at.
    pub poll: Duration,
    /// How long a claim survives its worker.
    pub lease: Duration,
    /// Names this server in claims; default `PID-RANDOM`.
    pub worker_id: Option<String>,
    /// Sources the server rebuilds the vulnerability database from itself (as `pare db update`), at
    /// start and then every `db_update_every`; empty: the file is only watched.
    pub db_sources: Vec<pare_vuln::SourceSpec>,
    pub db_update_every: Duration,
    /// Watches added at start (`--watch REPO=ENV/TEAM`), each under an id made from it, so a restart
    /// adds none twice.
    pub watches: Vec<crate::watch::NewWatch>,
    /// Plain HTTP and unverified TLS for every watched registry (loopback registries always may).
    pub insecure_registries: bool,
    /// Rebuild advice: where the Debian archive and the bases are read, how often; `None`: off.
    pub advice: Option<crate::advice::AdviceOptions>,
}

/// Runs a server until the process is stopped (Ctrl-C or SIGTERM); `on_listening` is told the
/// address once the socket is bound (port 0 picks a free one).
pub fn serve(options: ServeOptions, on_listening: impl FnOnce(SocketAddr) + Send) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Task { message: format!("starting the runtime: {e}") })?;
    // The registry client is blocking: made (and dropped) here, outside the runtime.
    let registry = pare_oci::registry::Client::new(pare_oci::registry::ClientConfig {
        insecure: options.insecure_registries,
        ..Default::default()
    })?;
    let served = runtime.block_on(serve_async(options, registry.clone(), on_listening));
    drop(runtime);
    drop(registry);
    served
}

async fn serve_async(
    options: ServeOptions,
    registry: pare_oci::registry::Client,
    on_listening: impl FnOnce(SocketAddr) + Send,
) -> Result<()> {
    let store = Store::open(&options.database).await?;
    let id = options.worker_id.clone().unwrap_or_else(|| {
        let suffix: u32 = rand::random();
        format!("{}-{suffix:08x}", std::process::id())
    });
    let worker = Arc::new(Worker::new(
        store,
        id,
        VulnDb::new(options.vuln_db.clone()),
        options.lease,
        options.poll,
        options.alerts,
    ));
    for watch in &options.watches {
        let watch = watch.clone().validated()?;
        if worker.store.add_watch(&crate::watch::flag_id(&watch), &watch).await? {
            tracing::info!("watching {} for {}/{}", watch.repository, watch.environment, watch.team);
        }
    }
    if let Err(e) = worker.refresh().await {
        tracing::warn!("{e} (images are scanned once a database can be opened)");
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::Http { message: format!("cannot listen on {}: {e}", options.listen) })?;
    let addr = listener.local_addr().map_err(|e| Error::Http { message: e.to_string() })?;
    let updates = (!options.db_sources.is_empty()).then(|| {
        tokio::spawn(run_db_updates(
            Arc::clone(&worker),
            options.vuln_db.clone(),
            options.db_sources.clone(),
            options.db_update_every,
        ))
    });
    let rescans = tokio::spawn(Arc::clone(&worker).run_rescans());
    let alerts = tokio::spawn(Arc::clone(&worker).run_alerts());
    let watches = tokio::spawn(crate::watch::run_watches(Arc::clone(&worker), registry));
    let advice = options.advice.map(|a| tokio::spawn(crate::advice::run(Arc::clone(&worker), Arc::new(a))));
    let app = router(Arc::new(AppState { worker, allow_anonymous_read: options.allow_anonymous_read }));
    on_listening(addr);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| Error::Http { message: e.to_string() });
    rescans.abort();
    alerts.abort();
    watches.abort();
    for task in [updates, advice].into_iter().flatten() {
        task.abort();
    }
    served
}

/// Rebuilds the vulnerability database from `sources` now and every `every` (`--db-source`): the
/// same `update_with` as `pare db update`, so the file is replaced atomically and the rescan loop
/// notices it. A failed update leaves the previous database in place and is tried again next time.
async fn run_db_updates(worker: Arc<Worker>, path: PathBuf, sources: Vec<pare_vuln::SourceSpec>, every: Duration) {
    loop {
        let (p, s) = (path.clone(), sources.clone());
        let updated = tokio::task::spawn_blocking(move || {
            pare_vuln::db::update_with(&p, &s, &pare_vuln::db::UpdateOptions::default(), &mut |_| {})
        })
        .await;
        match updated {
            Ok(Ok(info)) => {
                tracing::info!(
                    "updated the vulnerability database {} from {} sources",
                    path.display(),
                    info.sources.len()
                );
                worker.wake.notify_one();
            }
            Ok(Err(e)) => tracing::warn!("updating the vulnerability database: {e} (the previous one stays)"),
            Err(e) => tracing::warn!("updating the vulnerability database: {e}"),
        }
        tokio::time::sleep(every).await;
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Makes a token in the store at `database` (`pare monitor token create`): the secret, shown once.
pub fn create_token(database: &str, scope: crate::store::Scope, name: &str) -> Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Task { message: format!("starting the runtime: {e}") })?;
    runtime.block_on(async {
        let store = Store::open(database).await?;
        store.create_token(scope, name).await
    })
}
