//! Evidence for one image digest, in one JSON document an auditor can read and check offline:
//! the manifest and configuration (exact bytes, so their digests can be recomputed), every
//! referrer (SBOMs, signature bundles, attestations, verification summaries) and cosign's
//! `.sig`/`.att`/`.sbom` tags byte for byte, what verified with the key given, and the parts the
//! caller adds (the SBOM made now, the scan, the verdict). `verify` re-checks such a document.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use pare_oci::referrers::{ReferrerStore, attachment_tag};
use pare_oci::{Digest, Image};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// `_type` of an evidence document.
pub const EVIDENCE_TYPE: &str = "https://example.invalid/pare/evidence/v1";
/// The most read of one referrer blob.
const MAX_BLOB: u64 = 64 << 20;

fn blob(media_type: &str, bytes: &[u8]) -> Value {
    json!({
        "mediaType": media_type,
        "digest": pare_oci::sha256(bytes).to_string(),
        "size": bytes.len(),
        "base64": B64.encode(bytes),
    })
}

/// The image's own part: subject, manifest, configuration, referrers and signature tags, and
/// (with `trust`) the signatures and attestations of each predicate type found that verified.
pub fn gather(
    reference: &str,
    root_digest: &Digest,
    root_manifest: (&str, &[u8]),
    image: &Image,
    store: Option<&ReferrerStore>,
    trust: Option<&pare_sign::Trust>,
) -> Result<Value> {
    let mut doc = json!({
        "_type": EVIDENCE_TYPE,
        "tool": {"name": "pare", "version": env!("CARGO_PKG_VERSION")},
        "subject": {"reference": reference, "digest": root_digest.to_string(), "image": image.digest().to_string()},
        "manifest": blob(root_manifest.0, root_manifest.1),
    });
    if image.digest() != root_digest {
        doc["imageManifest"] = blob(image.descriptor().media_type().as_ref(), image.raw_manifest());
    }
    doc["config"] = blob("application/vnd.oci.image.config.v1+json", image.raw_config()?);
    let Some(store) = store else {
        doc["referrers"] = json!([]);
        doc["tags"] = json!([]);
        doc["notes"] = json!(["the image is in an archive, which cannot hold signatures or attestations"]);
        return Ok(doc);
    };
    let mut referrers = Vec::new();
    let mut predicate_types: BTreeMap<String, ()> = BTreeMap::new();
    for desc in store.list(root_digest, None)? {
        let fetched = store.fetch(&desc, MAX_BLOB)?;
        if let Some(t) = fetched.annotations.get(pare_sign::ANNOTATION_BUNDLE_PREDICATE_TYPE) {
            predicate_types.insert(t.clone(), ());
        }
        referrers.push(json!({
            "digest": desc.digest().to_string(),
            "artifactType": fetched.artifact_type,
            "annotations": fetched.annotations,
            "manifest": blob(desc.media_type().as_ref(), &fetched.manifest),
            "layers": fetched.layers.iter().map(|(d, b)| blob(d.media_type().as_ref(), b)).collect::<Vec<_>>(),
        }));
    }
    let mut tags = Vec::new();
    for suffix in ["sig", "att", "sbom"] {
        let tag = attachment_tag(root_digest, suffix);
        let Some((desc, manifest)) = store.get_tag(&tag)? else { continue };
        let parsed: Value = serde_json::from_slice(&manifest).unwrap_or(Value::Null);
        let mut layers = Vec::new();
        for layer in parsed["layers"].as_array().into_iter().flatten() {
            let Ok(d) = serde_json::from_value::<pare_oci::Descriptor>(layer.clone()) else { continue };
            if let Some(t) = d.annotations().as_ref().and_then(|a| a.get("predicateType")) {
                predicate_types.insert(t.clone(), ());
            }
            let bytes = store.read_blob(&d, MAX_BLOB)?;
            let mut entry = blob(d.media_type().as_ref(), &bytes);
            entry["annotations"] = json!(d.annotations());
            layers.push(entry);
        }
        tags.push(json!({"tag": tag, "manifest": blob(desc.media_type().as_ref(), &manifest), "layers": layers}));
    }
    doc["referrers"] = json!(referrers);
    doc["tags"] = json!(tags);
    if let Some(trust) = trust {
        let signatures = pare_sign::image::verify(store, root_digest, trust, &pare_sign::image::Expect::Signature)?;
        let mut attestations = BTreeMap::new();
        for t in predicate_types.keys().filter(|t| t.as_str() != pare_sign::COSIGN_SIGN_PREDICATE_TYPE) {
            let expect = pare_sign::image::Expect::Attestation(t.clone());
            attestations.insert(t.clone(), pare_sign::image::verify(store, root_digest, trust, &expect)?);
        }
        doc["verification"] = json!({"signatures": signatures, "attestations": attestations});
    }
    Ok(doc)
}

