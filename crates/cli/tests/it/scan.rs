//! `pare scan`, `pare vex` and `pare diff` end to end: a database built by `pare db update` from the real
//! DSA/DLA lists, a real Debian 12 dpkg database (fixtures/scan, see its SOURCE.md) read as a directory,
//! as an OCI image and through pare's own SBOM, VEX triage, gates, and SARIF / CycloneDX output checked
//! against their official schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{Value, json};

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("running pare")
}

fn run(cmd: &mut Command) -> Output {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rootfs() -> PathBuf {
    manifest_dir().join("tests/fixtures/scan/rootfs")
}

/// One database for the whole test binary, built from the tracker's DSA and DLA lists.
fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("scan-db-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vuln.db");
        let pare = Pare::new(crate::PARE);
        let lists = manifest_dir().join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged");
        run(pare
            .cmd()
            .args(["-q", "db", "update", "--db"])
            .arg(&path)
            .arg("--from")
            .arg(lists.join("DSA-list"))
            .arg("--from")
            .arg(lists.join("DLA-list")));
        path
    })
}

fn scan(pare: &Pare, src: &str, extra: &[&str]) -> Output {
    output(pare.cmd().arg("scan").arg(src).arg("--db").arg(db()).args(extra))
}

fn scan_json(pare: &Pare, src: &str, extra: &[&str]) -> Value {
    let out = scan(pare, src, &[&["--format", "json"], extra].concat());
    assert!(out.status.success(), "scan failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Finding ids per package.
fn by_package(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        map.entry(f["package"]["name"].as_str().unwrap().to_string())
            .or_default()
            .insert(f["id"].as_str().unwrap().to_string());
    }
    map
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Worked out by hand from DSA-list for the versions in fixtures/scan (bookworm).
fn expected() -> BTreeMap<String, BTreeSet<String>> {
    BTreeMap::from([
        (
            "libssl3".to_string(),
            set(&[
                "CVE-2026-7383",
                "CVE-2026-9076",
                "CVE-2026-34180",
                "CVE-2026-34182",
                "CVE-2026-42766",
                "CVE-2026-42770",
                "CVE-2026-45445",
                "CVE-2026-45446",
                "CVE-2026-45447",
            ]),
        ),
        ("libgcrypt20".to_string(), set(&["CVE-2026-41989"])),
        (
            "libgnutls30".to_string(),
            set(&[
                "CVE-2026-3833",
                "CVE-2026-5260",
                "CVE-2026-5419",
                "CVE-2026-33845",
                "CVE-2026-33846",
                "CVE-2026-42009",
                "CVE-2026-42010",
                "CVE-2026-42011",
                "CVE-2026-42012",
                "CVE-2026-42013",
                "CVE-2026-42014",
                "CVE-2026-42015",
            ]),
        ),
        ("libkrb5-3".to_string(), set(&["CVE-2026-40355", "CVE-2026-40356"])),
        ("openssh-client".to_string(), set(&["CVE-2026-3497"])),
        ("libpng16-16".to_string(), set(&["CVE-2026-34757"])),
        ("libtiff6".to_string(), set(&["CVE-2025-9900", "CVE-2026-4775"])),
        ("libnghttp2-14".to_string(), set(&["CVE-2026-27135"])),
    ])
}

#[test]
fn a_real_dpkg_database_gives_the_advisories_worked_out_by_hand() {
    let pare = Pare::new(crate::PARE);
    let src = format!("dir:{}", rootfs().display());
    let report = scan_json(&pare, &src, &[]);
    assert_eq!(by_package(&report), expected());
    assert_eq!(report["packages"], 11);
    let openssl = report["findings"].as_array().unwrap().iter().find(|f| f["id"] == "CVE-2026-7383").unwrap();
    assert_eq!(openssl["fixed_versions"], json!(["3.0.20-1~deb12u2"]));
    assert_eq!(openssl["aliases"], json!(["DSA-6335-1"]));
    assert_eq!(openssl["package"]["source_name"], "openssl");
    assert_eq!(openssl["status"], "fixed");
    assert_eq!(openssl["release"], "bookworm");
    // No CVSS in these sources and no urgency in the lists: unknown, and labelled so.
    assert_eq!(openssl["severity"], "unknown");
    assert_eq!(openssl["severity_source"]["kind"], "none");

    // A bare directory path is read the same way, and the table groups by severity with the fix.
    let out = scan(&pare, rootfs().to_str().unwrap(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("UNKNOWN (29)"), "{table}");
    assert!(table.contains("3.0.20-1~deb12u2") && table.contains("DSA-6335-1"), "{table}");
}

#[test]
fn an_oci_image_and_pares_own_sboms_scan_the_same() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    run(pare
        .cmd()
        .args(["-q", "copy"])
        .arg(format!("dir:{}", rootfs().display()))
        .arg(format!("oci:{}:t", layout.display())));
    let image = format!("oci:{}:t", layout.display());
    let from_image = scan_json(&pare, &image, &[]);
    assert_eq!(by_package(&from_image), expected());
    assert!(from_image["subject"]["digest"].as_str().unwrap().starts_with("sha256:"));
    for format in ["spdx-json", "cyclonedx-json", "json"] {
        let sbom = tmp.path().join(format!("sbom.{format}"));
        run(pare.cmd().args(["sbom", &image, "--format", format, "--output"]).arg(&sbom));
        if format == "json" {
            // pare's own inventory JSON is not an SBOM format the reader promises; skip it.
            continue;
        }
        let report = scan_json(&pare, sbom.to_str().unwrap(), &[]);
        assert_eq!(by_package(&report), expected(), "scan of pare's {format} SBOM");
    }
}

#[test]
fn fail_on_gates_fail_closed_on_unknown_severity() {
    let pare = Pare::new(crate::PARE);
    let src = format!("dir:{}", rootfs().display());
    let out = scan(&pare, &src, &["--fail-on", "critical", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "unknown severity counts as failing: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("29 open findings") && err.contains("unknown severity"), "{err}");
    assert!(err.contains("fixed in 3.0.20-1~deb12u2") || err.contains("fixed in"), "{err}");
    let out = scan(&pare, &src, &["--fail-on", "critical", "--allow-unknown", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Not a severity a gate takes.
    let out = scan(&pare, &src, &["--fail-on", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    // Every finding here has a fix, so --only-fixed keeps them all.
    assert_eq!(scan_json(&pare, &src, &["--only-fixed"])["findings"].as_array().unwrap().len(), 29);
}

fn openssh_sbom(dir: &Path) -> PathBuf {
    let path = dir.join("openssh.cdx.json");
    fs::write(
        &path,
        serde_json::to_vec(&json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": {"component": {"type": "container", "name": "ssh-image", "bom-ref": "image"}},
            "components": [{
                "type": "library", "name": "openssh-client", "version": "1:9.2p1-2+deb12u7", "bom-ref": "ssh",
                "purl": "pkg:deb/debian/openssh-client@1%3A9.2p1-2%2Bdeb12u7?arch=amd64&upstream=openssh&distro=debian-12"
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn vex_suppresses_with_an_audit_trail_and_the_gate_follows() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let sbom = openssh_sbom(tmp.path());
    let sbom = sbom.to_str().unwrap();
    let out = scan(&pare, sbom, &["--fail-on", "low"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let vex = tmp.path().join("triage.openvex.json");
    run(pare
        .cmd()
        .args(["vex", "--vulnerability", "CVE-2026-3497", "--product", "pkg:deb/debian/openssh-client"])
        .args(["--status", "not_affected", "--justification", "vulnerable_code_not_in_execute_path"])
        .args(["--author", "Platform Security <sec@example.com>", "--file"])
        .arg(&vex));
    let doc: Value = serde_json::from_slice(&fs::read(&vex).unwrap()).unwrap();
    assert_eq!(doc["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(doc["statements"][0]["vulnerability"]["name"], "CVE-2026-3497");
    assert_eq!(doc["version"], 1);

    let out = scan(&pare, sbom, &["--fail-on", "low", "--vex", vex.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "suppressed findings do not fail the gate: {}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("SUPPRESSED BY VEX (1)") && table.contains("vulnerable_code_not_in_execute_path"),
        "{table}"
    );
    let report = scan_json(&pare, sbom, &["--vex", vex.to_str().unwrap()]);
    let finding = &report["findings"][0];
    assert_eq!(finding["id"], "CVE-2026-3497", "kept in the report");
    assert_eq!(finding["vex"]["status"], "not_affected");
    assert_eq!(finding["vex"]["author"], "Platform Security <sec@example.com>");
    assert_eq!(finding["vex"]["document"], vex.to_str().unwrap());

    // A later statement overrides: under_investigation does not suppress.
    run(pare
        .cmd()
        .args(["vex", "--vulnerability", "CVE-2026-3497", "--product", "pkg:deb/debian/openssh-client"])
        .args(["--status", "under_investigation", "--file"])
        .arg(&vex)
        .env("SOURCE_DATE_EPOCH", "4102444800"));
    let doc: Value = serde_json::from_slice(&fs::read(&vex).unwrap()).unwrap();
    assert_eq!(doc["version"], 2);
    assert_eq!(doc["statements"].as_array().unwrap().len(), 2);
    let out = scan(&pare, sbom, &["--fail-on", "low", "--vex", vex.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // CycloneDX VEX works the same, by bom-ref or purl.
    let cdx_vex = tmp.path().join("vex.cdx.json");
    fs::write(
        &cdx_vex,
        serde_json::to_vec(&json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "components": [{"type": "library", "name": "openssh-client", "bom-ref": "ssh",
                            "purl": "pkg:deb/debian/openssh-client"}],
            "vulnerabilities": [{"id": "CVE-2026-3497", "analysis": {"state": "not_affected",
                "justification": "requires_configuration", "detail": "GSSAPI is off"}, "affects": [{"ref": "ssh"}]}]
        }))
        .unwrap(),
    )
    .unwrap();
    let out = scan(&pare, sbom, &["--fail-on", "low", "--vex", cdx_vex.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn bad_vex_input_is_an_error_or_a_warning_never_silence() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let sbom = openssh_sbom(tmp.path());
    let sbom = sbom.to_str().unwrap();
    // A statement about a product that is not in the scan: applied to nothing, and said so.
    let other = tmp.path().join("other.json");
    fs::write(
        &other,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,
           "statements":[{"vulnerability":{"name":"CVE-2026-3497"},"products":[{"@id":"pkg:deb/debian/nginx"}],
           "status":"not_affected","justification":"component_not_present"}]}"#,
    )
    .unwrap();
    let out = scan(&pare, sbom, &["--vex", other.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("pkg:deb/debian/nginx is not in this scan"), "{}", stderr(&out));

    for (name, text, says) in [
        ("garbage.json", "{not json", "not JSON"),
        (
            "status.json",
            r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:deb/debian/x"}],"status":"maybe"}]}"#,
            "unknown status `maybe`",
        ),
        ("neither.json", r#"{"hello":1}"#, "not a VEX document"),
    ] {
        let path = tmp.path().join(name);
        fs::write(&path, text).unwrap();
        let out = scan(&pare, sbom, &["--vex", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains(says), "{name}: {err}");
    }
    // OpenVEX's rules for statements are checked when writing one.
    let out = output(pare.cmd().args([
        "vex",
        "--vulnerability",
        "CVE-1",
        "--product",
        "pkg:deb/debian/x",
        "--status",
        "not_affected",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("needs --justification or --impact-statement"), "{}", stderr(&out));
}

#[test]
fn errors_name_the_fix() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let out = output(pare.cmd().arg("scan").arg(rootfs()).arg("--db").arg(tmp.path().join("none.db")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pare db update"), "{}", stderr(&out));
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, "{\"neither\": true}").unwrap();
    let out = scan(&pare, bad.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));
    // An old database is used, with a warning.
    let out = scan(&pare, &format!("dir:{}", rootfs().display()), &["--max-db-age", "0s", "-q"]);
    assert!(out.status.success());
    let out = scan(&pare, &format!("dir:{}", rootfs().display()), &["--max-db-age", "0s"]);
    assert!(stderr(&out).contains("run `pare db update`"), "{}", stderr(&out));
}

fn venv_python(name: &str, check: &str) -> PathBuf {
    let python = pare_test::tools::venv_tool(name, "python");
    let ok = Command::new(&python).args(["-c", check]).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{} with `{check}` is needed: run scripts/system-deps.sh", python.display());
    python
}

#[test]
fn sarif_and_cyclonedx_reports_pass_their_schemas() {
    let pare = Pare::new(crate::PARE);
    let python = venv_python("venv-cdx", "import cyclonedx, jsonschema");
    let tmp = tempfile::tempdir().unwrap();
    let src = format!("dir:{}", rootfs().display());
    let vex = tmp.path().join("vex.json");
    run(pare
        .cmd()
        .args(["vex", "--vulnerability", "CVE-2026-41989", "--product", "pkg:deb/debian/libgcrypt20"])
        .args(["--status", "not_affected", "--impact-statement", "no untrusted input reaches it", "--file"])
        .arg(&vex));

    let sarif = tmp.path().join("pare.sarif");
    run(pare
        .cmd()
        .arg("scan")
        .arg(&src)
        .arg("--db")
        .arg(db())
        .args(["--format", "sarif", "--vex"])
        .arg(&vex)
        .arg("-o")
        .arg(&sarif));
    let schema = manifest_dir().join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let check = Command::new(&python)
        .arg("-c")
        .arg(
            "import json,sys,jsonschema\n\
             s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\n\
             jsonschema.Draft7Validator(s).validate(d) if '$schema' in s and 'draft-07' in s['$schema'] else jsonschema.Draft4Validator(s).validate(d)\n\
             print('valid')",
        )
        .arg(&schema)
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(check.status.success(), "SARIF schema rejects pare's SARIF: {}", String::from_utf8_lossy(&check.stderr));
    let doc: Value = serde_json::from_slice(&fs::read(&sarif).unwrap()).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 29);
    let suppressed: Vec<&Value> = results.iter().filter(|r| r.get("suppressions").is_some()).collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "CVE-2026-41989");
    assert_eq!(suppressed[0]["suppressions"][0]["justification"], "no untrusted input reaches it");
    // Code scanning needs relative artifact URIs and a security-severity per rule.
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && uri.contains("var/lib/dpkg"), "{uri}");
    }
    for rule in doc["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(rule["properties"]["security-severity"].as_str().unwrap().parse::<f64>().is_ok());
    }

    let cdx = tmp.path().join("vdr.cdx.json");
    run(pare
        .cmd()
        .arg("scan")
        .arg(&src)
        .arg("--db")
        .arg(db())
        .args(["--format", "cyclonedx", "--vex"])
        .arg(&vex)
        .arg("-o")
        .arg(&cdx));
    let script = tmp.path().join("validate.py");
    fs::write(
        &script,
        "import sys\nfrom cyclonedx.schema import SchemaVersion\nfrom cyclonedx.validation.json import JsonStrictValidator\n\
         errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
         print(errors) if errors else print('valid'); sys.exit(1 if errors else 0)\n",
    )
    .unwrap();
    let check = Command::new(&python).arg(&script).arg(&cdx).output().unwrap();
    assert!(
        check.status.success(),
        "CycloneDX 1.6 schema rejects the report: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let doc: Value = serde_json::from_slice(&fs::read(&cdx).unwrap()).unwrap();
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 29);
    let refs: BTreeSet<&str> =
        doc["components"].as_array().unwrap().iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    for v in vulns {
        let r = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(r), "{r} is not a component's bom-ref");
    }
    let triaged = vulns.iter().find(|v| v["id"] == "CVE-2026-41989").unwrap();
    assert_eq!(triaged["analysis"]["state"], "not_affected");
}

fn cdx(dir: &Path, name: &str, packages: &[(&str, &str, &str)]) -> PathBuf {
    let components: Vec<Value> = packages
        .iter()
        .map(|(name, version, source)| {
            json!({"type": "library", "name": name, "version": version,
                   "purl": format!("pkg:deb/debian/{name}@{}?arch=amd64&upstream={source}&distro=debian-12",
                                   version.replace('+', "%2B").replace(':', "%3A"))})
        })
        .collect();
    let path = dir.join(name);
    fs::write(
        &path,
        serde_json::to_vec(
            &json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}),
        )
        .unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn diff_shows_what_a_security_update_removes() {
    let pare = Pare::new(crate::PARE);
    // Real versions: libssl3 in bookworm-updates (3.0.17-1~deb12u2) and in bookworm-security
    // (3.0.22-1~deb12u2) on 2026-11-27 (../shared/vulndata/debian-bookworm-archive-versions).
    let tmp = tempfile::tempdir().unwrap();
    let old =
        cdx(tmp.path(), "old.json", &[("libssl3", "3.0.17-1~deb12u2", "openssl"), ("bash", "5.2.15-2+b8", "bash")]);
    let new = cdx(
        tmp.path(),
        "new.json",
        &[("libssl3", "3.0.22-1~deb12u2", "openssl"), ("zlib1g", "1:1.2.13.dfsg-1", "zlib")],
    );
    let out = run(pare.cmd().arg("diff").arg(&old).arg(&new).arg("--db").arg(db()).args(["--format", "json"]));
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diff["packages"]["changed"][0]["name"], "libssl3");
    assert_eq!(diff["packages"]["added"][0]["name"], "zlib1g");
    assert_eq!(diff["packages"]["removed"][0]["name"], "bash");
    assert_eq!(diff["vulnerabilities"]["old"], 25);
    assert_eq!(diff["vulnerabilities"]["new"], 0);
    assert_eq!(diff["vulnerabilities"]["lost"].as_array().unwrap().len(), 25);
    assert!(diff["vulnerabilities"]["gained"].as_array().unwrap().is_empty());
    let out = run(pare.cmd().arg("diff").arg(&old).arg(&new).arg("--db").arg(db()));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("Vulnerabilities lost (25)") && table.contains("~ libssl3 3.0.17-1~deb12u2 → 3.0.22-1~deb12u2"),
        "{table}"
    );
}

/// `pare diff --vex` scans each side exactly as `pare scan --vex` does: its open findings on each side are
/// the scan's, and a finding the VEX suppresses on the old side is not "lost" (issue 11).
#[test]
fn diff_with_vex_agrees_with_scan_of_each_side() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let old = cdx(
        tmp.path(),
        "old.json",
        &[("libssl3", "3.0.17-1~deb12u2", "openssl"), ("openssh-client", "1:9.2p1-2+deb12u7", "openssh")],
    );
    let new = cdx(
        tmp.path(),
        "new.json",
        &[("libssl3", "3.0.22-1~deb12u2", "openssl"), ("openssh-client", "1:9.2p1-2+deb12u7", "openssh")],
    );
    let vex = tmp.path().join("triage.openvex.json");
    for (id, product) in [("CVE-2026-3497", "openssh-client"), ("CVE-2026-7383", "libssl3")] {
        run(pare
            .cmd()
            .args(["vex", "--vulnerability", id, "--product", &format!("pkg:deb/debian/{product}")])
            .args(["--status", "not_affected", "--justification", "vulnerable_code_not_in_execute_path"])
            .args(["--author", "sec@example.com", "--file"])
            .arg(&vex));
    }
    let open = |sbom: &Path| -> std::collections::BTreeSet<(String, String)> {
        let report = scan_json(&pare, sbom.to_str().unwrap(), &["--vex", vex.to_str().unwrap()]);
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["vex"].is_null() || f["vex"]["status"] == "affected" || f["vex"]["status"] == "under_investigation"
            })
            .map(|f| (f["id"].as_str().unwrap().to_string(), f["package"]["name"].as_str().unwrap().to_string()))
            .collect()
    };
    let (a, b) = (open(&old), open(&new));
    assert!(!a.iter().any(|(id, _)| id == "CVE-2026-7383" || id == "CVE-2026-3497"), "{a:?}");
    assert!(a.len() > b.len(), "{a:?} {b:?}");
    let pairs = |v: &Value| -> std::collections::BTreeSet<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].as_str().unwrap().to_string(), f["package"].as_str().unwrap().to_string()))
            .collect()
    };
    let out = run(pare
        .cmd()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--db")
        .arg(db())
        .arg("--vex")
        .arg(&vex)
        .args(["--format", "json"]));
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &diff["vulnerabilities"];
    assert_eq!(v["old"].as_u64().unwrap() as usize, a.len(), "{v}");
    assert_eq!(v["new"].as_u64().unwrap() as usize, b.len(), "{v}");
    assert_eq!(pairs(&v["lost"]), a.difference(&b).cloned().collect(), "{v}");
    assert_eq!(pairs(&v["gained"]), b.difference(&a).cloned().collect(), "{v}");
    assert_eq!(v["suppressed"][0], 2, "{v}");
    // Without the VEX the suppressed findings count again.
    let out = run(pare.cmd().arg("diff").arg(&old).arg(&new).arg("--db").arg(db()).args(["--format", "json"]));
    let plain: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plain["vulnerabilities"]["old"].as_u64().unwrap() as usize, a.len() + 2);
}

/// syft's and trivy's SBOMs of the same image give the same findings: the reader takes the source
/// package from their purl `upstream=` qualifier / trivy's `SrcName` properties and the release from
/// `distro=`. Needs the tools (scripts/system-deps.sh makes their venvs).
#[test]
fn syft_and_trivy_sboms_of_the_image_scan_the_same() {
    let pare = Pare::new(crate::PARE);
    let syft = pare_test::tools::venv_tool("venv-syft", "syft");
    let trivy = pare_test::tools::venv_tool("venv-trivy", "trivy");
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("image.tar");
    run(pare
        .cmd()
        .args(["-q", "copy"])
        .arg(format!("dir:{}", rootfs().display()))
        .arg(format!("docker-archive:{}:scan:test", archive.display())));
    let runs: [(&str, Vec<String>); 3] = [
        (
            "syft-spdx",
            vec![
                syft.display().to_string(),
                format!("docker-archive:{}", archive.display()),
                "-o".into(),
                "spdx-json".into(),
                "-q".into(),
            ],
        ),
        (
            "syft-cdx",
            vec![
                syft.display().to_string(),
                format!("docker-archive:{}", archive.display()),
                "-o".into(),
                "cyclonedx-json".into(),
                "-q".into(),
            ],
        ),
        (
            "trivy-cdx",
            vec![
                trivy.display().to_string(),
                "-q".into(),
                "image".into(),
                "--input".into(),
                archive.display().to_string(),
                "--cache-backend".into(),
                "memory".into(),
                "--format".into(),
                "cyclonedx".into(),
            ],
        ),
    ];
    for (name, argv) in runs {
        let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let sbom = tmp.path().join(format!("{name}.json"));
        fs::write(&sbom, &out.stdout).unwrap();
        let report = scan_json(&pare, sbom.to_str().unwrap(), &[]);
        assert_eq!(by_package(&report), expected(), "scan of {name}'s SBOM");
    }
}

/// Bits flipped inside the database's pages (here every `openssl` became `openssm`, so SQLite finds no
/// row and reports nothing amiss) are caught by the checksum written at build: exit 2 naming the fix,
/// never a clean report; `pare db status` says the same.
#[test]
fn a_database_with_flipped_bits_is_an_error_not_a_clean_report() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("vuln.db");
    fs::copy(db(), &copy).unwrap();
    fs::copy(pare_vuln_checksum(db()), pare_vuln_checksum(&copy)).unwrap();
    let sbom = cdx(tmp.path(), "sbom.json", &[("libssl3", "3.0.17-1~deb12u2", "openssl")]);
    let gate = |db: &Path| output(pare.cmd().arg("scan").arg(&sbom).arg("--db").arg(db).args(["--fail-on", "high"]));
    let out = gate(&copy);
    assert_eq!(out.status.code(), Some(1), "the intact copy finds openssl's advisories: {}", stderr(&out));

    let mut bytes = fs::read(&copy).unwrap();
    let mut flipped = 0;
    for i in 0..bytes.len().saturating_sub(7) {
        if &bytes[i..i + 7] == b"openssl" {
            bytes[i + 6] ^= 0x01;
            flipped += 1;
        }
    }
    assert!(flipped > 25, "{flipped}");
    fs::write(&copy, &bytes).unwrap();
    let out = gate(&copy);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("vuln.db") && err.contains("damaged") && err.contains("pare db update"), "{err}");
    let out = output(pare.cmd().args(["db", "status", "--db"]).arg(&copy));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
}

fn pare_vuln_checksum(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap().to_os_string();
    name.push(".sha256");
    db.with_file_name(name)
}

/// openssh-client of fixtures/scan as SPDX tag-value (the format syft's `-o spdx` writes).
const OPENSSH_TAG_VALUE: &str = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n\
DocumentName: ssh-image\nDocumentNamespace: https://example.com/ssh-image\nCreator: Tool: hand\n\
Created: 2026-01-01T00:00:00Z\n\n##### Package: openssh-client\n\nPackageName: openssh-client\n\
SPDXID: SPDXRef-Package-ssh\nPackageVersion: 1:9.2p1-2+deb12u7\nPackageDownloadLocation: NOASSERTION\n\
FilesAnalyzed: false\nExternalRef: PACKAGE-MANAGER purl \
pkg:deb/debian/openssh-client@1%3A9.2p1-2%2Bdeb12u7?arch=amd64&upstream=openssh&distro=debian-12\n";

/// A local HTTP proxy that counts the connections made to it: every registry request of a `pare`
/// run with [`no_network`] goes through it.
fn counting_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream); // refused at once, so a run that did reach out fails fast
        }
    });
    (url, count)
}

