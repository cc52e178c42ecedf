//! Bundle verification: key-based in pare's own code, keyless through sigstore-verify.

use sha2::{Digest as _, Sha256};

use crate::bundle::{Bundle, Content};
use crate::error::{Error, Result};
use crate::key::PublicKey;
use crate::statement::{self, Statement};
use crate::trust::TrustedRoot;

/// What to trust.
#[derive(Clone, Debug)]
pub enum Trust {
    /// Signatures by this key. Log entries in the bundle, if any, are not checked (use
    /// [`Trust::KeyAndRoot`] for that).
    Key(PublicKey),
    /// Signatures by this key; log entries and timestamps in the bundle, if any, are verified
    /// against the trusted root. A bundle without log entries (signed offline) verifies by the key alone.
    KeyAndRoot { key: PublicKey, trusted_root: TrustedRoot },
    /// Keyless: a Fulcio certificate for this identity (SAN, exact) from this OIDC issuer,
    /// with its chain, SCT, log entries and timestamps checked against the trusted root.
    Identity { identity: String, issuer: String, trusted_root: TrustedRoot },
}

/// What was signed.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's SHA-256 (an image manifest digest, a statement subject).
    Sha256([u8; 32]),
}

impl Subject<'_> {
    fn sha256(&self) -> [u8; 32] {
        match self {
            Subject::Bytes(bytes) => Sha256::digest(bytes).into(),
            Subject::Sha256(digest) => *digest,
        }
    }
}

/// What a successful verification checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub media_type: String,
    pub signer: Signer,
    pub content: SignedContent,
    /// The artifact's SHA-256, hex.
    pub subject_sha256: String,
    /// Present when a transparency log entry was verified (inclusion proof or promise).
    pub log: Option<LogEvidence>,
    /// Authenticated signing times (Rekor integrated time, RFC 3161), Unix seconds.
    pub verified_times: Vec<i64>,
}

/// Who signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// A key, by its hint (base64 SHA-256 of its DER).
    Key { hint: String },
    /// A Fulcio certificate's identity and issuer.
    Certificate { identity: String, issuer: String },
}

/// What kind of signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedContent {
    /// A signature over the artifact (`cosign sign-blob`).
    MessageSignature,
    /// A DSSE envelope; for an in-toto statement, its predicate type.
    Dsse { payload_type: String, predicate_type: Option<String> },
}

/// The transparency log entry that was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvidence {
    pub log_index: i64,
    /// Rekor v1 integrated time (Unix seconds); 0 for Rekor v2 (which has none).
    pub integrated_time: i64,
}

/// Verifies `bundle` over `subject` with `trust`.
pub fn verify_bundle(bundle: &Bundle, subject: Subject<'_>, trust: &Trust) -> Result<Verified> {
    match trust {
        Trust::Key(key) => verify_with_key(bundle, subject, key),
        Trust::KeyAndRoot { key, trusted_root } => {
            let mut verified = verify_with_key(bundle, subject, key)?;
            if !bundle.verification_material.tlog_entries.is_empty() {
                let policy =
                    sigstore_verify::PublicKeyVerificationPolicy::new(sigstore_types::DerPublicKey::new(key.der()));
                let result = run_sigstore(bundle, subject, &policy, trusted_root)?;
                verified.log = log_evidence(bundle, &result);
                verified.verified_times = times(&result);
            }
            Ok(verified)
        }
        Trust::Identity { identity, issuer, trusted_root } => {
            if bundle.verification_material.public_key.is_some() {
                return Err(Error::WrongVerificationMaterial {
                    expected: "a certificate identity".to_owned(),
                    found: "a public key hint".to_owned(),
                });
            }
            let policy = sigstore_verify::VerificationPolicy::new(identity.as_str(), issuer.as_str());
            let result = run_sigstore(bundle, subject, &policy, trusted_root)?;
            let content = signed_content(bundle, subject)?;
            Ok(Verified {
                media_type: bundle.media_type.clone(),
                signer: Signer::Certificate {
                    identity: result.identity().map_or_else(|| identity.clone(), ToString::to_string),
                    issuer: result.issuer().unwrap_or(issuer).to_owned(),
                },
                content,
                subject_sha256: hex::encode(subject.sha256()),
                log: log_evidence(bundle, &result),
                verified_times: times(&result),
            })
        }
    }
}

