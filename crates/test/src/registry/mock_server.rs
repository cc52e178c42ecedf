//! A scripted server, for registry behaviour docker-registry 2.8 does not have.

use std::net::Shutdown;
use std::sync::{Arc, Mutex};

use super::http::{RecordedRequest, Server, read_request, write_response};

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
