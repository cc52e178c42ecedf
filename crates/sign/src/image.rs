//! cosign's two ways of signing and attesting an image, written and verified on any
//! [`ReferrerStore`] (a registry repository, an OCI layout):
//!
//! - **bundle** (cosign 3): a Sigstore bundle v0.3 holding a DSSE envelope over an in-toto
//!   Statement v1 about the image's manifest digest, attached as an OCI 1.1 referrer: empty config,
//!   `artifactType` the bundle media type, one layer (the bundle), and the manifest annotations
//!   cosign writes (`dev.sigstore.bundle.content: dsse-envelope`,
//!   `dev.sigstore.bundle.predicateType`, `org.opencontainers.image.created`). A signature's
//!   predicate type is `https://sigstore.dev/cosign/sign/v1` with an empty predicate and the
//!   user's annotations on the subject (cosign's `pkg/oci/remote/write.go`, `WriteReferrer`).
//! - **legacy** (cosign 2, what most admission verifiers read): the tag `sha256-<hex>.sig` names
//!   an image manifest whose layers are simple-signing payloads
//!   (`application/vnd.dev.cosign.simplesigning.v1+json`), each with its base64 signature in the
//!   layer annotation `dev.cosignproject.cosign/signature` (cosign's `specs/SIGNATURE_SPEC.md`);
//!   attestations are DSSE envelopes (`application/vnd.dsse.envelope.v1+json`, annotation
//!   `predicateType`) in `sha256-<hex>.att`. Another signature appends a layer.
//!
//! Signing again with the same key adds nothing: an existing signature whose signed content is
//! the same and that verifies with the key counts as this one (signatures are deterministic, but
//! bundles carry a creation time).

use std::collections::BTreeMap;

use base64::Engine;
use pare_oci::referrers::{Artifact, ReferrerStore, attachment_tag};
use pare_oci::{Descriptor, Digest};
use serde_json::{Value, json};

use crate::simple_signing::{COSIGN_MEDIA_TYPE, COSIGN_TYPE, Payload};
use crate::{
    BUNDLE_MEDIA_TYPE_V03, Bundle, Envelope, Error, PAYLOAD_TYPE, PublicKey, Result, SignedContent, Signer, SigningKey,
    Subject, Trust, verify_bundle,
};

/// The predicate type of cosign 3's image signatures.
pub const SIGN_PREDICATE_TYPE: &str = crate::COSIGN_SIGN_PREDICATE_TYPE;
/// The in-toto Statement v1 `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The layer annotation holding a legacy signature (base64).
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The manifest annotation saying what a bundle holds.
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The manifest annotation naming a bundle's predicate type.
pub const BUNDLE_PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The layer media type of a legacy attestation.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The layer annotation naming a legacy attestation's predicate type.
pub const ATTESTATION_PREDICATE_ANNOTATION: &str = "predicateType";
/// The most a signature layer or bundle may weigh when read back.
pub const MAX_SIGNATURE_LAYER: u64 = 16 << 20;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The predicate type URI for a `--type` name: `spdx`, `cyclonedx`, `openvex`, `slsaprovenance`,
/// `vuln`, or a URI as it is.
pub fn predicate_type(name: &str) -> Result<String> {
    Ok(match name {
        "spdx" | "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "openvex" => "https://openvex.dev/ns/v0.2.0",
        "slsaprovenance" | "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "vuln" => "https://in-toto.io/attestation/vulns/v0.2",
        uri if uri.contains("://") => uri,
        other => {
            return Err(Error::InvalidInput(format!("unknown predicate type `{other}`"))
                .with_hint("use spdx, cyclonedx, openvex, slsaprovenance, vuln, or a URI"));
        }
    }
    .to_string())
}

/// The image being signed: where its signatures go, its root manifest, and the name a legacy
/// signature claims (`critical.identity.docker-reference`; cosign writes the repository).
#[derive(Clone, Debug)]
pub struct Target {
    pub store: ReferrerStore,
    pub subject: Descriptor,
    pub docker_reference: String,
}

/// How to sign.
#[derive(Clone, Debug)]
pub struct SignOptions {
    pub bundle: bool,
    pub legacy: bool,
    /// Signed claims: the statement subject's annotations, the legacy payload's `optional`.
    pub annotations: BTreeMap<String, String>,
    /// `org.opencontainers.image.created` of bundle referrers (RFC 3339).
    pub created: String,
}

