//! The token server: registry tokens per the distribution token spec.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::http::{Server, read_request, write_response};
use super::require;

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
    pub(super) addr: SocketAddr,
    pub(super) cert_pem: PathBuf,
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

    pub(super) fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
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