/// No credentials, and every request through `proxy`.
fn no_network<'a>(cmd: &'a mut Command, home: &Path, proxy: &str) -> &'a mut Command {
    cmd.env("HOME", home).env("DOCKER_CONFIG", home).env("REGISTRY_AUTH_FILE", home.join("auth.json"));
    cmd.env("XDG_RUNTIME_DIR", home).env_remove("NO_PROXY").env_remove("no_proxy");
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, proxy);
    }
    cmd.current_dir(home)
}

#[test]
fn sbom_files_are_read_by_content_never_as_registry_references() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let (proxy, requests) = counting_proxy();
    // Tag-value without a file extension, JSON with a UTF-8 byte order mark, by relative name.
    fs::write(tmp.path().join("openssh"), OPENSSH_TAG_VALUE).unwrap();
    let json = fs::read(openssh_sbom(tmp.path())).unwrap();
    fs::write(tmp.path().join("bom.cdx.json"), [b"\xEF\xBB\xBF".as_slice(), &json].concat()).unwrap();
    for src in ["openssh", "bom.cdx.json", "./openssh"] {
        let out = output(
            no_network(&mut pare.cmd(), tmp.path(), &proxy).args(["scan", src, "--format", "json", "--db"]).arg(db()),
        );
        assert!(out.status.success(), "{src}: {}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(by_package(&report), BTreeMap::from([("openssh-client".into(), set(&["CVE-2026-3497"]))]), "{src}");
    }
    // `pare sbom` and `pare diff` take the same files.
    let out = run(no_network(&mut pare.cmd(), tmp.path(), &proxy).args(["sbom", "openssh", "--format", "json"]));
    let inventory: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inventory["packages"][0]["name"], "openssh-client");
    let out = run(no_network(&mut pare.cmd(), tmp.path(), &proxy)
        .args(["diff", "openssh", "bom.cdx.json", "--format", "json", "--db"])
        .arg(db()));
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diff["packages"]["changed"], json!([]), "the same package in both");
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 0, "no registry was asked");
}

