//! Sigstore bundles v0.1–v0.3 (sigstore/protobuf-specs `sigstore_bundle.proto`, protobuf-JSON
//! field names; cosign `specs/BUNDLE_SPEC.md`).

use serde::{Deserialize, Serialize};

use crate::dsse::Envelope;
use crate::encoding;
use crate::error::{Error, Result};
use crate::key::PublicKey;

/// The media type pare writes (cosign 3 writes the same).
pub const BUNDLE_MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Every media type read: v0.1, v0.2 and both spellings of v0.3.
pub const BUNDLE_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    BUNDLE_MEDIA_TYPE_V03,
];
/// OCI annotation naming a bundle's content (cosign `specs/BUNDLE_SPEC.md`): `dsse-envelope` or
/// `message-signature`.
pub const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
/// OCI annotation carrying the predicate type of the in-toto statement a bundle's envelope holds.
pub const ANNOTATION_BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// Largest bundle parsed; real ones are a few KiB (a certificate chain and proofs).
pub const MAX_BUNDLE_SIZE: usize = 4 * 1024 * 1024;

/// A Sigstore bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

/// What the verifier checks the signature with, and the log and timestamp evidence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 timestamps, kept as read (checked by the keyless verifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

/// `publicKey`: only a hint; the key itself comes from the verifier.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

/// `x509CertificateChain` (v0.1, v0.2): leaf first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateChain {
    #[serde(default)]
    pub certificates: Vec<Certificate>,
}

/// One DER certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    #[serde(rename = "rawBytes", with = "encoding::bytes")]
    pub raw_bytes: Vec<u8>,
}

/// A transparency log entry. pare reads the index and time; the rest (proofs, body, promise) is
/// kept as read for the keyless verifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    #[serde(default, with = "int64")]
    pub log_index: i64,
    #[serde(default, with = "int64", skip_serializing_if = "is_zero")]
    pub integrated_time: i64,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// `messageSignature`: a signature over the artifact (cosign `sign-blob`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<HashOutput>,
    #[serde(with = "encoding::bytes")]
    pub signature: Vec<u8>,
}

/// A digest with its algorithm (`SHA2_256`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashOutput {
    pub algorithm: String,
    #[serde(with = "encoding::bytes")]
    pub digest: Vec<u8>,
}

