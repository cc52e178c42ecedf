//! Bytes → pare-sign's bundle parser, then verification with a fixed key and keyless against
//! Sigstore public-good's root. Errors are fine; any panic is a bug.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pare_sign::{Bundle, SigningKey, Subject, Trust, TrustedRoot, verify_bundle};

fn trusts() -> &'static [Trust; 3] {
    static TRUSTS: OnceLock<[Trust; 3]> = OnceLock::new();
    TRUSTS.get_or_init(|| {
        let root = TrustedRoot::public_good().expect("embedded root");
        let key = SigningKey::generate_p256().public_key();
        [
            Trust::Key(key.clone()),
            Trust::KeyAndRoot { key, trusted_root: root.clone() },
            Trust::Identity {
                identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
                issuer: "https://token.actions.githubusercontent.com".into(),
                trusted_root: root,
            },
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::parse(data) else { return };
    // What parse accepted writes back and parses again.
    let again = Bundle::parse(&bundle.to_json()).expect("a parsed bundle reparses");
    assert_eq!(again, bundle);
    for trust in trusts() {
        let _ = verify_bundle(&bundle, Subject::Bytes(b"hello, world!\n"), trust);
        let _ = verify_bundle(&bundle, Subject::Sha256([0x5a; 32]), trust);
    }
});
