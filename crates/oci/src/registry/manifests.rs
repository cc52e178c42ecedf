//! Manifests and tags: `GET`/`HEAD`/`PUT /v2/NAME/manifests/REF` and `GET /v2/NAME/tags/list`.

use std::collections::HashSet;
use std::io::Read;

use oci_spec::image::{Descriptor, MediaType};
use reqwest::header;
use reqwest::{Method, StatusCode, Url};

use super::client::{Call, Client, StallGuard, header_str, pull_scope, push_scope, status_error};
use crate::digest::{Digest, Hasher, parse_digest};
use crate::media::{MANIFEST_ACCEPT, ManifestKind, OCI_INDEX, OCI_MANIFEST};
use crate::{Error, MAX_METADATA_SIZE, Reference, Result};

/// Pages of a list followed at most (a registry that links pages in a loop is stopped earlier).
const MAX_LIST_PAGES: usize = 100_000;

/// The content digest of some bytes, with the algorithm of `like` (sha256 when none).
pub(crate) fn digest_of(bytes: &[u8], like: Option<&Digest>) -> Digest {
    let mut hasher = match like {
        Some(d) => Hasher::for_digest(d),
        None => Hasher::new(&crate::DigestAlgorithm::Sha256),
    };
    hasher.update(bytes);
    hasher.finish()
}

/// The media type of a manifest: the one its body declares, else the `Content-Type`, else a guess.
fn manifest_media_type(content_type: Option<&str>, body: &[u8]) -> String {
    let content_type = content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string());
    let declared = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(str::to_string));
    if let Some(declared) = declared.filter(|d| !d.is_empty()) {
        return declared;
    }
    if let Some(ct) = content_type.as_deref().filter(|ct| ManifestKind::of(ct).is_some()) {
        return ct.to_string();
    }
    match ManifestKind::sniff(body) {
        Some(ManifestKind::Index) => OCI_INDEX.to_string(),
        Some(ManifestKind::Image) => OCI_MANIFEST.to_string(),
        None => content_type.unwrap_or_else(|| "application/octet-stream".to_string()),
    }
}

/// Checks manifest bytes against the digest asked for and the one the registry announced.
fn verify_manifest(bytes: &[u8], requested: Option<&Digest>, announced: Option<&str>) -> Result<Digest> {
    if let Some(requested) = requested {
        let actual = digest_of(bytes, Some(requested));
        if &actual != requested {
            return Err(Error::DigestMismatch { digest: requested.clone(), actual });
        }
    }
    if let Some(announced) = announced.and_then(|a| parse_digest(a).ok()) {
        let actual = digest_of(bytes, Some(&announced));
        if actual != announced {
            return Err(Error::DigestMismatch { digest: announced, actual });
        }
    }
    Ok(match requested {
        Some(d) => d.clone(),
        None => digest_of(bytes, None),
    })
}

fn manifest_not_found(reference: &Reference) -> Error {
    Error::NotFound {
        what: "manifest".into(),
        name: reference.manifest_reference(),
        location: reference.name(),
        hint: Some("check the tag or digest; `pare tags` lists the tags of a repository".into()),
    }
}

impl Client {
    fn manifest_url(&self, reference: &Reference) -> Result<(std::sync::Arc<super::client::Host>, Url)> {
        let host = self.host(reference)?;
        let url =
            self.url(&host, &format!("{}/manifests/{}", reference.repository(), reference.manifest_reference()))?;
        Ok((host, url))
    }

    /// Fetches the manifest or index a reference names (its digest if it has one, else its tag),
    /// checked against that digest and against the registry's `Docker-Content-Digest`.
    pub fn get_manifest(&self, reference: &Reference) -> Result<(Descriptor, Vec<u8>)> {
        self.get_manifest_etag(reference).map(|(desc, bytes, _)| (desc, bytes))
    }

