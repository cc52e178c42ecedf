use pare_sign::{Envelope, Error, PublicKey, SigningKey, pae};

/// The test vector of secure-systems-lab/dsse `protocol.md` (v1.0.0): P-256 key, RFC 6979
/// signature as raw r||s.
const SPEC_X: &str = "67cd390f77aa359cb08c2235f652270493a9ed832b0abcc01f70954c0390d238";
const SPEC_Y: &str = "0c782bd54e269125a44f4433aff1432ce94e12bca73aa67ac80cea12608ddf74";
const SPEC_D: &str = "d73ec437fd6346e3619c5ebfdfff0f6916804955ad32ac9ac492b0ede1f6ffb7";
const SPEC_ENVELOPE: &str = r#"{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}"#;

fn spec_public_key() -> PublicKey {
    let mut sec1 = vec![4u8];
    sec1.extend(hex::decode(SPEC_X).unwrap());
    sec1.extend(hex::decode(SPEC_Y).unwrap());
    PublicKey::EcdsaP256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap())
}

#[test]
fn pae_matches_the_spec_vector() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    // Lengths are bytes, not characters.
    assert_eq!(pae("é", "ø".as_bytes()), "DSSEv1 2 é 2 ø".as_bytes());
}

#[test]
fn spec_envelope_verifies_and_pare_signs_it_identically() {
    let envelope = Envelope::from_json(SPEC_ENVELOPE.as_bytes()).unwrap();
    assert_eq!(envelope.payload, b"hello world");
    envelope.verify(&spec_public_key()).unwrap();

    let d = hex::decode(SPEC_D).unwrap();
    let key = SigningKey::EcdsaP256(p256::ecdsa::SigningKey::from_slice(&d).unwrap());
    assert_eq!(key.public_key(), spec_public_key());
    // pare writes DER (as cosign); RFC 6979 makes the same r||s as the spec.
    let ours = Envelope::sign("http://example.com/HelloWorld", b"hello world".to_vec(), &key);
    let der = p256::ecdsa::Signature::from_der(&ours.signatures[0].sig).unwrap();
    assert_eq!(der.to_bytes().as_slice(), envelope.signatures[0].sig.as_slice());
}

#[test]
fn tampering_fails() {
    let key = SigningKey::generate_p256();
    let envelope = Envelope::sign("application/vnd.in-toto+json", b"{}".to_vec(), &key);
    envelope.verify(&key.public_key()).unwrap();
    let mut payload = envelope.clone();
    payload.payload = b"{ }".to_vec();
    assert!(matches!(payload.verify(&key.public_key()), Err(Error::SignatureMismatch { .. })));
    let mut payload_type = envelope.clone();
    payload_type.payload_type = "application/json".to_owned();
    assert!(matches!(payload_type.verify(&key.public_key()), Err(Error::SignatureMismatch { .. })));
    let other = SigningKey::generate_p256().public_key();
    assert!(matches!(envelope.verify(&other), Err(Error::SignatureMismatch { .. })));
    let mut none = envelope.clone();
    none.signatures.clear();
    assert!(matches!(none.verify(&key.public_key()), Err(Error::MalformedEnvelope { .. })));
    // URL-safe base64 is read too (the spec says verifiers must accept either).
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = serde_json::json!({
        "payloadType": envelope.payload_type,
        "payload": base64::Engine::encode(&url, &envelope.payload),
        "signatures": [{"sig": base64::Engine::encode(&url, &envelope.signatures[0].sig)}],
    });
    Envelope::from_json(json.to_string().as_bytes()).unwrap().verify(&key.public_key()).unwrap();
}
