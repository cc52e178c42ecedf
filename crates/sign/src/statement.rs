//! in-toto Statement v1 (in-toto/attestation `spec/v1/statement.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// DSSE `payloadType` of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// `_type` of a Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of the older Statement v0.1, still read.
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// The predicate type `cosign sign` (v3) puts in the statement it signs for an image.
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// An in-toto Statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<StatementSubject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<serde_json::Value>,
}

/// A subject: a name and its digests (`sha256` → lowercase hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementSubject {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

impl Statement {
    /// A v1 statement about one subject.
    #[must_use]
    pub fn new(
        subject_name: &str,
        sha256: [u8; 32],
        predicate_type: &str,
        predicate: Option<serde_json::Value>,
    ) -> Statement {
        Statement {
            type_: STATEMENT_V1.to_owned(),
            subject: vec![StatementSubject {
                name: subject_name.to_owned(),
                digest: BTreeMap::from([("sha256".to_owned(), hex::encode(sha256))]),
            }],
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// Parses and checks `_type`, that there is a subject and each has a digest.
    pub fn parse(bytes: &[u8]) -> Result<Statement> {
        let statement: Statement =
            serde_json::from_slice(bytes).map_err(|e| Error::MalformedStatement { reason: e.to_string() })?;
        if statement.type_ != STATEMENT_V1 && statement.type_ != STATEMENT_V01 {
            return Err(Error::MalformedStatement { reason: format!("unknown `_type` `{}`", statement.type_) });
        }
        if statement.subject.is_empty() {
            return Err(Error::MalformedStatement { reason: "no subject".to_owned() });
        }
        if statement.subject.iter().any(|s| s.digest.is_empty()) {
            return Err(Error::MalformedStatement { reason: "a subject without a digest".to_owned() });
        }
        Ok(statement)
    }

    /// JSON, as signed.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Whether a subject has this SHA-256 (hex compared case-insensitively).
    #[must_use]
    pub fn has_sha256(&self, sha256: &[u8; 32]) -> bool {
        let want = hex::encode(sha256);
        self.subject.iter().any(|s| s.digest.get("sha256").is_some_and(|d| d.eq_ignore_ascii_case(&want)))
    }
}