/// What a bundle signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content<'a> {
    MessageSignature(&'a MessageSignature),
    Dsse(&'a Envelope),
}

impl Bundle {
    /// Parses bundle JSON (at most [`MAX_BUNDLE_SIZE`] bytes) and checks its shape: a known media
    /// type, exactly one of `messageSignature` / `dsseEnvelope`, at most one kind of verification
    /// material, no negative log index.
    pub fn parse(bytes: &[u8]) -> Result<Bundle> {
        if bytes.len() > MAX_BUNDLE_SIZE {
            return Err(Error::BundleTooLarge { size: bytes.len(), limit: MAX_BUNDLE_SIZE });
        }
        // The media type first, so an unknown version is reported as such, not as a field error.
        let head: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::MalformedBundle { field: "(json)".to_owned(), reason: e.to_string() })?;
        let media_type = head
            .get("mediaType")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| Error::MalformedBundle { field: "mediaType".to_owned(), reason: "missing".to_owned() })?;
        if !BUNDLE_MEDIA_TYPES.contains(&media_type) {
            return Err(Error::UnknownMediaType { media_type: media_type.to_owned() });
        }
        // The error names the field (`verificationMaterial.tlogEntries[0].logIndex`).
        let bundle: Bundle = serde_path_to_error::deserialize(head)
            .map_err(|e| Error::MalformedBundle { field: e.path().to_string(), reason: e.into_inner().to_string() })?;
        bundle.check()?;
        Ok(bundle)
    }

    fn check(&self) -> Result<()> {
        let malformed =
            |field: &str, reason: &str| Error::MalformedBundle { field: field.to_owned(), reason: reason.to_owned() };
        match (&self.message_signature, &self.dsse_envelope) {
            (Some(_), Some(_)) => return Err(malformed("content", "both messageSignature and dsseEnvelope")),
            (None, None) => return Err(malformed("content", "neither messageSignature nor dsseEnvelope")),
            _ => {}
        }
        let material = &self.verification_material;
        let kinds = usize::from(material.public_key.is_some())
            + usize::from(material.x509_certificate_chain.is_some())
            + usize::from(material.certificate.is_some());
        if kinds != 1 {
            return Err(malformed(
                "verificationMaterial",
                "expected exactly one of publicKey, x509CertificateChain, certificate",
            ));
        }
        if let Some(chain) = &material.x509_certificate_chain
            && chain.certificates.is_empty()
        {
            return Err(malformed("verificationMaterial.x509CertificateChain", "empty certificate chain"));
        }
        if material.tlog_entries.iter().any(|e| e.log_index < 0) {
            return Err(malformed("verificationMaterial.tlogEntries.logIndex", "negative log index"));
        }
        if let Some(envelope) = &self.dsse_envelope
            && envelope.signatures.is_empty()
        {
            return Err(malformed("dsseEnvelope.signatures", "no signatures"));
        }
        Ok(())
    }

    /// What is signed.
    #[must_use]
    pub fn content(&self) -> Content<'_> {
        match (&self.dsse_envelope, &self.message_signature) {
            (Some(envelope), _) => Content::Dsse(envelope),
            (None, Some(signature)) => Content::MessageSignature(signature),
            // `parse` and the constructors never leave both empty; an empty signature fails.
            (None, None) => Content::MessageSignature(&EMPTY_SIGNATURE),
        }
    }

    /// The value of [`ANNOTATION_BUNDLE_CONTENT`] for this bundle.
    #[must_use]
    pub fn content_annotation(&self) -> &'static str {
        match self.content() {
            Content::Dsse(_) => "dsse-envelope",
            Content::MessageSignature(_) => "message-signature",
        }
    }

    /// The predicate type of the in-toto statement in the envelope, if there is one that parses.
    #[must_use]
    pub fn predicate_type(&self) -> Option<String> {
        let envelope = self.dsse_envelope.as_ref()?;
        if envelope.payload_type != crate::statement::PAYLOAD_TYPE {
            return None;
        }
        crate::statement::Statement::parse(&envelope.payload).ok().map(|s| s.predicate_type)
    }

    /// The signing certificate (leaf), if the bundle is keyless.
    #[must_use]
    pub fn leaf_certificate(&self) -> Option<&[u8]> {
        let material = &self.verification_material;
        material
            .certificate
            .as_ref()
            .or_else(|| material.x509_certificate_chain.as_ref().and_then(|c| c.certificates.first()))
            .map(|c| c.raw_bytes.as_slice())
    }

    /// A v0.3 bundle of a DSSE envelope signed with a key (no log entry: signed offline).
    #[must_use]
    pub fn from_dsse_with_key(envelope: Envelope, key: &PublicKey) -> Bundle {
        Bundle {
            media_type: BUNDLE_MEDIA_TYPE_V03.to_owned(),
            verification_material: VerificationMaterial::for_key(key),
            message_signature: None,
            dsse_envelope: Some(envelope),
        }
    }

    /// A v0.3 bundle of a signature over an artifact with this SHA-256 (as `cosign sign-blob`).
    #[must_use]
    pub fn from_message_signature_with_key(digest_sha256: [u8; 32], signature: Vec<u8>, key: &PublicKey) -> Bundle {
        Bundle {
            media_type: BUNDLE_MEDIA_TYPE_V03.to_owned(),
            verification_material: VerificationMaterial::for_key(key),
            message_signature: Some(MessageSignature {
                message_digest: Some(HashOutput { algorithm: "SHA2_256".to_owned(), digest: digest_sha256.to_vec() }),
                signature,
            }),
            dsse_envelope: None,
        }
    }

    /// Bundle JSON.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

static EMPTY_SIGNATURE: MessageSignature = MessageSignature { message_digest: None, signature: Vec::new() };

impl VerificationMaterial {
    fn for_key(key: &PublicKey) -> VerificationMaterial {
        VerificationMaterial {
            public_key: Some(PublicKeyIdentifier { hint: key.hint() }),
            ..VerificationMaterial::default()
        }
    }
}

/// protobuf-JSON writes int64 as a string; numbers are read too.
mod int64 {
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` passes a reference
    pub(super) fn serialize<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Int {
            Number(i64),
            Text(String),
        }
        match Int::deserialize(d)? {
            Int::Number(n) => Ok(n),
            Int::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}
