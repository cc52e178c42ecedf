//! The sigstore-conformance bundle cases through the library (the CLI test runs them through
//! `pare verify-blob`); how a case is read is in `fixtures/sigstore-conformance/SOURCE.md`.

use pare_sign::{Bundle, PublicKey, Subject, Trust, TrustedRoot, verify_bundle};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

#[test]
fn every_case_agrees() {
    let base = crate::fixtures().join("sigstore-conformance");
    let cases = base.join("bundle-verify");
    let mut names: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 70, "the suite has 70 cases");
    let mut disagree = Vec::new();
    for name in &names {
        let dir = cases.join(name);
        let artifact =
            std::fs::read(dir.join("artifact")).unwrap_or_else(|_| std::fs::read(cases.join("a.txt")).unwrap());
        let root = std::fs::read(dir.join("trusted_root.json"))
            .unwrap_or_else(|_| std::fs::read(base.join("trusted_root.production.json")).unwrap());
        let result = (|| {
            let bundle = Bundle::parse(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap())?;
            let trusted_root = TrustedRoot::from_json(&root)?;
            let trust = match std::fs::read(dir.join("key.pub")) {
                Ok(pem) => Trust::KeyAndRoot { key: PublicKey::from_pem(&pem)?, trusted_root },
                Err(_) => Trust::Identity {
                    identity: std::fs::read_to_string(dir.join("identity"))
                        .map_or_else(|_| DEFAULT_IDENTITY.to_owned(), |s| s.trim().to_owned()),
                    issuer: std::fs::read_to_string(dir.join("issuer"))
                        .map_or_else(|_| DEFAULT_ISSUER.to_owned(), |s| s.trim().to_owned()),
                    trusted_root,
                },
            };
            verify_bundle(&bundle, Subject::Bytes(&artifact), &trust)
        })();
        if result.is_ok() == name.ends_with("_fail") {
            disagree.push(format!("{name}: {result:?}"));
        }
    }
    assert!(disagree.is_empty(), "cases that disagree:\n{}", disagree.join("\n"));
}
