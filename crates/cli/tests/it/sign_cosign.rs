//! `pare sign`, `pare attest`, `pare verify`, `pare verify-attestation` with cosign keys: both
//! forms (Sigstore bundle referrer, legacy `sha256-<hex>.sig`/`.att` tags) in layouts (offline)
//! and in a real registry (Debian's docker-registry: no referrers API, so the tag fallback), what
//! `pare copy --referrers` carries, re-signing, and each reason a verification fails for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pare_oci::referrers::{Artifact, ReferrerStore};
use pare_test::Pare;
use pare_test::registry::TestRegistry;
use pare_test::tools::{fixtures, require, run_ok};
use serde_json::Value;

const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Two key pairs: A, cosign's own encrypted key (password empty, as `cosign generate-key-pair`
/// made it), and B, a plain PKCS#8 P-256 key made by openssl.
struct Keys {
    a: PathBuf,
    a_pub: PathBuf,
    b: PathBuf,
    b_pub: PathBuf,
}

impl Keys {
    fn new(dir: &Path) -> Keys {
        let cosign = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sign/tests/fixtures/keys/sigstore-rs_cosign_generated_encrypted_empty_private.key");
        let a = dir.join("a.key");
        std::fs::copy(&cosign, &a).unwrap();
        let public = pare_sign::SigningKey::from_pem(&std::fs::read(&a).unwrap(), Some(b"")).unwrap().public_key();
        let a_pub = dir.join("a.pub");
        std::fs::write(&a_pub, public.to_pem()).unwrap();
        let openssl = require("openssl");
        let b = dir.join("b.key");
        run_ok(
            Command::new(&openssl)
                .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
                .arg(&b),
        );
        let b_pub = dir.join("b.pub");
        run_ok(Command::new(&openssl).args(["pkey", "-pubout", "-in"]).arg(&b).arg("-out").arg(&b_pub));
        Keys { a, a_pub, b, b_pub }
    }
}

struct Fixture {
    pare: Pare,
    tmp: tempfile::TempDir,
    keys: Keys,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let keys = Keys::new(tmp.path());
        Fixture { pare: Pare::new(crate::PARE).source_date_epoch("1700000000"), tmp, keys }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// A one-layer image from a fixture directory (`extra` adds a file, for a different digest).
    fn image(&self, to: &str, extra: Option<&str>) -> String {
        let rootfs = self.path(&format!("rootfs-{}", extra.unwrap_or("plain")));
        if !rootfs.exists() {
            copy_dir(&fixtures().join("hello-rootfs"), &rootfs);
            if let Some(content) = extra {
                std::fs::write(rootfs.join("extra.txt"), content).unwrap();
            }
        }
        stdout(&run_ok(self.pare.cmd().arg("copy").arg(format!("dir:{}", rootfs.display())).arg(to)))
    }

    fn sign(&self, image: &str, key: &Path, extra: &[&str]) -> Output {
        run_ok(self.pare.cmd().env("COSIGN_PASSWORD", "").arg("sign").arg(image).arg("--key").arg(key).args(extra))
    }

    fn verify(&self, image: &str, public: &Path, extra: &[&str]) -> Output {
        self.pare.cmd().args(["verify", image, "--key"]).arg(public).args(extra).output().unwrap()
    }

