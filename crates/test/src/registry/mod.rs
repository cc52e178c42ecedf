//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, with
//! its own storage and config, optionally behind basic auth or token auth. One server per file
//! beside it, all on 127.0.0.1: `fault_proxy` (breaks chosen requests on the way to a registry),
//! `token_server` (distribution token auth), `mock_server` (scripted answers), and `http`, the
//! small HTTP/1.1 server they share.
//!
//! A missing `docker-registry`, `htpasswd` or `openssl` fails the test with an install hint.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod fault_proxy;
mod http;
mod mock_server;
mod token_server;

pub use fault_proxy::{Fault, FaultAction, FaultProxy};
pub use http::RecordedRequest;
pub use mock_server::{MockResponse, MockServer};
pub use token_server::{TokenRequest, TokenServer};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub(super) fn require(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("`{tool}` is not installed; the registry tests need it: apt-get install {package}");
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// How the registry authenticates clients.
enum AuthMode {
    None,
    Basic { user: String, password: String },
    Token { user: String, password: String },
}

/// A running `docker-registry serve`, stopped (killed) on drop.
pub struct TestRegistry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    token_server: Option<TokenServer>,
}

impl TestRegistry {
    /// An open registry (no authentication).
    pub fn start() -> TestRegistry {
        TestRegistry::launch(AuthMode::None)
    }

    /// A registry that wants HTTP basic auth (htpasswd with bcrypt, made by `htpasswd -Bbn`).
    pub fn start_with_basic_auth(user: &str, password: &str) -> TestRegistry {
        TestRegistry::launch(AuthMode::Basic { user: user.into(), password: password.into() })
    }

    /// A registry with token auth: it answers 401 with a `Bearer realm=...` challenge naming a
    /// token server this harness runs. The server issues RS256 JWTs (signed with `openssl`) that
    /// the registry verifies against a self-signed certificate: the real token flow. It grants
    /// the requested scopes to `user`/`password` and nothing to anonymous clients.
    pub fn start_with_token_auth(user: &str, password: &str) -> TestRegistry {
        TestRegistry::launch(AuthMode::Token { user: user.into(), password: password.into() })
    }

    fn launch(auth: AuthMode) -> TestRegistry {
        let bin = require("docker-registry", "docker-registry");
        assert_eq!(bin, Path::new(REGISTRY_BIN), "docker-registry found at an unexpected path");
        let dir = tempfile::Builder::new().prefix("pare-registry-").tempdir().expect("temp dir");
        let (auth_yaml, token_server) = match &auth {
            AuthMode::None => (String::new(), None),
            AuthMode::Basic { user, password } => {
                let htpasswd = require("htpasswd", "apache2-utils");
                let out = Command::new(htpasswd).args(["-Bbn", user, password]).output().expect("run htpasswd");
                assert!(out.status.success(), "htpasswd failed: {}", String::from_utf8_lossy(&out.stderr));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).expect("write htpasswd");
                (format!("auth:\n  htpasswd:\n    realm: pare-test\n    path: {}\n", file.display()), None)
            }
            AuthMode::Token { user, password } => {
                let server = TokenServer::start(dir.path(), user, password);
                let yaml = format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    server.addr,
                    TokenServer::SERVICE,
                    TokenServer::ISSUER,
                    server.cert_pem.display()
                );
                (yaml, Some(server))
            }
        };
        // The port is free when chosen but may be taken before the registry binds it: retry.
        let config = dir.path().join("config.yml");
        let log_path = dir.path().join("registry.log");
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: pare-test-secret\n{auth_yaml}",
                    dir.path().join("data").display()
                ),
            )
            .expect("write registry config");
            let log = std::fs::File::create(&log_path).expect("create log");
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {REGISTRY_BIN}: {e}"));
            if wait_ready(&mut child, SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(20)) {
                return TestRegistry { child, port, dir, token_server };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    /// `127.0.0.1:PORT`, the registry part of references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The registry's storage directory.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The token server of a registry started with token auth.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token_server.as_ref()
    }

    /// Stops the registry now (drop does the same).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `GET /v2/` gets an HTTP answer (200, or 401 with auth); false if the process exits.
fn wait_ready(child: &mut Child, addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Some(200 | 401) = http_status(addr, "/v2/") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The status code of `GET path`, or `None` when nothing answers.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}