#[test]
fn a_missing_file_is_no_such_file_not_a_registry_lookup() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let (proxy, requests) = counting_proxy();
    for src in ["./missing.spdx.json", "app.spdx.json", "../gone.tar", "/nonexistent/app.cdx"] {
        // SRC is checked first: a missing database is not what `scan` reports.
        let verbs = [
            &["scan", src, "--db", "none.db"][..],
            &["diff", src, "x.json"],
            &["sbom", src],
            &["inspect", src],
            &["ls", src],
        ];
        for verb in verbs {
            let out = output(no_network(&mut pare.cmd(), tmp.path(), &proxy).args(verb));
            assert_eq!(out.status.code(), Some(2), "{verb:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(err.contains("no such file") && err.contains(src), "{verb:?}: {err}");
        }
    }
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 0, "no registry was asked");
}

#[test]
fn the_scan_table_shows_control_characters_escaped() {
    let pare = Pare::new(crate::PARE);
    let evil = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[31m\nFORGED LINE";
    let tmp = tempfile::tempdir().unwrap();
    let sbom = tmp.path().join("evil.cdx.json");
    let mut doc: Value = serde_json::from_slice(&fs::read(openssh_sbom(tmp.path())).unwrap()).unwrap();
    doc["metadata"]["component"]["name"] = json!(format!("image{evil}"));
    fs::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
    let vex = tmp.path().join("evil.openvex.json");
    fs::write(
        &vex,
        serde_json::to_vec(&json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": format!("a{evil}"),
            "timestamp": "2026-01-01T00:00:00Z", "version": 1, "statements": [{"vulnerability": {"name": "CVE-2026-3497"},
            "products": [{"@id": "pkg:deb/debian/openssh-client"}], "status": "not_affected",
            "impact_statement": format!("why{evil}")}]}))
        .unwrap(),
    )
    .unwrap();
    let out = run(pare.cmd().arg("scan").arg(&sbom).arg("--db").arg(db()).arg("--vex").arg(&vex));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.chars().any(|c| c.is_control() && c != '\n'), "{table:?}");
    assert!(!table.lines().any(|l| l.trim_start().starts_with("FORGED")), "{table}");
    assert!(table.contains("image\\x1b]52;") && table.contains("a\\x1b]52;"), "{table}");
}

