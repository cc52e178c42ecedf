//! pare's own VEX for Go binaries: Go programs built here with Debian's Go 1.19, scanned against
//! real Go vulnerability database records (fixtures/go-reach, see its SOURCE.md). A vulnerability
//! whose packages and symbols a binary does not link is `not_affected` /
//! `vulnerable_code_not_present`, authored by pare; one it links stays open; a stripped binary
//! gives the same answers; a user's VEX statement wins; an SBOM alone (no binary to read) gets no
//! statement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pare_test::tools::run_ok as run;
use serde_json::Value;

/// Builds `main.go` into `root/usr/local/bin/app` (offline: standard library only).
fn go_program(dir: &Path, name: &str, source: &str, ldflags: &str) -> PathBuf {
    let src = dir.join(format!("src-{name}"));
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("go.mod"), format!("module example.com/{name}\n\ngo 1.19\n")).unwrap();
    fs::write(src.join("main.go"), source).unwrap();
    let root = dir.join(format!("root-{name}"));
    run(Command::new("go")
        .args(["build", "-ldflags", ldflags, "-o"])
        .arg(root.join("usr/local/bin/app"))
        .arg(".")
        .current_dir(&src)
        .env("GOCACHE", Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod"));
    root
}

const HELLO: &str = "package main\n\nfunc main() { println(\"hello\") }\n";
const SERVER: &str = "package main\n\nimport \"net/http\"\n\nfunc main() { _ = http.ListenAndServe(\":8080\", nil) }\n";

/// Findings on the Go standard library: id → the VEX statement (null when open).
fn stdlib_findings(report: &Value) -> std::collections::BTreeMap<String, Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["name"] == "stdlib")
        .map(|f| (f["id"].as_str().unwrap().to_string(), f["vex"].clone()))
        .collect()
}

fn scan(pare: &Pare, db: &Path, src: &Path, extra: &[&str]) -> Value {
    let out = run(pare.cmd().arg("scan").arg(src).arg("--db").arg(db).args(["--format", "json"]).args(extra));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_not_present(vex: &Value, id: &str) {
    assert_eq!(vex["status"], "not_affected", "{id}: {vex}");
    assert_eq!(vex["justification"], "vulnerable_code_not_present", "{id}");
    assert_eq!(vex["author"], "pare (Go binary analysis)", "{id}");
    assert!(vex["impact_statement"].as_str().unwrap().contains("/usr/local/bin/app"), "{id}: {vex}");
}

#[test]
fn go_vulnerabilities_whose_code_is_not_linked() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vuln.db");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go-reach");
    run(pare.cmd().args(["-q", "db", "update", "--db"]).arg(&db).arg("--from").arg(&fixtures));

    let hello = go_program(tmp.path(), "hello", HELLO, "");
    let report = scan(&pare, &db, &hello, &[]);
    let found = stdlib_findings(&report);
    assert_eq!(
        found.keys().map(String::as_str).collect::<Vec<_>>(),
        ["CVE-2023-24539", "CVE-2023-29403", "CVE-2023-29406", "CVE-2023-39325"],
        "Go 1.19 is affected by all four"
    );
    assert!(found["CVE-2023-29403"].is_null(), "every binary links the runtime: open");
    for id in ["CVE-2023-24539", "CVE-2023-29406", "CVE-2023-39325"] {
        assert_not_present(&found[id], id);
    }

    // A server links net/http's server: the rapid-reset issue is open; html/template is not linked.
    let server = go_program(tmp.path(), "server", SERVER, "");
    let found = stdlib_findings(&scan(&pare, &db, &server, &[]));
    assert!(found["CVE-2023-39325"].is_null(), "{:?}", found["CVE-2023-39325"]);
    assert!(found["CVE-2023-29403"].is_null());
    assert_not_present(&found["CVE-2023-24539"], "CVE-2023-24539");

    // Stripped of its symbol table (-s -w), the binary still carries its pclntab: same answers.
    let stripped = go_program(tmp.path(), "stripped", HELLO, "-s -w");
    let found = stdlib_findings(&scan(&pare, &db, &stripped, &[]));
    assert!(found["CVE-2023-29403"].is_null());
    assert_not_present(&found["CVE-2023-39325"], "CVE-2023-39325 (stripped)");

    // The user's statement wins over pare's.
    let vex = tmp.path().join("triage.json");
    run(pare
        .cmd()
        .args(["vex", "--vulnerability", "CVE-2023-39325", "--product", "pkg:golang/stdlib@1.19.8"])
        .args([
            "--status",
            "affected",
            "--action-statement",
            "upgrade Go",
            "--author",
            "security@example.com",
            "--file",
        ])
        .arg(&vex));
    let found = stdlib_findings(&scan(&pare, &db, &hello, &["--vex", vex.to_str().unwrap()]));
    assert_eq!(found["CVE-2023-39325"]["status"], "affected");
    assert_eq!(found["CVE-2023-39325"]["author"], "security@example.com");

    // From an SBOM there is no binary to read: no statement is made.
    let sbom = tmp.path().join("hello.cdx.json");
    run(pare
        .cmd()
        .arg("sbom")
        .arg(format!("dir:{}", hello.display()))
        .args(["--format", "cyclonedx-json", "--output"])
        .arg(&sbom));
    let found = stdlib_findings(&scan(&pare, &db, &sbom, &[]));
    assert!(found.values().all(Value::is_null), "{found:?}");
}
