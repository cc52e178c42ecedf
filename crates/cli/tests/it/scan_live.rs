//! The case for security updates, end to end against Debian's archive: `gallery:base` built without
//! the security pocket and with libssl3 pinned (in its lock) to the version bookworm-updates still
//! offers, against the same image built the default way. The first shows the DSAs published since;
//! the second shows none of them; `pare diff` says so. Skips with a message when the archive is
//! unreachable.
//!
//! Why a pin and not "bookworm main alone": the advisory data in the fixtures ends on 2026-08-21 and
//! every package of bookworm main today is at or above the fixed versions of the DSAs in it (checked
//! with `dpkg --compare-versions` over ../shared/vulndata/debian-bookworm-archive-versions), so main
//! alone shows nothing with this data. bookworm-updates, a pocket of the same archive, still ships
//! openssl 3.0.17-1~deb12u2, which four later DSAs fix.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn pare(args: &[&str]) -> Output {
    let out = Pare::new(crate::PARE).with_cache(crate::live_cache()).cmd().args(args).output().unwrap();
    println!("pare {}: {}\n{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr));
    out
}

fn ok(args: &[&str]) -> String {
    let out = pare(args);
    assert!(out.status.success(), "pare {} failed", args.join(" "));
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `[[architecture.package]]` block of `name` in a lock file.
fn lock_block(lock: &str, name: &str) -> String {
    lock.split("\n[[")
        .find(|block| block.starts_with("architecture.package]]") && block.contains(&format!("\nname = \"{name}\"\n")))
        .map(|b| format!("[[{b}"))
        .unwrap_or_else(|| panic!("no {name} in the lock"))
}

#[test]
fn security_updates_remove_the_advisories_and_diff_shows_it() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let lists =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged");
    let db = dir.join("vuln.db");
    ok(&[
        "-q",
        "db",
        "update",
        "--db",
        s(&db),
        "--from",
        s(&lists.join("DSA-list")),
        "--from",
        s(&lists.join("DLA-list")),
    ]);

    let gallery = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gallery/bookworm/base.toml");
    let base = std::fs::read_to_string(gallery).unwrap().replace("\"amd64\", \"arm64\"", "\"amd64\"");

    // The default: release, updates and security pockets.
    let current = dir.join("current.toml");
    std::fs::write(&current, &base).unwrap();
    ok(&["lock", s(&current)]);
    let current_image = format!("oci:{}:current", s(&dir.join("out")));
    ok(&["build", s(&current), "--to", &current_image]);

    // Without the security pocket, libssl3 pinned to what bookworm-updates ships.
    let old_ssl = dir.join("old-ssl.toml");
    std::fs::write(
        &old_ssl,
        "name = \"old-ssl\"\nsuite = \"bookworm-updates\"\narchitectures = [\"amd64\"]\npockets = []\n\
         follow_dependencies = false\npackages = [\"libssl3\"]\n",
    )
    .unwrap();
    ok(&["lock", s(&old_ssl)]);
    let pinned = lock_block(&std::fs::read_to_string(dir.join("old-ssl.lock")).unwrap(), "libssl3");
    assert!(pinned.contains("version = \"3.0.17-1~deb12u2\""), "bookworm-updates changed: {pinned}");
    let stale = dir.join("stale.toml");
    std::fs::write(&stale, format!("{base}\npockets = [\"updates\"]\n")).unwrap();
    ok(&["lock", s(&stale)]);
    let lock_path = dir.join("stale.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let block = lock_block(&lock, "libssl3");
    std::fs::write(&lock_path, lock.replace(&block, &pinned)).unwrap();
    let stale_image = format!("oci:{}:stale", s(&dir.join("out")));
    ok(&["build", s(&stale), "--to", &stale_image]);

    let scan = |image: &str| -> Value {
        serde_json::from_str(&ok(&["scan", image, "--db", s(&db), "--format", "json"])).unwrap()
    };
    let stale_report = scan(&stale_image);
    let openssl: Vec<&Value> = stale_report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["source_name"] == "openssl")
        .collect();
    // DSA-6015-1 (2), DSA-6113-1 (8), DSA-6201-1 (6), DSA-6335-1 (9), worked out from DSA-list.
    assert_eq!(openssl.len(), 25, "{stale_report:#}");
    assert!(openssl.iter().any(|f| f["id"] == "CVE-2025-9230" && f["fixed_versions"][0] == "3.0.17-1~deb12u3"));
    let current_report = scan(&current_image);
    assert!(
        current_report["findings"].as_array().unwrap().iter().all(|f| f["package"]["source_name"] != "openssl"),
        "{current_report:#}"
    );

    let diff: Value =
        serde_json::from_str(&ok(&["diff", &stale_image, &current_image, "--db", s(&db), "--format", "json"])).unwrap();
    let lost: Vec<&str> =
        diff["vulnerabilities"]["lost"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(lost.len() >= 25 && lost.contains(&"CVE-2026-7383"), "{diff:#}");
    assert!(diff["packages"]["changed"].as_array().unwrap().iter().any(|p| p["name"] == "libssl3"), "{diff:#}");
    // The gate: the stale image fails, the current one passes.
    assert_eq!(pare(&["scan", &stale_image, "--db", s(&db), "--fail-on", "high", "-q"]).status.code(), Some(1));
    assert_eq!(pare(&["scan", &current_image, "--db", s(&db), "--fail-on", "high", "-q"]).status.code(), Some(0));
}
