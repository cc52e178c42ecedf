//! The build-time SBOM: `pare build --sbom`, the SBOM attached as an OCI 1.1 referrer to layouts
//! and to a real registry (Debian's docker-registry 2.8: the `sha256-<hex>` fallback tag), and
//! `pare sbom --attached`. Packages come from a signed test repository on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use pare_test::Pare;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb, control};
use pare_test::registry::TestRegistry;
use pare_test::tools::{require, run_err, run_ok};
use serde_json::Value;

const EMPTY_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A signed repository with an application, its library (another source package, an epoch) and
/// architecture-independent data; a definition of it, locked.
struct Fixture {
    dir: tempfile::TempDir,
    pare: Pare,
    server: FileServer,
    definition: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = TestKey::generate(23, "pare sbom tests <test@example.invalid>").unwrap();
        std::fs::write(dir.path().join("test.gpg"), key.public_keyring().unwrap()).unwrap();
        let repo = dir.path().join("repo");
        let mut builder = RepoBuilder::new(&repo, "stable", "amd64");
        let packages = [
            (
                control("app", "2.0-1", "amd64", "libapp1 (>= 1.0), app-data", None),
                vec![("usr/bin/app", &b"#!app\n"[..], 0o755)],
            ),
            (
                control("libapp1", "1:1.4-2+b1", "amd64", "", Some("libapp (1:1.4-2)")),
                vec![("usr/lib/x86_64-linux-gnu/libapp.so.1", &b"\x7fELF"[..], 0o644)],
            ),
            (
                control("app-data", "2.0-1", "all", "", Some("app")),
                vec![("usr/share/app/data.txt", &b"data\n"[..], 0o644)],
            ),
        ];
        for (c, files) in &packages {
            let deb = build_deb(c, &[], files, Compression::Gzip).unwrap();
            builder.add(c, &deb).unwrap();
        }
        builder.write(&key).unwrap();
        let server = FileServer::start(&repo).unwrap();
        let pare = Pare::new(crate::PARE).with_cache(dir.path().join("cache")).source_date_epoch("1700000000");
        let mut fixture = Fixture { dir, pare, server, definition: PathBuf::new() };
        fixture.definition = fixture.define("app.toml", "packages = [\"app\"]\n");
        fixture
    }

    /// Writes a definition for the test repository, locks it and returns its path.
    fn define(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.path(name);
        let text = format!(
            "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\n{extra}",
            self.server.url()
        );
        std::fs::write(&path, text).unwrap();
        run_ok(self.pare.cmd().arg("lock").arg(&path));
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `pare build` in `dir` (created), with `args` after the definition.
    fn build(&self, dir: &str, args: &[&str]) -> Output {
        self.build_def(&self.definition, dir, args)
    }

    fn build_def(&self, definition: &Path, dir: &str, args: &[&str]) -> Output {
        let cwd = self.path(dir);
        std::fs::create_dir_all(&cwd).unwrap();
        run_ok(self.pare.cmd().current_dir(&cwd).arg("build").arg(definition).args(args))
    }

    fn lock(&self) -> pare_build::Lock {
        pare_build::Lock::read(&self.path("app.lock")).unwrap()
    }
}

/// (name, version, architecture, purl) of every package of an SBOM.
fn package_set(document: &[u8]) -> BTreeSet<(String, String, String, String)> {
    let read = pare_sbom::read(document, "sbom").unwrap();
    read.inventory
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.architecture.clone().unwrap_or_default(), p.purl.clone()))
        .collect()
}

/// Checks that every package of the lock is in the SBOM with the lock's SHA-256, and with its URL
/// when `with_url` (SPDX has no place for a URL whose host is an IP address, as the test
/// repository's is: it writes NOASSERTION there).
fn carries_lock_hashes(document: &[u8], lock: &pare_build::Lock, with_url: bool) {
    let read = pare_sbom::read(document, "sbom").unwrap();
    let locked = lock.packages("amd64").unwrap();
    assert_eq!(locked.len(), 3, "{locked:?}");
    assert_eq!(read.inventory.packages.len(), locked.len(), "{:?}", read.inventory.packages);
    for l in locked {
        let p = read
            .inventory
            .packages
            .iter()
            .find(|p| p.name == l.name)
            .unwrap_or_else(|| panic!("{} is not in the SBOM", l.name));
        assert_eq!(p.version, l.version);
        assert_eq!(p.architecture.as_deref(), Some(l.architecture.as_str()));
        assert_eq!(p.checksums, vec![pare_sbom::Checksum::sha256(&l.sha256)], "{}", l.name);
        let url = with_url.then_some(l.url.as_str());
        assert_eq!(p.download_location.as_deref(), url, "{}", l.name);
    }
}

