use pare_sign::{
    Bundle, COSIGN_SIGN_PREDICATE_TYPE, Envelope, Error, PAYLOAD_TYPE, SignedContent, Signer, SigningKey, Statement,
    Subject, Trust, verify_bundle,
};
use sha2::{Digest, Sha256};

fn dsse_bundle(key: &SigningKey, digest: [u8; 32]) -> Bundle {
    let statement = Statement::new("registry.example/app", digest, COSIGN_SIGN_PREDICATE_TYPE, None);
    let envelope = Envelope::sign(PAYLOAD_TYPE, statement.to_json(), key);
    Bundle::parse(&Bundle::from_dsse_with_key(envelope, &key.public_key()).to_json()).unwrap()
}

fn blob_bundle(key: &SigningKey, artifact: &[u8]) -> Bundle {
    let digest: [u8; 32] = Sha256::digest(artifact).into();
    Bundle::parse(&Bundle::from_message_signature_with_key(digest, key.sign(artifact), &key.public_key()).to_json())
        .unwrap()
}

#[test]
fn written_bundle_has_cosign_shape() {
    let key = SigningKey::generate_p256();
    let json: serde_json::Value = serde_json::from_slice(&dsse_bundle(&key, [1; 32]).to_json()).unwrap();
    assert_eq!(json["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert_eq!(json["verificationMaterial"]["publicKey"]["hint"], key.public_key().hint().as_str());
    assert_eq!(json["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");
    let statement: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            json["dsseEnvelope"]["payload"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], hex::encode([1u8; 32]));
    // What the image side writes as the referrer's annotations (cosign specs/BUNDLE_SPEC.md).
    let bundle = dsse_bundle(&key, [1; 32]);
    assert_eq!(bundle.content_annotation(), "dsse-envelope");
    assert_eq!(bundle.predicate_type().as_deref(), Some(COSIGN_SIGN_PREDICATE_TYPE));
    let blob = blob_bundle(&key, b"a");
    assert_eq!(blob.content_annotation(), "message-signature");
    assert_eq!(blob.predicate_type(), None);
}

#[test]
fn dsse_round_trip_and_what_was_verified() {
    let key = SigningKey::generate_p256();
    let bundle = dsse_bundle(&key, [9; 32]);
    let verified = verify_bundle(&bundle, Subject::Sha256([9; 32]), &Trust::Key(key.public_key())).unwrap();
    assert_eq!(verified.signer, Signer::Key { hint: key.public_key().hint() });
    assert_eq!(
        verified.content,
        SignedContent::Dsse {
            payload_type: PAYLOAD_TYPE.to_owned(),
            predicate_type: Some(COSIGN_SIGN_PREDICATE_TYPE.to_owned())
        }
    );
    assert_eq!(verified.log, None);
}

#[test]
fn message_signature_round_trip_bytes_and_digest() {
    for key in [SigningKey::generate_p256(), SigningKey::generate_ed25519()] {
        let bundle = blob_bundle(&key, b"artifact");
        verify_bundle(&bundle, Subject::Bytes(b"artifact"), &Trust::Key(key.public_key())).unwrap();
        if matches!(key, SigningKey::EcdsaP256(_)) {
            let digest: [u8; 32] = Sha256::digest(b"artifact").into();
            verify_bundle(&bundle, Subject::Sha256(digest), &Trust::Key(key.public_key())).unwrap();
        }
    }
}

#[test]
fn payload_for_another_digest_is_subject_mismatch() {
    let key = SigningKey::generate_p256();
    let result = verify_bundle(&dsse_bundle(&key, [1; 32]), Subject::Sha256([2; 32]), &Trust::Key(key.public_key()));
    assert!(matches!(result, Err(Error::SubjectMismatch { .. })), "{result:?}");
    let result = verify_bundle(&blob_bundle(&key, b"one"), Subject::Bytes(b"two"), &Trust::Key(key.public_key()));
    assert!(matches!(result, Err(Error::SubjectMismatch { .. })), "{result:?}");
}

#[test]
fn other_key_is_no_matching_key() {
    let key = SigningKey::generate_p256();
    let other = SigningKey::generate_p256().public_key();
    let result = verify_bundle(&dsse_bundle(&key, [1; 32]), Subject::Sha256([1; 32]), &Trust::Key(other.clone()));
    assert!(matches!(result, Err(Error::NoMatchingKey { .. })), "{result:?}");
    let result = verify_bundle(&blob_bundle(&key, b"a"), Subject::Bytes(b"a"), &Trust::Key(other));
    assert!(matches!(result, Err(Error::NoMatchingKey { .. })), "{result:?}");
}

#[test]
fn tampered_payload_and_signature_are_signature_mismatch() {
    let key = SigningKey::generate_p256();
    let mut bundle = dsse_bundle(&key, [1; 32]);
    let envelope = bundle.dsse_envelope.as_mut().unwrap();
    let mut statement = Statement::parse(&envelope.payload).unwrap();
    statement.predicate_type = "https://example.com/other".to_owned();
    envelope.payload = statement.to_json();
    let result = verify_bundle(&bundle, Subject::Sha256([1; 32]), &Trust::Key(key.public_key()));
    assert!(matches!(result, Err(Error::SignatureMismatch { .. })), "{result:?}");

    let mut bundle = blob_bundle(&key, b"a");
    let signature = &mut bundle.message_signature.as_mut().unwrap().signature;
    let last = signature.len() - 1;
    signature[last] ^= 1;
    let result = verify_bundle(&bundle, Subject::Bytes(b"a"), &Trust::Key(key.public_key()));
    assert!(matches!(result, Err(Error::SignatureMismatch { .. })), "{result:?}");
}

#[test]
fn malformed_and_unknown_bundles_are_refused_by_parse() {
    let key = SigningKey::generate_p256();
    let good = String::from_utf8(blob_bundle(&key, b"a").to_json()).unwrap();
    assert!(matches!(Bundle::parse(b"{\"mediaType\": "), Err(Error::MalformedBundle { .. })));
    assert!(matches!(Bundle::parse(b"[]"), Err(Error::MalformedBundle { .. })));
    let unknown = good.replace("bundle.v0.3+json", "bundle.v0.9+json");
    assert!(matches!(Bundle::parse(unknown.as_bytes()), Err(Error::UnknownMediaType { .. })));
    let bad_base64 = good.replace("\"signature\":\"", "\"signature\":\"!!");
    match Bundle::parse(bad_base64.as_bytes()) {
        Err(Error::MalformedBundle { field, .. }) => assert_eq!(field, "messageSignature.signature"),
        other => panic!("{other:?}"),
    }
    let no_content = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":""}}}"#;
    assert!(matches!(Bundle::parse(no_content.as_bytes()), Err(Error::MalformedBundle { .. })));
    let huge = vec![b' '; pare_sign::MAX_BUNDLE_SIZE + 1];
    assert!(matches!(Bundle::parse(&huge), Err(Error::BundleTooLarge { .. })));
}

#[test]
fn keyless_bundle_with_key_trust_is_wrong_material() {
    let path = crate::fixtures().join("sigstore-conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let bundle = Bundle::parse(&std::fs::read(path).unwrap()).unwrap();
    let key = SigningKey::generate_p256().public_key();
    let result = verify_bundle(&bundle, Subject::Bytes(b"x"), &Trust::Key(key));
    assert!(matches!(result, Err(Error::WrongVerificationMaterial { .. })), "{result:?}");
}

#[test]
fn keyless_identity_mismatch_names_both() {
    let base = crate::fixtures().join("sigstore-conformance");
    let bundle =
        Bundle::parse(&std::fs::read(base.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap())
            .unwrap();
    let artifact = std::fs::read(base.join("bundle-verify/a.txt")).unwrap();
    let trust = Trust::Identity {
        identity: "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main".to_owned(),
        issuer: "https://token.actions.githubusercontent.com".to_owned(),
        trusted_root: pare_sign::TrustedRoot::public_good().unwrap(),
    };
    match verify_bundle(&bundle, Subject::Bytes(&artifact), &trust) {
        Err(Error::CertificateIdentityMismatch { expected, found }) => {
            assert!(expected.contains("someone/else"));
            assert!(found.contains("extremely-dangerous-oidc-beacon"));
        }
        other => panic!("{other:?}"),
    }
}
