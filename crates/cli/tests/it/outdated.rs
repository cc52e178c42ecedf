//! Debian's security pocket, laid out as Debian lays it out, and `pare outdated`, against a signed test
//! repository on 127.0.0.1 and the real DSA list (issue 10: the security pocket was skipped silently).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::path::{Path, PathBuf};
use std::process::Output;

use pare_deb::Paragraph;
use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb};
use pare_test::tools::{run_err, run_ok};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn control(name: &str, version: &str, source: Option<&str>, depends: &str) -> Paragraph {
    pare_deb::testing::control(name, version, "amd64", depends, source)
}

fn deb(c: &Paragraph, file: &str) -> Vec<u8> {
    build_deb(c, &[], &[(file, b"\x7fELF test", 0o644)], Compression::Gzip).unwrap()
}

/// `bookworm` (main pocket: app and libexpat1 2.5.0-1), an empty `bookworm-updates`, and
/// `bookworm-security` as Debian's security archive is: `Components: updates/main …` with its index
/// under `main/`, holding `security` (package, control) pairs.
pub(crate) struct Archive {
    root: PathBuf,
    key: TestKey,
}

impl Archive {
    pub(crate) fn write_security(&self, packages: &[(Paragraph, Vec<u8>)]) {
        self.write_security_signed(packages, &self.key);
    }

    /// The security pocket signed by `key` (another key than the keyring's: a bad signature).
    pub(crate) fn write_security_signed(&self, packages: &[(Paragraph, Vec<u8>)], key: &TestKey) {
        let mut sec = RepoBuilder::new(&self.root, "bookworm-security", "amd64");
        sec.components_field("updates/main updates/contrib updates/non-free-firmware updates/non-free");
        for (c, d) in packages {
            sec.add(c, d).unwrap();
        }
        sec.write(key).unwrap();
    }
}

fn archive(dir: &Path) -> Archive {
    let root = dir.join("repo");
    let key = TestKey::generate(23, "pare outdated tests <test@example.invalid>").unwrap();
    std::fs::write(dir.join("test.gpg"), key.public_keyring().unwrap()).unwrap();
    let app = control("app", "1.0-1", None, "libexpat1 (>= 2.5.0)");
    let expat = control("libexpat1", "2.5.0-1", Some("expat"), "");
    let mut main = RepoBuilder::new(&root, "bookworm", "amd64");
    main.add(&app, &deb(&app, "usr/bin/app")).unwrap();
    main.add(&expat, &deb(&expat, "usr/lib/x86_64-linux-gnu/libexpat.so.1")).unwrap();
    main.write(&key).unwrap();
    RepoBuilder::new(&root, "bookworm-updates", "amd64").write(&key).unwrap();
    let archive = Archive { root, key };
    archive.write_security(&[]);
    archive
}

pub(crate) fn fixed_expat() -> (Paragraph, Vec<u8>) {
    let c = control("libexpat1", "2.5.0-1+deb12u1", Some("expat"), "");
    let d = deb(&c, "usr/lib/x86_64-linux-gnu/libexpat.so.1");
    (c, d)
}

/// A temporary directory with the archive served on 127.0.0.1, and `pare` isolated in it.
pub(crate) struct Fixture {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) pare: Pare,
    pub(crate) archive: Archive,
    pub(crate) server: FileServer,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let pare = Pare::new(crate::PARE).source_date_epoch("1700000000");
        let archive = archive(tmp.path());
        let server = FileServer::start(&archive.root).unwrap();
        Fixture { tmp, pare, archive, server }
    }
}

pub(crate) fn definition(dir: &Path, server: &FileServer, extra: &str) -> PathBuf {
    let path = dir.join("app.toml");
    std::fs::write(
        &path,
        format!(
            "suite = \"bookworm\"\nmirror = \"{url}\"\nsecurity_mirror = \"{url}\"\nkeyring = \"test.gpg\"\n\
             packages = [\"app\"]\n{extra}",
            url = server.url()
        ),
    )
    .unwrap();
    path
}

/// The real DSA list: DSA-5770-1 fixes CVE-2024-45490/45491/45492 in expat 2.5.0-1+deb12u1 (bookworm).
fn vuln_db(pare: &Pare) {
    let list = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged/DSA-list");
    run_ok(pare.cmd().args(["db", "update", "--from"]).arg(list));
}