    fn verify_json(&self, image: &str, public: &Path) -> (Option<i32>, Value) {
        let out = self.verify(image, public, &["--format", "json"]);
        (out.status.code(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
    }
}

fn copy_dir(from: &Path, to: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

fn formats(report: &Value) -> Vec<String> {
    let mut f: Vec<String> =
        report["verified"].as_array().unwrap().iter().map(|v| v["format"].as_str().unwrap().to_string()).collect();
    f.sort();
    f
}

fn index(layout: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap()
}

/// The layers of the manifest the layout's `index.json` names `tag`.
fn tagged_layers(layout: &Path, tag: &str) -> Vec<Value> {
    let index = index(layout);
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no `{tag}` in {index}"));
    let manifest = blob(layout, entry["digest"].as_str().unwrap());
    serde_json::from_slice::<Value>(&manifest).unwrap()["layers"].as_array().unwrap().clone()
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(blob_path(layout, digest)).unwrap()
}

fn sig_tag(digest: &str, suffix: &str) -> String {
    format!("{}.{suffix}", digest.replace(':', "-"))
}

/// Bundle referrers of `digest` in a layout: (descriptor in index.json, manifest).
fn bundles(layout: &Path, digest: &str) -> Vec<(Value, Value)> {
    index(layout)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == BUNDLE)
        .map(|m| (m.clone(), serde_json::from_slice::<Value>(&blob(layout, m["digest"].as_str().unwrap())).unwrap()))
        .filter(|(_, manifest)| manifest["subject"]["digest"] == digest)
        .collect()
}

#[test]
fn sign_a_layout_offline_both_forms_resign_and_another_key() {
    let f = Fixture::new();
    let layout = f.path("layout");
    let image = format!("oci:{}:hello", layout.display());
    let digest = f.image(&image, None);

    let out = f.sign(&image, &f.keys.a, &["--annotation", "team=blue"]);
    let said = stdout(&out);
    assert!(said.contains("bundle sha256:") && said.contains(&format!("legacy {}", sig_tag(&digest, "sig"))), "{said}");
    assert!(said.matches("written").count() == 2, "{said}");

    // The bundle referrer is cosign 3's: empty config, artifactType, one bundle layer, annotations.
    let found = bundles(&layout, &digest);
    assert_eq!(found.len(), 1);
    let manifest = &found[0].1;
    assert_eq!(manifest["artifactType"], BUNDLE);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    assert_eq!(manifest["config"]["size"], 2);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], BUNDLE);
    assert_eq!(manifest["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope");
    assert_eq!(manifest["annotations"]["dev.sigstore.bundle.predicateType"], "https://sigstore.dev/cosign/sign/v1");
    // SOURCE_DATE_EPOCH=1700000000
    assert_eq!(manifest["annotations"]["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
    // The legacy tag: one simple-signing layer with its signature annotation.
    let layers = tagged_layers(&layout, &sig_tag(&digest, "sig"));
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    assert!(layers[0]["annotations"]["dev.cosignproject.cosign/signature"].as_str().is_some_and(|s| !s.is_empty()));
    let payload: Value = serde_json::from_slice(&blob(&layout, layers[0]["digest"].as_str().unwrap())).unwrap();
    assert_eq!(payload["critical"]["type"], "cosign container image signature");
    assert_eq!(payload["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    assert_eq!(payload["optional"]["team"], "blue");

    // Verifies in both forms, with what was signed.
    let (code, report) = f.verify_json(&image, &f.keys.a_pub);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(formats(&report), ["bundle", "legacy"]);
    assert!(report["verified"].as_array().unwrap().iter().all(|v| v["annotations"]["team"] == "blue"), "{report}");
    let table = text(&f.verify(&image, &f.keys.a_pub, &[]));
    assert!(table.contains(&format!("Verified {digest} (bundle)")) && table.contains("team: blue"), "{table}");

    // The layout still has one image: signatures are neither its image nor in the way.
    let inspect = run_ok(f.pare.cmd().args(["inspect", "--format", "json"]).arg(format!("oci:{}", layout.display())));
    assert!(stdout(&inspect).contains(&digest));

    // Signing again adds nothing.
    let entries = index(&layout)["manifests"].as_array().unwrap().len();
    let again = stdout(&f.sign(&image, &f.keys.a, &["--annotation", "team=blue"]));
    assert_eq!(again.matches("present").count(), 2, "{again}");
    assert_eq!(index(&layout)["manifests"].as_array().unwrap().len(), entries);
    assert_eq!(tagged_layers(&layout, &sig_tag(&digest, "sig")).len(), 1);

    // Another key adds its signature beside; either key verifies.
    f.sign(&image, &f.keys.b, &[]);
    assert_eq!(tagged_layers(&layout, &sig_tag(&digest, "sig")).len(), 2);
    assert_eq!(bundles(&layout, &digest).len(), 2);
    for public in [&f.keys.a_pub, &f.keys.b_pub] {
        let (code, report) = f.verify_json(&image, public);
        assert_eq!(code, Some(0));
        assert_eq!(formats(&report), ["bundle", "legacy"]);
        // The other key's signatures are reported, refused as another key's.
        assert!(report["refused"].as_array().unwrap().iter().all(|r| r["reason"] == "other-key"), "{report}");
    }

    // One form at a time.
    let only = f.path("only");
    for (format, expected) in [("bundle", "bundle"), ("legacy", "legacy")] {
        let image = format!("oci:{}:{format}", only.display());
        f.image(&image, Some(format));
        f.sign(&image, &f.keys.a, &["--format", format]);
        let (code, report) = f.verify_json(&image, &f.keys.a_pub);
        assert_eq!(code, Some(0));
        assert_eq!(formats(&report), [expected]);
    }
}

#[test]
fn registry_round_trip_and_copies_still_verify() {
    let registry = TestRegistry::start();
    let f = Fixture::new();
    let reference = format!("{}/team/hello:1.0", registry.host());
    let digest = f.image(&reference, None);
    f.sign(&reference, &f.keys.a, &[]);
    let (code, report) = f.verify_json(&reference, &f.keys.a_pub);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(formats(&report), ["bundle", "legacy"]);
    // The legacy payload claims the repository, as cosign writes it.
    let legacy = report["verified"].as_array().unwrap().iter().find(|v| v["format"] == "legacy").unwrap();
    assert_eq!(legacy["docker_reference"], format!("{}/team/hello", registry.host()));
    // Re-signing a registry image adds nothing either.
    let again = stdout(&f.sign(&reference, &f.keys.a, &[]));
    assert_eq!(again.matches("present").count(), 2, "{again}");

    // registry → another repository → layout → registry: each copy verifies, offline for the layout.
    let other = format!("{}/mirror/hello:1.0", registry.host());
    let out = run_ok(f.pare.cmd().args(["copy", "--referrers", &reference, &other]));
    assert!(text(&out).contains("Copied 2 referrers"), "{}", text(&out));
    let layout = format!("oci:{}:hello", f.path("mirror").display());
    let back = format!("{}/back/hello:2", registry.host());
    run_ok(f.pare.cmd().args(["copy", "--referrers", &other, &layout]));
    run_ok(f.pare.cmd().args(["copy", "--signatures", &layout, &back]));
    for image in [&other, &layout, &back] {
        let (code, report) = f.verify_json(image, &f.keys.a_pub);
        assert_eq!(code, Some(0), "{image}: {report}");
        assert_eq!(formats(&report), ["bundle", "legacy"], "{image}");
        assert_eq!(report["digest"], digest.as_str());
    }
    // Without --referrers the image travels alone, unsigned.
    let bare = format!("{}/bare/hello:1.0", registry.host());
    run_ok(f.pare.cmd().args(["copy", &reference, &bare]));
    let out = f.verify(&bare, &f.keys.a_pub, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no signature"), "{}", text(&out));
}

#[test]
fn attest_and_verify_attestations() {
    let registry = TestRegistry::start();
    let f = Fixture::new();
    let predicate = f.path("sbom.spdx.json");
    std::fs::write(&predicate, br#"{"spdxVersion":"SPDX-2.3","name":"hello"}"#).unwrap();
    for image in [format!("oci:{}:hello", f.path("layout").display()), format!("{}/team/att:1", registry.host())] {
        let digest = f.image(&image, None);
        let out = run_ok(
            f.pare
                .cmd()
                .env("COSIGN_PASSWORD", "")
                .args(["attest", &image, "--type", "spdx", "--predicate"])
                .arg(&predicate)
                .arg("--key")
                .arg(&f.keys.a),
        );
        assert!(stdout(&out).contains(&sig_tag(&digest, "att")), "{}", text(&out));
        let verify = |kind: &str, public: &Path| {
            f.pare
                .cmd()
                .args(["verify-attestation", &image, "--type", kind, "--format", "json", "--key"])
                .arg(public)
                .output()
                .unwrap()
        };
        let out = verify("spdx", &f.keys.a_pub);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(formats(&report), ["bundle", "legacy"]);
        assert!(
            report["verified"].as_array().unwrap().iter().all(|v| v["predicate_type"] == "https://spdx.dev/Document")
        );
        // Another type: none; another key: refused; an attestation is not a signature.
        let out = verify("cyclonedx", &f.keys.a_pub);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("no-signature"), "{}", text(&out));
        let out = verify("spdx", &f.keys.b_pub);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("other-key"), "{}", text(&out));
        assert_eq!(f.verify(&image, &f.keys.a_pub, &[]).status.code(), Some(1));
    }
}

/// Each reason verification fails for, in a layout an attacker can write to.
#[test]
fn each_refusal_names_its_reason() {
    let f = Fixture::new();
    let layout = f.path("layout");
    let signed = format!("oci:{}:signed", layout.display());
    let digest = f.image(&signed, None);
    let other = format!("oci:{}:other", layout.display());
    let other_digest = f.image(&other, Some("other"));
    assert_ne!(digest, other_digest);
    let refusal = |image: &str, public: &Path| {
        let out = f.verify(image, public, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        text(&out)
    };

    // No signature.
    let said = refusal(&other, &f.keys.a_pub);
    assert!(said.contains("no signature"), "{said}");

    f.sign(&signed, &f.keys.a, &[]);
    // Signed by another key: both forms say so.
    let said = refusal(&signed, &f.keys.b_pub);
    assert_eq!(said.matches("signed by another key").count(), 2, "{said}");

    // Payload for another digest: the signature of `signed` replayed for `other`.
    let store = ReferrerStore::Layout(layout.clone());
    let sig = store.get_tag(&sig_tag(&digest, "sig")).unwrap().unwrap();
    let entry: Value = serde_json::to_value(&sig.0).unwrap();
    let mut index = index(&layout);
    let mut replayed = entry.clone();
    replayed["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": sig_tag(&other_digest, "sig")});
    index["manifests"].as_array_mut().unwrap().push(replayed);
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let (bundle_entry, bundle_manifest) = bundles(&layout, &digest).remove(0);
    let bundle_layer = blob(&layout, bundle_manifest["layers"][0]["digest"].as_str().unwrap());
    let other_subject = store_subject(&layout, &other_digest);
    store
        .attach(&Artifact::new(BUNDLE, &other_subject).with_layer(BUNDLE, bundle_layer.clone(), BTreeMap::new()))
        .unwrap();
    let said = refusal(&other, &f.keys.a_pub);
    assert_eq!(said.matches("payload for another digest").count(), 2, "{said}");

    // A tampered legacy payload (its blob rewritten in place).
    let layers = tagged_layers(&layout, &sig_tag(&digest, "sig"));
    let payload = blob_path(&layout, layers[0]["digest"].as_str().unwrap());
    let original = std::fs::read(&payload).unwrap();
    let saved_index = std::fs::read(layout.join("index.json")).unwrap();
    // With the right key, and the bundle out of the way so that only the legacy form speaks.
    remove_entry(&layout, bundle_entry["digest"].as_str().unwrap());
    std::fs::write(
        &payload,
        String::from_utf8(original.clone()).unwrap().replace("cosign container", "cosign-container"),
    )
    .unwrap();
    let said = refusal(&signed, &f.keys.a_pub);
    assert!(said.contains("legacy") && said.contains("tampered"), "{said}");
    std::fs::write(&payload, &original).unwrap();
    std::fs::write(layout.join("index.json"), saved_index).unwrap();
    assert_eq!(f.verify(&signed, &f.keys.a_pub, &[]).status.code(), Some(0));

    // A tampered envelope: the statement changed, re-attached as a new referrer, the old one gone.
    let mut bundle: Value = serde_json::from_slice(&bundle_layer).unwrap();
    let statement = String::from_utf8(base64_decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())).unwrap();
    let forged = statement.replace("\"predicate\":{}", "\"predicate\":{\"forged\":true}");
    assert_ne!(forged, statement);
    bundle["dsseEnvelope"]["payload"] = Value::from(base64_encode(forged.as_bytes()));
    let signed_subject = store_subject(&layout, &digest);
    remove_entry(&layout, bundle_entry["digest"].as_str().unwrap());
    store
        .attach(
            &Artifact::new(BUNDLE, &signed_subject)
                .with_layer(BUNDLE, serde_json::to_vec(&bundle).unwrap(), BTreeMap::new())
                .with_annotation("dev.sigstore.bundle.predicateType", "https://sigstore.dev/cosign/sign/v1"),
        )
        .unwrap();
    // The legacy signature is removed too, so that only the bundle speaks.
    remove_named(&layout, &sig_tag(&digest, "sig"));
    let said = refusal(&signed, &f.keys.a_pub);
    assert!(said.contains("bundle") && said.contains("tampered"), "{said}");

    // A malformed bundle.
    let third = format!("oci:{}:third", layout.display());
    let third_digest = f.image(&third, Some("third"));
    store
        .attach(&Artifact::new(BUNDLE, &store_subject(&layout, &third_digest)).with_layer(
            BUNDLE,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#.to_vec(),
            BTreeMap::new(),
        ))
        .unwrap();
    let said = refusal(&third, &f.keys.a_pub);
    assert!(said.contains("malformed"), "{said}");
}

fn store_subject(layout: &Path, digest: &str) -> pare_oci::Descriptor {
    let index = index(layout);
    let entry = index["manifests"].as_array().unwrap().iter().find(|m| m["digest"] == digest).unwrap().clone();
    serde_json::from_value(entry).unwrap()
}

fn remove_entry(layout: &Path, digest: &str) {
    let mut index = index(layout);
    index["manifests"].as_array_mut().unwrap().retain(|m| m["digest"] != digest);
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

fn remove_named(layout: &Path, name: &str) {
    let mut index = index(layout);
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["annotations"]["org.opencontainers.image.ref.name"] != name);
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// pare's signatures checked by a verifier written from the specs with another crypto library
/// (pyca/cryptography on OpenSSL, in the venv `scripts/system-deps.sh` makes): it accepts them
/// with the signer's key and refuses them with another.
#[test]
fn an_independent_verifier_accepts_both_forms() {
    let python = pare_test::tools::venv_tool("venv-crypto", "python");
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-check/check.py");
    let f = Fixture::new();
    let layout = f.path("layout");
    let image = format!("oci:{}:hello", layout.display());
    let digest = f.image(&image, None);
    f.sign(&image, &f.keys.a, &["--annotation", "team=blue"]);
    let run = |public: &Path| Command::new(&python).arg(&check).arg(&layout).arg(&digest).arg(public).output().unwrap();
    let out = run(&f.keys.a_pub);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&out), "legacy 1 bundle 1");
    let out = run(&f.keys.b_pub);
    assert!(!out.status.success(), "{}", text(&out));
}

/// Signed annotations are data: a line break in one cannot forge a "Verified" line.
#[test]
fn annotations_cannot_forge_lines() {
    let f = Fixture::new();
    let image = format!("oci:{}:hello", f.path("layout").display());
    f.image(&image, None);
    f.sign(&image, &f.keys.a, &["--annotation", "note=x\nVerified sha256:forged (bundle)"]);
    let out = f.verify(&image, &f.keys.a_pub, &[]);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out);
    assert!(!shown.lines().any(|l| l.starts_with("Verified sha256:forged")), "{shown}");
    assert!(shown.contains("note: x\\nVerified sha256:forged"), "{shown}");
}

/// Signed offline in a layout, carried to a registry and on to another layout: each stop verifies,
/// and the last one passes the independent verifier too.
#[test]
fn layout_to_registry_to_layout_still_verifies() {
    let python = pare_test::tools::venv_tool("venv-crypto", "python");
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-check/check.py");
    let registry = TestRegistry::start();
    let f = Fixture::new();
    let first = format!("oci:{}:hello", f.path("first").display());
    let digest = f.image(&first, None);
    f.sign(&first, &f.keys.a, &[]);
    let reference = format!("{}/carried/hello:1", registry.host());
    let last_dir = f.path("last");
    let last = format!("oci:{}:hello", last_dir.display());
    run_ok(f.pare.cmd().args(["copy", "--signatures", &first, &reference]));
    run_ok(f.pare.cmd().args(["copy", "--signatures", &reference, &last]));
    for image in [&first, &reference, &last] {
        let (code, report) = f.verify_json(image, &f.keys.a_pub);
        assert_eq!(code, Some(0), "{image}: {report}");
        assert_eq!(formats(&report), ["bundle", "legacy"], "{image}");
    }
    let out = Command::new(&python).arg(&check).arg(&last_dir).arg(&digest).arg(&f.keys.a_pub).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout(&out), "legacy 1 bundle 1");
}

/// A `.sig` tag holding something else is a refusal beside the bundle that verifies, not an error.
#[test]
fn a_broken_sig_tag_does_not_hide_a_good_bundle() {
    let f = Fixture::new();
    let layout = f.path("layout");
    let image = format!("oci:{}:hello", layout.display());
    let digest = f.image(&image, None);
    f.sign(&image, &f.keys.a, &["--format", "bundle"]);
    let store = ReferrerStore::Layout(layout.clone());
    let garbage = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":"not a list"}"#;
    store.put_tag(&sig_tag(&digest, "sig"), garbage, &[]).unwrap();
    let (code, report) = f.verify_json(&image, &f.keys.a_pub);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(formats(&report), ["bundle"]);
    assert_eq!(report["refused"][0]["reason"], "malformed", "{report}");
}

/// A multi-platform index: `pare sign` signs the index (as cosign does); `--recursive` each image too.
#[test]
fn an_index_and_its_images_with_recursive() {
    let f = Fixture::new();
    let layout = f.path("layout");
    let amd64 = f.image(&format!("oci:{}:amd64", layout.display()), None);
    let arm64 = f.image(&format!("oci:{}:arm64", layout.display()), Some("arm64"));
    let mut index_json = index(&layout);
    let entry = |digest: &str, arch: &str| {
        let found = index_json["manifests"].as_array().unwrap().iter().find(|m| m["digest"] == digest).unwrap().clone();
        serde_json::json!({"mediaType": found["mediaType"], "digest": digest, "size": found["size"],
            "platform": {"architecture": arch, "os": "linux"}})
    };
    let bytes = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&amd64, "amd64"), entry(&arm64, "arm64")],
    }))
    .unwrap();
    let digest = pare_oci::sha256(&bytes).to_string();
    std::fs::write(blob_path(&layout, &digest), &bytes).unwrap();
    index_json["manifests"].as_array_mut().unwrap().push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": bytes.len(),
        "annotations": {"org.opencontainers.image.ref.name": "multi"},
    }));
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index_json).unwrap()).unwrap();
    let image = |name: &str| format!("oci:{}:{name}", layout.display());

    f.sign(&image("multi"), &f.keys.a, &[]);
    assert_eq!(f.verify_json(&image("multi"), &f.keys.a_pub).0, Some(0));
    assert_eq!(f.verify_json(&image("amd64"), &f.keys.a_pub).0, Some(1));
    let out = f.sign(&image("multi"), &f.keys.a, &["--recursive"]);
    assert_eq!(stdout(&out).lines().count(), 6, "{}", text(&out));
    for name in ["multi", "amd64", "arm64"] {
        let (code, report) = f.verify_json(&image(name), &f.keys.a_pub);
        assert_eq!(code, Some(0), "{name}: {report}");
        assert_eq!(formats(&report), ["bundle", "legacy"], "{name}");
    }
}
