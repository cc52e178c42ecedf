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
    /// Names this server in claims; default `HOST-PID-RANDOM`.
    pub worker_id: Option<String>,
}

/// Runs a server until the process is stopped (Ctrl-C or SIGTERM); `on_listening` is told the
/// address once the socket is bound (port 0 picks a free one).
pub fn serve(options: ServeOptions, on_listening: impl FnOnce(SocketAddr) + Send) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Task { message: format!("starting the runtime: {e}") })?;
    runtime.block_on(serve_async(options, on_listening))
}

async fn serve_async(options: ServeOptions, on_listening: impl FnOnce(SocketAddr) + Send) -> Result<()> {
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
    if let Err(e) = worker.refresh().await {
        tracing::warn!("{e} (images are scanned once a database can be opened)");
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| Error::Http { message: format!("cannot listen on {}: {e}", options.listen) })?;
    let addr = listener.local_addr().map_err(|e| Error::Http { message: e.to_string() })?;
    let rescans = tokio::spawn(Arc::clone(&worker).run_rescans());
    let alerts = tokio::spawn(Arc::clone(&worker).run_alerts());
    let app = router(Arc::new(AppState { worker, allow_anonymous_read: options.allow_anonymous_read }));
    on_listening(addr);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| Error::Http { message: e.to_string() });
    rescans.abort();
    alerts.abort();
    served
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
