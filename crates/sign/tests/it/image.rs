//! `image::verify` with a keyless bundle: the conformance suite's in-toto-in-DSSE case (a Fulcio
//! certificate, a Rekor entry) attached as a referrer in an OCI layout to the digest its statement
//! names, verified through the referrer with the public-good trusted root; another identity refused.

use pare_oci::Descriptor;
use pare_oci::referrers::{Artifact, ReferrerStore};
use pare_sign::image::{Expect, Reason, verify};
use pare_sign::{BUNDLE_MEDIA_TYPE_V03, Trust, TrustedRoot};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const SLSA: &str = "https://slsa.dev/provenance/v1";

#[test]
fn a_keyless_bundle_attached_to_an_image_verifies_by_identity() {
    let base = crate::fixtures().join("sigstore-conformance");
    let artifact = std::fs::read(base.join("a.txt")).unwrap();
    let bundle = std::fs::read(base.join("bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json")).unwrap();
    let root = TrustedRoot::from_json(&std::fs::read(base.join("trusted_root.production.json")).unwrap()).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(layout.join("index.json"), r#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
    let store = ReferrerStore::Layout(layout);
    // The statement's subject (a.txt) stands for the image: verification goes by digest.
    let digest = pare_oci::sha256(&artifact);
    let subject = Descriptor::new(pare_oci::media_types::OCI_MANIFEST.into(), artifact.len() as u64, digest.clone());
    store
        .attach(
            &Artifact::new(BUNDLE_MEDIA_TYPE_V03, &subject)
                .with_layer(BUNDLE_MEDIA_TYPE_V03, bundle, Default::default())
                .with_annotation("dev.sigstore.bundle.content", "dsse-envelope")
                .with_annotation("dev.sigstore.bundle.predicateType", SLSA),
        )
        .unwrap();

    let trust = |identity: &str| Trust::Identity {
        identity: identity.to_owned(),
        issuer: ISSUER.to_owned(),
        trusted_root: root.clone(),
    };
    let expect = Expect::Attestation(SLSA.to_owned());
    let outcome = verify(&store, &digest, &trust(IDENTITY), &expect).unwrap();
    assert!(outcome.ok(), "{outcome:?}");
    assert_eq!(outcome.verified[0].format, "bundle");
    assert!(outcome.verified[0].signer.contains(IDENTITY), "{outcome:?}");
    assert_eq!(outcome.verified[0].predicate_type.as_deref(), Some(SLSA));

    let outcome = verify(&store, &digest, &trust("https://example.invalid/someone-else"), &expect).unwrap();
    assert!(!outcome.ok());
    assert!(
        matches!(&outcome.refused[0].reason, Reason::Rejected { detail } if detail.contains("identity")),
        "{outcome:?}"
    );
    // It is an attestation, not an image signature.
    let outcome = verify(&store, &digest, &trust(IDENTITY), &Expect::Signature).unwrap();
    assert!(matches!(outcome.refused[0].reason, Reason::NoSignature), "{outcome:?}");
}
