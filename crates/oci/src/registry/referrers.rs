//! Referrers (signatures, SBOMs and other artifacts attached to a manifest): the referrers API,
//! and the tag scheme registries without it use (`sha256-<hex>` names an index of referrers).

use std::io::Read;

use oci_spec::image::{Descriptor, ImageIndex};
use reqwest::header;
use reqwest::{Method, StatusCode};

use super::client::{Call, Client, pull_scope, status_error};
use crate::digest::Digest;
use crate::media::OCI_INDEX;
use crate::{Error, MAX_METADATA_SIZE, Reference, Result};

/// Read-modify-write attempts on the fallback index when the registry answers 412.
const FALLBACK_ATTEMPTS: u32 = 5;

/// The tag of the referrers fallback index for a subject: `sha256-<hex>`.
pub fn referrers_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm(), subject.digest())
}

fn parse_index(bytes: &[u8], what: &str, location: &str) -> Result<ImageIndex> {
    serde_json::from_slice(bytes).map_err(|e| Error::malformed(what, location, e))
}

fn keep_type(descs: Vec<Descriptor>, artifact_type: Option<&str>) -> Vec<Descriptor> {
    match artifact_type {
        None => descs,
        Some(wanted) => {
            descs.into_iter().filter(|d| d.artifact_type().as_ref().is_some_and(|t| t.to_string() == wanted)).collect()
        }
    }
}

impl Client {
    /// The manifests that name `subject` as their subject, optionally only those of one artifact
    /// type. Uses the referrers API, and the `sha256-<hex>` tag when the registry has no such API.
    pub fn referrers(
        &self,
        repository: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let host = self.host(repository)?;
        let repo = repository.repository();
        let mut url = self.url(&host, &format!("{repo}/referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", t);
        }
        let call = Call::new(Method::GET, url, vec![pull_scope(repo)]).header(header::ACCEPT, OCI_INDEX);
        let resp = self.send(&host, repo, &call)?;
        match resp.status() {
            StatusCode::OK => {
                let url = resp.url().to_string();
                let mut bytes = Vec::new();
                resp.take(MAX_METADATA_SIZE + 1).read_to_end(&mut bytes).map_err(|e| Error::Registry {
                    url: url.clone(),
                    status: None,
                    message: format!("reading the referrers of `{subject}`: {e}"),
                })?;
                let index = parse_index(&bytes, &format!("referrers of `{subject}`"), &url)?;
                Ok(keep_type(index.manifests().clone(), artifact_type))
            }
            StatusCode::NOT_FOUND => {
                tracing::debug!(%subject, "no referrers API; reading the fallback tag");
                let tagged = repository.with_tag(&referrers_tag(subject));
                match self.get_manifest(&tagged) {
                    Ok((_, bytes)) => {
                        let index = parse_index(&bytes, &format!("referrers index `{tagged}`"), &tagged.name())?;
                        Ok(keep_type(index.manifests().clone(), artifact_type))
                    }
                    Err(Error::NotFound { .. }) => Ok(Vec::new()),
                    Err(e) => Err(e),
                }
            }
            _ => Err(status_error(resp, &format!("listing the referrers of `{subject}`"))),
        }
    }

    /// Pushes a manifest that has a `subject` (its blobs must be pushed already). When the
    /// registry does not say it indexed the subject (`OCI-Subject`), adds the manifest to the
    /// `sha256-<hex>` fallback index, creating it if needed.
    pub fn push_referrer(&self, repository: &Reference, media_type: &str, manifest: &[u8]) -> Result<Descriptor> {
        let location = repository.name();
        let value: serde_json::Value = serde_json::from_slice(manifest)
            .map_err(|e| Error::malformed("referrer manifest", &location, format!("invalid JSON: {e}")))?;
        let subject: Descriptor = match value.get("subject") {
            Some(s) => serde_json::from_value(s.clone())
                .map_err(|e| Error::malformed("referrer manifest", &location, format!("bad `subject`: {e}")))?,
            None => {
                return Err(Error::malformed(
                    "referrer manifest",
                    &location,
                    "it has no `subject`, so it refers to nothing",
                ));
            }
        };
        let digest = super::manifests::digest_of(manifest, None);
        let (desc, indexed) =
            self.put_manifest_raw(&repository.with_digest(digest.clone()), media_type, manifest, None)?;
        if indexed.is_some() {
            return Ok(desc);
        }

        let mut entry = serde_json::json!({
            "mediaType": media_type,
            "digest": digest.to_string(),
            "size": manifest.len(),
        });
        let artifact_type = value
            .get("artifactType")
            .and_then(|t| t.as_str())
            .or_else(|| value.get("config").and_then(|c| c.get("mediaType")).and_then(|t| t.as_str()));
        if let Some(t) = artifact_type {
            entry["artifactType"] = serde_json::Value::from(t);
        }
        if let Some(annotations) = value.get("annotations").filter(|a| a.is_object()) {
            entry["annotations"] = annotations.clone();
        }

        // Read-modify-write of the fallback index. The PUT carries `If-Match` with the ETag of
        // the index read, and a 412 (another writer got there first) starts over. Registries that
        // send no ETag, or ignore `If-Match` (Docker's distribution does), leave a window where
        // two concurrent writers can drop each other's entry; creating the index is not guarded.
        let tagged = repository.with_tag(&referrers_tag(subject.digest()));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut index, etag) = match self.get_manifest_etag(&tagged) {
                Ok((_, bytes, etag)) => (
                    serde_json::from_slice::<serde_json::Value>(&bytes)
                        .ok()
                        .filter(|v| v.get("manifests").is_some_and(|m| m.is_array()))
                        .ok_or_else(|| {
                            Error::malformed(
                                format!("referrers index `{tagged}`"),
                                &location,
                                "the tag does not hold an image index",
                            )
                            .with_hint("the tag is reserved for referrers; remove what was pushed there")
                        })?,
                    etag,
                ),
                Err(Error::NotFound { .. }) => {
                    (serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}), None)
                }
                Err(e) => return Err(e),
            };
            if let Some(manifests) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) {
                let digest_text = digest.to_string();
                if manifests.iter().any(|m| m.get("digest").and_then(|d| d.as_str()) == Some(&digest_text)) {
                    return Ok(desc);
                }
                manifests.push(entry.clone());
            }
            index["mediaType"] = serde_json::Value::from(OCI_INDEX);
            let bytes = crate::canonical_json(&index);
            match self.put_manifest_raw(&tagged, OCI_INDEX, &bytes, etag.as_deref()) {
                Ok(_) => break,
                Err(e)
                    if matches!(e.root(), Error::Registry { status: Some(412), .. }) && attempt < FALLBACK_ATTEMPTS =>
                {
                    tracing::debug!(%tagged, attempt, "the referrers index changed while it was updated; reading it again");
                }
                Err(e) => return Err(e),
            }
        }
        tracing::debug!(subject = %subject.digest(), referrer = %digest, "updated the referrers fallback index");
        Ok(desc)
    }
}