/// pyspdxtools from target/venv-spdx (scripts/system-deps.sh makes it).
fn pyspdxtools() -> PathBuf {
    pare_test::tools::venv_tool("venv-spdx", "pyspdxtools")
}

const CDX_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if errors is not None:
    print(errors)
    sys.exit(1)
"#;

/// The artifact manifests listed in a layout's index.json (entries with an `artifactType`).
fn layout_artifacts(layout: &Path) -> Vec<(Value, Value)> {
    let index = json_file(&layout.join("index.json"));
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d.get("artifactType").is_some())
        .map(|d| {
            let hex = d["digest"].as_str().unwrap().trim_start_matches("sha256:");
            (d.clone(), json_file(&layout.join("blobs/sha256").join(hex)))
        })
        .collect()
}

#[test]
fn build_time_sbom_in_a_layout() {
    let f = Fixture::new();
    let lock = f.lock();

    // Built twice in two directories with the same arguments: same image, same SBOM bytes.
    let mut digests = Vec::new();
    for run in ["run1", "run2"] {
        digests.push(stdout(&f.build(run, &["--to", "oci:out", "--sbom", "app.spdx.json", "--attach-sbom"])));
    }
    assert_eq!(digests[0], digests[1]);
    let spdx = std::fs::read(f.path("run1/app.spdx.json")).unwrap();
    assert_eq!(spdx, std::fs::read(f.path("run2/app.spdx.json")).unwrap(), "the SBOM is not reproducible");

    // Valid SPDX 2.3, with the lock's hashes and URLs.
    let out = Command::new(pyspdxtools()).arg("-i").arg(f.path("run1/app.spdx.json")).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("invalid"), "pyspdxtools rejects the build SBOM: {text}");
    carries_lock_hashes(&spdx, &lock, false);
    let doc: Value = serde_json::from_slice(&spdx).unwrap();
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let app = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == "app").unwrap();
    let locked_app = lock.packages("amd64").unwrap().iter().find(|p| p.name == "app").unwrap();
    assert_eq!(app["checksums"], serde_json::json!([{"algorithm": "SHA256", "checksumValue": locked_app.sha256}]));
    assert!(locked_app.url.starts_with("http://127.0.0.1:"), "{}", locked_app.url);
    assert_eq!(app["downloadLocation"], "NOASSERTION");

    // `pare sbom` cataloging the built image finds the same packages.
    let layout = f.path("run1/out");
    let src = format!("oci:{}", layout.display());
    let cataloged = run_ok(f.pare.cmd().args(["sbom", &src, "--format", "spdx-json"]));
    assert_eq!(package_set(&cataloged.stdout), package_set(&spdx));
    assert_eq!(package_set(&spdx).len(), 3);

    // The referrer in the layout: an artifact manifest per the image spec 1.1.
    let artifacts = layout_artifacts(&layout);
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let (entry, manifest) = &artifacts[0];
    assert_eq!(entry["artifactType"], "application/spdx+json");
    assert_eq!(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(manifest["artifactType"], "application/spdx+json");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    assert_eq!(manifest["config"]["digest"], EMPTY_DIGEST);
    assert_eq!(manifest["config"]["size"], 2);
    assert_eq!(std::fs::read(layout.join("blobs/sha256").join(&EMPTY_DIGEST[7..])).unwrap(), b"{}");
    assert_eq!(manifest["subject"]["digest"], digests[0].as_str());
    assert_eq!(manifest["annotations"]["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/spdx+json");
    assert_eq!(layer["digest"], pare_oci::sha256(&spdx).to_string().as_str());

    // Read back: the same packages, with their hashes.
    let attached = run_ok(f.pare.cmd().args(["sbom", &src, "--attached", "--format", "spdx-json"]));
    assert_eq!(package_set(&attached.stdout), package_set(&spdx));
    carries_lock_hashes(&attached.stdout, &lock, false);
    let table = stdout(&run_ok(f.pare.cmd().args(["sbom", &src, "--attached"])));
    assert!(table.contains("libapp1") && table.contains("1:1.4-2+b1"), "{table}");

    // A tampered SBOM blob: the digest error names the blob.
    let blob = layout.join("blobs/sha256").join(layer["digest"].as_str().unwrap().trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.iter().position(|b| *b == b'1').unwrap();
    bytes[at] = b'2';
    std::fs::write(&blob, &bytes).unwrap();
    let err = run_err(f.pare.cmd().args(["sbom", &src, "--attached"]));
    assert_eq!(err.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains(layer["digest"].as_str().unwrap()) && stderr.contains("corrupt"), "{stderr}");
}

#[test]
fn nothing_attached_cyclonedx_and_archives() {
    let f = Fixture::new();
    let lock = f.lock();

    // Layouts get no referrer unless asked (one image per layout, as syft and skopeo expect), and
    // `--attached` says so.
    f.build("plain", &["--to", "oci:out:app"]);
    let src = format!("oci:{}:app", f.path("plain/out").display());
    assert!(layout_artifacts(&f.path("plain/out")).is_empty());
    let err = run_err(f.pare.cmd().args(["sbom", &src, "--attached"]));
    assert_eq!(err.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains("No SBOM is attached") && stderr.contains("pare build --sbom"), "{stderr}");

    // CycloneDX: hashes and distribution URLs; attached with its own artifact type.
    let report = f.build(
        "cdx",
        &[
            "--to",
            "oci:out:app",
            "--sbom",
            "app.cdx.json",
            "--sbom-format",
            "cyclonedx-json",
            "--attach-sbom",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let sboms = report["sboms"].as_array().unwrap();
    assert_eq!(sboms.len(), 1, "{report}");
    assert_eq!(sboms[0]["architecture"], "amd64");
    assert_eq!(sboms[0]["subject"], report["digest"]);
    assert_eq!(sboms[0]["packages"], 3);
    assert_eq!(sboms[0]["file"], "app.cdx.json");
    let cdx = std::fs::read(f.path("cdx/app.cdx.json")).unwrap();
    carries_lock_hashes(&cdx, &lock, true);
    let python = pare_test::tools::venv_tool("venv-cdx", "python");
    let script = f.path("validate.py");
    std::fs::write(&script, CDX_VALIDATE).unwrap();
    let out = Command::new(python).arg(&script).arg(f.path("cdx/app.cdx.json")).output().unwrap();
    assert!(
        out.status.success(),
        "the CycloneDX 1.6 schema rejects the build SBOM: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&cdx).unwrap();
    let app = doc["components"].as_array().unwrap().iter().find(|c| c["name"] == "app").unwrap();
    let locked_app = lock.packages("amd64").unwrap().iter().find(|p| p.name == "app").unwrap();
    assert_eq!(app["hashes"], serde_json::json!([{"alg": "SHA-256", "content": locked_app.sha256}]));
    assert_eq!(app["externalReferences"], serde_json::json!([{"type": "distribution", "url": locked_app.url}]));
    let artifacts = layout_artifacts(&f.path("cdx/out"));
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0].1["artifactType"], "application/vnd.cyclonedx+json");
    assert_eq!(sboms[0]["referrer"], artifacts[0].0["digest"]);
    // The named image is still what `oci:DIR:app` and `oci:DIR` (its only image) open.
    let src = format!("oci:{}", f.path("cdx/out").display());
    let attached = run_ok(f.pare.cmd().args(["sbom", &src, "--attached", "--format", "cyclonedx-json"]));
    carries_lock_hashes(&attached.stdout, &lock, true);

    // Archives hold no referrer; the file is still written, and `--attached` refuses them.
    f.build("archive", &["--to", "docker-archive:app.tar:app:1", "--sbom", "app.spdx.json"]);
    carries_lock_hashes(&std::fs::read(f.path("archive/app.spdx.json")).unwrap(), &lock, false);
    let src = format!("docker-archive:{}", f.path("archive/app.tar").display());
    let err = run_err(f.pare.cmd().args(["sbom", &src, "--attached"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("cannot hold attached SBOMs"));
}

#[test]
fn build_time_sbom_in_a_registry() {
    let skopeo = require("skopeo");
    let registry = TestRegistry::start();
    let f = Fixture::new();
    let lock = f.lock();
    let reference = format!("{}/team/app:1", registry.host());
    let digest = stdout(&f.build("push", &["--to", &reference, "--sbom", "app.spdx.json"]));
    let spdx = std::fs::read(f.path("push/app.spdx.json")).unwrap();

    // Debian's registry 2.8 has no referrers API: the fallback tag lists the artifact.
    let tag = format!("docker://{}/team/app:{}", registry.host(), digest.replace(':', "-"));
    let out = run_ok(Command::new(&skopeo).args(["inspect", "--raw", "--tls-verify=false"]).arg(&tag));
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    let listed = index["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{index}");
    assert_eq!(listed[0]["artifactType"], "application/spdx+json");
    assert_eq!(listed[0]["annotations"]["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
    let artifact = format!("docker://{}/team/app@{}", registry.host(), listed[0]["digest"].as_str().unwrap());
    let out = run_ok(Command::new(&skopeo).args(["inspect", "--raw", "--tls-verify=false"]).arg(&artifact));
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["subject"]["digest"], digest.as_str());
    assert_eq!(manifest["config"]["digest"], EMPTY_DIGEST);

    // Read back from the registry: the same packages, with the lock's hashes.
    let attached = run_ok(f.pare.cmd().args(["sbom", &reference, "--attached", "--format", "spdx-json"]));
    assert_eq!(package_set(&attached.stdout), package_set(&spdx));
    carries_lock_hashes(&attached.stdout, &lock, false);
    // And cataloging the pushed image agrees.
    let cataloged = run_ok(f.pare.cmd().args(["sbom", &reference, "--format", "spdx-json"]));
    assert_eq!(package_set(&cataloged.stdout), package_set(&spdx));

    // Pushing the same build again adds no second entry.
    f.build("push2", &["--to", &reference]);
    let out = run_ok(Command::new(&skopeo).args(["inspect", "--raw", "--tls-verify=false"]).arg(&tag));
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");

    // An image without an SBOM in the registry.
    let other = format!("{}/team/plain:1", registry.host());
    f.build("plain", &["--to", &other, "--no-sbom"]);
    let err = run_err(f.pare.cmd().args(["sbom", &other, "--attached"]));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("No SBOM is attached"));
}

#[test]
fn packages_of_a_base_image_are_not_in_the_lock() {
    let f = Fixture::new();
    // The base holds libapp1; the image on top excludes it, so the lock does not have it.
    let base_def = f.define("base.toml", "packages = [\"libapp1\"]\n");
    let base = stdout(&f.build_def(&base_def, "base-build", &["--to", "oci:out:b", "--no-sbom"]));
    let def = f.define(
        "top.toml",
        &format!("packages = [\"app\"]\nexclude = [\"libapp1\"]\nbase = \"oci:base-build/out:b@{base}\"\n"),
    );
    f.build_def(&def, "top", &["--to", "oci:out", "--sbom", "top.spdx.json"]);
    let spdx = std::fs::read(f.path("top/top.spdx.json")).unwrap();
    let read = pare_sbom::read(&spdx, "top.spdx.json").unwrap();
    let names: Vec<(&str, usize)> =
        read.inventory.packages.iter().map(|p| (p.name.as_str(), p.checksums.len())).collect();
    assert_eq!(names, [("app", 1), ("app-data", 1), ("libapp1", 0)]);
    let src = format!("oci:{}", f.path("top/out").display());
    let cataloged = run_ok(f.pare.cmd().args(["sbom", &src, "--format", "spdx-json"]));
    assert_eq!(package_set(&cataloged.stdout), package_set(&spdx));
}

/// `pare copy --referrers` carries the build-time SBOM registry → layout → another repository,
/// and `pare sbom --attached` reads it at each stop; without `--referrers` nothing is carried, and
/// an archive destination is refused.
#[test]
fn copy_referrers_carries_the_sbom() {
    let registry = TestRegistry::start();
    let f = Fixture::new();
    let lock = f.lock();
    let reference = format!("{}/team/app:1", registry.host());
    let digest = stdout(&f.build("push", &["--to", &reference, "--sbom", "app.spdx.json"]));
    let spdx = std::fs::read(f.path("push/app.spdx.json")).unwrap();
    let attached = |location: &str| {
        let out = run_ok(f.pare.cmd().args(["sbom", location, "--attached", "--format", "spdx-json"]));
        assert_eq!(package_set(&out.stdout), package_set(&spdx), "{location}");
        carries_lock_hashes(&out.stdout, &lock, false);
    };
    attached(&reference);

    let layout = f.path("mirror");
    let in_layout = format!("oci:{}:app", layout.display());
    let out = run_ok(f.pare.cmd().args(["copy", "--referrers", &reference, &in_layout]));
    assert_eq!(stdout(&out), digest);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Copied 1 referrer\n"), "{out:?}");
    attached(&in_layout);
    let listed = layout_artifacts(&layout);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1["subject"]["digest"], digest.as_str());

    let second = format!("{}/mirror/app:1", registry.host());
    run_ok(f.pare.cmd().args(["copy", "--referrers", &in_layout, &second]));
    attached(&second);

    // Without --referrers the image arrives alone.
    let bare = format!("{}/bare/app:1", registry.host());
    assert_eq!(stdout(&run_ok(f.pare.cmd().args(["copy", &reference, &bare]))), digest);
    let err = run_err(f.pare.cmd().args(["sbom", &bare, "--attached"]));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("No SBOM is attached"));
    let bare_layout = f.path("bare");
    run_ok(f.pare.cmd().args(["copy", &reference, &format!("oci:{}", bare_layout.display())]));
    assert!(layout_artifacts(&bare_layout).is_empty());

    // Archives cannot hold referrers: an error, and nothing written.
    let archive = f.path("app.tar");
    let err =
        run_err(f.pare.cmd().args(["copy", "--referrers", &reference, &format!("oci-archive:{}", archive.display())]));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("cannot hold referrers"), "{err:?}");
    assert!(!archive.exists());
}
