//! `pare build --sign --key K`: each platform image signed, its SBOM and a SLSA v1 provenance
//! attested, into a layout and a real registry; packages from a signed test repository on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb, control};
use pare_test::Pare;
use pare_test::registry::TestRegistry;
use pare_test::tools::{require, run_err, run_ok};
use serde_json::Value;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

struct Fixture {
    dir: tempfile::TempDir,
    pare: Pare,
    _server: FileServer,
    definition: PathBuf,
    key: PathBuf,
    public: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo_key = TestKey::generate(31, "pare sign tests <test@example.invalid>").unwrap();
        std::fs::write(dir.path().join("test.gpg"), repo_key.public_keyring().unwrap()).unwrap();
        let repo = dir.path().join("repo");
        let mut builder = RepoBuilder::new(&repo, "stable", "amd64");
        let c = control("app", "2.0-1", "amd64", "", None);
        let deb = build_deb(&c, &[], &[("usr/bin/app", &b"#!app\n"[..], 0o755)], Compression::Gzip).unwrap();
        builder.add(&c, &deb).unwrap();
        builder.write(&repo_key).unwrap();
        let server = FileServer::start(&repo).unwrap();
        let pare = Pare::new(crate::PARE).with_cache(dir.path().join("cache")).source_date_epoch("1700000000");
        let definition = dir.path().join("app.toml");
        std::fs::write(
            &definition,
            format!(
                "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\npackages = [\"app\"]\n",
                server.url()
            ),
        )
        .unwrap();
        run_ok(pare.cmd().arg("lock").arg(&definition));
        let openssl = require("openssl");
        let key = dir.path().join("cosign.key");
        run_ok(
            Command::new(&openssl)
                .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
                .arg(&key),
        );
        let public = dir.path().join("cosign.pub");
        run_ok(Command::new(&openssl).args(["pkey", "-pubout", "-in"]).arg(&key).arg("-out").arg(&public));
        Fixture { dir, pare, _server: server, definition, key, public }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn build_signed(&self, to: &str) -> Value {
        let out = run_ok(
            self.pare
                .cmd()
                .arg("build")
                .arg(&self.definition)
                .args(["--to", to, "--format", "json", "--sign", "--key"])
                .arg(&self.key),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn verify_attestation(&self, image: &str, kind: &str) -> Value {
        let out = run_ok(
            self.pare
                .cmd()
                .args(["verify-attestation", image, "--type", kind, "--format", "json", "--key"])
                .arg(&self.public),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The predicate of the legacy `.att` layer of `digest` with this predicate type, read from a layout.
fn attested_predicate(layout: &Path, digest: &str, predicate_type: &str) -> Value {
    use base64::Engine;
    let store = pare_oci::referrers::ReferrerStore::Layout(layout.to_path_buf());
    let tag = format!("{}.att", digest.replace(':', "-"));
    let (_, manifest) = store.get_tag(&tag).unwrap().unwrap();
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        if layer["annotations"]["predicateType"] != predicate_type {
            continue;
        }
        let desc: pare_oci::Descriptor = serde_json::from_value(layer.clone()).unwrap();
        let envelope: Value = serde_json::from_slice(&store.read_blob(&desc, 1 << 20).unwrap()).unwrap();
        let payload = base64::engine::general_purpose::STANDARD.decode(envelope["payload"].as_str().unwrap()).unwrap();
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.trim_start_matches("sha256:"));
        return statement["predicate"].clone();
    }
    panic!("no {predicate_type} attestation in {tag}");
}

#[test]
fn build_sign_signs_and_attests_sbom_and_provenance() {
    let f = Fixture::new();
    let lock = pare_build::Lock::read(&f.path("app.lock")).unwrap();
    let package = &lock.packages("amd64").unwrap()[0];

    // Into a layout, offline from the registry's point of view.
    let layout = f.path("out");
    let image = format!("oci:{}:app", layout.display());
    let report = f.build_signed(&image);
    let digest = report["digest"].as_str().unwrap().to_string();
    let what: Vec<&str> =
        report["signatures"].as_array().unwrap().iter().map(|s| s["what"].as_str().unwrap()).collect();
    assert_eq!(what.iter().filter(|w| **w == "signature").count(), 2, "{report}");
    assert_eq!(what.iter().filter(|w| **w == "SBOM attestation").count(), 2, "{report}");
    assert_eq!(what.iter().filter(|w| **w == "provenance attestation").count(), 2, "{report}");
    let verified = run_ok(f.pare.cmd().args(["verify", &image, "--key"]).arg(&f.public));
    assert!(text(&verified).contains(&format!("Verified {digest} (bundle)")), "{}", text(&verified));
    let sbom = f.verify_attestation(&image, "spdx");
    assert_eq!(sbom["verified"].as_array().unwrap().len(), 2);
    let provenance = f.verify_attestation(&image, "slsaprovenance");
    assert_eq!(provenance["verified"].as_array().unwrap().len(), 2);

    // What the provenance says.
    let predicate = attested_predicate(&layout, &digest, "https://slsa.dev/provenance/v1");
    let definition = &predicate["buildDefinition"];
    assert_eq!(definition["internalParameters"]["SOURCE_DATE_EPOCH"], 1_700_000_000);
    assert_eq!(predicate["runDetails"]["builder"]["version"]["pare"], env!("CARGO_PKG_VERSION"));
    let dependencies = definition["resolvedDependencies"].as_array().unwrap();
    let sha256 = |bytes: &[u8]| pare_oci::sha256(bytes).digest().to_string();
    assert_eq!(dependencies[0]["name"], "definition");
    assert_eq!(dependencies[0]["digest"]["sha256"], sha256(&std::fs::read(&f.definition).unwrap()));
    assert_eq!(dependencies[1]["name"], "lock");
    assert_eq!(dependencies[1]["digest"]["sha256"], sha256(&std::fs::read(f.path("app.lock")).unwrap()));
    assert!(
        dependencies
            .iter()
            .any(|d| d["uri"] == package.url.as_str() && d["digest"]["sha256"] == package.sha256.as_str()),
        "{predicate}"
    );
    // The SBOM attested is the SPDX document of the image.
    let spdx = attested_predicate(&layout, &digest, "https://spdx.dev/Document");
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");

    // Into a registry: the same, verified there.
    let registry = TestRegistry::start();
    let reference = format!("{}/team/app:1", registry.host());
    let report = f.build_signed(&reference);
    assert_eq!(report["digest"], digest.as_str(), "the same build, the same digest");
    run_ok(f.pare.cmd().args(["verify", &reference, "--key"]).arg(&f.public));
    assert_eq!(f.verify_attestation(&reference, "slsaprovenance")["verified"].as_array().unwrap().len(), 2);

    // An archive cannot hold signatures: refused before building.
    let archive = f.path("app.tar");
    let out = run_err(
        f.pare
            .cmd()
            .arg("build")
            .arg(&f.definition)
            .arg("--to")
            .arg(format!("oci-archive:{}", archive.display()))
            .arg("--sign")
            .arg("--key")
            .arg(&f.key),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot hold signatures"), "{}", text(&out));
    assert!(!archive.exists());
}
