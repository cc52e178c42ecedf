//! STAND-IN until the key, DSSE and bundle modules of pare-sign land (another branch builds
//! them): the smallest ECDSA P-256 keys (plain PKCS#8 / SPKI PEM), DSSE and key-based bundle
//! v0.3 that the image code needs, with the names those modules will have. Replaced whole.
#![allow(missing_docs)]

pub mod key {
    use base64::Engine;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
    use sha2::Digest;

    use crate::{Error, Result};

    pub struct SigningKey(p256::ecdsa::SigningKey);

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PublicKey(p256::ecdsa::VerifyingKey);

    impl SigningKey {
        pub fn from_pem(pem: &str, _password: Option<&[u8]>) -> Result<SigningKey> {
            p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
                .map(SigningKey)
                .map_err(|e| Error::InvalidInput(format!("not a P-256 PKCS#8 private key: {e}")))
        }
        pub fn public_key(&self) -> PublicKey {
            PublicKey(*self.0.verifying_key())
        }
        pub fn sign(&self, message: &[u8]) -> Vec<u8> {
            let sig: p256::ecdsa::Signature = self.0.sign(message);
            sig.to_der().as_bytes().to_vec()
        }
    }

    impl PublicKey {
        pub fn from_pem(pem: &str) -> Result<PublicKey> {
            p256::ecdsa::VerifyingKey::from_public_key_pem(pem)
                .map(PublicKey)
                .map_err(|e| Error::InvalidInput(format!("not a P-256 public key: {e}")))
        }
        pub fn der(&self) -> Vec<u8> {
            self.0.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default()
        }
        /// base64(SHA-256(DER)), as cosign's bundles name a key.
        pub fn hint(&self) -> String {
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(self.der()))
        }
        pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|e| Error::InvalidInput(format!("malformed signature: {e}")))?;
            self.0.verify(message, &sig).map_err(|_| Error::InvalidInput("the signature does not verify".into()))
        }
    }
}

pub mod dsse {
    use base64::Engine;
    use serde_json::json;

    use super::key::{PublicKey, SigningKey};
    use crate::{Error, Result};

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    #[derive(Clone, Debug)]
    pub struct Envelope {
        pub payload_type: String,
        pub payload: Vec<u8>,
        pub signatures: Vec<Vec<u8>>,
    }

    pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
        out.extend_from_slice(payload);
        out
    }

    impl Envelope {
        pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
            let sig = key.sign(&pae(payload_type, payload));
            Envelope { payload_type: payload_type.into(), payload: payload.to_vec(), signatures: vec![sig] }
        }
        pub fn verify(&self, key: &PublicKey) -> Result<()> {
            let pae = pae(&self.payload_type, &self.payload);
            if self.signatures.iter().any(|s| key.verify(&pae, s).is_ok()) {
                Ok(())
            } else {
                Err(Error::InvalidInput("no DSSE signature verifies with the key".into()))
            }
        }
        pub fn to_value(&self) -> serde_json::Value {
            json!({
                "payloadType": self.payload_type,
                "payload": B64.encode(&self.payload),
                "signatures": self.signatures.iter().map(|s| json!({"sig": B64.encode(s), "keyid": ""})).collect::<Vec<_>>(),
            })
        }
        pub fn from_value(v: &serde_json::Value) -> Result<Envelope> {
            let bad = |r: &str| Error::InvalidInput(format!("malformed DSSE envelope: {r}"));
            let payload_type = v.get("payloadType").and_then(|x| x.as_str()).ok_or_else(|| bad("no payloadType"))?;
            let payload = v.get("payload").and_then(|x| x.as_str()).ok_or_else(|| bad("no payload"))?;
            let payload = B64.decode(payload).map_err(|e| bad(&e.to_string()))?;
            let sigs = v.get("signatures").and_then(|x| x.as_array()).ok_or_else(|| bad("no signatures"))?;
            let mut signatures = Vec::new();
            for s in sigs {
                let sig = s.get("sig").and_then(|x| x.as_str()).ok_or_else(|| bad("a signature without sig"))?;
                signatures.push(B64.decode(sig).map_err(|e| bad(&e.to_string()))?);
            }
            Ok(Envelope { payload_type: payload_type.into(), payload, signatures })
        }
    }
}

pub mod statement {
    pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
}

pub mod bundle {
    use serde_json::json;

    use super::dsse::Envelope;
    use super::key::PublicKey;
    use crate::{Error, Result};

    pub const BUNDLE_MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

    #[derive(Clone, Debug)]
    pub struct Bundle {
        pub media_type: String,
        pub key_hint: Option<String>,
        pub envelope: Option<Envelope>,
    }

    impl Bundle {
        pub fn from_dsse_with_key(envelope: Envelope, key: &PublicKey) -> Bundle {
            Bundle { media_type: BUNDLE_MEDIA_TYPE_V03.into(), key_hint: Some(key.hint()), envelope: Some(envelope) }
        }
        pub fn parse(bytes: &[u8]) -> Result<Bundle> {
            let bad = |r: &str| Error::InvalidInput(format!("malformed bundle: {r}"));
            let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
            let media_type = v.get("mediaType").and_then(|x| x.as_str()).ok_or_else(|| bad("no mediaType"))?;
            let material = v.get("verificationMaterial").ok_or_else(|| bad("no verificationMaterial"))?;
            let key_hint =
                material.get("publicKey").and_then(|k| k.get("hint")).and_then(|h| h.as_str()).map(str::to_string);
            let envelope = v.get("dsseEnvelope").map(Envelope::from_value).transpose()?;
            Ok(Bundle { media_type: media_type.into(), key_hint, envelope })
        }
        pub fn to_json(&self) -> Vec<u8> {
            let mut v = json!({
                "mediaType": self.media_type,
                "verificationMaterial": {"publicKey": {"hint": self.key_hint}, "tlogEntries": []},
            });
            if let Some(e) = &self.envelope {
                v["dsseEnvelope"] = e.to_value();
            }
            pare_oci::canonical_json(&v)
        }
    }
}