    /// [`Client::get_manifest`], with the response's `ETag` if the registry sent one.
    pub(crate) fn get_manifest_etag(&self, reference: &Reference) -> Result<(Descriptor, Vec<u8>, Option<String>)> {
        let (host, url) = self.manifest_url(reference)?;
        let call = Call::new(Method::GET, url, vec![pull_scope(reference.repository())])
            .header(header::ACCEPT, MANIFEST_ACCEPT)
            .download();
        let resp = self.send(&host, reference.repository(), &call)?;
        match resp.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(manifest_not_found(reference)),
            _ => return Err(status_error(resp, &format!("fetching manifest `{reference}`"))),
        }
        if resp.content_length().is_some_and(|len| len > MAX_METADATA_SIZE) {
            return Err(Error::LimitExceeded {
                what: format!("manifest `{reference}`"),
                limit: MAX_METADATA_SIZE,
                hint: "manifests are small; this registry sent something else".into(),
            });
        }
        let content_type = header_str(&resp, "content-type").map(str::to_string);
        let etag = header_str(&resp, "etag").map(str::to_string);
        let announced = header_str(&resp, "docker-content-digest").map(str::to_string);
        let url = resp.url().to_string();
        let mut bytes = Vec::new();
        StallGuard::new(resp, self.config().stall_timeout)
            .take(MAX_METADATA_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Registry {
                url: url.clone(),
                status: None,
                message: format!("reading the manifest: {e}"),
            })?;
        if bytes.len() as u64 > MAX_METADATA_SIZE {
            return Err(Error::LimitExceeded {
                what: format!("manifest `{reference}`"),
                limit: MAX_METADATA_SIZE,
                hint: "manifests are small; this registry sent something else".into(),
            });
        }
        // Schema 1 signed manifests are announced by the digest of their unsigned payload; they
        // are refused later for their media type, not here for a digest pare cannot check.
        let signed_v1 = content_type.as_deref().is_some_and(|c| c.contains("prettyjws"));
        let announced = if signed_v1 { None } else { announced };
        let digest = verify_manifest(&bytes, reference.digest(), announced.as_deref())?;
        let media_type = manifest_media_type(content_type.as_deref(), &bytes);
        tracing::debug!(%reference, %digest, media_type, size = bytes.len(), "fetched manifest");
        Ok((Descriptor::new(MediaType::from(media_type.as_str()), bytes.len() as u64, digest), bytes, etag))
    }

    /// The descriptor of a manifest without its body (`HEAD`); `None` when the registry has none.
    /// Falls back to `GET` when the registry does not announce the digest.
    pub fn head_manifest(&self, reference: &Reference) -> Result<Option<Descriptor>> {
        let (host, url) = self.manifest_url(reference)?;
        let call = Call::new(Method::HEAD, url, vec![pull_scope(reference.repository())])
            .header(header::ACCEPT, MANIFEST_ACCEPT);
        let resp = self.send(&host, reference.repository(), &call)?;
        match resp.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(status_error(resp, &format!("checking manifest `{reference}`"))),
        }
        let digest = header_str(&resp, "docker-content-digest").and_then(|d| parse_digest(d).ok());
        let size = header_str(&resp, "content-length").and_then(|l| l.parse::<u64>().ok());
        let media_type = header_str(&resp, "content-type")
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_string())
            .filter(|c| !c.is_empty() && c != "application/json" && c != "text/plain");
        match (digest, size, media_type) {
            (Some(digest), Some(size), Some(media_type)) => {
                if let Some(wanted) = reference.digest()
                    && wanted != &digest
                {
                    return Err(Error::DigestMismatch { digest: wanted.clone(), actual: digest });
                }
                Ok(Some(Descriptor::new(MediaType::from(media_type.as_str()), size, digest)))
            }
            _ => match self.get_manifest(reference) {
                Ok((desc, _)) => Ok(Some(desc)),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Stores a manifest or index under the reference's digest (checked against the bytes) or tag.
    /// Returns its descriptor and the registry's `OCI-Subject` header, if any.
    pub(crate) fn put_manifest_raw(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: &[u8],
        if_match: Option<&str>,
    ) -> Result<(Descriptor, Option<String>)> {
        let digest = verify_manifest(bytes, reference.digest(), None)?;
        let (host, url) = self.manifest_url(reference)?;
        let mut call = Call::new(Method::PUT, url, vec![push_scope(reference.repository())])
            .header(header::CONTENT_TYPE, media_type)
            .body(bytes.to_vec());
        if let Some(etag) = if_match {
            call = call.header(header::IF_MATCH, etag);
        }
        let resp = self.send(&host, reference.repository(), &call)?;
        if !(resp.status() == StatusCode::CREATED || resp.status() == StatusCode::OK) {
            return Err(status_error(resp, &format!("storing manifest `{reference}` ({media_type})")));
        }
        if let Some(announced) = header_str(&resp, "docker-content-digest").and_then(|d| parse_digest(d).ok()) {
            let ours = digest_of(bytes, Some(&announced));
            if ours != announced {
                return Err(Error::Registry {
                    url: resp.url().to_string(),
                    status: Some(resp.status().as_u16()),
                    message: format!(
                        "the registry stored manifest `{reference}` as `{announced}`, but its bytes hash to `{ours}`"
                    ),
                });
            }
        }
        let subject = header_str(&resp, "oci-subject").map(str::to_string);
        tracing::debug!(%reference, %digest, media_type, "stored manifest");
        Ok((Descriptor::new(MediaType::from(media_type), bytes.len() as u64, digest), subject))
    }

    /// Stores a manifest or index under the reference's digest (checked against the bytes) or tag.
    pub fn put_manifest(&self, reference: &Reference, media_type: &str, bytes: &[u8]) -> Result<Descriptor> {
        self.put_manifest_raw(reference, media_type, bytes, None).map(|(desc, _)| desc)
    }

    /// All tags of a repository, in the registry's order.
    pub fn list_tags(&self, repository: &Reference) -> Result<Vec<String>> {
        self.list_tags_paged(repository, None)
    }

    /// All tags of a repository, asking for `page_size` at a time (`?n=`) and following the
    /// registry's `Link: <...>; rel="next"` headers (registries that do not paginate send all).
    pub fn list_tags_paged(&self, repository: &Reference, page_size: Option<usize>) -> Result<Vec<String>> {
        let host = self.host(repository)?;
        let repo = repository.repository();
        let url = self.url(&host, &format!("{repo}/tags/list"))?;
        let not_found = || Error::NotFound {
            what: "repository".into(),
            name: repo.to_string(),
            location: repository.registry().to_string(),
            hint: Some("check the repository name; it has no tags yet if nothing was pushed".into()),
        };
        self.paged_list(&host, repo, vec![pull_scope(repo)], url, page_size, "tags", not_found)
    }

    /// The repositories of a registry (`/v2/_catalog`), `page_size` at a time. Many public
    /// registries do not offer this.
    pub fn list_repositories(&self, registry: &str, page_size: Option<usize>) -> Result<Vec<String>> {
        let host = self.host_named(registry)?;
        let url = self.url(&host, "_catalog")?;
        let not_found = || Error::NotFound {
            what: "repository catalog".into(),
            name: "_catalog".into(),
            location: registry.to_string(),
            hint: Some("this registry does not list its repositories".into()),
        };
        self.paged_list(&host, "", vec!["registry:catalog:*".to_string()], url, page_size, "repositories", not_found)
    }

    /// Reads a list that may come in pages: `{"<key>": [...]}` plus `Link` headers.
    #[allow(clippy::too_many_arguments)]
    fn paged_list(
        &self,
        host: &super::client::Host,
        repo: &str,
        scopes: Vec<String>,
        mut url: Url,
        page_size: Option<usize>,
        key: &str,
        not_found: impl Fn() -> Error,
    ) -> Result<Vec<String>> {
        if let Some(n) = page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..MAX_LIST_PAGES {
            if !seen.insert(url.to_string()) {
                tracing::warn!(%url, "the registry links pages in a loop; stopping");
                break;
            }
            let call = Call::new(Method::GET, url.clone(), scopes.clone());
            let resp = self.send(host, repo, &call)?;
            match resp.status() {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => return Err(not_found()),
                _ => return Err(status_error(resp, &format!("listing {key}"))),
            }
            let next = header_str(&resp, "link").and_then(next_link).and_then(|l| resp.url().join(&l).ok());
            let page_url = resp.url().to_string();
            let mut body = Vec::new();
            resp.take(MAX_METADATA_SIZE + 1).read_to_end(&mut body).map_err(|e| Error::Registry {
                url: page_url.clone(),
                status: None,
                message: format!("reading the list of {key}: {e}"),
            })?;
            let what = format!("list of {key}");
            let page: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| Error::malformed(&what, &page_url, format!("invalid JSON: {e}")))?;
            match page.get(key) {
                Some(serde_json::Value::Array(list)) => {
                    for item in list {
                        let item = item
                            .as_str()
                            .ok_or_else(|| Error::malformed(&what, &page_url, "an entry is not a string"))?;
                        items.push(item.to_string());
                    }
                }
                Some(serde_json::Value::Null) | None => {}
                Some(_) => return Err(Error::malformed(&what, &page_url, format!("`{key}` is not a list"))),
            }
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(items)
    }
}

/// The target of the `rel="next"` link in a `Link` header.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_headers() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/n>; rel=next"#).as_deref(),
            Some("https://x/n")
        );
        for junk in ["", "<", ">; rel=next", "garbage", "<x>"] {
            assert_eq!(next_link(junk), None, "{junk}");
        }
    }

    #[test]
    fn media_type_prefers_the_body() {
        let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert_eq!(manifest_media_type(Some("application/json"), oci), OCI_INDEX);
        assert_eq!(manifest_media_type(Some(&format!("{OCI_MANIFEST}; charset=utf-8")), b"{}"), OCI_MANIFEST);
        assert_eq!(manifest_media_type(None, br#"{"schemaVersion":2,"layers":[]}"#), OCI_MANIFEST);
    }

    #[test]
    fn verifies_manifest_digests() {
        let body = b"{}";
        let good = digest_of(body, None);
        assert!(verify_manifest(body, Some(&good), Some(good.as_ref())).is_ok());
        let other = digest_of(b"x", None);
        assert!(matches!(verify_manifest(body, Some(&other), None), Err(Error::DigestMismatch { .. })));
        assert!(matches!(verify_manifest(body, None, Some(other.as_ref())), Err(Error::DigestMismatch { .. })));
        assert!(verify_manifest(body, None, Some("not-a-digest")).is_ok());
    }
}
