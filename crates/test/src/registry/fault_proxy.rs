//! The fault-injecting proxy: forwards to a registry and breaks chosen requests.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{RecordedRequest, Server, read_request, write_response};

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
