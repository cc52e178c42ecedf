//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, with
//! its own storage and config, optionally behind basic auth or token auth; plus a fault-injecting
//! HTTP proxy and a token server, both on 127.0.0.1.
//!
//! A missing `docker-registry`, `htpasswd` or `openssl` fails the test with an install hint.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

fn require(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("`{tool}` is not installed; the registry tests need it: apt-get install {package}");
}

fn free_port() -> u16 {
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

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 request reader for the proxy and the token server.

/// One request as the proxy or token server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Reads one request; `None` for anything that is not HTTP (a TLS hello, garbage, EOF).
fn read_request(stream: &mut TcpStream) -> Option<RecordedRequest> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    // A TLS handshake (a client probing HTTPS) starts with 0x16: not for us.
    let mut first_byte = [0u8; 1];
    if stream.peek(&mut first_byte).ok()? == 0 || !first_byte[0].is_ascii_uppercase() {
        return None;
    }
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        if headers.len() > 200 {
            return None;
        }
    }
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        headers.retain(|(k, _)| k != "transfer-encoding");
        headers.push(("content-length".into(), body.len().to_string()));
    } else if let Some(len) = get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body = vec![0u8; len];
        reader.read_exact(&mut body).ok()?;
    }
    Some(RecordedRequest { method: method.to_string(), path: path.to_string(), headers, body })
}

fn write_response(stream: &mut TcpStream, status: u16, extra: &[(&str, String)], body: &[u8]) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Accepts connections on 127.0.0.1 until dropped, one thread per connection.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || handler(stream));
            }
        });
        Server { addr, stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------------------------------------
// The fault-injecting proxy.

/// What the proxy does to a request that matches a [`Fault`].
#[derive(Clone, Debug)]
pub enum FaultAction {
    /// Answer with this status (a distribution error body), without forwarding.
    Status { code: u16, retry_after: Option<u64> },
    /// Forward, then send the response head and only this many body bytes, and close.
    CutBodyAfter(usize),
    /// Forward, and flip one byte in the middle of the response body.
    CorruptBody,
    /// Close the connection without answering.
    Close,
    /// Forward without the `Range` header, as a registry that ignores ranges would answer.
    IgnoreRange,
    /// Forward, and point the response's `Location` header (an upload session) at this
    /// address instead: another host, as a registry with a separate upload service would.
    RewriteLocation(SocketAddr),
    /// Forward, send the response head, then the body one byte per interval: a stalled transfer
    /// that never quite stops. Ends when the body is sent or the client goes away.
    Drip(Duration),
}

/// A rule: requests with this method whose path contains `path_contains` get `action`, `times`
/// times, after the first `skip` of them passed untouched.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: String,
    pub path_contains: String,
    pub skip: usize,
    pub times: usize,
    pub action: FaultAction,
}

impl Fault {
    pub fn new(method: &str, path_contains: &str, times: usize, action: FaultAction) -> Fault {
        Fault { method: method.into(), path_contains: path_contains.into(), skip: 0, times, action }
    }

    /// Lets the first `n` matching requests through.
    pub fn after(mut self, n: usize) -> Fault {
        self.skip = n;
        self
    }

    /// Blob downloads (`GET .../blobs/sha256:...`) cut after `bytes` body bytes.
    pub fn cut_blob(bytes: usize, times: usize) -> Fault {
        Fault::new("GET", "/blobs/sha256:", times, FaultAction::CutBodyAfter(bytes))
    }

    /// Blob downloads with one byte flipped.
    pub fn corrupt_blob(times: usize) -> Fault {
        Fault::new("GET", "/blobs/sha256:", times, FaultAction::CorruptBody)
    }

    /// `code` answers to matching requests.
    pub fn status(method: &str, path_contains: &str, code: u16, times: usize) -> Fault {
        Fault::new(method, path_contains, times, FaultAction::Status { code, retry_after: None })
    }
}

/// An HTTP proxy on 127.0.0.1 in front of a registry that injects [`Fault`]s and records every
/// request. It serves one request per connection (it answers with `Connection: close`).
pub struct FaultProxy {
    server: Server,
    state: Arc<Mutex<ProxyState>>,
}

struct ProxyState {
    faults: Vec<Fault>,
    requests: Vec<RecordedRequest>,
}

impl FaultProxy {
    pub fn start(target: SocketAddr, faults: Vec<Fault>) -> FaultProxy {
        let state = Arc::new(Mutex::new(ProxyState { faults, requests: Vec::new() }));
        let shared = state.clone();
        let server = Server::start(move |stream| proxy_connection(stream, target, &shared));
        FaultProxy { server, state }
    }

