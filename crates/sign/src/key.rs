//! Signing keys and public keys: generation, cosign's encrypted PEM, PKCS#8/SEC1/PKIX PEM.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::{Signer, Verifier as _};
use pem_rfc7468::LineEnding;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// PEM type cosign (since 2.x) writes for encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_PEM: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM type older cosign releases wrote; same content.
pub const COSIGN_PRIVATE_KEY_PEM: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// scrypt cost parameters cosign accepts when reading (`N`); it writes 65536.
const ACCEPTED_SCRYPT_N: [u64; 3] = [32_768, 65_536, 131_072];
const WRITE_SCRYPT_LOG_N: u8 = 16;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Key files are small; refuse to base64-decode or parse more than this.
const MAX_PEM_LEN: usize = 64 * 1024;

/// A private key that signs.
#[derive(Clone)]
pub enum SigningKey {
    /// ECDSA on NIST P-256 with SHA-256 (what `cosign generate-key-pair` makes).
    EcdsaP256(p256::ecdsa::SigningKey),
    /// Ed25519 (pure, not pre-hashed).
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "SigningKey({})", self.public_key().hint())
    }
}

/// A public key that verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA on NIST P-256 with SHA-256.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl SigningKey {
    /// A fresh ECDSA P-256 key from the operating system's random source.
    #[must_use]
    pub fn generate_p256() -> SigningKey {
        SigningKey::EcdsaP256(p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    /// A fresh Ed25519 key.
    #[must_use]
    pub fn generate_ed25519() -> SigningKey {
        SigningKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    /// Reads a private key PEM: cosign's encrypted key (`ENCRYPTED SIGSTORE PRIVATE KEY` or
    /// `ENCRYPTED COSIGN PRIVATE KEY`, needs `password`), plain PKCS#8 (`PRIVATE KEY`, P-256 or
    /// Ed25519) or SEC1 (`EC PRIVATE KEY`, P-256).
    pub fn from_pem(pem: &[u8], password: Option<&[u8]>) -> Result<SigningKey> {
        let (label, der) = decode_pem(pem)?;
        match label.as_str() {
            SIGSTORE_PRIVATE_KEY_PEM | COSIGN_PRIVATE_KEY_PEM => {
                let password = password.ok_or(Error::PasswordRequired)?;
                let pkcs8 = decrypt(&der, password)?;
                SigningKey::from_pkcs8_der(&pkcs8)
            }
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => SigningKey::from_sec1_der(&der),
            "ENCRYPTED PRIVATE KEY" => Err(Error::UnsupportedKeyType {
                reason:
                    "PKCS#8 password-encrypted keys (`ENCRYPTED PRIVATE KEY`); use a cosign key or a plain PKCS#8 key"
                        .to_owned(),
            }),
            _ => Err(Error::UnsupportedPemType { label }),
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (DER): P-256 or Ed25519.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey> {
        let info =
            pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| Error::MalformedKey { reason: format!("PKCS#8: {e}") })?;
        let oid = info.algorithm.oid;
        if oid == ED25519_OID {
            ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(SigningKey::Ed25519)
                .map_err(|e| Error::MalformedKey { reason: format!("Ed25519 PKCS#8: {e}") })
        } else if oid == EC_PUBLIC_KEY_OID {
            p256::SecretKey::from_pkcs8_der(der)
                .map(|key| SigningKey::EcdsaP256(key.into()))
                .map_err(|e| Error::UnsupportedKeyType { reason: format!("EC key that is not P-256 ({e})") })
        } else {
            Err(Error::UnsupportedKeyType { reason: format!("algorithm {oid}; pare signs with P-256 or Ed25519") })
        }
    }

    /// Reads a SEC1 `ECPrivateKey` (DER); only P-256.
    pub fn from_sec1_der(der: &[u8]) -> Result<SigningKey> {
        let info = sec1::EcPrivateKey::try_from(der)
            .map_err(|e| Error::MalformedKey { reason: format!("SEC1 EC key: {e}") })?;
        // p256 does not check the curve named in the key; a P-384 key would be misread.
        let named = info.parameters.and_then(|p| p.named_curve());
        if named.is_some_and(|oid| oid != P256_OID) || info.private_key.len() != 32 {
            return Err(Error::UnsupportedKeyType {
                reason: format!(
                    "EC key on curve {}; pare signs with P-256",
                    named.map_or_else(|| "(unnamed)".to_owned(), |o| o.to_string())
                ),
            });
        }
        p256::SecretKey::from_sec1_der(der)
            .map(|key| SigningKey::EcdsaP256(key.into()))
            .map_err(|e| Error::MalformedKey { reason: format!("SEC1 P-256 key: {e}") })
    }

    /// The key as PKCS#8 DER (secret; zeroed on drop).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match self {
            SigningKey::EcdsaP256(key) => p256::SecretKey::from(key).to_pkcs8_der(),
            SigningKey::Ed25519(key) => key.to_pkcs8_der(),
        }
        .map_err(|e| Error::MalformedKey { reason: format!("PKCS#8 encoding: {e}") })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key encrypted as cosign writes it: PKCS#8 DER sealed with NaCl secretbox under a key
    /// from scrypt (N=65536, r=8, p=1, 32-byte salt, 24-byte nonce), in go-securesystemslib's
    /// `encrypted` JSON, as PEM `ENCRYPTED SIGSTORE PRIVATE KEY`.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String> {
        let pkcs8 = self.to_pkcs8_der()?;
        let json = encrypt(&pkcs8, password, WRITE_SCRYPT_LOG_N)?;
        pem_rfc7468::encode_string(SIGSTORE_PRIVATE_KEY_PEM, LineEnding::LF, &json)
            .map_err(|e| Error::MalformedKey { reason: format!("PEM encoding: {e}") })
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match self {
            SigningKey::EcdsaP256(key) => PublicKey::EcdsaP256(*key.verifying_key()),
            SigningKey::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
        }
    }

    /// Signs a message known by its SHA-256 (what [`SigningKey::sign`] signs for ECDSA, without
    /// holding the message). ECDSA only: Ed25519 signs the message itself.
    pub fn sign_sha256(&self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        match self {
            SigningKey::EcdsaP256(key) => {
                let signature: p256::ecdsa::Signature = key
                    .sign_prehash(digest)
                    .map_err(|_| Error::SignatureMismatch { reason: "ECDSA signing failed".to_owned() })?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            SigningKey::Ed25519(_) => Err(Error::UnsupportedKeyType {
                reason: "an Ed25519 key signs the artifact's bytes, not its digest".to_owned(),
            }),
        }
    }

    /// Signs `message`: ECDSA P-256 over SHA-256 of the message, ASN.1 DER (as cosign writes);
    /// Ed25519 over the message itself, 64 raw bytes.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::EcdsaP256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            SigningKey::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
        }
    }
}

