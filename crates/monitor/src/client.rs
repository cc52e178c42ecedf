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
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| Error::Http { message: e.to_string() })?;
    let response = client
        .post(url.clone())
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .map_err(|e| Error::Http { message: format!("POST {url}: {e}") })?;
    let status = response.status();
    let text = response.text().map_err(|e| Error::Http { message: format!("POST {url}: {e}") })?;
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    if !status.is_success() {
        let message =
            value.get("error").and_then(|e| e.as_str()).map(str::to_string).unwrap_or_else(|| value.to_string());
        return Err(Error::Server { url: url.to_string(), status: status.as_u16(), message });
    }
    Ok(value)
}