fn verify_with_key(bundle: &Bundle, subject: Subject<'_>, key: &PublicKey) -> Result<Verified> {
    let material = &bundle.verification_material;
    let Some(identifier) = &material.public_key else {
        return Err(Error::WrongVerificationMaterial {
            expected: "a public key".to_owned(),
            found: "a certificate (a keyless signature)".to_owned(),
        });
    };
    let hint = key.hint();
    let hint_matches = identifier.hint.is_empty() || identifier.hint == hint;
    // A failed signature is "another key" when the hint names another key, else "tampered".
    let signature_failed = |e: Error| {
        if hint_matches {
            e
        } else {
            Error::NoMatchingKey {
                reason: format!("the bundle names key `{}`, the given key is `{hint}`", identifier.hint),
            }
        }
    };
    let digest = subject.sha256();
    match bundle.content() {
        Content::MessageSignature(signature) => {
            if let Some(message_digest) = &signature.message_digest {
                if message_digest.algorithm != "SHA2_256" {
                    return Err(Error::MalformedBundle {
                        field: "messageSignature.messageDigest.algorithm".to_owned(),
                        reason: format!("`{}` is not supported (SHA2_256 is)", message_digest.algorithm),
                    });
                }
                if message_digest.digest != digest {
                    return Err(Error::SubjectMismatch {
                        reason: format!(
                            "the bundle signs sha256:{}, the artifact is sha256:{}",
                            hex::encode(&message_digest.digest),
                            hex::encode(digest)
                        ),
                    });
                }
            }
            match subject {
                Subject::Bytes(bytes) => key.verify(bytes, &signature.signature),
                Subject::Sha256(digest) => key.verify_sha256(&digest, &signature.signature),
            }
            .map_err(signature_failed)?;
        }
        Content::Dsse(envelope) => {
            envelope.verify(key).map_err(signature_failed)?;
            check_dsse_subject(&envelope.payload_type, &envelope.payload, subject)?;
        }
    }
    Ok(Verified {
        media_type: bundle.media_type.clone(),
        signer: Signer::Key { hint },
        content: signed_content(bundle, subject)?,
        subject_sha256: hex::encode(digest),
        log: None,
        verified_times: Vec::new(),
    })
}

/// An in-toto statement must name the subject; any other payload must be the subject.
fn check_dsse_subject(payload_type: &str, payload: &[u8], subject: Subject<'_>) -> Result<()> {
    let digest = subject.sha256();
    if payload_type == statement::PAYLOAD_TYPE {
        let statement = Statement::parse(payload)?;
        if !statement.has_sha256(&digest) {
            let named: Vec<&str> =
                statement.subject.iter().filter_map(|s| s.digest.get("sha256").map(String::as_str)).collect();
            return Err(Error::SubjectMismatch {
                reason: format!(
                    "the statement is about sha256:{}, the artifact is sha256:{}",
                    named.join(", sha256:"),
                    hex::encode(digest)
                ),
            });
        }
    } else if <[u8; 32]>::from(Sha256::digest(payload)) != digest {
        return Err(Error::SubjectMismatch {
            reason: format!("the envelope's `{payload_type}` payload is not the artifact"),
        });
    }
    Ok(())
}

fn signed_content(bundle: &Bundle, _subject: Subject<'_>) -> Result<SignedContent> {
    Ok(match bundle.content() {
        Content::MessageSignature(_) => SignedContent::MessageSignature,
        Content::Dsse(envelope) => SignedContent::Dsse {
            payload_type: envelope.payload_type.clone(),
            predicate_type: (envelope.payload_type == statement::PAYLOAD_TYPE)
                .then(|| Statement::parse(&envelope.payload).ok().map(|s| s.predicate_type))
                .flatten(),
        },
    })
}