const ED25519_OID: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.3.101.112");
const P256_OID: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const EC_PUBLIC_KEY_OID: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

impl PublicKey {
    /// Reads a PKIX `PUBLIC KEY` PEM (P-256 or Ed25519).
    pub fn from_pem(pem: &[u8]) -> Result<PublicKey> {
        let (label, der) = decode_pem(pem)?;
        if label != "PUBLIC KEY" {
            return Err(Error::UnsupportedPemType { label });
        }
        PublicKey::from_der(&der)
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    pub fn from_der(der: &[u8]) -> Result<PublicKey> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| Error::MalformedKey { reason: format!("SubjectPublicKeyInfo: {e}") })?;
        let oid = info.algorithm.oid;
        if oid == ED25519_OID {
            ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::Ed25519)
                .map_err(|e| Error::MalformedKey { reason: format!("Ed25519 public key: {e}") })
        } else if oid == EC_PUBLIC_KEY_OID {
            p256::PublicKey::from_public_key_der(der)
                .map(|key| PublicKey::EcdsaP256(key.into()))
                .map_err(|e| Error::UnsupportedKeyType { reason: format!("EC key that is not P-256 ({e})") })
        } else {
            Err(Error::UnsupportedKeyType { reason: format!("algorithm {oid}; pare verifies P-256 or Ed25519 keys") })
        }
    }

    /// PKIX `PUBLIC KEY` PEM, as `cosign.pub`.
    #[must_use]
    pub fn to_pem(&self) -> String {
        pem_rfc7468::encode_string("PUBLIC KEY", LineEnding::LF, &self.der()).unwrap_or_default()
    }

    /// DER `SubjectPublicKeyInfo`.
    #[must_use]
    pub fn der(&self) -> Vec<u8> {
        let doc = match self {
            PublicKey::EcdsaP256(key) => p256::PublicKey::from(key).to_public_key_der(),
            PublicKey::Ed25519(key) => key.to_public_key_der(),
        };
        // Encoding a valid in-memory key cannot fail; an empty DER would only fail to match.
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// base64(SHA-256(DER)): cosign's `verificationMaterial.publicKey.hint`.
    #[must_use]
    pub fn hint(&self) -> String {
        STANDARD.encode(Sha256::digest(self.der()))
    }

    /// Checks `signature` over `message` (see [`SigningKey::sign`] for the encodings).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            PublicKey::EcdsaP256(key) => {
                use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
                let point = key.to_encoded_point(false);
                // DER as cosign writes; then the fixed 64-byte r||s some tools write.
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point.as_bytes())
                    .verify(message, signature)
                    .or_else(|e| match signature.len() {
                        64 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.as_bytes())
                            .verify(message, signature),
                        _ => Err(e),
                    })
                    .map_err(|_| Error::SignatureMismatch { reason: "ECDSA P-256 signature invalid".to_owned() })
            }
            PublicKey::Ed25519(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| Error::SignatureMismatch { reason: "not a 64-byte Ed25519 signature".to_owned() })?;
                key.verify(message, &signature)
                    .map_err(|_| Error::SignatureMismatch { reason: "Ed25519 signature invalid".to_owned() })
            }
        }
    }

    /// Checks `signature` over a message known only by its SHA-256 digest. ECDSA only: Ed25519
    /// signs the message itself, so its bytes are needed.
    pub fn verify_sha256(&self, digest: &[u8; 32], signature: &[u8]) -> Result<()> {
        match self {
            PublicKey::EcdsaP256(key) => {
                let signature = ecdsa_signature(signature)?;
                key.verify_prehash(digest, &signature)
                    .map_err(|_| Error::SignatureMismatch { reason: "ECDSA P-256 signature invalid".to_owned() })
            }
            PublicKey::Ed25519(_) => Err(Error::UnsupportedKeyType {
                reason: "an Ed25519 signature can only be checked against the artifact's bytes, not its digest"
                    .to_owned(),
            }),
        }
    }
}