/// The blob's decoded bytes parsed as JSON (Null when they are not).
fn json_of(blob: &Value) -> Value {
    blob["base64"]
        .as_str()
        .and_then(|b| B64.decode(b).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// The chain from the subject down: the index lists the image manifest, the image manifest names
/// the configuration, every referrer names the subject.
fn links(doc: &Value, subject: &Digest, problems: &mut Vec<String>) {
    let root = json_of(&doc["manifest"]);
    let image = if doc["imageManifest"].is_null() {
        root.clone()
    } else {
        let listed =
            root["manifests"].as_array().into_iter().flatten().any(|m| m["digest"] == doc["imageManifest"]["digest"]);
        if !listed {
            problems.push("imageManifest: the subject's index does not list it".into());
        }
        json_of(&doc["imageManifest"])
    };
    if image["config"]["digest"] != doc["config"]["digest"] {
        problems.push(format!(
            "config: the image manifest names {}, the document holds {}",
            image["config"]["digest"], doc["config"]["digest"]
        ));
    }
    for (i, r) in doc["referrers"].as_array().into_iter().flatten().enumerate() {
        let manifest = json_of(&r["manifest"]);
        if manifest["subject"]["digest"].as_str() != Some(subject.to_string().as_str()) {
            problems.push(format!("referrers[{i}]: its manifest is not about the subject {subject}"));
        }
        let named: Vec<&Value> = manifest["layers"].as_array().into_iter().flatten().map(|l| &l["digest"]).collect();
        for (j, l) in r["layers"].as_array().into_iter().flatten().enumerate() {
            if !named.contains(&&l["digest"]) {
                problems.push(format!("referrers[{i}].layers[{j}]: its manifest does not name it"));
            }
        }
    }
    for (i, t) in doc["tags"].as_array().into_iter().flatten().enumerate() {
        let manifest = json_of(&t["manifest"]);
        let named: Vec<&Value> = manifest["layers"].as_array().into_iter().flatten().map(|l| &l["digest"]).collect();
        for (j, l) in t["layers"].as_array().into_iter().flatten().enumerate() {
            if !named.contains(&&l["digest"]) {
                problems.push(format!("tags[{i}].layers[{j}]: its manifest does not name it"));
            }
        }
    }
}

/// What `verify` found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Checked {
    /// Blobs whose bytes match their recorded digest.
    pub blobs: usize,
    /// Problems: a digest that does not match, a manifest that is not the subject's.
    pub problems: Vec<String>,
    /// With a key: the signatures and attestations (bundles) that verified.
    pub verified: Vec<String>,
}

/// Re-checks an evidence document offline: every blob's bytes against its digest, the manifest
/// against the subject digest, and (with `trust`) each Sigstore bundle kept in the document
/// against the subject digest.
pub fn verify(document: &[u8], trust: Option<&pare_sign::Trust>) -> Result<Checked> {
    let doc: Value = serde_json::from_slice(document).map_err(|e| Error::Evidence(format!("not JSON: {e}")))?;
    if doc["_type"] != EVIDENCE_TYPE {
        return Err(Error::Evidence(format!("`_type` is not {EVIDENCE_TYPE}")));
    }
    let subject: Digest = doc["subject"]["digest"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| Error::Evidence("`subject.digest` is missing or not a digest".into()))?;
    let mut checked = Checked::default();
    let mut blobs: Vec<(String, &Value)> =
        vec![("manifest".into(), &doc["manifest"]), ("config".into(), &doc["config"])];
    if !doc["imageManifest"].is_null() {
        blobs.push(("imageManifest".into(), &doc["imageManifest"]));
    }
    for (i, r) in doc["referrers"].as_array().into_iter().flatten().enumerate() {
        blobs.push((format!("referrers[{i}].manifest"), &r["manifest"]));
        for (j, l) in r["layers"].as_array().into_iter().flatten().enumerate() {
            blobs.push((format!("referrers[{i}].layers[{j}]"), l));
        }
    }
    for (i, t) in doc["tags"].as_array().into_iter().flatten().enumerate() {
        blobs.push((format!("tags[{i}].manifest"), &t["manifest"]));
        for (j, l) in t["layers"].as_array().into_iter().flatten().enumerate() {
            blobs.push((format!("tags[{i}].layers[{j}]"), l));
        }
    }
    let mut bundles = Vec::new();
    for (field, value) in blobs {
        let Some(bytes) = value["base64"].as_str().and_then(|b| B64.decode(b).ok()) else {
            checked.problems.push(format!("{field}: no base64 content"));
            continue;
        };
        let actual = pare_oci::sha256(&bytes).to_string();
        if value["digest"].as_str() != Some(actual.as_str()) {
            checked.problems.push(format!("{field}: content is {actual}, recorded {}", value["digest"]));
            continue;
        }
        checked.blobs += 1;
        if field == "manifest" && actual != subject.to_string() {
            checked.problems.push(format!("manifest: its digest {actual} is not the subject {subject}"));
        }
        if value["mediaType"].as_str().is_some_and(|m| pare_sign::BUNDLE_MEDIA_TYPES.contains(&m)) {
            bundles.push((field, bytes));
        }
    }
    links(&doc, &subject, &mut checked.problems);
    if let Some(trust) = trust {
        let mut digest = [0u8; 32];
        if subject.algorithm().to_string() != "sha256" || hex::decode_to_slice(subject.digest(), &mut digest).is_err() {
            checked.problems.push("subject.digest is not sha256 hex".into());
            return Ok(checked);
        }
        for (field, bytes) in bundles {
            let result = pare_sign::Bundle::parse(&bytes)
                .and_then(|b| pare_sign::verify_bundle(&b, pare_sign::Subject::Sha256(digest), trust));
            match result {
                Ok(_) => checked.verified.push(field),
                Err(e) => checked.problems.push(format!("{field}: the bundle does not verify: {e}")),
            }
        }
    }
    Ok(checked)
}