/// One signature or attestation written (or found there already).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// `bundle` or `legacy`.
    pub format: &'static str,
    /// The referrer's digest, or the tag.
    pub location: String,
    /// Whether it was new (false: an identical one was there).
    pub new: bool,
}

/// The in-toto Statement v1 about `subject`, canonical JSON.
pub fn statement(
    subject: &Digest,
    name: Option<&str>,
    predicate_type: &str,
    predicate: &Value,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut entry = json!({"digest": {subject.algorithm().to_string(): subject.digest()}});
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        entry["name"] = json!(name);
    }
    if !annotations.is_empty() {
        entry["annotations"] = json!(annotations);
    }
    pare_oci::canonical_json(&json!({
        "_type": STATEMENT_TYPE,
        "subject": [entry],
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
}

/// Signs the image: a bundle referrer and/or a legacy `.sig` layer, as `options` asks.
pub fn sign(target: &Target, key: &SigningKey, options: &SignOptions) -> Result<Vec<Written>> {
    let digest = target.subject.digest();
    let mut written = Vec::new();
    if options.bundle {
        let statement = statement(digest, None, SIGN_PREDICATE_TYPE, &json!({}), &options.annotations);
        written.push(attach_bundle(target, key, SIGN_PREDICATE_TYPE, &statement, &options.created)?);
    }
    if options.legacy {
        let mut payload = Payload::new(COSIGN_TYPE, digest.as_ref(), &target.docker_reference);
        payload.optional = options.annotations.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let bytes = payload.to_bytes();
        let signature = B64.encode(key.sign(&bytes));
        let annotations = BTreeMap::from([(SIGNATURE_ANNOTATION.to_string(), signature)]);
        let public = key.public_key();
        let (tag, new) = append_layer(&target.store, digest, "sig", COSIGN_MEDIA_TYPE, &bytes, annotations, |d, b| {
            b == bytes.as_slice() && legacy_signature_verifies(d, b, &public)
        })?;
        written.push(Written { format: "legacy", location: tag, new });
    }
    Ok(written)
}

/// Attests the image: `predicate` of `predicate_type` in a Statement about the image, signed in a
/// DSSE envelope, as a bundle referrer and/or a legacy `.att` layer.
pub fn attest(
    target: &Target,
    key: &SigningKey,
    predicate_type: &str,
    predicate: &Value,
    options: &SignOptions,
) -> Result<Vec<Written>> {
    let digest = target.subject.digest();
    let name = repository_name(&target.docker_reference);
    let statement = statement(digest, Some(&name), predicate_type, predicate, &options.annotations);
    let mut written = Vec::new();
    if options.bundle {
        written.push(attach_bundle(target, key, predicate_type, &statement, &options.created)?);
    }
    if options.legacy {
        let envelope = Envelope::sign(PAYLOAD_TYPE, statement.clone(), key);
        let bytes = envelope.to_json();
        let annotations = BTreeMap::from([
            (ATTESTATION_PREDICATE_ANNOTATION.to_string(), predicate_type.to_string()),
            (SIGNATURE_ANNOTATION.to_string(), String::new()),
        ]);
        let public = key.public_key();
        let (tag, new) = append_layer(&target.store, digest, "att", DSSE_MEDIA_TYPE, &bytes, annotations, |_, b| {
            envelope_of(b).is_ok_and(|e| e.payload == statement && e.verify(&public).is_ok())
        })?;
        written.push(Written { format: "legacy", location: tag, new });
    }
    Ok(written)
}

/// `registry/repository` of a reference (the tag or digest dropped), as cosign names a subject.
fn repository_name(reference: &str) -> String {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name.to_string(),
        _ => without_digest.to_string(),
    }
}

fn legacy_signature_verifies(layer: &Descriptor, payload: &[u8], key: &PublicKey) -> bool {
    let Some(sig) = layer.annotations().as_ref().and_then(|a| a.get(SIGNATURE_ANNOTATION)) else { return false };
    B64.decode(sig).is_ok_and(|sig| key.verify(payload, &sig).is_ok())
}

fn envelope_of(bytes: &[u8]) -> Result<Envelope> {
    Envelope::from_json(bytes)
}

/// Signs `statement` into a bundle and attaches it as a referrer of the image, unless a bundle of
/// the same predicate type with the same statement, verifying with the key, is attached already.
fn attach_bundle(
    target: &Target,
    key: &SigningKey,
    predicate_type: &str,
    statement: &[u8],
    created: &str,
) -> Result<Written> {
    let public = key.public_key();
    let digest = target.subject.digest();
    for desc in target.store.list(digest, Some(BUNDLE_MEDIA_TYPE_V03))? {
        let same_type = desc
            .annotations()
            .as_ref()
            .and_then(|a| a.get(BUNDLE_PREDICATE_ANNOTATION))
            .is_some_and(|t| t == predicate_type);
        if !same_type {
            continue;
        }
        let Ok(fetched) = target.store.fetch(&desc, MAX_SIGNATURE_LAYER) else { continue };
        let same = fetched.layers.iter().any(|(_, bytes)| {
            Bundle::parse(bytes)
                .ok()
                .and_then(|b| b.dsse_envelope)
                .is_some_and(|e| e.payload == statement && e.verify(&public).is_ok())
        });
        if same {
            return Ok(Written { format: "bundle", location: desc.digest().to_string(), new: false });
        }
    }
    let envelope = Envelope::sign(PAYLOAD_TYPE, statement.to_vec(), key);
    let bundle = Bundle::from_dsse_with_key(envelope, &public).to_json();
    let layer_digest = pare_oci::sha256(&bundle);
    let title = BTreeMap::from([(
        "org.opencontainers.image.title".to_string(),
        format!("{}-{}.sigstore.json", layer_digest.algorithm(), layer_digest.digest()),
    )]);
    let artifact = Artifact::new(BUNDLE_MEDIA_TYPE_V03, &target.subject)
        .with_layer(BUNDLE_MEDIA_TYPE_V03, bundle, title)
        .with_annotation(pare_oci::referrers::CREATED, created)
        .with_annotation(BUNDLE_CONTENT_ANNOTATION, "dsse-envelope")
        .with_annotation(BUNDLE_PREDICATE_ANNOTATION, predicate_type);
    let desc = target.store.attach(&artifact)?;
    Ok(Written { format: "bundle", location: desc.digest().to_string(), new: true })
}

/// Adds a layer to the manifest the tag `sha256-<hex>.<suffix>` names (making it when missing),
/// unless a layer of that media type for which `same(descriptor, bytes)` holds is there.
/// Returns the tag and whether the layer was added.
fn append_layer(
    store: &ReferrerStore,
    subject: &Digest,
    suffix: &str,
    media_type: &str,
    bytes: &[u8],
    annotations: BTreeMap<String, String>,
    same: impl Fn(&Descriptor, &[u8]) -> bool,
) -> Result<(String, bool)> {
    let tag = attachment_tag(subject, suffix);
    let mut layers: Vec<Descriptor> = Vec::new();
    if let Some((desc, manifest)) = store.get_tag(&tag)? {
        layers = manifest_layers(&manifest, &desc, &store.location())?;
        for layer in &layers {
            if layer.media_type().to_string() != media_type || layer.size() > MAX_SIGNATURE_LAYER {
                continue;
            }
            let Ok(content) = store.read_blob(layer, MAX_SIGNATURE_LAYER) else { continue };
            if same(layer, &content) {
                return Ok((tag, false));
            }
        }
    }
    let mut layer = Descriptor::new(media_type.into(), bytes.len() as u64, pare_oci::sha256(bytes));
    layer.set_annotations(Some(annotations.into_iter().collect()));
    layers.push(layer.clone());
    // cosign's config: an image config whose diff IDs are the layers (they are not compressed).
    let config = pare_oci::canonical_json(&json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest().to_string()).collect::<Vec<_>>()},
        "config": {},
    }));
    let config_desc =
        Descriptor::new(pare_oci::media_types::OCI_CONFIG.into(), config.len() as u64, pare_oci::sha256(&config));
    let entry = |d: &Descriptor| {
        let mut v =
            json!({"mediaType": d.media_type().to_string(), "digest": d.digest().to_string(), "size": d.size()});
        if let Some(a) = d.annotations().as_ref().filter(|a| !a.is_empty()) {
            v["annotations"] = json!(a.iter().collect::<BTreeMap<_, _>>());
        }
        v
    };
    let manifest = pare_oci::canonical_json(&json!({
        "schemaVersion": 2,
        "mediaType": pare_oci::media_types::OCI_MANIFEST,
        "config": entry(&config_desc),
        "layers": layers.iter().map(entry).collect::<Vec<_>>(),
    }));
    store.put_tag(&tag, &manifest, &[(config_desc, &config), (layer, bytes)])?;
    Ok((tag, true))
}