/// ASN.1 DER as cosign writes; the fixed 64-byte form some tools write is accepted too.
fn ecdsa_signature(bytes: &[u8]) -> Result<p256::ecdsa::Signature> {
    p256::ecdsa::Signature::from_der(bytes)
        .or_else(|_| p256::ecdsa::Signature::from_slice(bytes))
        .map_err(|_| Error::SignatureMismatch { reason: "not an ECDSA P-256 signature (DER)".to_owned() })
}

/// Finds the first PEM block in `input` (text around it is allowed, as in Go's `pem.Decode`).
fn decode_pem(input: &[u8]) -> Result<(String, Vec<u8>)> {
    if input.len() > MAX_PEM_LEN {
        return Err(Error::Pem { reason: format!("{} bytes, more than a key file holds", input.len()) });
    }
    let text = std::str::from_utf8(input).map_err(|_| Error::Pem { reason: "not UTF-8 text".to_owned() })?;
    let begin = text.find("-----BEGIN ").ok_or_else(|| Error::Pem { reason: "no `-----BEGIN` line".to_owned() })?;
    let rest = &text[begin..];
    let end_marker = rest.find("-----END ").ok_or_else(|| Error::Pem { reason: "no `-----END` line".to_owned() })?;
    let after_end = &rest[end_marker + "-----END ".len()..];
    let close =
        after_end.find("-----").ok_or_else(|| Error::Pem { reason: "unterminated `-----END` line".to_owned() })?;
    let block = &rest[..end_marker + "-----END ".len() + close + "-----".len()];
    // pem-rfc7468 is strict about line lengths; re-wrap the body so files with other wrapping
    // (Go writes 64, some tools 76) still read.
    let mut lines = block.lines().map(str::trim);
    let header = lines.next().unwrap_or_default();
    let label = header
        .strip_prefix("-----BEGIN ")
        .and_then(|s| s.strip_suffix("-----"))
        .ok_or_else(|| Error::Pem { reason: "malformed `-----BEGIN` line".to_owned() })?
        .to_owned();
    let mut body = String::new();
    for line in lines {
        if line.starts_with("-----END ") {
            let end_label = line.strip_prefix("-----END ").and_then(|s| s.strip_suffix("-----"));
            if end_label != Some(label.as_str()) {
                return Err(Error::Pem { reason: format!("`-----END` line does not match `{label}`") });
            }
            break;
        }
        if line.contains(':') {
            return Err(Error::Pem { reason: "PEM headers (legacy encrypted PEM) are not supported".to_owned() });
        }
        body.push_str(line);
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| Error::Pem { reason: format!("body is not base64 ({e}); is the file truncated?") })?;
    if der.is_empty() {
        return Err(Error::Pem { reason: "empty PEM body".to_owned() });
    }
    Ok((label, der))
}

