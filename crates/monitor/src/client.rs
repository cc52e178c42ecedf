//! The client side of `pare monitor push`: upload an inventory to a server.

use std::time::Duration;

use crate::error::{Error, Result};

/// Where an upload's image runs.
#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    pub environment: String,
    pub team: String,
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub product: Option<String>,
    /// Where the image comes from (pare built it, its base), for rebuild advice.
    pub origin: crate::advice::Origin,
}

/// Where `image` comes from: built by pare when the last step of its history is pare's
/// (`created_by: pare`, what pare's builder writes for its layers), and its base from the
/// `org.opencontainers.image.base.name` / `.digest` annotations (or labels).
pub fn origin_of(image: &pare_oci::Image) -> crate::advice::Origin {
    let pare_built = image
        .config()
        .ok()
        .and_then(|c| c.history().as_ref().and_then(|h| h.last()).and_then(|h| h.created_by().clone()))
        .is_some_and(|by| by == "pare");
    let annotations = pare_policy::evaluate::annotations(image).unwrap_or_default();
    let get = |key: &str| annotations.get(key).filter(|v| !v.is_empty()).cloned();
    crate::advice::Origin {
        pare_built,
        base_name: get(pare_policy::evaluate::BASE_NAME),
        base_digest: get(pare_policy::evaluate::BASE_DIGEST),
    }
}

/// Uploads `inventory` (as pare's JSON) to the monitor at `server` with `token`; returns the server's
/// answer (`Uploaded` as JSON).
pub fn push(
    server: &str,
    token: &str,
    inventory: &pare_sbom::Inventory,
    options: &PushOptions,
) -> Result<serde_json::Value> {
    let body = serde_json::to_vec(inventory).map_err(|e| Error::Http { message: e.to_string() })?;
    let url = format!("{}/api/v1/images", server.trim_end_matches('/'));
    let mut query: Vec<(&str, &str)> = vec![("environment", &options.environment), ("team", &options.team)];
    for (name, value) in [
        ("repository", &options.repository),
        ("tag", &options.tag),
        ("digest", &options.digest),
        ("product", &options.product),
    ] {
        if let Some(v) = value {
            query.push((name, v));
        }
    }
    if options.origin.pare_built {
        query.push(("pare_built", "true"));
    }
    if let Some(v) = &options.origin.base_name {
        query.push(("base_name", v));
    }
    if let Some(v) = &options.origin.base_digest {
        query.push(("base_digest", v));
    }
    let url = reqwest::Url::parse_with_params(&url, &query)
        .map_err(|e| Error::Http { message: format!("`{server}` is not a URL: {e}") })?;
    send(reqwest::Method::POST, url, token, Some(body))
}

/// One request to a monitor: the answer as JSON (a string when it is not JSON, null when empty), or
/// the server's error.
fn send(method: reqwest::Method, url: reqwest::Url, token: &str, body: Option<Vec<u8>>) -> Result<serde_json::Value> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| Error::Http { message: e.to_string() })?;
    let mut request = client.request(method.clone(), url.clone()).bearer_auth(token);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body);
    }
    let response = request.send().map_err(|e| Error::Http { message: format!("{method} {url}: {e}") })?;
    let status = response.status();
    let text = response.text().map_err(|e| Error::Http { message: format!("{method} {url}: {e}") })?;
    let value: serde_json::Value = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    if !status.is_success() {
        let message =
            value.get("error").and_then(|e| e.as_str()).map(str::to_string).unwrap_or_else(|| value.to_string());
        return Err(Error::Server { url: url.to_string(), status: status.as_u16(), message });
    }
    Ok(value)
}

fn api_url(server: &str, path: &str) -> Result<reqwest::Url> {
    reqwest::Url::parse(&format!("{}{path}", server.trim_end_matches('/')))
        .map_err(|e| Error::Http { message: format!("`{server}` is not a URL: {e}") })
}

fn decode<T: serde::de::DeserializeOwned>(server: &str, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| Error::Http { message: format!("the monitor at `{server}` answered something else: {e}") })
}

/// Adds a watch to the monitor at `server` (a token with write scope).
pub fn add_watch(server: &str, token: &str, watch: &crate::watch::NewWatch) -> Result<crate::watch::Watch> {
    let body = serde_json::to_vec(watch).map_err(|e| Error::Http { message: e.to_string() })?;
    let value = send(reqwest::Method::POST, api_url(server, "/api/v1/watches")?, token, Some(body))?;
    decode(server, value)
}

/// The watches of the monitor at `server`, with their last checks.
pub fn list_watches(server: &str, token: &str) -> Result<Vec<crate::watch::Watch>> {
    let value = send(reqwest::Method::GET, api_url(server, "/api/v1/watches")?, token, None)?;
    decode(server, value)
}

/// Removes a watch (a token with write scope).
pub fn remove_watch(server: &str, token: &str, id: &str) -> Result<()> {
    let mut url = api_url(server, "/api/v1/watches/")?;
    url.path_segments_mut().map_err(|()| Error::Http { message: format!("`{server}` is not a URL") })?.pop().push(id);
    send(reqwest::Method::DELETE, url, token, None).map(drop)
}
