//! DSSE envelopes (secure-systems-lab/dsse `protocol.md`, `envelope.md`).

use serde::{Deserialize, Serialize};

use crate::encoding;
use crate::error::{Error, Result};
use crate::key::{PublicKey, SigningKey};

/// A DSSE envelope. JSON: `payloadType`, `payload` (base64), `signatures` (`keyid`, `sig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    #[serde(with = "encoding::bytes")]
    pub payload: Vec<u8>,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an [`Envelope`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Optional, unauthenticated hint; empty when unset (and then not written).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    #[serde(with = "encoding::bytes")]
    pub sig: Vec<u8>,
}

/// Pre-Authentication Encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths
/// in ASCII decimal. This is what is signed, never the JSON.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// Signs `payload` with `key` (one signature, no key id, as cosign writes).
    #[must_use]
    pub fn sign(payload_type: &str, payload: Vec<u8>, key: &SigningKey) -> Envelope {
        let sig = key.sign(&pae(payload_type, &payload));
        Envelope {
            payload_type: payload_type.to_owned(),
            payload,
            signatures: vec![EnvelopeSignature { keyid: String::new(), sig }],
        }
    }

    /// Succeeds when at least one signature verifies with `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<()> {
        if self.signatures.is_empty() {
            return Err(Error::MalformedEnvelope { reason: "no signatures".to_owned() });
        }
        let message = pae(&self.payload_type, &self.payload);
        let mut last = None;
        for signature in &self.signatures {
            match key.verify(&message, &signature.sig) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(Error::SignatureMismatch { reason: "no signature verified".to_owned() }))
    }

    /// Parses envelope JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope> {
        serde_json::from_slice(bytes).map_err(|e| Error::MalformedEnvelope { reason: e.to_string() })
    }

    /// Envelope JSON.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