/// A VEX document is read only up to its size cap: `/dev/zero` is "too large", not read without end
/// (by `pare scan --vex` and by `pare vex --file`).
#[test]
fn an_endless_vex_document_is_refused_at_its_cap() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let sbom = openssh_sbom(tmp.path());
    let out = scan(&pare, sbom.to_str().unwrap(), &["--vex", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("larger than 64 MiB"), "{}", stderr(&out));
    let out =
        output(pare.cmd().args(["vex", "--vulnerability", "CVE-2026-1", "--product", "pkg:deb/debian/x"]).args([
            "--status",
            "fixed",
            "--file",
            "/dev/zero",
        ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("larger than 64 MiB"), "{}", stderr(&out));
}

/// OpenVEX: "not_affected" needs a `justification` or an `impact_statement`.
#[test]
fn a_not_affected_statement_without_a_reason_is_refused() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let sbom = openssh_sbom(tmp.path());
    let bare = tmp.path().join("bare.openvex.json");
    let statement = json!({"vulnerability": {"name": "CVE-2026-3497"},
        "products": [{"@id": "pkg:deb/debian/openssh-client"}], "status": "not_affected", "impact_statement": " "});
    let doc = json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a",
        "timestamp": "2026-01-01T00:00:00Z", "version": 1, "statements": [statement]});
    fs::write(&bare, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = scan(&pare, sbom.to_str().unwrap(), &["--fail-on", "low", "--vex", bare.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "not applied as a suppression: {}", stderr(&out));
    let err = stderr(&out);
    for part in
        [bare.to_str().unwrap(), "statements[0]", "CVE-2026-3497", "pkg:deb/debian/openssh-client", "justification"]
    {
        assert!(err.contains(part), "names {part}: {err}");
    }
    // `pare vex` neither writes one (a blank impact statement is none) nor adds to a document holding one.
    let vex = |extra: &[&str]| {
        output(
            pare.cmd()
                .args(["vex", "--vulnerability", "CVE-2026-3497", "--product", "pkg:deb/debian/openssh-client"])
                .args(extra),
        )
    };
    let out = vex(&["--status", "not_affected", "--impact-statement", "  "]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr(&out).contains("needs --justification or --impact-statement"), "{}", stderr(&out));
    let out = vex(&["--status", "fixed", "--file", bare.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bare.openvex.json#statements[0]"), "{}", stderr(&out));
}