fn locked_version(def: &Path, name: &str) -> (String, String) {
    let lock = pare_build::Lock::read(&def.with_extension("lock")).unwrap();
    let p = lock.packages("amd64").unwrap().iter().find(|p| p.name == name).unwrap();
    (p.version.clone(), p.pocket.clone())
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

#[test]
fn security_pocket_is_read_and_outdated_names_the_update_and_its_cves() {
    let Fixture { tmp, pare, archive, server } = Fixture::new();
    let def = definition(tmp.path(), &server, "");

    // Locked before the security update: 2.5.0-1 from the release pocket, and the counts say so.
    let out = run_ok(pare.cmd().arg("lock").arg(&def));
    let err = text(&out.stderr);
    assert!(err.contains("amd64 from: bookworm 2, bookworm-updates 0, bookworm-security 0"), "{err}");
    assert_eq!(locked_version(&def, "libexpat1"), ("2.5.0-1".into(), "bookworm".into()));
    let image = tmp.path().join("img");
    let to = format!("oci:{}", image.display());
    run_ok(pare.cmd().arg("build").arg(&def).args(["--to", &to]));
    vuln_db(&pare);

    // Nothing newer yet: exit 0 for the definition and for the image.
    let out = run_ok(pare.cmd().arg("outdated").arg(&def));
    assert!(text(&out.stdout).contains("Every package is at the newest version"), "{}", text(&out.stdout));

    // Debian publishes the fix in the security pocket only.
    archive.write_security(&[fixed_expat()]);
    for src in [def.display().to_string(), to.clone()] {
        let mut cmd = pare.cmd();
        cmd.args(["outdated", &src, "--format", "json"]);
        if !src.ends_with(".toml") {
            cmd.args(["--mirror", &server.url(), "--security-mirror", &server.url(), "--keyring"])
                .arg(tmp.path().join("test.gpg"));
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{src}: {}", text(&out.stderr));
        let report = json(&out);
        let updates = report["updates"].as_array().unwrap();
        assert_eq!(updates.len(), 1, "{src}: {report}");
        let u = &updates[0];
        assert_eq!(u["package"], "libexpat1");
        assert_eq!(u["installed"], "2.5.0-1");
        assert_eq!(u["available"], "2.5.0-1+deb12u1");
        assert_eq!(u["pocket"], "bookworm-security");
        assert_eq!(u["security"], true);
        let ids: Vec<&str> = u["fixes"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
        for cve in ["CVE-2024-45490", "CVE-2024-45491", "CVE-2024-45492"] {
            assert!(ids.contains(&cve), "{src}: {ids:?}");
        }
        assert!(text(&out.stderr).contains("Rebuild advised"), "{}", text(&out.stderr));
    }
    let table = pare.cmd().arg("outdated").arg(&def).output().unwrap();
    let stdout = text(&table.stdout);
    assert!(stdout.contains("libexpat1") && stdout.contains("bookworm-security") && stdout.contains("CVE-2024-45490"));

    // Re-locking takes the security version from the Debian-style pocket; then nothing is outdated.
    let out = run_ok(pare.cmd().arg("update").arg(&def));
    let err = text(&out.stderr);
    assert!(err.contains("bookworm 1, bookworm-updates 0, bookworm-security 1"), "{err}");
    assert_eq!(locked_version(&def, "libexpat1"), ("2.5.0-1+deb12u1".into(), "bookworm-security".into()));
    let rebuilt = format!("oci:{}", tmp.path().join("img2").display());
    let build = run_ok(pare.cmd().arg("build").arg(&def).args(["--to", &rebuilt, "--format", "json"]));
    let report = json(&build);
    assert_eq!(report["images"][0]["pockets"]["bookworm-security"], 1, "{report}");
    run_ok(pare.cmd().arg("outdated").arg(&def));
    let sbom = run_ok(pare.cmd().args(["sbom", &rebuilt, "--format", "json"]));
    assert!(text(&sbom.stdout).contains("2.5.0-1+deb12u1"));
}

#[test]
fn a_pocket_without_a_requested_component_is_an_error_naming_it() {
    let f = Fixture::new();
    let def = definition(f.tmp.path(), &f.server, "components = [\"main\", \"contrib\"]\n");
    let out = run_err(f.pare.cmd().arg("lock").arg(&def));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bookworm") && err.contains("has no `contrib/binary-amd64/Packages` index"), "{err}");
    assert!(err.contains("lists indexes for main") && err.contains("Components"), "{err}");
}

#[test]
fn outdated_refuses_what_it_cannot_compare() {
    let Fixture { tmp, pare, server, .. } = Fixture::new();
    // A definition without a lock.
    let def = definition(tmp.path(), &server, "");
    let out = run_err(pare.cmd().arg("outdated").arg(&def));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("has no lock"), "{}", text(&out.stderr));
    // A root filesystem of another distribution.
    let rootfs = tmp.path().join("alpine");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::create_dir_all(rootfs.join("lib/apk/db")).unwrap();
    std::fs::write(rootfs.join("etc/os-release"), "ID=alpine\nVERSION_ID=3.20.3\n").unwrap();
    std::fs::write(rootfs.join("lib/apk/db/installed"), "P:musl\nV:1.2.5-r0\nA:x86_64\n\n").unwrap();
    let out = run_err(pare.cmd().arg("outdated").arg(&rootfs));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Debian's archive only"), "{}", text(&out.stderr));
}
