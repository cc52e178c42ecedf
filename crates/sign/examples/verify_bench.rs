//! Times `verify_bundle` in-process (used by `bench/verify.sh`): a key-based bundle pare writes
//! and a keyless conformance bundle, with the trusted root parsed once (a warm cache), each
//! verification parsing its bundle JSON.
//! Usage: verify_bench CONFORMANCE_DIR [ITERATIONS]
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use pare_sign::{Bundle, Envelope, PAYLOAD_TYPE, SigningKey, Statement, Subject, Trust, TrustedRoot, verify_bundle};
use sha2::{Digest, Sha256};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("CONFORMANCE_DIR"));
    let iterations: u32 = args.next().map_or(1000, |n| n.parse().expect("ITERATIONS"));
    let cases = dir.join("bundle-verify");
    let artifact = std::fs::read(cases.join("a.txt")).unwrap();

    let key = SigningKey::generate_p256();
    let digest: [u8; 32] = Sha256::digest(&artifact).into();
    let statement = Statement::new("a.txt", digest, pare_sign::COSIGN_SIGN_PREDICATE_TYPE, None);
    let key_json =
        Bundle::from_dsse_with_key(Envelope::sign(PAYLOAD_TYPE, statement.to_json(), &key), &key.public_key())
            .to_json();
    let key_trust = Trust::Key(key.public_key());

    let keyless_json = std::fs::read(cases.join("happy-path-v0.3/bundle.sigstore.json")).unwrap();
    let root = std::fs::read(dir.join("trusted_root.production.json")).unwrap();
    let started = Instant::now();
    let trusted_root = TrustedRoot::from_json(&root).unwrap();
    let root_ms = started.elapsed().as_secs_f64() * 1e3;
    let keyless_trust = Trust::Identity {
        identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        trusted_root,
    };

    for (name, json, trust) in [
        ("key-based DSSE bundle", &key_json, &key_trust),
        ("keyless bundle (happy-path-v0.3)", &keyless_json, &keyless_trust),
    ] {
        // Warm up, and prove it verifies.
        verify_bundle(&Bundle::parse(json).unwrap(), Subject::Bytes(&artifact), trust).unwrap();
        let started = Instant::now();
        for _ in 0..iterations {
            let bundle = Bundle::parse(json).unwrap();
            verify_bundle(&bundle, Subject::Bytes(&artifact), trust).unwrap();
        }
        let per = started.elapsed().as_secs_f64() * 1e3 / f64::from(iterations);
        println!("pare {name}: {per:.3} ms per verification ({iterations} runs)");
    }
    println!("pare trusted root parse (once): {root_ms:.3} ms");
    std::fs::write(std::env::temp_dir().join("pare-bench-key.pub"), key.public_key().to_pem()).unwrap();
    std::fs::write(std::env::temp_dir().join("pare-bench-key-bundle.json"), &key_json).unwrap();
}