/// go-securesystemslib `encrypted` JSON (field names and order as Go marshals them).
#[derive(Serialize, Deserialize)]
struct EncryptedData {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "b64")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    #[serde(with = "b64")]
    salt: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "b64")]
    nonce: Vec<u8>,
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8) -> Result<Zeroizing<[u8; 32]>> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P, 32)
        .map_err(|e| Error::UnsupportedKdf { reason: format!("scrypt parameters: {e}") })?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, &params, key.as_mut_slice())
        .map_err(|e| Error::UnsupportedKdf { reason: format!("scrypt: {e}") })?;
    Ok(key)
}

fn encrypt(plaintext: &[u8], password: &[u8], log_n: u8) -> Result<Vec<u8>> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let key = derive_key(password, &salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(key.as_slice().into());
    let ciphertext = cipher
        .encrypt(&nonce.into(), plaintext)
        .map_err(|_| Error::MalformedKey { reason: "secretbox encryption failed".to_owned() })?;
    let data = EncryptedData {
        kdf: Kdf {
            name: "scrypt".to_owned(),
            params: KdfParams { n: 1 << log_n, r: SCRYPT_R, p: SCRYPT_P },
            salt: salt.to_vec(),
        },
        cipher: Cipher { name: "nacl/secretbox".to_owned(), nonce: nonce.to_vec() },
        ciphertext,
    };
    serde_json::to_vec(&data).map_err(|e| Error::MalformedKey { reason: format!("JSON: {e}") })
}

fn decrypt(json: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let data: EncryptedData =
        serde_json::from_slice(json).map_err(|e| Error::MalformedEncryptedKey { reason: format!("JSON: {e}") })?;
    if data.kdf.name != "scrypt" {
        return Err(Error::UnsupportedKdf { reason: format!("`{}`, expected `scrypt`", data.kdf.name) });
    }
    let KdfParams { n, r, p } = data.kdf.params;
    // A fixed set, as cosign: an attacker-chosen N would otherwise cost any memory or time.
    if !ACCEPTED_SCRYPT_N.contains(&n) || r != SCRYPT_R || p != SCRYPT_P {
        return Err(Error::UnsupportedKdf {
            reason: format!("scrypt N={n} r={r} p={p}; accepted: N in 32768, 65536, 131072 with r=8 p=1"),
        });
    }
    if data.cipher.name != "nacl/secretbox" {
        return Err(Error::MalformedEncryptedKey {
            reason: format!("cipher `{}`, expected `nacl/secretbox`", data.cipher.name),
        });
    }
    let nonce: [u8; NONCE_LEN] = data.cipher.nonce.as_slice().try_into().map_err(|_| Error::MalformedEncryptedKey {
        reason: format!("nonce of {} bytes, expected {NONCE_LEN}", data.cipher.nonce.len()),
    })?;
    if data.kdf.salt.is_empty() {
        return Err(Error::MalformedEncryptedKey { reason: "empty salt".to_owned() });
    }
    let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(u8::MAX);
    let key = derive_key(password, &data.kdf.salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(key.as_slice().into());
    // secretbox authenticates: any wrong password fails here.
    let plaintext = cipher.decrypt(&nonce.into(), data.ciphertext.as_slice()).map_err(|_| Error::WrongPassword)?;
    Ok(Zeroizing::new(plaintext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_errors_are_clear() {
        assert!(matches!(SigningKey::from_pem(b"hello", None), Err(Error::Pem { .. })));
        let truncated = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
        assert!(matches!(SigningKey::from_pem(truncated, None), Err(Error::Pem { .. })));
        let other = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(SigningKey::from_pem(other, None), Err(Error::UnsupportedPemType { .. })));
    }

    #[test]
    fn bad_scrypt_n_is_refused_before_any_work() {
        let json = br#"{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":"AAAA"}"#;
        assert!(matches!(decrypt(json, b"x"), Err(Error::UnsupportedKdf { .. })));
        assert!(matches!(decrypt(b"{not json", b"x"), Err(Error::MalformedEncryptedKey { .. })));
    }
}
