use pare_sign::{Error, PublicKey, SigningKey};

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(crate::fixtures().join("keys").join(name)).unwrap()
}

fn signs_and_verifies(key: &SigningKey) {
    let signature = key.sign(b"payload");
    key.public_key().verify(b"payload", &signature).unwrap();
    assert!(matches!(key.public_key().verify(b"other", &signature), Err(Error::SignatureMismatch { .. })));
}

#[test]
fn decrypts_sigstore_rs_and_cosign_encrypted_keys() {
    for (file, password, ed25519) in [
        ("sigstore-rs_ecdsa_encrypted_private.key", "123", false),
        ("sigstore-rs_ed25519_encrypted_private.key", "123", true),
        ("sigstore-rs_cosign_generated_encrypted_empty_private.key", "", false),
        ("cosign_pemsigstorekey.key", "hello", false),
        ("cosign_pemcosignkey.key", "hello", false),
    ] {
        let key =
            SigningKey::from_pem(&key_file(file), Some(password.as_bytes())).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(matches!(key, SigningKey::Ed25519(_)), ed25519, "{file}");
        signs_and_verifies(&key);
    }
}

#[test]
fn wrong_password_is_wrong_password() {
    for file in ["sigstore-rs_ecdsa_encrypted_private.key", "cosign_pemsigstorekey.key"] {
        let result = SigningKey::from_pem(&key_file(file), Some(b"not the password"));
        assert!(matches!(result, Err(Error::WrongPassword)), "{file}: {result:?}");
    }
    let result = SigningKey::from_pem(&key_file("cosign_pemsigstorekey.key"), None);
    assert!(matches!(result, Err(Error::PasswordRequired)), "{result:?}");
}

#[test]
fn cosign_fixtures_cosign_itself_refuses_are_refused_clearly() {
    // SEC1 inside the encryption: cosign fails with "use ParseECPrivateKey instead".
    let result = SigningKey::from_pem(&key_file("cosign_pemcosigneckey.key"), Some(b"hello"));
    assert!(matches!(result, Err(Error::MalformedKey { .. })), "{result:?}");
    let result = SigningKey::from_pem(&key_file("cosign_validecp384_sec1.key"), None);
    assert!(matches!(result, Err(Error::UnsupportedKeyType { .. })), "P-384 is not P-256: {result:?}");
}

#[test]
fn reads_plain_pkcs8_sec1_and_ed25519() {
    for (file, ed25519) in [
        ("sigstore-rs_ecdsa_private.key", false),
        ("sigstore-rs_ed25519_private.key", true),
        ("cosign_validecp256_sec1.key", false),
        ("cosign_validecpkcs8.key", false),
        ("cosign_ed25519.key", true),
    ] {
        let key = SigningKey::from_pem(&key_file(file), None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(matches!(key, SigningKey::Ed25519(_)), ed25519, "{file}");
        signs_and_verifies(&key);
    }
}

#[test]
fn generate_encrypt_read_back_sign_verify() {
    for key in [SigningKey::generate_p256(), SigningKey::generate_ed25519()] {
        let pem = key.to_encrypted_pem(b"correct horse").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        // The body is go-securesystemslib's JSON with cosign's parameters.
        let body = pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>();
        let json: serde_json::Value =
            serde_json::from_slice(&base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap())
                .unwrap();
        assert_eq!(json["kdf"]["name"], "scrypt");
        assert_eq!(json["kdf"]["params"], serde_json::json!({"N": 65536, "r": 8, "p": 1}));
        assert_eq!(json["cipher"]["name"], "nacl/secretbox");
        let back = SigningKey::from_pem(pem.as_bytes(), Some(b"correct horse")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let signature = back.sign(b"artifact");
        let public = PublicKey::from_pem(key.public_key().to_pem().as_bytes()).unwrap();
        public.verify(b"artifact", &signature).unwrap();
        assert!(matches!(SigningKey::from_pem(pem.as_bytes(), Some(b"wrong")), Err(Error::WrongPassword)));
    }
}

#[test]
fn hint_is_base64_sha256_of_der() {
    // managed-key-happy-path's key.pub and the hint its bundle carries (sigstore-conformance).
    let pem =
        std::fs::read(crate::fixtures().join("sigstore-conformance/bundle-verify/managed-key-happy-path/key.pub"))
            .unwrap();
    let bundle = std::fs::read(
        crate::fixtures().join("sigstore-conformance/bundle-verify/managed-key-happy-path/bundle.sigstore.json"),
    )
    .unwrap();
    let hint = PublicKey::from_pem(&pem).unwrap().hint();
    let bundle: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    assert_eq!(bundle["verificationMaterial"]["publicKey"]["hint"], hint.as_str());
}

#[test]
fn malformed_pem_and_json_are_clear_errors() {
    let good = String::from_utf8(key_file("cosign_pemsigstorekey.key")).unwrap();
    let truncated = &good[..good.len() / 2];
    assert!(matches!(SigningKey::from_pem(truncated.as_bytes(), Some(b"hello")), Err(Error::Pem { .. })));
    let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n";
    assert!(matches!(SigningKey::from_pem(pgp.as_bytes(), None), Err(Error::UnsupportedPemType { .. })));
    let encode = |json: &str| {
        pem_rfc7468::encode_string("ENCRYPTED SIGSTORE PRIVATE KEY", pem_rfc7468::LineEnding::LF, json.as_bytes())
            .unwrap()
    };
    let bad_json = encode("{\"kdf\": ");
    assert!(matches!(SigningKey::from_pem(bad_json.as_bytes(), Some(b"x")), Err(Error::MalformedEncryptedKey { .. })));
    let big_n = encode(
        r#"{"kdf":{"name":"scrypt","params":{"N":1048576,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"ciphertext":"AAAA"}"#,
    );
    assert!(matches!(SigningKey::from_pem(big_n.as_bytes(), Some(b"x")), Err(Error::UnsupportedKdf { .. })));
    let short_nonce = encode(
        r#"{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"},"ciphertext":"AAAA"}"#,
    );
    assert!(matches!(
        SigningKey::from_pem(short_nonce.as_bytes(), Some(b"x")),
        Err(Error::MalformedEncryptedKey { .. })
    ));
    assert!(PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err());
}