fn manifest_layers(manifest: &[u8], desc: &Descriptor, location: &str) -> Result<Vec<Descriptor>> {
    let bad = |reason: String| {
        Error::Oci(pare_oci::Error::Malformed {
            what: format!("signature manifest `{}`", desc.digest()),
            location: location.to_string(),
            reason,
        })
    };
    let value: Value = serde_json::from_slice(manifest).map_err(|e| bad(e.to_string()))?;
    match value.get("layers") {
        Some(layers) => serde_json::from_value(layers.clone()).map_err(|e| bad(e.to_string())),
        None => Ok(Vec::new()),
    }
}

// Verification

/// What to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Image signatures (bundles of predicate type cosign/sign/v1, `.sig` payloads).
    Signature,
    /// Attestations of this predicate type (bundles, `.att` envelopes).
    Attestation(String),
}

/// A signature or attestation that verified.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verified {
    pub digest: String,
    /// `bundle` or `legacy`.
    pub format: &'static str,
    /// The referrer's digest, or the tag.
    pub location: String,
    /// Who signed: the key's hint (base64 SHA-256 of its DER), or a certificate's identity and issuer.
    pub signer: String,
    /// The statement's predicate type (bundles and attestations).
    pub predicate_type: Option<String>,
    /// The legacy payload's `critical.identity.docker-reference`.
    pub docker_reference: Option<String>,
    /// The signed annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Why a signature found was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Reason {
    /// No signature of the kind asked for is attached.
    NoSignature,
    /// The bundle names another key, or the signature does not verify with the key.
    OtherKey { detail: String },
    /// The signature verifies but is about another manifest.
    OtherDigest { detail: String },
    /// The signed content or the envelope was changed after signing.
    Tampered { detail: String },
    /// The bundle, envelope or payload cannot be read.
    Malformed { detail: String },
    /// Any other check failed (a keyless certificate's identity, a log proof, …).
    Rejected { detail: String },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::NoSignature => f.write_str("no signature"),
            Reason::OtherKey { detail } => write!(f, "signed by another key: {detail}"),
            Reason::OtherDigest { detail } => write!(f, "payload for another digest: {detail}"),
            Reason::Tampered { detail } => write!(f, "tampered: {detail}"),
            Reason::Malformed { detail } => write!(f, "malformed: {detail}"),
            Reason::Rejected { detail } => write!(f, "rejected: {detail}"),
        }
    }
}