fn run_sigstore(
    bundle: &Bundle,
    subject: Subject<'_>,
    policy: &(impl sigstore_verify::Policy + ?Sized),
    trusted_root: &TrustedRoot,
) -> Result<sigstore_verify::VerificationResult> {
    let json = String::from_utf8(bundle.to_json()).unwrap_or_default();
    let parsed = sigstore_types::Bundle::from_json(&json)
        .map_err(|e| Error::MalformedBundle { field: "(bundle)".to_owned(), reason: e.to_string() })?;
    let verifier = &trusted_root.verifier;
    let result = match subject {
        Subject::Bytes(bytes) => verifier.verify(bytes, &parsed, policy),
        Subject::Sha256(digest) => verifier.verify(sigstore_types::Sha256Hash::from(digest), &parsed, policy),
    };
    result.map_err(map_sigstore_error)
}

fn log_evidence(bundle: &Bundle, result: &sigstore_verify::VerificationResult) -> Option<LogEvidence> {
    if !result.tlog_verified() {
        return None;
    }
    bundle
        .verification_material
        .tlog_entries
        .first()
        .map(|entry| LogEvidence { log_index: entry.log_index, integrated_time: entry.integrated_time })
}

fn times(result: &sigstore_verify::VerificationResult) -> Vec<i64> {
    result.verified_timestamps().iter().map(|t| t.as_second()).collect()
}

fn map_sigstore_error(error: sigstore_verify::Error) -> Error {
    use sigstore_verify::{CertificateError, Error as E, TimestampError, TransparencyLogError as T};
    let reason = error.to_string();
    match error {
        E::IdentityMismatch { expected, actual } => Error::CertificateIdentityMismatch {
            expected: expected.to_string(),
            found: actual.map_or_else(|| "(none)".to_owned(), |a| a.to_string()),
        },
        E::IssuerMismatch { expected, actual } => {
            Error::CertificateIssuerMismatch { expected, found: actual.unwrap_or_else(|| "(none)".to_owned()) }
        }
        E::SignatureInvalid(reason) => Error::SignatureMismatch { reason },
        E::ArtifactMismatch(reason) => Error::SubjectMismatch { reason },
        E::Certificate(CertificateError::Sct(reason)) => Error::SctInvalid { reason },
        E::Certificate(CertificateError::NotYetValid { .. } | CertificateError::Expired { .. }) => {
            Error::TimestampOutsideValidity { reason }
        }
        E::Certificate(_) => Error::CertificateInvalid { reason },
        E::TransparencyLog(T::InclusionProof(reason)) => Error::InclusionProofInvalid { reason },
        E::TransparencyLog(T::Checkpoint(reason)) => Error::CheckpointInvalid { reason },
        E::TransparencyLog(T::InclusionPromise(reason)) => Error::SetInvalid { reason },
        E::TransparencyLog(T::EntryMismatch(reason)) => Error::LogEntryMismatch { reason },
        E::TransparencyLog(T::IntegratedTime(reason)) => Error::TimestampOutsideValidity { reason },
        E::TransparencyLog(T::UnknownLog { .. }) => Error::UnknownLog { reason },
        E::TransparencyLog(_) => Error::LogEntryMismatch { reason },
        E::Timestamp(TimestampError::OutsideAuthorityValidity { .. }) => Error::TimestampOutsideValidity { reason },
        E::Timestamp(TimestampError::NoVerifiedTimestamp(reason)) => Error::NoVerifiedTimestamp { reason },
        E::Timestamp(_) => Error::TimestampInvalid { reason },
        E::InvalidTrustRoot(reason) => Error::TrustedRootInvalid { reason },
        E::TrustRoot(_) | E::TrustedCertificate(_) => Error::TrustedRootInvalid { reason },
        E::InvalidBundle(_) | E::UnsupportedBundle(_) | E::Types(_) | E::Bundle(_) => {
            Error::MalformedBundle { field: "(bundle)".to_owned(), reason }
        }
        _ => Error::Verification { reason },
    }
}