    /// `127.0.0.1:PORT`: use it as the registry part of references.
    pub fn host(&self) -> String {
        self.server.addr.to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Adds a fault rule (checked after the existing ones).
    pub fn add_fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests with this method whose path contains `part`.
    pub fn count(&self, method: &str, part: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path.contains(part)).count()
    }
}

fn proxy_connection(mut client: TcpStream, target: SocketAddr, state: &Mutex<ProxyState>) {
    let Some(request) = read_request(&mut client) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let action = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.clone());
        let r = &request;
        let mut action = None;
        for f in state.faults.iter_mut() {
            if f.times == 0 || !f.method.eq_ignore_ascii_case(&r.method) || !r.path.contains(&f.path_contains) {
                continue;
            }
            if f.skip > 0 {
                f.skip -= 1;
                continue;
            }
            f.times -= 1;
            action = Some(f.action.clone());
            break;
        }
        action
    };
    match action {
        Some(FaultAction::Close) => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Some(FaultAction::Status { code, retry_after }) => {
            let body = br#"{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}"#;
            let mut extra = vec![("Content-Type", "application/json".to_string())];
            if let Some(seconds) = retry_after {
                extra.push(("Retry-After", seconds.to_string()));
            }
            write_response(&mut client, code, &extra, body);
            return;
        }
        _ => {}
    }
    let Ok(mut upstream) = TcpStream::connect(target) else {
        write_response(&mut client, 502, &[], b"upstream unreachable");
        return;
    };
    let r = &request;
    let mut head = format!("{} {} HTTP/1.1\r\n", r.method, r.path);
    let drop_range = matches!(action, Some(FaultAction::IgnoreRange));
    for (k, v) in &r.headers {
        if k != "connection" && k != "keep-alive" && !(drop_range && k == "range") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(head.as_bytes()).and_then(|()| upstream.write_all(&request.body)).is_err() {
        write_response(&mut client, 502, &[], b"upstream write failed");
        return;
    }
    let _ = upstream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut response = Vec::new();
    let _ = upstream.read_to_end(&mut response);
    let body_start = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |p| p + 4);
    match action {
        Some(FaultAction::Drip(every)) => {
            let _ = client.write_all(&response[..body_start]);
            for byte in &response[body_start..] {
                let _ = client.flush();
                std::thread::sleep(every);
                if client.write_all(std::slice::from_ref(byte)).is_err() {
                    return;
                }
            }
            let _ = client.flush();
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Some(FaultAction::RewriteLocation(to)) => {
            let head = String::from_utf8_lossy(&response[..body_start]).into_owned();
            let rewritten: Vec<String> = head
                .split("\r\n")
                .map(|line| match line.split_once(':') {
                    Some((k, v)) if k.eq_ignore_ascii_case("location") => {
                        let v = v.trim();
                        // `http://host:port/path` or `/path`: keep the path, change the host.
                        let path = match v.strip_prefix("http://").or_else(|| v.strip_prefix("https://")) {
                            Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
                            None => v,
                        };
                        format!("Location: http://{to}{path}")
                    }
                    _ => line.to_string(),
                })
                .collect();
            let mut out = rewritten.join("\r\n").into_bytes();
            out.extend_from_slice(&response[body_start..]);
            response = out;
        }
        Some(FaultAction::CutBodyAfter(n)) => {
            let end = (body_start + n).min(response.len());
            let _ = client.write_all(&response[..end]);
            let _ = client.flush();
            // Let the client read what was sent before the connection goes.
            std::thread::sleep(Duration::from_millis(50));
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Some(FaultAction::CorruptBody) if body_start < response.len() => {
            let middle = body_start + (response.len() - body_start) / 2;
            response[middle] ^= 0x55;
        }
        _ => {}
    }
    let _ = client.write_all(&response);
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
}

// ---------------------------------------------------------------------------------------------
// The token server.

/// One request to the token server.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub scopes: Vec<String>,
    pub service: Option<String>,
    /// The user of a valid `Authorization: Basic` header, if any.
    pub user: Option<String>,
}

/// Issues registry tokens (JWT, RS256, with the certificate in `x5c`) per the distribution
/// token spec: `GET /token?service=...&scope=...` with optional basic auth.
pub struct TokenServer {
    server: Server,
    addr: SocketAddr,
    cert_pem: PathBuf,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

struct TokenConfig {
    key_pem: PathBuf,
    cert_der_b64: String,
    user: String,
    password: String,
}

impl TokenServer {
    pub const SERVICE: &'static str = "pare-test-registry";
    pub const ISSUER: &'static str = "pare-test-issuer";

    fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
        let openssl = require("openssl", "openssl");
        let key_pem = dir.join("token.key");
        let cert_pem = dir.join("token.crt");
        let out = Command::new(&openssl)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pare-test-token"])
            .arg("-keyout")
            .arg(&key_pem)
            .arg("-out")
            .arg(&cert_pem)
            .output()
            .expect("run openssl req");
        assert!(out.status.success(), "openssl req failed: {}", String::from_utf8_lossy(&out.stderr));
        let der = Command::new(&openssl)
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert_pem)
            .output()
            .expect("run openssl x509");
        assert!(der.status.success(), "openssl x509 failed");
        let config = Arc::new(TokenConfig {
            key_pem,
            cert_der_b64: base64::engine::general_purpose::STANDARD.encode(&der.stdout),
            user: user.into(),
            password: password.into(),
        });
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = requests.clone();
        let server = Server::start(move |stream| token_connection(stream, &config, &shared));
        let addr = server.addr;
        TokenServer { server, addr, cert_pem, requests }
    }

    /// `127.0.0.1:PORT` of the token endpoint.
    pub fn host(&self) -> String {
        self.server.addr.to_string()
    }

    /// Every token request so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn token_connection(mut stream: TcpStream, config: &TokenConfig, requests: &Mutex<Vec<TokenRequest>>) {
    let Some(request) = read_request(&mut stream) else {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    };
    let r = &request;
    let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
    if r.method != "GET" || path != "/token" {
        write_response(&mut stream, 404, &[], b"not found");
        return;
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let scopes: Vec<String> = params.iter().filter(|(k, _)| k == "scope").map(|(_, v)| v.clone()).collect();
    let service = params.iter().find(|(k, _)| k == "service").map(|(_, v)| v.clone());
    let user = match r.header("authorization") {
        None => None,
        Some(value) => {
            let decoded = value
                .strip_prefix("Basic ")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
                .and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|d| d.split_once(':')) {
                Some((u, p)) if u == config.user && p == config.password => Some(u.to_string()),
                _ => {
                    requests.lock().unwrap().push(TokenRequest { scopes, service, user: None });
                    write_response(
                        &mut stream,
                        401,
                        &[("Content-Type", "application/json".into())],
                        br#"{"details":"incorrect username or password"}"#,
                    );
                    return;
                }
            }
        }
    };
    requests.lock().unwrap().push(TokenRequest { scopes: scopes.clone(), service, user: user.clone() });
    // Users get what they ask for; anonymous clients get a token that allows nothing.
    let access: Vec<serde_json::Value> = if user.is_some() {
        scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect()
    } else {
        Vec::new()
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [config.cert_der_b64]});
    let claims = serde_json::json!({
        "iss": TokenServer::ISSUER,
        "sub": user.clone().unwrap_or_default(),
        "aud": TokenServer::SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", std::process::id()),
        "access": access,
    });
    let signing_input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let mut child = Command::new("/usr/bin/openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&config.key_pem)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl dgst");
    child.stdin.take().expect("stdin").write_all(signing_input.as_bytes()).expect("write to openssl");
    let out = child.wait_with_output().expect("openssl dgst");
    assert!(out.status.success(), "openssl dgst failed: {}", String::from_utf8_lossy(&out.stderr));
    let token = format!("{signing_input}.{}", b64url(&out.stdout));
    let body = serde_json::json!({"token": token, "expires_in": 300}).to_string();
    write_response(&mut stream, 200, &[("Content-Type", "application/json".into())], body.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// A scripted server, for registry behaviour docker-registry 2.8 does not have.

/// What a [`MockServer`] answers.
#[derive(Clone, Debug)]
pub struct MockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl MockResponse {
    pub fn json(status: u16, body: &serde_json::Value) -> MockResponse {
        MockResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> MockResponse {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An HTTP server on 127.0.0.1 that answers each request with what `handler` returns and
/// records the requests.
pub struct MockServer {
    server: Server,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl MockServer {
    pub fn start(handler: impl Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static) -> MockServer {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = requests.clone();
        let server = Server::start(move |mut stream| {
            let Some(request) = read_request(&mut stream) else {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            };
            shared.lock().unwrap().push(request.clone());
            let response = handler(&request);
            let headers: Vec<(&str, String)> = response.headers.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            write_response(&mut stream, response.status, &headers, &response.body);
        });
        MockServer { server, requests }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.server.addr.to_string()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }
}