/// One signature that was refused, where it was found, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Refusal {
    pub format: &'static str,
    pub location: String,
    #[serde(flatten)]
    pub reason: Reason,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            // The location says what was looked for.
            Reason::NoSignature => write!(f, "{}", self.location),
            _ => write!(f, "{} {}: {}", self.format, self.location, self.reason),
        }
    }
}

/// The outcome: what verified, and why everything else was refused. No signature at all is one
/// refusal with [`Reason::NoSignature`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verification {
    pub digest: String,
    pub verified: Vec<Verified>,
    pub refused: Vec<Refusal>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        !self.verified.is_empty()
    }
}

/// Looks for bundles (referrers), then legacy signatures or attestations, and verifies each
/// with `trust` (legacy ones only with a key: they carry no certificate pare can check).
pub fn verify(store: &ReferrerStore, subject: &Digest, trust: &Trust, expect: &Expect) -> Result<Verification> {
    let key = match trust {
        Trust::Key(key) | Trust::KeyAndRoot { key, .. } => Some(key),
        Trust::Identity { .. } => None,
    };
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    let wanted = match expect {
        Expect::Signature => SIGN_PREDICATE_TYPE,
        Expect::Attestation(t) => t.as_str(),
    };
    for desc in store.list(subject, Some(BUNDLE_MEDIA_TYPE_V03))? {
        let annotated = desc.annotations().as_ref().and_then(|a| a.get(BUNDLE_PREDICATE_ANNOTATION)).cloned();
        if annotated.as_deref().is_some_and(|t| t != wanted) {
            continue;
        }
        let location = desc.digest().to_string();
        let refuse = |reason: Reason| Refusal { format: "bundle", location: location.clone(), reason };
        let fetched = match store.fetch(&desc, MAX_SIGNATURE_LAYER) {
            Ok(f) => f,
            Err(e @ (pare_oci::Error::DigestMismatch { .. } | pare_oci::Error::SizeMismatch { .. })) => {
                refused.push(refuse(Reason::Tampered { detail: pare_oci::error_chain(&e) }));
                continue;
            }
            Err(e @ (pare_oci::Error::Malformed { .. } | pare_oci::Error::LimitExceeded { .. })) => {
                refused.push(refuse(Reason::Malformed { detail: pare_oci::error_chain(&e) }));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Some((_, bytes)) = fetched.layers.iter().find(|(d, _)| d.media_type().to_string() == BUNDLE_MEDIA_TYPE_V03)
        else {
            refused.push(refuse(Reason::Malformed { detail: "the referrer holds no bundle layer".into() }));
            continue;
        };
        match check_bundle(bytes, subject, trust, wanted) {
            Ok(Some((predicate_type, signer, annotations))) => verified.push(Verified {
                digest: subject.to_string(),
                format: "bundle",
                location,
                signer,
                predicate_type: Some(predicate_type),
                docker_reference: None,
                annotations,
            }),
            Ok(None) => {}
            Err(reason) => refused.push(refuse(reason)),
        }
    }
    let suffix = match expect {
        Expect::Signature => "sig",
        Expect::Attestation(_) => "att",
    };
    let tag = attachment_tag(subject, suffix);
    if let Some((desc, manifest)) = store.get_tag(&tag)? {
        // A tag holding something else is one refusal, not an error: a bundle may still verify.
        let layers = match manifest_layers(&manifest, &desc, &store.location()) {
            Ok(layers) => layers,
            Err(e) => {
                refused.push(Refusal {
                    format: "legacy",
                    location: tag.clone(),
                    reason: Reason::Malformed { detail: pare_oci::error_chain(&e) },
                });
                Vec::new()
            }
        };
        for layer in layers {
            let media_type = layer.media_type().to_string();
            let location = format!("{tag} layer {}", layer.digest());
            let refuse = |reason: Reason| Refusal { format: "legacy", location: location.clone(), reason };
            let is_signature = media_type == COSIGN_MEDIA_TYPE && suffix == "sig";
            let is_attestation = media_type == DSSE_MEDIA_TYPE && suffix == "att";
            if !is_signature && !is_attestation {
                continue;
            }
            if is_attestation {
                let annotated =
                    layer.annotations().as_ref().and_then(|a| a.get(ATTESTATION_PREDICATE_ANNOTATION)).cloned();
                if annotated.as_deref().is_some_and(|t| t != wanted) {
                    continue;
                }
            }
            let content = match store.read_blob(&layer, MAX_SIGNATURE_LAYER) {
                Ok(c) => c,
                Err(e @ (pare_oci::Error::DigestMismatch { .. } | pare_oci::Error::SizeMismatch { .. })) => {
                    refused.push(refuse(Reason::Tampered {
                        detail: format!("the payload was changed: {}", pare_oci::error_chain(&e)),
                    }));
                    continue;
                }
                Err(pare_oci::Error::LimitExceeded { what, .. }) => {
                    refused.push(refuse(Reason::Malformed { detail: format!("{what} is too large") }));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let Some(key) = key else {
                refused.push(refuse(Reason::Rejected {
                    detail: "legacy signatures are verified with a key (--key) only".into(),
                }));
                continue;
            };
            let checked = if is_signature {
                check_legacy_signature(&layer, &content, subject, key)
                    .map(|p| Some((None, Some(p.docker_reference.clone()), p.annotations())))
            } else {
                check_envelope(&content, subject, key, wanted).map(|found| found.map(|(t, a)| (Some(t), None, a)))
            };
            match checked {
                Ok(Some((predicate_type, docker_reference, annotations))) => verified.push(Verified {
                    digest: subject.to_string(),
                    format: "legacy",
                    location,
                    signer: key.hint(),
                    predicate_type,
                    docker_reference,
                    annotations,
                }),
                Ok(None) => {}
                Err(reason) => refused.push(refuse(reason)),
            }
        }
    }
    if verified.is_empty() && refused.is_empty() {
        let what = match expect {
            Expect::Signature => "no signature: neither a bundle referrer nor a `.sig` tag".to_string(),
            Expect::Attestation(t) => {
                format!("no attestation of type `{t}`: neither a bundle referrer nor a `.att` tag")
            }
        };
        refused.push(Refusal { format: "none", location: what, reason: Reason::NoSignature });
    }
    Ok(Verification { digest: subject.to_string(), verified, refused })
}

/// Signed annotations.
type Annotations = BTreeMap<String, String>;
/// A check's outcome: accepted (with what it found), skipped (`None`: another predicate type), or
/// refused.
type Checked<T> = std::result::Result<Option<T>, Reason>;

/// A bundle, verified by [`verify_bundle`] (key hint, envelope signature, statement subject;
/// certificate and log proofs for keyless ones), then its predicate type.
/// `Ok(None)`: a good bundle of another predicate type.
fn check_bundle(bytes: &[u8], subject: &Digest, trust: &Trust, wanted: &str) -> Checked<(String, String, Annotations)> {
    let bundle = Bundle::parse(bytes).map_err(|e| reason_of(&e))?;
    if bundle.dsse_envelope.is_none() {
        return Err(Reason::Malformed { detail: "the bundle holds no DSSE envelope".into() });
    }
    let verified = verify_bundle(&bundle, Subject::Sha256(sha256_bytes(subject)?), trust).map_err(|e| reason_of(&e))?;
    let SignedContent::Dsse { predicate_type: Some(predicate_type), .. } = verified.content else {
        return Err(Reason::Malformed { detail: "the envelope does not hold an in-toto statement".into() });
    };
    if predicate_type != wanted {
        return Ok(None);
    }
    let signer = match verified.signer {
        Signer::Key { hint } => hint,
        Signer::Certificate { identity, issuer } => format!("{identity} ({issuer})"),
    };
    let annotations = bundle
        .dsse_envelope
        .as_ref()
        .and_then(|e| serde_json::from_slice::<Value>(&e.payload).ok())
        .map(|statement| subject_annotations(&statement, subject))
        .unwrap_or_default();
    Ok(Some((predicate_type, signer, annotations)))
}

/// The image digest as the 32 bytes [`Subject::Sha256`] takes.
fn sha256_bytes(digest: &Digest) -> std::result::Result<[u8; 32], Reason> {
    let bytes = hex::decode(digest.digest()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes.ok_or_else(|| Reason::Malformed { detail: format!("`{digest}` is not a SHA-256 digest") })
}

/// The annotations of the statement's subject entry that names the image.
fn subject_annotations(statement: &Value, subject: &Digest) -> BTreeMap<String, String> {
    let algorithm = subject.algorithm().to_string();
    statement
        .get("subject")
        .and_then(Value::as_array)
        .and_then(|subjects| {
            subjects.iter().find(|s| {
                s.get("digest").and_then(|d| d.get(&algorithm)).and_then(Value::as_str) == Some(subject.digest())
            })
        })
        .and_then(|s| s.get("annotations"))
        .and_then(Value::as_object)
        .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// The reason a verification error of this crate gives.
fn reason_of(err: &Error) -> Reason {
    let detail = pare_oci::error_chain(err);
    match err {
        Error::NoMatchingKey { .. } => Reason::OtherKey { detail },
        Error::SignatureMismatch { .. } => Reason::Tampered { detail },
        Error::SubjectMismatch { .. } => Reason::OtherDigest { detail },
        Error::MalformedBundle { .. }
        | Error::MalformedEnvelope { .. }
        | Error::MalformedStatement { .. }
        | Error::UnknownMediaType { .. }
        | Error::BundleTooLarge { .. }
        | Error::MalformedPayload { .. } => Reason::Malformed { detail },
        _ => Reason::Rejected { detail },
    }
}

/// A legacy attestation layer: a DSSE envelope.
fn check_envelope(bytes: &[u8], subject: &Digest, key: &PublicKey, wanted: &str) -> Checked<(String, Annotations)> {
    let envelope = envelope_of(bytes).map_err(|e| Reason::Malformed { detail: pare_oci::error_chain(&e) })?;
    if envelope.verify(key).is_err() {
        return Err(Reason::OtherKey {
            detail: "the envelope's signature does not verify with this key (another key signed it, or it was changed)"
                .into(),
        });
    }
    check_statement(&envelope, subject, wanted)
}

/// The statement of a verified envelope: its predicate type and that one subject is the image.
fn check_statement(envelope: &Envelope, subject: &Digest, wanted: &str) -> Checked<(String, Annotations)> {
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(Reason::Malformed { detail: format!("the payload type is `{}`", envelope.payload_type) });
    }
    let statement: Value = serde_json::from_slice(&envelope.payload)
        .map_err(|e| Reason::Malformed { detail: format!("the statement is not JSON: {e}") })?;
    let predicate_type = statement.get("predicateType").and_then(Value::as_str).unwrap_or_default().to_string();
    if predicate_type != wanted {
        return Ok(None);
    }
    let subjects = statement.get("subject").and_then(Value::as_array).cloned().unwrap_or_default();
    let algorithm = subject.algorithm().to_string();
    let mut claimed = Vec::new();
    for s in &subjects {
        if let Some(hex) = s.get("digest").and_then(|d| d.get(&algorithm)).and_then(Value::as_str) {
            if hex == subject.digest() {
                let annotations = s
                    .get("annotations")
                    .and_then(Value::as_object)
                    .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                    .unwrap_or_default();
                return Ok(Some((predicate_type, annotations)));
            }
            claimed.push(format!("{algorithm}:{hex}"));
        }
    }
    let claimed = if claimed.is_empty() { "no digest".into() } else { claimed.join(", ") };
    Err(Reason::OtherDigest { detail: format!("the statement is about {claimed}, the image is {subject}") })
}

/// A legacy signature layer: the signature over the payload's exact bytes, then the payload.
fn check_legacy_signature(
    layer: &Descriptor,
    payload: &[u8],
    subject: &Digest,
    key: &PublicKey,
) -> std::result::Result<Payload, Reason> {
    let Some(signature) = layer.annotations().as_ref().and_then(|a| a.get(SIGNATURE_ANNOTATION)).cloned() else {
        return Err(Reason::Malformed { detail: format!("the layer has no `{SIGNATURE_ANNOTATION}` annotation") });
    };
    let signature = B64
        .decode(signature.trim())
        .map_err(|e| Reason::Malformed { detail: format!("the signature is not base64: {e}") })?;
    if key.verify(payload, &signature).is_err() {
        return Err(Reason::OtherKey {
            detail: "the signature does not verify with this key (another key signed it, or the payload was changed)"
                .into(),
        });
    }
    let payload = Payload::parse(payload).map_err(|e| Reason::Malformed { detail: e.to_string() })?;
    if payload.kind != COSIGN_TYPE {
        return Err(Reason::Malformed { detail: format!("`critical.type` is `{}`", payload.kind) });
    }
    if payload.manifest_digest != subject.to_string() {
        return Err(Reason::OtherDigest {
            detail: format!("the payload signs `{}`, the image is `{subject}`", payload.manifest_digest),
        });
    }
    Ok(payload)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn predicate_types_and_names() {
        assert_eq!(predicate_type("spdx").unwrap(), "https://spdx.dev/Document");
        assert_eq!(predicate_type("vuln").unwrap(), "https://in-toto.io/attestation/vulns/v0.2");
        assert_eq!(predicate_type("https://example.com/p/v1").unwrap(), "https://example.com/p/v1");
        assert!(predicate_type("nonsense").is_err());
        assert_eq!(repository_name("127.0.0.1:5000/team/app:1.0"), "127.0.0.1:5000/team/app");
        assert_eq!(repository_name("127.0.0.1:5000/team/app"), "127.0.0.1:5000/team/app");
        assert_eq!(repository_name("r.example/app@sha256:00"), "r.example/app");
    }

    #[test]
    fn statement_shape() {
        let d = pare_oci::sha256(b"image");
        let s: Value = serde_json::from_slice(&statement(
            &d,
            None,
            SIGN_PREDICATE_TYPE,
            &json!({}),
            &BTreeMap::from([("a".to_string(), "b".to_string())]),
        ))
        .unwrap();
        assert_eq!(s["_type"], STATEMENT_TYPE);
        assert_eq!(s["subject"][0]["digest"]["sha256"], d.digest());
        assert_eq!(s["subject"][0]["annotations"]["a"], "b");
        assert!(s["subject"][0].get("name").is_none());
        assert_eq!(s["predicate"], json!({}));
    }
}
